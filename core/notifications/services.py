"""Notification rules: who receives what by which channel, the inbox, preferences, failed deliveries.

No HTTP and no queue here. Writes happen inside the caller's transaction; the outbox rows written by
`create_notification` are handed to the queue by `workers.relay` after commit.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from datetime import datetime, timezone
from typing import Any, Iterable
from urllib.parse import unquote

import msgspec
import structlog

from core.audit import record
from core.contracts import TENANT_ROLES
from core.db import transaction
from core.errors import BadRequest, Conflict, NotFound
from core.notifications.tables import (
    InboxItem,
    Notification,
    NotificationDelivery,
    NotificationPreference,
    OutboxMessage,
)
from core.agencies.tables import Agency
from core.users.tables import User
from core.tenancy import unscoped
from core.tenancy.context import TenantContext
from core.notifications.states import DELIVER_JOB, DIGEST, FAILED, PENDING

log = structlog.get_logger("isogov.notifications")

CHANNELS = ("in_app", "email")
EMAIL_MODES = ("off", "immediate", "digest")
DEFAULT_PREFERENCE = {"in_app": True, "email": "immediate"}
KIND_RE = re.compile(r"^(\*|[a-z0-9_]+(\.[a-z0-9_]+)*)$")
MAX_BODY = 20_000
INSERT_CHUNK = 500


def now() -> datetime:
    return datetime.now(timezone.utc)


def deliver_job_id(notification_id: Any, channel: str, user_id: Any) -> str:
    """The deterministic arq job id of one delivery: the same delivery is never queued twice at once."""
    return f"deliver:{notification_id}:{channel}:{user_id}"


def dedup_hash(tenant_id: uuid.UUID, dedup_key: str) -> str:
    return hashlib.sha256(f"{tenant_id}:{dedup_key}".encode("utf-8")).hexdigest()


def check_kind(kind: str, *, allow_star: bool = False) -> str:
    if not isinstance(kind, str) or len(kind) > 100 or not KIND_RE.match(kind) or (kind == "*" and not allow_star):
        raise BadRequest(f"invalid notification kind {kind!r}: use dotted lower-case names such as "
                         "'inspections.visit_scheduled'" + (" or '*'" if allow_star else ""), field="kind")
    return kind


def tenant_link(ctx: TenantContext, link: str | None) -> str | None:
    """Normalise a link to a full path inside ctx's tenant; refuse anything that leaves it."""
    if link is None or link == "":
        return None
    prefix = f"/api/v1/tenants/{ctx.tenant.code}/"
    if not isinstance(link, str) or len(link) > 400 or "\\" in link or any(ch.isspace() for ch in link) \
            or "://" in link or link.startswith("//") or ".." in link.split("/") \
            or ".." in unquote(link).split("/"):  # URL parsers read %2e%2e as ".." too
        raise BadRequest(f"invalid notification link {link!r}", field="link")
    if link.startswith("/"):
        if not (link + "/").startswith(prefix) and link != prefix.rstrip("/"):
            raise BadRequest("a notification link must stay inside the tenant "
                             f"(start with {prefix!r} or be relative to it)", field="link")
        return link
    return prefix + link


def _split_recipients(recipients: Iterable[uuid.UUID | str]) -> tuple[set[str], set[uuid.UUID]]:
    if isinstance(recipients, (str, uuid.UUID)):
        recipients = [recipients]
    roles: set[str] = set()
    user_ids: set[uuid.UUID] = set()
    for item in recipients:
        if isinstance(item, uuid.UUID):
            user_ids.add(item)
        elif isinstance(item, str) and item in TENANT_ROLES:
            roles.add(item)
        else:
            try:
                user_ids.add(uuid.UUID(str(item)))
            except ValueError:
                raise BadRequest(f"recipient {item!r} is neither a user id nor a tenant role "
                                 f"({', '.join(TENANT_ROLES)})", field="recipients") from None
    return roles, user_ids


async def _officers_for(ctx: TenantContext, agency_id: uuid.UUID) -> list[dict[str, Any]]:
    """Active officers of the agency, or of its nearest parent agency that has some."""
    seen: set[uuid.UUID] = set()
    current: uuid.UUID | None = agency_id
    while current is not None and current not in seen:
        seen.add(current)
        rows = await ctx.scope(User).select(User.id, User.email, User.role).where(
            (User.role == "agency_officer") & (User.agency_id == current) & (User.active == True)  # noqa: E712
        )
        if rows:
            return rows
        parent = await ctx.scope(Agency).select(Agency.parent_id).where(Agency.id == current).first()
        current = parent["parent_id"] if parent else None
    return []


async def resolve_recipients(ctx: TenantContext, recipients: Iterable[uuid.UUID | str],
                             agency_id: uuid.UUID | None) -> list[dict[str, Any]]:
    """Active users of ctx's tenant addressed by ids and roles, each once, in a stable order."""
    roles, user_ids = _split_recipients(recipients)
    found: dict[uuid.UUID, dict[str, Any]] = {}
    if user_ids:
        rows = await ctx.scope(User).select(User.id, User.email, User.role, User.active).where(
            User.id.is_in(list(user_ids)))
        missing = user_ids - {r["id"] for r in rows}
        if missing:
            raise NotFound(f"user {sorted(map(str, missing))[0]} not found", field="recipients")
        found.update({r["id"]: r for r in rows if r["active"]})
    broad = roles - {"agency_officer"} if agency_id is not None else roles
    if broad:
        rows = await ctx.scope(User).select(User.id, User.email, User.role).where(
            User.role.is_in(sorted(broad)) & (User.active == True))  # noqa: E712
        found.update({r["id"]: r for r in rows})
    if "agency_officer" in roles and agency_id is not None:
        found.update({r["id"]: r for r in await _officers_for(ctx, agency_id)})
    return [found[k] for k in sorted(found, key=str)]


def preference_for(prefs: dict[str, dict[str, Any]], kind: str) -> dict[str, Any]:
    """The most specific preference for a kind: the kind itself, then its prefixes, then "*", then defaults."""
    parts = kind.split(".")
    for i in range(len(parts), 0, -1):
        pref = prefs.get(".".join(parts[:i]))
        if pref is not None:
            return pref
    return prefs.get("*", DEFAULT_PREFERENCE)


async def _preferences(ctx: TenantContext, user_ids: list[uuid.UUID]) -> dict[uuid.UUID, dict[str, dict[str, Any]]]:
    result: dict[uuid.UUID, dict[str, dict[str, Any]]] = {}
    if not user_ids:
        return result
    rows = await ctx.scope(NotificationPreference).select(
        NotificationPreference.user_id, NotificationPreference.kind, NotificationPreference.in_app,
        NotificationPreference.email,
    ).where(NotificationPreference.user_id.is_in(user_ids))
    for row in rows:
        result.setdefault(row["user_id"], {})[row["kind"]] = row
    return result


def outbox_row(tenant_id: uuid.UUID | None, job_name: str, job_id: str, payload: dict[str, Any]) -> OutboxMessage:
    return OutboxMessage(id=uuid.uuid4(), tenant_id=tenant_id, job_name=job_name, job_id=job_id,
                         payload=msgspec.json.encode(payload).decode("utf-8"), created_at=now(), relayed_at=None)


async def create_notification(ctx: TenantContext, *, kind: str, title: str, body: str = "",
                              recipients: Iterable[uuid.UUID | str] = (), agency_id: uuid.UUID | None = None,
                              link: str | None = None, dedup_key: str | None = None) -> uuid.UUID | None:
    """See `core.notifications.notify.notify`: the notification, its deliveries and their outbox rows, in one transaction."""
    check_kind(kind)
    if not isinstance(title, str) or not title.strip():
        raise BadRequest("a notification needs a title", field="title")
    title = title.strip()[:300]
    body = (body or "")[:MAX_BODY]
    link = tenant_link(ctx, link)
    if dedup_key is not None and (not isinstance(dedup_key, str) or not dedup_key or len(dedup_key) > 300):
        raise BadRequest("dedup_key must be a non-empty string of at most 300 characters", field="dedup_key")
    roles, user_ids = _split_recipients(recipients)
    audience = {"roles": sorted(roles), "users": sorted(map(str, user_ids))}
    stamp = now()
    digest = dedup_hash(ctx.tenant.id, dedup_key) if dedup_key is not None else None
    # Bound to ctx's tenant throughout: every row written here is the tenant's own, and the scoped reads and the
    # writes then share one binding (PostgreSQL is not told a new one between them: two round trips a call).
    async with transaction(tenant=ctx.tenant.id):
        if digest is not None:  # the cheap early answer for a repeated call; the unique key settles races
            with unscoped():
                if await Notification.exists().where(Notification.dedup_hash == digest):
                    return None
        if agency_id is not None:
            agency_id = (await ctx.ensure_agency(agency_id))["id"]
        users = await resolve_recipients(ctx, list(roles) + list(user_ids), agency_id)
        prefs = await _preferences(ctx, [u["id"] for u in users])
        notification_id = uuid.uuid4()
        row = Notification(
            id=notification_id, tenant_id=ctx.tenant.id, kind=kind, title=title, body=body, link=link,
            agency_id=agency_id, dedup_key=dedup_key, dedup_hash=digest,
            audience=msgspec.json.encode(audience).decode("utf-8"), recipient_count=len(users),
            created_by=ctx.actor.id, created_at=stamp,
        )
        with unscoped():
            query = Notification.insert(row).returning(Notification.id)
            if dedup_key is not None:
                query = query.on_conflict(target=Notification.dedup_hash, action="DO NOTHING")
            inserted = await query
            if not inserted:
                return None
            deliveries, outbox = [], []
            for user in users:
                pref = preference_for(prefs.get(user["id"], {}), kind)
                wanted = []
                if pref["in_app"]:
                    wanted.append(("in_app", PENDING))
                if pref["email"] in ("immediate", "digest"):
                    wanted.append(("email", PENDING if pref["email"] == "immediate" else DIGEST))
                for channel, status in wanted:
                    delivery_id = uuid.uuid4()
                    deliveries.append(NotificationDelivery(
                        id=delivery_id, tenant_id=ctx.tenant.id, notification_id=notification_id,
                        user_id=user["id"], channel=channel, key=f"{notification_id}:{channel}:{user['id']}",
                        status=status, attempts=0, next_attempt_at=stamp, created_at=stamp, updated_at=stamp,
                    ))
                    if status == PENDING:
                        outbox.append(outbox_row(ctx.tenant.id, DELIVER_JOB,
                                                 deliver_job_id(notification_id, channel, user["id"]),
                                                 {"delivery_id": str(delivery_id), "channel": channel}))
            for start in range(0, len(deliveries), INSERT_CHUNK):  # within the databases' parameter limits
                await NotificationDelivery.insert(*deliveries[start:start + INSERT_CHUNK])
            for start in range(0, len(outbox), INSERT_CHUNK):
                await OutboxMessage.insert(*outbox[start:start + INSERT_CHUNK])
        await record(ctx, action="notify", entity="notification", entity_id=notification_id, after={
            "kind": kind, "title": title, "agency_id": agency_id, "link": link, "audience": audience,
            "recipients": len(users), "deliveries": len(deliveries),
        })
    log.info("notification written", kind=kind, notification_id=str(notification_id), recipients=len(users),
             deliveries=len(deliveries))
    return notification_id


# --- the inbox --------------------------------------------------------------------------------------------


def _inbox_item(item: dict[str, Any], note: dict[str, Any]) -> dict[str, Any]:
    return {"id": item["id"], "notification_id": item["notification_id"], "kind": note["kind"],
            "title": note["title"], "body": note["body"], "link": note["link"], "agency_id": note["agency_id"],
            "created_at": item["created_at"], "read_at": item["read_at"], "read": item["read_at"] is not None}


async def _with_notifications(ctx: TenantContext, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    if not items:
        return []
    notes = await ctx.scope(Notification).select(
        Notification.id, Notification.kind, Notification.title, Notification.body, Notification.link,
        Notification.agency_id,
    ).where(Notification.id.is_in([i["notification_id"] for i in items]))
    by_id = {n["id"]: n for n in notes}
    return [_inbox_item(i, by_id[i["notification_id"]]) for i in items if i["notification_id"] in by_id]


async def inbox(ctx: TenantContext, user_id: uuid.UUID, *, unread_only: bool, limit: int,
                offset: int) -> tuple[list[dict[str, Any]], int, int]:
    """One page of a user's inbox, unread first, newest first within each; returns (items, total, unread)."""
    scope = ctx.scope(InboxItem)
    mine = InboxItem.user_id == user_id
    unread_cond = mine & InboxItem.read_at.is_null()
    read_cond = mine & InboxItem.read_at.is_not_null()
    unread = await scope.count().where(unread_cond)
    total = unread if unread_only else await scope.count().where(mine)
    items: list[dict[str, Any]] = []
    if offset < unread:
        items = await scope.select().where(unread_cond).order_by(
            InboxItem.created_at, InboxItem.id, ascending=False).limit(limit).offset(offset)
    if not unread_only and len(items) < limit:
        read_offset = max(0, offset - unread)
        items += await scope.select().where(read_cond).order_by(
            InboxItem.created_at, InboxItem.id, ascending=False).limit(limit - len(items)).offset(read_offset)
    return await _with_notifications(ctx, items), total, unread


async def mark_read(ctx: TenantContext, user_id: uuid.UUID, item_id: uuid.UUID) -> dict[str, Any]:
    """Mark one of the user's own inbox items read (404 for anyone else's). Marking twice keeps the first time."""
    scope = ctx.scope(InboxItem)
    item = await scope.select().where((InboxItem.id == item_id) & (InboxItem.user_id == user_id)).first()
    if item is None:
        raise NotFound(f"notification {item_id} not found")
    if item["read_at"] is None:
        item = await scope.update(item["id"], {"read_at": now()}, action="read")
    return (await _with_notifications(ctx, [item]))[0]


async def mark_all_read(ctx: TenantContext, user_id: uuid.UUID) -> int:
    """Mark all of the user's unread items read; one audit row records how many."""
    cond = (InboxItem.tenant_id == ctx.tenant.id) & (InboxItem.user_id == user_id) & InboxItem.read_at.is_null()
    async with transaction():
        with unscoped():
            rows = await InboxItem.update({InboxItem.read_at: now()}).where(cond).returning(InboxItem.id)
        if rows:
            await record(ctx, action="read_all", entity="inbox_item", entity_id=user_id,
                         after={"count": len(rows)})
    return len(rows)


# --- preferences ------------------------------------------------------------------------------------------


async def list_preferences(ctx: TenantContext, user_id: uuid.UUID) -> list[dict[str, Any]]:
    return await ctx.scope(NotificationPreference).select().where(
        NotificationPreference.user_id == user_id).order_by(NotificationPreference.kind)


async def set_preference(ctx: TenantContext, user_id: uuid.UUID, kind: str, *, in_app: bool,
                         email: str) -> dict[str, Any]:
    check_kind(kind, allow_star=True)
    if email not in EMAIL_MODES:
        raise BadRequest(f"email must be one of {', '.join(EMAIL_MODES)}", field="email")
    scope = ctx.scope(NotificationPreference)
    key = f"{user_id}:{kind}"
    async with transaction():
        current = await scope.select().where(NotificationPreference.key == key).first()
        if current is None:
            return await scope.insert({"user_id": user_id, "kind": kind, "key": key, "in_app": in_app,
                                       "email": email, "updated_at": now()})
        return await scope.update(current["id"], {"in_app": in_app, "email": email})


async def delete_preference(ctx: TenantContext, user_id: uuid.UUID, kind: str) -> None:
    check_kind(kind, allow_star=True)  # nothing else can have been stored; and keeps e.g. NUL bytes from the database
    scope = ctx.scope(NotificationPreference)
    async with transaction():
        current = await scope.select().where(NotificationPreference.key == f"{user_id}:{kind}").first()
        if current is None:
            raise NotFound(f"no preference for {kind!r}")
        with unscoped():
            await NotificationPreference.delete().where(
                scope.where() & (NotificationPreference.id == current["id"]))
        await record(ctx, action="delete", entity="notification_preference", entity_id=current["id"],
                     before=current, after=None)


# --- failed deliveries (tenant admins) --------------------------------------------------------------------


async def _enrich(ctx: TenantContext, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Deliveries with their notification's kind and title and the recipient's email."""
    if not rows:
        return []
    notes = {n["id"]: n for n in await ctx.scope(Notification).select(
        Notification.id, Notification.kind, Notification.title).where(
        Notification.id.is_in([r["notification_id"] for r in rows]))}
    users = {u["id"]: u for u in await ctx.scope(User).select(User.id, User.email).where(
        User.id.is_in([r["user_id"] for r in rows]))}
    items = []
    for row in rows:
        note = notes.get(row["notification_id"], {})
        items.append({**row, "kind": note.get("kind", ""), "title": note.get("title", ""),
                      "user_email": users.get(row["user_id"], {}).get("email", "")})
    return items


async def failed_deliveries(ctx: TenantContext, *, limit: int, offset: int) -> tuple[list[dict[str, Any]], int]:
    scope = ctx.scope(NotificationDelivery)
    cond = NotificationDelivery.status == FAILED
    rows = await scope.select().where(cond).order_by(
        NotificationDelivery.updated_at, NotificationDelivery.id, ascending=False).limit(limit).offset(offset)
    return await _enrich(ctx, rows), await scope.count().where(cond)


async def retry_delivery(ctx: TenantContext, delivery_id: uuid.UUID) -> dict[str, Any]:
    """Put a failed delivery back in the queue (through the outbox): attempts start again from zero."""
    scope = ctx.scope(NotificationDelivery)
    async with transaction():
        row = await scope.get(delivery_id, label="delivery")
        if row["status"] != FAILED:
            raise Conflict(f"only a failed delivery can be retried; this one is {row['status']}", field="status")
        row = await scope.update(row["id"], {"status": PENDING, "attempts": 0, "next_attempt_at": now()},
                                 action="retry")
        with unscoped():
            await OutboxMessage.insert(outbox_row(
                ctx.tenant.id, DELIVER_JOB, deliver_job_id(row["notification_id"], row["channel"], row["user_id"]),
                {"delivery_id": str(row["id"]), "channel": row["channel"]}))
    return (await _enrich(ctx, [row]))[0]
