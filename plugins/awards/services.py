"""Rules and queries of the awards module (no HTTP here).

Proposal life cycle::

    draft --submit--> submitted --review--> reviewed --council results--> approved | raised | rejected
                          \\-------------------reject (reason)----------/
    approved --decision issued--> locked (the award history)

- Agency officers propose for their agency, its sub-units and their staff; tenant admins for anyone.
- Submitting needs every criterion of the award form met, or overridden with a written reason (audited as
  action "override"); an `unknown` criterion (its module is off) counts as unmet.
- Council results are recorded for the whole agenda in one transaction: a proposal passes when its votes for are
  more than the province's threshold share of the council's members (default 50%).
- A decision gathers approved proposals of its award form; issuing it locks them: from then on nothing about
  them changes and they form the award history (facts `awards.history`).

Ids in a request are resolved (404) before any state or permission rule is applied, so another province's id is
always a 404 whatever the state of the record.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, timezone
from typing import Any, Iterable, Sequence

import msgspec

from core.agencies.tables import Agency
from core.db import is_sqlite, transaction
from core.errors import Conflict, Forbidden, NotFound, Unprocessable
from core.notifications.notify import notify
from core.people.tables import Person
from core.schemas import to_struct
from core.tenancy.context import TenantContext
from core.text import fold, like_pattern
from core.users.tables import User
from plugins.awards import NAME, eligibility
from plugins.awards.schemas import (
    Awardee,
    DecisionCreate,
    DecisionRead,
    DecisionUpdate,
    FormCreate,
    FormRead,
    FormUpdate,
    HistoryRow,
    MeetingCreate,
    MeetingRead,
    MovementCreate,
    MovementRead,
    MovementUpdate,
    ProposalCreate,
    ProposalRead,
    ProposalUpdate,
    ResultsInput,
    SettingsRead,
    SettingsUpdate,
)
from plugins.awards.tables import AwardDecision, AwardForm, AwardMeeting, AwardMovement, AwardProposal, AwardSettings

STATUS_VI = {"draft": "Dự thảo", "submitted": "Đã gửi đề nghị", "reviewed": "Đã thẩm định",
             "approved": "Được Hội đồng thống nhất khen thưởng", "raised": "Đề nghị cấp trên khen thưởng",
             "rejected": "Không được khen thưởng"}
LEVEL_VI = {"department": "Cấp sở, ngành, cơ sở", "province": "Cấp tỉnh", "ministry": "Cấp bộ, ngành trung ương",
            "national": "Cấp Nhà nước"}
SUBJECT_VI = {"collective": "Tập thể", "individual": "Cá nhân"}
OPEN = ("draft", "submitted", "reviewed", "approved", "raised")

DEFAULT_FORMS: list[dict[str, Any]] = [
    {"code": "giay_khen", "name": "Giấy khen", "level": "department",
     "issuer": "Thủ trưởng sở, ban, ngành; Chủ tịch UBND cấp xã", "for_collective": True, "for_individual": True,
     "criteria": ["qms_announced_no_overdue"]},
    {"code": "bang_khen_ubnd_tinh", "name": "Bằng khen của Chủ tịch UBND tỉnh", "level": "province",
     "issuer": "Chủ tịch UBND tỉnh", "for_collective": True, "for_individual": True,
     "criteria": ["qms_announced_no_overdue", "inspected_this_year_no_overdue_ca", "has_internal_auditor"]},
    {"code": "co_thi_dua_ubnd_tinh", "name": "Cờ thi đua của UBND tỉnh", "level": "province",
     "issuer": "UBND tỉnh", "for_collective": True, "for_individual": False,
     "criteria": ["qms_announced_no_overdue", "inspected_this_year_no_overdue_ca",
                  "consecutive_years:bang_khen_ubnd_tinh:2"]},
    {"code": "bang_khen_bo_khcn", "name": "Bằng khen của Bộ trưởng Bộ Khoa học và Công nghệ", "level": "ministry",
     "issuer": "Bộ trưởng Bộ Khoa học và Công nghệ", "for_collective": True, "for_individual": True,
     "criteria": ["qms_announced_no_overdue", "inspected_this_year_no_overdue_ca",
                  "consecutive_years:bang_khen_ubnd_tinh:1"]},
]

JSON_FIELDS = {"awards_form": ("criteria",), "awards_movement": ("criteria",),
               "awards_proposal": ("evidence", "overrides", "eligibility"), "awards_meeting": ("members",)}


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _dump(value: Any) -> str:
    return msgspec.json.encode(value).decode("utf-8")


def _load(row: dict[str, Any] | None, table: type) -> dict[str, Any] | None:
    if row is None:
        return None
    out = dict(row)
    for name in JSON_FIELDS.get(table._meta.tablename, ()):
        if isinstance(out.get(name), (str, bytes)):
            out[name] = msgspec.json.decode(out[name])
    return out


def _changes(data: msgspec.Struct) -> dict[str, Any]:
    return {k: v for k, v in msgspec.structs.asdict(data).items() if v is not msgspec.UNSET}


async def _get(ctx: TenantContext, table: type, id: Any, label: str, field: str | None = None) -> dict[str, Any]:
    row = await ctx.scope(table).find(id)
    if row is None:
        raise NotFound(f"{label} {id} not found", field=field)
    return _load(row, table)  # type: ignore[return-value]


async def _lock(ctx: TenantContext, table: type, id: Any) -> None:
    """Serialize writers of one row (PostgreSQL: SELECT ... FOR UPDATE; SQLite: the write transaction)."""
    if not is_sqlite():
        await ctx.scope(table).select(table.id).where(table.id == id).lock_rows("UPDATE")


def _tenant_user(ctx: TenantContext) -> uuid.UUID | None:
    """The acting user when it is a user of this province (a platform admin or the system is nobody to notify)."""
    return ctx.actor.id if ctx.actor.id is not None and ctx.actor.tenant_id == ctx.tenant.id else None


# ----------------------------------------------------------------------------------------------- settings


def _default_issuer(ctx: TenantContext) -> str:
    name = ctx.tenant.name
    return f"UBND {name}" if fold(name).startswith("tinh ") else f"UBND tỉnh {name}"


def _default_place(ctx: TenantContext) -> str:
    name = ctx.tenant.name
    return name[5:] if fold(name).startswith("tinh ") else name


async def settings(ctx: TenantContext) -> dict[str, Any]:
    row = await ctx.scope(AwardSettings).select().first()
    base = {"approval_threshold_percent": 50, "issuer": "", "place_name": "", "signer_title": "CHỦ TỊCH",
            "updated_at": None}
    if row:
        base.update(row)
    base["issuer"] = base["issuer"] or _default_issuer(ctx)
    base["place_name"] = base["place_name"] or _default_place(ctx)
    return base


async def update_settings(ctx: TenantContext, data: SettingsUpdate) -> SettingsRead:
    changes = _changes(data)
    for k in ("issuer", "place_name", "signer_title"):
        if isinstance(changes.get(k), str):
            changes[k] = changes[k].strip()
            if not changes[k]:
                raise Unprocessable(f"{k} cannot be blank", field=k)
    async with transaction():
        row = await ctx.scope(AwardSettings).select().first()
        if row is None:
            await ctx.scope(AwardSettings).insert(changes)
        elif changes:
            await ctx.scope(AwardSettings).update(row["id"], changes)
    return to_struct(await settings(ctx), SettingsRead)


# ----------------------------------------------------------------------------------------------- forms


async def forms(ctx: TenantContext) -> list[dict[str, Any]]:
    rows = await ctx.scope(AwardForm).select().order_by(AwardForm.code).output(load_json=True)
    return rows


async def get_form(ctx: TenantContext, form_id: Any, field: str | None = None) -> dict[str, Any]:
    return await _get(ctx, AwardForm, form_id, "award form", field)


def form_read(row: dict[str, Any]) -> FormRead:
    return to_struct(_load(row, AwardForm), FormRead)  # type: ignore[arg-type]


async def list_forms(ctx: TenantContext, q: str | None, active: bool | None, limit: int, offset: int
                     ) -> tuple[list[FormRead], int]:
    conds = []
    if q:
        conds.append(AwardForm.name_folded.like(like_pattern(q)) | AwardForm.code.like(like_pattern(q)))
    if active is not None:
        conds.append(AwardForm.active == active)
    rows, total = await ctx.scope(AwardForm).page(*conds, order_by=(AwardForm.code,), limit=limit, offset=offset)
    return [form_read(r) for r in rows], total


def _check_subjects(for_collective: bool, for_individual: bool) -> None:
    if not for_collective and not for_individual:
        raise Unprocessable("an award form is for collectives, individuals or both", field="for_collective")


async def create_form(ctx: TenantContext, data: FormCreate) -> dict[str, Any]:
    code = data.code.lower()
    existing = {r["code"] for r in await ctx.scope(AwardForm).select(AwardForm.code)}
    if code in existing:
        raise Conflict(f"this province already has an award form with the code {code!r}", field="code")
    criteria = eligibility.check_codes(data.criteria, existing | {code})
    _check_subjects(data.for_collective, data.for_individual)
    name = data.name.strip()
    row = await ctx.scope(AwardForm).insert({
        "code": code, "code_key": f"{ctx.tenant.id}:{code}", "name": name, "name_folded": fold(name, 255),
        "level": data.level, "issuer": data.issuer.strip(), "for_collective": data.for_collective,
        "for_individual": data.for_individual, "criteria": _dump(criteria), "active": True})
    return _load(row, AwardForm)  # type: ignore[return-value]


async def update_form(ctx: TenantContext, form_id: uuid.UUID, data: FormUpdate) -> dict[str, Any]:
    row = await get_form(ctx, form_id)
    changes = _changes(data)
    if "criteria" in changes:
        existing = {r["code"] for r in await ctx.scope(AwardForm).select(AwardForm.code)}
        changes["criteria"] = _dump(eligibility.check_codes(changes["criteria"], existing))
    if "name" in changes:
        changes["name"] = changes["name"].strip()
        changes["name_folded"] = fold(changes["name"], 255)
    if "issuer" in changes:
        changes["issuer"] = changes["issuer"].strip()
    _check_subjects(changes.get("for_collective", row["for_collective"]),
                    changes.get("for_individual", row["for_individual"]))
    if not changes:
        return row
    return _load(await ctx.scope(AwardForm).update(row["id"], changes), AwardForm)  # type: ignore[return-value]


async def install_default_forms(ctx: TenantContext) -> list[dict[str, Any]]:
    """The usual award forms of a province (Vietnamese names), those it does not have yet; idempotent."""
    async with transaction():
        have = {r["code"] for r in await ctx.scope(AwardForm).select(AwardForm.code)}
        for spec in DEFAULT_FORMS:
            if spec["code"] not in have:
                await create_form(ctx, FormCreate(**spec))
                have.add(spec["code"])
    return await forms(ctx)


def criteria_catalogue(form_rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    names = {f["code"]: f["name"] for f in form_rows}
    out = [{"code": c.code, "title_vi": c.title_vi, "module": c.module, "applies_to": list(c.applies_to)}
           for c in eligibility.FIXED.values()]
    for code in names:
        c = eligibility.describe(f"consecutive_years:{code}:2", names)
        out.append({"code": f"consecutive_years:{code}:<n>", "title_vi": c.title_vi.replace(" 2 ", " <n> "),
                    "module": "awards", "applies_to": ["collective", "individual"]})
    return out


# ----------------------------------------------------------------------------------------------- movements


def movement_read(row: dict[str, Any]) -> MovementRead:
    return to_struct(_load(row, AwardMovement), MovementRead)  # type: ignore[arg-type]


def _check_period(year: int, start: date, end: date) -> None:
    if start > end:
        raise Unprocessable("the period ends before it starts", field="period_to")
    if not (start.year <= year <= end.year):
        raise Unprocessable(f"the movement's year {year} is outside its period", field="year")


async def create_movement(ctx: TenantContext, data: MovementCreate) -> dict[str, Any]:
    _check_period(data.year, data.period_from, data.period_to)
    name = data.name.strip()
    return _load(await ctx.scope(AwardMovement).insert({  # type: ignore[return-value]
        "year": data.year, "name": name, "name_folded": fold(name, 500), "period_from": data.period_from,
        "period_to": data.period_to, "criteria": _dump([c.strip() for c in data.criteria]),
        "description": data.description.strip()}), AwardMovement)


async def update_movement(ctx: TenantContext, movement_id: uuid.UUID, data: MovementUpdate) -> dict[str, Any]:
    row = await _get(ctx, AwardMovement, movement_id, "emulation movement")
    changes = _changes(data)
    _check_period(row["year"], changes.get("period_from", row["period_from"]), changes.get("period_to", row["period_to"]))
    if "name" in changes:
        changes["name"] = changes["name"].strip()
        changes["name_folded"] = fold(changes["name"], 500)
    if "criteria" in changes:
        changes["criteria"] = _dump([c.strip() for c in changes["criteria"]])
    if not changes:
        return row
    return _load(await ctx.scope(AwardMovement).update(row["id"], changes), AwardMovement)  # type: ignore


async def list_movements(ctx: TenantContext, year: int | None, q: str | None, limit: int, offset: int
                         ) -> tuple[list[MovementRead], int]:
    conds = []
    if year is not None:
        conds.append(AwardMovement.year == year)
    if q:
        conds.append(AwardMovement.name_folded.like(like_pattern(q)))
    rows, total = await ctx.scope(AwardMovement).page(*conds, order_by=(AwardMovement.year,), descending=True,
                                                      limit=limit, offset=offset)
    return [movement_read(r) for r in rows], total


# ----------------------------------------------------------------------------------------------- proposals


async def get_proposal(ctx: TenantContext, proposal_id: Any, field: str | None = None) -> dict[str, Any]:
    return await _get(ctx, AwardProposal, proposal_id, "award proposal", field)


async def _may_propose_for(ctx: TenantContext, agency_id: uuid.UUID) -> None:
    allowed = await ctx.writable_agency_ids()
    if allowed is not None and agency_id not in allowed:
        raise Forbidden("an agency officer may propose only for its own agency, its sub-units and their staff",
                        field="agency_id")


async def _check_can_edit(ctx: TenantContext, proposal: dict[str, Any]) -> None:
    if proposal["locked"]:
        raise Conflict(f"the proposal is locked: decision {proposal['decision_number']} was issued for it")
    if ctx.has(f"{NAME}.manage"):
        return
    await _may_propose_for(ctx, proposal["agency_id"])


def _check_form_subject(form: dict[str, Any], subject: str) -> None:
    if not form["active"]:
        raise Unprocessable(f"the award form {form['name']!r} is no longer used", field="form_id")
    if subject == "collective" and not form["for_collective"]:
        raise Unprocessable(f"{form['name']} is not given to collectives", field="subject")
    if subject == "individual" and not form["for_individual"]:
        raise Unprocessable(f"{form['name']} is not given to individuals", field="subject")


async def _check_no_duplicate(ctx: TenantContext, subject: str, agency_id: uuid.UUID, person_id: Any,
                              form_id: uuid.UUID, year: int, exclude: uuid.UUID | None = None) -> None:
    query = ctx.scope(AwardProposal).select(AwardProposal.id).where(
        (AwardProposal.form_id == form_id) & (AwardProposal.year == year)
        & AwardProposal.status.is_in(list(OPEN)) & (AwardProposal.subject == subject))
    query = query.where(AwardProposal.person_id == person_id) if subject == "individual" else \
        query.where(AwardProposal.agency_id == agency_id)
    if exclude is not None:
        query = query.where(AwardProposal.id != exclude)
    if await query.first():
        raise Conflict(f"there is already an open proposal of this award form for this {subject} in {year}")


async def create_proposal(ctx: TenantContext, data: ProposalCreate, today: date | None = None) -> dict[str, Any]:
    form = await get_form(ctx, data.form_id, "form_id")
    movement = await _get(ctx, AwardMovement, data.movement_id, "emulation movement", "movement_id") \
        if data.movement_id else None
    agency = await ctx.scope(Agency).get(data.agency_id, label="agency") if data.agency_id else None
    person = await ctx.scope(Person).get(data.person_id, label="person") if data.person_id else None
    year = data.year or (movement["year"] if movement else (today or date.today()).year)
    if movement is not None and year != movement["year"]:
        raise Unprocessable(f"the movement is of {movement['year']}, the proposal of {year}", field="year")
    if data.subject == "collective":
        if agency is None:
            raise Unprocessable("a proposal for a collective names the agency", field="agency_id")
        if person is not None:
            raise Unprocessable("a proposal for a collective names no person", field="person_id")
        name, position = agency["name"], ""
    else:
        if person is None:
            raise Unprocessable("a proposal for an individual names the person (people directory)", field="person_id")
        if agency is None and person["agency_id"] is not None:
            agency = await ctx.scope(Agency).get(person["agency_id"], label="agency")
        if agency is None:
            raise Unprocessable("the person has no agency in the directory: name the agency", field="agency_id")
        name, position = person["full_name"], (data.position if data.position is not None else person["position"])
    _check_form_subject(form, data.subject)
    await _may_propose_for(ctx, agency["id"])
    async with transaction():
        await _lock(ctx, AwardForm, form["id"])  # proposals of one form are checked for duplicates one at a time
        await _check_no_duplicate(ctx, data.subject, agency["id"], person["id"] if person else None, form["id"], year)
        row = await ctx.scope(AwardProposal).insert({
            "year": year, "movement_id": movement["id"] if movement else None, "form_id": form["id"],
            "subject": data.subject, "agency_id": agency["id"], "person_id": person["id"] if person else None,
            "awardee_name": name, "awardee_name_folded": fold(name, 255), "agency_name": agency["name"],
            "agency_level": agency["level"], "position": (position or "").strip(),
            "achievement": data.achievement.strip(), "evidence": _dump([e.strip() for e in data.evidence]),
            "status": "draft", "overrides": "{}", "eligibility": "[]", "proposer_agency_id": ctx.actor.agency_id,
            "proposed_by": ctx.actor.email, "proposed_by_user_id": _tenant_user(ctx)})
    return _load(row, AwardProposal)  # type: ignore[return-value]


async def update_proposal(ctx: TenantContext, proposal_id: uuid.UUID, data: ProposalUpdate) -> dict[str, Any]:
    row = await get_proposal(ctx, proposal_id)
    changes = _changes(data)
    form = await get_form(ctx, changes["form_id"], "form_id") if "form_id" in changes else None
    movement = await _get(ctx, AwardMovement, changes["movement_id"], "emulation movement", "movement_id") \
        if changes.get("movement_id") else None
    await _check_can_edit(ctx, row)
    manager = ctx.has(f"{NAME}.manage")
    if row["status"] != "draft" and not (manager and row["status"] in ("submitted", "reviewed", "approved")):
        raise Conflict(f"a proposal can be changed only as a draft (this one is {row['status']}); "
                       "the secretariat may correct wording until a decision is issued")
    if row["status"] != "draft" and ({"form_id", "movement_id"} & set(changes)):
        raise Conflict("the award form and the movement change only while the proposal is a draft", field="form_id")
    if movement is not None and movement["year"] != row["year"]:
        raise Unprocessable(f"the movement is of {movement['year']}, the proposal of {row['year']}",
                            field="movement_id")
    if form is not None:
        _check_form_subject(form, row["subject"])
    if "achievement" in changes:
        changes["achievement"] = changes["achievement"].strip()
    if "position" in changes:
        changes["position"] = changes["position"].strip()
    if "evidence" in changes:
        changes["evidence"] = _dump([e.strip() for e in changes["evidence"]])
    if not changes:
        return row
    async with transaction():
        await _lock(ctx, AwardProposal, row["id"])
        if form is not None:
            await _lock(ctx, AwardForm, form["id"])
            await _check_no_duplicate(ctx, row["subject"], row["agency_id"], row["person_id"], form["id"],
                                      row["year"], exclude=row["id"])
        if form is not None and form["id"] != row["form_id"]:
            changes["overrides"] = "{}"  # overrides answered the old form's criteria
        updated = await ctx.scope(AwardProposal).update(row["id"], changes)
    return _load(updated, AwardProposal)  # type: ignore[return-value]


async def _subjects(ctx: TenantContext, rows: Sequence[dict[str, Any]]) -> tuple[list[eligibility.Subject],
                                                                                dict[str, str], dict[Any, Any]]:
    form_rows = await forms(ctx)
    by_id = {f["id"]: f for f in form_rows}
    names = {f["code"]: f["name"] for f in form_rows}
    subjects = []
    for r in rows:
        form = by_id.get(r["form_id"])
        subjects.append(eligibility.Subject(
            key=r["id"], subject=r["subject"], agency_id=r["agency_id"], agency_name=r["agency_name"],
            person_id=r["person_id"], year=r["year"], criteria=tuple(form["criteria"]) if form else (),
            overrides=r["overrides"] or {}))
    return subjects, names, by_id


async def judge(ctx: TenantContext, rows: Sequence[dict[str, Any]], system: Any = None,
                modules: Iterable[str] | None = None, today: date | None = None) -> dict[Any, Any]:
    subjects, names, _ = await _subjects(ctx, rows)
    return await eligibility.evaluate(ctx, subjects, names, system=system, modules=modules, today=today)


async def proposal_reads(ctx: TenantContext, rows: Sequence[dict[str, Any]], system: Any = None,
                         modules: Iterable[str] | None = None) -> list[ProposalRead]:
    rows = [_load(r, AwardProposal) for r in rows]  # type: ignore[misc]
    subjects, names, by_id = await _subjects(ctx, rows)
    judged = await eligibility.evaluate(ctx, subjects, names, system=system, modules=modules)
    out = []
    for r in rows:
        form = by_id.get(r["form_id"], {"code": "", "name": ""})
        out.append(to_struct({**r, "form_code": form["code"], "form_name": form["name"],
                              "eligibility": judged[r["id"]], "submitted_eligibility": r["eligibility"] or []},
                             ProposalRead))
    return out


async def proposal_read(ctx: TenantContext, row: dict[str, Any], system: Any = None,
                        modules: Iterable[str] | None = None) -> ProposalRead:
    return (await proposal_reads(ctx, [row], system, modules))[0]


async def list_proposals(ctx: TenantContext, *, status: list[str] | None, year: int | None,
                         movement_id: uuid.UUID | None, form_id: uuid.UUID | None, subject: str | None,
                         agency_id: uuid.UUID | None, person_id: uuid.UUID | None, meeting_id: uuid.UUID | None,
                         q: str | None, limit: int, offset: int) -> tuple[list[dict[str, Any]], int]:
    conds = []
    if status:
        conds.append(AwardProposal.status.is_in(list(status)))
    for column, value in ((AwardProposal.year, year), (AwardProposal.movement_id, movement_id),
                          (AwardProposal.form_id, form_id), (AwardProposal.subject, subject),
                          (AwardProposal.agency_id, agency_id), (AwardProposal.person_id, person_id),
                          (AwardProposal.meeting_id, meeting_id)):
        if value is not None:
            conds.append(column == value)
    if q:
        conds.append(AwardProposal.awardee_name_folded.like(like_pattern(q)))
    return await ctx.scope(AwardProposal).page(*conds, order_by=(AwardProposal.year, AwardProposal.created_at),
                                               descending=True, limit=limit, offset=offset)


async def _status_changed(ctx: TenantContext, row: dict[str, Any], status: str, reason: str | None = None) -> None:
    """Tell the proposer (a user of this province, when it is not the one acting)."""
    user = row.get("proposed_by_user_id")
    if user is None or user == ctx.actor.id:
        return
    body = f"Lý do: {reason}" if reason else ""
    await notify(ctx, kind=f"{NAME}.proposal_status_changed", recipients=[user], agency_id=row["agency_id"],
                 data={"awardee": row["awardee_name"], "status": STATUS_VI.get(status, status)}, body=body,
                 link=f"{NAME}/proposals/{row['id']}", dedup_key=f"{NAME}:status:{row['id']}:{status}")


async def override(ctx: TenantContext, proposal_id: uuid.UUID, criterion: str, reason: str, system: Any = None,
                   modules: Iterable[str] | None = None) -> dict[str, Any]:
    row = await get_proposal(ctx, proposal_id)
    await _check_can_edit(ctx, row)
    if row["status"] != "draft":
        raise Conflict(f"criteria are overridden before submission (this proposal is {row['status']})")
    form = await get_form(ctx, row["form_id"])
    code = eligibility.normalize(criterion)
    if code not in form["criteria"]:
        raise Unprocessable(f"{form['name']} does not require the criterion {criterion!r}", field="criterion")
    judged = (await judge(ctx, [row], system, modules))[row["id"]]
    result = next(c for c in judged.criteria if c.code == code)
    if result.status == "met":
        raise Conflict(f"the criterion {code!r} is met: there is nothing to override", field="criterion")
    async with transaction():
        await _lock(ctx, AwardProposal, row["id"])
        row = await get_proposal(ctx, proposal_id)
        if row["status"] != "draft":
            raise Conflict(f"criteria are overridden before submission (this proposal is {row['status']})")
        overrides = dict(row["overrides"] or {})
        overrides[code] = {"reason": reason.strip(), "by": ctx.actor.email, "at": _now().isoformat(),
                           "status": result.status, "explanation": result.explanation}
        updated = await ctx.scope(AwardProposal).update(row["id"], {"overrides": _dump(overrides)}, action="override")
    return _load(updated, AwardProposal)  # type: ignore[return-value]


async def submit(ctx: TenantContext, proposal_id: uuid.UUID, system: Any = None,
                 modules: Iterable[str] | None = None) -> dict[str, Any]:
    row = await get_proposal(ctx, proposal_id)
    await _check_can_edit(ctx, row)
    async with transaction():
        await _lock(ctx, AwardProposal, row["id"])
        row = await get_proposal(ctx, proposal_id)
        if row["status"] != "draft":
            raise Conflict(f"only a draft can be submitted (this proposal is {row['status']})")
        judged = (await judge(ctx, [row], system, modules))[row["id"]]
        if not judged.eligible:
            failing = [c for c in judged.criteria if c.status != "met" and not c.overridden]
            raise Unprocessable(
                f"the proposal does not meet {len(failing)} criteria of its award form: "
                + "; ".join(f"{c.code} ({c.status}): {c.explanation}" for c in failing)
                + ". Override each with a written reason first (POST .../overrides)",
                field="eligibility", criteria=[msgspec.to_builtins(c) for c in failing])
        updated = await ctx.scope(AwardProposal).update(row["id"], {
            "status": "submitted", "submitted_at": _now(),
            "eligibility": _dump(msgspec.to_builtins(judged.criteria))}, action="submit")
        await _status_changed(ctx, row, "submitted")
    return _load(updated, AwardProposal)  # type: ignore[return-value]


async def review(ctx: TenantContext, proposal_id: uuid.UUID, note: str) -> dict[str, Any]:
    row = await get_proposal(ctx, proposal_id)
    async with transaction():
        await _lock(ctx, AwardProposal, row["id"])
        row = await get_proposal(ctx, proposal_id)
        if row["status"] != "submitted":
            raise Conflict(f"only a submitted proposal can be reviewed (this one is {row['status']})")
        updated = await ctx.scope(AwardProposal).update(row["id"], {
            "status": "reviewed", "reviewed_at": _now(), "review_note": note.strip() or None}, action="review")
        await _status_changed(ctx, row, "reviewed")
    return _load(updated, AwardProposal)  # type: ignore[return-value]


async def reject(ctx: TenantContext, proposal_id: uuid.UUID, reason: str) -> dict[str, Any]:
    row = await get_proposal(ctx, proposal_id)
    async with transaction():
        await _lock(ctx, AwardProposal, row["id"])
        row = await get_proposal(ctx, proposal_id)
        if row["status"] not in ("submitted", "reviewed"):
            raise Conflict(f"only a submitted or reviewed proposal can be rejected (this one is {row['status']})")
        if row["meeting_id"] is not None:
            meeting = await _get(ctx, AwardMeeting, row["meeting_id"], "council meeting")
            if meeting["status"] == "scheduled":
                raise Conflict("the proposal is on the agenda of a council meeting: record the council's result")
        updated = await ctx.scope(AwardProposal).update(row["id"], {
            "status": "rejected", "status_reason": reason.strip(), "decided_at": _now()}, action="reject")
        await _status_changed(ctx, row, "rejected", reason.strip())
    return _load(updated, AwardProposal)  # type: ignore[return-value]


# ----------------------------------------------------------------------------------------------- meetings


async def meeting_read(ctx: TenantContext, row: dict[str, Any]) -> MeetingRead:
    row = _load(row, AwardMeeting)  # type: ignore[assignment]
    ids = [r["id"] for r in await ctx.scope(AwardProposal).select(AwardProposal.id).where(
        AwardProposal.meeting_id == row["id"]).order_by(AwardProposal.awardee_name_folded)]
    return to_struct({**row, "proposal_ids": ids}, MeetingRead)


async def _distinct(ids: Sequence[uuid.UUID], field: str) -> list[uuid.UUID]:
    if len(set(ids)) != len(ids):
        raise Unprocessable("a proposal is listed twice", field=field)
    return list(ids)


async def create_meeting(ctx: TenantContext, data: MeetingCreate) -> dict[str, Any]:
    proposals = [await get_proposal(ctx, pid, "proposal_ids") for pid in data.proposal_ids]
    for i, m in enumerate(data.members):
        if m.user_id is not None and await ctx.scope(User).find(m.user_id) is None:
            raise NotFound(f"user {m.user_id} not found", field=f"members[{i}].user_id")
    await _distinct(data.proposal_ids, "proposal_ids")
    members = [{"full_name": m.full_name.strip(), "position": m.position.strip(),
                "user_id": str(m.user_id) if m.user_id else None} for m in data.members]
    async with transaction():
        for p in proposals:
            await _lock(ctx, AwardProposal, p["id"])
        for p in [await get_proposal(ctx, p["id"]) for p in proposals]:
            if p["status"] != "reviewed":
                raise Conflict(f"only reviewed proposals go to the council ({p['awardee_name']}: {p['status']})",
                               field="proposal_ids")
            if p["meeting_id"] is not None:
                raise Conflict(f"{p['awardee_name']} is already on the agenda of a council meeting",
                               field="proposal_ids")
        meeting = await ctx.scope(AwardMeeting).insert({
            "held_on": data.held_on, "place": data.place.strip(), "members": _dump(members),
            "member_count": len(members), "status": "scheduled", "note": data.note.strip()})
        for p in proposals:
            await ctx.scope(AwardProposal).update(p["id"], {"meeting_id": meeting["id"]}, action="schedule")
        users = [uuid.UUID(m["user_id"]) for m in members if m["user_id"]]
        if users:
            await notify(ctx, kind=f"{NAME}.meeting_scheduled", recipients=users,
                         data={"date": data.held_on.strftime("%d/%m/%Y")},
                         body=f"Địa điểm: {data.place.strip() or 'sẽ thông báo sau'}. "
                              f"Số hồ sơ đề nghị khen thưởng: {len(proposals)}.",
                         link=f"{NAME}/meetings/{meeting['id']}", dedup_key=f"{NAME}:meeting:{meeting['id']}")
    return _load(meeting, AwardMeeting)  # type: ignore[return-value]


def passes(votes_for: int, members: int, threshold_percent: int) -> bool:
    """The council agrees when the votes for are MORE than `threshold_percent` of its members."""
    return votes_for * 100 > threshold_percent * members


async def record_results(ctx: TenantContext, meeting_id: uuid.UUID, data: ResultsInput
                         ) -> tuple[dict[str, Any], dict[str, str]]:
    meeting = await _get(ctx, AwardMeeting, meeting_id, "council meeting")
    for i, r in enumerate(data.results):
        await get_proposal(ctx, r.proposal_id, f"results[{i}].proposal_id")
    await _distinct([r.proposal_id for r in data.results], "results")
    threshold = (await settings(ctx))["approval_threshold_percent"]
    outcomes: dict[str, str] = {}
    async with transaction():
        await _lock(ctx, AwardMeeting, meeting["id"])
        meeting = await _get(ctx, AwardMeeting, meeting_id, "council meeting")
        if meeting["status"] != "scheduled":
            raise Conflict("the results of this meeting are already recorded")
        agenda = {r["id"]: _load(r, AwardProposal) for r in await ctx.scope(AwardProposal).select().where(
            AwardProposal.meeting_id == meeting["id"])}
        given = {r.proposal_id for r in data.results}
        for i, r in enumerate(data.results):
            if r.proposal_id not in agenda:
                raise Unprocessable("this proposal is not on the meeting's agenda", field=f"results[{i}].proposal_id")
            if r.votes_for + r.votes_against > meeting["member_count"]:
                raise Unprocessable(f"{r.votes_for + r.votes_against} votes from a council of "
                                    f"{meeting['member_count']} members", field=f"results[{i}].votes_for")
            if agenda[r.proposal_id]["status"] != "reviewed":
                raise Conflict(f"{agenda[r.proposal_id]['awardee_name']} is no longer reviewed "
                               f"({agenda[r.proposal_id]['status']})", field=f"results[{i}].proposal_id")
        missing = [p["awardee_name"] for pid, p in agenda.items() if pid not in given]
        if missing:
            raise Unprocessable(f"record a result for every proposal on the agenda; missing: {', '.join(missing)}",
                                field="results")
        now = _now()
        for r in data.results:
            p = agenda[r.proposal_id]
            members = meeting["member_count"]
            if passes(r.votes_for, members, threshold):
                status = "raised" if r.raise_to else "approved"
                reason = f"Đề nghị {r.raise_to.strip()} khen thưởng" if r.raise_to else None
            else:
                status = "rejected"
                reason = (f"Không đạt tỷ lệ phiếu đồng ý của Hội đồng Thi đua – Khen thưởng: {r.votes_for}/{members} "
                          f"thành viên (cần trên {threshold}%)")
            await ctx.scope(AwardProposal).update(p["id"], {
                "status": status, "votes_for": r.votes_for, "votes_against": r.votes_against, "decided_at": now,
                "status_reason": reason, "raised_to": r.raise_to.strip() if (r.raise_to and status == "raised")
                else None}, action="council_result")
            await _status_changed(ctx, p, status, reason)
            outcomes[str(p["id"])] = status
        updated = await ctx.scope(AwardMeeting).update(meeting["id"], {
            "status": "held", "threshold_percent": threshold, "results_at": now}, action="results")
    return _load(updated, AwardMeeting), outcomes  # type: ignore[return-value]


async def list_meetings(ctx: TenantContext, status: str | None, year: int | None, limit: int, offset: int
                        ) -> tuple[list[dict[str, Any]], int]:
    conds = []
    if status:
        conds.append(AwardMeeting.status == status)
    if year is not None:
        conds.append((AwardMeeting.held_on >= date(year, 1, 1)) & (AwardMeeting.held_on <= date(year, 12, 31)))
    return await ctx.scope(AwardMeeting).page(*conds, order_by=(AwardMeeting.held_on,), descending=True,
                                              limit=limit, offset=offset)


# ----------------------------------------------------------------------------------------------- decisions


def _number_key(tenant_id: Any, year: int, number: str) -> str:
    return f"{tenant_id}:{year}:{fold(number.replace(' ', ''), 100)}"


async def decision_awardees(ctx: TenantContext, decision_id: uuid.UUID) -> list[dict[str, Any]]:
    rows = await ctx.scope(AwardProposal).select().where(AwardProposal.decision_id == decision_id).output(
        load_json=True)
    rows.sort(key=lambda r: (r["subject"] != "collective", r["awardee_name_folded"]))
    return rows


async def decision_read(ctx: TenantContext, row: dict[str, Any]) -> DecisionRead:
    form = await ctx.scope(AwardForm).find(row["form_id"]) or {"code": "", "name": ""}
    awardees = await decision_awardees(ctx, row["id"])
    return to_struct({
        **row, "form_code": form["code"], "form_name": form["name"],
        "collectives": sum(1 for a in awardees if a["subject"] == "collective"),
        "individuals": sum(1 for a in awardees if a["subject"] == "individual"),
        "awardees": [to_struct({**a, "proposal_id": a["id"]}, Awardee) for a in awardees]}, DecisionRead)


async def _check_awardees(ctx: TenantContext, form: dict[str, Any], proposals: list[dict[str, Any]],
                          decision_id: uuid.UUID | None) -> None:
    for p in proposals:
        if p["status"] != "approved":
            raise Conflict(f"only proposals the council approved go into a decision ({p['awardee_name']}: "
                           f"{p['status']})", field="proposal_ids")
        if p["form_id"] != form["id"]:
            raise Unprocessable(f"{p['awardee_name']} was proposed for another award form", field="proposal_ids")
        if p["decision_id"] is not None and p["decision_id"] != decision_id:
            raise Conflict(f"{p['awardee_name']} is already in another decision", field="proposal_ids")


async def _check_number_free(ctx: TenantContext, key: str, exclude: uuid.UUID | None = None) -> None:
    query = ctx.scope(AwardDecision).select(AwardDecision.id).where(AwardDecision.number_key == key)
    found = await query.first()
    if found and found["id"] != exclude:
        raise Conflict("a decision with this number already exists for that year", field="number")


async def create_decision(ctx: TenantContext, data: DecisionCreate) -> dict[str, Any]:
    form = await get_form(ctx, data.form_id, "form_id")
    if data.movement_id:
        await _get(ctx, AwardMovement, data.movement_id, "emulation movement", "movement_id")
    proposals = [await get_proposal(ctx, pid, "proposal_ids") for pid in data.proposal_ids]
    await _distinct(data.proposal_ids, "proposal_ids")
    conf = await settings(ctx)
    key = _number_key(ctx.tenant.id, data.decided_on.year, data.number.strip())
    async with transaction():
        for p in proposals:
            await _lock(ctx, AwardProposal, p["id"])
        proposals = [await get_proposal(ctx, p["id"]) for p in proposals]
        await _check_awardees(ctx, form, proposals, None)
        await _check_number_free(ctx, key)
        row = await ctx.scope(AwardDecision).insert({
            "number": data.number.strip(), "number_key": key, "decided_on": data.decided_on,
            "year": data.decided_on.year, "issuer": conf["issuer"], "signer": data.signer.strip(),
            "signer_title": (data.signer_title or conf["signer_title"]).strip(), "form_id": form["id"],
            "movement_id": data.movement_id, "title": data.title.strip(), "status": "draft"})
        for p in proposals:
            await ctx.scope(AwardProposal).update(p["id"], {"decision_id": row["id"]}, action="attach_decision")
    return row


async def update_decision(ctx: TenantContext, decision_id: uuid.UUID, data: DecisionUpdate) -> dict[str, Any]:
    row = await _get(ctx, AwardDecision, decision_id, "award decision")
    changes = _changes(data)
    new_ids = changes.pop("proposal_ids", None)
    proposals = [await get_proposal(ctx, pid, "proposal_ids") for pid in new_ids] if new_ids is not None else None
    if new_ids is not None:
        await _distinct(new_ids, "proposal_ids")
    async with transaction():
        await _lock(ctx, AwardDecision, row["id"])
        row = await _get(ctx, AwardDecision, decision_id, "award decision")
        if row["status"] != "draft":
            raise Conflict(f"decision {row['number']} is issued: it no longer changes")
        for k in ("number", "signer", "signer_title", "title"):
            if isinstance(changes.get(k), str):
                changes[k] = changes[k].strip()
        if "number" in changes or "decided_on" in changes:
            day = changes.get("decided_on", row["decided_on"])
            changes["year"] = day.year
            changes["number_key"] = _number_key(ctx.tenant.id, day.year, changes.get("number", row["number"]))
            await _check_number_free(ctx, changes["number_key"], exclude=row["id"])
        if proposals is not None:
            form = await get_form(ctx, row["form_id"])
            proposals = [await get_proposal(ctx, p["id"]) for p in proposals]
            await _check_awardees(ctx, form, proposals, row["id"])
            keep = {p["id"] for p in proposals}
            for old in await decision_awardees(ctx, row["id"]):
                if old["id"] not in keep:
                    await ctx.scope(AwardProposal).update(old["id"], {"decision_id": None}, action="detach_decision")
            for p in proposals:
                if p["decision_id"] != row["id"]:
                    await ctx.scope(AwardProposal).update(p["id"], {"decision_id": row["id"]},
                                                          action="attach_decision")
        if changes:
            row = await ctx.scope(AwardDecision).update(row["id"], changes)
    return row


async def issue_decision(ctx: TenantContext, decision_id: uuid.UUID) -> dict[str, Any]:
    row = await _get(ctx, AwardDecision, decision_id, "award decision")
    async with transaction():
        await _lock(ctx, AwardDecision, row["id"])
        row = await _get(ctx, AwardDecision, decision_id, "award decision")
        if row["status"] != "draft":
            raise Conflict(f"decision {row['number']} is already issued")
        awardees = await decision_awardees(ctx, row["id"])
        if not awardees:
            raise Unprocessable("a decision without awardees cannot be issued", field="proposal_ids")
        for p in awardees:
            if p["status"] != "approved":
                raise Conflict(f"{p['awardee_name']} is no longer approved ({p['status']})")
            await ctx.scope(AwardProposal).update(p["id"], {
                "locked": True, "decision_number": row["number"], "awarded_on": row["decided_on"],
                "awarded_year": row["decided_on"].year}, action="lock")
        row = await ctx.scope(AwardDecision).update(row["id"], {"status": "issued", "issued_at": _now()},
                                                    action="issue")
    return row


async def list_decisions(ctx: TenantContext, *, year: int | None, form_id: uuid.UUID | None, status: str | None,
                         q: str | None, limit: int, offset: int) -> tuple[list[dict[str, Any]], int]:
    conds = []
    if year is not None:
        conds.append(AwardDecision.year == year)
    if form_id is not None:
        conds.append(AwardDecision.form_id == form_id)
    if status:
        conds.append(AwardDecision.status == status)
    if q:
        # the key is "<tenant>:<year>:<folded number>": match the number part only
        conds.append(AwardDecision.number_key.like(f"{ctx.tenant.id}:____:{like_pattern(q.replace(' ', ''))}"))
    return await ctx.scope(AwardDecision).page(*conds, order_by=(AwardDecision.decided_on,), descending=True,
                                               limit=limit, offset=offset)


# ----------------------------------------------------------------------------------------------- history


async def history(ctx: TenantContext, *, agency_id: uuid.UUID | None = None, person_id: uuid.UUID | None = None,
                  subject: str | None = None, year: int | None = None, form_id: uuid.UUID | None = None,
                  q: str | None = None, limit: int | None = None, offset: int = 0) -> tuple[list[HistoryRow], int]:
    """Awards given by issued decisions (the locked proposals), newest first."""
    conds = [AwardProposal.locked == True]  # noqa: E712
    for column, value in ((AwardProposal.agency_id, agency_id), (AwardProposal.person_id, person_id),
                          (AwardProposal.subject, subject), (AwardProposal.awarded_year, year),
                          (AwardProposal.form_id, form_id)):
        if value is not None:
            conds.append(column == value)
    if q:
        conds.append(AwardProposal.awardee_name_folded.like(like_pattern(q)))
    if limit is None:
        query = ctx.scope(AwardProposal).select()
        for c in conds:
            query = query.where(c)
        rows = await query.order_by(AwardProposal.awarded_on, ascending=False).order_by(AwardProposal.id)
        total = len(rows)
    else:
        rows, total = await ctx.scope(AwardProposal).page(*conds, order_by=(AwardProposal.awarded_on,),
                                                          descending=True, limit=limit, offset=offset)
    by_id = {f["id"]: f for f in await forms(ctx)}
    out = []
    for r in rows:
        form = by_id.get(r["form_id"], {"code": "", "name": "", "level": ""})
        out.append(to_struct({**r, "proposal_id": r["id"], "year": r["awarded_year"], "form_code": form["code"],
                              "form_name": form["name"], "level": form["level"]}, HistoryRow))
    return out, total


async def history_facts(ctx: TenantContext, agencies: Sequence[Any], people: Sequence[Any], on: date) -> list[Any]:
    """`awards.history` of each agency (its collective awards) and person, up to `on`: two queries in all."""
    from core.contracts import Fact

    agencies = [a for a in agencies if isinstance(a, uuid.UUID)]
    people = [p for p in people if isinstance(p, uuid.UUID)]
    if not agencies and not people:
        return []
    cond = AwardProposal.locked == True  # noqa: E712
    who = None
    if agencies:
        who = (AwardProposal.subject == "collective") & AwardProposal.agency_id.is_in(agencies)
    if people:
        by_person = (AwardProposal.subject == "individual") & AwardProposal.person_id.is_in(people)
        who = by_person if who is None else (who | by_person)
    rows = await ctx.scope(AwardProposal).select(
        AwardProposal.subject, AwardProposal.agency_id, AwardProposal.person_id, AwardProposal.form_id,
        AwardProposal.awarded_year, AwardProposal.awarded_on, AwardProposal.decision_number).where(
        cond & who & (AwardProposal.awarded_on <= on)).order_by(AwardProposal.awarded_on)
    by_form = {f["id"]: f for f in await ctx.scope(AwardForm).select(AwardForm.id, AwardForm.code, AwardForm.name,
                                                                      AwardForm.level)}
    found: dict[tuple[str, uuid.UUID], list[dict[str, Any]]] = {}
    names: dict[str, str] = {}
    for r in rows:
        form = by_form.get(r["form_id"], {"code": "", "name": "", "level": ""})
        names[form["code"]] = form["name"]
        key = ("agency", r["agency_id"]) if r["subject"] == "collective" else ("person", r["person_id"])
        found.setdefault(key, []).append({"year": r["awarded_year"], "form": form["code"], "level": form["level"],
                                          "decision": r["decision_number"]})
    out = []
    for kind, ids in (("agency", agencies), ("person", people)):
        for sid in ids:
            items = found.get((kind, sid), [])
            if items:
                text = "Đã được khen thưởng: " + "; ".join(
                    f"{names.get(i['form'], i['form'])} năm {i['year']} (QĐ {i['decision']})" for i in items)
            else:
                text = "Chưa có khen thưởng nào được ghi nhận"
            out.append(Fact(subject=kind, subject_id=sid, name=f"{NAME}.history", value=items, explanation=text,
                            holds_on=on))
    return out
