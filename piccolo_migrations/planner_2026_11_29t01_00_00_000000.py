from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-11-29T01:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "Sessions kept in the database, expiring bearer tokens, one-time account links, one throttle table."


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="planner", description=DESCRIPTION)

    async def trust_accounts():
        # Frozen copies of the tables as they are at this migration, so later edits to the classes don't change it.
        from datetime import datetime, timedelta, timezone

        from piccolo.columns import ForeignKey, Integer, Timestamptz, Varchar
        from piccolo.columns.defaults.timestamptz import TimestamptzNow
        from piccolo.engine import engine_finder
        from piccolo.table import Table

        class User(Table, tablename="planner_user"):
            email = Varchar(length=254)

        class UserSession(Table, tablename="user_session"):
            user = ForeignKey(references=User, null=False, index=True)
            key_hash = Varchar(length=64, unique=True)
            created_at = Timestamptz(default=TimestamptzNow())
            last_seen_at = Timestamptz(default=TimestamptzNow())
            expires_at = Timestamptz(default=TimestamptzNow())
            user_agent = Varchar(length=200, default="")

        class AccountLink(Table, tablename="account_link"):
            user = ForeignKey(references=User, null=False, index=True)
            purpose = Varchar(length=10)
            token_hash = Varchar(length=64, unique=True)
            program = Integer(null=True, default=None)
            created_by = Integer(null=True, default=None)
            created_at = Timestamptz(default=TimestamptzNow())
            expires_at = Timestamptz(default=TimestamptzNow())
            used_at = Timestamptz(null=True, default=None)

        class ThrottleHit(Table, tablename="throttle_hit"):
            key = Varchar(length=300)
            at = Timestamptz(default=TimestamptzNow())

        for table in (UserSession, AccountLink, ThrottleHit):
            await table.create_table(if_not_exists=True).run()
        engine = engine_finder()
        await engine.run_ddl('CREATE INDEX IF NOT EXISTS throttle_hit_key_at ON throttle_hit ("key", "at")')
        await engine.run_ddl('CREATE INDEX IF NOT EXISTS throttle_hit_at ON throttle_hit ("at")')
        await engine.run_ddl('CREATE INDEX IF NOT EXISTS user_session_expires_at ON user_session (expires_at)')
        for ddl in ("ALTER TABLE api_token ADD COLUMN label VARCHAR(100) NOT NULL DEFAULT ''",
                    "ALTER TABLE api_token ADD COLUMN expires_at TIMESTAMPTZ NULL",
                    "ALTER TABLE api_token ADD COLUMN last_used_at TIMESTAMPTZ NULL"):
            await engine.run_ddl(ddl)
        # Tokens issued before expiry existed get the default lifetime from today.
        class ApiToken(Table, tablename="api_token"):
            expires_at = Timestamptz(null=True, default=None)

        await ApiToken.update({ApiToken.expires_at: datetime.now(timezone.utc) + timedelta(days=90)}).where(
            ApiToken.expires_at.is_null()
        ).run()
        # Failures are now counted per client and per client and account in throttle_hit.
        await engine.run_ddl("DROP TABLE IF EXISTS login_failure")

    manager.add_raw(trust_accounts)
    return manager
