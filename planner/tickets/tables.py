from piccolo.columns import Boolean, ForeignKey, Integer, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from planner.accounts.tables import User
from planner.programs.tables import Program
from planner.rsvps.tables import Rsvp
from planner.scheduling.tables import Slot, Space


class Checkin(Table, tablename="checkin"):
    program = ForeignKey(references=Program, null=False, index=True)
    rsvp = ForeignKey(references=Rsvp, null=False)
    slot = ForeignKey(references=Slot, null=False, index=True)
    checked_in_at = Timestamptz()
    device = Varchar(length=100, default="")
    scan_id = Varchar(length=100, null=True, default=None, unique=True)
    user = ForeignKey(references=User, null=True, default=None)
    online = Boolean(default=True)
    party = Integer(default=1)
    kit = Varchar(length=12, default="none", help_text="handed_out, none_left or none.")
    created_at = Timestamptz(default=TimestamptzNow())
    override_reason = Varchar(length=300, default="", help_text="Why staff admitted this ticket anyway; empty for a normal admission.")
    override_slot = ForeignKey(references=Slot, null=True, default=None,
                               help_text="The slot a ticket of another slot was admitted anyway to (the check-in stays on its own slot).")


class ScanConflict(Table, tablename="scan_conflict"):
    checkin = ForeignKey(references=Checkin, null=False, index=True)
    program = ForeignKey(references=Program, null=False, index=True)
    scan_id = Varchar(length=100, default="")
    device = Varchar(length=100, default="")
    scanned_at = Timestamptz()
    created_at = Timestamptz(default=TimestamptzNow())


class PresenceScan(Table, tablename="presence_scan"):
    space = ForeignKey(references=Space, null=False, index=True)
    direction = Varchar(length=3, help_text="in or out.")
    at = Timestamptz()
    device = Varchar(length=100, default="")
    scan_id = Varchar(length=100, null=True, default=None, unique=True)
