"""Rules and queries of the training module: the catalogue, sessions and their states, invitations, registration,
attendance and scores. Certificates live in certificates.py, figures (facts, coverage, history) in reporting.py.

Every write goes through ctx.scope (tenant-scoped, audited). Writes that check a count before adding to it
(capacity, quota, certificate numbers) lock the session row first: SELECT ... FOR UPDATE on PostgreSQL, the
write lock taken up front by the transaction on SQLite.

Order of checks in a request: ids named in the path or body are resolved first (404 for another tenant's id,
whatever the state), then permissions on the agency (403), then the rules of the session's state (409/422).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any, Iterable, Sequence

import msgspec
from piccolo.query.functions.aggregate import Count

from core.agencies.tables import Agency
from core.db import is_sqlite, transaction
from core.errors import BadRequest, Conflict, Forbidden, NotFound, Unprocessable, is_unique_violation
from core.notifications.notify import notify
from core.people import services as people
from core.people.schemas import PersonCreate
from core.people.tables import Person
from core.schemas import to_struct
from core.tenancy.context import TenantContext, system_context
from core.text import fold, like_pattern
from plugins.training import NAME
from plugins.training.schemas import (
    KindCreate,
    KindRead,
    KindUpdate,
    NewPerson,
    SessionCreate,
    SessionRead,
    SessionUpdate,
)
from plugins.training.tables import (
    TrainingCertificate,
    TrainingInvitation,
    TrainingKind,
    TrainingRegistration,
    TrainingSession,
)

STATUSES = ("planned", "open", "held", "closed", "cancelled")
TRANSITIONS = {
    "planned": ("open", "cancelled"),
    "open": ("held", "cancelled"),
    "held": ("closed",),
    "closed": (),
    "cancelled": (),
}
STATUS_VI = {"planned": "dự kiến", "open": "đang nhận đăng ký", "held": "đã tổ chức", "closed": "đã kết thúc",
             "cancelled": "đã hủy"}
DEFAULT_PASS_SCORE = 5.0

# The province catalogue a new province starts with: the topics of seed 004 (Bắc Giang, 2021).
DEFAULT_KINDS: tuple[dict[str, Any], ...] = (
    {"code": "AWARENESS", "name": "Nhận thức chung về Hệ thống quản lý chất lượng theo TCVN ISO 9001:2015",
     "description": "Kiến thức cơ bản về HTQLCL cho cán bộ, công chức.", "attendance_threshold": 80,
     "has_exam": False, "gives_certificate": True, "validity_months": None, "internal_auditor": False},
    {"code": "INTERNAL_AUDITOR", "name": "Đánh giá viên nội bộ HTQLCL theo TCVN ISO 9001:2015",
     "description": "Công tác đánh giá nội bộ; chứng chỉ là điều kiện tham gia đoàn kiểm tra.",
     "attendance_threshold": 100, "has_exam": True, "pass_score": 5.0, "gives_certificate": True,
     "validity_months": 36, "internal_auditor": True},
    {"code": "MAINTAIN_IMPROVE", "name": "Duy trì, áp dụng và cải tiến Hệ thống quản lý chất lượng",
     "description": "Công tác duy trì, cải tiến HTQLCL theo TCVN ISO 9001:2015.", "attendance_threshold": 80,
     "has_exam": False, "gives_certificate": True, "validity_months": None, "internal_auditor": False},
    {"code": "TTHC_PROCEDURES", "name": "Xây dựng quy trình ISO cho thủ tục hành chính của đơn vị",
     "description": "Hướng dẫn xây dựng các quy trình tương ứng với hoạt động, thủ tục hành chính.",
     "attendance_threshold": 80, "has_exam": False, "gives_certificate": True, "validity_months": None,
     "internal_auditor": False},
    {"code": "COMMUNE_SCORING", "name": "Chấm điểm công tác xây dựng, áp dụng HTQLCL của UBND cấp xã",
     "description": "Chấm điểm công tác xây dựng, áp dụng HTQLCL cho cán bộ, công chức UBND cấp xã.",
     "attendance_threshold": 80, "has_exam": False, "gives_certificate": False, "validity_months": None,
     "internal_auditor": False},
)


def json_load(value: Any) -> Any:
    return msgspec.json.decode(value) if isinstance(value, (str, bytes)) else value


def json_dump(value: Any) -> str:
    return msgspec.json.encode(value).decode("utf-8")


def fmt(day: date | None) -> str:
    return day.strftime("%d/%m/%Y") if day else ""


def check_not_future(day: date, today: date, field: str) -> None:
    if day > today:
        raise Unprocessable(f"the date {day.isoformat()} is in the future", field=field)


# ------------------------------------------------------------------------------------------------ catalogue


def kind_key(tenant_id: uuid.UUID, code: str) -> str:
    return f"{tenant_id}:{code.lower()}"


async def ensure_catalogue(ctx: TenantContext) -> None:
    """Give a province the default catalogue the first time it is needed: when the module is enabled (a tenant
    event, delivered by the workers after the switch committed) or at the first read or write of the catalogue,
    whichever comes first. Written by the system (audited as such); idempotent and safe when concurrent."""
    if ctx.read_only or await ctx.scope(TrainingKind).count():
        return
    system = system_context(ctx.tenant, "training-catalogue")
    try:
        async with transaction():
            if await system.scope(TrainingKind).count():
                return
            for kind in DEFAULT_KINDS:
                await system.scope(TrainingKind).insert({
                    **kind, "code_key": kind_key(ctx.tenant.id, kind["code"]),
                    "name_folded": fold(kind["name"], 255)}, action="seed")
    except Exception as exc:
        if not is_unique_violation(exc):
            raise


async def list_kinds(ctx: TenantContext, active: bool | None = None) -> list[dict[str, Any]]:
    await ensure_catalogue(ctx)
    query = ctx.scope(TrainingKind).select().order_by(TrainingKind.code)
    if active is not None:
        query = query.where(TrainingKind.active == active)
    return await query


async def get_kind(ctx: TenantContext, kind_id: Any) -> dict[str, Any]:
    await ensure_catalogue(ctx)
    return await ctx.scope(TrainingKind).get(kind_id, label="training kind")


def _check_kind_rules(values: dict[str, Any]) -> None:
    if values.get("internal_auditor") and not values.get("gives_certificate"):
        raise Unprocessable("an internal-auditor kind must give a certificate", field="gives_certificate")
    if values.get("pass_score") is not None and not values.get("has_exam"):
        raise Unprocessable("a pass score needs a kind with an exam (has_exam)", field="pass_score")
    if values.get("validity_months") is not None and not values.get("gives_certificate"):
        raise Unprocessable("a validity needs a kind that gives a certificate", field="validity_months")


async def create_kind(ctx: TenantContext, data: KindCreate) -> dict[str, Any]:
    await ensure_catalogue(ctx)
    values = msgspec.structs.asdict(data)
    values["name"] = values["name"].strip()
    _check_kind_rules(values)
    key = kind_key(ctx.tenant.id, data.code)
    if await ctx.scope(TrainingKind).select(TrainingKind.id).where(TrainingKind.code_key == key).first():
        raise Conflict(f"the catalogue already has a kind with code {data.code!r}", field="code")
    try:
        return await ctx.scope(TrainingKind).insert({**values, "code_key": key,
                                                     "name_folded": fold(values["name"], 255)})
    except Exception as exc:
        if is_unique_violation(exc):
            raise Conflict(f"the catalogue already has a kind with code {data.code!r}", field="code") from exc
        raise


async def update_kind(ctx: TenantContext, kind_id: Any, data: KindUpdate) -> dict[str, Any]:
    current = await get_kind(ctx, kind_id)
    changes = {k: v for k, v in msgspec.structs.asdict(data).items() if v is not msgspec.UNSET}
    if "name" in changes:
        changes["name"] = changes["name"].strip()
        changes["name_folded"] = fold(changes["name"], 255)
    _check_kind_rules({**current, **changes})
    if not changes:
        return current
    return await ctx.scope(TrainingKind).update(current["id"], changes)


def kind_read(row: dict[str, Any]) -> KindRead:
    return to_struct(row, KindRead)


# ------------------------------------------------------------------------------------------------ sessions


def session_days(session: dict[str, Any]) -> int:
    return (session["ends_on"] - session["starts_on"]).days + 1


async def get_session(ctx: TenantContext, session_id: Any) -> dict[str, Any]:
    row = await ctx.scope(TrainingSession).find(session_id)
    if row is None:
        raise NotFound(f"training session {session_id} not found")
    return {**row, "locality_ids": _uuids(row["locality_ids"]), "trainer_ids": _uuids(row["trainer_ids"])}


def _uuids(value: Any) -> list[uuid.UUID]:
    return [uuid.UUID(str(v)) for v in (json_load(value) or [])]


async def _lock_session(ctx: TenantContext, session_id: uuid.UUID) -> dict[str, Any]:
    query = ctx.scope(TrainingSession).select().where(TrainingSession.id == session_id)
    if not is_sqlite():
        query = query.lock_rows("UPDATE")
    row = await query.first()
    if row is None:
        raise NotFound(f"training session {session_id} not found")
    return {**row, "locality_ids": _uuids(row["locality_ids"]), "trainer_ids": _uuids(row["trainer_ids"])}


async def _check_people(ctx: TenantContext, ids: Sequence[uuid.UUID], field: str) -> list[uuid.UUID]:
    unique = list(dict.fromkeys(ids))
    if not unique:
        return []
    found = {r["id"] for r in await ctx.scope(Person).select(Person.id).where(Person.id.is_in(unique))}
    for pid in unique:
        if pid not in found:
            raise NotFound(f"person {pid} not found", field=field)
    return unique


async def _check_locality(ctx: TenantContext, ids: Sequence[uuid.UUID]) -> list[uuid.UUID]:
    """A district, or a set of communes: every id an agency of this tenant (404 otherwise)."""
    unique = list(dict.fromkeys(ids))
    if not unique:
        return []
    rows = {r["id"]: r for r in await ctx.scope(Agency).select(Agency.id, Agency.level)
            .where(Agency.id.is_in(unique))}
    for aid in unique:
        if aid not in rows:
            raise NotFound(f"agency {aid} not found", field="locality_ids")
    levels = {rows[a]["level"] for a in unique}
    if levels == {"district"} and len(unique) == 1:
        return unique
    if levels == {"commune"}:
        return unique
    raise Unprocessable("the locality is one district or a set of communes", field="locality_ids")


def _check_dates(starts_on: date, ends_on: date, closes_on: date | None) -> None:
    if ends_on < starts_on:
        raise Unprocessable("the session cannot end before it starts", field="ends_on")
    if (ends_on - starts_on).days > 366:
        raise Unprocessable("a session lasts at most a year", field="ends_on")
    if closes_on is not None and closes_on > ends_on:
        raise Unprocessable("registration must close by the last day of the session",
                            field="registration_closes_on")


async def create_session(ctx: TenantContext, data: SessionCreate) -> dict[str, Any]:
    kind = await get_kind(ctx, data.kind_id)
    if data.organiser_agency_id is not None:
        await ctx.ensure_agency(data.organiser_agency_id)
    locality = await _check_locality(ctx, data.locality_ids)
    trainers = await _check_people(ctx, data.trainer_ids, "trainer_ids")
    if not kind["active"]:
        raise Conflict(f"the kind {kind['code']} is no longer offered", field="kind_id")
    ends_on = data.ends_on or data.starts_on
    _check_dates(data.starts_on, ends_on, data.registration_closes_on)
    row = await ctx.scope(TrainingSession).insert({
        "kind_id": kind["id"], "title": data.title.strip(), "title_folded": fold(data.title, 500),
        "starts_on": data.starts_on, "ends_on": ends_on, "year": data.starts_on.year, "place": data.place.strip(),
        "locality_ids": json_dump([str(a) for a in locality]), "locality_label": data.locality_label.strip(),
        "organiser_agency_id": data.organiser_agency_id, "organiser": data.organiser.strip(),
        "trainer_ids": json_dump([str(p) for p in trainers]), "capacity": data.capacity,
        "registration_closes_on": data.registration_closes_on, "status": "planned",
        "status_changed_on": date.today(),
    })
    return await get_session(ctx, row["id"])


async def registered_count(ctx: TenantContext, session_id: uuid.UUID) -> int:
    return await ctx.scope(TrainingRegistration).count().where(
        (TrainingRegistration.session_id == session_id) & (TrainingRegistration.status == "registered"))


async def session_reads(ctx: TenantContext, rows: Sequence[dict[str, Any]]) -> list[SessionRead]:
    ids = [r["id"] for r in rows]
    counts: dict[uuid.UUID, int] = {}
    certs: dict[uuid.UUID, int] = {}
    kinds = {k["id"]: k for k in await ctx.scope(TrainingKind).select(
        TrainingKind.id, TrainingKind.code, TrainingKind.name)}
    if ids:
        for r in await ctx.scope(TrainingRegistration).select(
                TrainingRegistration.session_id, Count(alias="n")).where(
                TrainingRegistration.session_id.is_in(ids) & (TrainingRegistration.status == "registered")
        ).group_by(TrainingRegistration.session_id):
            counts[r["session_id"]] = r["n"]
        for r in await ctx.scope(TrainingCertificate).select(
                TrainingCertificate.session_id, Count(alias="n")).where(
                TrainingCertificate.session_id.is_in(ids)).group_by(TrainingCertificate.session_id):
            certs[r["session_id"]] = r["n"]
    result = []
    today = date.today()
    for r in rows:
        kind = kinds.get(r["kind_id"], {"code": "", "name": ""})
        result.append(to_struct({
            **r, "locality_ids": _uuids(r["locality_ids"]), "trainer_ids": _uuids(r["trainer_ids"]),
            "kind_code": kind["code"], "kind_name": kind["name"], "days": session_days(r),
            "registered": counts.get(r["id"], 0), "certificates_issued": certs.get(r["id"], 0),
            "registration_open": r["status"] == "open" and counts.get(r["id"], 0) < r["capacity"]
            and today <= r["ends_on"] and (r["registration_closes_on"] is None or today <= r["registration_closes_on"]),
        }, SessionRead))
    return result


async def session_read(ctx: TenantContext, row: dict[str, Any]) -> SessionRead:
    return (await session_reads(ctx, [row]))[0]


async def list_sessions(ctx: TenantContext, *, status: Sequence[str] | None, kind_id: uuid.UUID | None,
                        year: int | None, agency_id: uuid.UUID | None, q: str | None, limit: int, offset: int
                        ) -> tuple[list[SessionRead], int]:
    conds = []
    if status:
        conds.append(TrainingSession.status.is_in(list(status)))
    if kind_id is not None:
        conds.append(TrainingSession.kind_id == kind_id)
    if year is not None:
        conds.append(TrainingSession.year == year)
    if q and q.strip():
        conds.append(TrainingSession.title_folded.like(like_pattern(q)))
    if agency_id is not None:  # sessions serving this agency's locality (the agency or a commune under it)
        await ctx.ensure_agency(agency_id)
        subtree = await ctx.agency_subtree(agency_id)
        rows = await ctx.scope(TrainingSession).select(TrainingSession.id, TrainingSession.locality_ids)
        chosen = [r["id"] for r in rows if set(_uuids(r["locality_ids"])) & subtree]
        conds.append(TrainingSession.id.is_in(chosen or [uuid.UUID(int=0)]))
    rows, total = await ctx.scope(TrainingSession).page(
        *conds, order_by=(TrainingSession.starts_on,), descending=True, limit=limit, offset=offset)
    return await session_reads(ctx, rows), total


DATE_FIELDS = ("starts_on", "ends_on", "place")


async def update_session(ctx: TenantContext, session_id: Any, data: SessionUpdate) -> tuple[dict[str, Any], int]:
    """Change a planned or open session; those registered are told when its days or place change."""
    changes = {k: v for k, v in msgspec.structs.asdict(data).items() if v is not msgspec.UNSET}
    current = await get_session(ctx, session_id)
    if changes.get("organiser_agency_id") is not None:
        await ctx.ensure_agency(changes["organiser_agency_id"])
    if "locality_ids" in changes:
        changes["locality_ids"] = json_dump([str(a) for a in await _check_locality(ctx, changes["locality_ids"])])
    if "trainer_ids" in changes:
        changes["trainer_ids"] = json_dump(
            [str(p) for p in await _check_people(ctx, changes["trainer_ids"], "trainer_ids")])
    for name in ("title", "place", "locality_label", "organiser"):
        if name in changes:
            changes[name] = changes[name].strip()
    if "title" in changes:
        changes["title_folded"] = fold(changes["title"], 500)
    notified = 0
    async with transaction():
        current = await _lock_session(ctx, current["id"])
        if current["status"] not in ("planned", "open"):
            raise Conflict(f"a session that is {current['status']} cannot be changed", field="status")
        starts = changes.get("starts_on", current["starts_on"])
        ends = changes.get("ends_on", current["ends_on"])
        if "starts_on" in changes and "ends_on" not in changes and ends < starts:
            ends = changes["ends_on"] = starts + (current["ends_on"] - current["starts_on"])
        _check_dates(starts, ends, changes.get("registration_closes_on", current["registration_closes_on"]))
        changes["year"] = starts.year
        if "capacity" in changes:
            taken = await registered_count(ctx, current["id"])
            if changes["capacity"] < taken:
                raise Conflict(f"{taken} people are registered: the capacity cannot be below that",
                               field="capacity")
        row = await ctx.scope(TrainingSession).update(current["id"], changes)
        moved = any(name in changes and changes[name] != current[name] for name in DATE_FIELDS)
        if moved:
            notified = await _notify_registered(
                ctx, row, kind="session_changed",
                body=f"Thời gian: {fmt(row['starts_on'])} - {fmt(row['ends_on'])}; địa điểm: {row['place'] or '-'}.",
                dedup=f"{NAME}:changed:{row['id']}:{row['updated_at'].isoformat()}")
    return await get_session(ctx, current["id"]), notified


async def registrations_of(ctx: TenantContext, session_id: uuid.UUID, *, active_only: bool = True
                           ) -> list[dict[str, Any]]:
    query = ctx.scope(TrainingRegistration).select().where(TrainingRegistration.session_id == session_id)
    if active_only:
        query = query.where(TrainingRegistration.status == "registered")
    rows = await query.order_by(TrainingRegistration.full_name)
    return [{**r, "attended_days": [date.fromisoformat(d) for d in json_load(r["attended_days"]) or []]}
            for r in rows]


async def _recipients(ctx: TenantContext, person_ids: Iterable[uuid.UUID]) -> tuple[list[uuid.UUID], set[uuid.UUID]]:
    """The user accounts linked to these people, and their agencies (whose officers are told too)."""
    ids = list(dict.fromkeys(person_ids))
    if not ids:
        return [], set()
    rows = await ctx.scope(Person).select(Person.id, Person.user_id, Person.agency_id).where(Person.id.is_in(ids))
    return [r["user_id"] for r in rows if r["user_id"]], {r["agency_id"] for r in rows if r["agency_id"]}


async def _notify_registered(ctx: TenantContext, session: dict[str, Any], *, kind: str, body: str, dedup: str,
                             include_trainers: bool = True) -> int:
    """Tell the registered people (their linked accounts, and their agencies' officers) and the trainers."""
    regs = await registrations_of(ctx, session["id"])
    people = [r["person_id"] for r in regs] + (_uuids(session["trainer_ids"]) if include_trainers else [])
    users, agencies = await _recipients(ctx, people)
    data = {"title": session["title"], "starts_on": fmt(session["starts_on"]), "reason": session.get("status_reason") or ""}
    link = f"{NAME}/sessions/{session['id']}"
    sent = 0
    if users:
        await notify(ctx, kind=f"{NAME}.{kind}", data=data, body=body, recipients=users, link=link,
                     dedup_key=f"{dedup}:users")
        sent += 1
    for agency_id in sorted(agencies, key=str):
        await notify(ctx, kind=f"{NAME}.{kind}", data=data, body=body, recipients=["agency_officer"],
                     agency_id=agency_id, link=link, dedup_key=f"{dedup}:{agency_id}")
        sent += 1
    return sent


@dataclass
class TransitionDone:
    session: dict[str, Any]
    certificates_issued: int
    notified: int


async def transition(ctx: TenantContext, session_id: Any, to: str, reason: str | None, on: date | None,
                     today: date | None = None) -> TransitionDone:
    from plugins.training import certificates

    today = today or date.today()
    session = await get_session(ctx, session_id)
    day = on or today
    check_not_future(day, today, "on")
    counter = None
    if to == "closed":
        counter = await certificates.ensure_counter(ctx, day.year)  # its own transaction: before the lock
    issued = notified = 0
    async with transaction():
        session = await _lock_session(ctx, session["id"])
        current = session["status"]
        if to == current:
            raise Conflict(f"the session is already {current}", field="to")
        if to not in TRANSITIONS[current]:
            allowed = ", ".join(TRANSITIONS[current]) or "nothing"
            raise Conflict(f"a {current} session can move to {allowed}, not {to}", field="to")
        if to == "cancelled" and not (reason and reason.strip()):
            raise Unprocessable("say why the session is cancelled", field="reason")
        changes: dict[str, Any] = {"status": to, "status_changed_on": day}
        if to == "held":
            if day < session["starts_on"]:
                raise Conflict(f"the session starts on {session['starts_on'].isoformat()}: it cannot be held "
                               "before", field="on")
            changes["held_on"] = day
        if to == "closed":
            if day < session["ends_on"]:
                raise Conflict(f"the session ends on {session['ends_on'].isoformat()}: it cannot be closed before",
                               field="on")
            changes["closed_on"] = day
        if to == "cancelled":
            changes["status_reason"] = reason.strip() if reason else None
        row = await ctx.scope(TrainingSession).update(session["id"], changes, action=f"transition:{to}")
        if to == "closed":
            assert counter is not None
            issued = await certificates.issue_for_session(ctx, row, day, counter)
        if to == "cancelled":
            notified = await _notify_registered(ctx, row, kind="session_cancelled",
                                                body=f"Lý do: {row['status_reason']}",
                                                dedup=f"{NAME}:cancelled:{row['id']}")
        if to == "open":
            notified = await _notify_invited(ctx, row)
    return TransitionDone(await get_session(ctx, session["id"]), issued, notified)


# ------------------------------------------------------------------------------------------------ invitations


async def _notify_invited(ctx: TenantContext, session: dict[str, Any]) -> int:
    invitations = await ctx.scope(TrainingInvitation).select().where(
        (TrainingInvitation.session_id == session["id"]) & (TrainingInvitation.quota > 0))
    for inv in invitations:
        await _notify_invitation(ctx, session, inv)
    return len(invitations)


async def _notify_invitation(ctx: TenantContext, session: dict[str, Any], inv: dict[str, Any]) -> None:
    await notify(ctx, kind=f"{NAME}.invited",
                 data={"title": session["title"], "quota": inv["quota"], "starts_on": fmt(session["starts_on"])},
                 body=f"Địa điểm: {session['place'] or '-'}; đăng ký đến ngày "
                      f"{fmt(session['registration_closes_on'] or session['starts_on'])}.",
                 recipients=["agency_officer"], agency_id=inv["agency_id"], link=f"{NAME}/sessions/{session['id']}",
                 dedup_key=f"{NAME}:invited:{inv['id']}:{inv['quota']}:{session['status']}")


async def invitations_of(ctx: TenantContext, session_id: uuid.UUID) -> list[dict[str, Any]]:
    return await ctx.scope(TrainingInvitation).select().where(TrainingInvitation.session_id == session_id) \
        .order_by(TrainingInvitation.created_at)


async def _registered_by_agency(ctx: TenantContext, session_id: uuid.UUID) -> dict[uuid.UUID | None, int]:
    counts: dict[uuid.UUID | None, int] = {}
    for r in await ctx.scope(TrainingRegistration).select(TrainingRegistration.agency_id).where(
            (TrainingRegistration.session_id == session_id) & (TrainingRegistration.status == "registered")):
        counts[r["agency_id"]] = counts.get(r["agency_id"], 0) + 1
    return counts


async def _quota_holder(ctx: TenantContext, invitations: Sequence[dict[str, Any]], agency_id: uuid.UUID | None
                        ) -> dict[str, Any] | None:
    """The invitation covering an agency: its own, or that of the nearest invited parent (a district invited
    sends its communes' staff)."""
    if agency_id is None:
        return None
    by_agency = {i["agency_id"]: i for i in invitations if i["quota"] > 0}
    if agency_id in by_agency:
        return by_agency[agency_id]
    holders = [i for aid, i in by_agency.items() if agency_id in await ctx.agency_subtree(aid)]
    return holders[0] if holders else None


async def _used_quota(ctx: TenantContext, session_id: uuid.UUID, invitations: Sequence[dict[str, Any]],
                      holder: dict[str, Any]) -> int:
    used = 0
    for agency_id, n in (await _registered_by_agency(ctx, session_id)).items():
        if agency_id is not None and (await _quota_holder(ctx, invitations, agency_id) or {}).get("id") == holder["id"]:
            used += n
    return used


async def invite(ctx: TenantContext, session_id: Any, agency_id: uuid.UUID, quota: int,
                 today: date | None = None) -> dict[str, Any]:
    today = today or date.today()
    session = await get_session(ctx, session_id)
    agency = await ctx.ensure_agency(agency_id)
    async with transaction():
        session = await _lock_session(ctx, session["id"])
        if session["status"] not in ("planned", "open"):
            raise Conflict(f"a session that is {session['status']} takes no invitations", field="agency_id")
        key = f"{session['id']}:{agency['id']}"
        existing = await ctx.scope(TrainingInvitation).select().where(TrainingInvitation.key == key).first()
        if existing is not None:
            invitations = await invitations_of(ctx, session["id"])
            used = await _used_quota(ctx, session["id"], invitations, existing)
            if quota < used:
                raise Conflict(f"{agency['name']} already registered {used} people: the quota cannot be below that",
                               field="quota")
            row = await ctx.scope(TrainingInvitation).update(existing["id"], {"quota": quota})
        else:
            row = await ctx.scope(TrainingInvitation).insert({
                "session_id": session["id"], "agency_id": agency["id"], "key": key, "quota": quota,
                "invited_on": today})
        if quota > 0 and session["status"] == "open":
            await _notify_invitation(ctx, session, row)
    return row


async def invitation_reads(ctx: TenantContext, session_id: uuid.UUID) -> list[dict[str, Any]]:
    invitations = await invitations_of(ctx, session_id)
    names = {a["id"]: a["name"] for a in await ctx.scope(Agency).select(Agency.id, Agency.name).where(
        Agency.id.is_in([i["agency_id"] for i in invitations] or [uuid.UUID(int=0)]))}
    result = []
    for inv in invitations:
        result.append({**inv, "agency_name": names.get(inv["agency_id"], ""),
                       "registered": await _used_quota(ctx, session_id, invitations, inv) if inv["quota"] else 0})
    return result


# ------------------------------------------------------------------------------------------------ people


PERSON_NAME_MAX = Person.full_name_folded.length


async def add_person(ctx: TenantContext, data: NewPerson) -> dict[str, Any]:
    """Add a person to the province's directory through the people directory's own service (its rules: an agency
    of the tenant, an agency officer only for its own agency and sub-units, one open person per email), refusing
    also a second open person of the same (accent-folded) name in the same agency: that one is not missing."""
    agency = await ctx.ensure_agency(data.agency_id, write=True)
    name = " ".join(data.full_name.split())
    if not name:
        raise BadRequest("full_name is empty", field="full_name")
    folded = fold(name, PERSON_NAME_MAX)
    same = await ctx.scope(Person).select(Person.id).where(
        (Person.agency_id == agency["id"]) & (Person.full_name_folded == folded) & Person.closed_on.is_null()).first()
    if same is not None:
        raise Conflict(f"{name} is already in the directory for {agency['name']} (id {same['id']})",
                       field="full_name", person_id=str(same["id"]))
    return await people.create(ctx, PersonCreate(full_name=name, agency_id=agency["id"],
                                                  position=data.position.strip(), email=data.email,
                                                  phone=data.phone.strip() if data.phone else None))


# ------------------------------------------------------------------------------------------------ registration


@dataclass
class RegistrationCheck:
    session: dict[str, Any]
    invitations: list[dict[str, Any]]


async def check_can_register(ctx: TenantContext, session: dict[str, Any], person: dict[str, Any], today: date,
                             *, extra: dict[uuid.UUID | None, int] | None = None, extra_total: int = 0) -> None:
    """Every rule a registration must meet, inside the session's lock. `extra`/`extra_total`: rows of the same
    import already accepted (by agency, in all) that are not written yet."""
    if session["status"] != "open":
        raise Conflict(f"registration is not open: the session is {session['status']}", field="session")
    if session["registration_closes_on"] is not None and today > session["registration_closes_on"]:
        raise Conflict(f"registration closed on {fmt(session['registration_closes_on'])}", field="session")
    if today > session["ends_on"]:
        raise Conflict("the session is over", field="session")
    if person["closed_on"] is not None and person["closed_on"] <= today:
        raise Unprocessable(f"{person['full_name']} left the directory on {fmt(person['closed_on'])}",
                            field="person_id")
    taken = await registered_count(ctx, session["id"]) + extra_total
    if taken >= session["capacity"]:
        raise Conflict(f"the session is full ({session['capacity']} places)", field="session")
    invitations = [i for i in await invitations_of(ctx, session["id"]) if i["quota"] > 0]
    if invitations:
        holder = await _quota_holder(ctx, invitations, person["agency_id"])
        if holder is None:
            raise Conflict("the agency of this person is not invited to the session", field="person_id")
        used = await _used_quota(ctx, session["id"], invitations, holder)
        for agency_id, n in (extra or {}).items():
            if agency_id is not None and (await _quota_holder(ctx, invitations, agency_id) or {}).get("id") == holder["id"]:
                used += n
        if used >= holder["quota"]:
            raise Conflict(f"the invited agency may send {holder['quota']} people and has registered {used}",
                           field="person_id")


async def _check_officer(ctx: TenantContext, person: dict[str, Any]) -> None:
    allowed = await ctx.writable_agency_ids()
    if allowed is not None and person["agency_id"] not in allowed:
        raise Forbidden("an agency officer registers only the staff of its own agency and its sub-units",
                        field="person_id")


async def register(ctx: TenantContext, session_id: Any, person_id: uuid.UUID | None, new: NewPerson | None,
                   today: date | None = None, source: str = "manual") -> dict[str, Any]:
    today = today or date.today()
    session = await get_session(ctx, session_id)
    person = await ctx.scope(Person).get(person_id, label="person") if person_id is not None else None
    if new is not None:
        await ctx.ensure_agency(new.agency_id, write=True)
    if (person is None) == (new is None):
        raise BadRequest("give either person_id (someone in the directory) or person (to add)", field="person_id")
    async with transaction():
        session = await _lock_session(ctx, session["id"])
        if person is None:
            assert new is not None
            person = await add_person(ctx, new)
        await _check_officer(ctx, person)
        key = f"{session['id']}:{person['id']}"
        existing = await ctx.scope(TrainingRegistration).select().where(TrainingRegistration.key == key).first()
        if existing is not None and existing["status"] == "registered":
            raise Conflict(f"{person['full_name']} is already registered for this session", field="person_id")
        await check_can_register(ctx, session, person, today)
        values = {"agency_id": person["agency_id"], "full_name": person["full_name"],
                  "position": person["position"] or "", "status": "registered", "registered_on": today,
                  "source": source}
        if existing is not None:
            row = await ctx.scope(TrainingRegistration).update(existing["id"], values, action="reregister")
        else:
            row = await ctx.scope(TrainingRegistration).insert({**values, "session_id": session["id"],
                                                                "person_id": person["id"], "key": key})
        await notify_registered(ctx, session, row, person)
    return row


async def notify_registered(ctx: TenantContext, session: dict[str, Any], reg: dict[str, Any],
                            person: dict[str, Any]) -> None:
    data = {"name": reg["full_name"], "title": session["title"], "starts_on": fmt(session["starts_on"])}
    recipients: list[Any] = [person["user_id"]] if person.get("user_id") else []
    if person.get("agency_id"):
        recipients.append("agency_officer")
    if recipients:
        await notify(ctx, kind=f"{NAME}.registration_confirmed", data=data,
                     body=f"Địa điểm: {session['place'] or '-'}.", recipients=recipients,
                     agency_id=person.get("agency_id"), link=f"{NAME}/sessions/{session['id']}",
                     dedup_key=f"{NAME}:registered:{reg['id']}:{reg['updated_at'].isoformat()}")


async def withdraw(ctx: TenantContext, registration_id: Any) -> dict[str, Any]:
    reg = await ctx.scope(TrainingRegistration).get(registration_id, label="registration")
    person = {"agency_id": reg["agency_id"]}
    await _check_officer(ctx, person)
    async with transaction():
        session = await _lock_session(ctx, reg["session_id"])
        reg = await ctx.scope(TrainingRegistration).get(reg["id"], label="registration")
        if reg["status"] != "registered":
            raise Conflict("this registration is already withdrawn")
        if session["status"] not in ("planned", "open"):
            raise Conflict(f"the session is {session['status']}: registrations can no longer be withdrawn")
        return await ctx.scope(TrainingRegistration).update(reg["id"], {"status": "withdrawn"}, action="withdraw")


# ------------------------------------------------------------------------------------------------ attendance and scores


def eligible(reg: dict[str, Any], session: dict[str, Any], kind: dict[str, Any]) -> bool:
    """Met the kind's attendance threshold (percent of the session's days) and, where there is an exam, passed."""
    if reg["status"] != "registered":
        return False
    if reg["attended_count"] * 100 < kind["attendance_threshold"] * session_days(session):
        return False
    if kind["has_exam"]:
        pass_score = kind["pass_score"] if kind["pass_score"] is not None else DEFAULT_PASS_SCORE
        return reg["score"] is not None and reg["score"] >= pass_score
    return True


async def _held_session(ctx: TenantContext, session_id: Any) -> dict[str, Any]:
    session = await _lock_session(ctx, session_id)
    if session["status"] != "held":
        raise Conflict(f"attendance and scores are recorded while the session is held (it is {session['status']})",
                       field="session")
    return session


async def record_attendance(ctx: TenantContext, session_id: Any, day: date, present: Sequence[uuid.UUID],
                            today: date | None = None) -> list[dict[str, Any]]:
    today = today or date.today()
    session = await get_session(ctx, session_id)
    regs = {r["id"]: r for r in await registrations_of(ctx, session["id"], active_only=False)}
    for rid in present:
        if rid not in regs:
            raise NotFound(f"registration {rid} is not one of this session", field="present")
    for rid in present:
        if regs[rid]["status"] != "registered":
            raise Conflict(f"{regs[rid]['full_name']} withdrew from this session", field="present")
    if not session["starts_on"] <= day <= session["ends_on"]:
        raise Unprocessable(f"the session runs from {session['starts_on'].isoformat()} to "
                            f"{session['ends_on'].isoformat()}", field="day")
    check_not_future(day, today, "day")
    wanted = set(present)
    async with transaction():
        await _held_session(ctx, session["id"])
        for reg in await registrations_of(ctx, session["id"]):
            days = set(reg["attended_days"])
            new = days | {day} if reg["id"] in wanted else days - {day}
            if new != days:
                ordered = sorted(new)
                await ctx.scope(TrainingRegistration).update(reg["id"], {
                    "attended_days": json_dump([d.isoformat() for d in ordered]), "attended_count": len(ordered)},
                    action="attendance")
    return await registrations_of(ctx, session["id"])


async def record_scores(ctx: TenantContext, session_id: Any, scores: Sequence[Any]) -> list[dict[str, Any]]:
    session = await get_session(ctx, session_id)
    regs = {r["id"]: r for r in await registrations_of(ctx, session["id"], active_only=False)}
    for item in scores:
        if item.registration_id not in regs:
            raise NotFound(f"registration {item.registration_id} is not one of this session",
                           field="scores.registration_id")
    kind = await get_kind(ctx, session["kind_id"])
    if not kind["has_exam"]:
        raise Conflict(f"the kind {kind['code']} has no exam", field="scores")
    async with transaction():
        await _held_session(ctx, session["id"])
        for item in scores:
            if regs[item.registration_id]["status"] != "registered":
                raise Conflict(f"{regs[item.registration_id]['full_name']} withdrew from this session",
                               field="scores.registration_id")
            if regs[item.registration_id]["score"] != item.score:
                await ctx.scope(TrainingRegistration).update(item.registration_id, {"score": item.score},
                                                             action="score")
    return await registrations_of(ctx, session["id"])


async def registration_reads(ctx: TenantContext, session: dict[str, Any], rows: Sequence[dict[str, Any]]
                             ) -> list[dict[str, Any]]:
    kind = await get_kind(ctx, session["kind_id"])
    judged = session["status"] in ("held", "closed")
    return [{**r, "attended_days": [d if isinstance(d, date) else date.fromisoformat(d)
                                    for d in (json_load(r["attended_days"]) if isinstance(r["attended_days"], str)
                                              else r["attended_days"])],
             "eligible": eligible(r, session, kind) if judged else None} for r in rows]
