"""The one call plugins use to notify people: `await notify(ctx, kind=..., title=..., recipients=[...])`.

It writes the notification, resolves its recipients and their preferences, and writes one delivery row and one
outbox row per (recipient, channel) **in the caller's current transaction** (or its own when there is none).
Nothing reaches Redis here: after the transaction commits, the relay in `workers/` hands the outbox rows to the
queue. A rolled-back business change therefore sends nothing, and a committed one is delivered at least once and
shown once.

Example (a plugin service)::

    from core.db import transaction
    from core.notifications.notify import notify

    async with transaction():
        visit = await ctx.scope(Visit).insert({...})
        await notify(ctx, kind="inspections.visit_scheduled", title="Lịch kiểm tra ISO tại đơn vị",
                     body=f"Đoàn kiểm tra sẽ làm việc ngày {visit['on']:%d/%m/%Y}.",
                     recipients=["agency_officer", "tenant_admin"], agency_id=visit["agency_id"],
                     link=f"inspections/visits/{visit['id']}")
"""

from __future__ import annotations

import uuid
from typing import Any, Iterable

from core.notifications.services import CHANNELS, EMAIL_MODES, create_notification
from core.tenancy.context import TenantContext

__all__ = ["notify", "CHANNELS", "EMAIL_MODES"]


async def notify(ctx: TenantContext, *, kind: str, title: str | None = None, body: str = "",
                 recipients: Iterable[uuid.UUID | str] | None = None, agency_id: uuid.UUID | None = None,
                 link: str | None = None, dedup_key: str | None = None,
                 data: dict[str, Any] | None = None) -> uuid.UUID | None:
    """Notify people of ctx's tenant; returns the notification id, or None when `dedup_key` was seen before.

    - `kind`: dotted lower-case name, `<module>.<event>` (e.g. "inspections.visit_scheduled"). Users choose
      channels per kind or per prefix of kinds ("inspections", "*").
    - `recipients`: user ids (UUID or UUID string) and/or role names ("tenant_admin", "inspector",
      "agency_officer", "viewer"), always within ctx's tenant. A user id of another tenant raises NotFound; a
      deactivated user is left out. The role "agency_officer" with `agency_id` means the officers of that agency
      (or, when it has none, of its nearest parent agency that has some); without `agency_id`, all officers.
    - `agency_id`: the agency concerned; must be ctx's tenant's (NotFound otherwise).
    - `link`: a path inside the tenant, relative ("inspections/visits/<id>") or full
      ("/api/v1/tenants/<code>/..."); stored as the full path. Links to another tenant or site are refused.
    - `dedup_key`: makes the call idempotent per tenant: a second call with the same key writes nothing.
    - The kind must be declared by a module (`isogov_notification_kinds`); `title` defaults to the kind's
      Vietnamese template filled with `data`, and `recipients` (None) to the kind's default audience.
    """
    from core.notifications.services import check_kind
    from core.plugins import get_plugin_system

    check_kind(kind)  # a malformed kind is the caller's bad input: 400 naming the field
    declared = get_plugin_system().notification_kind(kind)
    if declared is None:
        raise ValueError(f"notification kind {kind!r} is not declared by any module (isogov_notification_kinds)")
    if title is None:
        try:
            title = declared.title_vi.format(**(data or {}))
        except (KeyError, IndexError, ValueError) as exc:
            raise ValueError(f"notification kind {kind!r}: its title needs {exc} in data") from exc
    if recipients is None:
        recipients = declared.audience
    return await create_notification(ctx, kind=kind, title=title, body=body, recipients=recipients,
                                     agency_id=agency_id, link=link, dedup_key=dedup_key)
