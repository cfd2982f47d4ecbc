"""The database engine (SQLite embedded, PostgreSQL in production) and the one way to open a transaction.

On PostgreSQL the engine also tells the database who is asking, for the row-level security policies that form
the second tenancy wall (core.tenancy.rls): inside each transaction it sets `app.tenant_id` (the bound tenant)
or `app.platform` (the explicit platform path) with `set_config(..., true)`, folded into the transaction's
`BEGIN`. Both are transaction-local, so a connection returned to the pool carries neither, and this works behind
a transaction-pooling PgBouncer. What is bound comes from this task's context:

- `tenant_bound(tenant_id)` (ctx.scope, `transaction(tenant=...)`, the tenancy guard for a whole request);
- `platform_access(reason)` (`core.tenancy.unscoped()` outside a tenant binding): cross-tenant platform code;
- nothing: the policies show no tenant-owned row at all (fail closed).
"""

from __future__ import annotations

import os
import sys
import uuid
import weakref
from collections import Counter
from contextlib import asynccontextmanager, contextmanager, suppress
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, AsyncIterator, Iterator
from urllib.parse import urlparse

import structlog
from piccolo.engine.base import Engine
from piccolo.engine.postgres import PostgresEngine, PostgresTransaction
from piccolo.engine.sqlite import SQLiteEngine, TransactionType

log = structlog.get_logger("isogov.db")


# --- who is asking: the row-level security binding of this task ------------------------------------------------

@dataclass
class _Binding:
    tenant_id: uuid.UUID | None = None
    platform: str | None = None  # the reason, on the platform path
    seen: bool = False  # the platform path was logged once for this binding


_BINDING: ContextVar[_Binding | None] = ContextVar("isogov_rls_binding", default=None)
# How often the platform path reached the database, by reason (read by /metrics and the tests).
PLATFORM_ACCESS: Counter[str] = Counter()

_NOBODY = ("", "")


def _state() -> tuple[str, str]:
    """(tenant id, platform flag) the database should see for this task's next statement."""
    b = _BINDING.get()
    if b is None:
        return _NOBODY
    if b.tenant_id is not None:
        return (str(b.tenant_id), "")
    if b.platform is not None:
        if not b.seen:
            b.seen = True
            PLATFORM_ACCESS[b.platform] += 1
            log.debug("platform access", reason=b.platform)
        return ("", "on")
    return _NOBODY


def note_platform_access(reason: str) -> None:
    """Count and log one platform access that reaches the database another way than a binding (a function that
    carries the platform setting itself), as a `platform_access` binding's first statement would."""
    PLATFORM_ACCESS[reason] += 1
    log.debug("platform access", reason=reason)


def bound_tenant() -> uuid.UUID | None:
    b = _BINDING.get()
    return b.tenant_id if b is not None else None


@contextmanager
def tenant_bound(tenant_id: Any) -> Iterator[None]:
    """Statements of this task inside run for this tenant only (on PostgreSQL, enforced by the database)."""
    token = _BINDING.set(_Binding(tenant_id=tenant_id if isinstance(tenant_id, uuid.UUID) else uuid.UUID(str(tenant_id))))
    try:
        yield
    finally:
        _BINDING.reset(token)


@contextmanager
def platform_access(reason: str | None = None) -> Iterator[None]:
    """The explicit platform path: statements inside may read and write every tenant's rows. Counted and logged
    (`PLATFORM_ACCESS`, "platform access" log lines) by reason; the default reason is the calling function."""
    if reason is None:
        frame = sys._getframe(2)
        reason = f"{frame.f_globals.get('__name__', '?')}.{frame.f_code.co_name}"
    token = _BINDING.set(_Binding(platform=reason))
    try:
        yield
    finally:
        _BINDING.reset(token)


@contextmanager
def request_binding() -> Iterator[None]:
    """An empty binding for one HTTP request; the tenancy guard fills it with `bind_request_tenant`."""
    token = _BINDING.set(_Binding())
    try:
        yield
    finally:
        _BINDING.reset(token)


def bind_request_tenant(tenant_id: uuid.UUID) -> None:
    """Bind the rest of this request to the tenant (called by the tenancy guard, inside `request_binding`)."""
    b = _BINDING.get()
    if b is None or b.platform is not None:
        raise RuntimeError("bind_request_tenant needs the request binding of core's middleware")
    b.tenant_id = tenant_id


def _set_sql(state: tuple[str, str]) -> str:
    tenant, platform = state
    if tenant:
        tenant = str(uuid.UUID(tenant))  # never anything but a UUID inside the SQL text
    return (f"SELECT set_config('app.tenant_id', '{tenant}', true), "
            f"set_config('app.platform', '{'on' if platform else ''}', true)")


class RlsTransaction(PostgresTransaction):
    """A Piccolo transaction that carries this task's binding: `BEGIN; SELECT set_config(...)` in one round trip,
    and one more `set_config` only when the binding changes inside the transaction."""

    rls: tuple[str, str] = _NOBODY

    async def begin(self) -> None:
        state = _state() if self.engine.rls_active else _NOBODY  # type: ignore[attr-defined]
        self.rls = state
        await self.connection.execute("BEGIN" if state == _NOBODY else f"BEGIN; {_set_sql(state)}")

    async def commit(self) -> None:
        await self.connection.execute("COMMIT")
        self._committed = True

    async def rollback(self) -> None:
        await self.connection.execute("ROLLBACK")
        self._rolled_back = True

    async def follow_binding(self) -> None:
        if not self.engine.rls_active:  # type: ignore[attr-defined]
            return
        state = _state()
        if state != self.rls:
            await self.connection.execute(_set_sql(state))
            self.rls = state


# Pooled connections whose reset was sent already (with the lone-statement path's COMMIT), or that need none.
_RESET_SENT: "weakref.WeakSet[Any]" = weakref.WeakSet()


async def _pool_reset(conn: Any) -> None:
    """The pool's reset of a returned connection (asyncpg's default query), unless it was sent already."""
    if conn in _RESET_SENT:
        _RESET_SENT.discard(conn)
        return
    query = conn.get_reset_query()
    if query:
        await conn.execute(query)


class RlsPostgresEngine(PostgresEngine):
    """PostgreSQL with the binding applied to every statement: inside a transaction it follows the binding;
    a lone statement with something bound runs in its own short transaction carrying it: `BEGIN; set_config`,
    the statement, then `COMMIT` sent together with the pool's reset of the connection (which it replaces), so it
    costs one round trip more than the bare statement."""

    # False when the role ignores row-level security anyway (superuser, BYPASSRLS): nothing is set then.
    rls_active = True
    # Whether core.tenancy.rls.ACTOR_FUNCTION exists (checked at start-up): the signed-in user in one statement.
    actor_function = False

    def transaction(self, allow_nested: bool = True) -> RlsTransaction:
        return RlsTransaction(engine=self, allow_nested=allow_nested)

    async def start_connection_pool(self, **kwargs: Any) -> None:
        kwargs.setdefault("reset", _pool_reset)
        await super().start_connection_pool(**kwargs)

    async def _run_lone(self, querystring: Any) -> Any:
        query, args = querystring.compile_string(engine_type=self.engine_type)
        return await self.run_lone(query, args)

    async def run_lone(self, query: str, args: Any) -> Any:
        """One statement outside any transaction, in a short one carrying this task's binding."""
        state = _state()
        async with self.pool.acquire() as conn:  # type: ignore[union-attr]
            await conn.execute(f"BEGIN; {_set_sql(state)}")
            try:
                rows = await conn.fetch(query, *args)
            except Exception:
                with suppress(Exception):  # a broken connection is dropped by the pool's reset
                    await conn.execute("ROLLBACK")
                raise
            await conn.execute(f"COMMIT; {conn.get_reset_query()}")
            _RESET_SENT.add(conn._con)
        return rows

    async def run_querystring(self, querystring: Any, in_pool: bool = True) -> Any:
        tx = self.current_transaction.get()
        if tx is not None:
            await tx.follow_binding()
        elif self.rls_active and _BINDING.get() is not None and _state() != _NOBODY:
            if in_pool and self.pool is not None and not self.log_queries:
                return await self._run_lone(querystring)
            async with self.transaction():
                return await super().run_querystring(querystring, in_pool)
        return await super().run_querystring(querystring, in_pool)

    async def run_ddl(self, ddl: str, in_pool: bool = True) -> Any:
        tx = self.current_transaction.get()
        if tx is not None:
            await tx.follow_binding()
        elif self.rls_active and _BINDING.get() is not None and _state() != _NOBODY:
            async with self.transaction():
                return await super().run_ddl(ddl, in_pool)
        return await super().run_ddl(ddl, in_pool)


# --- the engine ------------------------------------------------------------------------------------------------

def pg_config(url: str) -> dict[str, Any]:
    parsed = urlparse(url)
    return {
        "host": parsed.hostname or "127.0.0.1",
        "port": parsed.port or 5432,
        "user": parsed.username or "postgres",
        "password": parsed.password or None,
        "database": (parsed.path or "/postgres").lstrip("/"),
    }


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite:///"):
        path = url[len("sqlite:///"):]
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        # timeout: how long a writer waits for another writer's lock before giving up.
        return SQLiteEngine(path=path, timeout=30)
    return RlsPostgresEngine(config=pg_config(url))


_ENGINE: Engine | None = None


def engine() -> Engine:
    """The process's one engine, made from DATABASE_URL on first use (Piccolo's conf module points at it)."""
    global _ENGINE
    if _ENGINE is None:
        from core.settings import get_settings

        _ENGINE = make_engine(get_settings().database_url)
    return _ENGINE


def is_sqlite() -> bool:
    return isinstance(engine(), SQLiteEngine)


@asynccontextmanager
async def transaction(*, tenant: Any = None) -> AsyncIterator[None]:
    """Open (or join) a transaction. Every query of this task inside it runs in it.

    `tenant`: bind the tenant for the transaction (on PostgreSQL the database then shows and accepts only that
    tenant's rows, whatever the query). On SQLite the transaction takes the write lock up front (IMMEDIATE) so
    two writers queue instead of dead-locking on a lock upgrade.
    """
    db = engine()
    if isinstance(db, SQLiteEngine):
        cm = db.transaction(transaction_type=TransactionType.immediate)
    else:
        cm = db.transaction()
    if tenant is None:
        async with cm:
            yield
        return
    with tenant_bound(tenant):
        async with cm:
            yield


@asynccontextmanager
async def reads(*, tenant: Any = None) -> AsyncIterator[None]:
    """Several reads that belong together (a page, its settings, its records): on PostgreSQL in one transaction,
    so under row-level security one `BEGIN; set_config` and one `COMMIT` serve them all instead of a pair per
    statement, and they read one snapshot. On SQLite nothing: each read runs alone as before (a transaction
    there takes the write lock up front)."""
    if is_sqlite():
        yield
        return
    async with transaction(tenant=tenant):
        yield


@contextmanager
def as_owner() -> Iterator[None]:
    """Connect as the owner of the tables (ISOGOV_MIGRATE_DATABASE_URL) inside: for migrations (`isogov migrate`,
    the tests). Every statement of the process inside uses a new owner connection: the pool, if one runs, is set
    aside meanwhile. Without that variable the runtime DATABASE_URL is used (one role for both)."""
    db = engine()
    owner_url = os.environ.get("ISOGOV_MIGRATE_DATABASE_URL", "").strip()
    if not isinstance(db, PostgresEngine) or not owner_url:
        yield
        return
    runtime, pool = db.config, db.pool
    db.config, db.pool = pg_config(owner_url), None
    try:
        yield
    finally:
        db.config, db.pool = runtime, pool


_PG_SQL: dict[str, str] = {}


def _numbered(sql: str) -> str:
    """`{}` placeholders (Piccolo's raw style) as PostgreSQL's `$1, $2, ...`, converted once per statement."""
    found = _PG_SQL.get(sql)
    if found is None:
        parts = sql.split("{}")
        found = parts[0] + "".join(f"${i}{part}" for i, part in enumerate(parts[1:], 1))
        _PG_SQL[sql] = found
    return found


async def fetch(sql: str, *args: Any) -> list[dict[str, Any]]:
    """Rows of one read-only statement with `{}` placeholders, in the current transaction if there is one.

    On PostgreSQL it goes straight to the driver (the pool, or the transaction's connection) without building a
    Piccolo query: for the few statements on every request's path (the signed-in user). Platform code only:
    the statement names its tenant filter itself."""
    db = engine()
    if isinstance(db, PostgresEngine) and db.pool is not None:
        return await fetch_pg(_numbered(sql), args)
    from piccolo.querystring import QueryString

    return await db.run_querystring(QueryString(sql, *args))


def direct_pg() -> bool:
    """Whether statements can go straight to the PostgreSQL driver (`fetch_pg`): PostgreSQL with its pool up."""
    db = engine()
    return isinstance(db, PostgresEngine) and db.pool is not None


async def fetch_pg(sql: str, args: Any) -> list[dict[str, Any]]:
    """Rows of one statement in PostgreSQL's `$n` style, sent straight to the driver with this task's binding: in
    the current transaction (following the binding), or alone (in a short transaction carrying the binding when
    row-level security is in force), as Piccolo's engine would run it. Needs `direct_pg()`."""
    return [dict(r) for r in await fetch_records(sql, args)]


async def fetch_records(sql: str, args: Any) -> list[Any]:
    """`fetch_pg`, with the driver's own records (read-only, by name or position) instead of dicts."""
    db = engine()
    tx = db.current_transaction.get()
    if tx is not None:
        if isinstance(tx, RlsTransaction):
            await tx.follow_binding()
        return await tx.connection.fetch(sql, *args)
    if isinstance(db, RlsPostgresEngine) and db.rls_active and _state() != _NOBODY:
        return await db.run_lone(sql, args)
    return await db.pool.fetch(sql, *args)  # type: ignore[union-attr]


async def fetch_unbound(sql: str, args: Any) -> list[Any]:
    """Rows of one read-only statement that needs no binding and leaves nothing on the session (a function that
    carries its own setting, e.g. core.tenancy.rls.ACTOR_FUNCTION): in the current transaction if there is one,
    else on a pooled connection as it is, with no transaction around it and no reset after it. Needs
    `direct_pg()`."""
    db = engine()
    tx = db.current_transaction.get()
    if tx is not None:
        return await tx.connection.fetch(sql, *args)
    async with db.pool.acquire() as conn:  # type: ignore[union-attr]
        rows = await conn.fetch(sql, *args)
        _RESET_SENT.add(conn._con)  # nothing to reset: the pool's release skips its reset query
    return rows


async def start() -> None:
    db = engine()
    if isinstance(db, PostgresEngine):
        await db.start_connection_pool(min_size=1, max_size=int(os.environ.get("ISOGOV_DB_POOL_SIZE", "10")))
        from core.tenancy.rls import check_runtime_role

        await check_runtime_role()
    else:
        await db.run_ddl("PRAGMA journal_mode=WAL")


async def stop() -> None:
    db = engine()
    if isinstance(db, PostgresEngine):
        await db.close_connection_pool()


async def ping() -> None:
    await engine().run_ddl("SELECT 1")
