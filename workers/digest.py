"""The daily digest: one mail per user gathering the notifications they chose to receive "by digest".

`notify` writes such email deliveries with status `digest` (and no outbox row). The cron job `core:digest`
(30 minutes after the reminder scan, so the day's reminders are in it) queues one `core:send_digest` job per
user who has some waiting; the job sends one mail and marks exactly the deliveries it listed sent. A second run
finds nothing waiting and sends nothing. Failures are retried with backoff and, after the last attempt, the
deliveries are marked failed like any other.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timezone
from typing import Any

import structlog
from arq.worker import Retry

from core.notifications.tables import Notification, NotificationDelivery
from core.tenancy.tables import Tenant
from core.users.tables import User
from core.tenancy import unscoped
from core.notifications.states import DIGEST, SEND_DIGEST_JOB, SENT
from workers.channels import PermanentFailure
from workers.channels.email import absolute, build_message, send_message
from workers.config import WorkerConfig
from workers.db import write_transaction
from workers.delivery import record_failure
from workers.reminders import today

log = structlog.get_logger("isogov.digest")

MAX_ITEMS = 200


async def waiting_recipients() -> list[dict[str, Any]]:
    """(tenant_id, user_id) of every user with digest deliveries waiting."""
    with unscoped():
        return await NotificationDelivery.select(NotificationDelivery.tenant_id, NotificationDelivery.user_id) \
            .where(NotificationDelivery.status == DIGEST).distinct()


def compose(notes: list[dict[str, Any]], config: WorkerConfig) -> str:
    lines = [f"Bạn có {len(notes)} thông báo mới:", ""]
    for i, note in enumerate(notes, 1):
        lines.append(f"{i}. {note['title']}")
        if note["body"]:
            lines.append(f"   {note['body']}")
        link = absolute(note["link"], config)
        if link:
            lines.append(f"   {link}")
    return "\n".join(lines)


async def send_digest_for(tenant_id: uuid.UUID | str, user_id: uuid.UUID | str, config: WorkerConfig) -> int:
    """Send one user's digest now; returns how many notifications it listed (0: nothing was waiting)."""
    tenant_id, user_id = uuid.UUID(str(tenant_id)), uuid.UUID(str(user_id))
    with unscoped():
        rows = await NotificationDelivery.select(NotificationDelivery.id, NotificationDelivery.notification_id) \
            .where((NotificationDelivery.tenant_id == tenant_id) & (NotificationDelivery.user_id == user_id)
                   & (NotificationDelivery.status == DIGEST)) \
            .order_by(NotificationDelivery.created_at).limit(MAX_ITEMS)
        if not rows:
            return 0
        ids = [r["id"] for r in rows]
        user = await User.select(User.email, User.full_name, User.active).where(
            (User.id == user_id) & (User.tenant_id == tenant_id)).first()
        if user is None or not user["active"]:
            async with write_transaction():
                await NotificationDelivery.update({
                    NotificationDelivery.status: "skipped",
                    NotificationDelivery.last_error: "the recipient is no longer active",
                }).where(NotificationDelivery.id.is_in(ids) & (NotificationDelivery.status == DIGEST))
            return 0
        notes = await Notification.select(Notification.id, Notification.title, Notification.body,
                                          Notification.link, Notification.created_at).where(
            Notification.id.is_in([r["notification_id"] for r in rows]) & (Notification.tenant_id == tenant_id)) \
            .order_by(Notification.created_at)
    tenant = await Tenant.select(Tenant.name).where(Tenant.id == tenant_id).first()
    tenant_name = tenant["name"] if tenant else ""
    message = build_message(config, to=user["email"], to_name=user["full_name"],
                            subject=f"Tóm tắt thông báo ngày {today(config):%d/%m/%Y} ({len(notes)})",
                            text=compose(notes, config), tenant_name=tenant_name)
    try:
        await send_message(message, config)
    except Exception as exc:
        outcome, delay = await record_failure(ids, f"{type(exc).__name__}: {exc}", config, from_status="digest",
                                              permanent=isinstance(exc, PermanentFailure))
        if outcome == "failed":
            log.error("digest failed after the last attempt", user_id=str(user_id), error=str(exc))
            return 0
        log.warning("digest attempt failed; will retry", user_id=str(user_id), error=str(exc), in_s=delay)
        raise Retry(defer=delay) from exc
    now = datetime.now(timezone.utc)
    async with write_transaction():
        with unscoped():
            await NotificationDelivery.update({
                NotificationDelivery.status: SENT, NotificationDelivery.sent_at: now,
                NotificationDelivery.updated_at: now,
                NotificationDelivery.attempts: NotificationDelivery.attempts + 1,
            }).where(NotificationDelivery.id.is_in(ids) & (NotificationDelivery.status == DIGEST))
    log.info("digest sent", user_id=str(user_id), items=len(notes))
    return len(notes)


async def digest_scan(ctx: dict[str, Any]) -> int:
    """Cron job `core:digest`: queue one digest job per user with waiting items; returns how many."""
    config: WorkerConfig = ctx["config"]
    day = today(config).isoformat()
    pairs = await waiting_recipients()
    for pair in pairs:
        await ctx["redis"].enqueue_job(SEND_DIGEST_JOB, str(pair["tenant_id"]), str(pair["user_id"]),
                                       _job_id=f"digest:{pair['user_id']}:{day}", _queue_name=config.queue)
    return len(pairs)


async def send_digest(ctx: dict[str, Any], tenant_id: str, user_id: str) -> int:
    """Job `core:send_digest`, job id `digest:<user_id>:<day>`: one mail per MAX_ITEMS waiting notifications."""
    total = 0
    while True:
        count = await send_digest_for(tenant_id, user_id, ctx["config"])
        total += count
        if count < MAX_ITEMS:
            return total
