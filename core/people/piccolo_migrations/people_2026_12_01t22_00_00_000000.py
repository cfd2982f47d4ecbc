"""A user is linked to at most one person: a unique index on person.user_id (NULLs, people without a user, do not
collide on either engine). Two requests linking the same user at once: one gets a 409 from the index."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from core.db import engine

ID = "2026-12-01T22:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "unique person.user_id"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="people", description=DESCRIPTION)

    async def run():
        await engine().run_ddl("CREATE UNIQUE INDEX IF NOT EXISTS person_user_id_unique ON person (user_id)")

    async def run_backwards():
        await engine().run_ddl("DROP INDEX IF EXISTS person_user_id_unique")

    manager.add_raw(run)
    manager.add_raw_backwards(run_backwards)
    return manager
