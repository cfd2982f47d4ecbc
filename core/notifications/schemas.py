"""API structs of the inbox, the preferences and the failed-deliveries view."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

import msgspec

EmailMode = Literal["off", "immediate", "digest"]


class InboxItemRead(msgspec.Struct):
    id: uuid.UUID
    notification_id: uuid.UUID
    kind: str
    title: str
    body: str
    link: str | None
    agency_id: uuid.UUID | None
    created_at: datetime
    read: bool
    read_at: datetime | None


class InboxPage(msgspec.Struct):
    """A page of the inbox, unread first. `unread` counts all unread items, not only this page's."""

    items: list[InboxItemRead]
    total: int
    unread: int
    limit: int
    offset: int


class ReadAllResult(msgspec.Struct):
    updated: int


class PreferenceWrite(msgspec.Struct, forbid_unknown_fields=True):
    in_app: bool = True
    email: EmailMode = "immediate"


class PreferenceRead(msgspec.Struct):
    kind: str
    in_app: bool
    email: str


class PreferencesRead(msgspec.Struct):
    """The user's choices. A kind's most specific entry wins (the kind, then its dotted prefixes, then "*");
    without any entry the default applies."""

    items: list[PreferenceRead]
    default: PreferenceRead


class DeliveryRead(msgspec.Struct):
    id: uuid.UUID
    notification_id: uuid.UUID
    kind: str
    title: str
    channel: str
    user_id: uuid.UUID
    user_email: str
    status: str
    attempts: int
    last_error: str | None
    created_at: datetime
    updated_at: datetime
