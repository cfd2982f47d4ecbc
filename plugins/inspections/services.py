"""Rules and queries of the inspections module (no HTTP): plans and the coverage rule, teams and the Art. 40
member check, visits, records with findings, corrective actions to closure.

State changes lock the row they change (PostgreSQL: SELECT ... FOR UPDATE; SQLite: the write transaction is taken
up front), check the state and write in one transaction, so a duplicate submit is a 409, never a double write.
"""

from __future__ import annotations

import calendar
import uuid
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date, datetime, timezone
from typing import Any, Iterable, Iterator

import msgspec

from core.agencies.tables import Agency
from core.db import is_sqlite, transaction
from core.errors import Conflict, NotFound, Unprocessable
from core.notifications.notify import notify
from core.tenancy.context import TenantContext
from plugins.inspections import NAME
from plugins.inspections.schemas import (
    Coverage,
    LineIn,
    LineRead,
    MissingAgency,
    PlanCreate,
    PlanRead,
    Reason,
)
from plugins.inspections.tables import InspectionPlan, InspectionPlanLine, InspectionSettings

ART40_FROM = date(2016, 6, 1)  # Art. 40: from this day a team member needs a QMS internal-auditor certificate
OPEN_PLAN = ("draft", "submitted")
FORMS_VI = {"on_site": "Kiểm tra tại chỗ", "documents": "Kiểm tra hồ sơ, tài liệu"}


_QUIET: ContextVar[bool] = ContextVar("inspections_quiet", default=False)


async def send(ctx: TenantContext, **kwargs: Any) -> None:
    """notify(), except while demo history is being seeded (past events are not news)."""
    if not _QUIET.get():
        await notify(ctx, **kwargs)


@contextmanager
def quiet() -> Iterator[None]:
    token = _QUIET.set(True)
    try:
        yield
    finally:
        _QUIET.reset(token)


def now() -> datetime:
    return datetime.now(timezone.utc)


def dump(value: Any) -> str:
    return msgspec.json.encode(value).decode("utf-8")


def load(value: Any) -> Any:
    return msgspec.json.decode(value) if isinstance(value, (str, bytes)) else value


def loaded(row: dict[str, Any], *names: str) -> dict[str, Any]:
    return {**row, **{n: load(row[n]) for n in names if n in row}}


def add_months(day: date, months: int) -> date:
    """The same day `months` later; the month's last day when it has no such day (31/12 + 2 → 29/02)."""
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def vi_date(day: date | None) -> str:
    return f"{day.day:02d}/{day.month:02d}/{day.year}" if day else ""


def share_count(n: int, num: int, den: int) -> int:
    """num/den of n, rounded up (ceil(n/3) by default), never more than n."""
    return min(n, -(-n * num // den))


def active_in_year(row: dict[str, Any], year: int) -> bool:
    return row["valid_from"] <= date(year, 12, 31) and (row["valid_to"] is None or row["valid_to"] > date(year, 1, 1))


async def _lock(ctx: TenantContext, table: Any, row_id: Any, label: str) -> dict[str, Any]:
    """The row, locked for update until the transaction ends (call inside transaction())."""
    query = ctx.scope(table).select().where(table.id == row_id)
    if not is_sqlite():
        query = query.lock_rows("UPDATE")
    row = await query.first()
    if row is None:
        raise NotFound(f"{label} {row_id} not found")
    return row


def actor_name(ctx: TenantContext) -> str:
    return ctx.actor.email


# ------------------------------------------------------------------------------------------------ settings


async def settings(ctx: TenantContext) -> dict[str, Any]:
    row = await ctx.scope(InspectionSettings).select().first()
    if row is None:
        return {"on_site_share_num": 1, "on_site_share_den": 3, "remind_days_before": 7,
                "inspecting_unit": "Chi cục Tiêu chuẩn Đo lường Chất lượng"}
    return row


async def update_settings(ctx: TenantContext, data: Any) -> dict[str, Any]:
    changes = {k: v for k, v in msgspec.structs.asdict(data).items() if v is not msgspec.UNSET}
    async with transaction():
        current = await ctx.scope(InspectionSettings).select().first()
        merged = {**(await settings(ctx)), **changes}
        if merged["on_site_share_num"] > merged["on_site_share_den"]:
            raise Unprocessable("the on-site share cannot be more than all agencies (num ≤ den)",
                                field="on_site_share_num")
        if current is None:
            return await ctx.scope(InspectionSettings).insert(changes)
        if not changes:
            return current
        return await ctx.scope(InspectionSettings).update(current["id"], changes)


# ------------------------------------------------------------------------------------------------ agencies


async def agencies_by_id(ctx: TenantContext, ids: Iterable[uuid.UUID] | None = None) -> dict[uuid.UUID, dict]:
    query = ctx.scope(Agency).select(Agency.id, Agency.code, Agency.name, Agency.level, Agency.required,
                                     Agency.valid_from, Agency.valid_to, Agency.parent_id)
    if ids is not None:
        ids = list(ids)
        if not ids:
            return {}
        query = query.where(Agency.id.is_in(ids))
    return {row["id"]: row for row in await query}


async def required_agencies(ctx: TenantContext, year: int) -> list[dict[str, Any]]:
    rows = await ctx.scope(Agency).select(Agency.id, Agency.code, Agency.name, Agency.level, Agency.required,
                                          Agency.valid_from, Agency.valid_to).where(Agency.required == True)  # noqa: E712
    return sorted((r for r in rows if active_in_year(r, year)), key=lambda r: r["code"])


# ------------------------------------------------------------------------------------------------ plans


def share_text(num: int, den: int) -> str:
    return f"{num}/{den}"


async def coverage(ctx: TenantContext, plan: dict[str, Any], lines: list[dict[str, Any]]) -> Coverage:
    required = await required_agencies(ctx, plan["year"])
    forms = {line["agency_id"]: line["form"] for line in lines}
    missing = [MissingAgency(agency_id=a["id"], code=a["code"], name=a["name"]) for a in required
               if a["id"] not in forms]
    need = share_count(len(required), plan["on_site_share_num"], plan["on_site_share_den"])
    on_site = sum(1 for a in required if forms.get(a["id"]) == "on_site")
    shortfall = max(0, need - on_site)
    return Coverage(year=plan["year"], required=len(required), in_plan=len(required) - len(missing), missing=missing,
                    on_site_required=need, on_site=on_site, on_site_shortfall=shortfall,
                    share=share_text(plan["on_site_share_num"], plan["on_site_share_den"]),
                    ok=not missing and not shortfall)


def coverage_error(cov: Coverage) -> Conflict:
    parts = []
    if cov.missing:
        names = ", ".join(f"{m.name} ({m.code})" for m in cov.missing[:50])
        more = f" và {len(cov.missing) - 50} cơ quan khác" if len(cov.missing) > 50 else ""
        parts.append(f"thiếu {len(cov.missing)} cơ quan bắt buộc áp dụng trong năm {cov.year}: {names}{more}")
    if cov.on_site_shortfall:
        parts.append(f"cần ít nhất {cov.on_site_required} cơ quan kiểm tra tại chỗ ({cov.share} của {cov.required}), "
                     f"kế hoạch có {cov.on_site}: thiếu {cov.on_site_shortfall}")
    return Conflict("Kế hoạch chưa đáp ứng Điều 33 Thông tư 26/2014/TT-BKHCN: " + "; ".join(parts), field="lines")


async def plan_lines(ctx: TenantContext, plan_id: uuid.UUID) -> list[dict[str, Any]]:
    return await ctx.scope(InspectionPlanLine).select().where(
        InspectionPlanLine.plan_id == plan_id).output(load_json=True)


async def get_plan(ctx: TenantContext, plan_id: uuid.UUID) -> dict[str, Any]:
    row = await ctx.scope(InspectionPlan).select().where(InspectionPlan.id == plan_id).output(load_json=True).first()
    if row is None:
        raise NotFound(f"inspection plan {plan_id} not found")
    return row


def line_read(line: dict[str, Any], agency: dict[str, Any] | None) -> LineRead:
    agency = agency or {"code": "", "name": "", "level": "", "required": False}
    return LineRead(id=line["id"], plan_id=line["plan_id"], agency_id=line["agency_id"], agency_code=agency["code"],
                    agency_name=agency["name"], agency_level=agency["level"], required=agency["required"],
                    form=line["form"], inspecting_unit=line["inspecting_unit"],
                    cooperating_units=load(line["cooperating_units"]), expected_month=line["expected_month"],
                    expected_from=line["expected_from"], expected_to=line["expected_to"],
                    budget_vnd=line["budget_vnd"], team_label=line["team_label"], risk_score=line["risk_score"],
                    reasons=[msgspec.convert(r, Reason) for r in load(line["reasons"])], note=line["note"])


async def plan_read(ctx: TenantContext, plan: dict[str, Any]) -> PlanRead:
    plan = loaded(plan, "history")
    lines = await plan_lines(ctx, plan["id"])
    agencies = await agencies_by_id(ctx, [line["agency_id"] for line in lines])
    reads = sorted((line_read(line, agencies.get(line["agency_id"])) for line in lines),
                   key=lambda r: (r.agency_code, str(r.agency_id)))
    revisions = await ctx.scope(InspectionPlan).select(
        InspectionPlan.id, InspectionPlan.revision, InspectionPlan.status, InspectionPlan.decision_number,
        InspectionPlan.decision_date, InspectionPlan.revision_reason).where(
        InspectionPlan.year == plan["year"]).order_by(InspectionPlan.revision)
    return PlanRead(
        id=plan["id"], year=plan["year"], revision=plan["revision"], status=plan["status"], title=plan["title"],
        note=plan["note"], on_site_share=share_text(plan["on_site_share_num"], plan["on_site_share_den"]),
        decision_number=plan["decision_number"], decision_date=plan["decision_date"],
        decision_signer=plan["decision_signer"], revises_id=plan["revises_id"],
        revision_reason=plan["revision_reason"], history=plan["history"], created_at=plan["created_at"],
        updated_at=plan["updated_at"], lines=reads, coverage=await coverage(ctx, plan, lines),
        revisions=[{**r, "id": str(r["id"]), "decision_date": r["decision_date"].isoformat()
                    if r["decision_date"] else None} for r in revisions])


def _history(plan: dict[str, Any], ctx: TenantContext, action: str, note: str | None = None) -> str:
    return dump([*load(plan.get("history") or "[]"),
                 {"at": now().isoformat(), "action": action, "by": actor_name(ctx), "note": note}])


def default_title(year: int, tenant_name: str) -> str:
    return (f"Kế hoạch kiểm tra việc áp dụng Hệ thống quản lý chất lượng theo Tiêu chuẩn quốc gia TCVN ISO "
            f"9001:2015 tại các cơ quan, tổ chức thuộc hệ thống hành chính nhà nước trên địa bàn tỉnh "
            f"{tenant_name.removeprefix('Tỉnh ').removeprefix('tỉnh ')} năm {year}")


def _line_values(ctx: TenantContext, plan_id: uuid.UUID, line: LineIn | dict[str, Any], unit: str) -> dict[str, Any]:
    data = msgspec.structs.asdict(line) if isinstance(line, msgspec.Struct) else dict(line)
    if data.get("expected_from") and data.get("expected_to") and data["expected_to"] < data["expected_from"]:
        raise Unprocessable("expected_to is before expected_from", field="expected_to")
    return {
        "plan_id": plan_id, "agency_id": data["agency_id"], "line_key": f"{plan_id}:{data['agency_id']}",
        "form": data["form"], "inspecting_unit": data.get("inspecting_unit") or unit,
        "cooperating_units": dump(list(data.get("cooperating_units") or [])),
        "expected_month": data.get("expected_month"), "expected_from": data.get("expected_from"),
        "expected_to": data.get("expected_to"), "budget_vnd": data.get("budget_vnd") or 0,
        "team_label": data.get("team_label"), "risk_score": data.get("risk_score"),
        "reasons": dump(data.get("reasons") or []), "note": data.get("note"),
    }


async def _check_line_agencies(ctx: TenantContext, lines: list[Any], year: int) -> None:
    ids = [line.agency_id if isinstance(line, msgspec.Struct) else line["agency_id"] for line in lines]
    if len(set(ids)) != len(ids):
        raise Conflict("an agency appears twice in the plan's lines", field="lines")
    found = await agencies_by_id(ctx, ids)
    for agency_id in ids:
        if agency_id not in found:
            raise NotFound(f"agency {agency_id} not found", field="agency_id")
        if not active_in_year(found[agency_id], year):
            raise Unprocessable(f"{found[agency_id]['name']} is not active in {year}", field="agency_id")


async def create_plan(ctx: TenantContext, data: PlanCreate, extra: list[dict[str, Any]] | None = None) -> dict:
    """A first draft of a year's plan: 409 when the year already has one (revise the approved plan instead)."""
    cfg = await settings(ctx)
    lines = list(data.lines) if extra is None else extra
    await _check_line_agencies(ctx, lines, data.year)
    async with transaction():
        existing = await ctx.scope(InspectionPlan).select(InspectionPlan.revision, InspectionPlan.status).where(
            InspectionPlan.year == data.year).order_by(InspectionPlan.revision, ascending=False)
        if existing:
            raise Conflict(f"năm {data.year} đã có kế hoạch (lần {existing[0]['revision']}, trạng thái "
                           f"{existing[0]['status']}); sửa bản nháp đó hoặc điều chỉnh kế hoạch đã phê duyệt",
                           field="year")
        plan = await ctx.scope(InspectionPlan).insert({
            "year": data.year, "revision": 1, "plan_key": f"{ctx.tenant.id}:{data.year}:1", "status": "draft",
            "title": data.title or default_title(data.year, ctx.tenant.name), "note": data.note,
            "on_site_share_num": cfg["on_site_share_num"], "on_site_share_den": cfg["on_site_share_den"],
            "history": _history({}, ctx, "created"),
        })
        for line in lines:
            await ctx.scope(InspectionPlanLine).insert(_line_values(ctx, plan["id"], line, cfg["inspecting_unit"]))
    return plan


async def _draft(ctx: TenantContext, plan_id: uuid.UUID) -> dict[str, Any]:
    plan = await _lock(ctx, InspectionPlan, plan_id, "inspection plan")
    if plan["status"] != "draft":
        raise Conflict(f"the plan is {plan['status']}: only a draft can change"
                       + ("; revise the approved plan to change it" if plan["status"] == "approved" else ""),
                       field="status")
    return plan


async def update_plan(ctx: TenantContext, plan_id: uuid.UUID, data: Any) -> dict[str, Any]:
    changes = {k: v for k, v in msgspec.structs.asdict(data).items() if v is not msgspec.UNSET}
    async with transaction():
        await _draft(ctx, plan_id)
        if changes:
            await ctx.scope(InspectionPlan).update(plan_id, changes)
    return await get_plan(ctx, plan_id)


async def add_line(ctx: TenantContext, plan_id: uuid.UUID, data: LineIn) -> dict[str, Any]:
    cfg = await settings(ctx)
    await ctx.scope(Agency).get(data.agency_id, label="agency")  # another tenant's agency: 404 before any state
    async with transaction():
        plan = await _draft(ctx, plan_id)
        await _check_line_agencies(ctx, [data], plan["year"])
        if await ctx.scope(InspectionPlanLine).select(InspectionPlanLine.id).where(
                (InspectionPlanLine.plan_id == plan_id) & (InspectionPlanLine.agency_id == data.agency_id)).first():
            raise Conflict("this agency is already in the plan", field="agency_id")
        return await ctx.scope(InspectionPlanLine).insert(_line_values(ctx, plan_id, data, cfg["inspecting_unit"]))


async def _line(ctx: TenantContext, plan_id: uuid.UUID, line_id: uuid.UUID) -> dict[str, Any]:
    row = await ctx.scope(InspectionPlanLine).select().where(
        (InspectionPlanLine.id == line_id) & (InspectionPlanLine.plan_id == plan_id)).first()
    if row is None:
        raise NotFound(f"plan line {line_id} not found")
    return row


async def update_line(ctx: TenantContext, plan_id: uuid.UUID, line_id: uuid.UUID, data: Any) -> dict[str, Any]:
    changes = {k: v for k, v in msgspec.structs.asdict(data).items() if v is not msgspec.UNSET}
    if "cooperating_units" in changes:
        changes["cooperating_units"] = dump(changes["cooperating_units"])
    async with transaction():
        await _draft(ctx, plan_id)
        line = await _line(ctx, plan_id, line_id)
        start = changes.get("expected_from", line["expected_from"])
        end = changes.get("expected_to", line["expected_to"])
        if start and end and end < start:
            raise Unprocessable("expected_to is before expected_from", field="expected_to")
        if not changes:
            return line
        return await ctx.scope(InspectionPlanLine).update(line_id, changes)


async def delete_line(ctx: TenantContext, plan_id: uuid.UUID, line_id: uuid.UUID) -> None:
    from core.audit import record
    from core.tenancy import unscoped

    async with transaction():
        await _draft(ctx, plan_id)
        line = await _line(ctx, plan_id, line_id)
        with unscoped():
            await InspectionPlanLine.delete().where(
                (InspectionPlanLine.id == line_id) & (InspectionPlanLine.tenant_id == ctx.tenant.id))
        await record(ctx, action="delete", entity=InspectionPlanLine._meta.tablename, entity_id=line_id,
                     before=line, after=None)


async def transition(ctx: TenantContext, plan_id: uuid.UUID, action: str, data: Any = None) -> dict[str, Any]:
    """submit, return (to draft), approve, revise, close. 409 for a wrong state or the coverage rule."""
    async with transaction():
        plan = await _lock(ctx, InspectionPlan, plan_id, "inspection plan")
        status = plan["status"]
        expected = {"submit": "draft", "return": "submitted", "approve": "submitted", "revise": "approved",
                    "close": "approved"}[action]
        if status != expected:
            raise Conflict(f"cannot {action} a plan that is {status} (it must be {expected})", field="status")
        if action in ("submit", "approve"):
            cov = await coverage(ctx, plan, await plan_lines(ctx, plan_id))
            if not cov.ok:
                raise coverage_error(cov)
        if action == "submit":
            row = await ctx.scope(InspectionPlan).update(plan_id, {"status": "submitted",
                                                                   "history": _history(plan, ctx, "submitted")},
                                                         action="submit")
            await send(ctx, kind=f"{NAME}.plan_submitted", data={"year": plan["year"]},
                         link=f"{NAME}/plans/{plan_id}", dedup_key=f"{NAME}:plan_submitted:{plan_id}:{len(load(plan['history']))}")
            return row
        if action == "return":
            return await ctx.scope(InspectionPlan).update(
                plan_id, {"status": "draft", "history": _history(plan, ctx, "returned", data.reason)}, action="return")
        if action == "approve":
            if data.decision_date.year not in (plan["year"] - 1, plan["year"]):
                raise Unprocessable(f"the decision date must fall in {plan['year'] - 1} or {plan['year']}",
                                    field="decision_date")
            previous = await ctx.scope(InspectionPlan).select(InspectionPlan.id).where(
                (InspectionPlan.year == plan["year"]) & (InspectionPlan.status == "approved"))
            for prev in previous:
                old = await ctx.scope(InspectionPlan).get(prev["id"])
                await ctx.scope(InspectionPlan).update(prev["id"], {
                    "status": "superseded", "history": _history(old, ctx, "superseded", f"lần {plan['revision']}")},
                    action="supersede")
            row = await ctx.scope(InspectionPlan).update(plan_id, {
                "status": "approved", "decision_number": data.decision_number, "decision_date": data.decision_date,
                "decision_signer": data.decision_signer,
                "history": _history(plan, ctx, "approved", data.decision_number)}, action="approve")
            await send(ctx, kind=f"{NAME}.plan_approved", recipients=["tenant_admin", "inspector"],
                         data={"year": plan["year"], "number": data.decision_number},
                         link=f"{NAME}/plans/{plan_id}", dedup_key=f"{NAME}:plan_approved:{plan_id}")
            return row
        if action == "close":
            if date.today() < date(plan["year"], 12, 1):
                raise Conflict(f"a plan closes at the year's end: not before 01/12/{plan['year']}", field="status")
            return await ctx.scope(InspectionPlan).update(
                plan_id, {"status": "closed", "history": _history(plan, ctx, "closed")}, action="close")
        # revise: a new draft revision with the approved lines; the approved one stays in force until then
        latest = await ctx.scope(InspectionPlan).select(InspectionPlan.revision, InspectionPlan.status).where(
            InspectionPlan.year == plan["year"]).order_by(InspectionPlan.revision, ascending=False).first()
        if latest["status"] in OPEN_PLAN:
            raise Conflict(f"revision {latest['revision']} of {plan['year']} is already open ({latest['status']})",
                           field="status")
        revision = latest["revision"] + 1
        new = await ctx.scope(InspectionPlan).insert({
            "year": plan["year"], "revision": revision, "plan_key": f"{ctx.tenant.id}:{plan['year']}:{revision}",
            "status": "draft", "title": plan["title"], "note": plan["note"],
            "on_site_share_num": plan["on_site_share_num"], "on_site_share_den": plan["on_site_share_den"],
            "revises_id": plan_id, "revision_reason": data.reason,
            "history": _history({}, ctx, "revision_opened", data.reason)}, action="revise")
        for line in await plan_lines(ctx, plan_id):
            values = {k: v for k, v in line.items() if k not in ("id", "tenant_id")}
            values.update(plan_id=new["id"], line_key=f"{new['id']}:{line['agency_id']}",
                          cooperating_units=dump(line["cooperating_units"]), reasons=dump(line["reasons"]))
            await ctx.scope(InspectionPlanLine).insert(values)
        return new


async def list_plans(ctx: TenantContext, year: int | None, status: str | None, limit: int, offset: int):
    conds = []
    if year is not None:
        conds.append(InspectionPlan.year == year)
    if status is not None:
        conds.append(InspectionPlan.status == status)
    return await ctx.scope(InspectionPlan).page(*conds, order_by=(InspectionPlan.year, InspectionPlan.revision),
                                                descending=True, limit=limit, offset=offset)


async def current_plan(ctx: TenantContext, year: int) -> dict[str, Any] | None:
    """The plan in force for a year: the approved (or closed) revision, else the newest."""
    rows = await ctx.scope(InspectionPlan).select().where(InspectionPlan.year == year).order_by(
        InspectionPlan.revision, ascending=False)
    for row in rows:
        if row["status"] in ("approved", "closed"):
            return row
    return rows[0] if rows else None
