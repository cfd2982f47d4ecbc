from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

import msgspec

from core.schemas import NO_NUL

TenantRole = Literal["tenant_admin", "inspector", "agency_officer", "viewer"]
Email = Annotated[str, msgspec.Meta(min_length=3, max_length=254, pattern=r"^[^@\s\x00]+@[^@\s\x00]+\.[^@\s\x00]+$")]
Password = Annotated[str, msgspec.Meta(min_length=8, max_length=200)]
FullName = Annotated[str, msgspec.Meta(min_length=1, max_length=200, pattern=NO_NUL)]


class UserCreate(msgspec.Struct, forbid_unknown_fields=True):
    email: Email
    full_name: FullName
    role: TenantRole
    password: Password
    agency_id: uuid.UUID | None = None


class PlatformUserCreate(msgspec.Struct, forbid_unknown_fields=True):
    """A platform_admin or national_reviewer (CLI): the rules of UserCreate, without a tenant."""

    email: Email
    full_name: FullName
    password: Password


class UserUpdate(msgspec.Struct, forbid_unknown_fields=True):
    full_name: FullName | msgspec.UnsetType = msgspec.UNSET
    role: TenantRole | msgspec.UnsetType = msgspec.UNSET
    agency_id: uuid.UUID | None | msgspec.UnsetType = msgspec.UNSET
    active: bool | msgspec.UnsetType = msgspec.UNSET
    password: Password | msgspec.UnsetType = msgspec.UNSET


class UserRead(msgspec.Struct):
    id: uuid.UUID
    email: str
    full_name: str
    role: str
    agency_id: uuid.UUID | None
    active: bool
    created_at: datetime
    last_login_at: datetime | None
