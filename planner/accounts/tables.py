from piccolo.columns import Boolean, ForeignKey, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table


class User(Table, tablename="planner_user"):
    email = Varchar(length=254, unique=True, index=True, help_text="Lower-cased login address.")
    name = Varchar(length=200, default="")
    password_hash = Varchar(length=255)
    is_admin = Boolean(default=False, help_text="May create programmes.")
    created_at = Timestamptz(default=TimestamptzNow())


class ApiToken(Table, tablename="api_token"):
    user = ForeignKey(references=User, null=False)
    token_hash = Varchar(length=64, unique=True, help_text="SHA-256 of the bearer token.")
    created_at = Timestamptz(default=TimestamptzNow())


class LoginFailure(Table, tablename="login_failure"):
    key = Varchar(length=300, index=True, help_text="Lower-cased email the attempt was for.")
    at = Timestamptz(default=TimestamptzNow(), index=True)
