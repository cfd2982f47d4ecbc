"""The one tenant-scoped access path: direct queries on tenant-owned tables are refused."""

from __future__ import annotations

from typing import Any

import pytest

from core.errors import NotFound
from core.agencies.tables import Agency
from core.audit.tables import AuditEvent
from core.users.tables import User
from core.tenancy import TenantScopeError, unscoped
from tests.example_plugin.tables import ExampleNote


@pytest.mark.parametrize("table", [Agency, User, AuditEvent, ExampleNote])
@pytest.mark.parametrize("method", ["select", "objects", "count", "exists", "delete", "update"])
def test_direct_queries_on_tenant_tables_raise(table: Any, method: str) -> None:
    with pytest.raises(TenantScopeError, match="tenant-owned"):
        getattr(table, method)()


def test_unscoped_is_explicit_and_nests() -> None:
    with unscoped():
        with unscoped():
            Agency.select()
        Agency.select()
    with pytest.raises(TenantScopeError):
        Agency.select()


async def test_scope_filters_by_tenant_and_hides_soft_deleted(client: Any, make_tenant: Any) -> None:
    a, b = await make_tenant(), await make_tenant()
    ctx_a, ctx_b = await a.ctx(), await b.ctx()
    assert {r["id"] for r in await ctx_a.scope(Agency).select(Agency.id)} == set(a.agencies.values())
    assert await ctx_b.scope(Agency).find(a.agencies["P"]) is None
    assert await ctx_b.scope(Agency).find("not-a-uuid") is None
    row = await ctx_a.scope(ExampleNote).insert({"agency_id": a.agencies["D1"], "title": "x", "title_folded": "x"})
    await ctx_a.scope(ExampleNote).soft_delete(row["id"])
    assert await ctx_a.scope(ExampleNote).find(row["id"]) is None
    assert (await ctx_a.scope(ExampleNote).find(row["id"], include_deleted=True))["deleted_at"] is not None
    assert await ctx_a.scope(ExampleNote).count() == 0
    with pytest.raises(NotFound):  # another tenant's row cannot be updated through the scope
        await ctx_b.scope(Agency).update(a.agencies["P"], {"name": "hijack"})
    assert (await ctx_a.scope(Agency).get(a.agencies["P"]))["name"] != "hijack"


async def test_insert_cannot_choose_another_tenant(make_tenant: Any) -> None:
    a, b = await make_tenant(), await make_tenant()
    ctx_a = await a.ctx()
    row = await ctx_a.scope(ExampleNote).insert({"agency_id": a.agencies["D1"], "title": "t", "title_folded": "t",
                                                "tenant_id": b.id})
    assert row["tenant_id"] == a.id


async def test_soft_deleted_rows_cannot_be_updated_through_the_scope(make_tenant: Any) -> None:
    from core.errors import NotFound

    t = await make_tenant()
    ctx = await t.ctx()
    row = await ctx.scope(ExampleNote).insert({"agency_id": t.agencies["D1"], "title": "x", "title_folded": "x"})
    await ctx.scope(ExampleNote).soft_delete(row["id"])
    with pytest.raises(NotFound):
        await ctx.scope(ExampleNote).update(row["id"], {"title": "changed while hidden"})
    with pytest.raises(NotFound):
        await ctx.scope(ExampleNote).soft_delete(row["id"])
    kept = await ctx.scope(ExampleNote).find(row["id"], include_deleted=True)
    assert kept["title"] == "x"


async def test_scopes_keep_core_private_columns_and_tables_private(make_tenant: Any) -> None:
    from core.audit.tables import AuditEvent
    from core.tenancy import TenantScopeError
    from core.users.tables import User

    t = await make_tenant(modules=[])
    ctx = await t.ctx()
    rows = await ctx.scope(User).select()
    assert rows and all("password_hash" not in row for row in rows)  # never handed to a module
    with pytest.raises(TenantScopeError, match="private"):
        ctx.scope(User).select(User.password_hash)
    with pytest.raises(TenantScopeError, match="private"):
        await ctx.scope(User).update(t.users["viewer"], {"password_hash": "x"})
    with pytest.raises(TenantScopeError, match="written only by its own mechanism"):
        await ctx.scope(AuditEvent).insert({"actor_email": "forged", "action": "create", "entity": "x"})
    assert await ctx.scope(AuditEvent).count() >= 1  # reading the trail stays possible
    with pytest.raises(TenantScopeError, match="read-only"):
        await ctx.as_read_only().scope(User).update(t.users["viewer"], {"full_name": "x"})
