from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-11-29T10:15:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "Admit anyway: a check-in keeps the reason and the slot a ticket of another slot was admitted to."


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="planner", description=DESCRIPTION)

    async def admit_anyway():
        from piccolo.engine import engine_finder

        engine = engine_finder()
        await engine.run_ddl("ALTER TABLE checkin ADD COLUMN override_reason VARCHAR(300) NOT NULL DEFAULT ''")
        # Both engines accept a REFERENCES clause on an added column whose default is NULL.
        await engine.run_ddl("ALTER TABLE checkin ADD COLUMN override_slot INTEGER NULL REFERENCES slot (id) ON DELETE CASCADE")

    manager.add_raw(admit_anyway)
    return manager
