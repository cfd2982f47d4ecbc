"""The national dashboard: every province for a year with its report's state, its figures and national totals by
agency level. Counts only: no tenant row and no personal data leaves this module.

A province's figures for a year come, in this order of precedence, from
- its report's snapshot, when the report was submitted or accepted (source "accepted" / "submitted");
- the figures frozen at a merger for a year before it (source "frozen"), as the province was;
- the modules' live indicators (source "live").
With `rollup`, a merged province's figures are added into today's province (following `merged_into`).
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from core.national.services import module_order, number
from core.national.tables import AnnualReport, ReportSnapshot
from core.db import platform_access
from core.tenancy import TenantInfo, unscoped
from core.tenancy.tables import FrozenFigure, Tenant, TenantModule


def _add(into: dict[str, dict[str, dict[str, Any]]], module: str, name: str, value: Any,
         breakdown: dict[str, Any]) -> None:
    found = into.setdefault(module, {}).get(name)
    if found is None:
        into[module][name] = {"value": number(value), "breakdown": {k: number(v) for k, v in breakdown.items()}}
        return
    found["value"] = number(found["value"] + value)
    for level, n in breakdown.items():
        found["breakdown"][level] = number(found["breakdown"].get(level, 0) + n)


async def frozen_figures(year: int) -> list[dict[str, Any]]:
    """Figures frozen at a merger for `year` (core.tenancy.tables.FrozenFigure, written by tenants/merge.py)."""
    return await FrozenFigure.select().where(FrozenFigure.year == year).output(load_json=True)


async def reports_of_year(year: int) -> dict[uuid.UUID, dict[str, Any]]:
    """Each province's report of the year (by the province it is of) with its snapshot's sections when under
    review or accepted."""
    with unscoped():
        rows = await AnnualReport.select(AnnualReport.id, AnnualReport.province_id, AnnualReport.state,
                                         AnnualReport.version, AnnualReport.snapshot_id,
                                         AnnualReport.submitted_at, AnnualReport.reviewed_at).where(
            AnnualReport.year == year)
        snap_ids = [r["snapshot_id"] for r in rows if r["state"] in ("submitted", "accepted") and r["snapshot_id"]]
        snaps = {}
        if snap_ids:
            snaps = {s["id"]: s for s in await ReportSnapshot.select(
                ReportSnapshot.id, ReportSnapshot.content, ReportSnapshot.sha256).where(
                ReportSnapshot.id.is_in(snap_ids))}
    out = {}
    for r in rows:
        snap = snaps.get(r["snapshot_id"])
        out[r["province_id"]] = {**r, "sha256": snap["sha256"] if snap else None,
                                 "sections": json.loads(snap["content"])["sections"] if snap else None}
    return out


async def dashboard(system: Any, year: int, rollup: bool = False, level: str | None = None) -> dict[str, Any]:
    """Every province's figures for a year: read across provinces, so on the explicit platform path (counted and
    logged; with PostgreSQL row-level security nothing foreign is visible otherwise)."""
    with platform_access("national dashboard"):
        return await _dashboard(system, year, rollup, level)


async def _dashboard(system: Any, year: int, rollup: bool = False, level: str | None = None) -> dict[str, Any]:
    tenants = await Tenant.select(Tenant.id, Tenant.code, Tenant.name, Tenant.status,
                                  Tenant.merged_into).order_by(Tenant.code)
    frozen = await frozen_figures(year)
    frozen_ids = {row["tenant_id"] for row in frozen}
    reports = await reports_of_year(year)
    # a merged province is listed for the years it has figures of its own: frozen ones or a report
    shown = [t for t in tenants if t["status"] != "merged" or t["id"] in frozen_ids
             or (t["id"] in reports and reports[t["id"]]["sections"] is not None)]
    source: dict[uuid.UUID, str] = {}
    for t in shown:
        rep = reports.get(t["id"])
        if rep is not None and rep["sections"] is not None:
            source[t["id"]] = rep["state"]
        elif t["id"] in frozen_ids:
            source[t["id"]] = "frozen"
        else:
            source[t["id"]] = "live"
    live = {t["id"]: TenantInfo(id=t["id"], code=t["code"], name=t["name"], status=t["status"])
            for t in shown if source[t["id"]] == "live"}
    switches = await TenantModule.select(TenantModule.tenant_id, TenantModule.module).where(
        TenantModule.enabled == True)  # noqa: E712
    by_module: dict[str, list[TenantInfo]] = {name: list(live.values()) for name in system.builtin_names()}
    for row in switches:
        if row["module"] in system.modules and row["tenant_id"] in live:
            by_module.setdefault(row["module"], []).append(live[row["tenant_id"]])

    labels: dict[str, dict[str, dict[str, Any]]] = {}
    rows: list[tuple[uuid.UUID, str, str, Any, dict[str, Any]]] = []

    def label(module: str, name: str, label_vi: str, label_en: str, unit: str, order: int = 0) -> None:
        labels.setdefault(module, {}).setdefault(name, {"label_vi": label_vi, "label_en": label_en, "unit": unit,
                                                        "order": order})

    for ind in await system.indicators(by_module, year):
        if ind.tenant_id in live:
            label(ind.module, ind.name, ind.label_vi, ind.label_en, ind.unit, ind.order)
            rows.append((ind.tenant_id, ind.module, ind.name, ind.value, dict(ind.breakdown)))
    for f in frozen:
        if source.get(f["tenant_id"]) == "frozen":
            label(f["module"], f["name"], f["label_vi"], f["label_en"], f["unit"])
            rows.append((f["tenant_id"], f["module"], f["name"], f["value"], f["breakdown"] or {}))
    for pid, rep in reports.items():
        if source.get(pid) in ("submitted", "accepted"):
            for sec in rep["sections"]:
                for item in sec["items"]:
                    label(sec["module"], item["name"], item["label_vi"], item["label_en"], item["unit"],
                          item["order"])
                    rows.append((pid, sec["module"], item["name"], item["value"], item["breakdown"]))

    successor = {t["id"]: t["merged_into"] for t in tenants}

    def today_of(tid: uuid.UUID) -> uuid.UUID:
        seen = set()
        while successor.get(tid) and tid not in seen:
            seen.add(tid)
            tid = successor[tid]
        return tid

    listed = [t for t in shown if not rollup or t["status"] != "merged"]
    if rollup:  # today's province whose only figures are its sources' is listed too
        ids = {t["id"] for t in listed}
        listed += [t for t in tenants if t["status"] != "merged" and t["id"] not in ids
                   and any(today_of(s["id"]) == t["id"] for s in shown)]
        listed.sort(key=lambda t: t["code"])
    figures: dict[uuid.UUID, dict[str, dict[str, dict[str, Any]]]] = {t["id"]: {} for t in listed}
    totals: dict[str, dict[str, dict[str, Any]]] = {}
    merged_in: dict[uuid.UUID, list[str]] = {}
    code_of = {t["id"]: t["code"] for t in tenants}
    for tid, module, name, value, breakdown in rows:
        if level is not None:
            value, breakdown = breakdown.get(level, 0), {level: breakdown[level]} if level in breakdown else {}
        owner = today_of(tid) if rollup else tid
        if owner in figures:
            _add(figures[owner], module, name, value, breakdown)
            if owner != tid and code_of[tid] not in merged_in.setdefault(owner, []):
                merged_in[owner].append(code_of[tid])
        _add(totals, module, name, value, breakdown)
    order, titles = module_order(system)
    rank = {m: i for i, m in enumerate(order)}
    catalog = [{"module": m, "title_vi": titles.get(m, m), "name": n, **labels[m][n]}
               for m in sorted(labels, key=lambda m: (rank.get(m, len(rank)), m))
               for n in sorted(labels[m], key=lambda n: (labels[m][n]["order"], n))]
    return {
        "year": year, "rollup": rollup, "level": level,
        "indicators": catalog,
        "provinces": [{
            "code": t["code"], "name": t["name"], "status": t["status"],
            "merged_into": code_of.get(t["merged_into"]) if t["merged_into"] else None,
            "report_state": reports[t["id"]]["state"] if t["id"] in reports else "none",
            "report_version": reports[t["id"]]["version"] if t["id"] in reports else 0,
            "source": source.get(t["id"], "rollup"),
            "rolled_up": sorted(merged_in.get(t["id"], [])),
            "figures": figures[t["id"]],
        } for t in listed],
        "totals": totals,
    }
