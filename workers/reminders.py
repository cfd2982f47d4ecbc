"""The daily reminder scan: what is due or overdue in each tenant, told once per item per day.

The scheduler's cron job `core:scan_reminders` queues one `core:scan_tenant_reminders` job per active tenant.
That job asks the tenant's *enabled* modules (hook `isogov_reminders`, one plugin at a time, a failing plugin
skipped) and notifies each reminder's audience with the dedup key `reminder:<module>:<day>:<key>`: the unique
key in the database makes a second scan of the same day (a re-run, a second scheduler, a retried job) a no-op.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import structlog
from arq.worker import Retry

from core.contracts import TENANT_ROLES, Reminder
from core.errors import ProblemError
from core.notifications.notify import notify
from core.plugins import get_plugin_system
from core.tenancy.tables import Tenant
from core.tenancy.context import system_context
from core.tenancy.guards import enabled_modules
from core.tenancy import TenantInfo
from core.notifications.states import SCAN_TENANT_JOB
from workers.config import WorkerConfig
from workers.db import write_transaction

log = structlog.get_logger("isogov.reminders")



@dataclass
class ScanResult:
    sent: int = 0
    repeated: int = 0
    failed: int = 0
    transient: int = 0  # of the failed, those that may succeed on another try (not refused as invalid)


def today(config: WorkerConfig) -> date:
    return datetime.now(config.timezone).date()


def _segment(text: str) -> str:
    return re.sub(r"[^a-z0-9_]+", "_", text.lower()).strip("_") or "item"


def reminder_kind(module: str, reminder: Reminder) -> str:
    return f"reminder.{_segment(module)}.{_segment(reminder.kind)}"


def reminder_dedup_key(module: str, day: date, reminder: Reminder) -> str:
    key = reminder.key if len(reminder.key) <= 200 else hashlib.sha256(reminder.key.encode()).hexdigest()
    return f"reminder:{module}:{day.isoformat()}:{key}"


def _body(reminder: Reminder) -> str:
    when = reminder.due_on.strftime("%d/%m/%Y")
    return f"Quá hạn từ ngày {when}." if reminder.status == "overdue" else f"Đến hạn ngày {when}."


async def scan_tenant(tenant_code: str, day: date) -> ScanResult:
    """Collect one tenant's reminders for `day` and notify each audience once; returns what happened."""
    row = await Tenant.select().where(Tenant.code == tenant_code).first()
    result = ScanResult()
    if row is None or row["status"] != "active":
        return result
    ctx = system_context(TenantInfo(id=row["id"], code=row["code"], name=row["name"], status=row["status"]),
                         "reminders")
    answers = await get_plugin_system().reminders(ctx, day, await enabled_modules(row["id"]))
    for module, reminders in answers:
        for reminder in reminders or []:
            if not isinstance(reminder, Reminder):
                log.error("a reminders hook returned something that is not a Reminder; skipped", module=module)
                result.failed += 1
                continue
            audience = [r for r in reminder.audience if r in TENANT_ROLES]
            if reminder.agency_id is None:  # agency officers are told only about their own agency
                audience = [r for r in audience if r != "agency_officer"]
            try:
                async with write_transaction():
                    notification_id = await notify(
                        ctx, kind=reminder_kind(module, reminder), title=reminder.title, body=_body(reminder),
                        recipients=audience, agency_id=reminder.agency_id, link=reminder.link,
                        dedup_key=reminder_dedup_key(module, day, reminder),
                    )
            except Exception as exc:
                log.exception("reminder could not be notified; skipped", module=module, key=reminder.key)
                result.failed += 1
                if not isinstance(exc, ProblemError):  # e.g. the database; an invalid reminder stays invalid
                    result.transient += 1
                continue
            if notification_id is None:
                result.repeated += 1
            else:
                result.sent += 1
    log.info("reminders scanned", tenant=tenant_code, day=day.isoformat(), sent=result.sent,
             repeated=result.repeated, failed=result.failed)
    return result


async def active_tenants() -> list[dict[str, Any]]:
    return await Tenant.select(Tenant.id, Tenant.code).where(Tenant.status == "active").order_by(Tenant.code)


async def scan_reminders(ctx: dict[str, Any]) -> int:
    """Cron job `core:scan_reminders`: queue one scan per active tenant for today; returns how many."""
    config: WorkerConfig = ctx["config"]
    day = today(config)
    tenants = await active_tenants()
    for tenant in tenants:
        await ctx["redis"].enqueue_job(SCAN_TENANT_JOB, tenant["code"], day.isoformat(),
                                       _job_id=f"reminders:{tenant['id']}:{day.isoformat()}",
                                       _queue_name=config.queue)
    return len(tenants)


async def scan_tenant_reminders(ctx: dict[str, Any], tenant_code: str, day: str) -> dict[str, int]:
    """Job `core:scan_tenant_reminders`: one tenant's scan for one day (ISO date).

    A scan that failed, or could not notify some reminder for a reason that may pass (the database), is run
    again with backoff; one that ran out of time goes on at once (up to the job's max_tries): the dedup keys make what it already sent a no-op, and the
    reminders it missed are not skipped for the day."""
    config: WorkerConfig = ctx["config"]
    defer = config.backoff(int(ctx.get("job_try") or 1))
    # arq cancels a job at its timeout and does not run it again: stop a little before and go on in the next run
    budget = max(config.job_timeout - 5.0, config.job_timeout * 0.8)
    try:
        async with asyncio.timeout(budget):
            result = await scan_tenant(tenant_code, date.fromisoformat(day))
    except TimeoutError as exc:
        log.warning("reminder scan took longer than its budget; going on in the next run", tenant=tenant_code,
                    day=day, budget_s=budget)
        raise Retry(defer=0) from exc
    except Exception as exc:
        log.exception("reminder scan failed; will retry", tenant=tenant_code, day=day, in_s=defer)
        raise Retry(defer=defer) from exc
    if result.transient:
        log.warning("some reminders could not be notified; scanning again", tenant=tenant_code, day=day,
                    failed=result.transient, in_s=defer)
        raise Retry(defer=defer)
    return {"sent": result.sent, "repeated": result.repeated, "failed": result.failed}
