"""The risk-based auto-planner: a complete, deterministic proposal of a year's plan.

Every required agency active in the year is in it. The on-site share (ceil(1/3) or the province's setting) goes
to the highest risk scores; ties are broken by agency code, so the same inputs give the same plan. The score is a
sum of points, each with its Vietnamese reason, computed as of 1 January of the planned year from:

- this module's own history: years since the last on-site visit (never visited first), the last result, findings
  still open and corrective actions overdue;
- certification facts (asked through the facts hook, never imported): not announced, audit or review overdue,
  re-announcement due after a scope change, legal update late, still on the 2008 version.

On-site visits are then spread over the working days (Monday to Friday) of the given months, `visits_per_day`
per team per day, teams in the order given, riskiest agencies first.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from core.errors import Unprocessable
from core.tenancy.context import TenantContext
from plugins.inspections import NAME, services
from plugins.inspections.schemas import Proposal, ProposalIn, ProposalLine, Reason
from plugins.inspections.tables import InspectionFinding, InspectionRecord

# The facts score() reads: only these are asked for (and only their modules are called).
FACTS_READ = ("certification.announced", "certification.overdue", "certification.reannouncement_due",
              "certification.legal_update_late", "certification.standard_version")
RESULT_POINTS = {"major_nonconformities": (20, "có điểm không phù hợp nặng"),
                 "minor_nonconformities": (10, "có điểm không phù hợp nhẹ")}


async def history(ctx: TenantContext, on: date) -> dict[Any, dict[str, Any]]:
    """Per agency: last inspection, last on-site inspection, last result, open and overdue findings, before `on`."""
    records = await ctx.scope(InspectionRecord).select(
        InspectionRecord.agency_id, InspectionRecord.inspected_on, InspectionRecord.form, InspectionRecord.result,
    ).where((InspectionRecord.status == "signed") & (InspectionRecord.inspected_on < on))
    found: dict[Any, dict[str, Any]] = {}
    for r in sorted(records, key=lambda r: r["inspected_on"]):
        h = found.setdefault(r["agency_id"], {"open": 0, "overdue": 0, "last_on_site": None})
        h.update(last_on=r["inspected_on"], last_form=r["form"], last_result=r["result"])
        if r["form"] == "on_site":
            h["last_on_site"] = r["inspected_on"]
    findings = await ctx.scope(InspectionFinding).select(
        InspectionFinding.agency_id, InspectionFinding.status, InspectionFinding.due_on,
    ).where(InspectionFinding.status.is_in(["open", "action_reported", "deferred"]))
    for f in findings:
        h = found.setdefault(f["agency_id"], {"open": 0, "overdue": 0, "last_on_site": None})
        h["open"] += 1
        if f["status"] == "open" and f["due_on"] is not None and f["due_on"] < on:
            h["overdue"] += 1
    return found


def score(agency: dict[str, Any], year: int, h: dict[str, Any] | None, sheet: Any) -> list[Reason]:
    reasons: list[Reason] = []
    h = h or {"open": 0, "overdue": 0, "last_on_site": None}
    if h["last_on_site"] is None:
        reasons.append(Reason(code="never_on_site", points=40, text="Chưa từng được kiểm tra tại chỗ"))
    else:
        years = year - h["last_on_site"].year
        if years >= 1:
            reasons.append(Reason(code="years_since_on_site", points=min(10 * years, 40),
                                  text=f"Đã {years} năm kể từ lần kiểm tra tại chỗ gần nhất "
                                       f"({services.vi_date(h['last_on_site'])})"))
    if h.get("last_result") in RESULT_POINTS:
        points, what = RESULT_POINTS[h["last_result"]]
        form = "tại chỗ" if h["last_form"] == "on_site" else "hồ sơ"
        reasons.append(Reason(code="last_result", points=points,
                              text=f"Lần kiểm tra gần nhất ({form}, {services.vi_date(h['last_on'])}) {what}"))
    if h["open"]:
        reasons.append(Reason(code="open_findings", points=min(5 * h["open"], 20),
                              text=f"Còn {h['open']} vấn đề tồn tại chưa được xác nhận khắc phục"))
    if h["overdue"]:
        reasons.append(Reason(code="overdue_actions", points=min(15 * h["overdue"], 30),
                              text=f"{h['overdue']} vấn đề tồn tại quá hạn khắc phục (2 tháng sau khi ký biên bản)"))
    a = agency["id"]
    if sheet.get(a, "certification.announced") is not None and sheet.value(a, "certification.announced") is False:
        reasons.append(Reason(code="not_announced", points=20, text="Chưa công bố HTQLCL phù hợp TCVN ISO 9001"))
    overdue = sheet.get(a, "certification.overdue")
    if overdue is not None and overdue.value:
        detail = overdue.explanation or "quá hạn duy trì HTQLCL"
        reasons.append(Reason(code="certification_overdue", points=15, text=f"Quá hạn duy trì HTQLCL: {detail}"))
    if sheet.value(a, "certification.reannouncement_due") is True:
        reasons.append(Reason(code="scope_changed", points=15,
                              text="Phạm vi áp dụng đã thay đổi nhưng chưa công bố lại"))
    if sheet.value(a, "certification.legal_update_late") is True:
        reasons.append(Reason(code="legal_update_late", points=10,
                              text="Chậm cập nhật HTQLCL theo thay đổi của văn bản pháp luật (quá 3 tháng)"))
    if sheet.value(a, "certification.standard_version") == "2008":
        reasons.append(Reason(code="version_2008", points=10, text="Còn áp dụng phiên bản TCVN ISO 9001:2008"))
    return reasons


def working_days(year: int, months: list[int]) -> list[date]:
    days = []
    for month in sorted(set(months)):
        day = date(year, month, 1)
        while day.month == month:
            if day.weekday() < 5:
                days.append(day)
            day += timedelta(days=1)
    return days


async def propose(ctx: TenantContext, system: Any, year: int, data: ProposalIn) -> Proposal:
    from core.tenancy.guards import enabled_modules

    on = date(year, 1, 1)
    cfg = await services.settings(ctx)
    num, den = cfg["on_site_share_num"], cfg["on_site_share_den"]
    agencies = [a for a in (await services.agencies_by_id(ctx)).values() if services.active_in_year(a, year)]
    candidates = [a for a in agencies if a["required"] or data.include_voluntary]
    modules = [m for m in system.enabled_or_builtin(await enabled_modules(ctx.tenant.id)) if m != NAME]
    sheet = await system.facts(ctx, agencies=[a["id"] for a in candidates], on=on, modules=modules,
                               names=FACTS_READ)
    warnings = []
    if not sheet.knows("certification"):
        warnings.append("Chưa bật module HTQLCL (certification): điểm rủi ro chưa gồm tình trạng công bố, "
                        "đánh giá nội bộ, xem xét của lãnh đạo")
    hist = await history(ctx, on)
    scored = []
    for a in candidates:
        reasons = score(a, year, hist.get(a["id"]), sheet)
        scored.append((sum(r.points for r in reasons), a, reasons))
    scored.sort(key=lambda s: (-s[0], s[1]["code"], str(s[1]["id"])))
    required = [s for s in scored if s[1]["required"]]
    need = services.share_count(len(required), num, den)
    on_site_ids = {s[1]["id"] for s in required[:need]}
    slots = [(day, team) for day in working_days(year, data.months) for team in data.teams
             for _ in range(data.visits_per_day)]
    if len(slots) < need:
        raise Unprocessable(f"{need} on-site visits do not fit in {len(slots)} slots of the given months, teams "
                            "and visits per day", field="months")
    lines, slot = [], 0
    for points, a, reasons in scored:
        if not reasons:
            reasons = [Reason(code="no_risk", points=0, text="Không có yếu tố rủi ro đã biết")]
        visit_on = team = None
        if a["id"] in on_site_ids:
            visit_on, team = slots[slot]
            slot += 1
        lines.append(ProposalLine(agency_id=a["id"], agency_code=a["code"], agency_name=a["name"],
                                  agency_level=a["level"], required=a["required"],
                                  form="on_site" if a["id"] in on_site_ids else "documents", risk_score=points,
                                  reasons=reasons, visit_on=visit_on, team_label=team))
    return Proposal(year=year, share=services.share_text(num, den), required=len(required), on_site_required=need,
                    lines=lines, warnings=warnings)


async def propose_and_maybe_create(ctx: TenantContext, system: Any, year: int, data: ProposalIn) -> Proposal:
    import msgspec

    from plugins.inspections.schemas import PlanCreate

    proposal = await propose(ctx, system, year, data)
    if not data.create_draft:
        return proposal
    lines = [{"agency_id": l.agency_id, "form": l.form, "expected_month": l.visit_on.month if l.visit_on else None,
              "expected_from": l.visit_on, "expected_to": l.visit_on, "team_label": l.team_label,
              "risk_score": l.risk_score, "reasons": [msgspec.structs.asdict(r) for r in l.reasons]}
             for l in proposal.lines]
    plan = await services.create_plan(ctx, PlanCreate(year=year), extra=lines)
    return msgspec.structs.replace(proposal, plan_id=plan["id"])
