"""The national view: aggregate figures of every province, contributed by each module's indicators hook.

National reviewers and platform admins only; counts, never tenant rows or personal data.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

import msgspec
from litestar import Request, get
from litestar.params import Parameter

from core.errors import BadRequest, Forbidden
from core.plugins import PluginSystem
from core.db import platform_access
from core.tenancy.tables import Tenant, TenantModule
from core.tenancy import TenantInfo


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
) -> NationalView:
    if request.user.role not in ("national_reviewer", "platform_admin"):
        raise Forbidden("only national reviewers and platform admins read the national view")
    this_year = date.today().year
    if year is None:
        year = this_year
    elif year > this_year:
        raise BadRequest(f"year {year} is in the future (the current year is {this_year})", field="year")
    system: PluginSystem = request.app.state.plugins
    tenants = await Tenant.select().where(Tenant.status != "merged").order_by(Tenant.code)
    infos = {row["id"]: TenantInfo(id=row["id"], code=row["code"], name=row["name"], status=row["status"])
             for row in tenants}
    with platform_access("national view"):
        switches = await TenantModule.select(TenantModule.tenant_id, TenantModule.module).where(
            TenantModule.enabled == True)  # noqa: E712
    by_module: dict[str, list[TenantInfo]] = {name: list(infos.values()) for name in system.builtin_names()}
    for row in switches:
        if row["module"] in system.modules and row["tenant_id"] in infos:
            by_module.setdefault(row["module"], []).append(infos[row["tenant_id"]])
    figures: dict[Any, dict[str, dict[str, Figure]]] = {tid: {} for tid in infos}
    totals: dict[str, dict[str, Figure]] = {}
    for ind in await system.indicators(by_module, year):
        if ind.tenant_id not in figures:
            continue
        figures[ind.tenant_id].setdefault(ind.module, {})[ind.name] = Figure(
            value=ind.value, label_vi=ind.label_vi, label_en=ind.label_en, unit=ind.unit, breakdown=dict(ind.breakdown))
        total = totals.setdefault(ind.module, {}).get(ind.name)
        if total is None:
            total = totals[ind.module][ind.name] = Figure(value=0, label_vi=ind.label_vi, label_en=ind.label_en,
                                                          unit=ind.unit, breakdown={})
        total.value += ind.value
        for level, value in ind.breakdown.items():
            total.breakdown[level] = total.breakdown.get(level, 0) + value
    return NationalView(year=year, tenants=[
        TenantFigures(code=row["code"], name=row["name"], status=row["status"], indicators=figures[row["id"]])
        for row in tenants], totals=totals)
