"""Routes of the awards module (mounted under /api/v1/tenants/{tenant_code}/awards/). Thin: services do the work."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated

from litestar import Controller, Request, Response, get, patch, post
from litestar.params import Parameter

from core.errors import BadRequest
from core.schemas import Limit, Offset, Page
from core.tenancy.context import TenantContext
from plugins.awards import documents, services
from plugins.awards.schemas import (
    CriterionInfo,
    DecisionCreate,
    DecisionRead,
    DecisionUpdate,
    FormCreate,
    FormRead,
    FormUpdate,
    HistoryRow,
    MeetingCreate,
    MeetingRead,
    MeetingResult,
    MovementCreate,
    MovementRead,
    MovementUpdate,
    OverrideCreate,
    ProposalCreate,
    ProposalRead,
    ProposalUpdate,
    RejectInput,
    ResultsInput,
    ReviewInput,
    SettingsRead,
    SettingsUpdate,
    Status,
    Subject,
)

READ = {"permission": "awards.read"}
PROPOSE = {"permission": "awards.propose"}
MANAGE = {"permission": "awards.manage"}
EXPORT_MAX_ROWS = 50_000

Q = Annotated[str | None, Parameter(max_length=200, pattern=r"^[^\x00]*$",
                                    description="accent-insensitive search")]
YearQ = Annotated[int | None, Parameter(ge=1990, le=2100)]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def _attachment(content: bytes, name: str, media_type: str) -> Response:
    return Response(content, media_type=media_type, headers={"Content-Disposition": f'attachment; filename="{name}"'})


class SettingsController(Controller):
    path = "/settings"
    tags = ["awards"]

    @get("/", summary="Awards settings of the province (council approval threshold, names on documents)", opt=READ)
    async def read(self, ctx: TenantContext) -> SettingsRead:
        from core.schemas import to_struct

        return to_struct(await services.settings(ctx), SettingsRead)

    @patch("/", summary="Change the awards settings of the province", opt=MANAGE)
    async def update(self, ctx: TenantContext, data: SettingsUpdate) -> SettingsRead:
        return await services.update_settings(ctx, data)


class FormController(Controller):
    path = "/"
    tags = ["awards"]

    @get("/criteria", summary="The criteria award forms can require, with their Vietnamese titles", opt=READ)
    async def criteria(self, ctx: TenantContext) -> list[CriterionInfo]:
        from core.schemas import to_struct

        return [to_struct(c, CriterionInfo) for c in services.criteria_catalogue(await services.forms(ctx))]

    @get("/forms", summary="Award forms of the province (Giấy khen, Bằng khen, Cờ thi đua, ...)", opt=READ)
    async def list_forms(self, ctx: TenantContext, q: Q = None, active: bool | None = None, limit: Limit = 100,
                         offset: Offset = 0) -> Page[FormRead]:
        items, total = await services.list_forms(ctx, q, active, limit, offset)
        return Page(items=items, total=total, limit=limit, offset=offset)

    @post("/forms", summary="Add an award form with its level, whom it is for and its criteria", opt=MANAGE)
    async def create_form(self, ctx: TenantContext, data: FormCreate) -> FormRead:
        return services.form_read(await services.create_form(ctx, data))

    @post("/forms/defaults", summary="Add the usual award forms of a province (those missing); idempotent",
          opt=MANAGE, status_code=200)
    async def default_forms(self, ctx: TenantContext) -> list[FormRead]:
        return [services.form_read(r) for r in await services.install_default_forms(ctx)]

    @get("/forms/{form_id:uuid}", summary="Read an award form", opt=READ)
    async def get_form(self, ctx: TenantContext, form_id: uuid.UUID) -> FormRead:
        return services.form_read(await services.get_form(ctx, form_id))

    @patch("/forms/{form_id:uuid}", summary="Change an award form (name, level, criteria, in use)", opt=MANAGE)
    async def update_form(self, ctx: TenantContext, form_id: uuid.UUID, data: FormUpdate) -> FormRead:
        return services.form_read(await services.update_form(ctx, form_id, data))


class MovementController(Controller):
    path = "/movements"
    tags = ["awards"]

    @get("/", summary="Emulation movements (phong trào thi đua)", opt=READ)
    async def list_movements(self, ctx: TenantContext, year: YearQ = None, q: Q = None, limit: Limit = 50,
                             offset: Offset = 0) -> Page[MovementRead]:
        items, total = await services.list_movements(ctx, year, q, limit, offset)
        return Page(items=items, total=total, limit=limit, offset=offset)

    @post("/", summary="Launch an emulation movement with its year, period and criteria", opt=MANAGE)
    async def create_movement(self, ctx: TenantContext, data: MovementCreate) -> MovementRead:
        return services.movement_read(await services.create_movement(ctx, data))

    @get("/{movement_id:uuid}", summary="Read an emulation movement", opt=READ)
    async def get_movement(self, ctx: TenantContext, movement_id: uuid.UUID) -> MovementRead:
        return services.movement_read(await services._get(ctx, services.AwardMovement, movement_id,
                                                          "emulation movement"))

    @patch("/{movement_id:uuid}", summary="Change an emulation movement", opt=MANAGE)
    async def update_movement(self, ctx: TenantContext, movement_id: uuid.UUID, data: MovementUpdate
                              ) -> MovementRead:
        return services.movement_read(await services.update_movement(ctx, movement_id, data))


class ProposalController(Controller):
    path = "/proposals"
    tags = ["awards"]

    @get("/", summary="Award proposals, each with its eligibility (criteria judged from the modules' facts)",
         opt=READ)
    async def list_proposals(
        self, ctx: TenantContext, request: Request,
        status: list[Status] | None = None, year: YearQ = None, movement_id: uuid.UUID | None = None,
        form_id: uuid.UUID | None = None, subject: Subject | None = None, agency_id: uuid.UUID | None = None,
        person_id: uuid.UUID | None = None, meeting_id: uuid.UUID | None = None, q: Q = None,
        limit: Limit = 50, offset: Offset = 0,
    ) -> Page[ProposalRead]:
        rows, total = await services.list_proposals(
            ctx, status=list(status) if status else None, year=year, movement_id=movement_id, form_id=form_id,
            subject=subject, agency_id=agency_id, person_id=person_id, meeting_id=meeting_id, q=q, limit=limit,
            offset=offset)
        items = await services.proposal_reads(ctx, rows, request.app.state.plugins)
        return Page(items=items, total=total, limit=limit, offset=offset)

    @post("/", summary="Propose a collective (an agency) or an individual (a person) for an award form",
          opt=PROPOSE)
    async def create_proposal(self, ctx: TenantContext, request: Request, data: ProposalCreate) -> ProposalRead:
        return await services.proposal_read(ctx, await services.create_proposal(ctx, data), request.app.state.plugins)

    @get("/{proposal_id:uuid}", summary="Read a proposal with its eligibility", opt=READ)
    async def get_proposal(self, ctx: TenantContext, request: Request, proposal_id: uuid.UUID) -> ProposalRead:
        return await services.proposal_read(ctx, await services.get_proposal(ctx, proposal_id),
                                            request.app.state.plugins)

    @patch("/{proposal_id:uuid}", summary="Change a draft proposal (the secretariat may correct wording later)",
           opt=PROPOSE)
    async def update_proposal(self, ctx: TenantContext, request: Request, proposal_id: uuid.UUID,
                              data: ProposalUpdate) -> ProposalRead:
        return await services.proposal_read(ctx, await services.update_proposal(ctx, proposal_id, data),
                                            request.app.state.plugins)

    @post("/{proposal_id:uuid}/overrides", status_code=200, opt=PROPOSE,
          summary="Override an unmet (or unknown) criterion with a written reason; audited")
    async def override(self, ctx: TenantContext, request: Request, proposal_id: uuid.UUID,
                       data: OverrideCreate) -> ProposalRead:
        system = request.app.state.plugins
        row = await services.override(ctx, proposal_id, data.criterion, data.reason, system)
        return await services.proposal_read(ctx, row, system)

    @post("/{proposal_id:uuid}/submit", status_code=200, opt=PROPOSE,
          summary="Submit a draft: every criterion must be met or overridden")
    async def submit(self, ctx: TenantContext, request: Request, proposal_id: uuid.UUID) -> ProposalRead:
        system = request.app.state.plugins
        return await services.proposal_read(ctx, await services.submit(ctx, proposal_id, system), system)

    @post("/{proposal_id:uuid}/review", status_code=200, opt=MANAGE,
          summary="Mark a submitted proposal reviewed (thẩm định) so it can go to the council")
    async def review(self, ctx: TenantContext, request: Request, proposal_id: uuid.UUID,
                     data: ReviewInput) -> ProposalRead:
        return await services.proposal_read(ctx, await services.review(ctx, proposal_id, data.note),
                                            request.app.state.plugins)

    @post("/{proposal_id:uuid}/reject", status_code=200, opt=MANAGE,
          summary="Reject a submitted or reviewed proposal with a reason")
    async def reject(self, ctx: TenantContext, request: Request, proposal_id: uuid.UUID,
                     data: RejectInput) -> ProposalRead:
        return await services.proposal_read(ctx, await services.reject(ctx, proposal_id, data.reason),
                                            request.app.state.plugins)


class MeetingController(Controller):
    path = "/meetings"
    tags = ["awards"]

    @get("/", summary="Council meetings (Hội đồng Thi đua – Khen thưởng)", opt=READ)
    async def list_meetings(self, ctx: TenantContext,
                            status: Annotated[str | None, Parameter(pattern=r"^(scheduled|held)$")] = None,
                            year: YearQ = None, limit: Limit = 50, offset: Offset = 0) -> Page[MeetingRead]:
        rows, total = await services.list_meetings(ctx, status, year, limit, offset)
        return Page(items=[await services.meeting_read(ctx, r) for r in rows], total=total, limit=limit,
                    offset=offset)

    @post("/", summary="Schedule a council meeting: date, members and the reviewed proposals on its agenda",
          opt=MANAGE)
    async def create_meeting(self, ctx: TenantContext, data: MeetingCreate) -> MeetingRead:
        return await services.meeting_read(ctx, await services.create_meeting(ctx, data))

    @get("/{meeting_id:uuid}", summary="Read a council meeting with its agenda", opt=READ)
    async def get_meeting(self, ctx: TenantContext, meeting_id: uuid.UUID) -> MeetingRead:
        return await services.meeting_read(ctx, await services._get(ctx, services.AwardMeeting, meeting_id,
                                                                    "council meeting"))

    @post("/{meeting_id:uuid}/results", status_code=200, opt=MANAGE,
          summary="Record the council's votes for every proposal on the agenda in one step")
    async def results(self, ctx: TenantContext, meeting_id: uuid.UUID, data: ResultsInput) -> MeetingResult:
        meeting, outcomes = await services.record_results(ctx, meeting_id, data)
        return MeetingResult(meeting=await services.meeting_read(ctx, meeting), outcomes=outcomes)


class DecisionController(Controller):
    path = "/decisions"
    tags = ["awards"]

    @get("/", summary="Award decisions", opt=READ)
    async def list_decisions(self, ctx: TenantContext, year: YearQ = None, form_id: uuid.UUID | None = None,
                             status: Annotated[str | None, Parameter(pattern=r"^(draft|issued)$")] = None,
                             q: Q = None, limit: Limit = 50, offset: Offset = 0) -> Page[DecisionRead]:
        rows, total = await services.list_decisions(ctx, year=year, form_id=form_id, status=status, q=q,
                                                    limit=limit, offset=offset)
        return Page(items=[await services.decision_read(ctx, r) for r in rows], total=total, limit=limit,
                    offset=offset)

    @post("/", summary="Draft an award decision for approved proposals of one award form", opt=MANAGE)
    async def create_decision(self, ctx: TenantContext, data: DecisionCreate) -> DecisionRead:
        return await services.decision_read(ctx, await services.create_decision(ctx, data))

    @get("/{decision_id:uuid}", summary="Read an award decision with its awardees", opt=READ)
    async def get_decision(self, ctx: TenantContext, decision_id: uuid.UUID) -> DecisionRead:
        return await services.decision_read(ctx, await services._get(ctx, services.AwardDecision, decision_id,
                                                                     "award decision"))

    @patch("/{decision_id:uuid}", summary="Change a draft decision (number, date, signer, awardees)", opt=MANAGE)
    async def update_decision(self, ctx: TenantContext, decision_id: uuid.UUID, data: DecisionUpdate
                              ) -> DecisionRead:
        return await services.decision_read(ctx, await services.update_decision(ctx, decision_id, data))

    @post("/{decision_id:uuid}/issue", status_code=200, opt=MANAGE,
          summary="Issue the decision: its proposals are locked and enter the award history")
    async def issue(self, ctx: TenantContext, decision_id: uuid.UUID) -> DecisionRead:
        return await services.decision_read(ctx, await services.issue_decision(ctx, decision_id))

    @get(["/{decision_id:uuid}/annex.docx", "/{decision_id:uuid}/annex.xlsx"], opt=READ,
         summary="The decision's annex (Danh sách tập thể, cá nhân được tặng …) as DOCX or XLSX, in Vietnamese")
    async def annex(self, ctx: TenantContext, request: Request, decision_id: uuid.UUID) -> Response:
        row = await services._get(ctx, services.AwardDecision, decision_id, "award decision")
        decision = await services.decision_read(ctx, row)
        place = (await services.settings(ctx))["place_name"]
        stem = "phu-luc-qd-" + "".join(ch if ch.isascii() and ch.isalnum() else "-" for ch in decision.number)
        if request.url.path.endswith(".docx"):
            return _attachment(documents.annex_docx(decision, place), f"{stem}.docx", DOCX)
        return _attachment(documents.annex_xlsx(decision, place), f"{stem}.xlsx", XLSX)


class HistoryController(Controller):
    path = "/"
    tags = ["awards"]

    @get("/history", summary="Award history (issued decisions): search, filter, page", opt=READ)
    async def history(self, ctx: TenantContext, q: Q = None, agency_id: uuid.UUID | None = None,
                      person_id: uuid.UUID | None = None, subject: Subject | None = None, year: YearQ = None,
                      form_id: uuid.UUID | None = None, limit: Limit = 50, offset: Offset = 0) -> Page[HistoryRow]:
        items, total = await services.history(ctx, agency_id=agency_id, person_id=person_id, subject=subject,
                                              year=year, form_id=form_id, q=q, limit=limit, offset=offset)
        return Page(items=items, total=total, limit=limit, offset=offset)

    @get(["/history.csv", "/history.xlsx"], opt=READ,
         summary="Export the award history as CSV (UTF-8 with BOM) or XLSX, Vietnamese headers")
    async def export(self, ctx: TenantContext, request: Request, q: Q = None, agency_id: uuid.UUID | None = None,
                     person_id: uuid.UUID | None = None, subject: Subject | None = None, year: YearQ = None,
                     form_id: uuid.UUID | None = None) -> Response:
        items, total = await services.history(ctx, agency_id=agency_id, person_id=person_id, subject=subject,
                                              year=year, form_id=form_id, q=q)
        if total > EXPORT_MAX_ROWS:
            raise BadRequest(f"the history has {total} rows; narrow it to at most {EXPORT_MAX_ROWS} to export")
        name = f"khen-thuong-{ctx.tenant.code}-{date.today().isoformat()}"
        if request.url.path.endswith(".csv"):
            return _attachment(documents.history_csv(items), f"{name}.csv", "text/csv; charset=utf-8")
        return _attachment(documents.history_xlsx(items, f"Lịch sử khen thưởng - {ctx.tenant.name}"),
                           f"{name}.xlsx", XLSX)

    @get("/agencies/{agency_id:uuid}/history", summary="Awards of an agency and of its staff", opt=READ)
    async def agency_history(self, ctx: TenantContext, agency_id: uuid.UUID, limit: Limit = 100,
                             offset: Offset = 0) -> Page[HistoryRow]:
        await ctx.ensure_agency(agency_id)
        items, total = await services.history(ctx, agency_id=agency_id, limit=limit, offset=offset)
        return Page(items=items, total=total, limit=limit, offset=offset)

    @get("/people/{person_id:uuid}/history", summary="Awards of a person", opt=READ)
    async def person_history(self, ctx: TenantContext, person_id: uuid.UUID, limit: Limit = 100,
                             offset: Offset = 0) -> Page[HistoryRow]:
        from core.people.tables import Person

        await ctx.scope(Person).get(person_id, label="person")
        items, total = await services.history(ctx, person_id=person_id, limit=limit, offset=offset)
        return Page(items=items, total=total, limit=limit, offset=offset)
