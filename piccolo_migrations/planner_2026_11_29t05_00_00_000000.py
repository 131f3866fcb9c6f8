from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-11-29T05:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "Help hub and care team: where a support resource comes from, country reviews, care settings and messages."


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="planner", description=DESCRIPTION)

    async def help_and_care():
        # Frozen copies of the tables as they are at this migration, so later edits to the classes don't change it.
        from piccolo.columns import JSON, Date, ForeignKey, Integer, Text, Timestamptz, Varchar
        from piccolo.columns.defaults.timestamptz import TimestamptzNow
        from piccolo.engine import engine_finder
        from piccolo.table import Table

        class Program(Table, tablename="program"):
            pass

        class ResourceReview(Table, tablename="resource_review"):
            program = ForeignKey(references=Program, null=False, index=True)
            country = Varchar(length=3)
            reviewed_on = Date()
            reviewed_by = Varchar(length=254, default="")
            created_at = Timestamptz(default=TimestamptzNow())

        class CareSetting(Table, tablename="care_setting"):
            program = ForeignKey(references=Program, null=False, unique=True)
            address = Varchar(length=254, default="")

        class CareMessage(Table, tablename="care_message"):
            program = ForeignKey(references=Program, null=False, index=True)
            rsvp = Integer(null=True, default=None, index=True)
            sender_name = Varchar(length=200, default="")
            sender_email = Varchar(length=254, default="")
            contact = Varchar(length=300, default="")
            sender_key = Varchar(length=64, default="", index=True)
            message = Text()
            outbox_ids = JSON(default=[])
            created_at = Timestamptz(default=TimestamptzNow(), index=True)

        await engine_finder().run_ddl("ALTER TABLE support_resource ADD COLUMN source VARCHAR(20) NOT NULL DEFAULT 'curated'")
        for table in (ResourceReview, CareSetting, CareMessage):
            await table.create_table(if_not_exists=True).run()

    manager.add_raw(help_and_care)
    return manager
