from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-11-29T04:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "Rsvp.sequence as a column; outbox claims as leases with an owner; pending mail by RSVP."


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="planner", description=DESCRIPTION)

    async def sequence_and_leases():
        from piccolo.engine import engine_finder

        engine = engine_finder()
        await engine.run_ddl("ALTER TABLE rsvp ADD COLUMN sequence INTEGER NOT NULL DEFAULT 0")
        # Invites already sent counted the RSVP's messages; start from there so SEQUENCE never goes back.
        await engine.run_ddl(
            "UPDATE rsvp SET sequence = (SELECT COUNT(*) FROM outbox_message o WHERE o.rsvp = rsvp.id)"
        )
        await engine.run_ddl("ALTER TABLE outbox_message ADD COLUMN claimed_by VARCHAR(64) NOT NULL DEFAULT ''")
        # The claim looks for a due message with no earlier unsent one about the same RSVP.
        await engine.run_ddl(
            "CREATE INDEX IF NOT EXISTS outbox_message_pending_rsvp ON outbox_message (rsvp, id) WHERE sent_at IS NULL"
        )
        await engine.run_ddl(
            "CREATE INDEX IF NOT EXISTS outbox_message_claimed_by ON outbox_message (claimed_by) WHERE sent_at IS NULL"
        )

    manager.add_raw(sequence_and_leases)
    return manager
