"""Pytest plugin shared by core and plugin tests (loaded with `-p core.testing`), also usable by a plugin that
lives in another repository: it needs nothing of this repository's tests/ nor of the tenants package.

It points the whole process at a fresh database before anything imports the engine: SQLite in a temporary
folder, or a new PostgreSQL database `isogov_test_<pid>` (dropped at the end) when ISOGOV_TEST_DB=postgres.
Fixtures: `app`, `client` (httpx over ASGI, in the test loop), `make_tenant` (a province with agencies, users of every
role and their bearer tokens), `platform_users` (platform admin and national reviewer tokens).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
import uuid
from dataclasses import dataclass, field
from typing import Any, AsyncIterator

import pytest

TEST_PG = {
    "host": os.environ.get("ISOGOV_TEST_PG_HOST", "127.0.0.1"),
    "port": int(os.environ.get("ISOGOV_TEST_PG_PORT", "5432")),
    "user": os.environ.get("ISOGOV_TEST_PG_USER", "postgres"),
}
# The PostgreSQL run connects like production: the app as a runtime role that owns nothing (row-level security
# binds it), migrations as the owner of the tables. Both are created here where missing.
OWNER_ROLE = os.environ.get("ISOGOV_TEST_PG_OWNER_ROLE", "isogov_owner")
RUNTIME_ROLE = os.environ.get("ISOGOV_TEST_PG_RUNTIME_ROLE", "isogov_app")
_state: dict[str, Any] = {}


def _create_role_sql(role: str) -> str:
    # Two test runs may create it at once: the loser's error is swallowed.
    return (f"DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{role}') THEN "
            f"CREATE ROLE \"{role}\" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS; END IF; "
            f"EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$")


async def _pg_admin(sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(database="postgres", **TEST_PG)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def pytest_configure(config: pytest.Config) -> None:
    engine = os.environ.get("ISOGOV_TEST_DB", "sqlite")
    tmp = tempfile.mkdtemp(prefix="isogov-test-")
    _state["tmp"] = tmp
    os.environ.update({
        "ISOGOV_ENV": "embedded",
        "ISOGOV_VAR_DIR": tmp,
        "ISOGOV_PASSWORD_HASH": "fast",
        "ISOGOV_SECRET_KEY": "test-secret-key-" + "x" * 32,
        "ISOGOV_LOG_LEVEL": os.environ.get("ISOGOV_LOG_LEVEL", "WARNING"),
        "REDIS_URL": os.environ.get("ISOGOV_TEST_REDIS_URL", "redis://127.0.0.1:6379/0"),
    })
    if engine == "postgres":
        name = f"isogov_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
        for role in (OWNER_ROLE, RUNTIME_ROLE):
            asyncio.run(_pg_admin(_create_role_sql(role)))
        asyncio.run(_pg_admin(f'CREATE DATABASE "{name}" OWNER "{OWNER_ROLE}"'))
        _state["pg_db"] = name
        where = f"{TEST_PG['host']}:{TEST_PG['port']}/{name}"
        os.environ["DATABASE_URL"] = f"postgres://{RUNTIME_ROLE}@{where}"
        os.environ["ISOGOV_MIGRATE_DATABASE_URL"] = f"postgres://{OWNER_ROLE}@{where}"
        os.environ["ISOGOV_TEST_PG_ADMIN_URL"] = f"postgres://{TEST_PG['user']}@{where}"
    elif engine == "sqlite":
        os.environ["DATABASE_URL"] = f"sqlite:///{tmp}/test.sqlite3"
    else:
        raise pytest.UsageError("ISOGOV_TEST_DB must be sqlite or postgres")
    config.addinivalue_line("markers", "postgres_only: runs only on PostgreSQL")
    config.addinivalue_line("markers", "sqlite_only: runs only on SQLite")
    from core.settings import reset_settings

    reset_settings()


def pytest_report_header(config: pytest.Config) -> str:
    return f"isogov database: {os.environ.get('ISOGOV_TEST_DB', 'sqlite')} ({os.environ.get('DATABASE_URL')})"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    engine = os.environ.get("ISOGOV_TEST_DB", "sqlite")
    for item in items:
        if engine != "postgres" and item.get_closest_marker("postgres_only"):
            item.add_marker(pytest.mark.skip(reason="PostgreSQL only"))
        if engine != "sqlite" and item.get_closest_marker("sqlite_only"):
            item.add_marker(pytest.mark.skip(reason="SQLite only"))


def pytest_unconfigure(config: pytest.Config) -> None:
    name = _state.pop("pg_db", None)
    if name:
        try:
            from core import piccolo_conf

            asyncio.run(piccolo_conf.DB.close_connection_pool()) if getattr(piccolo_conf.DB, "pool", None) else None
        except Exception:
            pass
        try:
            asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        except Exception as exc:  # leave a note, never fail the run on clean-up
            print(f"could not drop test database {name}: {exc}")
    shutil.rmtree(_state.pop("tmp", ""), ignore_errors=True)


async def migrate() -> None:
    """As the owner, with row-level security applied after (the app then connects as the runtime role)."""
    from core.tenancy.rls import migrate as migrate_and_protect

    await migrate_and_protect()


@pytest.fixture(scope="session")
async def migrated() -> None:
    await migrate()


@pytest.fixture(scope="session")
async def app(migrated: None) -> Any:
    from core.app import create_app

    return create_app()


@pytest.fixture(scope="session")
async def client(app: Any) -> AsyncIterator[Any]:
    """An httpx client calling the app in the test's own event loop (the database pool lives in that loop;
    Litestar's AsyncTestClient would run the app in another one)."""
    import httpx

    import inspect

    async def run(handlers: list[Any]) -> None:  # the app's own start-up / shutdown handlers
        for handler in handlers:
            result = handler(app) if inspect.signature(handler).parameters else handler()
            if inspect.isawaitable(result):
                await result

    await run(app.on_startup)
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver.local") as test_client:
        yield test_client
    await run(app.on_shutdown)


@dataclass
class TenantFixture:
    """A test province: `agencies` maps short names to ids, `users`/`tokens` map roles to ids and tokens.

    Agencies: P (province), D1 and D2 (departments), D1U (unit under D1), C1 (commune under P).
    The agency officer is bound to D1.
    """

    id: uuid.UUID
    code: str
    name: str
    agencies: dict[str, uuid.UUID]
    users: dict[str, uuid.UUID]
    tokens: dict[str, str]
    emails: dict[str, str] = field(default_factory=dict)

    def url(self, path: str = "") -> str:
        return f"/api/v1/tenants/{self.code}{path}"

    def headers(self, role: str = "tenant_admin") -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[role]}"}

    async def ctx(self) -> Any:
        from core.tenancy.context import tenant_context

        return await tenant_context(self.code, "test")


TEST_AGENCIES = [
    ("P", "Ủy ban nhân dân tỉnh Thử Nghiệm", "province", None, True),
    ("D1", "Sở Giao thông Vận tải", "department", "P", True),
    ("D2", "Sở Tư pháp", "department", "P", True),
    ("D1U", "Phòng Quản lý Vận tải", "unit", "D1", False),
    ("C1", "UBND xã Đồng Đăng", "commune", "P", False),
]


async def create_test_tenant(code: str, name: str, modules: list[str]) -> Any:
    """A province with the given modules (and what they depend on) switched on: core's tables only, so a plugin
    that lives in another repository can use the fixtures without the tenants package."""
    from core.audit import record
    from core.db import transaction
    from core.plugins import get_plugin_system
    from core.tenancy import Actor, TenantInfo
    from core.tenancy.context import system_context
    from core.tenancy.tables import Tenant, TenantModule
    from core.text import fold

    system = get_plugin_system()
    wanted: list[str] = []

    def add(module: str) -> None:
        if module not in wanted:
            for dep in system.modules[module].info.depends_on:
                add(dep)
            wanted.append(module)

    for module in modules:
        add(module)
    info = TenantInfo(id=uuid.uuid4(), code=code, name=name, status="active")
    async with transaction(tenant=info.id):
        await Tenant.insert(Tenant(id=info.id, code=code, name=name, name_folded=fold(name), status="active"))
        for module in wanted:
            await TenantModule.insert(TenantModule(id=uuid.uuid4(), key=f"{info.id}:{module}", tenant_id=info.id,
                                                   module=module, enabled=True))
        ctx = system_context(info, "test")
        await record(ctx, action="create", entity="tenant", entity_id=info.id, after={"code": code, "modules": wanted})
    return ctx


async def seed_demo_agencies(ctx: Any, province: str) -> dict[str, uuid.UUID]:
    """Insert the agency tree of a demo province (asked of the plugin that owns the demo) into ctx's tenant;
    returns agency code -> id. Fails the test when no installed plugin knows the province."""
    from core.agencies.services import code_key
    from core.agencies.tables import Agency
    from core.plugins import get_plugin_system
    from core.text import fold

    rows = get_plugin_system().demo_agencies(province)
    if not rows:
        raise LookupError(f"no installed plugin knows the demo province {province!r}")
    ids: dict[str, uuid.UUID] = {}
    for a in rows:
        ids[a.code] = uuid.uuid4()
        await ctx.scope(Agency).insert({
            "id": ids[a.code], "code": a.code, "code_key": code_key(ctx.tenant.id, a.code), "name": a.name,
            "name_folded": fold(a.name), "level": a.level, "parent_id": ids[a.parent] if a.parent else None,
            "required": a.required, "valid_from": a.valid_from, "valid_to": a.valid_to}, action="seed")
    return ids


@pytest.fixture(scope="session")
async def make_tenant(app: Any):  # noqa: ANN201
    """Factory: `await make_tenant(modules=[...])` creates a fresh province with a unique code (all installed
    modules when `modules` is None)."""
    from datetime import date

    from core.agencies.services import code_key
    from core.agencies.tables import Agency
    from core.auth import hash_password, issue_token
    from core.plugins import get_plugin_system
    from core.text import fold
    from core.users.services import add_user

    async def factory(modules: list[str] | None = None, name: str = "Tỉnh Thử Nghiệm") -> TenantFixture:
        code = f"t-{uuid.uuid4().hex[:10]}"
        mods = get_plugin_system().module_names() if modules is None else modules
        ctx = await create_test_tenant(code, name, mods)
        agencies: dict[str, uuid.UUID] = {}
        for short, full, level, parent, required in TEST_AGENCIES:
            agencies[short] = uuid.uuid4()
            await ctx.scope(Agency).insert({
                "id": agencies[short], "code": short, "code_key": code_key(ctx.tenant.id, short), "name": full,
                "name_folded": fold(full), "level": level, "parent_id": agencies[parent] if parent else None,
                "required": required, "valid_from": date(2010, 1, 1), "valid_to": None}, action="seed")
        password_hash = hash_password("password-123")
        users, tokens, emails = {}, {}, {}
        for role in ("tenant_admin", "inspector", "agency_officer", "viewer"):
            email = f"{role}@{code}.test"
            row = await add_user(ctx, email=email, full_name=f"Người dùng {role}", role=role,
                                 agency_id=agencies["D1"] if role == "agency_officer" else None,
                                 password_hash=password_hash)
            users[role], emails[role] = row["id"], email
            tokens[role] = issue_token(app.state.jwt_auth, row["id"])
        return TenantFixture(id=ctx.tenant.id, code=code, name=name, agencies=agencies, users=users, tokens=tokens,
                             emails=emails)

    return factory


@pytest.fixture(scope="session")
async def platform_users(app: Any) -> dict[str, dict[str, str]]:
    """Tokens of a platform admin and a national reviewer: {"platform_admin": headers, ...}."""
    from core.auth import hash_password, issue_token
    from core.users.tables import User
    from core.tenancy import unscoped

    result = {}
    with unscoped():
        for role in ("platform_admin", "national_reviewer"):
            uid = uuid.uuid4()
            await User.insert(User(id=uid, tenant_id=None, email=f"{role}-{uid.hex[:8]}@platform.test",
                                   full_name=role, full_name_folded=role, role=role,
                                   password_hash=hash_password("password-123")))
            result[role] = {"Authorization": f"Bearer {issue_token(app.state.jwt_auth, uid)}"}
    return result
