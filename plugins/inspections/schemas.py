"""API structs of the inspections module. Inputs reject unknown fields; shapes are checked here, rules in
services.py (states, coverage, eligibility)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any, Literal

import msgspec

NO_NUL = r"^[^\x00]*$"
Form = Literal["on_site", "documents"]
PlanStatus = Literal["draft", "submitted", "approved", "closed", "superseded"]
MemberRole = Literal["head", "deputy", "member", "secretary"]
Answer = Literal["compliant", "minor", "major", "observation", "not_applicable"]
Severity = Literal["minor", "major", "observation"]
FindingStatus = Literal["draft", "open", "action_reported", "deferred", "closed", "superseded"]

Short = Annotated[str, msgspec.Meta(min_length=1, max_length=200, pattern=NO_NUL)]
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=255, pattern=NO_NUL)]
Title = Annotated[str, msgspec.Meta(min_length=1, max_length=500, pattern=NO_NUL)]
Number = Annotated[str, msgspec.Meta(min_length=1, max_length=100, pattern=NO_NUL)]
Text = Annotated[str, msgspec.Meta(min_length=1, max_length=8000, pattern=NO_NUL)]
Note = Annotated[str, msgspec.Meta(max_length=4000, pattern=NO_NUL)]
Year = Annotated[int, msgspec.Meta(ge=2014, le=2100)]
Month = Annotated[int, msgspec.Meta(ge=1, le=12)]
Budget = Annotated[int, msgspec.Meta(ge=0, le=10**15)]
ItemCode = Annotated[str, msgspec.Meta(min_length=1, max_length=20, pattern=r"^[A-Za-z0-9._-]+$")]


class _In(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    pass


# ------------------------------------------------------------------------------------------------ settings


class SettingsRead(msgspec.Struct, kw_only=True):
    on_site_share_num: int
    on_site_share_den: int
    remind_days_before: int
    inspecting_unit: str


class SettingsUpdate(_In):
    on_site_share_num: Annotated[int, msgspec.Meta(ge=1, le=100)] | msgspec.UnsetType = msgspec.UNSET
    on_site_share_den: Annotated[int, msgspec.Meta(ge=1, le=100)] | msgspec.UnsetType = msgspec.UNSET
    remind_days_before: Annotated[int, msgspec.Meta(ge=1, le=60)] | msgspec.UnsetType = msgspec.UNSET
    inspecting_unit: Name | msgspec.UnsetType = msgspec.UNSET


# ------------------------------------------------------------------------------------------------ plans


class LineIn(_In):
    agency_id: uuid.UUID
    form: Form
    inspecting_unit: Name | None = None
    cooperating_units: Annotated[list[Name], msgspec.Meta(max_length=20)] = msgspec.field(default_factory=list)
    expected_month: Month | None = None
    expected_from: date | None = None
    expected_to: date | None = None
    budget_vnd: Budget = 0
    team_label: Short | None = None
    note: Note | None = None


class LineUpdate(_In):
    form: Form | msgspec.UnsetType = msgspec.UNSET
    inspecting_unit: Name | msgspec.UnsetType = msgspec.UNSET
    cooperating_units: Annotated[list[Name], msgspec.Meta(max_length=20)] | msgspec.UnsetType = msgspec.UNSET
    expected_month: Month | None | msgspec.UnsetType = msgspec.UNSET
    expected_from: date | None | msgspec.UnsetType = msgspec.UNSET
    expected_to: date | None | msgspec.UnsetType = msgspec.UNSET
    budget_vnd: Budget | msgspec.UnsetType = msgspec.UNSET
    team_label: Short | None | msgspec.UnsetType = msgspec.UNSET
    note: Note | None | msgspec.UnsetType = msgspec.UNSET


class PlanCreate(_In):
    year: Year
    title: Title | None = None
    note: Note | None = None
    lines: Annotated[list[LineIn], msgspec.Meta(max_length=20000)] = msgspec.field(default_factory=list)


class PlanUpdate(_In):
    title: Title | msgspec.UnsetType = msgspec.UNSET
    note: Note | None | msgspec.UnsetType = msgspec.UNSET


class PlanApprove(_In):
    decision_number: Number
    decision_date: date
    decision_signer: Short


class ReasonIn(_In):
    reason: Text


class Reason(msgspec.Struct, kw_only=True):
    code: str
    text: str
    points: int


class LineRead(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    plan_id: uuid.UUID
    agency_id: uuid.UUID
    agency_code: str
    agency_name: str
    agency_level: str
    required: bool
    form: str
    inspecting_unit: str
    cooperating_units: list[str]
    expected_month: int | None
    expected_from: date | None
    expected_to: date | None
    budget_vnd: int
    team_label: str | None
    risk_score: int | None
    reasons: list[Reason]
    note: str | None


class MissingAgency(msgspec.Struct, kw_only=True):
    agency_id: uuid.UUID
    code: str
    name: str


class Coverage(msgspec.Struct, kw_only=True):
    year: int
    required: int
    in_plan: int
    missing: list[MissingAgency]
    on_site_required: int
    on_site: int
    on_site_shortfall: int
    share: str
    ok: bool


class PlanRead(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    year: int
    revision: int
    status: str
    title: str
    note: str | None
    on_site_share: str
    decision_number: str | None
    decision_date: date | None
    decision_signer: str | None
    revises_id: uuid.UUID | None
    revision_reason: str | None
    history: list[dict[str, Any]]
    created_at: datetime
    updated_at: datetime
    lines: list[LineRead] = msgspec.field(default_factory=list)
    coverage: Coverage | None = None
    revisions: list[dict[str, Any]] = msgspec.field(default_factory=list)


class PlanSummary(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    year: int
    revision: int
    status: str
    title: str
    decision_number: str | None
    decision_date: date | None
    updated_at: datetime


class ProposalIn(_In):
    months: Annotated[list[Month], msgspec.Meta(min_length=1, max_length=12)] = msgspec.field(
        default_factory=lambda: [3, 4, 5, 6, 7, 8, 9, 10])
    teams: Annotated[list[Short], msgspec.Meta(min_length=1, max_length=50)] = msgspec.field(
        default_factory=lambda: ["Đoàn 1"])
    visits_per_day: Annotated[int, msgspec.Meta(ge=1, le=10)] = 2
    include_voluntary: bool = False
    create_draft: bool = False


class ProposalLine(msgspec.Struct, kw_only=True):
    agency_id: uuid.UUID
    agency_code: str
    agency_name: str
    agency_level: str
    required: bool
    form: str
    risk_score: int
    reasons: list[Reason]
    visit_on: date | None
    team_label: str | None


class Proposal(msgspec.Struct, kw_only=True):
    year: int
    share: str
    required: int
    on_site_required: int
    lines: list[ProposalLine]
    plan_id: uuid.UUID | None = None
    warnings: list[str] = msgspec.field(default_factory=list)


# ------------------------------------------------------------------------------------------------ teams


class TeamCreate(_In):
    year: Year
    decision_number: Number
    decision_date: date
    issuer: Name
    signer: Short | None = None
    title: Title | None = None
    plan_id: uuid.UUID | None = None


class TeamUpdate(_In):
    decision_number: Number | msgspec.UnsetType = msgspec.UNSET
    decision_date: date | msgspec.UnsetType = msgspec.UNSET
    issuer: Name | msgspec.UnsetType = msgspec.UNSET
    signer: Short | msgspec.UnsetType = msgspec.UNSET
    title: Title | msgspec.UnsetType = msgspec.UNSET


class MemberIn(_In):
    person_id: uuid.UUID
    role: MemberRole = "member"


class MemberRead(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    team_id: uuid.UUID
    person_id: uuid.UUID
    role: str
    full_name: str
    agency_id: uuid.UUID | None
    agency_name: str
    position: str
    eligibility: str
    eligibility_note: str


class TeamRead(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    year: int
    plan_id: uuid.UUID | None
    decision_number: str
    decision_date: date
    issuer: str
    signer: str
    title: str
    members: list[MemberRead] = msgspec.field(default_factory=list)
    warnings: list[str] = msgspec.field(default_factory=list)


# ------------------------------------------------------------------------------------------------ visits


class VisitCreate(_In):
    agency_id: uuid.UUID
    form: Form
    scheduled_on: date
    team_id: uuid.UUID | None = None
    plan_id: uuid.UUID | None = None
    note: Note | None = None


class VisitMove(_In):
    scheduled_on: date
    reason: Text | None = None


class VisitRead(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    year: int
    plan_id: uuid.UUID | None
    team_id: uuid.UUID | None
    agency_id: uuid.UUID
    agency_name: str
    form: str
    scheduled_on: date
    status: str
    history: list[dict[str, Any]]
    note: str | None
    warnings: list[str] = msgspec.field(default_factory=list)


# ------------------------------------------------------------------------------------------------ checklist


class TemplateItem(_In):
    code: ItemCode
    group: Literal["standard", "decision19"]
    text: Title
    fact: Annotated[str, msgspec.Meta(max_length=80, pattern=r"^[A-Za-z0-9_.]*$")] | None = None


class TemplateCreate(_In):
    title: Title
    items: Annotated[list[TemplateItem], msgspec.Meta(min_length=1, max_length=300)]


class TemplateRead(msgspec.Struct, kw_only=True):
    version: int
    title: str
    items: list[dict[str, Any]]
    builtin: bool


# ------------------------------------------------------------------------------------------------ records


class RecordCreate(_In):
    visit_id: uuid.UUID
    number: Number | None = None
    inspected_on: date | None = None


class ChecklistAnswer(_In):
    code: ItemCode
    answer: Answer
    note: Note | None = None


class RecordUpdate(_In):
    number: Number | msgspec.UnsetType = msgspec.UNSET
    conclusion: Note | msgspec.UnsetType = msgspec.UNSET
    answers: Annotated[list[ChecklistAnswer], msgspec.Meta(max_length=300)] | msgspec.UnsetType = msgspec.UNSET


class RecordSign(_In):
    signed_on: date
    head_signer: Short
    agency_signer: Short


class FindingIn(_In):
    item_code: ItemCode
    severity: Severity
    text: Text


class FindingRead(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    record_id: uuid.UUID
    agency_id: uuid.UUID
    item_code: str
    severity: str
    text: str
    status: str
    due_on: date | None
    closed_on: date | None
    overdue: bool
    actions: list[dict[str, Any]] = msgspec.field(default_factory=list)


class RecordRead(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    visit_id: uuid.UUID
    agency_id: uuid.UUID
    agency_name: str
    year: int
    form: str
    number: str | None
    inspected_on: date
    template_version: int
    checklist: list[dict[str, Any]]
    conclusion: str
    result: str | None
    status: str
    signed_on: date | None
    head_signer: str | None
    agency_signer: str | None
    amends_id: uuid.UUID | None
    findings: list[FindingRead] = msgspec.field(default_factory=list)


class ActionIn(_In):
    description: Text
    reported_on: date | None = None


class ActionDecision(_In):
    decision: Literal["accept", "not_accept", "defer"]
    reason: Text | None = None
    decided_on: date | None = None


class ActionRead(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    finding_id: uuid.UUID
    agency_id: uuid.UUID
    reported_on: date
    description: str
    on_time: bool
    status: str
    decided_on: date | None
    decided_by: str | None
    decision_reason: str | None


class BoardRow(msgspec.Struct, kw_only=True):
    finding_id: uuid.UUID
    record_id: uuid.UUID
    agency_id: uuid.UUID
    agency_code: str
    agency_name: str
    item_code: str
    severity: str
    text: str
    status: str
    due_on: date
    days_overdue: int
