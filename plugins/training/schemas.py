"""API structs of the training module. Inputs reject unknown fields; shapes are checked here, rules that depend
on stored state (transitions, capacity, quotas, thresholds) in services.py."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated, Literal

import msgspec

from core.schemas import NO_NUL

Status = Literal["planned", "open", "held", "closed", "cancelled"]
CertStatus = Literal["valid", "revoked"]
Level = Literal["province", "department", "district", "office", "commune", "unit"]

CODE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]*$"
Code = Annotated[str, msgspec.Meta(min_length=1, max_length=50, pattern=CODE_PATTERN)]
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=255, pattern=NO_NUL)]
Title = Annotated[str, msgspec.Meta(min_length=1, max_length=500, pattern=NO_NUL)]
Text500 = Annotated[str, msgspec.Meta(max_length=500, pattern=NO_NUL)]
Text255 = Annotated[str, msgspec.Meta(max_length=255, pattern=NO_NUL)]
Note = Annotated[str, msgspec.Meta(max_length=4000, pattern=NO_NUL)]
Reason = Annotated[str, msgspec.Meta(min_length=1, max_length=2000, pattern=NO_NUL)]
Symbol = Annotated[str, msgspec.Meta(min_length=1, max_length=30, pattern=r"^[^\x00/\s][^\x00/]*$")]
Percent = Annotated[int, msgspec.Meta(ge=0, le=100)]
Score = Annotated[float, msgspec.Meta(ge=0, le=10)]
Months = Annotated[int, msgspec.Meta(ge=1, le=600)]
Capacity = Annotated[int, msgspec.Meta(ge=1, le=100000)]
Quota = Annotated[int, msgspec.Meta(ge=0, le=100000)]
Ids = Annotated[list[uuid.UUID], msgspec.Meta(max_length=1000)]
PersonName = Annotated[str, msgspec.Meta(min_length=1, max_length=200, pattern=NO_NUL)]
Position = Annotated[str, msgspec.Meta(max_length=200, pattern=NO_NUL)]
Email = Annotated[str, msgspec.Meta(max_length=254, pattern=r"^[^@\s\x00]+@[^@\s\x00]+$")]
Phone = Annotated[str, msgspec.Meta(max_length=30, pattern=NO_NUL)]


# ------------------------------------------------------------------------------------------------ kinds


class KindCreate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    code: Code
    name: Name
    description: Note = ""
    attendance_threshold: Percent = 80
    has_exam: bool = False
    pass_score: Score | None = None
    gives_certificate: bool = True
    validity_months: Months | None = None
    certificate_symbol: Symbol = "CN-TĐC"
    internal_auditor: bool = False


class KindUpdate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    name: Name | msgspec.UnsetType = msgspec.UNSET
    description: Note | msgspec.UnsetType = msgspec.UNSET
    attendance_threshold: Percent | msgspec.UnsetType = msgspec.UNSET
    has_exam: bool | msgspec.UnsetType = msgspec.UNSET
    pass_score: Score | None | msgspec.UnsetType = msgspec.UNSET
    gives_certificate: bool | msgspec.UnsetType = msgspec.UNSET
    validity_months: Months | None | msgspec.UnsetType = msgspec.UNSET
    certificate_symbol: Symbol | msgspec.UnsetType = msgspec.UNSET
    internal_auditor: bool | msgspec.UnsetType = msgspec.UNSET
    active: bool | msgspec.UnsetType = msgspec.UNSET


class KindRead(msgspec.Struct):
    id: uuid.UUID
    code: str
    name: str
    description: str
    attendance_threshold: int
    has_exam: bool
    pass_score: float | None
    gives_certificate: bool
    validity_months: int | None
    certificate_symbol: str
    internal_auditor: bool
    active: bool


# ------------------------------------------------------------------------------------------------ sessions


class SessionCreate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    kind_id: uuid.UUID
    title: Title
    starts_on: date
    ends_on: date | None = None
    place: Text500 = ""
    locality_ids: Ids = msgspec.field(default_factory=list)
    locality_label: Text255 = ""
    organiser_agency_id: uuid.UUID | None = None
    organiser: Text255 = ""
    trainer_ids: Ids = msgspec.field(default_factory=list)
    capacity: Capacity = 100
    registration_closes_on: date | None = None


class SessionUpdate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    title: Title | msgspec.UnsetType = msgspec.UNSET
    starts_on: date | msgspec.UnsetType = msgspec.UNSET
    ends_on: date | msgspec.UnsetType = msgspec.UNSET
    place: Text500 | msgspec.UnsetType = msgspec.UNSET
    locality_ids: Ids | msgspec.UnsetType = msgspec.UNSET
    locality_label: Text255 | msgspec.UnsetType = msgspec.UNSET
    organiser_agency_id: uuid.UUID | None | msgspec.UnsetType = msgspec.UNSET
    organiser: Text255 | msgspec.UnsetType = msgspec.UNSET
    trainer_ids: Ids | msgspec.UnsetType = msgspec.UNSET
    capacity: Capacity | msgspec.UnsetType = msgspec.UNSET
    registration_closes_on: date | None | msgspec.UnsetType = msgspec.UNSET


class Transition(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    to: Status
    reason: Reason | None = None
    on: date | None = None  # the day it happened (default today); closing issues certificates dated so


class SessionRead(msgspec.Struct):
    id: uuid.UUID
    kind_id: uuid.UUID
    kind_code: str
    kind_name: str
    title: str
    starts_on: date
    ends_on: date
    days: int
    place: str
    locality_ids: list[uuid.UUID]
    locality_label: str
    organiser_agency_id: uuid.UUID | None
    organiser: str
    trainer_ids: list[uuid.UUID]
    capacity: int
    registration_closes_on: date | None
    status: str
    status_reason: str | None
    status_changed_on: date | None
    held_on: date | None
    closed_on: date | None
    registered: int
    certificates_issued: int = 0
    registration_open: bool = False  # open, before the closing date and the last day, below capacity


class TransitionResult(msgspec.Struct):
    session: SessionRead
    certificates_issued: int
    notified: int


# ------------------------------------------------------------------------------------------------ invitations


class InvitationCreate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    agency_id: uuid.UUID
    quota: Quota


class InvitationRead(msgspec.Struct):
    id: uuid.UUID
    session_id: uuid.UUID
    agency_id: uuid.UUID
    agency_name: str
    quota: int
    registered: int
    invited_on: date


# ------------------------------------------------------------------------------------------------ people and registrations


class NewPerson(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A person to add to the directory when missing (same rules as the people directory)."""

    full_name: PersonName
    agency_id: uuid.UUID
    position: Position = ""
    email: Email | None = None
    phone: Phone | None = None


class PersonRead(msgspec.Struct):
    id: uuid.UUID
    full_name: str
    agency_id: uuid.UUID | None
    position: str
    email: str | None
    phone: str | None
    closed_on: date | None


class RegistrationCreate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Register a person of the directory (`person_id`), or add one when missing (`person`)."""

    person_id: uuid.UUID | None = None
    person: NewPerson | None = None


class RegistrationRead(msgspec.Struct):
    id: uuid.UUID
    session_id: uuid.UUID
    person_id: uuid.UUID
    agency_id: uuid.UUID | None
    full_name: str
    position: str
    status: str
    source: str
    registered_on: date
    attended_days: list[date]
    attended_count: int
    score: float | None
    eligible: bool | None = None  # meets the kind's threshold (and passed), once the session is held


class AttendanceDay(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Who attended on one day of the session: every registration listed is present, every other absent."""

    day: date
    present: Ids


class ScoreItem(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    registration_id: uuid.UUID
    score: Score | None


class Scores(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    scores: Annotated[list[ScoreItem], msgspec.Meta(min_length=1, max_length=1000)]


class ImportErrorItem(msgspec.Struct):
    line: int
    field: str | None
    message: str


class ImportReport(msgspec.Struct):
    dry_run: bool
    rows: int
    valid: bool
    registered: int
    people_created: int
    errors: list[ImportErrorItem]


# ------------------------------------------------------------------------------------------------ certificates


class Revocation(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    reason: Reason
    on: date | None = None


class CertificateRead(msgspec.Struct):
    id: uuid.UUID
    number_text: str
    number: int
    year: int
    session_id: uuid.UUID
    kind_id: uuid.UUID
    registration_id: uuid.UUID
    person_id: uuid.UUID
    agency_id: uuid.UUID | None
    full_name: str
    position: str
    issued_on: date
    expires_on: date | None
    internal_auditor: bool
    status: str
    revoked_on: date | None
    revoked_reason: str | None
    revoked_by: str | None
    valid_today: bool = False


# ------------------------------------------------------------------------------------------------ coverage and history


class CoverageRow(msgspec.Struct):
    agency_id: uuid.UUID
    agency_code: str
    agency_name: str
    level: str
    required: bool
    parent_id: uuid.UUID | None
    trained_staff: int
    valid_internal_auditors: int
    has_internal_auditor: bool
    sessions: int


class CoveragePage(msgspec.Struct):
    items: list[CoverageRow]
    total: int
    limit: int
    offset: int
    year: int
    on: date
    agencies_trained: int
    agencies_with_internal_auditor: int
    required_without_internal_auditor: int


class HistorySession(msgspec.Struct):
    session_id: uuid.UUID
    title: str
    kind_name: str
    starts_on: date
    ends_on: date
    status: str
    role: str  # participant | trainer
    registration_status: str | None
    attended_count: int | None
    score: float | None


class History(msgspec.Struct):
    subject: Literal["person", "agency"]
    subject_id: uuid.UUID
    name: str
    sessions: list[HistorySession]
    certificates: list[CertificateRead]

