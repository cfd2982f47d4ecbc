"""The national view: aggregate figures of every province, contributed by each module's indicators hook.

National reviewers and platform admins only; counts, never tenant rows or personal data. The figures are the
national dashboard's (core.national.dashboard: live, frozen at a merger, or from a submitted or accepted report,
rolled up on request), in this endpoint's own response shape.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

import msgspec
from litestar import Request, get
from litestar.params import Parameter

from core.errors import BadRequest, Forbidden
from core.national.dashboard import dashboard
from core.plugins import PluginSystem


class Figure(msgspec.Struct):
    value: int | float
    label_vi: str
    label_en: str
    unit: str
    breakdown: dict[str, int | float]


class TenantFigures(msgspec.Struct):
    code: str
    name: str
    status: str
    indicators: dict[str, dict[str, Figure]]


class NationalView(msgspec.Struct):
    year: int
    tenants: list[TenantFigures]
    totals: dict[str, dict[str, Figure]]


@get("/api/v1/national/indicators", summary="Aggregate figures of every province for a year (national reviewers)")
async def national_indicators(
    request: Request,
    year: Annotated[int | None, Parameter(ge=2000, le=2100, description="defaults to the current year")] = None,
    rollup: Annotated[bool, Parameter(description="for a year before a merger: add merged provinces into today's")]
    = False,
) -> NationalView:
    if request.user.role not in ("national_reviewer", "platform_admin"):
        raise Forbidden("only national reviewers and platform admins read the national view")
    this_year = date.today().year
    if year is None:
        year = this_year
    elif year > this_year:
        raise BadRequest(f"year {year} is in the future (the current year is {this_year})", field="year")
    system: PluginSystem = request.app.state.plugins
    view = await dashboard(system, year, rollup)
    labels = {(c["module"], c["name"]): c for c in view["indicators"]}

    def figures(found: dict[str, dict[str, dict[str, Any]]]) -> dict[str, dict[str, Figure]]:
        return {module: {name: Figure(value=f["value"], label_vi=labels[module, name]["label_vi"],
                                      label_en=labels[module, name]["label_en"], unit=labels[module, name]["unit"],
                                      breakdown=f["breakdown"]) for name, f in names.items()}
                for module, names in found.items()}

    return NationalView(year=year, tenants=[
        TenantFigures(code=p["code"], name=p["name"], status=p["status"], indicators=figures(p["figures"]))
        for p in view["provinces"]], totals=figures(view["totals"]))
