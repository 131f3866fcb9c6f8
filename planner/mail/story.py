"""The story a guest reads: a message about an RSVP is sent only while what it says is still so, and it
carries the news of later messages still waiting about the same RSVP."""
from __future__ import annotations

from collections.abc import Iterable

from planner.rsvps.seats import ACTIVE, HOLDS_SEAT


# A message about an RSVP is news only while what it says is still so: when it is about
# to leave, a message whose news the RSVP's state has moved past is dropped. `state` is
# the RSVP's status and whether its activity was cancelled.
def _open(status: str, cancelled: bool, *wanted: str) -> bool:
    return status in wanted and not cancelled


STILL_TRUE = {
    "confirmed": lambda status, cancelled: _open(status, cancelled, "confirmed"),
    "promoted": lambda status, cancelled: _open(status, cancelled, "confirmed"),
    "waitlisted": lambda status, cancelled: _open(status, cancelled, "waitlisted"),
    "applied": lambda status, cancelled: _open(status, cancelled, "applied"),
    "offered": lambda status, cancelled: _open(status, cancelled, "offered"),
    "activity_changed": lambda status, cancelled: _open(status, cancelled, *HOLDS_SEAT),
    "cancelled": lambda status, cancelled: status == "cancelled",
    "declined": lambda status, cancelled: status == "declined",
    "offer_expired": lambda status, cancelled: status == "declined",
    "activity_cancelled": lambda status, cancelled: cancelled,
    "reminder": lambda status, cancelled: _open(status, cancelled, "confirmed"),
    # An organizer's message goes to confirmed or waitlisted guests: not to one who has left since.
    "broadcast": lambda status, cancelled: status in ACTIVE,
}

# A message also carries the news of later ones still waiting about the same RSVP: a
# confirmation rendered now already shows the changed time, so a waiting "Updated" is
# merged into it rather than sent after it.
ABSORBS = {
    "confirmed": ("confirmed", "promoted", "activity_changed"),
    "promoted": ("confirmed", "promoted", "activity_changed"),
    "activity_changed": ("activity_changed",),
    "waitlisted": ("waitlisted",),
    "offered": ("offered",),
    "link_resent": ("link_resent",),
}


def still_true(kind: str, *, status: str | None, activity_cancelled: bool) -> bool:
    """Whether a message of this kind still tells the truth about an RSVP in this state.

    Kinds this module does not know (added by other areas) are always sent.
    """
    check = STILL_TRUE.get(kind)
    if check is None:
        return True
    if status is None:  # the RSVP is gone
        return False
    return check(status, activity_cancelled)


def merged_by(kind: str, later: Iterable[dict]) -> list[int]:
    """The ids of later waiting messages (about the same RSVP) that a message of `kind` already tells."""
    absorbs = ABSORBS.get(kind, ())
    return [row["id"] for row in later if row["kind"] in absorbs]
