"""Job outcome counters for `GET /metrics`: every worker and the scheduler count each run of a job in one Redis hash
(`core.metrics.jobs_key`), so any API pod can show the cluster's totals without scraping worker pods.

Outcomes follow arq's own counters: `complete` (returned), `retried` (raised `Retry`, or was cancelled and will
run again), `failed` (raised anything else). Counting never fails a job: a Redis error is logged and dropped.
A process writes its counts together every 50 ms (one pipeline), and what is left when it stops.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import weakref
from typing import Any, Callable, TypeVar

import structlog
from arq.worker import Retry, RetryJob

from core.metrics import jobs_key

log = structlog.get_logger("isogov.worker")
J = TypeVar("J")
FLUSH_EVERY = 0.05  # seconds between two writes of a busy process's counts


class _Counts:
    """The job counts of one process (one Redis client), written together every `every` seconds in one pipeline of
    HINCRBYs instead of a round trip per job. A job does not wait for its count; the worker writes what is left
    when it stops (`flush`). A worker killed outright loses at most the last `every` seconds of counts; a Redis
    error is logged and those counts dropped."""

    def __init__(self, redis: Any, every: float = FLUSH_EVERY) -> None:
        self._redis = redis
        self.every = every
        self._pending: dict[tuple[str, str], int] = {}
        self._task: asyncio.Task[None] | None = None

    def add(self, key: str, field: str) -> None:
        self._pending[(key, field)] = self._pending.get((key, field), 0) + 1
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        while self._pending:
            await asyncio.sleep(self.every)
            await self.write()

    async def write(self) -> None:
        pending, self._pending = self._pending, {}
        if not pending:
            return
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                for (key, field), n in pending.items():
                    pipe.hincrby(key, field, n)
                await pipe.execute()
        except Exception as exc:  # metrics must never turn a job's success into a failure
            log.warning("job metrics not recorded", jobs=sorted({f for _, f in pending}), error=type(exc).__name__)


_counts: "weakref.WeakKeyDictionary[Any, _Counts]" = weakref.WeakKeyDictionary()  # per Redis client (one loop each)


async def count(ctx: dict[str, Any], job: str, outcome: str) -> None:
    redis, config = ctx.get("redis"), ctx.get("config")
    if redis is None or config is None:
        return
    counts = _counts.get(redis)
    if counts is None:
        counts = _counts[redis] = _Counts(redis)
    counts.add(jobs_key(config.queue), f"{job}|{outcome}")


async def flush(redis: Any) -> None:
    """Write the counts not written yet (a worker stopping; a test that reads them right after a burst)."""
    counts = _counts.get(redis)
    if counts is not None:
        await counts.write()


def _counted(name: str, coroutine: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(coroutine)
    async def run(ctx: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        try:
            result = await coroutine(ctx, *args, **kwargs)
        except (Retry, RetryJob, asyncio.CancelledError):
            await count(ctx, name, "retried")
            raise
        except Exception:
            await count(ctx, name, "failed")
            raise
        await count(ctx, name, "complete")
        return result

    return run


def instrument(jobs: list[J]) -> list[J]:
    """The same job (or cron job) definitions, each counting its outcomes."""
    return [dataclasses.replace(job, coroutine=_counted(job.name, job.coroutine)) for job in jobs]  # type: ignore[type-var]
