"""Changes that reach across areas: what comes with a new programme or space, and what guests hear when an
activity changes. This area sits above scheduling, inventory, resources and rsvps, so none of them imports
another to cascade; web modules call these."""
