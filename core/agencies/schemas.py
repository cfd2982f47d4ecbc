from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Literal

import msgspec

from core.importing import ImportError_, ImportReport  # noqa: F401 (the import report of agencies)
from core.schemas import NO_NUL

Level = Literal["province", "department", "district", "office", "commune", "unit"]
LEVELS: tuple[str, ...] = ("province", "department", "district", "office", "commune", "unit")

CODE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]*$"
Code = Annotated[str, msgspec.Meta(min_length=1, max_length=50, pattern=CODE_PATTERN)]
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=255, pattern=NO_NUL)]


class AgencyCreate(msgspec.Struct, forbid_unknown_fields=True):
    code: Code
    name: Name
    level: Level
    parent_id: uuid.UUID | None = None
    required: bool = False
    valid_from: date | None = None
    valid_to: date | None = None


class AgencyUpdate(msgspec.Struct, forbid_unknown_fields=True):
    code: Code | msgspec.UnsetType = msgspec.UNSET
    name: Name | msgspec.UnsetType = msgspec.UNSET
    level: Level | msgspec.UnsetType = msgspec.UNSET
    parent_id: uuid.UUID | None | msgspec.UnsetType = msgspec.UNSET
    required: bool | msgspec.UnsetType = msgspec.UNSET
    valid_from: date | msgspec.UnsetType = msgspec.UNSET
    valid_to: date | None | msgspec.UnsetType = msgspec.UNSET


class AgencyRead(msgspec.Struct):
    id: uuid.UUID
    code: str
    name: str
    level: str
    parent_id: uuid.UUID | None
    required: bool
    valid_from: date
    valid_to: date | None
    active: bool
    created_at: datetime
    updated_at: datetime
