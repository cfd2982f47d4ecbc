"""What the training module tells others: facts (batched), indicators (all tenants at once), reminders, evidence
checks, coverage of agencies, and the history of a person or an agency."""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import date, timedelta
from typing import Any, Iterable, Sequence

from core.agencies.tables import Agency
from core.contracts import AGENCY_LEVELS, Fact, Indicator, Reminder
from core.errors import Forbidden, NotFound
from core.people.tables import Person
from core.tenancy.context import TenantContext
from core.text import like_pattern
from plugins.training import NAME
from plugins.training.certificates import certificate_read, valid_on
from plugins.training.services import fmt
from plugins.training.tables import (
    TrainingCertificate,
    TrainingKind,
    TrainingRegistration,
    TrainingSession,
)

DONE = ("held", "closed")  # a session that took place
CERT_COLUMNS = (TrainingCertificate.id, TrainingCertificate.person_id, TrainingCertificate.agency_id,
                TrainingCertificate.number_text, TrainingCertificate.issued_on, TrainingCertificate.expires_on,
                TrainingCertificate.revoked_on, TrainingCertificate.status)


# ------------------------------------------------------------------------------------------------ facts


def _auditor_fact(person_id: uuid.UUID, certs: Sequence[dict[str, Any]], on: date) -> Fact:
    valid = [c for c in certs if valid_on(c, on)]
    name = f"{NAME}.valid_internal_auditor"
    if valid:
        best = max(valid, key=lambda c: (c["expires_on"] or date.max, c["issued_on"]))
        until = f", còn hiệu lực đến ngày {fmt(best['expires_on'])}" if best["expires_on"] else ", không thời hạn"
        return Fact(subject="person", subject_id=person_id, name=name, value=True, holds_on=best["issued_on"],
                    explanation=f"Có chứng chỉ đánh giá viên nội bộ số {best['number_text']} cấp ngày "
                                f"{fmt(best['issued_on'])}{until}",
                    data={"certificate_id": str(best["id"]), "certificate_number": best["number_text"],
                          "issued_on": best["issued_on"].isoformat(),
                          "expires_on": best["expires_on"].isoformat() if best["expires_on"] else None})
    past = [c for c in certs if c["issued_on"] <= on]
    if not past:
        return Fact(subject="person", subject_id=person_id, name=name, value=False,
                    explanation=f"Chưa có chứng chỉ đánh giá viên nội bộ (tính đến ngày {fmt(on)})", data={})
    last = max(past, key=lambda c: c["issued_on"])
    if last["revoked_on"] is not None and last["revoked_on"] <= on:
        why = f"chứng chỉ số {last['number_text']} đã bị thu hồi ngày {fmt(last['revoked_on'])}"
    else:
        why = f"chứng chỉ số {last['number_text']} đã hết hạn ngày {fmt(last['expires_on'])}"
    return Fact(subject="person", subject_id=person_id, name=name, value=False, holds_on=last["issued_on"],
                explanation=f"Không có chứng chỉ đánh giá viên nội bộ còn hiệu lực ngày {fmt(on)}: {why}",
                data={"certificate_id": str(last["id"]), "certificate_number": last["number_text"],
                      "expires_on": last["expires_on"].isoformat() if last["expires_on"] else None,
                      "revoked_on": last["revoked_on"].isoformat() if last["revoked_on"] else None})


async def facts(ctx: TenantContext, agencies: Sequence[uuid.UUID], people: Sequence[uuid.UUID], on: date
                ) -> list[Fact]:
    """Per person: `training.valid_internal_auditor`. Per agency: `training.trained_staff` (people of the agency
    who attended a session held in `on`'s year, up to `on`) and `training.has_internal_auditor` (a person now in
    the agency holds an internal-auditor certificate valid on `on`). A few queries for any number of subjects."""
    found: list[Fact] = []
    people = list(dict.fromkeys(people or []))
    agencies = list(dict.fromkeys(agencies or []))
    if people:
        by_person: dict[uuid.UUID, list[dict[str, Any]]] = defaultdict(list)
        for c in await ctx.scope(TrainingCertificate).select(*CERT_COLUMNS).where(
                TrainingCertificate.person_id.is_in(people) & (TrainingCertificate.internal_auditor == True)  # noqa: E712
                & (TrainingCertificate.issued_on <= on)):
            by_person[c["person_id"]].append(c)
        found += [_auditor_fact(pid, by_person.get(pid, []), on) for pid in people]
    if agencies:
        sessions = [s["id"] for s in await ctx.scope(TrainingSession).select(TrainingSession.id).where(
            (TrainingSession.year == on.year) & TrainingSession.status.is_in(list(DONE))
            & (TrainingSession.starts_on <= on))]
        trained: dict[uuid.UUID, set[uuid.UUID]] = defaultdict(set)
        if sessions:
            for r in await ctx.scope(TrainingRegistration).select(
                    TrainingRegistration.agency_id, TrainingRegistration.person_id).where(
                    TrainingRegistration.session_id.is_in(sessions) & TrainingRegistration.agency_id.is_in(agencies)
                    & (TrainingRegistration.status == "registered") & (TrainingRegistration.attended_count > 0)):
                trained[r["agency_id"]].add(r["person_id"])
        staff = {p["id"]: p["agency_id"] for p in await ctx.scope(Person).select(Person.id, Person.agency_id).where(
            Person.agency_id.is_in(agencies) & (Person.closed_on.is_null() | (Person.closed_on > on)))}
        holders: dict[uuid.UUID, list[dict[str, Any]]] = defaultdict(list)
        if staff:
            for c in await ctx.scope(TrainingCertificate).select(*CERT_COLUMNS).where(
                    TrainingCertificate.person_id.is_in(list(staff))
                    & (TrainingCertificate.internal_auditor == True)  # noqa: E712
                    & (TrainingCertificate.issued_on <= on)):
                if valid_on(c, on):
                    holders[staff[c["person_id"]]].append(c)
        for aid in agencies:
            n = len(trained.get(aid, ()))
            found.append(Fact(subject="agency", subject_id=aid, name=f"{NAME}.trained_staff", value=n,
                              holds_on=on, explanation=f"{n} cán bộ được tập huấn về HTQLCL trong năm {on.year}",
                              data={"year": on.year}))
            certs = holders.get(aid, [])
            if certs:
                numbers = sorted(c["number_text"] for c in certs)
                text = f"Có {len(certs)} đánh giá viên nội bộ còn hiệu lực ngày {fmt(on)} ({', '.join(numbers[:5])})"
            else:
                text = f"Không có đánh giá viên nội bộ nào có chứng chỉ còn hiệu lực ngày {fmt(on)}"
            found.append(Fact(subject="agency", subject_id=aid, name=f"{NAME}.has_internal_auditor",
                              value=bool(certs), holds_on=on, explanation=text,
                              data={"count": len(certs), "certificate_numbers": sorted(c["number_text"] for c in certs)}))
    return found


# ------------------------------------------------------------------------------------------------ indicators


def reference_day(year: int, today: date | None = None) -> date:
    today = today or date.today()
    return min(date(year, 12, 31), today) if year >= today.year else date(year, 12, 31)


def _by_level(levels: Iterable[str]) -> dict[str, int]:
    counts = {lvl: 0 for lvl in AGENCY_LEVELS}
    for lvl in levels:
        if lvl in counts:
            counts[lvl] += 1
    return counts


async def indicators(reader: Any, tenants: Sequence[Any], year: int, today: date | None = None) -> list[Indicator]:
    """Figures of every tenant for `year` in three queries for all of them: sessions held, participants, agencies
    trained and agencies with a valid internal auditor at the end of the year (by level, agencies active that
    year, the holder's agency when the certificate was issued), certificates issued. The agency of a registration
    or certificate is joined in its query (level, validity): no agency is read that no row names, and each row is
    visited once, whatever the number of tenants."""
    day = reference_day(year, today)
    first, last = date(year, 1, 1), date(year, 12, 31)
    held: dict[Any, int] = defaultdict(int)
    people: dict[Any, set[uuid.UUID]] = defaultdict(set)
    trained: dict[Any, dict[uuid.UUID, str]] = defaultdict(dict)
    with_ia: dict[Any, dict[uuid.UUID, str]] = defaultdict(dict)
    issued: dict[Any, int] = defaultdict(int)

    def open_in_year(row: dict[str, Any], agency: str) -> bool:
        valid_from, valid_to = row[f"{agency}.valid_from"], row[f"{agency}.valid_to"]
        return valid_from is not None and valid_from <= last and (valid_to is None or valid_to >= first)

    sessions = await reader.scope(TrainingSession).select(TrainingSession.id, TrainingSession.tenant_id).where(
        (TrainingSession.year == year) & TrainingSession.status.is_in(list(DONE)))
    for s in sessions:
        held[s["tenant_id"]] += 1
    if sessions:
        agency = TrainingRegistration.agency_id.join_on(Agency.id)
        for r in await reader.scope(TrainingRegistration).select(
                TrainingRegistration.tenant_id, TrainingRegistration.person_id, TrainingRegistration.agency_id,
                agency.level, agency.valid_from, agency.valid_to).where(
                TrainingRegistration.session_id.is_in([s["id"] for s in sessions])
                & (TrainingRegistration.status == "registered") & (TrainingRegistration.attended_count > 0)):
            people[r["tenant_id"]].add(r["person_id"])
            if open_in_year(r, "agency_id"):
                trained[r["tenant_id"]][r["agency_id"]] = r["agency_id.level"]
    agency = TrainingCertificate.agency_id.join_on(Agency.id)
    for c in await reader.scope(TrainingCertificate).select(
            TrainingCertificate.tenant_id, TrainingCertificate.year, TrainingCertificate.agency_id,
            TrainingCertificate.internal_auditor, TrainingCertificate.issued_on, TrainingCertificate.expires_on,
            TrainingCertificate.revoked_on, agency.level, agency.valid_from, agency.valid_to).where(
            (TrainingCertificate.year == year) | ((TrainingCertificate.internal_auditor == True)  # noqa: E712
                                                  & (TrainingCertificate.issued_on <= day))):
        if c["year"] == year:
            issued[c["tenant_id"]] += 1
        if c["internal_auditor"] and valid_on(c, day) and open_in_year(c, "agency_id"):
            with_ia[c["tenant_id"]][c["agency_id"]] = c["agency_id.level"]
    out: list[Indicator] = []
    for t in (t.id for t in tenants):
        values = [
            ("sessions_held", held[t], "Số lớp tập huấn đã tổ chức", "Training sessions held", "session", {}),
            ("participants", len(people[t]), "Số lượt cán bộ được tập huấn", "People trained", "person", {}),
            ("agencies_trained", len(trained[t]), "Số cơ quan có cán bộ được tập huấn", "Agencies with staff trained",
             "agency", _by_level(trained[t].values())),
            ("agencies_with_internal_auditor", len(with_ia[t]), "Số cơ quan có đánh giá viên nội bộ còn hiệu lực",
             "Agencies with a valid internal auditor", "agency", _by_level(with_ia[t].values())),
            ("certificates_issued", issued[t], "Số giấy chứng nhận đã cấp", "Certificates issued", "certificate", {}),
        ]
        out += [Indicator(module=NAME, name=name, value=value, label_vi=vi, label_en=en, unit=unit,
                          breakdown=breakdown, tenant_id=t, order=i)
                for i, (name, value, vi, en, unit, breakdown) in enumerate(values)]
    return out


# ------------------------------------------------------------------------------------------------ reminders


SESSION_SOON_DAYS = 7
EXPIRY_WARNING_DAYS = 60


async def upcoming_sessions(ctx: TenantContext, day: date) -> list[dict[str, Any]]:
    return await ctx.scope(TrainingSession).select().where(
        (TrainingSession.starts_on == day + timedelta(days=SESSION_SOON_DAYS))
        & TrainingSession.status.is_in(["planned", "open"]))


async def expiring_certificates(ctx: TenantContext, day: date) -> list[dict[str, Any]]:
    return await ctx.scope(TrainingCertificate).select().where(
        (TrainingCertificate.status == "valid") & TrainingCertificate.expires_on.is_not_null()
        & (TrainingCertificate.expires_on >= day)
        & (TrainingCertificate.expires_on <= day + timedelta(days=EXPIRY_WARNING_DAYS)))


async def reminders(ctx: TenantContext, day: date) -> list[Reminder]:
    """Sessions starting in 7 days (the organisers; participants and trainers are told by the daily job) and
    certificates expiring within 60 days (the organisers and the holder's agency officers)."""
    found = []
    for s in await upcoming_sessions(ctx, day):
        found.append(Reminder(module=NAME, kind="session_soon", key=f"{NAME}:session_soon:{s['id']}",
                              title=f"Lớp tập huấn «{s['title']}» bắt đầu ngày {fmt(s['starts_on'])}",
                              due_on=s["starts_on"], status="due", agency_id=s["organiser_agency_id"],
                              audience=("tenant_admin", "inspector"), link=f"{NAME}/sessions/{s['id']}"))
    for c in await expiring_certificates(ctx, day):
        found.append(Reminder(module=NAME, kind="certificate_expiring", key=f"{NAME}:certificate_expiring:{c['id']}",
                              title=f"Chứng chỉ số {c['number_text']} của {c['full_name']} hết hạn ngày "
                                    f"{fmt(c['expires_on'])}",
                              due_on=c["expires_on"], status="due", agency_id=c["agency_id"],
                              audience=("tenant_admin", "agency_officer"), link=f"{NAME}/certificates/{c['id']}"))
    return found


# ------------------------------------------------------------------------------------------------ evidence


async def check_session(ctx: TenantContext, target_id: Any, write: bool = False) -> None:
    """Evidence target `training_session`: agendas, attendance sheets, photos of a session."""
    if await ctx.scope(TrainingSession).find(target_id) is None:
        raise NotFound(f"training session {target_id} not found")
    needed = f"{NAME}.manage" if write else f"{NAME}.read"
    if not ctx.has(needed):
        raise Forbidden(f"attaching to a training session needs the permission {needed!r}")


async def check_certificate(ctx: TenantContext, target_id: Any, write: bool = False) -> None:
    """Evidence target `training_certificate`: the signed scan of a certificate or its revocation."""
    if await ctx.scope(TrainingCertificate).find(target_id) is None:
        raise NotFound(f"certificate {target_id} not found")
    needed = f"{NAME}.manage" if write else f"{NAME}.read"
    if not ctx.has(needed):
        raise Forbidden(f"attaching to a certificate needs the permission {needed!r}")


# ------------------------------------------------------------------------------------------------ coverage


async def coverage(ctx: TenantContext, *, year: int, on: date, level: Sequence[str] | None,
                   parent_id: uuid.UUID | None, required: bool | None, has_internal_auditor: bool | None,
                   trained: bool | None, q: str | None) -> dict[str, Any]:
    """Per agency active in `year`: staff trained that year, valid internal auditors on `on`, sessions attended."""
    first, last = date(year, 1, 1), date(year, 12, 31)
    query = ctx.scope(Agency).select(Agency.id, Agency.code, Agency.name, Agency.name_folded, Agency.level,
                                     Agency.required, Agency.parent_id).where(
        (Agency.valid_from <= last) & (Agency.valid_to.is_null() | (Agency.valid_to >= first)))
    if level:
        query = query.where(Agency.level.is_in(list(level)))
    if required is not None:
        query = query.where(Agency.required == required)
    if q and q.strip():
        pattern = like_pattern(q)
        query = query.where(Agency.name_folded.like(pattern) | Agency.code_key.like(pattern))
    agencies = await query
    if parent_id is not None:
        await ctx.ensure_agency(parent_id)
        subtree = await ctx.agency_subtree(parent_id)
        agencies = [a for a in agencies if a["id"] in subtree]
    ids = [a["id"] for a in agencies]
    sheet = {(f.subject_id, f.name): f for f in await facts(ctx, ids, [], min(on, last) if on.year == year else last)}
    sessions_by_agency: dict[uuid.UUID, set[uuid.UUID]] = defaultdict(set)
    year_sessions = [s["id"] for s in await ctx.scope(TrainingSession).select(TrainingSession.id).where(
        (TrainingSession.year == year) & TrainingSession.status.is_in(list(DONE)))]
    if year_sessions and ids:
        for r in await ctx.scope(TrainingRegistration).select(
                TrainingRegistration.agency_id, TrainingRegistration.session_id).where(
                TrainingRegistration.session_id.is_in(year_sessions) & (TrainingRegistration.status == "registered")
                & (TrainingRegistration.attended_count > 0)):
            sessions_by_agency[r["agency_id"]].add(r["session_id"])
    rows = []
    for a in sorted(agencies, key=lambda a: (AGENCY_LEVELS.index(a["level"]) if a["level"] in AGENCY_LEVELS else 9,
                                             a["name_folded"], a["code"])):
        n_trained = sheet[(a["id"], f"{NAME}.trained_staff")].value
        ia = sheet[(a["id"], f"{NAME}.has_internal_auditor")]
        row = {"agency_id": a["id"], "agency_code": a["code"], "agency_name": a["name"], "level": a["level"],
               "required": a["required"], "parent_id": a["parent_id"], "trained_staff": n_trained,
               "valid_internal_auditors": ia.data["count"], "has_internal_auditor": ia.value,
               "sessions": len(sessions_by_agency.get(a["id"], ()))}
        if has_internal_auditor is not None and row["has_internal_auditor"] != has_internal_auditor:
            continue
        if trained is not None and (row["trained_staff"] > 0) != trained:
            continue
        rows.append(row)
    return {"rows": rows, "agencies_trained": sum(1 for r in rows if r["trained_staff"] > 0),
            "agencies_with_internal_auditor": sum(1 for r in rows if r["has_internal_auditor"]),
            "required_without_internal_auditor": sum(1 for r in rows if r["required"] and not r["has_internal_auditor"])}


def coverage_xlsx(rows: Sequence[dict[str, Any]], *, title: str, year: int, on: date) -> bytes:
    import io

    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    ws = wb.active
    ws.title = f"Tap huan {year}"
    ws.append([title])
    ws["A1"].font = Font(bold=True, size=13)
    ws.append([f"Năm {year}; đánh giá viên nội bộ tính đến ngày {fmt(on)}"])
    headers = ["Mã", "Cơ quan, đơn vị", "Cấp", "Bắt buộc áp dụng", "Số cán bộ được tập huấn", "Số lớp đã dự",
               "Số đánh giá viên nội bộ còn hiệu lực", "Có đánh giá viên nội bộ"]
    ws.append(headers)
    for cell in ws[3]:
        cell.font = Font(bold=True)
    for r in rows:
        ws.append([r["agency_code"], r["agency_name"], r["level"], "Có" if r["required"] else "Không",
                   r["trained_staff"], r["sessions"], r["valid_internal_auditors"],
                   "Có" if r["has_internal_auditor"] else "Không"])
    for col, width in zip("ABCDEFGH", (14, 48, 12, 12, 14, 12, 16, 14)):
        ws.column_dimensions[col].width = width
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


# ------------------------------------------------------------------------------------------------ history


async def _sessions_with_kinds(ctx: TenantContext, ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, dict[str, Any]]:
    ids = list(set(ids))
    if not ids:
        return {}
    kinds = {k["id"]: k["name"] for k in await ctx.scope(TrainingKind).select(TrainingKind.id, TrainingKind.name)}
    return {s["id"]: {**s, "kind_name": kinds.get(s["kind_id"], "")} for s in await ctx.scope(TrainingSession).select(
        TrainingSession.id, TrainingSession.title, TrainingSession.kind_id, TrainingSession.starts_on,
        TrainingSession.ends_on, TrainingSession.status, TrainingSession.trainer_ids).where(
        TrainingSession.id.is_in(ids))}


def _history_item(s: dict[str, Any], role: str, reg: dict[str, Any] | None) -> dict[str, Any]:
    return {"session_id": s["id"], "title": s["title"], "kind_name": s["kind_name"], "starts_on": s["starts_on"],
            "ends_on": s["ends_on"], "status": s["status"], "role": role,
            "registration_status": reg["status"] if reg else None,
            "attended_count": reg["attended_count"] if reg else None, "score": reg["score"] if reg else None}


async def person_history(ctx: TenantContext, person_id: Any) -> dict[str, Any]:
    from plugins.training.services import json_load

    person = await ctx.scope(Person).get(person_id, label="person")
    regs = await ctx.scope(TrainingRegistration).select().where(TrainingRegistration.person_id == person["id"])
    taught = [s["id"] for s in await ctx.scope(TrainingSession).select(TrainingSession.id, TrainingSession.trainer_ids)
              if str(person["id"]) in (json_load(s["trainer_ids"]) or [])]
    sessions = await _sessions_with_kinds(ctx, [r["session_id"] for r in regs] + taught)
    items = [_history_item(sessions[r["session_id"]], "participant", r) for r in regs if r["session_id"] in sessions]
    items += [_history_item(sessions[sid], "trainer", None) for sid in taught]
    items.sort(key=lambda i: (i["starts_on"], i["role"]), reverse=True)
    certs = await ctx.scope(TrainingCertificate).select().where(TrainingCertificate.person_id == person["id"]) \
        .order_by(TrainingCertificate.issued_on, ascending=False)
    return {"subject": "person", "subject_id": person["id"], "name": person["full_name"], "sessions": items,
            "certificates": [certificate_read(c) for c in certs]}


async def agency_history(ctx: TenantContext, agency_id: Any) -> dict[str, Any]:
    """Sessions attended and certificates held by the agency's staff (as registered / issued), sub-units
    included."""
    agency = await ctx.ensure_agency(agency_id)
    subtree = list(await ctx.agency_subtree(agency["id"]))
    regs = await ctx.scope(TrainingRegistration).select(
        TrainingRegistration.session_id, TrainingRegistration.status).where(
        TrainingRegistration.agency_id.is_in(subtree))
    sessions = await _sessions_with_kinds(ctx, [r["session_id"] for r in regs])
    counts: dict[uuid.UUID, int] = defaultdict(int)
    for r in regs:
        if r["status"] == "registered":
            counts[r["session_id"]] += 1
    items = [{**_history_item(s, "participant", None), "registration_status": None,
              "attended_count": counts.get(s["id"], 0)} for s in sessions.values()]
    items.sort(key=lambda i: i["starts_on"], reverse=True)
    certs = await ctx.scope(TrainingCertificate).select().where(TrainingCertificate.agency_id.is_in(subtree)) \
        .order_by(TrainingCertificate.issued_on, ascending=False)
    return {"subject": "agency", "subject_id": agency["id"], "name": agency["name"], "sessions": items,
            "certificates": [certificate_read(c) for c in certs]}
