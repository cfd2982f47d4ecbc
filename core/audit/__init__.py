"""The one audit mechanism: every write records actor, tenant, action, entity, before and after."""

from __future__ import annotations

import uuid
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

import msgspec
import structlog

from core.audit.tables import AuditEvent
from core.tenancy import unscoped

if TYPE_CHECKING:
    from core.tenancy.context import TenantContext

log = structlog.get_logger("isogov.audit")


def _json(value: Any) -> str | None:
    if value is None:
        return None
    return msgspec.json.encode(value).decode("utf-8")


def audit_values(ctx: "TenantContext | None", *, action: str, entity: str, entity_id: Any, before: Any = None,
                 after: Any = None, tenant_id: uuid.UUID | None = None) -> dict[str, Any]:
    """Every column of the audit row `record` writes (for a caller that writes it within its own statement:
    `Scope.insert` on PostgreSQL)."""
    actor = ctx.actor if ctx is not None else None
    return {
        "id": uuid.uuid4(),
        "tenant_id": ctx.tenant.id if ctx is not None else tenant_id,
        "at": datetime.now(timezone.utc),
        "actor_id": actor.id if actor else None,
        "actor_email": actor.email if actor else "system",
        "action": action,
        "entity": entity,
        "entity_id": str(entity_id) if entity_id is not None else None,
        "before": _json(before),
        "after": _json(after),
        "request_id": (ctx.request_id if ctx is not None else None)
        or structlog.contextvars.get_contextvars().get("request_id"),
    }


async def record(ctx: "TenantContext | None", *, action: str, entity: str, entity_id: Any,
                 before: Any = None, after: Any = None, tenant_id: uuid.UUID | None = None) -> None:
    """Write an audit row (call it inside the transaction of the change it describes).

    Without a tenant context (platform writes such as creating a platform user), pass `tenant_id` or None.
    """
    row = AuditEvent(**audit_values(ctx, action=action, entity=entity, entity_id=entity_id, before=before,
                                    after=after, tenant_id=tenant_id))
    with unscoped():
        await AuditEvent.insert(row)
    log.debug("audit", action=action, entity=entity, entity_id=str(entity_id))
