"""Write transactions of the background side.

On SQLite, one writer at a time holds the database; a worker running twenty jobs at once would otherwise have
nineteen of them spinning in SQLite's busy handler (sleeps of up to 100 ms) for each write. Here the jobs of a
process queue on an asyncio lock first, and only the holder asks SQLite for its write lock. PostgreSQL needs no
such thing: the lock is skipped there.
"""

from __future__ import annotations

import asyncio
import weakref
from contextlib import asynccontextmanager, suppress
from contextvars import ContextVar
from typing import Any, AsyncIterator

from piccolo.engine.postgres import PostgresEngine

from core.db import PLATFORM_ACCESS, engine, is_sqlite, transaction

_locks: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock]" = weakref.WeakKeyDictionary()


def _lock() -> asyncio.Lock:
    loop = asyncio.get_running_loop()
    lock = _locks.get(loop)
    if lock is None:
        lock = _locks[loop] = asyncio.Lock()
    return lock


@asynccontextmanager
async def write_transaction() -> AsyncIterator[None]:
    """`core.db.transaction()`, queued behind this process's other writers on SQLite."""
    if not is_sqlite():
        async with transaction():
            yield
        return
    if engine().current_transaction.get() is not None:  # already inside one: join it
        async with transaction():
            yield
        return
    async with _lock():
        async with transaction():
            yield


_SESSION: ContextVar[Any] = ContextVar("isogov_platform_session", default=None)


@asynccontextmanager
async def platform_session(reason: str) -> AsyncIterator[Any]:
    """PostgreSQL: one pooled connection held for a burst of platform statements (`session_fetch`), each then one
    round trip in its own implicit transaction, with no `BEGIN; set_config` / `COMMIT` around it.

    The connection is put on the platform path for its session (`app.platform`, as `core.db.platform_access`
    does per transaction; counted in `core.db.PLATFORM_ACCESS` under `reason`), used by this task only, and taken
    off it before it goes back to the pool (whose reset clears it anyway). Only for platform code whose statements
    name their tenant filters themselves. On SQLite (or when the pool is not started) nothing is held.
    """
    db = engine()
    if not isinstance(db, PostgresEngine) or db.pool is None:
        yield None
        return
    async with db.pool.acquire() as conn:
        PLATFORM_ACCESS[reason] += 1
        await conn.execute(_SESSION_SQL.format(platform="on"))
        token = _SESSION.set(conn)
        try:
            yield conn
        finally:
            _SESSION.reset(token)
            if not conn.is_closed():
                with suppress(Exception):
                    await conn.execute(_SESSION_SQL.format(platform=""))


_SESSION_SQL = "SELECT set_config('app.platform', '{platform}', false), set_config('app.tenant_id', '', false)"


async def session_fetch(sql: str, *args: Any) -> list[dict[str, Any]] | None:
    """Rows of one statement (`$n` placeholders) on this task's platform session; None when there is none."""
    conn = _SESSION.get()
    if conn is None or conn.is_closed():
        return None
    return [dict(r) for r in await conn.fetch(sql, *args)]
