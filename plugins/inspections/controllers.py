"""Routes of the inspections module (mounted under /api/v1/tenants/{tenant_code}/inspections/). Thin handlers."""

from __future__ import annotations

import uuid
from typing import Annotated

from litestar import Controller, Request, delete, get, patch, post
from litestar.params import Parameter

from core.schemas import Limit, Offset, Page, to_struct
from core.tenancy.context import TenantContext
from plugins.inspections import planner, services
from plugins.inspections.schemas import (
    LineIn,
    LineRead,
    LineUpdate,
    PlanApprove,
    PlanCreate,
    PlanRead,
    PlanStatus,
    PlanSummary,
    PlanUpdate,
    Proposal,
    ProposalIn,
    ReasonIn,
    SettingsRead,
    SettingsUpdate,
)

READ = {"permission": "inspections.read"}
WRITE = {"permission": "inspections.write"}
APPROVE = {"permission": "inspections.approve"}
REPORT = {"permission": "inspections.report"}

YearQ = Annotated[int | None, Parameter(ge=2014, le=2100)]


class SettingsController(Controller):
    path = "/settings"
    tags = ["inspections"]

    @get("/", summary="Province settings: on-site share (default 1/3), reminder lead time, inspecting unit", opt=READ)
    async def read_settings(self, ctx: TenantContext) -> SettingsRead:
        return to_struct(await services.settings(ctx), SettingsRead)

    @patch("/", summary="Change the province's inspection settings", opt=APPROVE)
    async def update_settings(self, ctx: TenantContext, data: SettingsUpdate) -> SettingsRead:
        return to_struct(await services.update_settings(ctx, data), SettingsRead)


class PlanController(Controller):
    path = "/plans"
    tags = ["inspections"]

    @get("/", summary="Year plans (every revision), newest first", opt=READ)
    async def list_plans(self, ctx: TenantContext, year: YearQ = None, status: PlanStatus | None = None,
                         limit: Limit = 50, offset: Offset = 0) -> Page[PlanSummary]:
        rows, total = await services.list_plans(ctx, year, status, limit, offset)
        return Page(items=[to_struct(r, PlanSummary) for r in rows], total=total, limit=limit, offset=offset)

    @post("/", summary="Draft a year's plan (Mẫu 19), optionally with its lines", opt=WRITE)
    async def create_plan(self, ctx: TenantContext, data: PlanCreate) -> PlanRead:
        return await services.plan_read(ctx, await services.create_plan(ctx, data))

    @post("/{year:int}/proposal", opt=WRITE,
          summary="Propose a complete plan by risk (deterministic, with reasons); create_draft stores it as a draft")
    async def proposal(self, ctx: TenantContext, request: Request, year: Annotated[int, Parameter(ge=2014, le=2100)],
                       data: ProposalIn) -> Proposal:
        return await planner.propose_and_maybe_create(ctx, request.app.state.plugins, year, data)

    @get("/{plan_id:uuid}", summary="A plan revision with its lines, coverage and the year's revisions", opt=READ)
    async def get_plan(self, ctx: TenantContext, plan_id: uuid.UUID) -> PlanRead:
        return await services.plan_read(ctx, await services.get_plan(ctx, plan_id))

    @patch("/{plan_id:uuid}", summary="Change a draft plan's title or note", opt=WRITE)
    async def update_plan(self, ctx: TenantContext, plan_id: uuid.UUID, data: PlanUpdate) -> PlanRead:
        return await services.plan_read(ctx, await services.update_plan(ctx, plan_id, data))

    @post("/{plan_id:uuid}/lines", summary="Add an agency to a draft plan", opt=WRITE)
    async def add_line(self, ctx: TenantContext, plan_id: uuid.UUID, data: LineIn) -> LineRead:
        line = await services.add_line(ctx, plan_id, data)
        agencies = await services.agencies_by_id(ctx, [line["agency_id"]])
        return services.line_read(line, agencies.get(line["agency_id"]))

    @patch("/{plan_id:uuid}/lines/{plan_line_id:uuid}", summary="Change a line of a draft plan", opt=WRITE)
    async def update_line(self, ctx: TenantContext, plan_id: uuid.UUID, plan_line_id: uuid.UUID,
                          data: LineUpdate) -> LineRead:
        line = await services.update_line(ctx, plan_id, plan_line_id, data)
        agencies = await services.agencies_by_id(ctx, [line["agency_id"]])
        return services.line_read(line, agencies.get(line["agency_id"]))

    @delete("/{plan_id:uuid}/lines/{plan_line_id:uuid}", summary="Remove a line from a draft plan", opt=WRITE)
    async def delete_line(self, ctx: TenantContext, plan_id: uuid.UUID, plan_line_id: uuid.UUID) -> None:
        await services.delete_line(ctx, plan_id, plan_line_id)

    @post("/{plan_id:uuid}/submit", summary="Submit a draft for approval (409 when the coverage rule fails)",
          opt=WRITE)
    async def submit(self, ctx: TenantContext, plan_id: uuid.UUID) -> PlanRead:
        return await services.plan_read(ctx, await services.transition(ctx, plan_id, "submit"))

    @post("/{plan_id:uuid}/return", summary="Send a submitted plan back to draft, with the reason", opt=APPROVE)
    async def return_plan(self, ctx: TenantContext, plan_id: uuid.UUID, data: ReasonIn) -> PlanRead:
        return await services.plan_read(ctx, await services.transition(ctx, plan_id, "return", data))

    @post("/{plan_id:uuid}/approve", summary="Record the UBND approval decision (number, date, signer)",
          opt=APPROVE)
    async def approve(self, ctx: TenantContext, plan_id: uuid.UUID, data: PlanApprove) -> PlanRead:
        return await services.plan_read(ctx, await services.transition(ctx, plan_id, "approve", data))

    @post("/{plan_id:uuid}/revise", summary="Open a new revision of an approved plan (history kept)", opt=WRITE)
    async def revise(self, ctx: TenantContext, plan_id: uuid.UUID, data: ReasonIn) -> PlanRead:
        return await services.plan_read(ctx, await services.transition(ctx, plan_id, "revise", data))

    @post("/{plan_id:uuid}/close", summary="Close an approved plan at the year's end (from 1 December)",
          opt=APPROVE)
    async def close(self, ctx: TenantContext, plan_id: uuid.UUID) -> PlanRead:
        return await services.plan_read(ctx, await services.transition(ctx, plan_id, "close"))


from datetime import date  # noqa: E402

from plugins.inspections import fieldwork, records  # noqa: E402
from plugins.inspections.schemas import (  # noqa: E402
    ActionDecision,
    ActionIn,
    ActionRead,
    BoardRow,
    FindingIn,
    FindingRead,
    FindingStatus,
    MemberIn,
    MemberRead,
    RecordCreate,
    RecordRead,
    RecordSign,
    RecordUpdate,
    TeamCreate,
    TeamRead,
    TeamUpdate,
    TemplateCreate,
    TemplateRead,
    VisitCreate,
    VisitMove,
    VisitRead,
)


class TeamController(Controller):
    path = "/teams"
    tags = ["inspections"]

    @get("/", summary="Team decisions (Mẫu 20)", opt=READ)
    async def list_teams(self, ctx: TenantContext, year: YearQ = None, limit: Limit = 50,
                         offset: Offset = 0) -> Page[TeamRead]:
        rows, total = await fieldwork.list_teams(ctx, year, limit, offset)
        return Page(items=[await fieldwork.team_read(ctx, r) for r in rows], total=total, limit=limit, offset=offset)

    @post("/", summary="Record a team decision: number, date, issuer", opt=WRITE)
    async def create_team(self, ctx: TenantContext, data: TeamCreate) -> TeamRead:
        return await fieldwork.team_read(ctx, await fieldwork.create_team(ctx, data))

    @get("/{team_id:uuid}", summary="A team decision with its members and eligibility warnings", opt=READ)
    async def get_team(self, ctx: TenantContext, team_id: uuid.UUID) -> TeamRead:
        return await fieldwork.team_read(ctx, await fieldwork.get_team(ctx, team_id))

    @patch("/{team_id:uuid}", summary="Correct a team decision's number, date, issuer or title", opt=WRITE)
    async def update_team(self, ctx: TenantContext, team_id: uuid.UUID, data: TeamUpdate) -> TeamRead:
        return await fieldwork.team_read(ctx, await fieldwork.update_team(ctx, team_id, data))

    @post("/{team_id:uuid}/members", opt=WRITE,
          summary="Add a person of the directory (Art. 40 certificate checked; not from an inspected agency)")
    async def add_member(self, ctx: TenantContext, request: Request, team_id: uuid.UUID, data: MemberIn) -> MemberRead:
        row = await fieldwork.add_member(ctx, request.app.state.plugins, team_id, data)
        return MemberRead(**{k: row[k] for k in MemberRead.__struct_fields__})

    @delete("/{team_id:uuid}/members/{member_id:uuid}", summary="Remove a member from a team", opt=WRITE)
    async def remove_member(self, ctx: TenantContext, team_id: uuid.UUID, member_id: uuid.UUID) -> None:
        await fieldwork.remove_member(ctx, team_id, member_id)


class VisitController(Controller):
    path = "/visits"
    tags = ["inspections"]

    @get("/", summary="Visits (on site) and paper inspections (documents), by day", opt=READ)
    async def list_visits(self, ctx: TenantContext, year: YearQ = None, agency_id: uuid.UUID | None = None,
                          team_id: uuid.UUID | None = None,
                          status: Annotated[str | None, Parameter(pattern=r"^(scheduled|done|cancelled)$")] = None,
                          limit: Limit = 50, offset: Offset = 0) -> Page[VisitRead]:
        rows, total = await fieldwork.list_visits(ctx, year, agency_id, team_id, status, limit, offset)
        return Page(items=[await fieldwork.visit_read(ctx, r) for r in rows], total=total, limit=limit, offset=offset)

    @post("/", summary="Schedule a visit (agency officers and team members are notified)", opt=WRITE)
    async def create_visit(self, ctx: TenantContext, request: Request, data: VisitCreate) -> VisitRead:
        visit, warnings = await fieldwork.create_visit(ctx, request.app.state.plugins, data)
        return await fieldwork.visit_read(ctx, visit, warnings)

    @get("/{visit_id:uuid}", summary="A visit with its history of moves", opt=READ)
    async def get_visit(self, ctx: TenantContext, visit_id: uuid.UUID) -> VisitRead:
        return await fieldwork.visit_read(ctx, await fieldwork.get_visit(ctx, visit_id))

    @post("/{visit_id:uuid}/move", summary="Move a visit to another day (notified again)", opt=WRITE)
    async def move_visit(self, ctx: TenantContext, request: Request, visit_id: uuid.UUID, data: VisitMove) -> VisitRead:
        visit, warnings = await fieldwork.move_visit(ctx, request.app.state.plugins, visit_id, data)
        return await fieldwork.visit_read(ctx, visit, warnings)

    @post("/{visit_id:uuid}/cancel", summary="Cancel a scheduled visit, with the reason", opt=WRITE)
    async def cancel_visit(self, ctx: TenantContext, visit_id: uuid.UUID, data: ReasonIn) -> VisitRead:
        return await fieldwork.visit_read(ctx, await fieldwork.cancel_visit(ctx, visit_id, data.reason))


class ChecklistController(Controller):
    path = "/checklist-templates"
    tags = ["inspections"]

    @get("/", summary="Every checklist version of the province (version 0 is the built-in Art. 36 list)", opt=READ)
    async def list_templates(self, ctx: TenantContext) -> list[TemplateRead]:
        return await records.template_versions(ctx)

    @get("/current", summary="The checklist version new records use", opt=READ)
    async def current(self, ctx: TenantContext) -> TemplateRead:
        return await records.current_template(ctx)

    @post("/", summary="Publish a new checklist version for the province", opt=APPROVE)
    async def create_template(self, ctx: TenantContext, data: TemplateCreate) -> TemplateRead:
        return await records.create_template(ctx, data)


class RecordController(Controller):
    path = "/records"
    tags = ["inspections"]

    @get("/", summary="Records (Mẫu 21)", opt=READ)
    async def list_records(self, ctx: TenantContext, year: YearQ = None, agency_id: uuid.UUID | None = None,
                           status: Annotated[str | None, Parameter(pattern=r"^(draft|signed|superseded)$")] = None,
                           limit: Limit = 50, offset: Offset = 0) -> Page[RecordRead]:
        rows, total = await records.list_records(ctx, year, agency_id, status, limit, offset)
        return Page(items=[await records.record_read(ctx, r) for r in rows], total=total, limit=limit, offset=offset)

    @post("/", summary="Open the record of a visit; the checklist is pre-filled from certification facts",
          opt=WRITE)
    async def create_record(self, ctx: TenantContext, request: Request, data: RecordCreate) -> RecordRead:
        return await records.record_read(ctx, await records.create_record(ctx, request.app.state.plugins, data))

    @get("/{inspection_record_id:uuid}", summary="A record with its checklist, findings and actions", opt=READ)
    async def get_record(self, ctx: TenantContext, inspection_record_id: uuid.UUID) -> RecordRead:
        return await records.record_read(ctx, await records.get_record(ctx, inspection_record_id))

    @patch("/{inspection_record_id:uuid}", summary="Answer the checklist, number, conclusion (draft only)",
           opt=WRITE)
    async def update_record(self, ctx: TenantContext, inspection_record_id: uuid.UUID,
                            data: RecordUpdate) -> RecordRead:
        return await records.record_read(ctx, await records.update_record(ctx, inspection_record_id, data))

    @post("/{inspection_record_id:uuid}/findings", summary="Add a finding tied to a checklist item (draft only)",
          opt=WRITE)
    async def add_finding(self, ctx: TenantContext, inspection_record_id: uuid.UUID, data: FindingIn) -> FindingRead:
        return await records.finding_read(ctx, await records.add_finding(ctx, inspection_record_id, data))

    @post("/{inspection_record_id:uuid}/sign", opt=WRITE,
          summary="Sign the record (team head and agency): it locks; findings are due 2 months later")
    async def sign(self, ctx: TenantContext, inspection_record_id: uuid.UUID, data: RecordSign) -> RecordRead:
        return await records.record_read(ctx, await records.sign_record(ctx, inspection_record_id, data))

    @post("/{inspection_record_id:uuid}/amend", summary="Amend a signed record: a new draft record copying it",
          opt=WRITE)
    async def amend(self, ctx: TenantContext, inspection_record_id: uuid.UUID) -> RecordRead:
        return await records.record_read(ctx, await records.amend_record(ctx, inspection_record_id))


class FindingController(Controller):
    path = "/"
    tags = ["inspections"]

    @get("/findings", summary="Findings (vấn đề tồn tại) with their corrective actions", opt=READ)
    async def list_findings(self, ctx: TenantContext, year: YearQ = None, agency_id: uuid.UUID | None = None,
                            status: FindingStatus | None = None, overdue: bool | None = None, limit: Limit = 50,
                            offset: Offset = 0) -> Page[FindingRead]:
        rows, total = await records.list_findings(ctx, year, agency_id, status, overdue, limit, offset)
        return Page(items=[await records.finding_read(ctx, r) for r in rows], total=total, limit=limit,
                    offset=offset)

    @get("/findings/{finding_id:uuid}", summary="A finding with its corrective actions", opt=READ)
    async def get_finding(self, ctx: TenantContext, finding_id: uuid.UUID) -> FindingRead:
        return await records.finding_read(ctx, await records.get_finding(ctx, finding_id))

    @delete("/findings/{finding_id:uuid}", summary="Remove a finding from a draft record", opt=WRITE)
    async def delete_finding(self, ctx: TenantContext, finding_id: uuid.UUID) -> None:
        await records.delete_finding(ctx, finding_id)

    @post("/findings/{finding_id:uuid}/actions", opt=REPORT,
          summary="Report a corrective action (agency officer of the agency; due 2 months after signing)")
    async def report_action(self, ctx: TenantContext, finding_id: uuid.UUID, data: ActionIn) -> ActionRead:
        return records.action_read(await records.report_action(ctx, finding_id, data))

    @get("/corrective-actions/{corrective_action_id:uuid}", summary="A corrective action", opt=READ)
    async def get_action(self, ctx: TenantContext, corrective_action_id: uuid.UUID) -> ActionRead:
        from plugins.inspections.tables import InspectionCorrectiveAction

        row = await ctx.scope(InspectionCorrectiveAction).get(corrective_action_id, label="corrective action")
        return records.action_read(row)

    @post("/corrective-actions/{corrective_action_id:uuid}/decision", opt=WRITE,
          summary="Verify an action: accept (finding closes), not_accept with reason, or defer to next inspection")
    async def decide(self, ctx: TenantContext, corrective_action_id: uuid.UUID, data: ActionDecision) -> ActionRead:
        return records.action_read(await records.decide_action(ctx, corrective_action_id, data))

    @get("/board/overdue", summary="Findings whose corrective action is overdue (2 months after signing)",
         opt=READ)
    async def overdue(self, ctx: TenantContext, as_of: date | None = None, limit: Limit = 50,
                      offset: Offset = 0) -> Page[BoardRow]:
        rows = await records.overdue_board(ctx, as_of or date.today())
        return Page(items=[BoardRow(**r) for r in rows[offset:offset + limit]], total=len(rows), limit=limit,
                    offset=offset)


from litestar import Response  # noqa: E402

from plugins.inspections import documents, reporting  # noqa: E402

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _file(content: bytes, media_type: str, name: str) -> Response:
    return Response(content, media_type=media_type, headers={"Content-Disposition": f'attachment; filename="{name}"'})


class DocumentController(Controller):
    path = "/"
    tags = ["inspections"]

    @get("/plans/{plan_id:uuid}/document.docx", summary="The plan as Mẫu 19 (DOCX, state header)", opt=READ)
    async def plan_docx(self, ctx: TenantContext, plan_id: uuid.UUID) -> Response:
        plan = await services.plan_read(ctx, await services.get_plan(ctx, plan_id))
        return _file(documents.plan_docx(ctx.tenant.name, plan), DOCX, f"ke-hoach-kiem-tra-{plan.year}-{plan.revision}.docx")

    @get("/teams/{team_id:uuid}/decision.docx", summary="The team decision as Mẫu 20 (DOCX)", opt=READ)
    async def team_docx(self, ctx: TenantContext, team_id: uuid.UUID) -> Response:
        team = await fieldwork.team_read(ctx, await fieldwork.get_team(ctx, team_id))
        visits = [await fieldwork.visit_read(ctx, v) for v in sorted(
            await fieldwork.team_visits(ctx, team_id), key=lambda v: (v["scheduled_on"], str(v["id"])))]
        return _file(documents.team_docx(ctx.tenant.name, team, visits), DOCX, f"quyet-dinh-doan-kiem-tra-{team.year}.docx")

    @get("/records/{inspection_record_id:uuid}/document.docx", summary="The record as Mẫu 21 (DOCX)", opt=READ)
    async def record_docx(self, ctx: TenantContext, inspection_record_id: uuid.UUID) -> Response:
        record = await records.record_read(ctx, await records.get_record(ctx, inspection_record_id))
        visit = await fieldwork.get_visit(ctx, record.visit_id)
        team = await fieldwork.team_read(ctx, await fieldwork.get_team(ctx, visit["team_id"])) if visit["team_id"] else None
        return _file(documents.record_docx(ctx.tenant.name, record, team), DOCX, f"bien-ban-kiem-tra-{record.id}.docx")

    @get("/summary/{year:int}", summary="The year's results (Art. 38): by agency, level, checklist item", opt=READ)
    async def summary(self, ctx: TenantContext, year: Annotated[int, Parameter(ge=2014, le=2100)]) -> dict:
        return await reporting.summary(ctx, year)

    @get(["/summary/{year:int}/report.xlsx", "/summary/{year:int}/report.docx"], opt=READ,
         summary="The November summary (Art. 38) as an Excel workbook or a DOCX report")
    async def summary_file(self, ctx: TenantContext, request: Request,
                           year: Annotated[int, Parameter(ge=2014, le=2100)]) -> Response:
        data = await reporting.summary(ctx, year)
        if request.url.path.endswith(".xlsx"):
            return _file(documents.summary_xlsx(ctx.tenant.name, data), XLSX, f"tong-hop-kiem-tra-{year}.xlsx")
        return _file(documents.summary_docx(ctx.tenant.name, data, date.today()), DOCX, f"bao-cao-kiem-tra-{year}.docx")
