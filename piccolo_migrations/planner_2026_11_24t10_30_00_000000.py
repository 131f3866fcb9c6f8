from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-11-24T10:30:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "Index outbox messages by RSVP (calendar SEQUENCE counts them)."


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="planner", description=DESCRIPTION)

    async def outbox_rsvp_index():
        from piccolo.engine import engine_finder

        await engine_finder().run_ddl("CREATE INDEX outbox_message_rsvp ON outbox_message (rsvp)")

    manager.add_raw(outbox_rsvp_index)
    return manager
