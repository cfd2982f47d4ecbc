"""API structs of the people directory."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated

import msgspec

from core.schemas import NO_NUL

EMAIL_PATTERN = r"^[^@\s\x00]+@[^@\s\x00]+\.[^@\s\x00]+$"
# Digits with the usual separators, an optional leading "+" or "(": "0912 345 678", "+84 912.345.678",
# "(024) 3825 1234".
PHONE_PATTERN = r"^[+(]?[0-9][0-9 .()-]{4,27}[0-9]$"

FullName = Annotated[str, msgspec.Meta(min_length=1, max_length=200, pattern=NO_NUL)]
Position = Annotated[str, msgspec.Meta(max_length=200, pattern=NO_NUL)]
Email = Annotated[str, msgspec.Meta(min_length=3, max_length=254, pattern=EMAIL_PATTERN)]
Phone = Annotated[str, msgspec.Meta(min_length=6, max_length=30, pattern=PHONE_PATTERN)]


class PersonCreate(msgspec.Struct, forbid_unknown_fields=True):
    full_name: FullName
    agency_id: uuid.UUID | None = None
    position: Position = ""
    email: Email | None = None
    phone: Phone | None = None
    user_id: uuid.UUID | None = None


class PersonUpdate(msgspec.Struct, forbid_unknown_fields=True):
    full_name: FullName | msgspec.UnsetType = msgspec.UNSET
    agency_id: uuid.UUID | None | msgspec.UnsetType = msgspec.UNSET
    position: Position | msgspec.UnsetType = msgspec.UNSET
    email: Email | None | msgspec.UnsetType = msgspec.UNSET
    phone: Phone | None | msgspec.UnsetType = msgspec.UNSET
    user_id: uuid.UUID | None | msgspec.UnsetType = msgspec.UNSET


class PersonRead(msgspec.Struct):
    id: uuid.UUID
    full_name: str
    agency_id: uuid.UUID | None
    position: str
    email: str | None
    phone: str | None
    user_id: uuid.UUID | None
    closed_on: date | None
    active: bool
    created_at: datetime
    updated_at: datetime
