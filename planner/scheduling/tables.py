from piccolo.columns import (
    Boolean,
    ForeignKey,
    Integer,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.columns.reference import LazyTableReference
from piccolo.table import Table

from planner.programs.tables import Program

ACTIVITY_KINDS = ("activation", "residency", "dinner")
RSVP_MODES = ("open", "invite", "apply")


class Space(Table, tablename="space"):
    program = ForeignKey(references=Program, null=False, index=True)
    name = Varchar(length=200)
    capacity = Integer(default=1)
    access_notes = Text(default="")
    address = Text(default="")
    turnover_minutes = Integer(default=0, help_text="Buffer kept free between activities.")
    counts_presence = Boolean(default=False, help_text="Count entry and exit scans (inside now).")
    inside = Integer(default=0)


class Host(Table, tablename="host"):
    program = ForeignKey(references=Program, null=False, index=True)
    name = Varchar(length=200)
    email = Varchar(length=254, null=True, default=None)


class HostUnavailability(Table, tablename="host_unavailability"):
    host = ForeignKey(references=Host, null=False, index=True)
    starts_at = Timestamptz()
    ends_at = Timestamptz()
    note = Varchar(length=300, default="")


class Activity(Table, tablename="activity"):
    program = ForeignKey(references=Program, null=False, index=True)
    space = ForeignKey(references=Space, null=False, index=True)
    kind = Varchar(length=20)
    title = Varchar(length=200)
    description = Text(default="")
    what_to_bring = Text(default="")
    starts_at = Timestamptz()
    ends_at = Timestamptz()
    capacity = Integer(default=1)
    rsvp_mode = Varchar(length=10, default="open")
    max_guests = Integer(default=0, help_text="Plus-ones allowed per RSVP.")
    kit = ForeignKey(
        references=LazyTableReference("Item", module_path="planner.inventory.tables"),
        null=True,
        default=None,
    )
    published = Boolean(default=False)
    cancelled_at = Timestamptz(null=True, default=None)
    cancel_reason = Text(default="")
    rsvp_deadline = Timestamptz(null=True, default=None)
    promotion = Varchar(length=10, default="auto", help_text="auto confirms; offer holds a seat.")
    hold_hours = Integer(default=24)
    walkin_estimate = Integer(default=0)
    sequence = Integer(default=0, help_text="iCalendar SEQUENCE, raised on each change.")
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())


class ActivityHost(Table, tablename="activity_host"):
    activity = ForeignKey(references=Activity, null=False, index=True)
    host = ForeignKey(references=Host, null=False, index=True)


class Slot(Table, tablename="slot"):
    activity = ForeignKey(references=Activity, null=False, index=True)
    program = ForeignKey(references=Program, null=False)
    space = ForeignKey(references=Space, null=False, index=True)
    starts_at = Timestamptz()
    ends_at = Timestamptz()
    capacity = Integer(default=1)
    confirmed = Integer(default=0, help_text="People confirmed, plus-ones included (kept equal to the rows).")
    waiting = Integer(default=0, help_text="RSVPs on the waitlist.")
    queue_seq = Integer(default=0, help_text="Last waitlist order number handed out.")
