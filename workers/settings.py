"""Worker and scheduler settings, built from core's jobs and every module's `isogov_jobs` / `isogov_schedules`.

- The **worker** (`isogov worker`, any number of replicas) runs the job functions on the queue `ISOGOV_QUEUE`
  and, in a background task, the outbox relay.
- The **scheduler** (`isogov scheduler`, exactly one) runs the cron jobs on its own queue `<queue>:scheduler`;
  they queue the real work on the main queue, so the workers do it.

Job names: core's are `core:<name>`; a plugin's job is registered under its function's `__name__`, and two
jobs with one name fail start-up. `WorkerSettings` (for arq's own CLI) is built on first access.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import structlog
from arq.cron import CronJob, cron
from arq.worker import Function, Worker, func

from core import db
from core.contracts import Schedule
from core.plugins import PluginError, PluginSystem, get_plugin_system
from core.notifications.states import (DELIVER_IN_APP_JOB, DELIVER_JOB, DIGEST_CRON, SCAN_REMINDERS_CRON,
                                       SCAN_TENANT_JOB, SEND_DIGEST_JOB)
from workers.config import WorkerConfig, get_worker_config
from workers.delivery import deliver, deliver_in_app
from workers.metrics import instrument
from workers.digest import digest_scan, send_digest
from workers.queue import health_check_key, redis_settings
from core.auth.passwords import RESET_JOB
from workers.password_reset import send_password_reset
from workers.reminders import scan_reminders, scan_tenant_reminders

log = structlog.get_logger("isogov.worker")

SCAN_MAX_TRIES = 20  # a tenant's reminder scan goes on over several runs when it is long, and retries errors
ALWAYS_RETRY = 1000  # jobs that count their own attempts in the database: arq must never give up on them first


def core_jobs(config: WorkerConfig) -> list[Function]:
    return [
        func(deliver, name=DELIVER_JOB, max_tries=ALWAYS_RETRY, keep_result=0, timeout=config.job_timeout),
        func(deliver_in_app, name=DELIVER_IN_APP_JOB, max_tries=ALWAYS_RETRY, keep_result=0,
             timeout=config.job_timeout),
        func(send_digest, name=SEND_DIGEST_JOB, max_tries=ALWAYS_RETRY, keep_result=0, timeout=config.job_timeout),
        func(scan_tenant_reminders, name=SCAN_TENANT_JOB, keep_result=3600, max_tries=SCAN_MAX_TRIES),
        func(send_password_reset, name=RESET_JOB, max_tries=5, keep_result=0,
             timeout=config.job_timeout),
    ]


def collect_jobs(config: WorkerConfig, system: PluginSystem | None = None) -> list[Function]:
    system = system or get_plugin_system()
    jobs = core_jobs(config)
    owners = {job.name: "core" for job in jobs}
    for module in system.all_module_names():
        for function in system.modules[module].jobs:
            job = func(function, name=function.__name__)
            if job.name in owners:
                raise PluginError(f"the job {job.name!r} is defined twice: by {owners[job.name]!r} and {module!r}")
            owners[job.name] = module
            jobs.append(job)
    for schedule in system.schedules():
        if schedule.per_tenant:  # the cron entry fans out one job per tenant; this is that job
            jobs.append(func(_per_tenant_runner(schedule), name=f"schedule:{schedule.name}",
                             timeout=config.job_timeout))
    return jobs


def _cron_set(value: Any) -> Any:
    if value is None:
        return None
    return set(value) if isinstance(value, (tuple, list, set)) else {value}


def _per_tenant_runner(schedule: Schedule) -> Any:
    async def run_for_tenant(ctx: dict[str, Any], tenant_code: str) -> Any:
        from core.tenancy.context import system_context
        from core.tenancy.guards import load_tenant

        info = await load_tenant(tenant_code)
        if info is None or info.status != "active":
            return None
        return await schedule.func(system_context(info, f"schedule:{schedule.name}"))

    run_for_tenant.__qualname__ = f"schedule:{schedule.name}"
    return run_for_tenant


def _fan_out(schedule: Schedule) -> Any:
    async def fan_out(ctx: dict[str, Any]) -> int:
        from core.tenancy.guards import tenants_with_module

        config: WorkerConfig = ctx["config"]
        codes = await tenants_with_module(schedule.module)
        tick = ctx.get("job_id") or ""  # arq's cron job id names the minute: a repeated tick queues nothing twice
        for code in codes:
            await ctx["redis"].enqueue_job(f"schedule:{schedule.name}", code, _queue_name=config.queue,
                                           _job_id=f"schedule:{schedule.name}:{code}:{tick}")
        return len(codes)

    return fan_out


def _schedule_cron(schedule: Schedule) -> CronJob:
    async def platform_job(ctx: dict[str, Any]) -> Any:
        return await schedule.func(None)

    return cron(_fan_out(schedule) if schedule.per_tenant else platform_job, name=f"cron:{schedule.name}",
                hour=_cron_set(schedule.hour), minute=_cron_set(schedule.minute), weekday=_cron_set(schedule.weekday),
                day=_cron_set(schedule.day), month=_cron_set(schedule.month), second={0}, unique=True,
                run_at_startup=schedule.run_at_startup)


def core_cron_jobs(config: WorkerConfig) -> list[CronJob]:
    return [
        cron(scan_reminders, name=SCAN_REMINDERS_CRON, hour={config.reminder_hour}, minute={0}, second={0},
             unique=True, timeout=600),
        cron(digest_scan, name=DIGEST_CRON, hour={config.reminder_hour}, minute={30}, second={0},
             unique=True, timeout=600),
    ]


def collect_cron_jobs(config: WorkerConfig, system: PluginSystem | None = None) -> list[CronJob]:
    system = system or get_plugin_system()
    jobs = core_cron_jobs(config)
    owners = {job.name: "core" for job in jobs}
    for schedule in system.schedules():
        job = _schedule_cron(schedule)
        if job.name in owners:
            raise PluginError(f"the schedule {job.name!r} is defined twice: by {owners[job.name]!r} and {schedule.module!r}")
        owners[job.name] = schedule.module
        jobs.append(job)
    return jobs


def _hooks(config: WorkerConfig, *, relay: bool, manage_db: bool, catch_up: bool = False,
           single: bool = False) -> dict[str, Any]:
    async def on_startup(ctx: dict[str, Any]) -> None:
        if single:  # the scheduler: one by a lock in Redis (workers/scheduler_lock.py)
            from workers import scheduler_lock

            token = scheduler_lock.new_token()
            await scheduler_lock.acquire(ctx["redis"], config.queue, token)
            ctx["scheduler_lock"] = token
            ctx["scheduler_lock_task"] = asyncio.create_task(scheduler_lock.keep(ctx["redis"], config.queue, token))
        if manage_db:
            await db.start()
        ctx["config"] = config
        if relay:
            from workers.relay import run_relay

            ctx["relay_stop"] = asyncio.Event()
            ctx["relay_task"] = asyncio.create_task(run_relay(ctx["redis"], config, ctx["relay_stop"]))
        if catch_up and (_past_reminder_hour(config) or config.scan_at_start):
            # the scheduler was down at the hour, or `isogov dev` started it (a new user sees the inbox working
            # at once after `make run`): scan now (a scan already done today is a no-op)
            await scan_reminders(ctx)

    async def on_shutdown(ctx: dict[str, Any]) -> None:
        from workers.channels.in_app import inbox_writer
        from workers.metrics import flush as flush_job_counts

        lock_task = ctx.pop("scheduler_lock_task", None)
        if lock_task is not None:
            from workers import scheduler_lock

            lock_task.cancel()
            await scheduler_lock.release(ctx["redis"], config.queue, ctx.pop("scheduler_lock"))
        await inbox_writer().close()
        await flush_job_counts(ctx["redis"])
        task = ctx.pop("relay_task", None)
        if task is not None:
            ctx["relay_stop"].set()
            try:
                await asyncio.wait_for(task, timeout=10)
            except (asyncio.TimeoutError, asyncio.CancelledError):
                task.cancel()
        if manage_db:
            await db.stop()

    async def on_job_start(ctx: dict[str, Any]) -> None:
        structlog.contextvars.bind_contextvars(job_id=ctx.get("job_id"), job_try=ctx.get("job_try"))

    async def on_job_end(ctx: dict[str, Any]) -> None:
        structlog.contextvars.unbind_contextvars("job_id", "job_try")

    return {"on_startup": on_startup, "on_shutdown": on_shutdown, "on_job_start": on_job_start,
            "on_job_end": on_job_end}


def _past_reminder_hour(config: WorkerConfig) -> bool:
    from datetime import datetime

    return datetime.now(config.timezone).hour >= config.reminder_hour


def worker_settings(config: WorkerConfig | None = None, *, relay: bool = True, manage_db: bool = True,
                    **overrides: Any) -> dict[str, Any]:
    """Keyword arguments of `arq.worker.Worker` for a worker; `overrides` win (tests: burst, redis_pool, ...)."""
    config = config or get_worker_config()
    settings: dict[str, Any] = {
        "functions": instrument(collect_jobs(config)),  # outcomes counted for GET /metrics
        "queue_name": config.queue,
        "max_jobs": config.max_jobs,
        "poll_delay": config.poll_delay,
        "job_timeout": config.job_timeout,
        "max_tries": 5,
        **_hooks(config, relay=relay, manage_db=manage_db),
    }
    return _complete(settings, config, overrides)


def scheduler_settings(config: WorkerConfig | None = None, *, manage_db: bool = True,
                       **overrides: Any) -> dict[str, Any]:
    """Keyword arguments of `arq.worker.Worker` for the single scheduler process (cron jobs only)."""
    config = config or get_worker_config()
    settings: dict[str, Any] = {
        "functions": [],
        "cron_jobs": instrument(collect_cron_jobs(config)),
        "queue_name": config.scheduler_queue,
        "max_jobs": 4,
        "poll_delay": 0.5,
        "job_timeout": 600,
        **_hooks(config, relay=False, manage_db=manage_db, catch_up=True, single=True),
    }
    return _complete(settings, config, overrides)


def _complete(settings: dict[str, Any], config: WorkerConfig, overrides: dict[str, Any]) -> dict[str, Any]:
    """What every process of ours shares: results kept an hour, health checks, the zone, the config in ctx,
    the Redis connection (unless a test passes its own pool); `overrides` win."""
    settings = {"keep_result": 3600, "health_check_interval": 60, "timezone": config.timezone,
                "ctx": {"config": config}, **settings}
    settings["health_check_key"] = health_check_key(settings["queue_name"])
    if "redis_pool" not in overrides:
        settings["redis_settings"] = redis_settings(config)
    settings.update(overrides)
    return settings


def make_worker(**kwargs: Any) -> Worker:
    return Worker(**worker_settings(**kwargs))


def make_scheduler(**kwargs: Any) -> Worker:
    return Worker(**scheduler_settings(**kwargs))


def quiet_arq_job_lines(level: int = logging.WARNING) -> None:
    """arq logs a line per job at INFO; at high volume keep only its warnings."""
    logging.getLogger("arq.worker").setLevel(level)
    logging.getLogger("arq.jobs").setLevel(level)


def __getattr__(name: str) -> Any:
    if name in {"WorkerSettings", "SchedulerSettings"}:  # for `arq workers.settings.WorkerSettings`
        return type(name, (), worker_settings() if name == "WorkerSettings" else scheduler_settings())
    raise AttributeError(name)
