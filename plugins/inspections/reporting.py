"""What the module tells the rest of isogov: facts, indicators, reminders, evidence checks, the tenant merge,
and the November summary (Art. 38)."""

from __future__ import annotations

import uuid
from collections import Counter, defaultdict
from datetime import date, timedelta
from typing import Any

from piccolo.query.functions.aggregate import Count
from piccolo.querystring import QueryString

from core.agencies.tables import Agency
from core.contracts import Fact, Indicator, MergeConflict, MergeReport, Reminder
from core.errors import Forbidden, NotFound
from core.tenancy.context import TenantContext
from plugins.inspections import NAME, services
from plugins.inspections.tables import (
    InspectionChecklistTemplate,
    InspectionCorrectiveAction,
    InspectionFinding,
    InspectionPlan,
    InspectionPlanLine,
    InspectionRecord,
    InspectionSettings,
    InspectionTeam,
    InspectionTeamMember,
    InspectionVisit,
)

FORM_VI = {"on_site": "tại chỗ", "documents": "hồ sơ"}
RESULT_VI = {"conforming": "phù hợp", "minor_nonconformities": "có điểm không phù hợp nhẹ",
             "major_nonconformities": "có điểm không phù hợp nặng"}
LEVELS = ("province", "department", "district", "office", "commune", "unit")


# ------------------------------------------------------------------------------------------------ facts


async def facts(ctx: TenantContext, agencies: list[uuid.UUID], on: date) -> list[Fact]:
    if not agencies:
        return []
    records = await ctx.scope(InspectionRecord).select(
        InspectionRecord.agency_id, InspectionRecord.inspected_on, InspectionRecord.form, InspectionRecord.result,
    ).where((InspectionRecord.status == "signed") & (InspectionRecord.inspected_on <= on)
            & InspectionRecord.agency_id.is_in(list(agencies)))
    last: dict[Any, dict] = {}
    last_on_site: dict[Any, date] = {}
    for r in sorted(records, key=lambda r: r["inspected_on"]):
        last[r["agency_id"]] = r
        if r["form"] == "on_site":
            last_on_site[r["agency_id"]] = r["inspected_on"]
    findings = await ctx.scope(InspectionFinding).select(
        InspectionFinding.agency_id, InspectionFinding.status, InspectionFinding.due_on,
    ).where(InspectionFinding.status.is_in(["open", "action_reported", "deferred"])
            & InspectionFinding.agency_id.is_in(list(agencies)))
    open_count: Counter = Counter()
    overdue: Counter = Counter()
    for f in findings:
        open_count[f["agency_id"]] += 1
        if f["status"] == "open" and f["due_on"] is not None and f["due_on"] < on:
            overdue[f["agency_id"]] += 1
    out = []
    for a in agencies:
        r = last.get(a)
        d = services.vi_date
        if r is None:
            out += [Fact("agency", a, f"{NAME}.last_inspected_on", None, "Chưa được kiểm tra"),
                    Fact("agency", a, f"{NAME}.last_form", None, "Chưa được kiểm tra"),
                    Fact("agency", a, f"{NAME}.last_result", None, "Chưa được kiểm tra")]
        else:
            when = f"{d(r['inspected_on'])} ({FORM_VI[r['form']]})"
            out += [Fact("agency", a, f"{NAME}.last_inspected_on", r["inspected_on"], f"Kiểm tra gần nhất ngày {when}",
                         holds_on=r["inspected_on"]),
                    Fact("agency", a, f"{NAME}.last_form", r["form"], f"Kiểm tra gần nhất: {FORM_VI[r['form']]}",
                         holds_on=r["inspected_on"]),
                    Fact("agency", a, f"{NAME}.last_result", r["result"],
                         f"Kết quả kiểm tra ngày {d(r['inspected_on'])}: {RESULT_VI.get(r['result'], '')}",
                         holds_on=r["inspected_on"])]
        site = last_on_site.get(a)
        out.append(Fact("agency", a, f"{NAME}.last_on_site_on", site,
                        f"Kiểm tra tại chỗ gần nhất ngày {d(site)}" if site else "Chưa được kiểm tra tại chỗ",
                        holds_on=site))
        this_year = r is not None and r["inspected_on"].year == on.year
        out.append(Fact("agency", a, f"{NAME}.inspected_this_year", this_year,
                        f"{'Đã' if this_year else 'Chưa'} được kiểm tra trong năm {on.year}", holds_on=on))
        out.append(Fact("agency", a, f"{NAME}.open_findings", open_count[a],
                        f"{open_count[a]} vấn đề tồn tại chưa được xác nhận khắc phục", holds_on=on))
        out.append(Fact("agency", a, f"{NAME}.overdue_corrective_actions", overdue[a],
                        f"{overdue[a]} vấn đề tồn tại quá hạn khắc phục (2 tháng sau khi ký biên bản)", holds_on=on))
    return out


# ------------------------------------------------------------------------------------------------ figures


def _classify(findings: list[dict], actions: list[dict], today: date) -> dict[Any, set[str]]:
    """Per finding: on_time (an action reported by the due date), late (reported after it, or none and past
    due), not_accepted (an action not accepted)."""
    by_finding: dict[Any, list] = defaultdict(list)
    for a in actions:
        by_finding[a["finding_id"]].append(a)
    out = {}
    for f in findings:
        acts = by_finding.get(f["id"], [])
        tags = set()
        if any(a["on_time"] for a in acts):
            tags.add("on_time")
        elif acts or (f["due_on"] is not None and f["due_on"] < today):
            tags.add("late")
        if any(a["status"] == "not_accepted" for a in acts):
            tags.add("not_accepted")
        out[f["id"]] = tags
    return out


INDICATORS = [
    ("inspected_documents", "Số cơ quan được kiểm tra hồ sơ", "Agencies inspected on documents", "agency"),
    ("inspected_on_site", "Số cơ quan được kiểm tra tại chỗ", "Agencies inspected on site", "agency"),
    ("findings", "Số vấn đề tồn tại phát hiện", "Findings", "finding"),
    ("corrective_on_time", "Số vấn đề tồn tại khắc phục đúng hạn", "Findings acted on in time", "finding"),
    ("corrective_late", "Số vấn đề tồn tại khắc phục chậm hoặc quá hạn", "Findings acted on late or overdue",
     "finding"),
    ("corrective_not_accepted", "Số vấn đề tồn tại có hành động khắc phục không được chấp nhận",
     "Findings with a corrective action not accepted", "finding"),
]


async def indicators(reader: Any, tenants: list[Any], year: int) -> list[Indicator]:
    """Agencies inspected (on documents, on site), findings and their corrective actions of every tenant for
    `year`, by level: two grouped queries for all the tenants, each joining what it needs (the agency's level, the
    finding's record) instead of sending lists of ids (a national year has ~100,000 records: more than one
    statement may bind); the corrective-action tags of `_classify()` are counted in SQL."""
    counts: dict[Any, dict[str, Counter]] = defaultdict(lambda: defaultdict(Counter))
    agency = InspectionRecord.agency_id.join_on(Agency.id)
    for g in await reader.scope(InspectionRecord).select(
            InspectionRecord.tenant_id, InspectionRecord.form, agency.level,
            Count(distinct=[InspectionRecord.agency_id], alias="n")).where(
            (InspectionRecord.status == "signed") & (InspectionRecord.year == year)).group_by(
            InspectionRecord.tenant_id, InspectionRecord.form, agency.level):
        name = "inspected_on_site" if g["form"] == "on_site" else "inspected_documents"
        counts[g["tenant_id"]][name][g["agency_id.level"] or "unit"] += g["n"]
    # the findings of the year's signed records, each tagged like _classify() does, counted in SQL: an action
    # test is `id IN (the findings with such an action)`, one set built per statement (not one lookup per finding)
    record = InspectionFinding.record_id.join_on(InspectionRecord.id)
    finding_agency = InspectionFinding.agency_id.join_on(Agency.id)

    def acted(condition: str) -> str:
        return (f'"inspection_finding"."id" IN (SELECT "finding_id" FROM "inspection_corrective_action" '
                f'WHERE {condition})')

    on_time, not_accepted = acted('"on_time" = {}'), acted('"status" = {}')
    for g in await reader.scope(InspectionFinding).select(
            InspectionFinding.tenant_id, finding_agency.level, Count(alias="findings"),
            QueryString(f"SUM(CASE WHEN {on_time} THEN 1 ELSE 0 END)", True, alias="on_time"),
            QueryString(f'SUM(CASE WHEN NOT ({on_time}) AND ({acted("1 = 1")} OR "inspection_finding"."due_on" < {{}})'
                        f' THEN 1 ELSE 0 END)', True, date.today(), alias="late"),
            QueryString(f"SUM(CASE WHEN {not_accepted} THEN 1 ELSE 0 END)", "not_accepted",
                        alias="not_accepted")).where(
            (record.status == "signed") & (record.year == year)).group_by(
            InspectionFinding.tenant_id, finding_agency.level):
        level = g["agency_id.level"] or "unit"
        for name, key in (("findings", "findings"), ("corrective_on_time", "on_time"), ("corrective_late", "late"),
                          ("corrective_not_accepted", "not_accepted")):
            counts[g["tenant_id"]][name][level] += int(g[key] or 0)
    out = []
    for t in tenants:
        for order, (name, vi, en, unit) in enumerate(INDICATORS):
            c = counts[t.id][name]
            out.append(Indicator(module=NAME, name=name, value=sum(c.values()), label_vi=vi, label_en=en, unit=unit,
                                 breakdown={lv: c[lv] for lv in LEVELS if c[lv]}, tenant_id=t.id, order=order))
    return out


async def summary(ctx: TenantContext, year: int) -> dict[str, Any]:
    """The Art. 38 summary of one year: per agency, by level, findings by checklist item, corrective actions."""
    records = await ctx.scope(InspectionRecord).select(
        InspectionRecord.id, InspectionRecord.agency_id, InspectionRecord.form, InspectionRecord.inspected_on,
        InspectionRecord.result, InspectionRecord.number,
    ).where((InspectionRecord.status == "signed") & (InspectionRecord.year == year))
    agencies = await services.agencies_by_id(ctx, {r["agency_id"] for r in records})
    findings = await ctx.scope(InspectionFinding).select().where(
        InspectionFinding.record_id.is_in([r["id"] for r in records] or [uuid.uuid4()]))
    actions = await ctx.scope(InspectionCorrectiveAction).select().where(
        InspectionCorrectiveAction.finding_id.is_in([f["id"] for f in findings] or [uuid.uuid4()]))
    tags = _classify(findings, actions, date.today())
    per_record: dict[Any, list] = defaultdict(list)
    for f in findings:
        per_record[f["record_id"]].append(f)
    rows = []
    by_level: dict[str, Counter] = defaultdict(Counter)
    seen = set()
    for r in sorted(records, key=lambda r: (agencies[r["agency_id"]]["code"], r["inspected_on"])):
        a = agencies[r["agency_id"]]
        fs = per_record[r["id"]]
        row = {"agency_code": a["code"], "agency_name": a["name"], "level": a["level"], "form": r["form"],
               "inspected_on": r["inspected_on"], "record_number": r["number"], "result": r["result"],
               "findings": len(fs), "on_time": sum("on_time" in tags[f["id"]] for f in fs),
               "late": sum("late" in tags[f["id"]] for f in fs),
               "not_accepted": sum("not_accepted" in tags[f["id"]] for f in fs),
               "closed": sum(f["status"] == "closed" for f in fs)}
        rows.append(row)
        level = by_level[a["level"]]
        if (a["id"], r["form"]) not in seen:
            seen.add((a["id"], r["form"]))
            level["on_site" if r["form"] == "on_site" else "documents"] += 1
        for k in ("findings", "on_time", "late", "not_accepted", "closed"):
            level[k] += row[k]
    by_item = Counter(f["item_code"] for f in findings)
    totals = Counter()
    for c in by_level.values():
        totals.update(c)
    required = await services.required_agencies(ctx, year)
    return {"year": year, "rows": rows, "required": len(required),
            "by_level": {lv: dict(by_level[lv]) for lv in LEVELS if lv in by_level},
            "by_item": dict(sorted(by_item.items())), "totals": dict(totals)}


# ------------------------------------------------------------------------------------------------ reminders


async def reminders(ctx: TenantContext, day: date) -> list[Reminder]:
    cfg = await services.settings(ctx)
    horizon = day + timedelta(days=cfg["remind_days_before"])
    out = []
    visits = await ctx.scope(InspectionVisit).select().where(
        (InspectionVisit.status == "scheduled") & (InspectionVisit.scheduled_on >= day)
        & (InspectionVisit.scheduled_on <= horizon))
    names = {a["id"]: a["name"] for a in await ctx.scope(Agency).select(Agency.id, Agency.name)}
    for v in visits:
        what = "Kiểm tra tại chỗ" if v["form"] == "on_site" else "Hạn nộp báo cáo kiểm tra hồ sơ"
        out.append(Reminder(module=NAME, kind="visit_upcoming", key=f"{NAME}:visit:{v['id']}:{v['scheduled_on']}",
                            title=f"{what} tại {names.get(v['agency_id'], '')} ngày {services.vi_date(v['scheduled_on'])}",
                            due_on=v["scheduled_on"], status="due", agency_id=v["agency_id"],
                            audience=("agency_officer", "inspector"), link=f"{NAME}/visits/{v['id']}"))
    findings = await ctx.scope(InspectionFinding).select().where(
        (InspectionFinding.status == "open") & (InspectionFinding.due_on <= horizon))
    for f in findings:
        late = f["due_on"] < day
        out.append(Reminder(
            module=NAME, kind="corrective_action_overdue" if late else "corrective_action_due",
            key=f"{NAME}:finding:{f['id']}:{'overdue' if late else 'due'}",
            title=(f"{names.get(f['agency_id'], '')}: khắc phục vấn đề tồn tại ({f['item_code']}) "
                   f"{'quá hạn từ' if late else 'đến hạn ngày'} {services.vi_date(f['due_on'])}"),
            due_on=f["due_on"], status="overdue" if late else "due", agency_id=f["agency_id"],
            audience=("agency_officer", "inspector"), link=f"{NAME}/findings/{f['id']}"))
    return out


# ------------------------------------------------------------------------------------------------ evidence


def _checker(table: Any, label: str, agency_bound: bool):
    async def check(ctx: TenantContext, target_id: Any, write: bool) -> None:
        row = await ctx.scope(table).find(target_id)
        if row is None:
            raise NotFound(f"{label} {target_id} not found")
        if not write:
            if not ctx.has(f"{NAME}.read"):
                raise Forbidden(f"your role may not read {label}s")
            return
        if ctx.has(f"{NAME}.write"):
            return
        if agency_bound and ctx.has(f"{NAME}.report"):
            await ctx.ensure_agency(row["agency_id"], write=True)
            return
        raise Forbidden(f"your role may not attach files to {label}s")

    return check


EVIDENCE = [
    ("inspection_plan", InspectionPlan, "Kế hoạch kiểm tra (inspection plan)", False),
    ("inspection_decision", InspectionTeam, "Quyết định thành lập Đoàn kiểm tra (team decision)", False),
    ("inspection_visit", InspectionVisit, "Cuộc kiểm tra / báo cáo của cơ quan (visit, paper report)", True),
    ("inspection_record", InspectionRecord, "Biên bản kiểm tra (record)", False),
    ("inspection_finding", InspectionFinding, "Vấn đề tồn tại (finding)", True),
    ("inspection_corrective_action", InspectionCorrectiveAction, "Hành động khắc phục (corrective action)", True),
]


# ------------------------------------------------------------------------------------------------ merge


async def merge(m: Any) -> MergeReport:
    """Rewrite keys that embed a source tenant; renumber a year's revisions and checklist versions after the
    target's; keep the target's settings (a source's settings row is dropped, or moved when the target has none)."""
    from core.tenancy import unscoped

    sources = [s.id for s in m.sources]
    target = m.target.id
    ids = [*sources, target]
    conflicts: list[MergeConflict] = []
    moved: dict[str, int] = {}
    with unscoped():
        for table in (InspectionPlanLine, InspectionTeam, InspectionTeamMember, InspectionVisit, InspectionRecord,
                      InspectionFinding, InspectionCorrectiveAction):
            moved[table._meta.tablename] = await table.count().where(table.tenant_id.is_in(sources))
        plans = await InspectionPlan.select().where(InspectionPlan.tenant_id.is_in(ids)).order_by(
            InspectionPlan.year).order_by(InspectionPlan.revision)
        moved["inspection_plan"] = sum(1 for p in plans if p["tenant_id"] in sources)
        target_plans = [p for p in plans if p["plan_key"].startswith(f"{target}:")]
        stale = [p for p in plans if not p["plan_key"].startswith(f"{target}:")]
        next_rev = defaultdict(int)
        for p in target_plans:
            next_rev[p["year"]] = max(next_rev[p["year"]], p["revision"])
        for p in stale:
            clash = any(t["year"] == p["year"] for t in target_plans)
            next_rev[p["year"]] += 1
            rev = next_rev[p["year"]]
            changes = {"tenant_id": target, "revision": rev, "plan_key": f"{target}:{p['year']}:{rev}"}
            if clash:
                conflicts.append(MergeConflict(
                    module=NAME, kind="sequence", key=f"plan:{p['year']}:{p['revision']}",
                    detail=f"both provinces have a {p['year']} plan",
                    rule=f"the source's revision {p['revision']} becomes revision {rev}; the target's plan stays in "
                         "force (an approved source revision is marked superseded)"))
                if p["status"] in ("approved", "draft", "submitted"):
                    changes["status"] = "superseded"
            if not m.dry_run:
                await InspectionPlan.update(changes).where(InspectionPlan.id == p["id"])
        templates = await InspectionChecklistTemplate.select().where(
            InspectionChecklistTemplate.tenant_id.is_in(ids)).order_by(InspectionChecklistTemplate.version)
        top = max([t["version"] for t in templates if t["template_key"].startswith(f"{target}:")], default=0)
        for t in templates:
            if t["template_key"].startswith(f"{target}:"):
                continue
            top += 1
            conflicts.append(MergeConflict(module=NAME, kind="sequence", key=f"checklist:{t['version']}",
                                           detail="checklist versions are numbered per province",
                                           rule=f"the source's version {t['version']} becomes version {top}"))
            if not m.dry_run:
                await InspectionChecklistTemplate.update({"tenant_id": target, "version": top,
                                                          "template_key": f"{target}:{top}"}).where(
                    InspectionChecklistTemplate.id == t["id"])
        settings = await InspectionSettings.select().where(InspectionSettings.tenant_id.is_in(ids))
        has_target = any(s["tenant_id"] == target for s in settings)
        for s in settings:
            if s["tenant_id"] == target:
                continue
            conflicts.append(MergeConflict(module=NAME, kind="setting", key="inspection_settings",
                                           detail="each province has its own on-site share and reminder lead time",
                                           rule="the target's settings apply" if has_target
                                           else "the source's settings become the target's"))
            if not m.dry_run:
                if has_target:
                    await InspectionSettings.delete().where(InspectionSettings.id == s["id"])
                else:
                    await InspectionSettings.update({"tenant_id": target}).where(InspectionSettings.id == s["id"])
                    has_target = True
    return MergeReport(module=NAME, moved=moved, conflicts=tuple(conflicts))
