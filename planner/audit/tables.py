"""The audit log: who saw or changed something sensitive, and when."""
from piccolo.columns import Integer, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table


class AuditEvent(Table, tablename="audit_event"):
    # A plain integer, not a foreign key: the record outlives what it is about.
    program = Integer(null=True, index=True, help_text="The programme the event belongs to; null for account events.")
    actor = Integer(null=True, help_text="The user who acted; null for a guest or the system.")
    actor_label = Varchar(length=254, default="", help_text="Who acted, as shown to organizers.")
    action = Varchar(length=60, help_text="What happened, a stable code such as sensitive_viewed.")
    subject = Varchar(length=200, default="", help_text="What it happened to, without personal data where possible.")
    detail = Varchar(length=500, default="", help_text="A reason or a short note.")
    at = Timestamptz(default=TimestamptzNow())
