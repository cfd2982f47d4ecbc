"""Core tables: tenants and their module switches, agencies, users, audit events, login failures."""

from __future__ import annotations

from piccolo.columns import JSON, UUID, Boolean, Date, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from core.tenancy import TenantTable


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


class User(TenantTable, tablename="app_user"):
    """A person who signs in. Platform users (platform_admin, national_reviewer) have no tenant."""

    audit_redact = ("password_hash",)

    id = UUID(primary_key=True)
    tenant_id = UUID(null=True, default=None, index=True)
    email = Varchar(length=254, unique=True)
    full_name = Varchar(length=200)
    full_name_folded = Varchar(length=200)
    role = Varchar(length=30)
    agency_id = UUID(null=True, default=None)
    password_hash = Varchar(length=255)
    active = Boolean(default=True)
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())
    last_login_at = Timestamptz(null=True, default=None)


class AuditEvent(TenantTable, tablename="audit_event"):
    """Who did what to which entity, with the state before and after. Written only by core.audit."""

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


class LoginFailure(Table, tablename="login_failure"):
    """A failed sign-in, kept for the rate limit window. `key` is "account:<email>" or "address:<ip>"."""

    id = UUID(primary_key=True)
    key = Varchar(length=300, index=True)
    at = Timestamptz(default=TimestamptzNow(), index=True)
