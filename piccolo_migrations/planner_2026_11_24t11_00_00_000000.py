from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-11-24T11:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "Drop indexes that duplicate a unique key or are a prefix of another index."


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="planner", description=DESCRIPTION)

    async def drop_duplicate_indexes():
        # Every RSVP and outbox write paid for these under the slot's row lock.
        from piccolo.engine import engine_finder

        engine = engine_finder()
        for name in ("rsvp_ticket_code", "rsvp_slot", "outbox_message_sent_at", "api_token_token_hash"):
            await engine.run_ddl(f"DROP INDEX IF EXISTS {name}")

    manager.add_raw(drop_duplicate_indexes)
    return manager
