"""Audit events: who did what to which entity, before and after."""

from __future__ import annotations

from piccolo.columns import JSON, UUID, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow

from core.tenancy.base import TenantTable


class AuditEvent(TenantTable, tablename="audit_event"):
    """Who did what to which entity, with the state before and after. Written only by core.audit."""

    scope_writable = False

    id = UUID(primary_key=True)
    tenant_id = UUID(null=True, default=None, index=True)
    at = Timestamptz(default=TimestamptzNow(), index=True)
    actor_id = UUID(null=True, default=None)
    actor_email = Varchar(length=254)
    action = Varchar(length=40)
    entity = Varchar(length=80, index=True)
    entity_id = Varchar(length=80, null=True, default=None, index=True)
    before = JSON(null=True, default=None)
    after = JSON(null=True, default=None)
    request_id = Varchar(length=64, null=True, default=None)
