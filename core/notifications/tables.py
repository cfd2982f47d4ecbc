"""Notification tables: what was said, to whom by which channel, what each user sees, and the outbox.

All rows are tenant-owned (`tenant_id`). Request code reaches them through `ctx.scope(...)`; the relay and the
worker are platform code and use `unscoped()` with explicit tenant filters. Unique keys make every step
idempotent: a notification per (tenant, dedup key), a delivery per (notification, channel, user), an inbox item
per (notification, user), a preference per (user, kind).
"""

from __future__ import annotations

from piccolo.columns import JSON, UUID, Boolean, Integer, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow

from core.tenancy import TenantTable


class Notification(TenantTable, tablename="notification"):
    """One message of one tenant (immutable once written). `audience` records whom it was addressed to."""

    id = UUID(primary_key=True)
    tenant_id = UUID(index=True)
    kind = Varchar(length=100)
    title = Varchar(length=300)
    body = Text(default="")
    link = Varchar(length=500, null=True, default=None)
    agency_id = UUID(null=True, default=None)
    dedup_key = Varchar(length=300, null=True, default=None)
    dedup_hash = Varchar(length=64, null=True, default=None, unique=True)  # sha256 of "<tenant_id>:<dedup_key>"
    audience = JSON(default="{}")
    recipient_count = Integer(default=0)
    created_by = UUID(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())


class NotificationDelivery(TenantTable, tablename="notification_delivery"):
    """One notification to one user by one channel. `key` = "<notification_id>:<channel>:<user_id>".

    status: pending (a job will deliver it), digest (waits for the user's daily digest), sent, failed (after
    the last attempt; tenant admins see it and may retry), skipped (the recipient can no longer receive it).
    """

    id = UUID(primary_key=True)
    tenant_id = UUID(index=True)
    notification_id = UUID(index=True)
    user_id = UUID(index=True)
    channel = Varchar(length=20)
    key = Varchar(length=120, unique=True)
    status = Varchar(length=10, default="pending", index=True)
    attempts = Integer(default=0)
    last_error = Text(null=True, default=None)
    next_attempt_at = Timestamptz(default=TimestamptzNow(), index=True)
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())
    sent_at = Timestamptz(null=True, default=None)


class InboxItem(TenantTable, tablename="inbox_item"):
    """What the in-app channel delivered: one notification shown to one user. `key` = "<notification_id>:<user_id>"."""

    id = UUID(primary_key=True)
    tenant_id = UUID(index=True)
    user_id = UUID(index=True)
    notification_id = UUID()
    key = Varchar(length=80, unique=True)
    created_at = Timestamptz(default=TimestamptzNow(), index=True)  # when the notification was made
    read_at = Timestamptz(null=True, default=None)


class NotificationPreference(TenantTable, tablename="notification_preference"):
    """A user's choice for a kind of notification (or a prefix of kinds, or "*" for all).

    `email`: off, immediate, or digest (collected into one daily mail). `key` = "<user_id>:<kind>".
    """

    id = UUID(primary_key=True)
    tenant_id = UUID(index=True)
    user_id = UUID(index=True)
    kind = Varchar(length=100)
    key = Varchar(length=150, unique=True)
    in_app = Boolean(default=True)
    email = Varchar(length=10, default="immediate")
    updated_at = Timestamptz(default=TimestamptzNow())


class OutboxMessage(TenantTable, tablename="outbox_message"):
    """A job to hand to the queue once the transaction that wrote it commits (the transactional outbox).

    The relay enqueues `job_name(**payload)` under the deterministic arq job id `job_id` and sets `relayed_at`.
    """

    id = UUID(primary_key=True)
    tenant_id = UUID(null=True, default=None, index=True)
    job_name = Varchar(length=100)
    job_id = Varchar(length=200, index=True)
    payload = JSON(default="{}")
    created_at = Timestamptz(default=TimestamptzNow())
    relayed_at = Timestamptz(null=True, default=None, index=True)
