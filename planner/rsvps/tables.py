from piccolo.columns import JSON, Boolean, ForeignKey, Integer, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from planner.programs.tables import Program
from planner.scheduling.tables import Activity, Slot

# An erased guest's rows keep their counts but name nobody: placeholder addresses in a reserved domain.
ERASED_DOMAIN = "erased.invalid"
ERASED_NAME = "(erased)"


def erased_email(row_id: int, what: str = "guest") -> str:
    return f"{what}-{row_id}@{ERASED_DOMAIN}"


STATUSES = ("invited", "applied", "offered", "confirmed", "waitlisted", "declined", "cancelled")


class Invitation(Table, tablename="invitation"):
    program = ForeignKey(references=Program, null=False)
    activity = ForeignKey(references=Activity, null=False, index=True)
    name = Varchar(length=200)
    email = Varchar(length=254)
    code = Varchar(length=64, unique=True, index=True)
    created_at = Timestamptz(default=TimestamptzNow())
    used = Boolean(default=False)


class Rsvp(Table, tablename="rsvp"):
    program = ForeignKey(references=Program, null=False, index=True)
    activity = ForeignKey(references=Activity, null=False, index=True)
    slot = ForeignKey(references=Slot, null=False)  # indexed by rsvp_slot_queue (slot, status, queue_seq)
    name = Varchar(length=200)
    email = Varchar(length=254, index=True)
    guests = Integer(default=0, help_text="Plus-ones.")
    status = Varchar(length=12)
    queue_seq = Integer(null=True, default=None, help_text="Waitlist order within the slot.")
    answers = JSON(default={})
    ticket_code = Varchar(length=64, unique=True, help_text="The QR secret; admits once confirmed.")
    invitation = ForeignKey(references=Invitation, null=True, default=None)
    language = Varchar(length=10, default="en")
    offer_expires_at = Timestamptz(null=True, default=None)
    note = Text(default="", help_text="Organizer's reason for a manual change.")
    link_resent_at = Timestamptz(null=True, default=None, help_text="When the guest's link was last e-mailed again after a repeat RSVP.")
    cancelled_by = Varchar(length=12, default="", help_text="guest or organizer, for a cancelled or declined RSVP.")
    sequence = Integer(default=0, help_text="Raised by every message about this RSVP; part of its invite's SEQUENCE.")
    waitlisted_at = Timestamptz(null=True, default=None, help_text="When first put on a waitlist (kept for the report).")
    promoted_at = Timestamptz(null=True, default=None, help_text="When it left the waitlist for a seat.")
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())


class Question(Table, tablename="question"):
    activity = ForeignKey(references=Activity, null=False, index=True)
    label = Varchar(length=300)
    kind = Varchar(length=10, default="text", help_text="text, choice or yesno.")
    choices = JSON(default=[])
    sensitive = Boolean(default=False, help_text="Access or dietary needs: organizers only.")
    per_guest = Boolean(default=False, help_text="Asked for each plus-one too.")
    required = Boolean(default=False)
    position = Integer(default=0)


class ReminderSent(Table, tablename="reminder_sent"):
    """One row per (RSVP, slot, offset): the unique key makes each reminder go out once."""
    rsvp = Integer()
    slot = Integer()
    hours = Integer()
    sent_at = Timestamptz(default=TimestamptzNow())
