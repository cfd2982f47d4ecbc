"""Liveness (`/health`, no I/O), readiness (`/ready`: database and Redis) and `/metrics`, as a built-in plugin."""

from __future__ import annotations

import asyncio

from litestar import Response, get

from core import __version__, db
from core.contracts import ModuleInfo, Routes
from core.errors import problem_response
from core.plugins import hookimpl
from core.settings import get_settings


@get("/health", summary="Process is alive (no I/O)", exclude_from_auth=True, sync_to_thread=False)
def health() -> dict[str, str]:
    return {"status": "ok"}


async def _redis_ping(url: str) -> None:
    from core.redis_url import open_redis

    async with open_redis(url, socket_connect_timeout=2, socket_timeout=2) as client:
        await client.ping()


@get("/ready", summary="Database and Redis answer", exclude_from_auth=True)
async def ready() -> Response:
    checks: dict[str, str] = {}
    failed = []
    try:
        await asyncio.wait_for(db.ping(), timeout=5)
        checks["database"] = "ok"
    except Exception as exc:  # any failure means not ready
        checks["database"] = f"error: {type(exc).__name__}"
        failed.append("database")
    redis_url = get_settings().redis_url
    if redis_url:
        try:
            await asyncio.wait_for(_redis_ping(redis_url), timeout=5)
            checks["redis"] = "ok"
        except Exception as exc:
            checks["redis"] = f"error: {type(exc).__name__}"
            failed.append("redis")
    if failed:
        return problem_response(503, f"not ready: {', '.join(failed)} did not answer", checks=checks)
    return Response({"status": "ready", "checks": checks})


@hookimpl
def isogov_module():
    return ModuleInfo(name="health", title_vi="Tình trạng hệ thống", title_en="Health", version=__version__,
                      builtin=True)


@hookimpl
def isogov_route_handlers():
    from core.metrics import metrics

    return [Routes(handlers=(health, ready, metrics), under="root")]
