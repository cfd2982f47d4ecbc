"""API structs of the awards module. Inputs reject unknown fields; shapes are checked here, rules in services.py."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any, Literal

import msgspec

from core.schemas import NO_NUL

FormLevel = Literal["department", "province", "ministry", "national"]
Subject = Literal["collective", "individual"]
Status = Literal["draft", "submitted", "reviewed", "approved", "raised", "rejected"]
CriterionStatus = Literal["met", "unmet", "unknown"]

Short = Annotated[str, msgspec.Meta(min_length=1, max_length=200, pattern=NO_NUL)]
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=255, pattern=NO_NUL)]
LongName = Annotated[str, msgspec.Meta(min_length=1, max_length=500, pattern=NO_NUL)]
Text = Annotated[str, msgspec.Meta(min_length=1, max_length=8000, pattern=NO_NUL)]
Note = Annotated[str, msgspec.Meta(max_length=4000, pattern=NO_NUL)]
Reason = Annotated[str, msgspec.Meta(min_length=5, max_length=2000, pattern=NO_NUL,
                                     description="a written reason (at least 5 characters)")]
Code = Annotated[str, msgspec.Meta(min_length=1, max_length=60, pattern=r"^[A-Za-z0-9_]+$",
                                   description="letters, digits and _; stored in lower case")]
Criterion = Annotated[str, msgspec.Meta(min_length=1, max_length=120, pattern=r"^[A-Za-z0-9_:]+$",
                                        description="a criterion code, see GET /awards/criteria")]
Criteria = Annotated[list[Criterion], msgspec.Meta(max_length=20)]
TextList = Annotated[list[Annotated[str, msgspec.Meta(min_length=1, max_length=1000, pattern=NO_NUL)]],
                     msgspec.Meta(max_length=50)]
Year = Annotated[int, msgspec.Meta(ge=1990, le=2100)]
Votes = Annotated[int, msgspec.Meta(ge=0, le=1000)]
Number = Annotated[str, msgspec.Meta(min_length=1, max_length=100, pattern=NO_NUL)]


class _In(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    pass


# ----------------------------------------------------------------------------------------------- settings


class SettingsRead(msgspec.Struct):
    approval_threshold_percent: int
    issuer: str
    place_name: str
    signer_title: str
    updated_at: datetime | None


class SettingsUpdate(_In):
    approval_threshold_percent: Annotated[int, msgspec.Meta(ge=0, le=99)] | msgspec.UnsetType = msgspec.UNSET
    issuer: Name | msgspec.UnsetType = msgspec.UNSET
    place_name: Annotated[str, msgspec.Meta(min_length=1, max_length=100, pattern=NO_NUL)] | msgspec.UnsetType = \
        msgspec.UNSET
    signer_title: Short | msgspec.UnsetType = msgspec.UNSET


# ----------------------------------------------------------------------------------------------- forms


class CriterionInfo(msgspec.Struct):
    code: str
    title_vi: str
    module: str | None
    applies_to: list[str]


class FormCreate(_In):
    code: Code
    name: Name
    level: FormLevel
    issuer: Annotated[str, msgspec.Meta(max_length=255, pattern=NO_NUL)] = ""
    for_collective: bool = True
    for_individual: bool = True
    criteria: Criteria = msgspec.field(default_factory=list)


class FormUpdate(_In):
    name: Name | msgspec.UnsetType = msgspec.UNSET
    level: FormLevel | msgspec.UnsetType = msgspec.UNSET
    issuer: Annotated[str, msgspec.Meta(max_length=255, pattern=NO_NUL)] | msgspec.UnsetType = msgspec.UNSET
    for_collective: bool | msgspec.UnsetType = msgspec.UNSET
    for_individual: bool | msgspec.UnsetType = msgspec.UNSET
    criteria: Criteria | msgspec.UnsetType = msgspec.UNSET
    active: bool | msgspec.UnsetType = msgspec.UNSET


class FormRead(msgspec.Struct):
    id: uuid.UUID
    code: str
    name: str
    level: str
    issuer: str
    for_collective: bool
    for_individual: bool
    criteria: list[str]
    active: bool
    created_at: datetime
    updated_at: datetime


# ----------------------------------------------------------------------------------------------- movements


class MovementCreate(_In):
    year: Year
    name: LongName
    period_from: date
    period_to: date
    criteria: TextList = msgspec.field(default_factory=list)
    description: Note = ""


class MovementUpdate(_In):
    name: LongName | msgspec.UnsetType = msgspec.UNSET
    period_from: date | msgspec.UnsetType = msgspec.UNSET
    period_to: date | msgspec.UnsetType = msgspec.UNSET
    criteria: TextList | msgspec.UnsetType = msgspec.UNSET
    description: Note | msgspec.UnsetType = msgspec.UNSET


class MovementRead(msgspec.Struct):
    id: uuid.UUID
    year: int
    name: str
    period_from: date
    period_to: date
    criteria: list[str]
    description: str
    created_at: datetime
    updated_at: datetime


# ----------------------------------------------------------------------------------------------- proposals


class ProposalCreate(_In):
    form_id: uuid.UUID
    subject: Subject
    achievement: Text
    year: Year | None = None
    movement_id: uuid.UUID | None = None
    agency_id: uuid.UUID | None = None  # the collective; for an individual: the agency at the time (default: theirs)
    person_id: uuid.UUID | None = None
    position: Annotated[str, msgspec.Meta(max_length=200, pattern=NO_NUL)] | None = None
    evidence: TextList = msgspec.field(default_factory=list)


class ProposalUpdate(_In):
    achievement: Text | msgspec.UnsetType = msgspec.UNSET
    form_id: uuid.UUID | msgspec.UnsetType = msgspec.UNSET
    movement_id: uuid.UUID | None | msgspec.UnsetType = msgspec.UNSET
    position: Annotated[str, msgspec.Meta(max_length=200, pattern=NO_NUL)] | msgspec.UnsetType = msgspec.UNSET
    evidence: TextList | msgspec.UnsetType = msgspec.UNSET


class OverrideCreate(_In):
    criterion: Criterion
    reason: Reason


class ReviewInput(_In):
    note: Note = ""


class RejectInput(_In):
    reason: Reason


class CriterionResult(msgspec.Struct):
    code: str
    title_vi: str
    module: str | None
    status: CriterionStatus
    explanation: str
    overridden: bool = False
    override_reason: str | None = None
    override_by: str | None = None
    override_at: str | None = None


class Eligibility(msgspec.Struct):
    on: date
    eligible: bool  # every criterion met or overridden
    criteria: list[CriterionResult]


class ProposalRead(msgspec.Struct):
    id: uuid.UUID
    year: int
    movement_id: uuid.UUID | None
    form_id: uuid.UUID
    form_code: str
    form_name: str
    subject: str
    agency_id: uuid.UUID
    person_id: uuid.UUID | None
    awardee_name: str
    agency_name: str
    position: str
    achievement: str
    evidence: list[str]
    status: str
    status_reason: str | None
    raised_to: str | None
    proposed_by: str
    submitted_at: datetime | None
    reviewed_at: datetime | None
    review_note: str | None
    meeting_id: uuid.UUID | None
    votes_for: int | None
    votes_against: int | None
    decided_at: datetime | None
    decision_id: uuid.UUID | None
    decision_number: str | None
    awarded_on: date | None
    locked: bool
    eligibility: Eligibility
    submitted_eligibility: list[dict[str, Any]]
    created_at: datetime
    updated_at: datetime


# ----------------------------------------------------------------------------------------------- meetings


class Member(_In):
    full_name: Short
    position: Annotated[str, msgspec.Meta(max_length=200, pattern=NO_NUL)] = ""
    user_id: uuid.UUID | None = None


class MeetingCreate(_In):
    held_on: date
    members: Annotated[list[Member], msgspec.Meta(min_length=1, max_length=100)]
    proposal_ids: Annotated[list[uuid.UUID], msgspec.Meta(min_length=1, max_length=1000)]
    place: Annotated[str, msgspec.Meta(max_length=255, pattern=NO_NUL)] = ""
    note: Note = ""


class VoteResult(_In):
    proposal_id: uuid.UUID
    votes_for: Votes
    votes_against: Votes
    raise_to: Name | None = None  # agreed, and proposed to a higher level (e.g. "Bộ Khoa học và Công nghệ")


class ResultsInput(_In):
    results: Annotated[list[VoteResult], msgspec.Meta(min_length=1, max_length=1000)]


class MemberRead(msgspec.Struct):
    full_name: str
    position: str
    user_id: uuid.UUID | None


class MeetingRead(msgspec.Struct):
    id: uuid.UUID
    held_on: date
    place: str
    members: list[MemberRead]
    member_count: int
    status: str
    threshold_percent: int | None
    note: str
    results_at: datetime | None
    proposal_ids: list[uuid.UUID]
    created_at: datetime
    updated_at: datetime


class MeetingResult(msgspec.Struct):
    meeting: MeetingRead
    outcomes: dict[str, str]  # proposal id -> approved | raised | rejected


# ----------------------------------------------------------------------------------------------- decisions


class DecisionCreate(_In):
    number: Number
    decided_on: date
    signer: Short
    form_id: uuid.UUID
    proposal_ids: Annotated[list[uuid.UUID], msgspec.Meta(min_length=1, max_length=2000)]
    signer_title: Short | None = None
    movement_id: uuid.UUID | None = None
    title: Annotated[str, msgspec.Meta(max_length=1000, pattern=NO_NUL)] = ""


class DecisionUpdate(_In):
    number: Number | msgspec.UnsetType = msgspec.UNSET
    decided_on: date | msgspec.UnsetType = msgspec.UNSET
    signer: Short | msgspec.UnsetType = msgspec.UNSET
    signer_title: Short | msgspec.UnsetType = msgspec.UNSET
    title: Annotated[str, msgspec.Meta(max_length=1000, pattern=NO_NUL)] | msgspec.UnsetType = msgspec.UNSET
    proposal_ids: Annotated[list[uuid.UUID], msgspec.Meta(min_length=1, max_length=2000)] | msgspec.UnsetType = \
        msgspec.UNSET


class Awardee(msgspec.Struct):
    proposal_id: uuid.UUID
    subject: str
    awardee_name: str
    agency_id: uuid.UUID
    agency_name: str
    person_id: uuid.UUID | None
    position: str
    achievement: str


class DecisionRead(msgspec.Struct):
    id: uuid.UUID
    number: str
    decided_on: date
    year: int
    issuer: str
    signer: str
    signer_title: str
    form_id: uuid.UUID
    form_code: str
    form_name: str
    movement_id: uuid.UUID | None
    title: str
    status: str
    issued_at: datetime | None
    collectives: int
    individuals: int
    awardees: list[Awardee]
    created_at: datetime
    updated_at: datetime


# ----------------------------------------------------------------------------------------------- history


class HistoryRow(msgspec.Struct):
    proposal_id: uuid.UUID
    year: int
    awarded_on: date
    subject: str
    awardee_name: str
    agency_id: uuid.UUID
    agency_name: str
    person_id: uuid.UUID | None
    position: str
    form_code: str
    form_name: str
    level: str
    decision_id: uuid.UUID
    decision_number: str
    achievement: str
