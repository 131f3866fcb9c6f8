from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-11-24T10:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "One active RSVP per email and activity, enforced by the database."


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="planner", description=DESCRIPTION)

    async def unique_active_rsvp():
        from piccolo.engine import engine_finder

        await engine_finder().run_ddl(
            "CREATE UNIQUE INDEX rsvp_active_email ON rsvp (activity, email) "
            "WHERE status IN ('invited', 'applied', 'offered', 'confirmed', 'waitlisted')"
        )

    manager.add_raw(unique_active_rsvp)
    return manager
