"""The agencies of a province in the tree's order: an index on (tenant_id, level order, name_folded, code, id),
the order of the agencies list and of the certification board (`core.agencies.services.LIST_ORDER`). A page
then reads its rows in order from the index instead of sorting every agency of the province, so a page costs
about the same for 300 and for 3,000 agencies. The level expression is written here as it stood when the
migration was made; tests/test_scope_page.py checks the index still matches the services' expression."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from core.db import engine

ID = "2026-12-02T04:30:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "agency list order index"

LEVEL_CASE = ("CASE level WHEN 'province' THEN 0 WHEN 'department' THEN 1 WHEN 'district' THEN 2 "
              "WHEN 'office' THEN 3 WHEN 'commune' THEN 4 WHEN 'unit' THEN 5 ELSE 6 END")


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="core", description=DESCRIPTION)

    async def run():
        await engine().run_ddl(f"CREATE INDEX IF NOT EXISTS agency_list_order ON agency "
                               f"(tenant_id, ({LEVEL_CASE}), name_folded, code, id)")

    async def run_backwards():
        await engine().run_ddl("DROP INDEX IF EXISTS agency_list_order")

    manager.add_raw(run)
    manager.add_raw_backwards(run_backwards)
    return manager
