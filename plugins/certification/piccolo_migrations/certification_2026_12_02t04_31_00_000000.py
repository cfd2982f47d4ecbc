"""Whether a province's records hold a later event than a day (the board's `board_stale` check, on every board
page and summary): an index on (tenant_id, last_event_on) answers it from the index's end instead of reading
every record of the province."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from core.db import engine

ID = "2026-12-02T04:31:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "records by last event"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="certification", description=DESCRIPTION)

    async def run():
        await engine().run_ddl("CREATE INDEX IF NOT EXISTS cert_qms_record_last_event "
                               "ON cert_qms_record (tenant_id, last_event_on)")

    async def run_backwards():
        await engine().run_ddl("DROP INDEX IF EXISTS cert_qms_record_last_event")

    manager.add_raw(run)
    manager.add_raw_backwards(run_backwards)
    return manager
