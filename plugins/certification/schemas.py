"""API structs of the certification module: event inputs (one struct per kind, tagged by `kind`), reads, board.

Inputs reject unknown fields. Field shapes are checked here (types, lengths, enums); what depends on the record
(transitions, the announcement's prerequisites, the scope's contents) is checked by rules.py.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any, Literal, Union

import msgspec

Status = Literal["not_started", "building", "applying", "announced", "suspended", "withdrawn"]
Version = Literal["2008", "2015"]
Level = Literal["province", "department", "district", "office", "commune", "unit"]
OverdueReason = Literal["internal_audit", "management_review", "legal_update", "reannouncement", "conversion"]

NO_NUL = r"^[^\x00]*$"  # PostgreSQL cannot store U+0000 in text or JSON: refused as bad input (400), not a 500

Short = Annotated[str, msgspec.Meta(min_length=1, max_length=200, pattern=NO_NUL)]
Number = Annotated[str, msgspec.Meta(min_length=1, max_length=100, pattern=NO_NUL)]
Long = Annotated[str, msgspec.Meta(min_length=1, max_length=500, pattern=NO_NUL)]
Note = Annotated[str, msgspec.Meta(max_length=4000, pattern=NO_NUL)]
Procedure = Annotated[str, msgspec.Meta(min_length=1, max_length=500, pattern=NO_NUL,
                                        description="an administrative procedure (TTHC): its name or code")]
Procedures = Annotated[list[Procedure], msgspec.Meta(max_length=5000)]
DocumentRefs = Annotated[list[Annotated[str, msgspec.Meta(min_length=1, max_length=255, pattern=NO_NUL)]], msgspec.Meta(max_length=50)]


class _Event(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, tag_field="kind"):
    occurred_on: date = msgspec.field()
    note: Note | None = None
    document_refs: DocumentRefs = msgspec.field(default_factory=list)


class BuildStarted(_Event, tag="build_started"):
    """Started building the QMS (xây dựng). First-time builders normally take the 2015 version."""

    standard_version: Version = "2015"
    scope: Procedures | None = None


class ApplyStarted(_Event, tag="apply_started"):
    """Started applying the QMS (áp dụng): the cycle of audits and reviews begins."""

    scope: Procedures | None = None


class InternalAudit(_Event, tag="internal_audit"):
    """An internal audit held (đánh giá nội bộ)."""

    result: Long
    nonconformities: Annotated[int, msgspec.Meta(ge=0, le=10000)] = 0


class ManagementReview(_Event, tag="management_review"):
    """A management review held (xem xét của lãnh đạo)."""

    conclusions: Long | None = None


class HeadConfirmed(_Event, tag="head_confirmed"):
    """The head of the agency confirmed the QMS effective (xác nhận hiệu lực)."""

    confirmed_by: Short


class Announced(_Event, tag="announced"):
    """The announcement decision (Quyết định công bố HTQLCL phù hợp TCVN ISO 9001), or a re-announcement."""

    decision_number: Number
    signer: Short
    standard_version: Version | None = None
    scope: Procedures | None = None
    lead_unit_notified_on: date | None = None
    published_url: Annotated[str, msgspec.Meta(max_length=500, pattern=NO_NUL)] | None = None


class ScopeChanged(_Event, tag="scope_changed"):
    """The scope was extended (mở rộng), narrowed (thu hẹp) or adjusted (điều chỉnh)."""

    change: Literal["extended", "narrowed", "adjusted"]
    added: Procedures = msgspec.field(default_factory=list)
    removed: Procedures = msgspec.field(default_factory=list)
    description: Annotated[str, msgspec.Meta(max_length=2000, pattern=NO_NUL)] | None = None


class LegalChangeNoted(_Event, tag="legal_change_noted"):
    """A legal change that the QMS must follow within 3 months, dated when it takes effect."""

    legal_document: Long


class LegalChangeApplied(_Event, tag="legal_change_applied"):
    """The QMS was updated for a legal change: the one referenced, or every one still pending."""

    legal_change_event_id: uuid.UUID | None = None
    legal_document: Long | None = None


class VersionConverted(_Event, tag="version_converted"):
    """The QMS was converted from TCVN ISO 9001:2008 to :2015."""

    to_version: Literal["2015"] = "2015"


class Recognized(_Event, tag="recognized"):
    """A recognition decision or certificate handed to the agency (some provinces still give one)."""

    recognition_kind: Literal["decision", "certificate"]
    number: Number
    issuer: Short
    expires_on: date | None = None


class Suspended(_Event, tag="suspended"):
    reason: Long


class Resumed(_Event, tag="resumed"):
    pass


class Withdrawn(_Event, tag="withdrawn"):
    reason: Long
    decision_number: Number | None = None


EventReplacement = Union[BuildStarted, ApplyStarted, InternalAudit, ManagementReview, HeadConfirmed, Announced,
                         ScopeChanged, LegalChangeNoted, LegalChangeApplied, VersionConverted, Recognized, Suspended,
                         Resumed, Withdrawn]


class Correction(_Event, tag="correction", kw_only=True):
    """Corrects an earlier event: `void` ignores it, `replace` takes the `replacement` instead.

    A replacement names only what changes: it starts from the corrected event (or its latest replacement) and
    keeps every field it does not mention; `kind` may be left out (it is the corrected event's, and must be if
    given). The correction is itself an event (dated the day it is made, by default today); nothing is
    rewritten."""

    occurred_on: date | None = None
    corrects_event_id: uuid.UUID
    action: Literal["void", "replace"]
    reason: Long
    replacement: Annotated[dict[str, Any], msgspec.Meta(
        description="the fields of the corrected event that change (any of its kind's fields; `kind` optional)")] \
        | None = None


EventCreate = Union[BuildStarted, ApplyStarted, InternalAudit, ManagementReview, HeadConfirmed, Announced,
                    ScopeChanged, LegalChangeNoted, LegalChangeApplied, VersionConverted, Recognized, Suspended,
                    Resumed, Withdrawn, Correction]


class RecordCreate(msgspec.Struct, forbid_unknown_fields=True):
    agency_id: uuid.UUID


class Announcement(msgspec.Struct):
    event_id: uuid.UUID
    on: date
    number: str | None
    signer: str | None
    version: str | None
    scope_count: int
    reannouncement: bool
    reason: str | None = None


class PendingLegalChange(msgspec.Struct):
    event_id: uuid.UUID
    document: str | None
    noted_on: date
    due_on: date


class RecordRead(msgspec.Struct):
    id: uuid.UUID
    agency_id: uuid.UUID
    agency_code: str
    agency_name: str
    agency_level: str
    agency_required: bool
    status: str
    status_since: date | None
    standard_version: str | None
    building_started_on: date | None
    applying_started_on: date | None
    converted_on: date | None
    scope: list[str]
    scope_count: int
    announcement_number: str | None
    announced_on: date | None
    announcement_signer: str | None
    announcements: list[Announcement]
    reannouncement_due: bool
    reannouncement_due_since: date | None
    reannouncement_reason: str | None
    last_internal_audit_on: date | None
    last_internal_audit_result: str | None
    last_internal_audit_nonconformities: int | None
    last_management_review_on: date | None
    head_confirmed_on: date | None
    last_legal_update_on: date | None
    pending_legal_changes: list[PendingLegalChange]
    internal_audit_due_on: date | None
    management_review_due_on: date | None
    legal_update_due_on: date | None
    recognition_kind: str | None
    recognition_number: str | None
    recognition_issuer: str | None
    recognition_date: date | None
    recognition_expires_on: date | None
    last_event_on: date | None
    event_count: int
    overdue_reasons: list[str]
    created_at: datetime
    updated_at: datetime


class EventRead(msgspec.Struct):
    id: uuid.UUID
    record_id: uuid.UUID
    agency_id: uuid.UUID
    seq: int
    kind: str
    occurred_on: date
    note: str | None
    data: dict[str, Any]
    corrects_event_id: uuid.UUID | None
    recorded_by: str
    recorded_at: datetime
    correction: Literal["voided", "replaced"] | None = None
    corrected_by_event_id: uuid.UUID | None = None


class EventResult(msgspec.Struct):
    event: EventRead
    record: RecordRead


class BoardRow(msgspec.Struct):
    agency_id: uuid.UUID
    agency_code: str
    agency_name: str
    level: str
    required: bool
    parent_id: uuid.UUID | None
    active: bool
    record_id: uuid.UUID | None
    status: str
    standard_version: str | None
    announcement_number: str | None
    announced_on: date | None
    announcement_signer: str | None
    scope_count: int
    last_internal_audit_on: date | None
    last_management_review_on: date | None
    last_legal_update_on: date | None
    internal_audit_due_on: date | None
    management_review_due_on: date | None
    legal_update_due_on: date | None
    reannouncement_due: bool
    recognition_number: str | None
    recognition_issuer: str | None
    recognition_date: date | None
    recognition_expires_on: date | None
    overdue: bool
    overdue_reasons: list[str]


class BoardPage(msgspec.Struct):
    items: list[BoardRow]
    total: int
    limit: int
    offset: int
    as_of: date


class Breakdown(msgspec.Struct):
    total: int
    by_status: dict[str, int]


class BoardSummary(msgspec.Struct):
    as_of: date
    total: int
    by_status: dict[str, int]
    by_level: dict[str, Breakdown]
    by_required: dict[str, Breakdown]
    by_version: dict[str, int]
    reannouncement_due: int
    overdue: int
    overdue_by_reason: dict[str, int]


class SettingsRead(msgspec.Struct):
    conversion_deadline: date | None
    conversion_deadline_reference: str | None
    updated_at: datetime | None


class SettingsUpdate(msgspec.Struct, forbid_unknown_fields=True):
    conversion_deadline: date | None | msgspec.UnsetType = msgspec.UNSET
    conversion_deadline_reference: Annotated[str, msgspec.Meta(max_length=255, pattern=NO_NUL)] | None | msgspec.UnsetType = \
        msgspec.UNSET
