"""API structs of the evidence plugin (msgspec)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

import msgspec


class EvidenceRead(msgspec.Struct):
    """A piece of evidence with the facts of its current version."""

    id: uuid.UUID
    title: str
    target_type: str | None
    target_id: str | None
    filename: str
    content_type: str
    size: int
    sha256: str
    version: int
    uploaded_by: uuid.UUID | None
    uploaded_by_name: str
    created_by: uuid.UUID | None
    created_at: datetime
    updated_at: datetime


class VersionRead(msgspec.Struct):
    evidence_id: uuid.UUID
    version: int
    filename: str
    content_type: str
    size: int
    sha256: str
    uploaded_by: uuid.UUID | None
    uploaded_by_name: str
    created_at: datetime


class SettingsRead(msgspec.Struct):
    """The tenant's effective values, the platform defaults and the highest size limit a tenant may set."""

    max_upload_bytes: int
    retention_days: int
    default_max_upload_bytes: int
    default_retention_days: int
    max_upload_bytes_ceiling: int


class SettingsUpdate(msgspec.Struct, forbid_unknown_fields=True):
    """Set a value, or send null to return to the platform default."""

    max_upload_bytes: Annotated[int, msgspec.Meta(ge=1)] | None | msgspec.UnsetType = msgspec.UNSET
    retention_days: Annotated[int, msgspec.Meta(ge=0, le=36500)] | None | msgspec.UnsetType = msgspec.UNSET
