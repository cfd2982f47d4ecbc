"""Value types that cross the plugin boundary: what hooks return and receive (the contract v2).

Everything a plugin hands to core or to another plugin is one of these frozen dataclasses; nothing here imports
anything else of core, so every part can use them.
"""

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
    builtin: bool = False  # a part of the platform (agencies, users, ...): always on, not switched per tenant


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


AGENCY_LEVELS = ("province", "department", "district", "office", "commune", "unit")


@dataclass(frozen=True)
class Indicator:
    """One aggregate figure of one tenant and year, for the annual report and the national view.

    Counts only, never personal data. `breakdown` splits `value` by agency level (keys of AGENCY_LEVELS) where
    the figure is about agencies; `unit` is what is counted ("agency", "person", "session", "file", "byte", ...).
    `tenant_id` is set by the module when it answers for a set of tenants; `section` groups figures of the
    annual report (defaults to the module's name). Labels travel with the figure all the way to the reader.
    """

    module: str
    name: str
    value: int | float
    label_vi: str = ""
    label_en: str = ""
    breakdown: dict[str, int | float] = field(default_factory=dict)
    unit: str = "count"
    tenant_id: uuid.UUID | None = None
    section: str | None = None
    order: int = 0


@dataclass(frozen=True)
class Fact:
    """One typed fact about one subject (an agency or a person) on a date, explained in Vietnamese.

    `name` is `<module>.<fact>` (e.g. "certification.announced", "training.valid_internal_auditor").
    `value` is True/False, a number, a date, a string or None (None: the module knows nothing). `holds_on` is the
    date the fact refers to (e.g. the announcement date); `explanation` is for officials, in Vietnamese
    ("Đã công bố HTQLCL ngày 17/01/2019"). `data` carries optional machine-readable details.
    """

    subject: Literal["agency", "person"]
    subject_id: uuid.UUID
    name: str
    value: Any
    explanation: str
    holds_on: date | None = None
    data: dict[str, Any] = field(default_factory=dict)


class FactSheet:
    """The answers of every module to one facts question, by subject: `sheet.get(subject_id, name)`.

    A fact no enabled module answered is `None` from `get` and shows as unknown in `value(..., default)`.
    """

    def __init__(self, facts: list[Fact] | None = None, answered: tuple[str, ...] = ()) -> None:
        self.answered = answered  # modules that answered the call
        self._by_subject: dict[uuid.UUID, dict[str, Fact]] = {}
        for fact in facts or []:
            self.add(fact)

    def add(self, fact: Fact) -> None:
        self._by_subject.setdefault(fact.subject_id, {})[fact.name] = fact

    def get(self, subject_id: uuid.UUID, name: str) -> Fact | None:
        return self._by_subject.get(subject_id, {}).get(name)

    def value(self, subject_id: uuid.UUID, name: str, default: Any = None) -> Any:
        fact = self.get(subject_id, name)
        return default if fact is None else fact.value

    def of(self, subject_id: uuid.UUID) -> dict[str, Fact]:
        return dict(self._by_subject.get(subject_id, {}))

    def knows(self, module: str) -> bool:
        return module in self.answered


@dataclass(frozen=True)
class Schedule:
    """A cron schedule a module declares (plugins never import the queue library).

    `func` is `async def job(ctx)`; with `per_tenant=True` it runs once per tenant that has the module enabled and
    `ctx` is a system TenantContext of that tenant, otherwise `ctx` is None. Fields left None mean "every"
    (like cron); `minute` defaults to 0. The single scheduler process runs them; jobs must be idempotent.
    """

    name: str
    func: Callable[..., Awaitable[Any]]
    hour: int | tuple[int, ...] | None = None
    minute: int | tuple[int, ...] | None = 0
    weekday: int | tuple[int, ...] | None = None  # 0 = Monday
    day: int | tuple[int, ...] | None = None
    month: int | tuple[int, ...] | None = None
    per_tenant: bool = False
    module: str = ""
    run_at_startup: bool = False


@dataclass(frozen=True)
class NotificationKind:
    """A kind of notification a module sends: `kind` is `<module>.<event>`.

    Titles are str.format templates filled with the `data` passed to notify (vi is shown to officials; en on
    request). `audience`: the roles notified by default; `channels`: the default channels ("in_app", "email").
    """

    kind: str
    title_vi: str
    title_en: str
    audience: tuple[str, ...] = ("tenant_admin",)
    channels: tuple[str, ...] = ("in_app", "email")
    description: str = ""


@dataclass(frozen=True)
class Routes:
    """Route handlers and where core mounts them.

    - "module" (default for a plain list): `/api/v1/tenants/{tenant_code}/{module}/...` behind the tenant guard
      and the module-enabled check;
    - "tenant": `/api/v1/tenants/{tenant_code}/...` behind the tenant guard (built-in parts only);
    - "root": as declared (built-in parts only: login, health, the platform and national views).
    """

    handlers: tuple[Any, ...]
    under: Literal["module", "tenant", "root"] = "module"


@dataclass(frozen=True)
class MergeConflict:
    """Something that cannot simply move from a source tenant to the target, and the rule applied to it."""

    module: str
    kind: str  # "agency_code", "setting", "sequence", "user", ...
    key: str
    detail: str
    rule: str


@dataclass(frozen=True)
class TenantMerge:
    """A merge of `sources` into `target` effective on `effective_on`. `dry_run`: report, change nothing.

    A module's merge hook runs inside the merge's transaction and returns a `MergeReport`.
    """

    sources: tuple["TenantRef", ...]
    target: "TenantRef"
    effective_on: date
    dry_run: bool = True
    agency_code_map: dict[str, str] = field(default_factory=dict)  # source code -> code in the target


@dataclass(frozen=True)
class TenantRef:
    id: uuid.UUID
    code: str
    name: str


@dataclass(frozen=True)
class MergeReport:
    """What one module moved (rows per table) or would move, and the conflicts it found with their rules."""

    module: str
    moved: dict[str, int] = field(default_factory=dict)
    conflicts: tuple[MergeConflict, ...] = ()


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


@dataclass(frozen=True)
class DemoAgency:
    """One agency of a demo province's tree (codes name parents; dates bound its life)."""

    code: str
    name: str
    level: str
    parent: str | None = None
    required: bool = True
    valid_from: date = date(2008, 1, 1)
    valid_to: date | None = None
