"""The national side of the annual report: the dashboard, trends, exports, the review queue and the review steps.

National reviewers (and platform admins, read only) under /api/v1/national/...; counts and report texts only,
never a tenant row or personal data. Accepting, returning and unlocking take a national reviewer.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from litestar import Request, Response, get, post
from litestar.params import Parameter

from core.contracts import AGENCY_LEVELS
from core.errors import BadRequest, Forbidden, NotFound
from core.national import documents, services
from core.national.dashboard import dashboard
from core.national.report_controllers import DOCX, XLSX, Year, attachment, check_year
from core.national.schemas import Reason
from core.national.tables import AnnualReport
from core.tenancy import Actor, TenantInfo, unscoped
from core.tenancy.context import TenantContext
from core.tenancy.tables import Tenant

Level = Literal["province", "department", "district", "office", "commune", "unit"]
OptionalYear = Annotated[int | None, Parameter(ge=2000, le=2100, description="defaults to the current year")]
ROLLUP = Parameter(description="for a year before a merger: add merged provinces into today's")


def reader(request: Request) -> Actor:
    if request.user.role not in ("national_reviewer", "platform_admin"):
        raise Forbidden("only national reviewers and platform admins read the national review")
    return request.user


def reviewer(request: Request) -> Actor:
    if request.user.role != "national_reviewer":
        raise Forbidden("only a national reviewer may accept, return or unlock a province's report")
    return request.user


def year_or_today(year: int | None) -> int:
    return date.today().year if year is None else check_year(year)


def _info(row: dict[str, Any]) -> TenantInfo:
    return TenantInfo(id=row["id"], code=row["code"], name=row["name"], status=row["status"])


async def province_report(request: Request, code: str, year: int) -> tuple[TenantContext, TenantInfo,
                                                                           dict[str, Any] | None]:
    """The province (merged ones too), a context of the province that holds its report today (acting as the
    signed-in national user) and the report."""
    check_year(year)
    province = await Tenant.select().where(Tenant.code == code).first()
    if province is None:
        raise NotFound(f"province {code!r} not found")
    with unscoped():
        row = await AnnualReport.select(AnnualReport.tenant_id).where(
            AnnualReport.key == f"{province['id']}:{year}").first()
    owner = province
    if row is not None and row["tenant_id"] != province["id"]:
        owner = await Tenant.select().where(Tenant.id == row["tenant_id"]).first()
    ctx = TenantContext(tenant=_info(owner), actor=request.user, permissions=frozenset())
    return ctx, _info(province), await services.find_report(ctx, province["id"], year)


@get("/api/v1/national/dashboard", summary="Every province for a year: report state, figures, national totals")
async def national_dashboard(request: Request, year: OptionalYear = None,
                             rollup: Annotated[bool, ROLLUP] = False, level: Level | None = None) -> dict[str, Any]:
    reader(request)
    return await dashboard(request.app.state.plugins, year_or_today(year), rollup, level)


@get("/api/v1/national/dashboard/export", summary="The dashboard as CSV or XLSX (Vietnamese headers)")
async def national_dashboard_export(request: Request, year: OptionalYear = None,
                                    rollup: Annotated[bool, ROLLUP] = False, level: Level | None = None,
                                    format: Literal["csv", "xlsx"] = "xlsx") -> Response[bytes]:
    reader(request)
    view = await dashboard(request.app.state.plugins, year_or_today(year), rollup, level)
    name = f"tong-hop-iso-{view['year']}{'-theo-tinh-hien-nay' if rollup else ''}"
    if format == "csv":
        return attachment(documents.dashboard_csv(view), "text/csv; charset=utf-8", f"{name}.csv")
    return attachment(documents.dashboard_xlsx(view), XLSX, f"{name}.xlsx")


@get("/api/v1/national/trends", summary="National totals by level over the years")
async def national_trends(request: Request, since: Annotated[int, Parameter(ge=2000, le=2100)],
                          until: OptionalYear = None,
                          rollup: Annotated[bool, ROLLUP] = False) -> dict[str, Any]:
    reader(request)
    until = year_or_today(until)
    if since > until:
        raise BadRequest(f"since ({since}) is after until ({until})", field="since")
    if until - since >= 20:
        raise BadRequest("at most 20 years at once", field="since")
    years = []
    for year in range(since, until + 1):
        view = await dashboard(request.app.state.plugins, year, rollup)
        years.append({"year": year, "provinces": len(view["provinces"]),
                      "accepted": sum(p["report_state"] == "accepted" for p in view["provinces"]),
                      "totals": view["totals"]})
    return {"since": since, "until": until, "levels": list(AGENCY_LEVELS), "years": years}


@get("/api/v1/national/annual-reports", summary="The review queue: provinces' reports of a year by state")
async def review_queue(request: Request, year: OptionalYear = None,
                       report_state: Annotated[Literal["submitted", "returned", "accepted", "draft"] | None,
                                               Parameter(query="state")] = None) -> list[dict[str, Any]]:
    reader(request)
    year = year_or_today(year)
    with unscoped():
        query = AnnualReport.select(AnnualReport.province_id, AnnualReport.year, AnnualReport.state,
                                    AnnualReport.version, AnnualReport.submitted_at,
                                    AnnualReport.reviewed_at).where(AnnualReport.year == year)
        if report_state is not None:
            query = query.where(AnnualReport.state == report_state)
        rows = await query
    tenants = {t["id"]: t for t in await Tenant.select(Tenant.id, Tenant.code, Tenant.name, Tenant.status)}
    out = [{"code": tenants[r["province_id"]]["code"], "name": tenants[r["province_id"]]["name"],
            "status": tenants[r["province_id"]]["status"], **{k: v for k, v in r.items() if k != "province_id"},
            "state_vi": services.STATE_VI[r["state"]]}
           for r in rows if r["province_id"] in tenants]
    return sorted(out, key=lambda r: r["code"])


async def _national_view(request: Request, code: str, year: int) -> dict[str, Any]:
    ctx, province, row = await province_report(request, code, year)
    if row is None or row["version"] == 0:
        raise NotFound(f"province {code!r} has not submitted its report for {year}")
    return await services.view(ctx.as_read_only(), request.app.state.plugins, province, year, row)


@get("/api/v1/national/annual-reports/{code:str}/{year:int}", summary="A province's submitted report")
async def read_report(request: Request, code: str, year: Year) -> dict[str, Any]:
    reader(request)
    return await _national_view(request, code, year)


@get("/api/v1/national/annual-reports/{code:str}/{year:int}/docx", summary="A province's report as DOCX")
async def read_report_docx(request: Request, code: str, year: Year) -> Response[bytes]:
    reader(request)
    report = await _national_view(request, code, year)
    return attachment(documents.report_docx(report, date.today()), DOCX, f"bao-cao-iso-{code}-{year}.docx")


@get("/api/v1/national/annual-reports/{code:str}/{year:int}/xlsx", summary="A province's report as XLSX")
async def read_report_xlsx(request: Request, code: str, year: Year) -> Response[bytes]:
    reader(request)
    report = await _national_view(request, code, year)
    return attachment(documents.report_xlsx(report), XLSX, f"bao-cao-iso-{code}-{year}.xlsx")


async def _step(request: Request, code: str, year: int, action: str, reason: str = "") -> dict[str, Any]:
    reviewer(request)
    ctx, _, row = await province_report(request, code, year)
    if row is None:
        raise NotFound(f"province {code!r} has no report for {year}")
    await services.review(ctx, row["id"], action, reason)
    return await _national_view(request, code, year)


@post("/api/v1/national/annual-reports/{code:str}/{year:int}/accept", status_code=200,
      summary="Accept a submitted report: the year is locked")
async def accept_report(request: Request, code: str, year: Year) -> dict[str, Any]:
    return await _step(request, code, year, "accept")


@post("/api/v1/national/annual-reports/{code:str}/{year:int}/return", status_code=200,
      summary="Return a submitted report to the province with a written reason")
async def return_report(request: Request, code: str, year: Year, data: Reason) -> dict[str, Any]:
    return await _step(request, code, year, "return", data.reason.strip() or _blank())


@post("/api/v1/national/annual-reports/{code:str}/{year:int}/unlock", status_code=200,
      summary="Unlock an accepted report with a written reason (back to draft)")
async def unlock_report(request: Request, code: str, year: Year, data: Reason) -> dict[str, Any]:
    return await _step(request, code, year, "unlock", data.reason.strip() or _blank())


def _blank() -> str:
    raise BadRequest("the reason must not be blank", field="reason")


HANDLERS = (national_dashboard, national_dashboard_export, national_trends, review_queue, read_report,
            read_report_docx, read_report_xlsx, accept_report, return_report, unlock_report)
