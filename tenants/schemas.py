from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Literal

import msgspec

from core.schemas import NO_NUL

TenantCode = Annotated[str, msgspec.Meta(min_length=2, max_length=63, pattern=r"^[a-z0-9][a-z0-9-]*[a-z0-9]$")]


class TenantCreate(msgspec.Struct, forbid_unknown_fields=True):
    code: TenantCode
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=255, pattern=NO_NUL)]
    modules: list[str] = msgspec.field(default_factory=list)


class TenantUpdate(msgspec.Struct, forbid_unknown_fields=True):
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=255, pattern=NO_NUL)] | msgspec.UnsetType = msgspec.UNSET
    status: Literal["active", "suspended"] | msgspec.UnsetType = msgspec.UNSET


class TenantRead(msgspec.Struct):
    id: uuid.UUID
    code: str
    name: str
    status: str
    created_at: datetime
    modules: list[str]
    merged_into: str | None = None  # the successor's code, for ever, once the province was merged


class TenantList(msgspec.Struct):
    items: list[TenantRead]
    total: int


class ModuleRead(msgspec.Struct):
    name: str
    title_vi: str
    title_en: str
    version: str
    depends_on: list[str]


class TenantModuleRead(msgspec.Struct):
    name: str
    title_vi: str
    title_en: str
    version: str
    depends_on: list[str]
    enabled: bool


class ModuleSwitch(msgspec.Struct, forbid_unknown_fields=True):
    enabled: bool


class PluginRead(msgspec.Struct):
    name: str
    title_vi: str
    title_en: str
    version: str
    depends_on: list[str]
    builtin: bool
    hooks: list[str]
    distribution: str


class TenantMergeRequest(msgspec.Struct, forbid_unknown_fields=True):
    sources: Annotated[list[TenantCode], msgspec.Meta(min_length=1, max_length=20)]
    effective_on: date
    users: Literal["move", "deactivate"] = "move"
    dry_run: bool = True


class MergeConflictRead(msgspec.Struct):
    module: str
    kind: str
    key: str
    detail: str
    rule: str


class TenantMergeRead(msgspec.Struct):
    target: str
    sources: list[str]
    effective_on: date
    dry_run: bool
    users: str
    moved: dict[str, int]
    conflicts: list[MergeConflictRead]
    frozen_years: list[int]
    already_merged: list[str]
    done: bool
