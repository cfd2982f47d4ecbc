"""Routes of the training module (mounted under /api/v1/tenants/{tenant_code}/training/). Thin: services work."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated

from litestar import Controller, Request, Response, get, patch, post
from litestar.datastructures import UploadFile
from litestar.params import Parameter

from core.errors import BadRequest
from core.schemas import NO_NUL, Limit, Offset, Page, to_struct
from core.tenancy.context import TenantContext
from plugins.training import certificates, importing, reporting, services
from plugins.training.schemas import (
    AttendanceDay,
    CertificateRead,
    CertStatus,
    CoveragePage,
    CoverageRow,
    History,
    ImportReport,
    InvitationCreate,
    InvitationRead,
    KindCreate,
    KindRead,
    KindUpdate,
    Level,
    NewPerson,
    PersonRead,
    RegistrationCreate,
    RegistrationRead,
    Revocation,
    Scores,
    SessionCreate,
    SessionRead,
    SessionUpdate,
    Status,
    Transition,
    TransitionResult,
)

READ = {"permission": "training.read"}
REGISTER = {"permission": "training.register"}
MANAGE = {"permission": "training.manage"}
CATALOGUE = {"permission": "training.catalogue"}
IMPORT_MAX_BYTES = 10 * 1024 * 1024
EXPORT_MAX_ROWS = 50_000

Q = Annotated[str | None, Parameter(max_length=200, pattern=NO_NUL, description="accent-insensitive search")]
Year = Annotated[int, Parameter(ge=2000, le=2100)]


class KindController(Controller):
    path = "/kinds"
    tags = ["training"]

    @get("/", summary="The province's catalogue of training kinds", opt=READ)
    async def list_kinds(self, ctx: TenantContext, active: bool | None = None) -> list[KindRead]:
        return [services.kind_read(k) for k in await services.list_kinds(ctx, active)]

    @post("/", summary="Add a kind to the catalogue (the defaults of seed 004 are added first)", opt=CATALOGUE)
    async def create_kind(self, ctx: TenantContext, data: KindCreate) -> KindRead:
        return services.kind_read(await services.create_kind(ctx, data))

    @get("/{kind_id:uuid}", summary="Read a training kind", opt=READ)
    async def get_kind(self, ctx: TenantContext, kind_id: uuid.UUID) -> KindRead:
        return services.kind_read(await services.get_kind(ctx, kind_id))

    @patch("/{kind_id:uuid}", summary="Change a kind's rules (attendance threshold, exam, validity, ...)",
           opt=CATALOGUE)
    async def update_kind(self, ctx: TenantContext, kind_id: uuid.UUID, data: KindUpdate) -> KindRead:
        return services.kind_read(await services.update_kind(ctx, kind_id, data))


class SessionController(Controller):
    path = "/sessions"
    tags = ["training"]

    @get("/", summary="Training sessions, newest first, filtered", opt=READ)
    async def list_sessions(
        self, ctx: TenantContext, status: list[Status] | None = None, kind_id: uuid.UUID | None = None,
        year: Year | None = None,
        agency_id: Annotated[uuid.UUID | None, Parameter(description="sessions serving this agency's locality")] = None,
        q: Q = None, limit: Limit = 50, offset: Offset = 0,
    ) -> Page[SessionRead]:
        items, total = await services.list_sessions(ctx, status=status, kind_id=kind_id, year=year,
                                                    agency_id=agency_id, q=q, limit=limit, offset=offset)
        return Page(items=items, total=total, limit=limit, offset=offset)

    @post("/", summary="Plan a training session", opt=MANAGE)
    async def create_session(self, ctx: TenantContext, data: SessionCreate) -> SessionRead:
        return await services.session_read(ctx, await services.create_session(ctx, data))

    @get("/{session_id:uuid}", summary="Read a training session", opt=READ)
    async def get_session(self, ctx: TenantContext, session_id: uuid.UUID) -> SessionRead:
        return await services.session_read(ctx, await services.get_session(ctx, session_id))

    @patch("/{session_id:uuid}", summary="Change a planned or open session (those registered are told)",
           opt=MANAGE)
    async def update_session(self, ctx: TenantContext, session_id: uuid.UUID, data: SessionUpdate) -> SessionRead:
        row, _ = await services.update_session(ctx, session_id, data)
        return await services.session_read(ctx, row)

    @post("/{session_id:uuid}/transitions", status_code=200, opt=MANAGE,
          summary="Move a session: planned → open → held → closed (certificates issued), or cancelled")
    async def transition(self, ctx: TenantContext, session_id: uuid.UUID, data: Transition) -> TransitionResult:
        done = await services.transition(ctx, session_id, data.to, data.reason, data.on)
        return TransitionResult(session=await services.session_read(ctx, done.session),
                                certificates_issued=done.certificates_issued, notified=done.notified)

    @get("/{session_id:uuid}/invitations", summary="Agencies invited and their quotas", opt=READ)
    async def list_invitations(self, ctx: TenantContext, session_id: uuid.UUID) -> list[InvitationRead]:
        session = await services.get_session(ctx, session_id)
        return [to_struct(i, InvitationRead) for i in await services.invitation_reads(ctx, session["id"])]

    @post("/{session_id:uuid}/invitations", status_code=200, opt=MANAGE,
          summary="Invite an agency (or change its quota; 0 withdraws the invitation)")
    async def invite(self, ctx: TenantContext, session_id: uuid.UUID, data: InvitationCreate) -> InvitationRead:
        row = await services.invite(ctx, session_id, data.agency_id, data.quota)
        return to_struct(next(i for i in await services.invitation_reads(ctx, row["session_id"])
                              if i["id"] == row["id"]), InvitationRead)

    @get("/{session_id:uuid}/registrations", summary="People registered, with attendance and scores", opt=READ)
    async def list_registrations(self, ctx: TenantContext, session_id: uuid.UUID,
                                 include_withdrawn: bool = False) -> list[RegistrationRead]:
        session = await services.get_session(ctx, session_id)
        rows = await services.registrations_of(ctx, session["id"], active_only=not include_withdrawn)
        return [to_struct(r, RegistrationRead) for r in await services.registration_reads(ctx, session, rows)]

    @post("/{session_id:uuid}/registrations", opt=REGISTER,
          summary="Register a person of the directory, or add the person when missing")
    async def register(self, ctx: TenantContext, session_id: uuid.UUID, data: RegistrationCreate) -> RegistrationRead:
        row = await services.register(ctx, session_id, data.person_id, data.person)
        session = await services.get_session(ctx, row["session_id"])
        return to_struct((await services.registration_reads(ctx, session, [row]))[0], RegistrationRead)

    @post("/{session_id:uuid}/import", status_code=200, opt=MANAGE, request_max_body_size=IMPORT_MAX_BYTES,
          summary="Bulk registration from CSV or XLSX, multipart part `file` (dry_run=true reports every bad row; "
                  "a real run writes all rows or none)")
    async def import_participants(self, ctx: TenantContext, session_id: uuid.UUID, request: Request,
                                  dry_run: bool = True) -> ImportReport:
        session = await services.get_session(ctx, session_id)  # 404 before the body is read
        try:
            form = await request.form()
        except Exception as exc:
            raise BadRequest("send the CSV or XLSX file as the multipart part `file`", field="file") from exc
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise BadRequest("send the CSV or XLSX file as the multipart part `file`", field="file")
        return await importing.run_import(ctx, session["id"], upload, dry_run)

    @post("/{session_id:uuid}/attendance", status_code=200, opt=MANAGE,
          summary="Record who attended on one day of a held session (everyone else is absent that day)")
    async def attendance(self, ctx: TenantContext, session_id: uuid.UUID, data: AttendanceDay
                         ) -> list[RegistrationRead]:
        await services.record_attendance(ctx, session_id, data.day, data.present)
        session = await services.get_session(ctx, session_id)
        rows = await services.registrations_of(ctx, session["id"])
        return [to_struct(r, RegistrationRead) for r in await services.registration_reads(ctx, session, rows)]

    @post("/{session_id:uuid}/scores", status_code=200, opt=MANAGE,
          summary="Record exam scores (10-point scale) of a held session whose kind has an exam")
    async def scores(self, ctx: TenantContext, session_id: uuid.UUID, data: Scores) -> list[RegistrationRead]:
        await services.record_scores(ctx, session_id, data.scores)
        session = await services.get_session(ctx, session_id)
        rows = await services.registrations_of(ctx, session["id"])
        return [to_struct(r, RegistrationRead) for r in await services.registration_reads(ctx, session, rows)]


class RegistrationController(Controller):
    path = "/registrations"
    tags = ["training"]

    @post("/{registration_id:uuid}/withdraw", status_code=200, opt=REGISTER,
          summary="Withdraw a registration while the session is planned or open")
    async def withdraw(self, ctx: TenantContext, registration_id: uuid.UUID) -> RegistrationRead:
        row = await services.withdraw(ctx, registration_id)
        session = await services.get_session(ctx, row["session_id"])
        return to_struct((await services.registration_reads(ctx, session, [row]))[0], RegistrationRead)


class PeopleController(Controller):
    path = "/people"
    tags = ["training"]

    @post("/", summary="Add a person missing from the directory (same rules as the people directory)",
          opt=REGISTER)
    async def add_person(self, ctx: TenantContext, data: NewPerson) -> PersonRead:
        return to_struct(await services.add_person(ctx, data), PersonRead)

    @get("/{person_id:uuid}/history", summary="Every session and certificate of one person", opt=READ)
    async def person_history(self, ctx: TenantContext, person_id: uuid.UUID) -> History:
        return to_struct(await reporting.person_history(ctx, person_id), History)


class CertificateController(Controller):
    path = "/certificates"
    tags = ["training"]

    @get("/", summary="Certificates, filtered (status, kind, year, person, agency, valid on a day, expiring)",
         opt=READ)
    async def list_certificates(
        self, ctx: TenantContext, status: CertStatus | None = None, kind_id: uuid.UUID | None = None,
        year: Year | None = None, person_id: uuid.UUID | None = None, agency_id: uuid.UUID | None = None,
        session_id: uuid.UUID | None = None, internal_auditor: bool | None = None, valid_on: date | None = None,
        expiring_before: date | None = None, q: Q = None, limit: Limit = 50, offset: Offset = 0,
    ) -> Page[CertificateRead]:
        rows, total = await certificates.list_certificates(
            ctx, status=status, kind_id=kind_id, year=year, person_id=person_id, agency_id=agency_id,
            session_id=session_id, internal_auditor=internal_auditor, valid_on_day=valid_on,
            expiring_before=expiring_before, q=q, limit=limit, offset=offset)
        return Page(items=[certificates.certificate_read(r) for r in rows], total=total, limit=limit, offset=offset)

    @get("/{certificate_id:uuid}", summary="Read a certificate", opt=READ)
    async def get_certificate(self, ctx: TenantContext, certificate_id: uuid.UUID) -> CertificateRead:
        return certificates.certificate_read(await certificates.get_certificate(ctx, certificate_id))

    @post("/{certificate_id:uuid}/revoke", status_code=200, opt=MANAGE,
          summary="Revoke a certificate with a reason (it is kept, marked revoked)")
    async def revoke(self, ctx: TenantContext, certificate_id: uuid.UUID, data: Revocation) -> CertificateRead:
        return certificates.certificate_read(await certificates.revoke(ctx, certificate_id, data.reason, data.on))

    @get("/{certificate_id:uuid}/document.docx", opt=READ,
         summary="The printable certificate (DOCX, Vietnamese, with the state header)")
    async def document(self, ctx: TenantContext, certificate_id: uuid.UUID) -> Response:
        content, name = await certificates.document(ctx, certificate_id)
        return Response(content, headers={"Content-Disposition": f'attachment; filename="{name}"'},
                        media_type="application/vnd.openxmlformats-officedocument.wordprocessingml.document")


class CoverageController(Controller):
    path = "/"
    tags = ["training"]

    async def _coverage(self, ctx: TenantContext, year: int | None, on: date | None, level: list[Level] | None,
                        parent_id: uuid.UUID | None, required: bool | None, has_internal_auditor: bool | None,
                        trained: bool | None, q: str | None) -> tuple[int, date, dict]:
        day = on or date.today()
        year = year or day.year
        found = await reporting.coverage(ctx, year=year, on=day, level=level, parent_id=parent_id, required=required,
                                         has_internal_auditor=has_internal_auditor, trained=trained, q=q)
        return year, day, found

    @get("/coverage", summary="Coverage per agency: staff trained in a year, valid internal auditors", opt=READ)
    async def coverage(
        self, ctx: TenantContext, year: Year | None = None,
        on: Annotated[date | None, Parameter(description="the day internal-auditor certificates must be valid")] = None,
        level: list[Level] | None = None,
        parent_id: Annotated[uuid.UUID | None, Parameter(description="a locality: this agency and its sub-units")] = None,
        required: bool | None = None, has_internal_auditor: bool | None = None, trained: bool | None = None,
        q: Q = None, limit: Limit = 50, offset: Offset = 0,
    ) -> CoveragePage:
        year_, day, found = await self._coverage(ctx, year, on, level, parent_id, required, has_internal_auditor,
                                                 trained, q)
        rows = found["rows"]
        return CoveragePage(items=[to_struct(r, CoverageRow) for r in rows[offset:offset + limit]], total=len(rows),
                            limit=limit, offset=offset, year=year_, on=day,
                            agencies_trained=found["agencies_trained"],
                            agencies_with_internal_auditor=found["agencies_with_internal_auditor"],
                            required_without_internal_auditor=found["required_without_internal_auditor"])

    @get("/coverage.xlsx", summary="Coverage per agency as an Excel workbook (Vietnamese headers)", opt=READ)
    async def coverage_xlsx(
        self, ctx: TenantContext, request: Request, year: Year | None = None, on: date | None = None,
        level: list[Level] | None = None, parent_id: uuid.UUID | None = None, required: bool | None = None,
        has_internal_auditor: bool | None = None, trained: bool | None = None, q: Q = None,
    ) -> Response:
        import asyncio

        year_, day, found = await self._coverage(ctx, year, on, level, parent_id, required, has_internal_auditor,
                                                 trained, q)
        if len(found["rows"]) > EXPORT_MAX_ROWS:
            raise BadRequest(f"{len(found['rows'])} rows; narrow the filters to at most {EXPORT_MAX_ROWS}")
        content = await asyncio.to_thread(reporting.coverage_xlsx, found["rows"],
                                          title=f"Kết quả tập huấn HTQLCL - {ctx.tenant.name}", year=year_, on=day)
        name = f"tap-huan-{ctx.tenant.code}-{year_}.xlsx"
        return Response(content, headers={"Content-Disposition": f'attachment; filename="{name}"'},
                        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")

    @get("/agencies/{agency_id:uuid}/history", summary="Sessions and certificates of one agency's staff", opt=READ)
    async def agency_history(self, ctx: TenantContext, agency_id: uuid.UUID) -> History:
        return to_struct(await reporting.agency_history(ctx, agency_id), History)
