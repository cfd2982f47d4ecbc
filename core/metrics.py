"""Prometheus metrics: `GET /metrics` in the text exposition format.

What the API process counts itself (one uvicorn process per pod, so an in-process registry is exact):

    isogov_http_requests_total{method,route,status}      route is the template (`/api/v1/tenants/{tenant_code}/...`)
    isogov_http_request_duration_seconds{method,route}   histogram

What each scrape reads (cheap, bounded by a timeout; a source that does not answer is reported as
`isogov_metrics_source_up{source} 0` instead of failing the scrape):

    isogov_db_pool_connections{state}                  in_use, idle, max of this process's PostgreSQL pool
    isogov_jobs_queued{queue}                          jobs waiting in the arq queues (main and scheduler)
    isogov_jobs_total{job,outcome}                     complete, failed, retried: counted by every worker in
                                                       Redis (`workers/metrics.py`), so the totals of the cluster
    isogov_notification_deliveries{channel,status}     deliveries by state: sent, failed, pending, skipped
    isogov_outbox_backlog                              outbox rows not relayed to the queue yet

Every API pod shows the same cluster-wide job, delivery and outbox figures: aggregate them with `max`, not `sum`.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any, Iterable

from litestar import Response, get
from prometheus_client import (CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, disable_created_metrics,
                               generate_latest)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from core.settings import get_settings

disable_created_metrics()  # no `_created` twin of every counter: Prometheus does not need it
REGISTRY = CollectorRegistry(auto_describe=True)
HTTP_REQUESTS = Counter("isogov_http_requests", "HTTP requests answered, by route template and status",
                        ["method", "route", "status"], registry=REGISTRY)
HTTP_LATENCY = Histogram("isogov_http_request_duration_seconds", "Time to answer an HTTP request, by route template",
                         ["method", "route"], registry=REGISTRY,
                         buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0))
SCRAPE_TIMEOUT = 5.0
JOB_OUTCOMES = ("complete", "failed", "retried")


def queue_name() -> str:
    """The arq queue name (`ISOGOV_QUEUE`, as `workers/config.py` reads it)."""
    return os.environ.get("ISOGOV_QUEUE", "").strip() or "isogov"


def jobs_key(queue: str) -> str:
    """The Redis hash where workers count job outcomes: field `<job>|<outcome>`, value a count."""
    return f"{queue}:metrics:jobs"


_CHILDREN: dict[tuple[str, str, int], tuple[Any, Any]] = {}  # (method, route, status) -> labelled series


def observe_request(method: str, route: str, status: int, seconds: float) -> None:
    """Count one answered request by its route template (never the raw path: ids would explode the series).
    Called by core's request middleware (core.logging.request_middleware), outermost, so refused requests count."""
    key = (method, route, status)
    children = _CHILDREN.get(key)
    if children is None:  # the labelled series once per (method, route, status): labels() costs a lock and checks
        children = (HTTP_REQUESTS.labels(method, route, str(status)), HTTP_LATENCY.labels(method, route))
        if len(_CHILDREN) < 10_000:
            _CHILDREN[key] = children
    children[0].inc()
    children[1].observe(seconds)


async def _redis_figures(url: str, queue: str) -> dict[str, Any]:
    from core.redis_url import open_redis

    async with open_redis(url, socket_connect_timeout=2, socket_timeout=2, decode_responses=True) as client:
        queued = {name: await client.zcard(name) for name in (queue, f"{queue}:scheduler")}
        counts = await client.hgetall(jobs_key(queue))
    jobs = {}
    for field, value in counts.items():
        job, _, outcome = field.rpartition("|")
        jobs[(job, outcome)] = int(value)
    return {"queued": queued, "jobs": jobs}


async def _database_figures() -> dict[str, Any]:
    from piccolo.query.functions.aggregate import Count

    from core.notifications.tables import NotificationDelivery, OutboxMessage
    from core.tenancy import unscoped

    with unscoped():  # platform figures across every tenant: counts only, no tenant's data leaves
        rows = await NotificationDelivery.select(
            NotificationDelivery.channel, NotificationDelivery.status, Count(alias="n"),
        ).group_by(NotificationDelivery.channel, NotificationDelivery.status)
        backlog = await OutboxMessage.count().where(OutboxMessage.relayed_at.is_null())
    return {"deliveries": {(r["channel"], r["status"]): r["n"] for r in rows}, "backlog": backlog}


def _pool_figures() -> dict[str, int] | None:
    from piccolo.engine.postgres import PostgresEngine

    from core import db

    engine = db.engine()
    pool = getattr(engine, "pool", None) if isinstance(engine, PostgresEngine) else None
    if pool is None:
        return None
    size, idle = pool.get_size(), pool.get_idle_size()
    return {"in_use": size - idle, "idle": idle, "max": pool.get_max_size()}


class _Snapshot:
    """A collector over figures read once per scrape."""

    def __init__(self, figures: dict[str, Any], up: dict[str, int]) -> None:
        self.figures, self.up = figures, up

    def collect(self) -> Iterable[Metric]:
        up = GaugeMetricFamily("isogov_metrics_source_up", "1 when a source of the figures answered this scrape",
                               labels=["source"])
        for source, value in sorted(self.up.items()):
            up.add_metric([source], value)
        yield up
        pool = self.figures.get("pool")
        if pool is not None:
            family = GaugeMetricFamily("isogov_db_pool_connections", "PostgreSQL pool of this process",
                                       labels=["state"])
            for state, value in pool.items():
                family.add_metric([state], value)
            yield family
        redis = self.figures.get("redis")
        if redis is not None:
            queued = GaugeMetricFamily("isogov_jobs_queued", "Jobs waiting in an arq queue (deferred retries too)",
                                       labels=["queue"])
            for name, value in sorted(redis["queued"].items()):
                queued.add_metric([name], value)
            yield queued
            jobs = CounterMetricFamily("isogov_jobs", "Job runs by outcome (complete, failed, retried), every worker",
                                       labels=["job", "outcome"])
            for (job, outcome), value in sorted(redis["jobs"].items()):
                jobs.add_metric([job, outcome], value)
            yield jobs
        database = self.figures.get("database")
        if database is not None:
            deliveries = GaugeMetricFamily("isogov_notification_deliveries", "Notification deliveries by channel and state",
                                           labels=["channel", "status"])
            for (channel, status), value in sorted(database["deliveries"].items()):
                deliveries.add_metric([channel, status], value)
            yield deliveries
            yield GaugeMetricFamily("isogov_outbox_backlog", "Outbox rows not relayed to the queue yet",
                                    value=database["backlog"])


async def snapshot() -> _Snapshot:
    figures: dict[str, Any] = {"pool": _pool_figures()}
    up: dict[str, int] = {}
    try:
        figures["database"] = await asyncio.wait_for(_database_figures(), SCRAPE_TIMEOUT)
        up["database"] = 1
    except Exception:  # a scrape reports what it could read; /ready tells whether the database answers
        up["database"] = 0
    redis_url = get_settings().redis_url
    if redis_url:
        try:
            figures["redis"] = await asyncio.wait_for(_redis_figures(redis_url, queue_name()), SCRAPE_TIMEOUT)
            up["redis"] = 1
        except Exception:
            up["redis"] = 0
    return _Snapshot(figures, up)


@get("/metrics", summary="Prometheus metrics (text exposition format)", exclude_from_auth=True,
     include_in_schema=False)
async def metrics() -> Response:
    scrape = CollectorRegistry(auto_describe=False)
    scrape.register(await snapshot())  # type: ignore[arg-type]
    body = generate_latest(REGISTRY) + generate_latest(scrape)
    return Response(body, media_type=CONTENT_TYPE_LATEST)
