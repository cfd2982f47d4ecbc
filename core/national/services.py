"""The province's annual ISO report: sections composed from the modules' indicators, the review workflow and the
immutable snapshots. No HTTP here.

Workflow (DHIS2's data approval, with the figures frozen at submission and a reason for every step back):

    draft ──submit──▶ submitted ──accept──▶ accepted (locked) ──unlock (reason)──▶ draft
      ▲                   │
      └──── returned ◀────┘ return (reason); returned ──submit──▶ submitted

- draft and returned show live figures; submitted and accepted show the snapshot taken at submission (canonical
  JSON + SHA-256, written once, never updated) and what changed in the live figures since.
- tenant admins edit the assessment and submit; national reviewers accept, return and unlock.
- every step is audited (through `ctx.scope`, in the province's audit trail), written in the report's history
  (role and time, never names) and notified to the province's admins; national reviewers see the steps waiting
  for them in the review queue (`GET /api/v1/national/annual-reports?state=submitted`).
"""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import date, datetime, timezone
from typing import Any, Iterable

from core.contracts import AGENCY_LEVELS, Indicator
from core.db import is_sqlite, transaction
from core.errors import Conflict
from core.national.tables import AnnualReport, ReportSnapshot
from core.notifications.notify import notify
from core.tenancy import TenantInfo
from core.tenancy.context import TenantContext

LEVEL_VI = {"province": "Cấp tỉnh", "department": "Sở, ban, ngành", "district": "Cấp huyện",
            "office": "Phòng, ban chuyên môn", "commune": "Cấp xã", "unit": "Đơn vị trực thuộc"}
STATE_VI = {"draft": "Đang soạn", "submitted": "Đã gửi, chờ thẩm định", "returned": "Bị trả lại",
            "accepted": "Đã chấp nhận (khóa)", "none": "Chưa lập"}
ACTION_VI = {"submitted": "Gửi báo cáo", "accepted": "Chấp nhận", "returned": "Trả lại", "unlocked": "Mở khóa"}
EDITABLE = ("draft", "returned")


def now() -> datetime:
    return datetime.now(timezone.utc)


def number(value: Any) -> int | float:
    value = float(value)
    return int(value) if value.is_integer() else round(value, 6)


# --------------------------------------------------------------------------------------------- sections


def compose(indicators: Iterable[Indicator], module_order: list[str], titles: dict[str, str]) -> list[dict[str, Any]]:
    """Sections of the report: one per (module, section) key, in the modules' order, figures by `order`.

    A plugin adds a section by returning indicators with `section="<key>"`; the section's title is the module's
    Vietnamese title, followed by the key when it is not the module's own name.
    """
    sections: dict[str, dict[str, Any]] = {}
    for ind in indicators:
        key = ind.section or ind.module
        sec = sections.get(key)
        if sec is None:
            title = titles.get(ind.module, ind.module)
            sec = sections[key] = {"key": key, "module": ind.module,
                                   "title_vi": title if key == ind.module else f"{title}: {key}", "items": []}
        sec["items"].append({"name": ind.name, "label_vi": ind.label_vi, "label_en": ind.label_en, "unit": ind.unit,
                             "order": ind.order, "value": number(ind.value),
                             "breakdown": {lvl: number(v) for lvl, v in sorted(ind.breakdown.items())}})
    rank = {name: i for i, name in enumerate(module_order)}
    out = sorted(sections.values(), key=lambda s: (rank.get(s["module"], len(rank)), s["key"] != s["module"], s["key"]))
    for sec in out:
        sec["items"].sort(key=lambda item: (item["order"], item["name"]))
    return out


PREFERRED = ("certification", "inspections", "training", "awards", "evidence")


def module_order(system: Any) -> tuple[list[str], dict[str, str]]:
    """The report's order of modules: the domain's own, then any other module by name."""
    order = [m for m in PREFERRED if m in system.modules] + sorted(m for m in system.modules if m not in PREFERRED)
    return order, {name: mod.info.title_vi for name, mod in system.modules.items()}


async def live_sections(system: Any, tenant: TenantInfo, year: int) -> list[dict[str, Any]]:
    """The province's figures for `year` as they are now, from every module it has enabled."""
    from core.tenancy.guards import enabled_modules

    modules = [m for m in system.enabled_or_builtin(await enabled_modules(tenant.id)) if m in system.modules]
    found = await system.indicators({m: [tenant] for m in modules}, year)
    order, titles = module_order(system)
    return compose([i for i in found if i.tenant_id in (None, tenant.id)], order, titles)


def canonical(content: dict[str, Any]) -> str:
    """The one JSON text of a snapshot: sorted keys, no spaces, UTF-8 text kept as is."""
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def changes(snapshot: list[dict[str, Any]], live: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every figure (total or one level) whose live value differs from the snapshot's."""

    def flat(sections: list[dict[str, Any]]) -> dict[tuple[str, str, str], tuple[Any, str]]:
        out = {}
        for sec in sections:
            for item in sec["items"]:
                out[(sec["key"], item["name"], "")] = (item["value"], item["label_vi"])
                for level, value in item["breakdown"].items():
                    out[(sec["key"], item["name"], level)] = (value, item["label_vi"])
        return out

    before, after = flat(snapshot), flat(live)
    diff = []
    for key in sorted(set(before) | set(after)):
        old, new = before.get(key, (0, "")), after.get(key, (0, ""))
        if old[0] != new[0]:
            diff.append({"section": key[0], "name": key[1], "level": key[2] or None, "label_vi": new[1] or old[1],
                         "accepted": old[0], "live": new[0], "delta": number(new[0] - old[0])})
    return diff


# ---------------------------------------------------------------------------------------------- reports


def _key(province_id: uuid.UUID, year: int) -> str:
    return f"{province_id}:{year}"


async def find_report(ctx: TenantContext, province_id: uuid.UUID, year: int) -> dict[str, Any] | None:
    return await ctx.scope(AnnualReport).select().where(AnnualReport.key == _key(province_id, year)).first()


async def _lock(ctx: TenantContext, report_id: uuid.UUID) -> dict[str, Any]:
    """Serialize the steps of one report (PostgreSQL: the row lock; SQLite: the write transaction)."""
    if not is_sqlite():
        await ctx.scope(AnnualReport).select(AnnualReport.id).where(AnnualReport.id == report_id).lock_rows("UPDATE")
    return await ctx.scope(AnnualReport).get(report_id, label="annual report")


async def ensure_report(ctx: TenantContext, year: int) -> dict[str, Any]:
    """The province's own report for the year, created as a draft on first write."""
    row = await find_report(ctx, ctx.tenant.id, year)
    if row is not None:
        return row
    async with transaction():
        row = await find_report(ctx, ctx.tenant.id, year)
        if row is None:
            row = await ctx.scope(AnnualReport).insert({
                "province_id": ctx.tenant.id, "key": _key(ctx.tenant.id, year), "year": year, "state": "draft",
                "place": "", "number": "", "history": "[]"})
    return row


def _history(row: dict[str, Any], action: str, role: str, reason: str = "") -> str:
    items = json.loads(row["history"] or "[]")
    items.append({"at": now().isoformat(timespec="seconds"), "action": action, "by": role, "reason": reason,
                  "version": row["version"] + (1 if action == "submitted" else 0)})
    return json.dumps(items, ensure_ascii=False)


async def snapshot_of(ctx: TenantContext, row: dict[str, Any]) -> dict[str, Any] | None:
    if row["snapshot_id"] is None:
        return None
    snap = await ctx.scope(ReportSnapshot).get(row["snapshot_id"], label="report snapshot")
    content = json.loads(snap["content"])
    return {"id": snap["id"], "version": snap["version"], "sha256": snap["sha256"], "created_at": snap["created_at"],
            "content": content, "intact": digest(snap["content"]) == snap["sha256"]}


async def update_assessment(ctx: TenantContext, year: int, values: dict[str, Any]) -> dict[str, Any]:
    row = await ensure_report(ctx, year)
    async with transaction():
        row = await _lock(ctx, row["id"])
        if row["state"] not in EDITABLE:
            raise Conflict(f"the report for {year} is {row['state']}: it can be changed only as a draft or once "
                           "returned" + (" (ask a national reviewer to unlock it)" if row["state"] == "accepted" else ""),
                           field="state")
        return await ctx.scope(AnnualReport).update(row["id"], values)


async def submit(ctx: TenantContext, system: Any, year: int) -> dict[str, Any]:
    """Freeze the live figures and the assessment as snapshot version n+1 and hand the report to review."""
    row = await ensure_report(ctx, year)
    sections = await live_sections(system, ctx.tenant, year)  # read before the write lock
    async with transaction():
        row = await _lock(ctx, row["id"])
        if row["state"] not in EDITABLE:
            raise Conflict(f"the report for {year} is already {row['state']}: it cannot be submitted again",
                           field="state")
        version = row["version"] + 1
        content = {"province": {"id": str(row["province_id"]), "code": ctx.tenant.code, "name": ctx.tenant.name},
                   "year": year, "version": version, "number": row["number"], "place": row["place"],
                   "assessment": {"results": row["results"], "issues": row["issues"], "proposals": row["proposals"]},
                   "sections": sections}
        text = canonical(content)
        snap = await ctx.scope(ReportSnapshot).insert({
            "province_id": row["province_id"], "report_id": row["id"], "key": f"{row['key']}:{version}",
            "year": year, "version": version, "content": text, "sha256": digest(text)}, action="submit")
        row = await ctx.scope(AnnualReport).update(row["id"], {
            "state": "submitted", "snapshot_id": snap["id"], "version": version, "submitted_at": now(),
            "reason": "", "history": _history(row, "submitted", ctx.actor.role)}, action="submit")
        await notify(ctx, kind="national.report_submitted", data={"year": year, "version": version},
                     recipients=["tenant_admin"], link=f"annual-report/{year}",
                     dedup_key=f"national:submitted:{row['key']}:{version}")
    return row


async def review(ctx: TenantContext, report_id: uuid.UUID, action: str, reason: str = "") -> dict[str, Any]:
    """A national reviewer's step on a report of ctx's tenant: accept, return (reason) or unlock (reason)."""
    expected = {"accept": "submitted", "return": "submitted", "unlock": "accepted"}[action]
    async with transaction():
        row = await _lock(ctx, report_id)
        if row["state"] != expected:
            raise Conflict(f"the report for {row['year']} is {row['state']}: only a {expected} report can be "
                           f"{ {'accept': 'accepted', 'return': 'returned', 'unlock': 'unlocked'}[action]}",
                           field="state")
        done = {"accept": "accepted", "return": "returned", "unlock": "unlocked"}[action]
        values: dict[str, Any] = {"state": {"accept": "accepted", "return": "returned", "unlock": "draft"}[action],
                                  "reviewed_at": now(), "reason": reason,
                                  "history": _history(row, done, ctx.actor.role, reason)}
        row = await ctx.scope(AnnualReport).update(row["id"], values, action=action)
        await notify(ctx, kind=f"national.report_{done}", data={"year": row["year"], "reason": reason},
                     body=reason, recipients=["tenant_admin"], link=f"annual-report/{row['year']}",
                     dedup_key=f"national:{done}:{row['key']}:{row['version']}:{len(json.loads(row['history']))}")
    return row


async def view(ctx: TenantContext, system: Any, province: TenantInfo, year: int,
               row: dict[str, Any] | None) -> dict[str, Any]:
    """What a reader sees: the snapshot under review or accepted (with the live changes since), else live figures."""
    state = row["state"] if row else "draft"
    snap = await snapshot_of(ctx, row) if row else None
    frozen = state in ("submitted", "accepted") and snap is not None
    live = None
    if province.status != "merged" or not frozen:
        live = await live_sections(system, province, year)
    sections = snap["content"]["sections"] if frozen else (live or [])
    return {
        "province": {"code": province.code, "name": province.name, "status": province.status},
        "year": year, "state": state, "state_vi": STATE_VI[state],
        "number": (row or {}).get("number", ""), "place": (row or {}).get("place", ""),
        "assessment": {"results": (row or {}).get("results", ""), "issues": (row or {}).get("issues", ""),
                       "proposals": (row or {}).get("proposals", "")},
        "version": (row or {}).get("version", 0),
        "submitted_at": (row or {}).get("submitted_at"), "reviewed_at": (row or {}).get("reviewed_at"),
        "reason": (row or {}).get("reason", ""),
        "history": json.loads((row or {}).get("history") or "[]"),
        "snapshot": None if snap is None else {"version": snap["version"], "sha256": snap["sha256"],
                                               "created_at": snap["created_at"], "intact": snap["intact"]},
        "figures": "snapshot" if frozen else "live",
        "sections": sections,
        "changes": changes(snap["content"]["sections"], live) if frozen and live is not None else [],
    }


def levels_of(sections: list[dict[str, Any]]) -> list[str]:
    used = {lvl for sec in sections for item in sec["items"] for lvl in item["breakdown"]}
    return [lvl for lvl in AGENCY_LEVELS if lvl in used]


def vi_date(day: date) -> str:
    return f"ngày {day.day:02d} tháng {day.month:02d} năm {day.year}"
