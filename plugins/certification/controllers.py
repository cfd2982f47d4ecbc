"""Routes of the certification module (mounted under /api/v1/tenants/{tenant_code}/certification/).

Thin handlers: the service does the work. There is deliberately no route that updates or deletes an event.
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated

from litestar import Controller, Request, Response, get, patch, post
from litestar.params import Parameter

from core.schemas import Limit, Offset, Page
from core.tenancy.context import TenantContext
from plugins.certification import export, services
from plugins.certification.schemas import (
    BoardPage,
    BoardSummary,
    EventCreate,
    EventRead,
    EventResult,
    Level,
    OverdueReason,
    RecordCreate,
    RecordRead,
    SettingsRead,
    SettingsUpdate,
    Status,
)

READ = {"permission": "certification.read"}
WRITE = {"permission": "certification.write"}
MANAGE = {"permission": "certification.manage"}
EXPORT_MAX_ROWS = 50_000

Q = Annotated[str | None, Parameter(max_length=200, pattern=r"^[^\x00]*$", description="accent-insensitive search in agency name and code")]
AsOf = Annotated[date | None, Parameter(description="the day the board describes (default today)")]


def _filters(status: list[Status] | None, level: list[Level] | None, required: bool | None,
             standard_version: str | None, overdue: bool | None, overdue_reason: str | None,
             reannouncement_due: bool | None, parent_id: uuid.UUID | None, include_closed: bool,
             q: str | None) -> services.BoardFilters:
    return services.BoardFilters(status=list(status) if status else None, level=list(level) if level else None,
                                 required=required, standard_version=standard_version, overdue=overdue,
                                 overdue_reason=overdue_reason, reannouncement_due=reannouncement_due,
                                 parent_id=parent_id, include_closed=include_closed, q=q)


class BoardController(Controller):
    path = "/"
    tags = ["certification"]

    @get("/board", summary="Status board: every agency with its QMS state on a day, filtered and paged",
         opt=READ)
    async def board(
        self, ctx: TenantContext,
        as_of: AsOf = None,
        status: list[Status] | None = None,
        level: list[Level] | None = None,
        required: bool | None = None,
        standard_version: Annotated[str | None, Parameter(pattern=r"^(2008|2015|none)$")] = None,
        overdue: bool | None = None,
        overdue_reason: OverdueReason | None = None,
        reannouncement_due: bool | None = None,
        parent_id: Annotated[uuid.UUID | None, Parameter(description="only this agency and its sub-units")] = None,
        include_closed: Annotated[bool, Parameter(description="also agencies not active on as_of")] = False,
        q: Q = None,
        limit: Limit = 50,
        offset: Offset = 0,
    ) -> BoardPage:
        day = as_of or date.today()
        rows, total = await services.board_page(ctx, day, _filters(status, level, required, standard_version, overdue,
                                                                   overdue_reason, reannouncement_due, parent_id,
                                                                   include_closed, q), limit, offset)
        return BoardPage(items=rows, total=total, limit=limit, offset=offset, as_of=day)

    @get("/board/summary", summary="Status board counts: by status, agency level, required/voluntary, overdue",
         opt=READ)
    async def summary(
        self, ctx: TenantContext,
        as_of: AsOf = None,
        status: list[Status] | None = None,
        level: list[Level] | None = None,
        required: bool | None = None,
        standard_version: Annotated[str | None, Parameter(pattern=r"^(2008|2015|none)$")] = None,
        overdue: bool | None = None,
        overdue_reason: OverdueReason | None = None,
        reannouncement_due: bool | None = None,
        parent_id: uuid.UUID | None = None,
        include_closed: bool = False,
        q: Q = None,
    ) -> BoardSummary:
        day = as_of or date.today()
        return await services.board_summary(ctx, day, _filters(status, level, required, standard_version, overdue,
                                                               overdue_reason, reannouncement_due, parent_id,
                                                               include_closed, q))

    async def _export(self, ctx: TenantContext, fmt: str, day: date, filters: services.BoardFilters) -> Response:
        rows = await services.board(ctx, day, filters)
        if len(rows) > EXPORT_MAX_ROWS:
            from core.errors import BadRequest

            raise BadRequest(f"the board has {len(rows)} rows; narrow it to at most {EXPORT_MAX_ROWS} to export")
        name = f"htqlcl-{ctx.tenant.code}-{day.isoformat()}.{fmt}"
        headers = {"Content-Disposition": f'attachment; filename="{name}"'}
        if fmt == "csv":
            return Response(export.board_csv(rows), media_type="text/csv; charset=utf-8", headers=headers)
        title = f"Bảng theo dõi HTQLCL - {ctx.tenant.name}"
        return Response(export.board_xlsx(rows, title=title, as_of=day), headers=headers,
                        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")

    @get(["/board.csv", "/board.xlsx"], opt=READ,
         summary="Export the status board as CSV (UTF-8 with BOM) or an Excel workbook, Vietnamese headers")
    async def board_export(
        self, ctx: TenantContext, request: Request, as_of: AsOf = None, status: list[Status] | None = None,
        level: list[Level] | None = None, required: bool | None = None,
        standard_version: Annotated[str | None, Parameter(pattern=r"^(2008|2015|none)$")] = None,
        overdue: bool | None = None, overdue_reason: OverdueReason | None = None,
        reannouncement_due: bool | None = None, parent_id: uuid.UUID | None = None, include_closed: bool = False,
        q: Q = None,
    ) -> Response:
        fmt = "xlsx" if request.url.path.endswith(".xlsx") else "csv"
        day = as_of or date.today()
        return await self._export(ctx, fmt, day, _filters(status, level, required, standard_version, overdue,
                                                          overdue_reason, reannouncement_due, parent_id,
                                                          include_closed, q))


class RecordController(Controller):
    path = "/"
    tags = ["certification"]

    @post("/records", summary="Open an empty (not started) QMS record for an agency", opt=WRITE)
    async def create_record(self, ctx: TenantContext, data: RecordCreate) -> RecordRead:
        row = await services.create_record(ctx, data.agency_id)
        return await services.record_read(ctx, row)

    @get("/records/{record_id:uuid}", summary="Read a QMS record", opt=READ)
    async def get_record(self, ctx: TenantContext, record_id: uuid.UUID) -> RecordRead:
        return await services.record_read(ctx, await services.get_record(ctx, record_id))

    @get("/agencies/{agency_id:uuid}/record", summary="Read the QMS record of an agency", opt=READ)
    async def get_agency_record(self, ctx: TenantContext, agency_id: uuid.UUID) -> RecordRead:
        agency = await ctx.ensure_agency(agency_id)
        row = await services.record_of_agency(ctx, agency["id"])
        if row is None:
            from core.errors import NotFound

            raise NotFound(f"the agency {agency['code']} has no QMS record yet (its status is not_started)")
        return await services.record_read(ctx, row, agency)

    @get("/agencies/{agency_id:uuid}/timeline", summary="The agency's QMS events in date order, corrections marked",
         opt=READ)
    async def timeline(
        self, ctx: TenantContext, agency_id: uuid.UUID,
        kind: Annotated[str | None, Parameter(max_length=30)] = None,
        limit: Limit = 100,
        offset: Offset = 0,
    ) -> Page[EventRead]:
        items, total = await services.timeline(ctx, agency_id, kind, limit, offset)
        return Page(items=items, total=total, limit=limit, offset=offset)

    @post("/agencies/{agency_id:uuid}/events",
          summary="Record a dated QMS event for an agency (a wrong event is corrected by a correction event)",
          opt={**WRITE, "walk_body": {"kind": "build_started", "occurred_on": "2020-01-06"}})
    async def record_event(self, ctx: TenantContext, agency_id: uuid.UUID, data: EventCreate) -> EventResult:
        done = await services.record_events(ctx, agency_id, [data])
        events = services.event_reads(done.events)
        return EventResult(event=events[0], record=await services.record_read(ctx, done.record, done.agency))

    @get("/events/{event_id:uuid}", summary="Read one QMS event", opt=READ)
    async def get_event(self, ctx: TenantContext, event_id: uuid.UUID) -> EventRead:
        return await services.get_event(ctx, event_id)


class SettingsController(Controller):
    path = "/settings"
    tags = ["certification"]

    @get("/", summary="Province-level certification settings (the 2008 → 2015 conversion deadline)", opt=READ)
    async def read_settings(self, ctx: TenantContext) -> SettingsRead:
        return services.settings_read(await services.read_settings(ctx))

    @patch("/", summary="Change the province-level certification settings", opt=MANAGE)
    async def update_settings(self, ctx: TenantContext, data: SettingsUpdate) -> SettingsRead:
        return services.settings_read(await services.update_settings(ctx, data))
