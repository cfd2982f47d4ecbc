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
from core.tenancy.tables import FrozenFigure, Tenant, TenantModule
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
    tenants = await Tenant.select().order_by(Tenant.code)
    with platform_access("national view"):
        frozen = await FrozenFigure.select().where(FrozenFigure.year == year).output(load_json=True)
    frozen_ids = {row["tenant_id"] for row in frozen}
    # A province counts with live figures unless it was merged; a year before a merger is shown from the figures
    # frozen at the merger, as the provinces were (the live figures of the merged province hold both).
    shown = [row for row in tenants if row["status"] != "merged" or row["id"] in frozen_ids]
    successor = {row["id"]: row["merged_into"] for row in tenants}

    def today_of(tenant_id: Any) -> Any:
        seen = set()
        while successor.get(tenant_id) and tenant_id not in seen:
            seen.add(tenant_id)
            tenant_id = successor[tenant_id]
        return tenant_id

    live = [row for row in shown if row["id"] not in frozen_ids]
    infos = {row["id"]: TenantInfo(id=row["id"], code=row["code"], name=row["name"], status=row["status"])
             for row in live}
    with platform_access("national view"):
        switches = await TenantModule.select(TenantModule.tenant_id, TenantModule.module).where(
            TenantModule.enabled == True)  # noqa: E712
    by_module: dict[str, list[TenantInfo]] = {name: list(infos.values()) for name in system.builtin_names()}
    for row in switches:
        if row["module"] in system.modules and row["tenant_id"] in infos:
            by_module.setdefault(row["module"], []).append(infos[row["tenant_id"]])
    figures: dict[Any, dict[str, dict[str, Figure]]] = {row["id"]: {} for row in shown}
    totals: dict[str, dict[str, Figure]] = {}

    def add(into: dict[str, dict[str, Figure]], module: str, name: str, value: float, label_vi: str, label_en: str,
            unit: str, breakdown: dict[str, Any]) -> None:
        found = into.setdefault(module, {}).get(name)
        if found is None:
            into[module][name] = Figure(value=value, label_vi=label_vi, label_en=label_en, unit=unit,
                                        breakdown=dict(breakdown))
            return
        found.value += value
        for level, n in breakdown.items():
            found.breakdown[level] = found.breakdown.get(level, 0) + n

    rows = [(ind.tenant_id, ind.module, ind.name, ind.value, ind.label_vi, ind.label_en, ind.unit, ind.breakdown)
            for ind in await system.indicators(by_module, year) if ind.tenant_id in figures]
    rows += [(f["tenant_id"], f["module"], f["name"], _number(f["value"]), f["label_vi"], f["label_en"], f["unit"],
              f["breakdown"] or {}) for f in frozen if f["tenant_id"] in figures]
    for tenant_id, module, name, value, label_vi, label_en, unit, breakdown in rows:
        owner = today_of(tenant_id) if rollup else tenant_id
        if owner in figures:
            add(figures[owner], module, name, value, label_vi, label_en, unit, breakdown)
        add(totals, module, name, value, label_vi, label_en, unit, breakdown)
    if rollup:
        shown = [row for row in shown if row["status"] != "merged"]
    return NationalView(year=year, tenants=[
        TenantFigures(code=row["code"], name=row["name"], status=row["status"], indicators=figures[row["id"]])
        for row in shown], totals=totals)


def _number(value: float) -> int | float:
    return int(value) if float(value).is_integer() else value
