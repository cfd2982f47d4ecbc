"""The national view: aggregate figures of every province, contributed by each module's indicators hook.

National reviewers and platform admins only; counts, never tenant rows or personal data.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

import msgspec
from litestar import Request, get
from litestar.params import Parameter

from core.errors import Forbidden
from core.plugins import get_plugin_system
from core.tenancy.tables import Tenant, TenantModule
from core.tenancy import TenantInfo
from core.tenancy.context import system_context


class TenantFigures(msgspec.Struct):
    code: str
    name: str
    status: str
    indicators: dict[str, dict[str, Any]]


class NationalView(msgspec.Struct):
    year: int
    tenants: list[TenantFigures]
    totals: dict[str, dict[str, float]]


@get("/api/v1/national/indicators", summary="Aggregate figures of every province for a year (national reviewers)")
async def national_indicators(
    request: Request,
    year: Annotated[int, Parameter(ge=2000, le=2100)] = date.today().year,
) -> NationalView:
    if request.user.role not in ("national_reviewer", "platform_admin"):
        raise Forbidden("only national reviewers and platform admins read the national view")
    system = get_plugin_system()
    tenants = await Tenant.select().where(Tenant.status != "merged").order_by(Tenant.code)
    switches = await TenantModule.select(TenantModule.tenant_id, TenantModule.module).where(
        TenantModule.enabled == True)  # noqa: E712
    enabled: dict[Any, list[str]] = {}
    for row in switches:
        if row["module"] in system.modules:
            enabled.setdefault(row["tenant_id"], []).append(row["module"])
    result, totals = [], {}
    for row in tenants:
        ctx = system_context(TenantInfo(id=row["id"], code=row["code"], name=row["name"], status=row["status"]),
                             "national-view")
        figures: dict[str, dict[str, Any]] = {}
        for module, indicators in await system.collect("isogov_indicators", modules=enabled.get(row["id"], []),
                                                       ctx=ctx, year=year):
            for ind in indicators:
                figures.setdefault(module, {})[ind.name] = ind.value
                totals.setdefault(module, {})
                totals[module][ind.name] = totals[module].get(ind.name, 0) + ind.value
        result.append(TenantFigures(code=row["code"], name=row["name"], status=row["status"], indicators=figures))
    return NationalView(year=year, tenants=result, totals=totals)
