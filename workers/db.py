"""Write transactions of the background side.

On SQLite, one writer at a time holds the database; a worker running twenty jobs at once would otherwise have
nineteen of them spinning in SQLite's busy handler (sleeps of up to 100 ms) for each write. Here the jobs of a
process queue on an asyncio lock first, and only the holder asks SQLite for its write lock. PostgreSQL needs no
such thing: the lock is skipped there.
"""

from __future__ import annotations

import asyncio
import weakref
from contextlib import asynccontextmanager
from typing import AsyncIterator

from core.db import is_sqlite, transaction

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
    from core.db import engine

    if engine().current_transaction.get() is not None:  # already inside one: join it
        async with transaction():
            yield
        return
    async with _lock():
        async with transaction():
            yield
