"""Team decisions (Mẫu 20) with the Art. 40 member check, and visits with their notifications.

Art. 40 (from 01/06/2016): a member needs a valid QMS internal-auditor certificate on the visit day. The training
module answers the fact `training.valid_internal_auditor`; a member without one is refused with the fact's
explanation. With training disabled or not installed nobody can tell: the member is accepted with eligibility
"unknown" and a warning. A member who works in the inspected agency (or under it) cannot inspect it.
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from core.agencies.tables import Agency
from core.db import transaction
from core.errors import Conflict, NotFound, Unprocessable
from core.people.tables import Person
from core.tenancy.context import TenantContext
from plugins.inspections import NAME
from plugins.inspections.schemas import MemberRead, TeamRead, VisitRead
from plugins.inspections.services import send, ART40_FROM, FORMS_VI, _lock, dump, load, now, vi_date
from plugins.inspections.tables import InspectionPlan, InspectionTeam, InspectionTeamMember, InspectionVisit

FACT = "training.valid_internal_auditor"
ROLES_VI = {"head": "Trưởng đoàn", "deputy": "Phó Trưởng đoàn", "member": "Thành viên", "secretary": "Thư ký"}


async def get_team(ctx: TenantContext, team_id: uuid.UUID) -> dict[str, Any]:
    return await ctx.scope(InspectionTeam).get(team_id, label="inspection team")


async def members(ctx: TenantContext, team_id: uuid.UUID) -> list[dict[str, Any]]:
    order = {"head": 0, "deputy": 1, "member": 2, "secretary": 3}
    rows = await ctx.scope(InspectionTeamMember).select().where(InspectionTeamMember.team_id == team_id)
    return sorted(rows, key=lambda m: (order.get(m["role"], 9), m["full_name"], str(m["id"])))


async def team_visits(ctx: TenantContext, team_id: uuid.UUID) -> list[dict[str, Any]]:
    return await ctx.scope(InspectionVisit).select().where(
        (InspectionVisit.team_id == team_id) & (InspectionVisit.status != "cancelled"))


def _warnings(rows: list[dict[str, Any]]) -> list[str]:
    return [f"{m['full_name']}: {m['eligibility_note']}" for m in rows if m["eligibility"] == "unknown"]


async def team_read(ctx: TenantContext, team: dict[str, Any]) -> TeamRead:
    rows = await members(ctx, team["id"])
    return TeamRead(id=team["id"], year=team["year"], plan_id=team["plan_id"], decision_number=team["decision_number"],
                    decision_date=team["decision_date"], issuer=team["issuer"], signer=team["signer"],
                    title=team["title"], members=[MemberRead(**{k: m[k] for k in MemberRead.__struct_fields__})
                                                  for m in rows], warnings=_warnings(rows))


async def _check_plan(ctx: TenantContext, plan_id: uuid.UUID | None, year: int) -> None:
    if plan_id is None:
        return
    plan = await ctx.scope(InspectionPlan).get(plan_id, label="inspection plan")
    if plan["year"] != year:
        raise Unprocessable(f"the plan is for {plan['year']}, not {year}", field="plan_id")


async def create_team(ctx: TenantContext, data: Any) -> dict[str, Any]:
    await _check_plan(ctx, data.plan_id, data.year)
    if data.decision_date.year not in (data.year - 1, data.year):
        raise Unprocessable(f"the decision date must fall in {data.year - 1} or {data.year}", field="decision_date")
    title = data.title or ("Quyết định thành lập Đoàn kiểm tra việc áp dụng Hệ thống quản lý chất lượng theo Tiêu "
                           f"chuẩn quốc gia TCVN ISO 9001:2015 năm {data.year}")
    return await ctx.scope(InspectionTeam).insert({
        "year": data.year, "plan_id": data.plan_id, "decision_number": data.decision_number,
        "decision_date": data.decision_date, "issuer": data.issuer, "signer": data.signer or "", "title": title})


async def update_team(ctx: TenantContext, team_id: uuid.UUID, data: Any) -> dict[str, Any]:
    import msgspec

    changes = {k: v for k, v in msgspec.structs.asdict(data).items() if v is not msgspec.UNSET}
    async with transaction():
        team = await _lock(ctx, InspectionTeam, team_id, "inspection team")
        day = changes.get("decision_date", team["decision_date"])
        if day.year not in (team["year"] - 1, team["year"]):
            raise Unprocessable(f"the decision date must fall in {team['year'] - 1} or {team['year']}",
                                field="decision_date")
        return await ctx.scope(InspectionTeam).update(team_id, changes) if changes else team


async def _inside(ctx: TenantContext, person_agency: uuid.UUID | None, inspected: uuid.UUID) -> bool:
    """The person works in the inspected agency or one of its sub-units."""
    return person_agency is not None and person_agency in await ctx.agency_subtree(inspected)


async def eligibility(ctx: TenantContext, system: Any, person_ids: list[uuid.UUID],
                      days: list[date]) -> dict[uuid.UUID, tuple[str, str]]:
    """Per person: ("eligible" | "unknown" | "not_required" | "refused", Vietnamese note) over every day."""
    from core.tenancy.guards import enabled_modules

    result = {p: ("not_required", "Trước ngày 01/06/2016: chưa yêu cầu chứng chỉ đánh giá viên nội bộ (Điều 40)")
              for p in person_ids}
    modules = [m for m in system.enabled_or_builtin(await enabled_modules(ctx.tenant.id)) if m != NAME]
    for day in sorted(set(d for d in days if d >= ART40_FROM)):
        sheet = await system.facts(ctx, people=person_ids, on=day, modules=modules)
        for p in person_ids:
            if result[p][0] == "refused":
                continue
            if not sheet.knows("training"):
                result[p] = ("unknown", "Chưa xác định được chứng chỉ đánh giá viên nội bộ HTQLCL (module đào tạo "
                                        "chưa bật): kiểm tra thủ công theo Điều 40")
                continue
            fact = sheet.get(p, FACT)
            if fact is None or fact.value is not True:
                why = fact.explanation if fact is not None and fact.explanation else \
                    "không có chứng chỉ đánh giá viên nội bộ HTQLCL còn hiệu lực"
                result[p] = ("refused", f"Ngày {vi_date(day)}: {why} (Điều 40 Thông tư 26/2014/TT-BKHCN)")
            elif result[p][0] != "unknown":
                result[p] = ("eligible", fact.explanation or "Có chứng chỉ đánh giá viên nội bộ HTQLCL còn hiệu lực")
    return result


def _team_days(team: dict[str, Any], visits: list[dict[str, Any]]) -> list[date]:
    return [v["scheduled_on"] for v in visits if v["form"] == "on_site"] or [team["decision_date"]]


DEMO_NOTE = ("Dữ liệu mẫu năm 2024: chứng chỉ đánh giá viên nội bộ chưa được nhập vào module đào tạo; kiểm tra "
             "thủ công theo Điều 40")


async def add_member(ctx: TenantContext, system: Any, team_id: uuid.UUID, data: Any, *,
                     art40: bool = True) -> dict[str, Any]:
    """`art40=False` only for demo history, whose certificates were never recorded: the member is kept as
    "unknown" with a note saying so, never as eligible."""
    team = await get_team(ctx, team_id)
    person = await ctx.scope(Person).get(data.person_id, label="person")
    if person["closed_on"] is not None and person["closed_on"] <= team["decision_date"]:
        raise Conflict(f"{person['full_name']} left the directory on {vi_date(person['closed_on'])}",
                       field="person_id")
    visits = await team_visits(ctx, team_id)
    for visit in visits:
        if await _inside(ctx, person["agency_id"], visit["agency_id"]):
            agency = await ctx.scope(Agency).get(visit["agency_id"])
            raise Conflict(f"{person['full_name']} thuộc {agency['name']}, cơ quan được Đoàn kiểm tra: không thể "
                           "tham gia kiểm tra chính cơ quan mình", field="person_id")
    if art40:
        status, note = (await eligibility(ctx, system, [person["id"]], _team_days(team, visits)))[person["id"]]
    else:
        status, note = "unknown", DEMO_NOTE
    if status == "refused":
        raise Conflict(f"{person['full_name']} không đủ điều kiện thành viên Đoàn kiểm tra: {note}", field="person_id")
    agency_name = ""
    if person["agency_id"] is not None:
        agency = await ctx.scope(Agency).find(person["agency_id"])
        agency_name = agency["name"] if agency else ""
    async with transaction():
        await _lock(ctx, InspectionTeam, team_id, "inspection team")
        existing = await members(ctx, team_id)
        if any(m["person_id"] == person["id"] for m in existing):
            raise Conflict(f"{person['full_name']} is already a member of this team", field="person_id")
        if data.role == "head" and any(m["role"] == "head" for m in existing):
            raise Conflict("the team already has a head (trưởng đoàn)", field="role")
        return await ctx.scope(InspectionTeamMember).insert({
            "team_id": team_id, "person_id": person["id"], "member_key": f"{team_id}:{person['id']}",
            "role": data.role, "full_name": person["full_name"], "agency_id": person["agency_id"],
            "agency_name": agency_name, "position": person["position"] or "", "eligibility": status,
            "eligibility_note": note})


async def remove_member(ctx: TenantContext, team_id: uuid.UUID, member_id: uuid.UUID) -> None:
    from core.audit import record
    from core.tenancy import unscoped

    async with transaction():
        row = await ctx.scope(InspectionTeamMember).select().where(
            (InspectionTeamMember.id == member_id) & (InspectionTeamMember.team_id == team_id)).first()
        if row is None:
            raise NotFound(f"team member {member_id} not found")
        with unscoped():
            await InspectionTeamMember.delete().where(
                (InspectionTeamMember.id == member_id) & (InspectionTeamMember.tenant_id == ctx.tenant.id))
        await record(ctx, action="delete", entity=InspectionTeamMember._meta.tablename, entity_id=member_id,
                     before=row, after=None)


# ------------------------------------------------------------------------------------------------ visits


async def get_visit(ctx: TenantContext, visit_id: uuid.UUID) -> dict[str, Any]:
    return await ctx.scope(InspectionVisit).get(visit_id, label="inspection visit")


async def visit_read(ctx: TenantContext, visit: dict[str, Any], warnings: list[str] | None = None) -> VisitRead:
    agency = await ctx.scope(Agency).find(visit["agency_id"])
    return VisitRead(id=visit["id"], year=visit["year"], plan_id=visit["plan_id"], team_id=visit["team_id"],
                     agency_id=visit["agency_id"], agency_name=agency["name"] if agency else "", form=visit["form"],
                     scheduled_on=visit["scheduled_on"], status=visit["status"], history=load(visit["history"]),
                     note=visit["note"], warnings=warnings or [])


async def _check_team_for(ctx: TenantContext, system: Any, team_id: uuid.UUID, agency_id: uuid.UUID,
                          day: date, art40: bool = True) -> list[str]:
    """409 when a member works in the inspected agency or lacks the certificate on `day`; warnings otherwise."""
    team = await get_team(ctx, team_id)
    if team["year"] != day.year:
        raise Unprocessable(f"the team was formed for {team['year']}, the visit is in {day.year}", field="team_id")
    rows = await members(ctx, team_id)
    for m in rows:
        if await _inside(ctx, m["agency_id"], agency_id):
            raise Conflict(f"{m['full_name']} thuộc {m['agency_name']}: không thể kiểm tra chính cơ quan mình",
                           field="team_id")
    if not art40:
        return []
    checks = await eligibility(ctx, system, [m["person_id"] for m in rows], [day])
    refused = [f"{m['full_name']}: {checks[m['person_id']][1]}" for m in rows if checks[m["person_id"]][0] == "refused"]
    if refused:
        raise Conflict("Thành viên Đoàn kiểm tra không đủ điều kiện: " + "; ".join(refused), field="team_id")
    return [f"{m['full_name']}: {checks[m['person_id']][1]}" for m in rows if checks[m["person_id"]][0] == "unknown"]


async def _notify_visit(ctx: TenantContext, visit: dict[str, Any], kind: str, extra: dict[str, Any]) -> None:
    agency = await ctx.scope(Agency).get(visit["agency_id"])
    recipients: list[Any] = ["agency_officer"]
    if visit["team_id"] is not None:
        person_ids = [m["person_id"] for m in await members(ctx, visit["team_id"])]
        if person_ids:
            people = await ctx.scope(Person).select(Person.user_id).where(Person.id.is_in(person_ids))
            recipients += [p["user_id"] for p in people if p["user_id"] is not None]
    await send(ctx, kind=f"{NAME}.{kind}", recipients=recipients, agency_id=visit["agency_id"],
                 link=f"{NAME}/visits/{visit['id']}",
                 data={"agency": agency["name"], "date": vi_date(visit["scheduled_on"]),
                       "form": FORMS_VI[visit["form"]], **extra},
                 dedup_key=f"{NAME}:{kind}:{visit['id']}:{len(load(visit['history']))}")


async def create_visit(ctx: TenantContext, system: Any, data: Any, *,
                       art40: bool = True) -> tuple[dict[str, Any], list[str]]:
    await ctx.ensure_agency(data.agency_id)
    year = data.scheduled_on.year
    await _check_plan(ctx, data.plan_id, year)
    warnings: list[str] = []
    if data.form == "on_site" and data.team_id is None:
        raise Unprocessable("an on-site visit needs a team (team_id)", field="team_id")
    if data.team_id is not None:
        warnings = await _check_team_for(ctx, system, data.team_id, data.agency_id, data.scheduled_on, art40)
    async with transaction():
        clash = await ctx.scope(InspectionVisit).select(InspectionVisit.id).where(
            (InspectionVisit.agency_id == data.agency_id) & (InspectionVisit.scheduled_on == data.scheduled_on)
            & (InspectionVisit.status != "cancelled")).first()
        if clash:
            raise Conflict("this agency already has a visit on that day", field="scheduled_on")
        visit = await ctx.scope(InspectionVisit).insert({
            "year": year, "plan_id": data.plan_id, "team_id": data.team_id, "agency_id": data.agency_id,
            "form": data.form, "scheduled_on": data.scheduled_on, "status": "scheduled", "note": data.note,
            "history": dump([{"at": now().isoformat(), "action": "scheduled", "by": ctx.actor.email,
                              "on": data.scheduled_on.isoformat()}])})
        await _notify_visit(ctx, visit, "visit_scheduled", {})
    return visit, warnings


async def move_visit(ctx: TenantContext, system: Any, visit_id: uuid.UUID, data: Any) -> tuple[dict, list[str]]:
    visit = await get_visit(ctx, visit_id)
    if data.scheduled_on.year != visit["year"]:
        raise Unprocessable(f"a visit of {visit['year']} cannot move to {data.scheduled_on.year}", field="scheduled_on")
    warnings = []
    if visit["team_id"] is not None:
        warnings = await _check_team_for(ctx, system, visit["team_id"], visit["agency_id"], data.scheduled_on)
    async with transaction():
        visit = await _lock(ctx, InspectionVisit, visit_id, "inspection visit")
        if visit["status"] != "scheduled":
            raise Conflict(f"the visit is {visit['status']}: only a scheduled visit can move", field="status")
        if data.scheduled_on == visit["scheduled_on"]:
            raise Conflict("the visit is already on that day", field="scheduled_on")
        old = visit["scheduled_on"]
        history = [*load(visit["history"]), {"at": now().isoformat(), "action": "moved", "by": ctx.actor.email,
                                             "from": old.isoformat(), "on": data.scheduled_on.isoformat(),
                                             "reason": data.reason}]
        visit = await ctx.scope(InspectionVisit).update(visit_id, {"scheduled_on": data.scheduled_on,
                                                                   "history": dump(history)}, action="move")
        await _notify_visit(ctx, visit, "visit_moved", {"old_date": vi_date(old)})
    return visit, warnings


async def cancel_visit(ctx: TenantContext, visit_id: uuid.UUID, reason: str) -> dict[str, Any]:
    async with transaction():
        visit = await _lock(ctx, InspectionVisit, visit_id, "inspection visit")
        if visit["status"] != "scheduled":
            raise Conflict(f"the visit is {visit['status']}: only a scheduled visit can be cancelled", field="status")
        history = [*load(visit["history"]), {"at": now().isoformat(), "action": "cancelled", "by": ctx.actor.email,
                                             "reason": reason}]
        return await ctx.scope(InspectionVisit).update(visit_id, {"status": "cancelled", "history": dump(history)},
                                                       action="cancel")


async def list_visits(ctx: TenantContext, year: int | None, agency_id: uuid.UUID | None, team_id: uuid.UUID | None,
                      status: str | None, limit: int, offset: int):
    conds = []
    for column, value in ((InspectionVisit.year, year), (InspectionVisit.agency_id, agency_id),
                          (InspectionVisit.team_id, team_id), (InspectionVisit.status, status)):
        if value is not None:
            conds.append(column == value)
    return await ctx.scope(InspectionVisit).page(*conds, order_by=(InspectionVisit.scheduled_on,), limit=limit,
                                                 offset=offset)


async def list_teams(ctx: TenantContext, year: int | None, limit: int, offset: int):
    conds = [InspectionTeam.year == year] if year is not None else []
    return await ctx.scope(InspectionTeam).page(*conds, order_by=(InspectionTeam.decision_date,), limit=limit,
                                                offset=offset)
