"""The province's annual report, for its officials: /api/v1/tenants/{code}/annual-report/{year}."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post, put
from litestar.params import Parameter

from core.errors import BadRequest
from core.national import documents, services
from core.national.schemas import AssessmentUpdate
from core.national.tables import AnnualReport
from core.tenancy.context import TenantContext

READ = {"permission": "national.report_read"}
WRITE = {"permission": "national.report_write"}
SUBMIT = {"permission": "national.report_submit"}
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
Year = Annotated[int, Parameter(ge=2000, le=2100, description="the report's year (not in the future)")]


def check_year(year: int) -> int:
    this_year = date.today().year
    if year > this_year:
        raise BadRequest(f"year {year} is in the future (the current year is {this_year})", field="year")
    return year


def attachment(content: bytes, media_type: str, filename: str) -> Response[bytes]:
    return Response(content, media_type=media_type,
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


async def own_view(ctx: TenantContext, request: Request, year: int) -> dict[str, Any]:
    check_year(year)
    row = await services.find_report(ctx, ctx.tenant.id, year)
    return await services.view(ctx, request.app.state.plugins, ctx.tenant, year, row)


class AnnualReportController(Controller):
    path = "/annual-report"
    tags = ["annual report"]

    @get("/", summary="The province's annual reports (years with a report and their state)", opt=READ)
    async def list_reports(self, ctx: TenantContext) -> list[dict[str, Any]]:
        rows = await ctx.scope(AnnualReport).select(
            AnnualReport.year, AnnualReport.state, AnnualReport.version, AnnualReport.submitted_at,
            AnnualReport.reviewed_at).where(AnnualReport.province_id == ctx.tenant.id).order_by(
            AnnualReport.year, ascending=False)
        return [{**r, "state_vi": services.STATE_VI[r["state"]]} for r in rows]

    @get("/{year:int}", summary="The report for a year: live figures as a draft, the snapshot once submitted, "
                                "with what changed since", opt=READ)
    async def get_report(self, ctx: TenantContext, request: Request, year: Year) -> dict[str, Any]:
        return await own_view(ctx, request, year)

    @put("/{year:int}/assessment", summary="Write the assessment (kết quả, tồn tại, kiến nghị), số/ký hiệu, địa danh",
         opt={**WRITE, "walk_body": {"results": "Đã hoàn thành", "issues": "", "proposals": "", "number": "1/BC-UBND",
                                     "place": "Lạng Sơn"}})
    async def put_assessment(self, ctx: TenantContext, request: Request, year: Year,
                             data: AssessmentUpdate) -> dict[str, Any]:
        check_year(year)
        await services.update_assessment(ctx, year, {
            "results": data.results, "issues": data.issues, "proposals": data.proposals,
            "number": data.number.strip(), "place": data.place.strip()})
        return await own_view(ctx, request, year)

    @post("/{year:int}/submit", summary="Submit the report: figures frozen as a snapshot with its SHA-256",
          opt=SUBMIT, status_code=200)
    async def submit(self, ctx: TenantContext, request: Request, year: Year) -> dict[str, Any]:
        check_year(year)
        await services.submit(ctx, request.app.state.plugins, year)
        return await own_view(ctx, request, year)

    @get("/{year:int}/docx", summary="The report as a Word document (state form)", opt=READ)
    async def docx(self, ctx: TenantContext, request: Request, year: Year) -> Response[bytes]:
        report = await own_view(ctx, request, year)
        return attachment(documents.report_docx(report, date.today()), DOCX, f"bao-cao-iso-{year}.docx")

    @get("/{year:int}/xlsx", summary="The report's figures as a workbook", opt=READ)
    async def xlsx(self, ctx: TenantContext, request: Request, year: Year) -> Response[bytes]:
        report = await own_view(ctx, request, year)
        return attachment(documents.report_xlsx(report), XLSX, f"bao-cao-iso-{year}.xlsx")
