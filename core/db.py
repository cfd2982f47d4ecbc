"""The database engine (SQLite embedded, PostgreSQL in production) and the one way to open a transaction."""

from __future__ import annotations

import os
from contextlib import asynccontextmanager
from typing import Any, AsyncIterator
from urllib.parse import urlparse

from piccolo.engine.base import Engine
from piccolo.engine.postgres import PostgresEngine
from piccolo.engine.sqlite import SQLiteEngine, TransactionType


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite:///"):
        path = url[len("sqlite:///"):]
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        # timeout: how long a writer waits for another writer's lock before giving up.
        return SQLiteEngine(path=path, timeout=30)
    parsed = urlparse(url)
    return PostgresEngine(config={
        "host": parsed.hostname or "127.0.0.1",
        "port": parsed.port or 5432,
        "user": parsed.username or "postgres",
        "password": parsed.password or None,
        "database": (parsed.path or "/postgres").lstrip("/"),
    })


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
async def transaction() -> AsyncIterator[None]:
    """Open (or join) a transaction. Every query of this task inside it runs in it.

    On SQLite the transaction takes the write lock up front (IMMEDIATE) so two writers queue instead of
    dead-locking on a lock upgrade.
    """
    db = engine()
    if isinstance(db, SQLiteEngine):
        cm = db.transaction(transaction_type=TransactionType.immediate)
    else:
        cm = db.transaction()
    async with cm:
        yield


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
        tx = db.current_transaction.get()
        if tx is not None:
            return [dict(r) for r in await tx.connection.fetch(_numbered(sql), *args)]
        return [dict(r) for r in await db.pool.fetch(_numbered(sql), *args)]
    from piccolo.querystring import QueryString

    return await db.run_querystring(QueryString(sql, *args))


async def start() -> None:
    db = engine()
    if isinstance(db, PostgresEngine):
        await db.start_connection_pool(min_size=1, max_size=int(os.environ.get("ISOGOV_DB_POOL_SIZE", "10")))
    else:
        await db.run_ddl("PRAGMA journal_mode=WAL")


async def stop() -> None:
    db = engine()
    if isinstance(db, PostgresEngine):
        await db.close_connection_pool()


async def ping() -> None:
    await engine().run_ddl("SELECT 1")
