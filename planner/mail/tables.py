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
    next_attempt_at = Timestamptz(default=TimestamptzNow(), index=True)
    sent_at = Timestamptz(null=True, default=None)
    last_error = Text(default="")
