"""Job outcome counters for `GET /metrics`: every worker and the scheduler count each run of a job in one Redis hash
(`core.metrics.jobs_key`), so any API pod can show the cluster's totals without scraping worker pods.

Outcomes follow arq's own counters: `complete` (returned), `retried` (raised `Retry`, or was cancelled and will
run again), `failed` (raised anything else). Counting never fails a job: a Redis error is logged and dropped.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
from typing import Any, Callable, TypeVar

import structlog
from arq.worker import Retry, RetryJob

from core.metrics import jobs_key

log = structlog.get_logger("isogov.worker")
J = TypeVar("J")


async def count(ctx: dict[str, Any], job: str, outcome: str) -> None:
    redis, config = ctx.get("redis"), ctx.get("config")
    if redis is None or config is None:
        return
    try:
        await redis.hincrby(jobs_key(config.queue), f"{job}|{outcome}", 1)
    except Exception as exc:  # metrics must never turn a job's success into a failure
        log.warning("job metrics not recorded", job=job, error=type(exc).__name__)


def _counted(name: str, coroutine: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(coroutine)
    async def run(ctx: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        try:
            result = await coroutine(ctx, *args, **kwargs)
        except (Retry, RetryJob, asyncio.CancelledError):
            await asyncio.shield(count(ctx, name, "retried"))
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
