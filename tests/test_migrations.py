"""Committed migrations build every table of core and the plugins, on this run's engine, and re-run as no-ops."""

from __future__ import annotations

from typing import Any

from core import piccolo_conf
from core.tenancy import unscoped
from core.testing import migrate


async def test_every_registered_table_matches_its_columns(migrated: Any) -> None:
    checked = []
    with unscoped():
        for config in piccolo_conf.APP_REGISTRY.app_configs.values():
            for table in config.table_classes:
                await table.select(*table._meta.columns).limit(1)  # fails on a missing table or column
                checked.append(table._meta.tablename)
    assert {"tenant", "agency", "app_user", "audit_event", "example_note"} <= set(checked)


async def test_migrations_rerun_is_a_no_op(migrated: Any) -> None:
    from piccolo.apps.migrations.tables import Migration

    before = await Migration.count()
    await migrate()
    assert await Migration.count() == before
    names = {r["app_name"] for r in await Migration.select(Migration.app_name)}
    assert set(piccolo_conf.APP_REGISTRY.app_configs) <= names


def test_plugin_apps_come_after_core() -> None:
    apps = list(piccolo_conf.APP_REGISTRY.app_configs)
    assert apps[0] == "core"
