"""Messages from guests to a programme's care team, and where they go."""
from piccolo.columns import JSON, ForeignKey, Integer, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from planner.programs.tables import Program


class CareSetting(Table, tablename="care_setting"):
    program = ForeignKey(references=Program, null=False, unique=True)
    address = Varchar(length=254, default="", help_text="Where care messages go; the organizers when empty.")


class CareMessage(Table, tablename="care_message"):
    """Read only by the programme's organizers and care role; purged with the sensitive answers."""
    program = ForeignKey(references=Program, null=False, index=True)
    # A plain integer: the message is kept (and purged) on the programme's terms, not the RSVP's.
    rsvp = Integer(null=True, default=None, index=True, help_text="The guest's RSVP, when sent from their page.")
    sender_name = Varchar(length=200, default="")
    sender_email = Varchar(length=254, default="")
    contact = Varchar(length=300, default="", help_text="How to reach the sender, when sent from the public page.")
    sender_key = Varchar(length=64, default="", index=True, help_text="A keyed hash of the sender, for the rate limit.")
    message = Text()
    outbox_ids = JSON(default=[], help_text="The outbox rows that carry it, purged with it.")
    created_at = Timestamptz(default=TimestamptzNow(), index=True)
