"""WorkerSettings from plugin hooks, the scheduler's cron jobs, configuration, plugin jobs through the outbox."""

from __future__ import annotations

import uuid

import pytest
from arq.jobs import Job

from core.contracts import ModuleInfo
from core.plugins import hookimpl
from core.plugins import PluginError, build_plugin_system
from core.settings import ConfigurationError
from workers.config import load_worker_config
from workers.settings import collect_cron_jobs, collect_jobs, scheduler_settings, worker_settings


def test_worker_settings_collect_core_and_plugin_jobs(wconfig):
    settings = worker_settings(wconfig)
    names = {f.name for f in settings["functions"]}
    assert {"core:deliver", "core:send_digest", "core:scan_tenant_reminders", "example_job"} <= names
    assert settings["queue_name"] == wconfig.queue
    assert settings["max_jobs"] == wconfig.max_jobs and settings["poll_delay"] == wconfig.poll_delay
    deliver = next(f for f in settings["functions"] if f.name == "core:deliver")
    assert deliver.max_tries >= 100 and deliver.keep_result_s == 0  # attempts are counted in the database
    assert "cron_jobs" not in settings  # workers run no cron: the scheduler does, once

    sched = scheduler_settings(wconfig.with_(reminder_hour=6))
    assert sched["queue_name"] == f"{wconfig.queue}:scheduler" and sched["functions"] == []
    crons = {c.name: c for c in sched["cron_jobs"]}
    assert crons["core:scan_reminders"].hour == {6} and crons["core:scan_reminders"].minute == {0}
    assert crons["core:digest"].hour == {6} and crons["core:digest"].minute == {30}
    assert all(c.unique for c in crons.values())


class _JobsA:
    @hookimpl
    def isogov_module(self):
        return ModuleInfo(name="a", title_vi="A", title_en="A", version="1")

    @hookimpl
    def isogov_jobs(self):
        async def recompute(ctx):
            return 1
        return [recompute]

    @hookimpl
    def isogov_schedules(self):
        return ["not a schedule"]


class _JobsB:
    @hookimpl
    def isogov_module(self):
        return ModuleInfo(name="b", title_vi="B", title_en="B", version="1")

    @hookimpl
    def isogov_jobs(self):
        async def recompute(ctx):
            return 2
        return [recompute]


def test_two_jobs_with_one_name_or_a_bad_schedule_fail_start_up(wconfig):
    with pytest.raises(PluginError, match="job 'recompute' is defined twice: by 'b' and 'a'"):
        build_plugin_system(plugins=[_JobsB(), _JobsBTwin()])
    with pytest.raises(PluginError, match="isogov_schedules must return core.contracts.Schedule"):
        build_plugin_system(plugins=[_JobsA()])


class _JobsBTwin(_JobsB):
    @hookimpl
    def isogov_module(self):
        return ModuleInfo(name="a", title_vi="A", title_en="A", version="1")


async def test_a_per_tenant_schedule_runs_once_for_each_tenant_with_the_module(wconfig, redis, make_tenant, client):
    from arq.jobs import Job

    from tests.workers.conftest import run_worker

    on = [await make_tenant(modules=["example"]) for _ in range(2)]
    off = await make_tenant(modules=[])
    for n, t in enumerate(on):
        for i in range(n + 1):
            await client.post(t.url("/example/notes"), headers=t.headers(),
                              json={"agency_id": str(t.agencies["D1"]), "title": f"note {i}"})
    cron_job = {c.name: c for c in collect_cron_jobs(wconfig)}["cron:example_nightly"]
    assert (cron_job.hour, cron_job.minute) == ({1}, {15})
    assert "schedule:example_nightly" in {f.name for f in collect_jobs(wconfig)}
    tick = {"redis": redis, "config": wconfig, "job_id": f"cron:example_nightly:{uuid.uuid4().hex}"}
    queued = await cron_job.coroutine(tick)
    assert queued >= 2
    assert await cron_job.coroutine(tick) == queued  # the same tick again queues nothing new (same job ids)
    await run_worker(redis, wconfig)
    results = {}
    for t in on + [off]:
        job = Job(f"schedule:example_nightly:{t.code}:{tick['job_id']}", redis, _queue_name=wconfig.queue)
        info = await job.result_info()
        results[t.code] = info.result if info else None
    assert results == {on[0].code: 1, on[1].code: 2, off.code: None}


def test_configuration_from_the_environment(monkeypatch):
    monkeypatch.setenv("ISOGOV_QUEUE", "q1")
    monkeypatch.setenv("ISOGOV_SMTP_HOST", "mail.example.gov.vn")
    monkeypatch.setenv("ISOGOV_SMTP_PORT", "465")
    monkeypatch.setenv("ISOGOV_SMTP_STARTTLS", "0")
    monkeypatch.setenv("ISOGOV_REMINDER_HOUR", "6")
    config = load_worker_config()
    assert (config.queue, config.smtp_host, config.smtp_port, config.smtp_starttls, config.reminder_hour) == (
        "q1", "mail.example.gov.vn", 465, False, 6)
    assert config.scheduler_queue == "q1:scheduler"
    assert [config.with_(backoff_seconds=30).backoff(n) for n in (1, 2, 3, 10, 20)] == [30, 60, 120, 3600, 3600]
    for name, value, message in (("ISOGOV_REMINDER_HOUR", "25", "between 0 and 23"),
                                 ("ISOGOV_SMTP_PORT", "smtp", "whole number"),
                                 ("ISOGOV_SMTP_STARTTLS", "maybe", "1 or 0"),
                                 ("ISOGOV_TIMEZONE", "Mars/Olympus", "time zone")):
        with monkeypatch.context() as m:
            m.setenv(name, value)
            with pytest.raises(ConfigurationError, match=message):
                load_worker_config()
    monkeypatch.setenv("REDIS_URL", "")
    from core.settings import reset_settings
    from workers.queue import redis_settings

    reset_settings()
    try:
        with pytest.raises(ConfigurationError, match="REDIS_URL"):
            redis_settings(load_worker_config())
    finally:
        monkeypatch.undo()
        reset_settings()


async def test_plugin_job_queued_through_the_outbox_runs_once_after_commit(make_tenant, redis, wconfig):
    from core.db import transaction
    from core.notifications.outbox import enqueue
    from tests.workers.conftest import drain

    t = await make_tenant(modules=["example"])
    ctx = await t.ctx()

    class Boom(Exception):
        pass

    with pytest.raises(Boom):
        async with transaction():
            await enqueue(ctx, "example_job", key="rolled-back", note_id="never")
            raise Boom()
    async with transaction():
        job_id = await enqueue(ctx, "example_job", key="n1", note_id="n1")
        assert await enqueue(ctx, "example_job", key="n1", note_id="n1") == job_id
    assert job_id == f"example_job:{t.id}:n1"
    await drain(redis, wconfig)
    info = await Job(job_id, redis).result_info()
    assert info is not None and info.success and info.result == "n1"
    assert await Job(f"example_job:{t.id}:rolled-back", redis).result_info() is None
    await redis.delete(f"arq:result:{job_id}")


async def test_a_plugin_job_queued_again_after_the_last_one_finished_runs_again(make_tenant, redis, wconfig):
    """A finished job's kept result must not swallow the next outbox row with the same key (e.g. a second change
    of the same plan an hour later must recompute again)."""
    from core.db import transaction
    from core.notifications.outbox import enqueue
    from tests.workers.conftest import drain

    t = await make_tenant(modules=["example"])
    ctx = await t.ctx()
    async with transaction():
        job_id = await enqueue(ctx, "example_job", key="again", note_id="first")
    await drain(redis, wconfig)
    info = await Job(job_id, redis).result_info()
    assert info is not None and info.result == "first"

    async with transaction():
        assert await enqueue(ctx, "example_job", key="again", note_id="second") == job_id
    await drain(redis, wconfig)
    info = await Job(job_id, redis).result_info()
    assert info is not None and info.result == "second"  # the second change's job ran too
    await redis.delete(f"arq:result:{job_id}")


async def test_the_outbox_refuses_keyword_arguments_the_queue_takes_for_its_own(make_tenant, redis, wconfig):
    """`enqueue(ctx, job, key=..., **kwargs)` hands kwargs to arq's `enqueue_job`, whose own parameters are
    `function` and `_job_id`, `_defer_by`, ...: such a row would make every relay batch that holds it fail (so
    nothing behind it is ever relayed) or change how the job is queued. It is refused when written."""
    from core.db import transaction
    from core.notifications.tables import OutboxMessage
    from core.notifications.outbox import enqueue
    from core.tenancy import unscoped
    from tests.workers.conftest import drain

    t = await make_tenant(modules=["example"])
    ctx = await t.ctx()
    for bad in ({"_job_id": "other"}, {"_queue_name": "elsewhere"}, {"_defer_by": 3600}, {"function": "f"}):
        with pytest.raises(ValueError, match=next(iter(bad))):
            async with transaction():
                await enqueue(ctx, "example_job", key="poison", note_id="x", **bad)
    with unscoped():
        assert await OutboxMessage.count().where(OutboxMessage.tenant_id == t.id) == 0
    await drain(redis, wconfig)


async def test_a_plugin_job_asked_for_while_it_runs_runs_again_afterwards(make_tenant, redis, wconfig):
    """A job running when the next change commits may have read the state before it: the new outbox row waits
    until that run is over, then queues the job again (else the second change would never be processed)."""
    from core.db import transaction
    from core.notifications.tables import OutboxMessage
    from core.notifications.outbox import enqueue
    from core.tenancy import unscoped
    from tests.workers.conftest import drain, run_worker
    from workers.relay import relay_once

    await drain(redis, wconfig)
    t = await make_tenant(modules=["example"])
    ctx = await t.ctx()
    async with transaction():
        job_id = await enqueue(ctx, "example_job", key="busy", note_id="first")
    assert await relay_once(redis, wconfig) == 1
    lease = f"arq:in-progress:{job_id}"
    await redis.set(lease, b"1", px=60_000)  # a worker holds the job: it runs now
    async with transaction():
        await enqueue(ctx, "example_job", key="busy", note_id="second")
    await relay_once(redis, wconfig)
    with unscoped():  # not taken by the running job
        assert await OutboxMessage.count().where(
            (OutboxMessage.tenant_id == t.id) & OutboxMessage.relayed_at.is_null()) == 1

    await redis.delete(lease)  # the run is over
    await run_worker(redis, wconfig)
    assert (await Job(job_id, redis).result_info()).result == "first"
    await drain(redis, wconfig)
    assert (await Job(job_id, redis).result_info()).result == "second"
    await redis.delete(f"arq:result:{job_id}")
