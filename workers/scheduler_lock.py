"""The scheduler is one process by a lock in Redis, not only by documentation.

`isogov scheduler` takes `<queue>:scheduler:lock` (SET NX with a TTL) at start-up and renews it every third of
the TTL; a second scheduler finds it taken and stops at once with a message (exit code 1). If the lock is lost
(Redis restarted, the process stalled past the TTL) the scheduler stops itself rather than run beside another.
The lock is released on a clean stop; after a kill it expires within `LOCK_TTL_SECONDS`.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import uuid
from typing import Any

import structlog

log = structlog.get_logger("isogov.scheduler")

LOCK_TTL_SECONDS = 30
_RENEW = ("if redis.call('get', KEYS[1]) == ARGV[1] then "
          "return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end")
_RELEASE = ("if redis.call('get', KEYS[1]) == ARGV[1] then "
            "return redis.call('del', KEYS[1]) else return 0 end")


class SchedulerAlreadyRunning(RuntimeError):
    pass


def lock_key(queue: str) -> str:
    return f"{queue}:scheduler:lock"


def new_token() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


async def acquire(redis: Any, queue: str, token: str, ttl: int = LOCK_TTL_SECONDS) -> None:
    if not await redis.set(lock_key(queue), token, nx=True, px=ttl * 1000):
        holder = await redis.get(lock_key(queue))
        holder = holder.decode() if isinstance(holder, bytes) else holder
        raise SchedulerAlreadyRunning(
            f"another scheduler holds {lock_key(queue)} ({holder}); exactly one scheduler may run. If it was "
            f"killed, its lock expires within {ttl} s")


async def renew(redis: Any, queue: str, token: str, ttl: int = LOCK_TTL_SECONDS) -> bool:
    return bool(await redis.eval(_RENEW, 1, lock_key(queue), token, ttl * 1000))


async def release(redis: Any, queue: str, token: str) -> None:
    await redis.eval(_RELEASE, 1, lock_key(queue), token)


async def keep(redis: Any, queue: str, token: str, ttl: int = LOCK_TTL_SECONDS) -> None:
    """Renew until cancelled; on a lost lock, stop this process (SIGTERM: arq shuts down cleanly)."""
    while True:
        await asyncio.sleep(ttl / 3)
        try:
            held = await renew(redis, queue, token, ttl)
        except Exception:  # Redis away for a moment: try again before the TTL runs out
            log.warning("could not renew the scheduler lock; trying again")
            continue
        if not held:
            log.error("the scheduler lock was lost; stopping so that two schedulers never run")
            os.kill(os.getpid(), signal.SIGTERM)
            return
