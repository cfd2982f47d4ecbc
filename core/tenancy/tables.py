"""Tenants (provinces) and their module switches: platform metadata, read by the tenancy guard."""

from __future__ import annotations

from piccolo.columns import UUID, Boolean, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table


class Tenant(Table, tablename="tenant"):
    """A province. Platform metadata: read by the tenancy guard, written by tenants/."""

    id = UUID(primary_key=True)
    code = Varchar(length=63, unique=True)
    name = Varchar(length=255)
    name_folded = Varchar(length=255)
    status = Varchar(length=20, default="active")  # active | suspended | merged
    merged_into = UUID(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())


class TenantModule(Table, tablename="tenant_module"):
    """Whether a module is enabled for a tenant. `key` is "<tenant_id>:<module>" (one row per pair)."""

    id = UUID(primary_key=True)
    key = Varchar(length=120, unique=True)
    tenant_id = UUID(index=True)
    module = Varchar(length=63)
    enabled = Boolean(default=False)
    updated_at = Timestamptz(default=TimestamptzNow())
