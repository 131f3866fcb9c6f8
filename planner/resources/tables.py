from piccolo.columns import (
    JSON,
    Boolean,
    Date,
    ForeignKey,
    Integer,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from planner.programs.tables import Program

SOURCES = ("curated", "public_list", "organizer")


class SupportResource(Table, tablename="support_resource"):
    program = ForeignKey(references=Program, null=False, index=True)
    country = Varchar(length=3)
    name = Varchar(length=200)
    kind = Varchar(length=30, help_text="emergency, crisis_line, text_line, on_site, music_industry, other.")
    phone = Varchar(length=60, null=True, default=None)
    sms = Varchar(length=60, null=True, default=None)
    url = Varchar(length=300, null=True, default=None)
    hours = Varchar(length=100, null=True, default=None)
    languages = JSON(default=[])
    description = Text(default="")
    enabled = Boolean(default=True)
    position = Integer(default=0)
    source = Varchar(length=20, default="curated",
                     help_text="curated (the shipped list), public_list (not yet reviewed) or organizer (added or edited by the programme).")


class ResourceReview(Table, tablename="resource_review"):
    """An organizer checked a country's entries for their programme on a date."""
    program = ForeignKey(references=Program, null=False, index=True)
    country = Varchar(length=3)
    reviewed_on = Date()
    reviewed_by = Varchar(length=254, default="", help_text="Who reviewed, as shown to organizers.")
    created_at = Timestamptz(default=TimestamptzNow())
