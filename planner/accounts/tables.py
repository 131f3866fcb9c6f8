from piccolo.columns import Boolean, ForeignKey, Integer, OnDelete, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table


class User(Table, tablename="planner_user"):
    email = Varchar(length=254, unique=True, index=True, help_text="Lower-cased login address.")
    name = Varchar(length=200, default="")
    password_hash = Varchar(length=255, help_text="argon2; '!' while an invited person has not set one yet.")
    is_admin = Boolean(default=False, help_text="May create programmes.")
    created_at = Timestamptz(default=TimestamptzNow())


class ApiToken(Table, tablename="api_token"):
    user = ForeignKey(references=User, null=False, on_delete=OnDelete.cascade)
    token_hash = Varchar(length=64, unique=True, help_text="SHA-256 of the bearer token.")
    label = Varchar(length=100, default="", help_text="What the owner said the token is for.")
    created_at = Timestamptz(default=TimestamptzNow())
    expires_at = Timestamptz(null=True, default=None, help_text="The token stops working at this time.")
    last_used_at = Timestamptz(null=True, default=None, help_text="Kept to the minute, not per request.")


class UserSession(Table, tablename="user_session"):
    """A browser's login. The cookie carries a random id; only its SHA-256 is kept here."""
    user = ForeignKey(references=User, null=False, on_delete=OnDelete.cascade, index=True)
    key_hash = Varchar(length=64, unique=True, help_text="SHA-256 of the id in the cookie.")
    created_at = Timestamptz(default=TimestamptzNow())
    last_seen_at = Timestamptz(default=TimestamptzNow(), help_text="Kept to a few minutes, not per request.")
    expires_at = Timestamptz(default=TimestamptzNow())
    user_agent = Varchar(length=200, default="", help_text="The browser, as shown on the account page.")


class AccountLink(Table, tablename="account_link"):
    """A one-time e-mailed link: an invitation to set a first password, or a password reset."""
    user = ForeignKey(references=User, null=False, on_delete=OnDelete.cascade, index=True)
    purpose = Varchar(length=10, help_text="invite or reset.")
    token_hash = Varchar(length=64, unique=True, help_text="SHA-256 of the secret in the link.")
    program = Integer(null=True, default=None, help_text="The programme an invitation is for.")
    created_by = Integer(null=True, default=None, help_text="The user who sent the invitation.")
    created_at = Timestamptz(default=TimestamptzNow())
    expires_at = Timestamptz(default=TimestamptzNow())
    used_at = Timestamptz(null=True, default=None)
