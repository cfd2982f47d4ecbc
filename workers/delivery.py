"""The delivery job: one notification to one user by one channel, idempotent, retried with backoff.

The job may run more than once (a relay re-sends, a killed worker's job runs again, a lost Redis is refilled by
the sweep): it acts only on a delivery still `pending`. In-app deliveries are written by the process's
`InboxWriter` (inbox item and "sent" in one transaction, grouped with the other jobs' deliveries); email is sent,
then marked sent (at-least-once: a crash between the two sends it again). A failure is retried after
`config.backoff(n)` seconds; after `config.max_attempts` (or at once for a permanent failure) the delivery is
marked `failed`, which tenant admins list and may queue again: never dropped.

`deliver_in_app` is the job of a group of in-app deliveries (the relay's grouping, `workers/relay.py`): each of
them goes through `deliver_one` as above, all at once, so the inbox writer takes them in one statement; each
failure is counted on its own delivery, and when one is to be tried again the job is retried (at the soonest of
their delays), where those already sent are no-ops.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from datetime import datetime, timedelta, timezone
from typing import Any

import structlog
from arq.worker import Retry

from core.notifications.tables import Notification, NotificationDelivery
from core.tenancy.tables import Tenant
from core.users.tables import User
from core.tenancy import unscoped
from core.notifications.states import FAILED, PENDING, SENT
from workers.channels import DeliveryItem, PermanentFailure
from workers.channels.email import send_notification
from workers.channels.in_app import OTHER, inbox_writer
from workers.config import WorkerConfig
from workers.db import write_transaction

log = structlog.get_logger("isogov.delivery")


def _now() -> datetime:
    return datetime.now(timezone.utc)


class Skip(Exception):
    """The delivery can no longer be made (recipient gone or deactivated); it is marked skipped, not retried."""


async def _load_email(delivery_id: uuid.UUID) -> DeliveryItem | None:
    """A pending email delivery with its notification, recipient and tenant; None when there is nothing to do."""
    with unscoped():
        delivery = await NotificationDelivery.select().where(NotificationDelivery.id == delivery_id).first()
        if delivery is None or delivery["status"] != PENDING:
            return None
        if delivery["channel"] != "email":
            raise LookupError(f"no delivery channel named {delivery['channel']!r}")
        tenant_id = delivery["tenant_id"]
        user = await User.select(User.id, User.email, User.full_name, User.active).where(
            (User.id == delivery["user_id"]) & (User.tenant_id == tenant_id)).first()
        if user is None or not user["active"]:
            raise Skip("the recipient is no longer an active user of this tenant")
        note = await Notification.select(
            Notification.id, Notification.kind, Notification.title, Notification.body, Notification.link,
            Notification.created_at,
        ).where((Notification.id == delivery["notification_id"]) & (Notification.tenant_id == tenant_id)).first()
    tenant = await Tenant.select(Tenant.id, Tenant.code, Tenant.name).where(Tenant.id == tenant_id).first()
    if note is None or tenant is None:
        raise Skip("the notification or its tenant no longer exists")
    return DeliveryItem(delivery=delivery, notification=note, user=user, tenant=tenant)


async def _set(delivery_id: uuid.UUID, values: dict[Any, Any], *, from_status: str = PENDING) -> bool:
    values = {**values, NotificationDelivery.updated_at: _now()}
    async with write_transaction():
        with unscoped():
            rows = await NotificationDelivery.update(values).where(
                (NotificationDelivery.id == delivery_id) & (NotificationDelivery.status == from_status)
            ).returning(NotificationDelivery.id)
    return bool(rows)


async def mark_sent(delivery_id: uuid.UUID, *, from_status: str = PENDING) -> bool:
    return await _set(delivery_id, {NotificationDelivery.status: SENT, NotificationDelivery.sent_at: _now(),
                                    NotificationDelivery.attempts: NotificationDelivery.attempts + 1},
                      from_status=from_status)


async def record_failure(delivery_ids: list[uuid.UUID], error: str, config: WorkerConfig, *,
                         from_status: str = PENDING, permanent: bool = False) -> tuple[str, float]:
    """Count one failed attempt; returns ("failed", 0) after the last one (or at once when `permanent`), else
    ("retry", delay in seconds)."""
    error = error[:2000]
    async with write_transaction():
        with unscoped():
            rows = await NotificationDelivery.select(NotificationDelivery.id, NotificationDelivery.attempts).where(
                NotificationDelivery.id.is_in(delivery_ids) & (NotificationDelivery.status == from_status))
        attempts = max((r["attempts"] for r in rows), default=0) + 1
        if permanent or attempts >= config.max_attempts:
            for row in rows:
                await _set(row["id"], {NotificationDelivery.status: FAILED, NotificationDelivery.attempts: attempts,
                                       NotificationDelivery.last_error: error}, from_status=from_status)
            return FAILED, 0.0
        delay = config.backoff(attempts)
        for row in rows:
            await _set(row["id"], {NotificationDelivery.attempts: attempts, NotificationDelivery.last_error: error,
                                   NotificationDelivery.next_attempt_at: _now() + timedelta(seconds=delay)},
                       from_status=from_status)
        return "retry", delay


async def deliver_one(delivery_id: uuid.UUID | str, config: WorkerConfig, channel: str | None = None) -> str:
    """Make one delivery. Returns sent, skipped, failed or noop (nothing pending); raises Retry to try later.

    `channel` is a hint from the job's arguments; without it the delivery row decides.
    """
    delivery_id = uuid.UUID(str(delivery_id))
    try:
        try:
            if channel in (None, "in_app"):
                outcome = await inbox_writer().submit(delivery_id)
                if outcome != OTHER:
                    return outcome
            item = await _load_email(delivery_id)
            if item is None:
                return "noop"
            await send_notification(item, config)
            await mark_sent(delivery_id)
            return "sent"
        except Skip as exc:
            await _set(delivery_id, {NotificationDelivery.status: "skipped", NotificationDelivery.last_error: str(exc)})
            log.warning("delivery skipped", delivery_id=str(delivery_id), reason=str(exc))
            return "skipped"
    except Exception as exc:  # the channel or the database failed: count the attempt, retry or give up
        error = f"{type(exc).__name__}: {exc}"
        try:
            outcome, delay = await record_failure([delivery_id], error, config,
                                                  permanent=isinstance(exc, PermanentFailure))
        except Exception:
            log.exception("could not record a failed delivery; retrying", delivery_id=str(delivery_id))
            raise Retry(defer=config.backoff(1)) from exc
        if outcome == "failed":
            log.error("delivery failed after the last attempt", delivery_id=str(delivery_id), error=error)
            return "failed"
        log.warning("delivery attempt failed; will retry", delivery_id=str(delivery_id), error=error, in_s=delay)
        raise Retry(defer=delay) from exc


async def deliver(ctx: dict[str, Any], delivery_id: str, channel: str | None = None) -> str:
    """arq job `core:deliver`, job id `deliver:<notification_id>:<channel>:<user_id>`."""
    return await deliver_one(delivery_id, ctx["config"], channel)


async def deliver_in_app(ctx: dict[str, Any], delivery_ids: list[str]) -> dict[str, int]:
    """arq job `core:deliver_in_app`, job id `workers.relay.inbox_job_id(delivery_ids)`: how many deliveries ended
    sent, skipped, failed or noop; raises Retry (the soonest delay) while one of them is to be tried again."""
    config: WorkerConfig = ctx["config"]
    results = await asyncio.gather(*(deliver_one(i, config, "in_app") for i in delivery_ids), return_exceptions=True)
    outcomes: Counter[str] = Counter()
    retry: Retry | None = None
    for result in results:
        if isinstance(result, Retry):
            if retry is None or (result.defer_score or 0) < (retry.defer_score or 0):
                retry = result
        elif isinstance(result, BaseException):
            raise result
        else:
            outcomes[result] += 1
    if retry is not None:
        raise retry
    return dict(outcomes)
