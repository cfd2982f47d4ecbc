"""GET /metrics after real requests and real jobs run by a real arq worker: every series the operators graph."""

from __future__ import annotations

import os
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from core.notifications.notify import notify
from core.settings import get_settings, reset_settings
from tests.workers.conftest import drain, free_port, run_worker


async def scrape(client: Any) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    r = await client.get("/metrics")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(r.text) for s in family.samples}


def value(samples: dict, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def names(samples: dict) -> set[str]:
    return {name for name, _ in samples}


async def test_http_series_use_route_templates_and_statuses(client: Any, make_tenant: Any) -> None:
    t = await make_tenant()
    other = await make_tenant()
    route = "/api/v1/tenants/{tenant_code}/agencies/{agency_id}"
    before = await scrape(client)
    assert (await client.get(t.url(f"/agencies/{t.agencies['D1']}"), headers=t.headers("viewer"))).status_code == 200
    assert (await client.get(t.url(f"/agencies/{other.agencies['D1']}"), headers=t.headers("viewer"))).status_code == 404
    assert (await client.get(t.url(f"/agencies/{t.agencies['D2']}"))).status_code == 401
    after = await scrape(client)

    templates = {dict(labels).get("route") for name, labels in after if name == "isogov_http_requests_total"}
    assert route in templates, templates
    assert not [r for r in templates if r and (t.code in r or str(t.agencies["D1"]) in r)]  # never a raw path
    for status in ("200", "404", "401"):
        grown = (value(after, "isogov_http_requests_total", method="GET", route=route, status=status)
                 - value(before, "isogov_http_requests_total", method="GET", route=route, status=status))
        assert grown == 1, status
    count = "isogov_http_request_duration_seconds_count"
    assert value(after, count, method="GET", route=route) - value(before, count, method="GET", route=route) == 3
    assert value(after, "isogov_http_request_duration_seconds_bucket", method="GET", route=route, le="+Inf") >= 3
    assert not [name for name in names(after) if name.endswith("_created")]


async def test_database_pool_and_sources(client: Any) -> None:
    samples = await scrape(client)
    assert value(samples, "isogov_metrics_source_up", source="database") == 1
    assert value(samples, "isogov_metrics_source_up", source="redis") == 1
    if get_settings().is_sqlite:  # no pool to report on the embedded database
        assert "isogov_db_pool_connections" not in names(samples)
    else:
        assert value(samples, "isogov_db_pool_connections", state="max") == int(os.environ.get("ISOGOV_DB_POOL_SIZE", "10"))
        in_use, idle = (value(samples, "isogov_db_pool_connections", state=s) for s in ("in_use", "idle"))
        assert in_use + idle >= 1 and in_use <= value(samples, "isogov_db_pool_connections", state="max")


async def test_jobs_deliveries_and_outbox_after_real_jobs(client: Any, make_tenant: Any, redis: Any, wconfig: Any) -> None:
    t = await make_tenant(modules=["example"])
    before = await scrape(client)

    # a notification to one viewer: an in-app and an email delivery, through the outbox
    await notify(await t.ctx(), kind="example.visit", title="Đoàn kiểm tra đến", recipients=["viewer"])
    pending = await scrape(client)
    assert value(pending, "isogov_outbox_backlog") >= 2
    closed = wconfig.with_(smtp_host="127.0.0.1", smtp_port=free_port(), smtp_starttls=False, max_attempts=2,
                           backoff_seconds=0.01)
    await drain(redis, closed)  # the mail server is closed: the email is retried, then marked failed
    after = await scrape(client)

    assert value(after, "isogov_outbox_backlog") == 0
    delta = lambda name, **labels: value(after, name, **labels) - value(before, name, **labels)  # noqa: E731
    # at least ours: the drain also delivers what earlier tests of the session left pending
    assert delta("isogov_notification_deliveries", channel="in_app", status="sent") >= 1
    assert delta("isogov_notification_deliveries", channel="email", status="failed") >= 1
    assert delta("isogov_jobs_total", job="core:deliver", outcome="complete") >= 1  # the email, failed at last
    assert delta("isogov_jobs_total", job="core:deliver_in_app", outcome="complete") >= 1  # the in-app group
    assert delta("isogov_jobs_total", job="core:deliver", outcome="retried") >= 1
    assert value(after, "isogov_jobs_queued", queue=wconfig.queue) == 0

    # a job that raises: queued (seen by the gauge), then run and counted as failed
    job = await redis.enqueue_job("example_job", _queue_name=wconfig.queue)  # its note_id is missing
    assert job is not None
    queued = await scrape(client)
    assert value(queued, "isogov_jobs_queued", queue=wconfig.queue) == 1
    assert value(queued, "isogov_jobs_queued", queue=f"{wconfig.queue}:scheduler") == 0
    await run_worker(redis, wconfig)
    done = await scrape(client)
    assert value(done, "isogov_jobs_total", job="example_job", outcome="failed") - value(
        before, "isogov_jobs_total", job="example_job", outcome="failed") == 1
    assert value(done, "isogov_jobs_queued", queue=wconfig.queue) == 0


async def test_a_source_that_does_not_answer_does_not_fail_the_scrape(client: Any, monkeypatch: Any) -> None:
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:1/0")
    reset_settings()
    try:
        samples = await scrape(client)
    finally:
        monkeypatch.undo()
        reset_settings()
    assert value(samples, "isogov_metrics_source_up", source="redis") == 0
    assert value(samples, "isogov_metrics_source_up", source="database") == 1
    assert "isogov_jobs_queued" not in names(samples) and "isogov_outbox_backlog" in names(samples)
