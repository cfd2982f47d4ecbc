"""Certificates: issued when a session closes, numbered per province and year, revoked (never deleted), printed.

Numbering: one counter row per province and year (`training_counter`, key "<tenant_id>:<year>"). Closing a
session locks the session, then the counter (SELECT ... FOR UPDATE on PostgreSQL; SQLite's write transaction is
taken up front), takes the next numbers, writes the certificates and the counter's new value in the same
transaction. A rolled-back close gives its numbers back, so the numbers of a year run 1, 2, 3, ... without gaps
or duplicates; the unique key "<counter_id>:<number>" is the last wall. The year is that of the issue date.
"""

from __future__ import annotations

import asyncio
import calendar
import io
import uuid
from datetime import date
from typing import Any, Sequence

from core.agencies.tables import Agency
from core.db import is_sqlite, transaction
from core.errors import Conflict, NotFound, Unprocessable, is_unique_violation
from core.schemas import to_struct
from core.tenancy.context import TenantContext
from core.text import fold
from plugins.training import services
from plugins.training.schemas import CertificateRead
from plugins.training.tables import TrainingCertificate, TrainingCounter, TrainingKind, TrainingSession


def add_months(day: date, months: int) -> date:
    """The same day `months` later (the month's last day when it has no such day): 31/01 + 1 = 28 or 29/02."""
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def expiry(issued_on: date, validity_months: int | None) -> date | None:
    """The last day a certificate is valid: issued 15/09/2021 for 36 months -> valid through 14/09/2024."""
    if validity_months is None:
        return None
    return date.fromordinal(add_months(issued_on, validity_months).toordinal() - 1)


def valid_on(cert: dict[str, Any], on: date) -> bool:
    return (cert["issued_on"] <= on and (cert["expires_on"] is None or cert["expires_on"] >= on)
            and (cert["revoked_on"] is None or cert["revoked_on"] > on))


def counter_key(tenant_id: uuid.UUID, year: int) -> str:
    return f"{tenant_id}:{year}"


async def ensure_counter(ctx: TenantContext, year: int) -> uuid.UUID:
    """The id of the province's counter for `year`, created (in its own short transaction) when missing."""
    key = counter_key(ctx.tenant.id, year)
    row = await ctx.scope(TrainingCounter).select(TrainingCounter.id).where(TrainingCounter.key == key).first()
    if row is not None:
        return row["id"]
    try:
        async with transaction():
            row = await ctx.scope(TrainingCounter).insert({"key": key, "year": year, "last_number": 0},
                                                          action="create")
            return row["id"]
    except Exception as exc:  # another close created it at the same moment
        if not is_unique_violation(exc):
            raise
    row = await ctx.scope(TrainingCounter).select(TrainingCounter.id).where(TrainingCounter.key == key).first()
    assert row is not None
    return row["id"]


async def _take_numbers(ctx: TenantContext, counter_id: uuid.UUID, how_many: int) -> tuple[int, int]:
    query = ctx.scope(TrainingCounter).select().where(TrainingCounter.id == counter_id)
    if not is_sqlite():
        query = query.lock_rows("UPDATE")
    counter = await query.first()
    if counter is None:
        raise NotFound("the certificate counter is gone")
    first = counter["last_number"] + 1
    await ctx.scope(TrainingCounter).update(counter_id, {"last_number": counter["last_number"] + how_many},
                                            action="number")
    return first, counter["year"]


async def issue_for_session(ctx: TenantContext, session: dict[str, Any], issued_on: date,
                            counter_id: uuid.UUID) -> int:
    """Inside the closing transaction: a certificate for every registration that met the kind's rules."""
    kind = await services.get_kind(ctx, session["kind_id"])
    if not kind["gives_certificate"]:
        return 0
    regs = await services.registrations_of(ctx, session["id"])
    have = {r["registration_id"] for r in await ctx.scope(TrainingCertificate).select(
        TrainingCertificate.registration_id).where(TrainingCertificate.session_id == session["id"])}
    chosen = sorted((r for r in regs if r["id"] not in have and services.eligible(r, session, kind)),
                    key=lambda r: (fold(r["full_name"]), str(r["id"])))
    if not chosen:
        return 0
    first, year = await _take_numbers(ctx, counter_id, len(chosen))
    expires = expiry(issued_on, kind["validity_months"])
    for offset, reg in enumerate(chosen):
        number = first + offset
        await ctx.scope(TrainingCertificate).insert({
            "registration_id": reg["id"], "session_id": session["id"], "kind_id": kind["id"],
            "person_id": reg["person_id"], "agency_id": reg["agency_id"], "full_name": reg["full_name"],
            "position": reg["position"], "counter_id": counter_id, "number": number, "year": year,
            "number_text": f"{number}/{year}/{kind['certificate_symbol']}", "number_key": f"{counter_id}:{number}",
            "issued_on": issued_on, "expires_on": expires, "internal_auditor": kind["internal_auditor"],
            "status": "valid",
        }, action="issue")
    return len(chosen)


async def get_certificate(ctx: TenantContext, certificate_id: Any) -> dict[str, Any]:
    return await ctx.scope(TrainingCertificate).get(certificate_id, label="certificate")


def certificate_read(row: dict[str, Any], today: date | None = None) -> CertificateRead:
    return to_struct({**row, "valid_today": valid_on(row, today or date.today())}, CertificateRead)


async def revoke(ctx: TenantContext, certificate_id: Any, reason: str, on: date | None,
                 today: date | None = None) -> dict[str, Any]:
    today = today or date.today()
    cert = await get_certificate(ctx, certificate_id)
    day = on or today
    services.check_not_future(day, today, "on")
    if day < cert["issued_on"]:
        raise Unprocessable(f"the certificate was issued on {cert['issued_on'].isoformat()}", field="on")
    async with transaction():
        cert = await get_certificate(ctx, cert["id"])
        if cert["status"] == "revoked":
            raise Conflict(f"certificate {cert['number_text']} was already revoked on "
                           f"{cert['revoked_on'].isoformat()}")
        return await ctx.scope(TrainingCertificate).update(cert["id"], {
            "status": "revoked", "revoked_on": day, "revoked_reason": reason.strip(), "revoked_by": ctx.actor.email,
        }, action="revoke")


async def list_certificates(ctx: TenantContext, *, status: str | None, kind_id: uuid.UUID | None, year: int | None,
                            person_id: uuid.UUID | None, agency_id: uuid.UUID | None, session_id: uuid.UUID | None,
                            internal_auditor: bool | None, valid_on_day: date | None, expiring_before: date | None,
                            q: str | None, limit: int, offset: int) -> tuple[list[dict[str, Any]], int]:
    from core.text import like_pattern

    conds = []
    if status:
        conds.append(TrainingCertificate.status == status)
    if kind_id is not None:
        conds.append(TrainingCertificate.kind_id == kind_id)
    if year is not None:
        conds.append(TrainingCertificate.year == year)
    if person_id is not None:
        conds.append(TrainingCertificate.person_id == person_id)
    if session_id is not None:
        conds.append(TrainingCertificate.session_id == session_id)
    if agency_id is not None:
        await ctx.ensure_agency(agency_id)
        conds.append(TrainingCertificate.agency_id.is_in(list(await ctx.agency_subtree(agency_id))))
    if internal_auditor is not None:
        conds.append(TrainingCertificate.internal_auditor == internal_auditor)
    if valid_on_day is not None:
        conds.append((TrainingCertificate.issued_on <= valid_on_day)
                     & (TrainingCertificate.expires_on.is_null() | (TrainingCertificate.expires_on >= valid_on_day))
                     & (TrainingCertificate.revoked_on.is_null() | (TrainingCertificate.revoked_on > valid_on_day)))
    if expiring_before is not None:
        conds.append(TrainingCertificate.expires_on.is_not_null() & (TrainingCertificate.expires_on <= expiring_before))
    if q and q.strip():
        from core.people.tables import Person

        pattern = like_pattern(q)
        number = q.strip().upper().replace("%", "").replace("_", "")
        people = [r["id"] for r in await ctx.scope(Person).select(Person.id).where(
            Person.full_name_folded.like(pattern))]
        conds.append(TrainingCertificate.person_id.is_in(people or [uuid.UUID(int=0)])
                     | TrainingCertificate.number_text.like(f"%{number}%"))
    return await ctx.scope(TrainingCertificate).page(
        *conds, order_by=(TrainingCertificate.year, TrainingCertificate.number), descending=True, limit=limit,
        offset=offset)


# ------------------------------------------------------------------------------------------------ the document


async def _agency_chain(ctx: TenantContext, agency_id: uuid.UUID | None) -> list[dict[str, Any]]:
    """The agency and its parents up to the province, nearest first."""
    if agency_id is None:
        return []
    rows = {r["id"]: r for r in await ctx.scope(Agency).select(Agency.id, Agency.name, Agency.level,
                                                                 Agency.parent_id)}
    chain, node = [], rows.get(agency_id)
    while node is not None and len(chain) < 20:
        chain.append(node)
        node = rows.get(node["parent_id"]) if node["parent_id"] else None
    return chain


def _province_place(chain: Sequence[dict[str, Any]], fallback: str) -> str:
    for agency in chain:
        if agency["level"] == "province":
            name = agency["name"]
            for prefix in ("UBND tỉnh ", "Ủy ban nhân dân tỉnh ", "UBND thành phố ", "Ủy ban nhân dân thành phố "):
                if name.startswith(prefix):
                    return name[len(prefix):]
            return name
    return fallback


async def document(ctx: TenantContext, certificate_id: Any) -> tuple[bytes, str]:
    """The printable certificate (DOCX, Vietnamese, state header) and its file name."""
    cert = await get_certificate(ctx, certificate_id)
    session = await ctx.scope(TrainingSession).get(cert["session_id"], label="training session")
    kind = await ctx.scope(TrainingKind).get(cert["kind_id"], label="training kind")
    chain = await _agency_chain(ctx, session["organiser_agency_id"])
    if chain:
        issuer, parent = chain[0]["name"], (chain[1]["name"] if len(chain) > 1 else f"UBND tỉnh {ctx.tenant.name}")
    else:
        issuer, parent = "Sở Khoa học và Công nghệ", f"UBND tỉnh {ctx.tenant.name}"
    holder_agency = (await _agency_chain(ctx, cert["agency_id"]))[:1]
    fields = {
        "parent": parent, "issuer": issuer, "number": cert["number_text"],
        "place": _province_place(chain, ctx.tenant.name), "issued_on": cert["issued_on"],
        "full_name": cert["full_name"], "position": cert["position"],
        "agency": holder_agency[0]["name"] if holder_agency else "", "kind": kind["name"],
        "session": session["title"], "starts_on": session["starts_on"], "ends_on": session["ends_on"],
        "session_place": session["place"], "expires_on": cert["expires_on"], "status": cert["status"],
        "revoked_on": cert["revoked_on"], "revoked_reason": cert["revoked_reason"],
    }
    content = await asyncio.to_thread(render_docx, fields)
    name = f"giay-chung-nhan-{cert['year']}-{cert['number']}.docx"
    return content, name


def _date_line(place: str, day: date) -> str:
    return f"{place}, ngày {day.day:02d} tháng {day.month:02d} năm {day.year}"


def render_docx(f: dict[str, Any]) -> bytes:
    """The certificate in the state form (Nghị định 30/2020/NĐ-CP layout): issuing body at the top left, the
    national motto at the top right, number, place and date, title, body, signature block."""
    from docx import Document
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Pt

    doc = Document()
    style = doc.styles["Normal"]
    style.font.name = "Times New Roman"
    style.font.size = Pt(13)

    def para(cell_or_doc: Any, text: str, *, bold: bool = False, italic: bool = False, size: int | None = None,
             center: bool = True) -> Any:
        p = cell_or_doc.add_paragraph()
        p.alignment = WD_ALIGN_PARAGRAPH.CENTER if center else WD_ALIGN_PARAGRAPH.LEFT
        run = p.add_run(text)
        run.bold, run.italic = bold, italic
        if size:
            run.font.size = Pt(size)
        return p

    header = doc.add_table(rows=1, cols=2)
    left, right = header.rows[0].cells
    left.paragraphs[0].add_run(f["parent"].upper()).font.size = Pt(12)
    left.paragraphs[0].alignment = WD_ALIGN_PARAGRAPH.CENTER
    para(left, f["issuer"].upper(), bold=True, size=12)
    para(left, f"Số: {f['number']}", size=13)
    run = right.paragraphs[0].add_run("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM")
    run.bold, run.font.size = True, Pt(12)
    right.paragraphs[0].alignment = WD_ALIGN_PARAGRAPH.CENTER
    para(right, "Độc lập - Tự do - Hạnh phúc", bold=True, size=13)
    para(right, _date_line(f["place"], f["issued_on"]), italic=True, size=13)

    para(doc, "")
    para(doc, "GIẤY CHỨNG NHẬN", bold=True, size=16)
    para(doc, f"{f['issuer']} chứng nhận:", center=False)
    para(doc, f"Ông/Bà: {f['full_name']}", bold=True, center=False)
    if f["position"]:
        para(doc, f"Chức vụ: {f['position']}", center=False)
    if f["agency"]:
        para(doc, f"Đơn vị công tác: {f['agency']}", center=False)
    para(doc, f"Đã hoàn thành khóa tập huấn: {f['kind']}", center=False)
    para(doc, f"Hội nghị / lớp: {f['session']}", center=False)
    when = f"từ ngày {services.fmt(f['starts_on'])} đến ngày {services.fmt(f['ends_on'])}" \
        if f["starts_on"] != f["ends_on"] else f"ngày {services.fmt(f['starts_on'])}"
    para(doc, f"Tổ chức {when}" + (f" tại {f['session_place']}" if f["session_place"] else "") + ".", center=False)
    if f["expires_on"]:
        para(doc, f"Giấy chứng nhận có giá trị đến hết ngày {services.fmt(f['expires_on'])}.", center=False)
    else:
        para(doc, "Giấy chứng nhận không có thời hạn.", center=False)
    if f["status"] == "revoked":
        para(doc, f"ĐÃ THU HỒI ngày {services.fmt(f['revoked_on'])}. Lý do: {f['revoked_reason']}", bold=True)

    sign = doc.add_table(rows=1, cols=2)
    para(sign.rows[0].cells[1], f"THỦ TRƯỞNG {f['issuer'].upper()}", bold=True, size=13)
    para(sign.rows[0].cells[1], "(Ký, ghi rõ họ tên và đóng dấu)", italic=True, size=12)
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()
