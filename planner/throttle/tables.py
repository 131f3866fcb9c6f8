from piccolo.columns import Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table


class ThrottleHit(Table, tablename="throttle_hit"):
    """One counted attempt (a failed login, an unknown guest token, ...) under a key such as
    `login:ip:203.0.113.9`. Kept in the database so every worker counts the same."""
    key = Varchar(length=300, help_text="What is counted, and for whom.")
    at = Timestamptz(default=TimestamptzNow())
