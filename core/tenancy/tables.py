"""Tenants (provinces) and their module switches: platform metadata, read by the tenancy guard."""

from __future__ import annotations

from piccolo.columns import JSON, UUID, Boolean, Float, Integer, Timestamptz, Varchar
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


class FrozenFigure(Table, tablename="frozen_figure"):
    """An indicator of a province for a year, frozen when the province was merged (or merged into): the national
    view shows the years before a merger from these rows, as the provinces were. Counts only, no personal data.
    `key` is "<tenant_id>:<year>:<module>:<name>" (one row per figure)."""

    id = UUID(primary_key=True)
    key = Varchar(length=200, unique=True)
    tenant_id = UUID(index=True)
    year = Integer(index=True)
    module = Varchar(length=63)
    name = Varchar(length=100)
    value = Float()
    label_vi = Varchar(length=300, default="")
    label_en = Varchar(length=300, default="")
    unit = Varchar(length=30, default="count")
    breakdown = JSON(default="{}")
    frozen_at = Timestamptz(default=TimestamptzNow())
    reason = Varchar(length=200, default="")
