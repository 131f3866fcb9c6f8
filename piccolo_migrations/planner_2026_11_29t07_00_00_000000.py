from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-11-29T07:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "Reminders sent once per guest and offset; each programme's reminder offsets; who cancelled an RSVP."


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="planner", description=DESCRIPTION)

    async def reminders():
        from piccolo.columns import Integer, Timestamptz
        from piccolo.columns.defaults.timestamptz import TimestamptzNow
        from piccolo.engine import engine_finder
        from piccolo.table import Table

        class ReminderSent(Table, tablename="reminder_sent"):
            rsvp = Integer()
            slot = Integer()
            hours = Integer()
            sent_at = Timestamptz(default=TimestamptzNow())

        await ReminderSent.create_table(if_not_exists=True).run()
        engine = engine_finder()
        # The unique key is what makes a reminder go out once, whatever the number of workers.
        await engine.run_ddl("CREATE UNIQUE INDEX IF NOT EXISTS reminder_sent_once ON reminder_sent (rsvp, slot, hours)")
        await engine.run_ddl("ALTER TABLE program ADD COLUMN reminder_hours VARCHAR(60) NOT NULL DEFAULT '24,2'")
        await engine.run_ddl("ALTER TABLE rsvp ADD COLUMN cancelled_by VARCHAR(12) NOT NULL DEFAULT ''")

    manager.add_raw(reminders)
    return manager
