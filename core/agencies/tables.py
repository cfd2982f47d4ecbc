"""Agencies: the org units of a province, a tree with validity dates."""

from __future__ import annotations

from piccolo.columns import UUID, Boolean, Date, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow

from core.tenancy.base import TenantTable


class Agency(TenantTable, tablename="agency"):
    """An org unit of a province (Sở, UBND huyện, phòng, UBND xã, ...). Closed, never deleted."""

    id = UUID(primary_key=True)
    tenant_id = UUID(index=True)
    code = Varchar(length=50)
    code_key = Varchar(length=120, unique=True)  # "<tenant_id>:<lower(code)>"
    name = Varchar(length=255)
    name_folded = Varchar(length=255, index=True)
    level = Varchar(length=20)
    parent_id = UUID(null=True, default=None, index=True)
    required = Boolean(default=False)
    valid_from = Date()
    valid_to = Date(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())


class AgencyLink(TenantTable, tablename="agency_link"):
    """Lineage of agencies through restructurings: `predecessor_id` became (part of) `successor_id` on
    `effective_on`. Kinds: merged (several communes into a new one), split, abolished (a district's work passed
    to the province), renamed (a new code for the same body), province_merged (a province's People's Committee
    into the merged province's). History stays with the predecessor; the successor starts its own records."""

    id = UUID(primary_key=True)
    tenant_id = UUID(index=True)
    predecessor_id = UUID(index=True)
    successor_id = UUID(index=True)
    kind = Varchar(length=20)
    effective_on = Date()
    note = Varchar(length=500, default="")
    created_at = Timestamptz(default=TimestamptzNow())
