"""The second tenancy wall: PostgreSQL row-level security on every table that carries `tenant_id`.

The first wall is the ORM (`TenantTable`, `ctx.scope`). This one holds even when code steps around it
(`unscoped()`, `.raw()`, a table with `tenant_id` that does not subclass `TenantTable`):

- `apply_policies()` runs as the owner after every app's migrations (`isogov migrate`). It finds every table of
  the schema with a `tenant_id` column in the catalog (so a plugin's new table is covered with nothing written
  for it), turns on `ENABLE` and `FORCE ROW LEVEL SECURITY` and creates two permissive policies where missing:
  `isogov_tenant` (the row's tenant is `app.tenant_id`) and `isogov_platform` (`app.platform` is set: the explicit,
  counted platform path). Rows whose tenant is NULL (platform users, audit events of platform writes) are
  reached by the platform path only. It grants the runtime role (DATABASE_URL's user) the right to read and write
  rows, never to own them. Earlier forms of the policies (a setting read per row; `= 'on'`) are brought up to date. Idempotent: a
  second run changes nothing.
- `check_runtime_role()` runs at start-up of the API and the workers: in production it stops them with a clear
  message when their role owns the tables (or is a member of the owner) or can bypass row-level security.

core.db sets `app.tenant_id` / `app.platform` inside every transaction. SQLite has no row-level security: there
the ORM wall stands alone.
"""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import urlparse

import structlog

from core.db import engine, is_sqlite, transaction

log = structlog.get_logger("isogov.rls")

TENANT_POLICY = "isogov_tenant"
PLATFORM_POLICY = "isogov_platform"
# Each setting is read in a scalar subquery: PostgreSQL evaluates it once per statement (an InitPlan) instead of
# calling current_setting() for every row the policy filters (a count over a province's 3,000 agencies paid it
# 6,000 times).
TENANT_EXPR = "tenant_id = (SELECT NULLIF(current_setting('app.tenant_id', true), '')::uuid)"
# core.db sets app.platform to 'on' (the platform path) or '' (anything else). Written as "not empty" rather than
# "= 'on'" for PostgreSQL's planner: it estimates an equality with a setting at 0.5 % of the rows, so every
# cross-tenant aggregate (the national dashboard: 100,000 agencies estimated as ~200) got nested-loop plans and
# sorts that spilled; "<>" is estimated at 99.5 %. Tenant-scoped queries carry their own tenant filter (ctx.scope),
# which the planner estimates from the column's statistics either way.
PLATFORM_EXPR = "(SELECT COALESCE(current_setting('app.platform', true), '')) <> ''"
MIGRATION_TABLE = "piccolo_migration"

# The signed-in user behind a token, looked up on every request (core.auth.load_actor): users of every tenant, so
# on the platform path. As a function that sets the platform flag itself around its one query (and puts back what
# was there), the lookup is one statement on a pooled connection: no `BEGIN; set_config`, no `COMMIT`. Called
# alone it runs in its statement's own transaction, so the transaction-local setting ends with it anyway. It
# reads only the active user of the given id and its tenant (no wider than the per-request platform path it
# replaces). plpgsql keeps its plan per connection; the columns take their types from the catalog (without a
# length: a function's row type has none), and `apply_policies` writes it again after every migration, in place
# unless a column's type changed. (A `SET` clause on the function would be simpler, but PostgreSQL lets only a
# superuser attach a custom setting to a function.)
ACTOR_FUNCTION = "isogov_signed_in_user"
ACTOR_COLUMNS = (("id", "app_user", "id"), ("email", "app_user", "email"), ("role", "app_user", "role"),
                 ("tenant_id", "app_user", "tenant_id"), ("agency_id", "app_user", "agency_id"),
                 ("full_name", "app_user", "full_name"), ("token_version", "app_user", "token_version"),
                 ("tenant_code", "tenant", "code"), ("tenant_name", "tenant", "name"),
                 ("tenant_status", "tenant", "status"))


class RuntimeRoleError(RuntimeError):
    """The API or a worker connects with a role that defeats row-level security."""


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


async def _fetch(sql: str, *args: Any) -> list[dict[str, Any]]:
    from piccolo.querystring import QueryString

    return [dict(r) for r in await engine().run_querystring(QueryString(sql, *args))]


async def tenant_tables() -> list[str]:
    """Tables of the current schema that carry a `tenant_id` column."""
    rows = await _fetch(
        "SELECT c.table_name AS name FROM information_schema.columns c "
        "JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name "
        "WHERE c.table_schema = current_schema() AND c.column_name = 'tenant_id' AND t.table_type = 'BASE TABLE' "
        "ORDER BY 1")
    return [r["name"] for r in rows]


async def protection() -> dict[str, dict[str, Any]]:
    """For every table of the schema: row-level security enabled, forced, and its policy names."""
    rows = await _fetch(
        "SELECT c.relname AS name, c.relrowsecurity AS enabled, c.relforcerowsecurity AS forced, "
        "COALESCE(array_agg(p.polname::text) FILTER (WHERE p.polname IS NOT NULL), ARRAY[]::text[]) AS policies "
        "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "LEFT JOIN pg_policy p ON p.polrelid = c.oid "
        "WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') GROUP BY 1, 2, 3")
    return {r["name"]: {"enabled": r["enabled"], "forced": r["forced"], "policies": set(r["policies"])}
            for r in rows}


def runtime_role() -> str | None:
    """The role the API and workers connect as, when migrations run as another one (the owner)."""
    owner_url = os.environ.get("ISOGOV_MIGRATE_DATABASE_URL", "").strip()
    from core.settings import get_settings

    runtime_url = get_settings().database_url
    if not owner_url or is_sqlite():
        return None
    runtime, owner = urlparse(runtime_url).username, urlparse(owner_url).username
    return runtime if runtime and runtime != owner else None


def _current_form(policy: str, qual: str) -> bool:
    """Whether a policy's stored expression (as pg_policies prints it) is today's form: the settings read once per
    statement (a subquery), and the platform flag as "not empty" (the earlier `= 'on'` was estimated at 0.5 %)."""
    once = "SELECT" in qual.upper()
    return once and ("<>" in qual if policy == PLATFORM_POLICY else True)


async def apply_policies(role: str | None = None) -> list[str]:
    """Protect every table with `tenant_id` (run as the owner, after the migrations). Returns the tables."""
    if is_sqlite():
        return []
    role = role or runtime_role()
    async with transaction():
        tables = await tenant_tables()
        state = await protection()
        quals = {(r["name"], r["policy"]): r["qual"] or "" for r in await _fetch(
            "SELECT tablename AS name, policyname AS policy, qual FROM pg_policies "
            "WHERE schemaname = current_schema() AND policyname IN ({}, {})", TENANT_POLICY, PLATFORM_POLICY)}
        for name in tables:
            t = _ident(name)
            current = state.get(name, {"enabled": False, "forced": False, "policies": set()})
            if not current["enabled"]:
                await engine().run_ddl(f"ALTER TABLE {t} ENABLE ROW LEVEL SECURITY")
            if not current["forced"]:
                await engine().run_ddl(f"ALTER TABLE {t} FORCE ROW LEVEL SECURITY")
            for policy, expr in ((TENANT_POLICY, TENANT_EXPR), (PLATFORM_POLICY, PLATFORM_EXPR)):
                if policy not in current["policies"]:
                    await engine().run_ddl(f"CREATE POLICY {policy} ON {t} FOR ALL USING ({expr}) WITH CHECK ({expr})")
                elif not _current_form(policy, quals.get((name, policy), "")):  # same rows, slower plans
                    await engine().run_ddl(f"ALTER POLICY {policy} ON {t} USING ({expr}) WITH CHECK ({expr})")
        if role:
            r = _ident(role)
            await engine().run_ddl(f"GRANT USAGE ON SCHEMA {_ident(await _schema())} TO {r}")
            await engine().run_ddl(f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA "
                                   f"{_ident(await _schema())} TO {r}")
            await engine().run_ddl(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {_ident(await _schema())} TO {r}")
            if MIGRATION_TABLE in state:  # the runtime may read which migrations ran, never change that
                await engine().run_ddl(f"REVOKE INSERT, UPDATE, DELETE ON {_ident(MIGRATION_TABLE)} FROM {r}")
        await create_actor_function()
    log.info("row-level security applied", tables=len(tables), runtime_role=role)
    return tables


async def create_actor_function() -> None:
    """(Re)create ACTOR_FUNCTION (as the owner, inside apply_policies' transaction)."""
    types = {(r["rel"], r["col"]): r["type"] for r in await _fetch(
        "SELECT c.relname AS rel, a.attname AS col, format_type(a.atttypid, NULL) AS type "
        "FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = current_schema() AND c.relname IN ('app_user', 'tenant') AND a.attnum > 0 "
        "AND NOT a.attisdropped")}
    if not all((table, column) in types for _, table, column in ACTOR_COLUMNS):
        return  # core's tables are not there (a database migrated for something else)
    out = ", ".join(f"{name} {types[(table, column)]}" for name, table, column in ACTOR_COLUMNS)
    select = ", ".join(f"{'u' if table == 'app_user' else 't'}.{column}" for _, table, column in ACTOR_COLUMNS)
    current = await _fetch(f"SELECT pg_get_function_result(to_regprocedure('{ACTOR_FUNCTION}(uuid)')) AS result")
    if current[0]["result"] is not None and current[0]["result"] != f"TABLE({out})":
        # another row type (a column's type changed): replaced under a new identity; otherwise it keeps its own,
        # so statements the running API prepared with it stay valid
        await engine().run_ddl(f"DROP FUNCTION {ACTOR_FUNCTION}(uuid)")
    await engine().run_ddl(
        f"CREATE OR REPLACE FUNCTION {ACTOR_FUNCTION}(user_id uuid) RETURNS TABLE ({out}) LANGUAGE plpgsql VOLATILE "
        f"AS $body$\n#variable_conflict use_column\nDECLARE before text := current_setting('app.platform', true);\n"
        f"BEGIN\nPERFORM set_config('app.platform', 'on', true);\n"
        f"RETURN QUERY SELECT {select} FROM app_user u LEFT JOIN tenant t ON t.id = u.tenant_id "
        f"WHERE u.id = user_id AND u.active;\n"
        f"PERFORM set_config('app.platform', COALESCE(before, ''), true);\nEND\n$body$")


async def has_actor_function(conn: Any = None) -> bool:
    sql = f"SELECT to_regprocedure('{ACTOR_FUNCTION}(uuid)') IS NOT NULL AS found"
    if conn is not None:
        return bool(await conn.fetchval(sql))
    return bool((await _fetch(sql))[0]["found"])


async def _schema() -> str:
    return (await _fetch("SELECT current_schema() AS s"))[0]["s"]


async def role_problems(conn: Any = None) -> list[str]:
    """What is wrong with the connected role (the engine's, or `conn`'s) for a runtime: empty when it is fit."""

    async def fetch(sql: str) -> list[dict[str, Any]]:
        return [dict(r) for r in await conn.fetch(sql)] if conn is not None else await _fetch(sql)

    me = (await fetch("SELECT current_user AS name, rolsuper AS super, rolbypassrls AS bypass "
                      "FROM pg_roles WHERE rolname = current_user"))[0]
    problems = []
    if me["super"]:
        problems.append(f"the role {me['name']!r} is a superuser (it ignores row-level security)")
    if me["bypass"]:
        problems.append(f"the role {me['name']!r} has BYPASSRLS")
    owned = await fetch(
        "SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') "
        "AND pg_has_role(current_user, c.relowner, 'MEMBER') ORDER BY 1 LIMIT 3")
    if owned and not me["super"]:
        problems.append(f"the role {me['name']!r} owns the tables (or is a member of their owner), e.g. "
                        f"{', '.join(r['name'] for r in owned)}: an owner may switch row-level security off")
    return problems


async def check_runtime_role(conn: Any = None, env: str | None = None) -> None:
    """At start-up of the API and the workers. Production: refuse a role that defeats row-level security.
    Elsewhere (embedded, tests, a developer's PostgreSQL): warn, and skip setting the tenant when the role ignores
    the policies anyway (superuser, BYPASSRLS)."""
    from core.settings import get_settings

    problems = await role_problems(conn)
    if conn is None:
        me = (await _fetch("SELECT rolsuper OR rolbypassrls AS bypass FROM pg_roles WHERE rolname = current_user"))[0]
        engine().rls_active = not me["bypass"]  # type: ignore[attr-defined]
        engine().actor_function = await has_actor_function()  # type: ignore[attr-defined]
    if not problems:
        return
    if (env or get_settings().env) == "production":
        raise RuntimeRoleError(
            "refusing to start: " + "; ".join(problems) + ". Connect the API and workers (DATABASE_URL) as a role "
            "that owns nothing and has no BYPASSRLS, and run `isogov migrate` as the owner "
            "(ISOGOV_MIGRATE_DATABASE_URL); README: Row-level security.")
    log.warning("row-level security is not in force for this role", problems=problems)


async def migrate() -> list[str]:
    """Every app's committed migrations, then the policies: as the owner (ISOGOV_MIGRATE_DATABASE_URL when set)
    on the platform path. Raises RuntimeError when a migration fails. Returns the protected tables."""
    from piccolo.apps.migrations.commands.forwards import run_forwards

    from core.db import as_owner, platform_access

    with as_owner(), platform_access("migrate"):
        result = await run_forwards(app_name="all")
        if not result.success:
            raise RuntimeError(f"migrations failed: {result.message}")
        return await apply_policies()
