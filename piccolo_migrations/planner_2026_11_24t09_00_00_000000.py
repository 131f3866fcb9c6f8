from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-11-24T09:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "Composite unique keys, hot-path indexes and never-negative stock."


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="planner", description=DESCRIPTION)

    async def constraints():
        # Piccolo declares no composite keys; these guard the invariants at the
        # database level on both engines.
        from piccolo.engine import engine_finder

        engine = engine_finder()
        statements = [
            "CREATE UNIQUE INDEX membership_program_user ON membership (program, \"user\")",
            "CREATE UNIQUE INDEX checkin_rsvp_slot ON checkin (rsvp, slot)",
            "CREATE UNIQUE INDEX stock_level_item_location ON stock_level (item, location)",
            "CREATE UNIQUE INDEX activity_host_pair ON activity_host (activity, host)",
            "CREATE INDEX rsvp_slot_queue ON rsvp (slot, status, queue_seq)",
            "CREATE INDEX slot_space_time ON slot (space, starts_at)",
            "CREATE INDEX outbox_pending ON outbox_message (sent_at, next_attempt_at)",
        ]
        if engine.engine_type == "postgres":
            statements += [
                "ALTER TABLE stock_level ADD CONSTRAINT stock_level_not_negative CHECK (on_hand >= 0)",
                "ALTER TABLE slot ADD CONSTRAINT slot_counters_not_negative CHECK (confirmed >= 0 AND waiting >= 0)",
            ]
        else:
            statements += [
                "CREATE TRIGGER stock_level_not_negative BEFORE UPDATE ON stock_level "
                "WHEN NEW.on_hand < 0 BEGIN SELECT RAISE(ABORT, 'stock would go below zero'); END",
                "CREATE TRIGGER stock_level_not_negative_insert BEFORE INSERT ON stock_level "
                "WHEN NEW.on_hand < 0 BEGIN SELECT RAISE(ABORT, 'stock would go below zero'); END",
            ]
        for sql in statements:
            await engine.run_ddl(sql)


    manager.add_raw(constraints)
    return manager
