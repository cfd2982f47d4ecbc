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
