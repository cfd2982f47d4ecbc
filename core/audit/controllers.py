from __future__ import annotations

import uuid
from datetime import datetime, timezone
from typing import Annotated, Any

from litestar.params import Parameter

import msgspec
from litestar import Controller, get

from core.errors import BadRequest
from core.schemas import NO_NUL, Limit, Offset, Page
from core.audit.tables import AuditEvent
from core.tenancy.context import TenantContext


class AuditEventRead(msgspec.Struct):
    id: uuid.UUID
    at: datetime
    actor_id: uuid.UUID | None
    actor_email: str
    action: str
    entity: str
    entity_id: str | None
    before: Any
    after: Any
    request_id: str | None


def _load(value: Any) -> Any:
    return msgspec.json.decode(value) if isinstance(value, (str, bytes)) and value else value


def _utc(value: datetime, name: str) -> datetime:
    """The filter in UTC (a time without an offset is UTC); 400 when the offset pushes it off the calendar."""
    try:
        return value.astimezone(timezone.utc) if value.tzinfo else value.replace(tzinfo=timezone.utc)
    except OverflowError as exc:
        raise BadRequest(f"{name} is out of the range of dates", field=name) from exc


FilterText = Annotated[str | None, Parameter(max_length=200, pattern=NO_NUL)]


class AuditController(Controller):
    path = "/audit-events"
    tags = ["audit"]

    @get("/", summary="The audit trail of the province, newest first", opt={"permission": "audit.read"})
    async def list_events(
        self, ctx: TenantContext,
        entity: FilterText = None,
        entity_id: FilterText = None,
        actor_id: uuid.UUID | None = None,
        action: FilterText = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: Limit = 50,
        offset: Offset = 0,
    ) -> Page[AuditEventRead]:
        conds = []
        if entity:
            conds.append(AuditEvent.entity == entity)
        if entity_id:
            conds.append(AuditEvent.entity_id == entity_id)
        if actor_id:
            conds.append(AuditEvent.actor_id == actor_id)
        if action:
            conds.append(AuditEvent.action == action)
        if since:
            conds.append(AuditEvent.at >= _utc(since, "since"))
        if until:
            conds.append(AuditEvent.at < _utc(until, "until"))
        rows, total = await ctx.scope(AuditEvent).page(*conds, order_by=(AuditEvent.at,), descending=True,
                                                       limit=limit, offset=offset)
        items = [AuditEventRead(**{k: (_load(v) if k in ("before", "after") else v) for k, v in row.items()
                                   if k in AuditEventRead.__struct_fields__}) for row in rows]
        return Page(items=items, total=total, limit=limit, offset=offset)
