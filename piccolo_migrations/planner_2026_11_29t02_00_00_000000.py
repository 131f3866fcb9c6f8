from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-11-29T02:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "When a guest's link was last e-mailed again; a one-row table /health writes to."


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="planner", description=DESCRIPTION)

    async def trust_columns():
        from piccolo.engine import engine_finder

        engine = engine_finder()
        stamp = "TIMESTAMP WITH TIME ZONE" if engine.engine_type == "postgres" else "TIMESTAMPTZ"
        await engine.run_ddl(f"ALTER TABLE rsvp ADD COLUMN link_resent_at {stamp} NULL")
        await engine.run_ddl(f"CREATE TABLE IF NOT EXISTS health_probe (id INTEGER PRIMARY KEY, at {stamp} NULL)")
        await engine.run_ddl("INSERT INTO health_probe (id, at) VALUES (1, NULL)")

    manager.add_raw(trust_columns)
    return manager
