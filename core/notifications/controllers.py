"""The signed-in user's inbox and preferences (`/api/v1/me/notifications`), and the tenant admins' view of
deliveries that failed (`/api/v1/tenants/{code}/notifications/...`)."""

from __future__ import annotations

import uuid
from typing import Annotated

from litestar import Controller, Request, delete, get, post, put
from litestar.params import Parameter

from core.errors import Forbidden, NotFound
from core.tenancy.guards import load_tenant
from core.notifications import services
from core.notifications.schemas import (
    DeliveryRead,
    InboxItemRead,
    InboxPage,
    PreferenceRead,
    PreferencesRead,
    PreferenceWrite,
    ReadAllResult,
)
from core.auth.permissions import permissions_for
from core.schemas import MAX_LIMIT, Offset, Page, to_struct
from core.tenancy.tables import Tenant
from core.tenancy import Actor, TenantInfo
from core.tenancy.context import TenantContext

KindParam = Annotated[str, Parameter(max_length=100, description="a notification kind, a dotted prefix, or *")]


async def _own_ctx(request: Request) -> TenantContext | None:
    """The signed-in user acting in their own tenant; None for platform users, who have no notifications."""
    actor: Actor = request.user
    if actor.tenant_id is None:
        return None
    row = await Tenant.select(Tenant.code).where(Tenant.id == actor.tenant_id).first()
    tenant: TenantInfo | None = await load_tenant(row["code"]) if row else None
    if tenant is None:
        return None
    return TenantContext(tenant=tenant, actor=actor, permissions=permissions_for(actor.role))


def _pref(row: dict) -> PreferenceRead:
    return PreferenceRead(kind=row["kind"], in_app=row["in_app"], email=row["email"])


class InboxController(Controller):
    path = "/api/v1/me/notifications"
    tags = ["notifications"]

    @get("/", summary="My notifications, unread first")
    async def list_inbox(
        self, request: Request,
        unread_only: bool = False,
        limit: Annotated[int, Parameter(ge=1, le=MAX_LIMIT)] = 50,
        offset: Offset = 0,
    ) -> InboxPage:
        ctx = await _own_ctx(request)
        if ctx is None:
            return InboxPage(items=[], total=0, unread=0, limit=limit, offset=offset)
        items, total, unread = await services.inbox(ctx, ctx.actor.id, unread_only=unread_only, limit=limit,
                                                    offset=offset)
        return InboxPage(items=[to_struct(i, InboxItemRead) for i in items], total=total, unread=unread,
                         limit=limit, offset=offset)

    @post("/{item_id:uuid}/read", summary="Mark one of my notifications read", status_code=200)
    async def mark_read(self, request: Request, item_id: uuid.UUID) -> InboxItemRead:
        ctx = await _own_ctx(request)
        if ctx is None:
            raise NotFound(f"notification {item_id} not found")
        return to_struct(await services.mark_read(ctx, ctx.actor.id, item_id), InboxItemRead)

    @post("/read-all", summary="Mark all my notifications read", status_code=200)
    async def mark_all_read(self, request: Request) -> ReadAllResult:
        ctx = await _own_ctx(request)
        return ReadAllResult(updated=0 if ctx is None else await services.mark_all_read(ctx, ctx.actor.id))

    @get("/preferences", summary="My notification preferences")
    async def get_preferences(self, request: Request) -> PreferencesRead:
        ctx = await _own_ctx(request)
        rows = [] if ctx is None else await services.list_preferences(ctx, ctx.actor.id)
        return PreferencesRead(items=[_pref(r) for r in rows], default=PreferenceRead(kind="*", **services.DEFAULT_PREFERENCE))

    @put("/preferences/{kind:str}", summary="Choose the channels for a kind of notification (or a prefix, or *)")
    async def put_preference(self, request: Request, kind: KindParam, data: PreferenceWrite) -> PreferenceRead:
        ctx = await _own_ctx(request)
        if ctx is None:
            raise Forbidden("notifications belong to a province; platform users receive none")
        return _pref(await services.set_preference(ctx, ctx.actor.id, kind, in_app=data.in_app, email=data.email))

    @delete("/preferences/{kind:str}", summary="Forget my choice for a kind (the next broader one applies)")
    async def delete_preference(self, request: Request, kind: KindParam) -> None:
        ctx = await _own_ctx(request)
        if ctx is None:
            raise NotFound(f"no preference for {kind!r}")
        await services.delete_preference(ctx, ctx.actor.id, kind)


class NotificationAdminController(Controller):
    """Mounted under the tenant router: tenant admins see deliveries that failed and may retry them."""

    path = "/notifications"
    tags = ["notifications"]

    @get("/failed", summary="Notification deliveries that failed after every attempt",
         opt={"permission": "notifications.admin"})
    async def list_failed(
        self, ctx: TenantContext,
        limit: Annotated[int, Parameter(ge=1, le=MAX_LIMIT)] = 50,
        offset: Offset = 0,
    ) -> Page[DeliveryRead]:
        items, total = await services.failed_deliveries(ctx, limit=limit, offset=offset)
        return Page(items=[to_struct(i, DeliveryRead) for i in items], total=total, limit=limit, offset=offset)

    @post("/deliveries/{delivery_id:uuid}/retry", summary="Queue a failed delivery again", status_code=200,
          opt={"permission": "notifications.admin"})
    async def retry(self, ctx: TenantContext, delivery_id: uuid.UUID) -> DeliveryRead:
        return to_struct(await services.retry_delivery(ctx, delivery_id), DeliveryRead)
