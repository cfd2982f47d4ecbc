"""The second tenancy wall: PostgreSQL row-level security (core.tenancy.rls), proved with raw SQL.

The whole PostgreSQL run already connects as the runtime role (core.testing), so every other test, the route
walkers included, runs with the policies on. Here: every table of the Piccolo registry that carries `tenant_id`
(core's, every plugin's: a new table is walked with nothing written for it) is protected; raw SQL as the runtime
role with tenant A set sees and changes no row of tenant B; a query that steps around the ORM wall on purpose
returns nothing foreign; a pooled connection keeps no tenant; a role that could defeat the policies is refused.
"""

from __future__ import annotations

import os
import uuid
from typing import Any

import pytest

from core.agencies.tables import Agency
from core.db import PLATFORM_ACCESS, engine, tenant_bound, transaction
from core.tenancy import unscoped
from core.tenancy.rls import PLATFORM_POLICY, TENANT_POLICY, RuntimeRoleError, check_runtime_role, protection, role_problems
from tests.test_tenant_isolation import populate

pytestmark = pytest.mark.postgres_only


def registry_tables() -> list[Any]:
    """Every table class of every installed app that carries tenant_id (TenantTable or not)."""
    from core import piccolo_conf

    found = []
    for config in piccolo_conf.APP_REGISTRY.app_configs.values():
        found += [t for t in config.table_classes if "tenant_id" in {c._meta.name for c in t._meta.columns}]
    return found


async def connect(url_env: str) -> Any:
    import asyncpg

    return await asyncpg.connect(os.environ[url_env].replace("postgres://", "postgresql://", 1))


@pytest.fixture(scope="module")
async def pair(client: Any, app: Any, make_tenant: Any) -> tuple[Any, Any]:
    a, b = await make_tenant(), await make_tenant()
    for tenant in (a, b):
        await populate(client, app, tenant)
    return a, b


def test_the_registry_has_core_and_plugin_tables() -> None:
    names = {t._meta.tablename for t in registry_tables()}
    assert {"agency", "app_user", "audit_event", "tenant_module", "example_note"} <= names


async def test_every_table_with_tenant_id_is_forced_under_both_policies(pair: Any) -> None:
    state = await protection()
    failures = []
    for table in registry_tables():
        got = state.get(table._meta.tablename)
        if got is None or not (got["enabled"] and got["forced"]) or {TENANT_POLICY, PLATFORM_POLICY} - got["policies"]:
            failures.append(f"{table._meta.tablename}: {got}")
    assert not failures, "\n".join(failures)


async def test_raw_sql_as_the_runtime_role_with_tenant_a_set_never_reaches_tenant_b(pair: Any) -> None:
    import asyncpg

    a, b = pair
    admin, app_conn = await connect("ISOGOV_TEST_PG_ADMIN_URL"), await connect("DATABASE_URL")
    assert (await app_conn.fetchval("SELECT current_user")) != (await admin.fetchval("SELECT current_user"))
    failures, walked_with_rows = [], 0

    async def as_a(sql: str, *args: Any) -> Any:
        async with app_conn.transaction():
            await app_conn.execute(f"SELECT set_config('app.tenant_id', '{a.id}', true)")
            return await app_conn.fetch(sql, *args) if sql.startswith("SELECT") else await app_conn.execute(sql, *args)

    try:
        for table in registry_tables():
            t = f'"{table._meta.tablename}"'
            pk = table._meta.primary_key._meta.name
            count_b = f"SELECT count(*) FROM {t} WHERE tenant_id = $1"
            b_before = await admin.fetchval(count_b, b.id)
            a_total = await admin.fetchval(count_b, a.id)
            walked_with_rows += bool(b_before and a_total)
            seen = await as_a(f"SELECT tenant_id FROM {t}")
            if {r["tenant_id"] for r in seen} - {a.id}:
                failures.append(f"{t}: A sees rows of other tenants")
            if len(seen) != a_total:
                failures.append(f"{t}: A sees {len(seen)} of its {a_total} rows")
            if (await as_a(count_b, b.id))[0][0]:
                failures.append(f"{t}: A counts B's rows")
            if await as_a(f"UPDATE {t} SET tenant_id = tenant_id WHERE tenant_id = $1", b.id) != "UPDATE 0":
                failures.append(f"{t}: A updated B's rows")
            if await as_a(f"DELETE FROM {t} WHERE tenant_id = $1", b.id) != "DELETE 0":
                failures.append(f"{t}: A deleted B's rows")
            template = await admin.fetchrow(f"SELECT * FROM {t} WHERE tenant_id = $1 LIMIT 1", b.id)
            if template is not None:  # B's own row under a new id: refused for A
                row = dict(template) | {pk: uuid.uuid4()}
                cols = ", ".join(f'"{c}"' for c in row)
                marks = ", ".join(f"${i + 1}" for i in range(len(row)))
                try:
                    await as_a(f"INSERT INTO {t} ({cols}) VALUES ({marks})", *row.values())
                    failures.append(f"{t}: A inserted a row of B")
                except asyncpg.exceptions.InsufficientPrivilegeError:
                    pass
            own = await admin.fetchrow(f"SELECT {pk} FROM {t} WHERE tenant_id = $1 LIMIT 1", a.id)
            if own is not None:  # A's own row handed over to B: refused
                try:
                    await as_a(f"UPDATE {t} SET tenant_id = $1 WHERE {pk} = $2", b.id, own[pk])
                    failures.append(f"{t}: A moved its row to B")
                except asyncpg.exceptions.InsufficientPrivilegeError:
                    pass
            if await admin.fetchval(count_b, b.id) != b_before:
                failures.append(f"{t}: B's rows changed")
    finally:
        await admin.close()
        await app_conn.close()
    assert not failures, "\n".join(failures)
    assert walked_with_rows >= 4  # agency, app_user, audit_event, tenant_module at least: the walk could fail


async def test_a_query_around_the_orm_wall_returns_nothing_foreign(pair: Any) -> None:
    """Failing first: the same bypassing query on a connection the policies do not bind (the superuser, as any
    database without this wall) returns B's agencies; as the runtime role, inside A's transaction, none."""
    a, b = pair
    admin = await connect("ISOGOV_TEST_PG_ADMIN_URL")
    try:
        async with admin.transaction():
            await admin.execute(f"SELECT set_config('app.tenant_id', '{a.id}', true)")
            unguarded = {r["tenant_id"] for r in await admin.fetch("SELECT tenant_id FROM agency")}
    finally:
        await admin.close()
    assert b.id in unguarded  # without the database wall, the bypass leaks

    async with transaction(tenant=a.id):
        with unscoped():  # the ORM wall stepped around on purpose
            rows = await Agency.select(Agency.id, Agency.tenant_id)
            raw = await Agency.raw("SELECT tenant_id FROM agency WHERE tenant_id = {}", b.id)
    assert rows and {r["tenant_id"] for r in rows} == {a.id}
    assert raw == []

    with tenant_bound(a.id), unscoped():  # a lone statement, no transaction of our own
        assert {r["tenant_id"] for r in await Agency.select(Agency.tenant_id)} == {a.id}


async def test_nothing_bound_shows_nothing_and_the_platform_path_is_counted(pair: Any) -> None:
    from piccolo.querystring import QueryString

    a, b = pair
    rows = await engine().run_querystring(QueryString("SELECT count(*) AS n FROM agency"))
    assert rows[0]["n"] == 0  # fail closed: no tenant, no platform path
    before = PLATFORM_ACCESS["rls test"]
    with unscoped("rls test"):
        ids = {r["tenant_id"] for r in await Agency.select(Agency.tenant_id)}
    assert {a.id, b.id} <= ids
    assert PLATFORM_ACCESS["rls test"] == before + 1


async def test_a_tenant_request_reads_only_its_tenant_even_for_a_platform_admin(client: Any, pair: Any,
                                                                                platform_users: Any) -> None:
    a, b = pair
    r = await client.get(a.url("/agencies?limit=200"), headers=platform_users["platform_admin"])
    assert r.status_code == 200, r.text
    assert r.json()["items"] and all(item["id"] not in {str(v) for v in b.agencies.values()}
                                     for item in r.json()["items"])


async def test_a_pooled_connection_keeps_no_tenant_after_a_transaction(pair: Any) -> None:
    a, _ = pair
    db = engine()
    async with transaction(tenant=a.id):
        from piccolo.querystring import QueryString

        inside = await db.run_querystring(QueryString("SELECT current_setting('app.tenant_id', true) AS t, "
                                                      "pg_backend_pid() AS pid"))
    assert inside[0]["t"] == str(a.id)
    with unscoped("rls test"):  # and a platform statement leaves nothing either
        await Agency.count()
    held = [await db.pool.acquire() for _ in range(db.pool.get_size())]
    try:
        pids = set()
        for conn in held:
            row = await conn.fetchrow("SELECT current_setting('app.tenant_id', true) AS t, "
                                      "current_setting('app.platform', true) AS p, pg_backend_pid() AS pid")
            assert not row["t"] and not row["p"], dict(row)
            pids.add(row["pid"])
        assert inside[0]["pid"] in pids
    finally:
        for conn in held:
            await db.pool.release(conn)


async def test_the_runtime_role_is_fit_and_others_are_refused_in_production(pair: Any) -> None:
    assert await role_problems() == []
    owner, admin = await connect("ISOGOV_MIGRATE_DATABASE_URL"), await connect("ISOGOV_TEST_PG_ADMIN_URL")
    try:
        assert any("owns the tables" in p for p in await role_problems(owner))
        assert any("superuser" in p for p in await role_problems(admin))
        with pytest.raises(RuntimeRoleError, match="refusing to start.*ISOGOV_MIGRATE_DATABASE_URL"):
            await check_runtime_role(owner, env="production")
        await check_runtime_role(owner, env="embedded")  # elsewhere: a warning only
    finally:
        await owner.close()
        await admin.close()


async def test_applying_the_policies_again_changes_nothing(pair: Any) -> None:
    from core.db import as_owner, platform_access
    from core.tenancy.rls import apply_policies

    before = await protection()
    with as_owner(), platform_access("rls test"):
        tables = await apply_policies()
    assert {t._meta.tablename for t in registry_tables()} <= set(tables)
    assert await protection() == before


async def test_an_earlier_platform_policy_is_brought_up_to_date(pair: Any) -> None:
    """The platform policy once read `= 'on'` (PostgreSQL estimated it at 0.5 % of the rows: cross-tenant
    aggregates got plans for a few hundred rows of 100,000), and both policies read their setting on every row.
    Applying the policies again replaces both; the platform
    path still sees every tenant's rows, and no binding still sees none."""
    from core.db import as_owner, platform_access
    from core.tenancy.rls import PLATFORM_EXPR, apply_policies

    old = "current_setting('app.platform', true) = 'on'"
    old_tenant = "tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid"  # read on every row
    owner = await connect("ISOGOV_MIGRATE_DATABASE_URL")
    try:
        await owner.execute(f"ALTER POLICY {PLATFORM_POLICY} ON agency USING ({old}) WITH CHECK ({old})")
        await owner.execute(f"ALTER POLICY isogov_tenant ON agency USING ({old_tenant}) WITH CHECK ({old_tenant})")
        found = {r["policyname"]: r["qual"] for r in await owner.fetch(
            "SELECT policyname, qual FROM pg_policies WHERE tablename = 'agency'")}
        assert "<>" not in found[PLATFORM_POLICY] and "SELECT" not in found["isogov_tenant"].upper(), found
        with as_owner(), platform_access("rls test"):
            await apply_policies()
        quals = await owner.fetch("SELECT tablename, policyname, qual FROM pg_policies WHERE policyname IN "
                                  "($1, 'isogov_tenant')", PLATFORM_POLICY)
        assert {r["tablename"] for r in quals if r["policyname"] == "isogov_tenant"} == {
            r["tablename"] for r in quals if r["policyname"] == PLATFORM_POLICY}
        stale = [dict(r) for r in quals if "SELECT" not in r["qual"].upper()
                 or (r["policyname"] == PLATFORM_POLICY and "<>" not in r["qual"])]
        assert quals and not stale, stale
    finally:
        await owner.close()
    assert "<>" in PLATFORM_EXPR
    a, b = pair
    with platform_access("rls test"), unscoped():
        seen = {r["tenant_id"] for r in await Agency.select(Agency.tenant_id).where(Agency.tenant_id.is_in([a.id, b.id]))}
    assert seen == {a.id, b.id}
    runtime = await connect("DATABASE_URL")
    try:
        assert await runtime.fetchval("SELECT count(*) FROM agency") == 0  # nothing bound: nothing seen
        async with runtime.transaction():
            await runtime.execute("SELECT set_config('app.platform', '', true)")
            assert await runtime.fetchval("SELECT count(*) FROM agency") == 0
    finally:
        await runtime.close()


async def test_the_signed_in_user_is_one_statement_that_leaves_nothing_set(pair: Any, client: Any,
                                                                           platform_users: Any) -> None:
    """core.auth.load_actor reads through ACTOR_FUNCTION: one statement, no transaction of ours around it. As the
    runtime role with nothing bound it finds an active user of any tenant (and a platform user), counts the
    platform path, leaves no setting on the pooled connection and puts the flag back inside a transaction."""
    from core import db
    from core.auth import ACTOR_REASON, load_actor
    from core.tenancy.rls import ACTOR_FUNCTION, has_actor_function

    a, b = pair
    assert engine().actor_function is True and await has_actor_function()
    before = PLATFORM_ACCESS[ACTOR_REASON]
    for tenant in (a, b):
        actor = await load_actor(tenant.users["viewer"], 0)
        assert actor is not None and actor.tenant_id == tenant.id and actor.tenant.code == tenant.code
        assert actor.role == "viewer"
    assert await load_actor(tenant.users["viewer"], 1) is None  # a token from before a password change
    assert await load_actor(uuid.uuid4()) is None
    assert PLATFORM_ACCESS[ACTOR_REASON] == before + 4
    r = await client.get("/api/v1/me", headers=platform_users["platform_admin"])  # a platform user: no tenant
    assert r.status_code == 200, r.text

    held = [await db.engine().pool.acquire() for _ in range(db.engine().pool.get_size())]
    try:
        for conn in held:
            assert await conn.fetchval("SELECT current_setting('app.platform', true)") in ("", None)
            assert await conn.fetchval("SELECT count(*) FROM agency") == 0  # nothing bound: nothing seen
    finally:
        for conn in held:
            await db.engine().pool.release(conn)
    async with transaction(tenant=a.id):  # inside a tenant's transaction: the flag is put back after the lookup
        assert (await load_actor(b.users["viewer"], 0)).tenant_id == b.id
        rows = await db.fetch_pg("SELECT current_setting('app.platform', true) AS p, "
                                 "current_setting('app.tenant_id', true) AS t, "
                                 "(SELECT count(*) FROM agency WHERE tenant_id = $1) AS foreign_rows", (b.id,))
    assert rows == [{"p": "", "t": str(a.id), "foreign_rows": 0}]

    runtime = await connect("DATABASE_URL")  # the function reads one active user by id, nothing else
    try:
        assert await runtime.fetchval(f"SELECT count(*) FROM {ACTOR_FUNCTION}($1)", b.users["viewer"]) == 1
        owner = await connect("ISOGOV_MIGRATE_DATABASE_URL")

        async def set_active(value: bool) -> None:
            async with owner.transaction():  # the owner too is held by the policies (FORCE): the platform path
                await owner.execute("SELECT set_config('app.platform', 'on', true)")
                assert await owner.execute("UPDATE app_user SET active = $2 WHERE id = $1", b.users["inspector"],
                                           value) == "UPDATE 1"
        try:
            await set_active(False)
            assert await runtime.fetchval(f"SELECT count(*) FROM {ACTOR_FUNCTION}($1)", b.users["inspector"]) == 0
            assert await load_actor(b.users["inspector"], 0) is None  # deactivated: signed out at once
        finally:
            await set_active(True)
            await owner.close()
    finally:
        await runtime.close()


async def test_without_the_function_the_lookup_takes_the_platform_path(pair: Any) -> None:
    """A database whose policies were applied before the function existed: the lookup still works (the platform
    path in a short transaction), and `isogov migrate` (apply_policies) creates the function again."""
    from core.auth import load_actor
    from core.db import as_owner, platform_access
    from core.tenancy.rls import ACTOR_FUNCTION, apply_policies, has_actor_function

    a, _ = pair
    owner = await connect("ISOGOV_MIGRATE_DATABASE_URL")
    try:
        await owner.execute(f"DROP FUNCTION {ACTOR_FUNCTION}(uuid)")
        assert not await has_actor_function(owner)
        engine().actor_function = False
        assert (await load_actor(a.users["tenant_admin"], 0)).tenant_id == a.id
        with as_owner(), platform_access("rls test"):
            await apply_policies()
        assert await has_actor_function(owner)
    finally:
        engine().actor_function = await has_actor_function()
        await owner.close()
    assert engine().actor_function is True
    assert (await load_actor(a.users["tenant_admin"], 0)).tenant_id == a.id


async def test_migrating_again_keeps_the_signed_in_user_function_in_place(pair: Any) -> None:
    """`isogov migrate` replaces the function in place (the same identity: statements the running API prepared
    with it stay valid) unless its row type must change."""
    from core.db import as_owner, platform_access
    from core.tenancy.rls import ACTOR_FUNCTION, apply_policies

    owner = await connect("ISOGOV_MIGRATE_DATABASE_URL")
    try:
        oid = await owner.fetchval(f"SELECT to_regprocedure('{ACTOR_FUNCTION}(uuid)')::oid")
        with as_owner(), platform_access("rls test"):
            await apply_policies()
        assert await owner.fetchval(f"SELECT to_regprocedure('{ACTOR_FUNCTION}(uuid)')::oid") == oid
        result = await owner.fetchval(f"SELECT pg_get_function_result('{ACTOR_FUNCTION}(uuid)'::regprocedure)")
        assert result.startswith("TABLE(id uuid, email character varying") and "tenant_status" in result
    finally:
        await owner.close()


async def test_reads_that_belong_together_share_one_transaction(pair: Any) -> None:
    """`core.db.reads(tenant=...)` (the board's page with its settings and records): one transaction carrying the
    tenant for every statement inside, so one `BEGIN; set_config` and one `COMMIT` instead of a pair each."""
    from piccolo.querystring import QueryString

    from core.db import fetch_pg, reads

    a, b = pair
    sql = "SELECT txid_current() AS x, current_setting('app.tenant_id', true) AS t"
    async with reads(tenant=a.id):
        first = await fetch_pg(sql, ())
        second = await engine().run_querystring(QueryString(sql))  # through Piccolo too
        foreign = await fetch_pg("SELECT count(*) AS n FROM agency WHERE tenant_id = $1", (b.id,))
    assert first == [dict(r) for r in second] and first[0]["t"] == str(a.id)
    assert foreign == [{"n": 0}]
