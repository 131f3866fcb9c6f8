from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-11-29T08:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "Impact report: waitlist history on RSVPs, anonymous feedback tallies and their used-markers."


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="planner", description=DESCRIPTION)

    async def report_tables():
        from piccolo.engine import engine_finder

        db = engine_finder()
        sqlite = db.engine_type == "sqlite"
        # When an RSVP was first put on a waitlist and when it left it for a seat: "waitlist demand
        # never served" needs both, since promotion and cancellation clear the queue number.
        await db.run_ddl("ALTER TABLE rsvp ADD COLUMN waitlisted_at TIMESTAMPTZ NULL")
        await db.run_ddl("ALTER TABLE rsvp ADD COLUMN promoted_at TIMESTAMPTZ NULL")
        serial = "INTEGER PRIMARY KEY AUTOINCREMENT" if sqlite else "SERIAL PRIMARY KEY"
        await db.run_ddl(
            "CREATE TABLE IF NOT EXISTS feedback_setting ("
            f"id {serial}, program INTEGER NOT NULL UNIQUE REFERENCES program (id) ON DELETE CASCADE, "
            "enabled BOOLEAN NOT NULL DEFAULT FALSE)"
        )
        await db.run_ddl(
            "CREATE TABLE IF NOT EXISTS feedback_tally ("
            f"id {serial}, program INTEGER NOT NULL REFERENCES program (id) ON DELETE CASCADE, "
            "activity INTEGER NOT NULL REFERENCES activity (id) ON DELETE CASCADE, "
            "day DATE NOT NULL, question VARCHAR(10) NOT NULL, answer VARCHAR(10) NOT NULL, "
            "count INTEGER NOT NULL DEFAULT 0)"
        )
        await db.run_ddl("CREATE UNIQUE INDEX IF NOT EXISTS feedback_tally_key ON feedback_tally (activity, day, question, answer)")
        await db.run_ddl("CREATE INDEX IF NOT EXISTS feedback_tally_program ON feedback_tally (program)")
        # No rowid on SQLite: the marker table keeps no insertion order to line up with the tallies.
        await db.run_ddl(
            "CREATE TABLE IF NOT EXISTS feedback_marker (key VARCHAR(64) NOT NULL PRIMARY KEY)"
            + (" WITHOUT ROWID" if sqlite else "")
        )

    manager.add_raw(report_tables)
    return manager
