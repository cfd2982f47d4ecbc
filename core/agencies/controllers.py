from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated

from litestar import Controller, Response, delete, get, patch, post
from litestar.enums import RequestEncodingType
from litestar.params import Body, Parameter

from core.agencies import importing, restructure, services
from core.agencies.restructure import Lineage, RestructureReport, RestructureRequest
from core.agencies.schemas import AgencyCreate, AgencyRead, AgencyUpdate, ImportReport, Level
from core.importing import IMPORT_MAX_BYTES, ImportForm, read_upload
from core.schemas import NO_NUL, Limit, Offset, Page
from core.tenancy.context import TenantContext

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class AgencyController(Controller):
    path = "/agencies"
    tags = ["agencies"]

    @get("/", summary="List agencies", opt={"permission": "agencies.read"})
    async def list_agencies(
        self, ctx: TenantContext,
        level: Level | None = None,
        parent_id: uuid.UUID | None = None,
        required: bool | None = None,
        active: bool | None = None,
        active_on: date | None = None,
        q: Annotated[str | None, Parameter(max_length=200, pattern=NO_NUL, description="accent-insensitive search")] = None,
        limit: Limit = 50,
        offset: Offset = 0,
    ) -> Page[AgencyRead]:
        items, total = await services.search(ctx, level=level, parent_id=parent_id, required=required, active=active,
                                             active_on=active_on, q=q, limit=limit, offset=offset)
        return Page(items=items, total=total, limit=limit, offset=offset)

    @post("/", summary="Create an agency", opt={"permission": "agencies.write"})
    async def create_agency(self, ctx: TenantContext, data: AgencyCreate) -> AgencyRead:
        return services.to_read(await services.create(ctx, data))

    @get("/{agency_id:uuid}", summary="Read an agency", opt={"permission": "agencies.read"})
    async def get_agency(self, ctx: TenantContext, agency_id: uuid.UUID) -> AgencyRead:
        return services.to_read(await ctx.ensure_agency(agency_id))

    @patch("/{agency_id:uuid}", summary="Update or move an agency", opt={"permission": "agencies.write"})
    async def update_agency(self, ctx: TenantContext, agency_id: uuid.UUID, data: AgencyUpdate) -> AgencyRead:
        return services.to_read(await services.update(ctx, agency_id, data))

    @delete("/{agency_id:uuid}", summary="Close an agency (sets valid_to; nothing is deleted)",
            opt={"permission": "agencies.write"}, status_code=200)
    async def close_agency(self, ctx: TenantContext, agency_id: uuid.UUID) -> AgencyRead:
        return services.to_read(await services.close(ctx, agency_id))

    @post("/restructure", summary="Restructure agencies from an effective date: abolish a district, merge, split, "
          "rename (dry_run reports the plan and writes nothing)", status_code=200,
          opt={"permission": "agencies.restructure", "walk_body": {
              "effective_on": "2025-07-01", "dry_run": True,
              "operations": [{"op": "rename", "agency_id": "00000000-0000-4000-8000-000000000000", "name": "Mới"}]}})
    async def restructure_agencies(self, ctx: TenantContext, data: RestructureRequest) -> RestructureReport:
        return await restructure.restructure(ctx, data)

    @post("/restructure/import", summary="Bulk restructuring from CSV or XLSX (old code → new code, effective date)",
          opt={"permission": "agencies.restructure"}, request_max_body_size=IMPORT_MAX_BYTES, status_code=200)
    async def restructure_from_file(
        self, ctx: TenantContext,
        data: Annotated[ImportForm, Body(media_type=RequestEncodingType.MULTI_PART)],
        dry_run: bool = True,
    ) -> RestructureReport:
        filename, content = await read_upload(data)
        return await restructure.run_file(ctx, filename, content, dry_run)

    @get("/{agency_id:uuid}/lineage", summary="What an agency came from and became through restructurings",
         opt={"permission": "agencies.read"})
    async def agency_lineage(self, ctx: TenantContext, agency_id: uuid.UUID) -> Lineage:
        return await restructure.lineage(ctx, agency_id)

    @get("/import/template.xlsx", summary="The XLSX template of an agency import (Vietnamese headers, one example)",
         opt={"permission": "agencies.import"}, media_type=XLSX, response_description="the XLSX workbook")
    async def import_template(self, ctx: TenantContext) -> Response[bytes]:
        return Response(importing.template_xlsx(), media_type=XLSX, headers={
            "Content-Disposition": 'attachment; filename="mau-nhap-co-quan.xlsx"'})

    @post("/import", summary="Bulk import agencies from CSV or XLSX (dry_run=true reports, writes nothing)",
          opt={"permission": "agencies.import"}, request_max_body_size=IMPORT_MAX_BYTES, status_code=200)
    async def import_agencies(
        self, ctx: TenantContext,
        data: Annotated[ImportForm, Body(media_type=RequestEncodingType.MULTI_PART)],
        dry_run: bool = True,
    ) -> ImportReport:
        filename, content = await read_upload(data)
        return await importing.run_import(ctx, filename, None, content, dry_run)
