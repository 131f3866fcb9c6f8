from piccolo.columns import JSON, Boolean, ForeignKey, Integer, Text, Varchar
from piccolo.table import Table

from planner.scheduling.tables import Program


class SupportResource(Table, tablename="support_resource"):
    program = ForeignKey(references=Program, null=False, index=True)
    country = Varchar(length=3)
    name = Varchar(length=200)
    kind = Varchar(length=30, help_text="emergency, crisis_line, music_industry, ...")
    phone = Varchar(length=60, null=True, default=None)
    sms = Varchar(length=60, null=True, default=None)
    url = Varchar(length=300, null=True, default=None)
    hours = Varchar(length=100, null=True, default=None)
    languages = JSON(default=[])
    description = Text(default="")
    enabled = Boolean(default=True)
    position = Integer(default=0)
