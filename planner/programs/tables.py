"""Programmes and who works on them: the area every other area builds on."""
from piccolo.columns import JSON, Date, ForeignKey, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from planner.accounts.tables import User

ROLES = ("organizer", "staff", "care")


class Program(Table, tablename="program"):
    name = Varchar(length=200)
    timezone = Varchar(length=64, help_text="IANA time zone, e.g. America/New_York.")
    country = Varchar(length=2, help_text="ISO 3166-1 alpha-2.")
    starts_on = Date()
    ends_on = Date()
    languages = JSON(default=["en"])
    care_email = Varchar(length=254, default="", help_text="ORGANIZER of calendar invites.")
    venue_address = Text(default="")
    reminder_hours = Varchar(length=60, default="24,2", help_text="Hours before each activity that confirmed guests get a reminder.")
    created_at = Timestamptz(default=TimestamptzNow())


class Membership(Table, tablename="membership"):
    program = ForeignKey(references=Program, null=False, index=True)
    user = ForeignKey(references=User, null=False, index=True)
    role = Varchar(length=20, choices=None, help_text="organizer, staff or care (reads the care inbox).")
