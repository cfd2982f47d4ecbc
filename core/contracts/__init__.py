"""Value types that cross the plugin boundary: what hooks return and receive."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Awaitable, Callable, Literal

ROLES = ("platform_admin", "national_reviewer", "tenant_admin", "inspector", "agency_officer", "viewer")
TENANT_ROLES = ("tenant_admin", "inspector", "agency_officer", "viewer")
PLATFORM_ROLES = ("platform_admin", "national_reviewer")


@dataclass(frozen=True)
class ModuleInfo:
    """Identity of a plugin module. `name` is its URL segment and its key in tenant settings."""

    name: str
    title_vi: str
    title_en: str
    version: str
    depends_on: tuple[str, ...] = ()


@dataclass(frozen=True)
class Permission:
    """An action a module defines, e.g. `certification.write`, and the roles that get it by default."""

    name: str
    description: str
    default_roles: tuple[str, ...]


@dataclass(frozen=True)
class Reminder:
    """Something due or overdue in one tenant on one day.

    `key` is stable across scans (e.g. "certification:internal_audit:<agency_id>:2026") so a notifier can
    send each item once per day. `audience` lists roles to notify; with `agency_id` set, agency officers of
    that agency are included when "agency_officer" is in the audience.
    """

    module: str
    kind: str
    key: str
    title: str
    due_on: date
    status: Literal["due", "overdue"]
    agency_id: uuid.UUID | None = None
    audience: tuple[str, ...] = ("tenant_admin",)
    link: str | None = None


@dataclass(frozen=True)
class Indicator:
    """One aggregate figure of one tenant for the national view. Counts only, never personal data."""

    module: str
    name: str
    value: int | float
    label_vi: str = ""
    label_en: str = ""
    breakdown: dict[str, int | float] = field(default_factory=dict)


@dataclass(frozen=True)
class EvidenceTarget:
    """An entity type that accepts attachments.

    `check(ctx, target_id, write)` raises core.errors.NotFound when the entity does not exist in ctx's tenant
    and core.errors.Forbidden when ctx's user may not attach to it (write=True) or read it (write=False).
    """

    target_type: str
    module: str
    title: str
    check: Callable[..., Awaitable[None]]


@dataclass(frozen=True)
class TenantEvent:
    """A tenant lifecycle event: module_enabled, module_disabled, tenant_created, tenant_merged."""

    kind: Literal["module_enabled", "module_disabled", "tenant_created", "tenant_merged"]
    tenant_id: uuid.UUID
    tenant_code: str
    module: str | None = None
    other_tenant_id: uuid.UUID | None = None
    data: dict[str, Any] = field(default_factory=dict)
