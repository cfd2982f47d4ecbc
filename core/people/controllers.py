from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated

from litestar import Controller, Response, delete, get, patch, post
from litestar.enums import RequestEncodingType
from litestar.params import Body, Parameter

from core.importing import IMPORT_MAX_BYTES, ImportForm, ImportReport, read_upload
from core.people import importing, services
from core.people.schemas import PersonCreate, PersonRead, PersonUpdate
from core.people.tables import Person
from core.schemas import Limit, Offset, Page
from core.tenancy.context import TenantContext

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
READ = {"permission": "people.read"}
WRITE = {"permission": "people.write"}


class PeopleController(Controller):
    path = "/people"
    tags = ["people"]

    @get("/", summary="List and search people", opt=READ)
    async def list_people(
        self, ctx: TenantContext,
        agency_id: uuid.UUID | None = None,
        include_subunits: Annotated[bool, Parameter(description="with agency_id: people of its sub-units too")] = False,
        user_id: uuid.UUID | None = None,
        active_on: Annotated[date | None, Parameter(description="people not closed on this day (default today)")]
        = None,
        include_closed: bool = False,
        q: Annotated[str | None, Parameter(max_length=200, description="accent-insensitive, name or email")] = None,
        limit: Limit = 50,
        offset: Offset = 0,
    ) -> Page[PersonRead]:
        rows, total = await services.search(ctx, agency_id=agency_id, include_subunits=include_subunits,
                                            user_id=user_id, active_on=active_on, include_closed=include_closed,
                                            q=q, limit=limit, offset=offset)
        return Page(items=[services.to_read(r) for r in rows], total=total, limit=limit, offset=offset)

    @post("/", summary="Add a person", opt={**WRITE, "walk_body": {
        "full_name": "Nguyễn Văn Thử", "position": "Chuyên viên", "phone": "0912 345 678"}})
    async def create_person(self, ctx: TenantContext, data: PersonCreate) -> PersonRead:
        return services.to_read(await services.create(ctx, data))

    @get("/{person_id:uuid}", summary="Read a person (closed people too)", opt=READ)
    async def get_person(self, ctx: TenantContext, person_id: uuid.UUID) -> PersonRead:
        return services.to_read(await ctx.scope(Person).get(person_id, label="person"))

    @patch("/{person_id:uuid}", summary="Update a person", opt={**WRITE, "walk_body": {"position": "Phó Trưởng phòng"}})
    async def update_person(self, ctx: TenantContext, person_id: uuid.UUID, data: PersonUpdate) -> PersonRead:
        return services.to_read(await services.update(ctx, person_id, data))

    @delete("/{person_id:uuid}", summary="Close a person (sets closed_on; nothing is deleted)", opt=WRITE,
            status_code=200)
    async def close_person(self, ctx: TenantContext, person_id: uuid.UUID,
                           on: Annotated[date | None, Parameter(description="closing day (default today)")] = None
                           ) -> PersonRead:
        return services.to_read(await services.close(ctx, person_id, on))

    @get("/import/template.xlsx", summary="The XLSX template of a people import (Vietnamese headers, one example)",
         opt={"permission": "people.import"}, media_type=XLSX, response_description="the XLSX workbook")
    async def import_template(self, ctx: TenantContext) -> Response[bytes]:
        return Response(importing.template_xlsx(), media_type=XLSX, headers={
            "Content-Disposition": 'attachment; filename="mau-nhap-can-bo.xlsx"'})

    @post("/import", summary="Bulk import people from CSV or XLSX (dry_run=true reports, writes nothing)",
          opt={"permission": "people.import"}, request_max_body_size=IMPORT_MAX_BYTES, status_code=200)
    async def import_people(
        self, ctx: TenantContext,
        data: Annotated[ImportForm, Body(media_type=RequestEncodingType.MULTI_PART)],
        dry_run: bool = True,
    ) -> ImportReport:
        filename, content = await read_upload(data)
        return await importing.run_import(ctx, filename, content, dry_run)
