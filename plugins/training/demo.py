"""Demo data of the training module. Idempotent: a province that has sessions is left alone.

- Every province: the default catalogue; internal-auditor certificates for the Chi cục TĐC inspectors (agencies
  whose code ends in "-TDC" and are open today; a province without one uses its first agency): one valid, one
  expiring within 60 days, one expired; and an awareness session open for registration that starts in 7 days,
  with the province's communes (or first agencies) invited.
- Lạng Sơn: the members of the 2024 inspection team took the internal-auditor course in May 2022.
- Bắc Ninh (with Bắc Giang's history): seed 004 — from Q3 2021 the Sở KH&CN Bắc Giang trained the communes of its
  10 districts and city on maintaining and improving the QMS; Lạng Giang's conference and Việt Yên's (for its 19
  communes) have invented participants, attendance and certificates "n/2021/CN-TĐC".

Names of participants are invented.
"""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any

from core.agencies.tables import Agency
from core.tenancy.context import TenantContext
from plugins.training import certificates, services
from plugins.training.schemas import NewPerson, ScoreItem, SessionCreate
from plugins.training.tables import TrainingSession

FAMILY = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Vũ", "Đỗ", "Bùi", "Ngô", "Dương", "Đặng", "Lý"]
MIDDLE = ["Văn", "Thị", "Đức", "Thu", "Minh", "Ngọc", "Quang", "Thanh", "Hữu", "Hồng"]
GIVEN = ["An", "Bình", "Cường", "Dung", "Giang", "Hà", "Hải", "Hạnh", "Hùng", "Hương", "Khánh", "Lan", "Long", "Mai",
         "Nam", "Nga", "Phong", "Phương", "Quân", "Sơn", "Tâm", "Thảo", "Thắng", "Trang", "Tuấn", "Vân", "Yến"]
BAC_GIANG_DISTRICTS = [  # the 10 districts and city of Bắc Giang in 2021, with a conference day each
    ("BG-LG", "huyện Lạng Giang", date(2021, 9, 28)), ("BG-VY", "huyện Việt Yên", date(2021, 9, 30)),
    (None, "huyện Yên Dũng", date(2021, 10, 5)), (None, "huyện Hiệp Hòa", date(2021, 10, 7)),
    (None, "huyện Tân Yên", date(2021, 10, 12)), (None, "huyện Yên Thế", date(2021, 10, 14)),
    (None, "huyện Lục Nam", date(2021, 10, 19)), (None, "huyện Lục Ngạn", date(2021, 10, 21)),
    (None, "huyện Sơn Động", date(2021, 10, 26)), (None, "thành phố Bắc Giang", date(2021, 10, 28)),
]
LANG_GIANG_COMMUNES = ["thị trấn Vôi", "thị trấn Kép", "xã Tân Dĩnh", "xã Thái Đào", "xã Đào Mỹ", "xã An Hà",
                       "xã Tân Thanh", "xã Yên Mỹ"]


# Lạng Sơn's 2024 inspection team (Decision 02/QĐ-BCĐISO of 07/03/2024, head Trần Quốc Anh; the other names are
# those the inspections demo invents): Art. 40 wants every member to hold a valid internal-auditor certificate, so
# they took the course in 2022 (valid through 2025).
LANG_SON_TEAM = [("Trần Quốc Anh", "LS-SKHCN", "Phó Giám đốc Sở Khoa học và Công nghệ"),
                 ("Hoàng Thị Lan", "LS-TDC", "Chi cục trưởng Chi cục Tiêu chuẩn Đo lường Chất lượng"),
                 ("Nguyễn Văn Hùng", "LS-VP", "Chuyên viên Văn phòng UBND tỉnh"),
                 ("Lương Thị Mai", "LS-SNV", "Chuyên viên Sở Nội vụ"),
                 ("Vi Thị Hà", "LS-TDC", "Chuyên viên Chi cục Tiêu chuẩn Đo lường Chất lượng")]


class Names:
    """Deterministic invented names, never the same twice in one province."""

    def __init__(self, seed: int) -> None:
        self.i = seed

    def next(self) -> str:
        i = self.i
        self.i += 7
        return f"{FAMILY[i % len(FAMILY)]} {MIDDLE[(i // 3) % len(MIDDLE)]} {GIVEN[(i * 5 + i // 11) % len(GIVEN)]}"


async def _person(ctx: TenantContext, names: Names, agency_id: uuid.UUID, position: str) -> dict[str, Any]:
    for _ in range(50):
        try:
            return await services.add_person(ctx, NewPerson(full_name=names.next(), agency_id=agency_id,
                                                            position=position))
        except Exception as exc:  # the same invented name in the same agency: take the next
            if getattr(exc, "status_code", None) != 409:
                raise
    raise RuntimeError("no free demo name")


async def _named_person(ctx: TenantContext, name: str, agency_id: uuid.UUID, position: str) -> dict[str, Any]:
    """The open person of that name in that agency (another module's demo may have added them), or a new one."""
    from core.people.tables import Person
    from core.text import fold

    found = await ctx.scope(Person).select().where(
        (Person.full_name_folded == fold(name, services.PERSON_NAME_MAX)) & (Person.agency_id == agency_id)
        & Person.closed_on.is_null()).first()
    return found or await services.add_person(ctx, NewPerson(full_name=name, agency_id=agency_id, position=position))


async def _run_session(ctx: TenantContext, today: date, *, kind: dict[str, Any], title: str, starts_on: date,
                       ends_on: date | None = None, place: str, organiser: uuid.UUID | None, locality: list[uuid.UUID],
                       label: str, trainers: list[uuid.UUID], people: list[dict[str, Any]], close_on: date | None = None,
                       absent: int = 0, failed: int = 0) -> dict[str, Any]:
    """A past session from plan to close: open, registrations, held, attendance, scores, closed (certificates)."""
    ends_on = ends_on or starts_on
    row = await services.create_session(ctx, SessionCreate(
        kind_id=kind["id"], title=title, starts_on=starts_on, ends_on=ends_on, place=place, locality_ids=locality,
        locality_label=label, organiser_agency_id=organiser, organiser="Chi cục Tiêu chuẩn Đo lường Chất lượng",
        trainer_ids=trainers, capacity=max(len(people), 1) + 20, registration_closes_on=starts_on))
    await services.transition(ctx, row["id"], "open", None, starts_on - timedelta(days=14), today=today)
    regs = [await services.register(ctx, row["id"], p["id"], None, today=starts_on - timedelta(days=5),
                                    source="seed") for p in people]
    await services.transition(ctx, row["id"], "held", None, starts_on, today=today)
    present = [r["id"] for r in regs[absent:]]
    day = starts_on
    while day <= ends_on:
        await services.record_attendance(ctx, row["id"], day, present, today=today)
        day += timedelta(days=1)
    if kind["has_exam"] and regs:
        scores = [ScoreItem(registration_id=r["id"], score=4.0 if i < failed else 7.5 + (i % 3) * 0.5)
                  for i, r in enumerate(regs)]
        await services.record_scores(ctx, row["id"], scores)
    await services.transition(ctx, row["id"], "closed", None, close_on or ends_on, today=today)
    return row


async def seed(ctx: TenantContext, agencies: dict[str, uuid.UUID], today: date | None = None) -> None:
    today = today or date.today()
    await services.ensure_catalogue(ctx)
    if await ctx.scope(TrainingSession).count():
        return
    kinds = {k["code"]: k for k in await services.list_kinds(ctx)}
    rows = {a["id"]: a for a in await ctx.scope(Agency).select()}
    open_today = {code: aid for code, aid in agencies.items()
                  if aid in rows and rows[aid]["valid_from"] <= today
                  and (rows[aid]["valid_to"] is None or rows[aid]["valid_to"] > today)}
    names = Names(len(ctx.tenant.code))
    if "BG" in agencies:
        await _bac_giang_2021(ctx, agencies, rows, kinds, names, today)
    if all(code in agencies for _, code, _ in LANG_SON_TEAM):
        team = [await _named_person(ctx, name, agencies[code], position) for name, code, position in LANG_SON_TEAM]
        await _run_session(ctx, today, kind=kinds["INTERNAL_AUDITOR"],
                           title="Lớp đào tạo đánh giá viên nội bộ HTQLCL cho thành viên Đoàn kiểm tra ISO tỉnh",
                           starts_on=date(2022, 5, 17), ends_on=date(2022, 5, 18), place="Sở Khoa học và Công nghệ",
                           organiser=agencies["LS-TDC"], locality=[], label="Ban Chỉ đạo ISO tỉnh", trainers=[],
                           people=team)
    await _inspectors(ctx, open_today or agencies, kinds, names, today)
    await _upcoming(ctx, open_today or agencies, rows, kinds, today)


async def _inspectors(ctx: TenantContext, agencies: dict[str, uuid.UUID], kinds: dict[str, Any], names: Names,
                      today: date) -> None:
    tdc = [aid for code, aid in sorted(agencies.items()) if code.endswith("-TDC")] or [next(iter(agencies.values()))]
    ia = kinds["INTERNAL_AUDITOR"]
    months = ia["validity_months"] or 36
    # Issue days chosen against today: valid for a long while; expiring in about 30 days; expired 45 days ago.
    valid_from = today - timedelta(days=200)
    expiring = certificates.add_months(today + timedelta(days=31), -months)
    expired = certificates.add_months(today - timedelta(days=44), -months)
    for n, (issued, label) in enumerate([(valid_from, "còn hiệu lực"), (expiring, "sắp hết hạn"), (expired, "đã hết hạn")]):
        people = [await _person(ctx, names, agency_id, "Kiểm soát viên, Chi cục TĐC") for agency_id in tdc]
        if n == 0:
            people += [await _person(ctx, names, agency_id, "Chuyên viên, Chi cục TĐC") for agency_id in tdc]
        start = issued - timedelta(days=2)
        await _run_session(ctx, today, kind=ia, title=f"Lớp đào tạo đánh giá viên nội bộ HTQLCL TCVN ISO 9001:2015 "
                                                      f"khóa {start.year}.{n + 1}",
                           starts_on=start, ends_on=start + timedelta(days=1), close_on=issued,
                           place="Hội trường Sở Khoa học và Công nghệ", organiser=tdc[0], locality=[],
                           label="Chi cục Tiêu chuẩn Đo lường Chất lượng", trainers=[], people=people)


async def _upcoming(ctx: TenantContext, agencies: dict[str, uuid.UUID], rows: dict[uuid.UUID, Any],
                    kinds: dict[str, Any], today: date) -> None:
    communes = [aid for aid in agencies.values() if rows.get(aid, {}).get("level") == "commune"][:6]
    invited = communes or list(agencies.values())[:3]
    organiser = next((aid for code, aid in agencies.items() if code.endswith("-TDC")), None)
    start = today + timedelta(days=7)
    row = await services.create_session(ctx, SessionCreate(
        kind_id=kinds["AWARENESS"]["id"], title=f"Tập huấn nhận thức chung về HTQLCL TCVN ISO 9001:2015 năm {start.year}",
        starts_on=start, ends_on=start + timedelta(days=1), place="Hội trường UBND tỉnh", locality_ids=communes,
        locality_label="các xã, phường" if communes else "", organiser_agency_id=organiser,
        organiser="Chi cục Tiêu chuẩn Đo lường Chất lượng", capacity=60, registration_closes_on=start - timedelta(days=2)))
    for aid in invited:
        await services.invite(ctx, row["id"], aid, 3, today=today)
    await services.transition(ctx, row["id"], "open", None, today, today=today)
    staff = await _person(ctx, Names(len(ctx.tenant.code) + 5), invited[0], "Công chức văn phòng")
    await services.register(ctx, row["id"], staff["id"], None, today=today, source="seed")


async def _bac_giang_2021(ctx: TenantContext, agencies: dict[str, uuid.UUID], rows: dict[uuid.UUID, Any],
                          kinds: dict[str, Any], names: Names, today: date) -> None:
    """Seed 004: the 2021 conferences on maintaining and improving the QMS for the communes of 10 districts."""
    kind = kinds["MAINTAIN_IMPROVE"]
    organiser = agencies.get("BG-TDC") or agencies.get("BG-SKHCN")
    trainers = [await _person(ctx, names, organiser, "Báo cáo viên, Chi cục TĐC Bắc Giang")
                for _ in range(2)] if organiser else []
    viet_yen = [aid for code, aid in agencies.items() if code.startswith("BG-VY-")]
    for code, district, day in BAC_GIANG_DISTRICTS:
        locality: list[uuid.UUID] = []
        people: list[dict[str, Any]] = []
        if code == "BG-VY" and viet_yen:
            locality = viet_yen
            for aid in viet_yen:
                people.append(await _person(ctx, names, aid, "Công chức Văn phòng - Thống kê"))
        elif code and code in agencies:
            locality = [agencies[code]]
            for commune in LANG_GIANG_COMMUNES:
                people.append(await _person(ctx, names, agencies[code], f"Công chức UBND {commune}"))
        await _run_session(
            ctx, today, kind=kind, title=f"Hội nghị đào tạo duy trì, áp dụng, cải tiến HTQLCL theo TCVN ISO "
                                         f"9001:2015 cho UBND các xã, thị trấn {district}",
            starts_on=day, place=f"Hội trường UBND {district}", organiser=organiser, locality=locality,
            label=district, trainers=[t["id"] for t in trainers], people=people, absent=1 if people else 0)
