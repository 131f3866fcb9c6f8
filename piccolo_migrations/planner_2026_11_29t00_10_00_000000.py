from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-11-29T00:10:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "The audit log."


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="planner", description=DESCRIPTION)

    async def audit_event():
        # A frozen copy of the table as it is at this migration, so later edits to the class don't change it.
        from piccolo.columns import Integer, Timestamptz, Varchar
        from piccolo.columns.defaults.timestamptz import TimestamptzNow
        from piccolo.table import Table

        class AuditEvent(Table, tablename="audit_event"):
            program = Integer(null=True, index=True)
            actor = Integer(null=True)
            actor_label = Varchar(length=254, default="")
            action = Varchar(length=60)
            subject = Varchar(length=200, default="")
            detail = Varchar(length=500, default="")
            at = Timestamptz(default=TimestamptzNow())

        await AuditEvent.create_table(if_not_exists=True).run()

    manager.add_raw(audit_event)
    return manager
