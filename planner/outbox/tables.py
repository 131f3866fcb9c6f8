from piccolo.columns import JSON, Integer, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table


class OutboxMessage(Table, tablename="outbox_message"):
    to_addr = Varchar(length=254)
    subject = Varchar(length=300)
    body_text = Text()
    body_html = Text(default="")
    ics = Text(default="", help_text="An iCalendar attachment, if any.")
    ics_method = Varchar(length=10, default="")
    kind = Varchar(length=30, default="")
    rsvp = Integer(null=True, default=None, help_text="The RSVP a guest message is about; rendered when sent.")
    context = JSON(default={}, help_text="What the message says, captured when it was caused.")
    created_at = Timestamptz(default=TimestamptzNow())
    attempts = Integer(default=0)
    next_attempt_at = Timestamptz(
        default=TimestamptzNow(), index=True,
        help_text="When it is due; while claimed, when the claim's lease runs out.",
    )
    claimed_by = Varchar(length=64, default="", help_text="The worker holding the lease, if any.")
    sent_at = Timestamptz(null=True, default=None, help_text="When it was done with: sent, logged, skipped or superseded.")
    last_error = Text(default="", help_text="The last failure, or why it was not sent (skipped:, logged:, superseded:).")
