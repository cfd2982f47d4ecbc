"""Demo data of the certification module for the three demo provinces (tenants/demo.py).

Facts from the seed articles (DOMAIN.md): Việt Yên district (Bắc Giang, now Bắc Ninh) piloted the QMS at thị
trấn Bích Động and xã Ninh Sơn in 2017 and extended it to the other 17 communes in 2018; all 19 announced
conformity with TCVN ISO 9001:2015 and were recognised on 17/01/2019; the district aimed to convert its own
offices from 2008 to 2015 before August 2019. Thái Bình (now Hưng Yên) had 41 of 41 required agencies applying
TCVN ISO 9001:2008 by 2016. Lạng Sơn has applied ISO since 2007 (here from 2009, on the 2008 version).

Everything else (decision numbers, exact dates, which department is late with what, the procedures in a scope,
Lạng Sơn's conversion deadline) is invented for the demo. Lạng Sơn's recent events are dated relative to the day
of seeding so that its board always shows a mix: announced and up to date, due soon, overdue for each reason,
applying, building, suspended, not started. Every event goes through the same rules as the API. Agencies that
already have a QMS record are left alone, so seeding twice changes nothing.
"""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any, Callable

import msgspec

from core.agencies.tables import Agency
from core.tenancy.context import TenantContext
from plugins.certification import services
from plugins.certification.rules import add_months
from plugins.certification.schemas import EventCreate, SettingsUpdate

RECOGNITION_DAY = date(2019, 1, 17)  # seed 003: the conference of Việt Yên district

COMMUNE_TTHC = [
    "Đăng ký khai sinh", "Đăng ký kết hôn", "Đăng ký khai tử", "Đăng ký nhận cha, mẹ, con",
    "Cấp bản sao trích lục hộ tịch", "Xác nhận tình trạng hôn nhân", "Chứng thực bản sao từ bản chính",
    "Chứng thực chữ ký trong các giấy tờ, văn bản", "Chứng thực hợp đồng, giao dịch liên quan đến tài sản là động sản",
    "Đăng ký giám hộ", "Hòa giải tranh chấp đất đai", "Giải quyết khiếu nại lần đầu",
]
DEPARTMENT_TTHC = {
    "STP": ["Cấp Phiếu lý lịch tư pháp cho công dân Việt Nam", "Thành lập Văn phòng công chứng",
            "Đăng ký hoạt động Văn phòng công chứng", "Cấp Thẻ đấu giá viên",
            "Đăng ký hành nghề luật sư với tư cách cá nhân"],
    "SGTVT": ["Cấp mới Giấy phép lái xe", "Đổi Giấy phép lái xe do ngành Giao thông vận tải cấp",
              "Cấp Giấy phép kinh doanh vận tải bằng xe ô tô", "Cấp phù hiệu xe ô tô kinh doanh vận tải",
              "Cấp phép thi công công trình trên đường bộ đang khai thác"],
    "STNMT": ["Cấp giấy phép khai thác khoáng sản", "Thẩm định báo cáo đánh giá tác động môi trường",
              "Cấp giấy phép khai thác, sử dụng nước mặt", "Cấp giấy phép xả nước thải vào nguồn nước"],
    "SKHCN": ["Cấp Giấy chứng nhận đăng ký hoạt động khoa học và công nghệ",
              "Đăng ký kết quả thực hiện nhiệm vụ khoa học và công nghệ",
              "Cấp giấy phép tiến hành công việc bức xạ - sử dụng thiết bị X-quang chẩn đoán trong y tế"],
    "SYT": ["Cấp chứng chỉ hành nghề khám bệnh, chữa bệnh", "Cấp giấy phép hoạt động đối với phòng khám chuyên khoa",
            "Cấp chứng chỉ hành nghề dược", "Cấp Giấy chứng nhận đủ điều kiện kinh doanh dược"],
}
DISTRICT_TTHC = [
    "Cấp Giấy chứng nhận đăng ký hộ kinh doanh", "Cấp giấy phép xây dựng nhà ở riêng lẻ",
    "Cấp Giấy chứng nhận quyền sử dụng đất lần đầu", "Đăng ký khai sinh có yếu tố nước ngoài",
    "Cấp Giấy chứng nhận đủ điều kiện kinh doanh bán lẻ sản phẩm rượu",
]


def _scope_for(code: str, name: str, level: str) -> list[str]:
    key = code.split("-")[-1]
    if key in DEPARTMENT_TTHC:
        return list(DEPARTMENT_TTHC[key])
    if level == "commune":
        return list(COMMUNE_TTHC)
    if level in ("district", "province"):
        return list(DISTRICT_TTHC)
    return [f"Thủ tục hành chính số {i} thuộc thẩm quyền của {name}" for i in range(1, 6)]


def e(kind: str, on: date, **fields: Any) -> dict[str, Any]:
    return {"kind": kind, "occurred_on": on, **fields}


def _maintenance(years: range, audit: tuple[int, int] = (10, 15), review: tuple[int, int] = (11, 15),
                 skip: Callable[[int], bool] = lambda year: False) -> list[dict[str, Any]]:
    events = []
    for year in years:
        if skip(year):
            continue
        events.append(e("internal_audit", date(year, *audit), result="Phù hợp, có điểm cần cải tiến",
                        nonconformities=(year * 7) % 4))
        events.append(e("management_review", date(year, *review), conclusions="HTQLCL được duy trì có hiệu lực"))
    return events


def _recent(today: date, kind: str, ago_days: int, after: date, step_days: int = 360) -> list[dict[str, Any]]:
    """`kind` events every `step_days` going back from `today - ago_days` to just after `after`."""
    events, day = [], today - timedelta(days=ago_days)
    while day > after:
        if kind == "internal_audit":
            events.append(e(kind, day, result="Phù hợp", nonconformities=1))
        else:
            events.append(e(kind, day, conclusions="HTQLCL được duy trì có hiệu lực"))
        day -= timedelta(days=step_days)
    return events


async def _write(ctx: TenantContext, agency_id: uuid.UUID, events: list[dict[str, Any]]) -> None:
    inputs = [msgspec.convert(ev, EventCreate) for ev in events]
    await services.record_events(ctx, agency_id, inputs)


async def _agencies(ctx: TenantContext, ids: dict[str, uuid.UUID]) -> dict[str, dict[str, Any]]:
    rows = await ctx.scope(Agency).select().where(Agency.id.is_in(list(ids.values()))) if ids else []
    by_id = {r["id"]: r for r in rows}
    return {code: by_id[agency_id] for code, agency_id in ids.items() if agency_id in by_id}


async def _has_record(ctx: TenantContext, agency_id: uuid.UUID) -> bool:
    return await services.record_of_agency(ctx, agency_id) is not None


async def _set_deadline(ctx: TenantContext, deadline: date, reference: str) -> None:
    if await services.read_settings(ctx) is None:
        await services.update_settings(ctx, SettingsUpdate(conversion_deadline=deadline,
                                                           conversion_deadline_reference=reference))


# ----------------------------------------------------------------------------------------------- Việt Yên


async def seed_viet_yen(ctx: TenantContext, agencies: dict[str, dict[str, Any]]) -> None:
    await _set_deadline(ctx, date(2019, 7, 31), "Mục tiêu chuyển đổi trước tháng 8/2019 (Hội nghị ISO huyện Việt "
                                                "Yên ngày 17/01/2019) - dữ liệu demo")
    district = agencies["BG-VY"]
    if not await _has_record(ctx, district["id"]):
        scope = _scope_for("BG-VY", district["name"], "district")
        await _write(ctx, district["id"], [
            e("build_started", date(2012, 3, 1), standard_version="2008", scope=scope),
            e("apply_started", date(2012, 9, 3)),
            *_maintenance(range(2013, 2019)),
            e("head_confirmed", date(2013, 11, 25), confirmed_by="Chủ tịch UBND huyện Việt Yên"),
            e("announced", date(2014, 8, 4), decision_number="1250/QĐ-UBND", signer="Chủ tịch UBND huyện Việt Yên"),
            e("version_converted", date(2019, 6, 14), document_refs=["Kế hoạch chuyển đổi TCVN ISO 9001:2015"]),
            e("internal_audit", date(2019, 6, 24), result="Phù hợp TCVN ISO 9001:2015", nonconformities=2),
            e("management_review", date(2019, 7, 1)),
            e("head_confirmed", date(2019, 7, 8), confirmed_by="Chủ tịch UBND huyện Việt Yên"),
            e("announced", date(2019, 7, 15), decision_number="2150/QĐ-UBND", signer="Chủ tịch UBND huyện Việt Yên",
              standard_version="2015"),
            *_maintenance(range(2019, 2025)),
        ])
    for code, agency in sorted(agencies.items()):
        if not code.startswith("BG-VY-") or await _has_record(ctx, agency["id"]):
            continue
        pilot = code in ("BG-VY-BICHDONG", "BG-VY-NINHSON")
        year = 2017 if pilot else 2018
        head = f"Chủ tịch {agency['name']}"
        events = [
            e("build_started", date(year, 3, 1), standard_version="2015", scope=COMMUNE_TTHC[:10]),
            e("apply_started", date(year, 6, 1)),
            e("internal_audit", date(year, 10, 16), result="Phù hợp, có điểm không phù hợp đã khắc phục",
              nonconformities=3),
            e("management_review", date(year, 11, 6)),
            e("head_confirmed", date(year, 11, 20), confirmed_by=head),
            e("announced", date(year, 12, 4), decision_number=f"{'58' if pilot else '112'}/QĐ-UBND", signer=head,
              standard_version="2015", document_refs=["Thông báo gửi Sở Khoa học và Công nghệ"]),
            e("recognized", RECOGNITION_DAY, recognition_kind="decision", number="105/QĐ-UBND",
              issuer="UBND huyện Việt Yên", note="Trao tại hội nghị đánh giá HTQLCL của huyện ngày 17/01/2019"),
        ]
        skip = (lambda y: y >= 2023) if code == "BG-VY-VIETTIEN" else (lambda y: False)
        events += _maintenance(range(2019, 2025), skip=skip)
        if pilot:
            events += _maintenance(range(2018, 2019))
        if code in ("BG-VY-NENH", "BG-VY-BICHDONG"):
            events += [
                e("scope_changed", date(2020, 3, 10), change="extended", added=COMMUNE_TTHC[10:],
                  description="Bổ sung thủ tục hòa giải và giải quyết khiếu nại"),
                e("head_confirmed", date(2020, 4, 6), confirmed_by=head),
                e("announced", date(2020, 4, 13), decision_number="45/QĐ-UBND", signer=head),
            ]
        await _write(ctx, agency["id"], events)


# ----------------------------------------------------------------------------------------------- Thái Bình


async def seed_thai_binh(ctx: TenantContext, agencies: dict[str, dict[str, Any]]) -> None:
    required = sorted((code, a) for code, a in agencies.items()
                      if (code == "TB" or code.startswith("TB-")) and a["required"])
    for index, (code, agency) in enumerate(required):
        if await _has_record(ctx, agency["id"]):
            continue
        head = f"Thủ trưởng {agency['name']}"
        start = date(2012 + index % 3, 3 + index % 6, 1)  # building started in 2012-2014
        apply_on = add_months(start, 6)
        events = [
            e("build_started", start, standard_version="2008", scope=_scope_for(code, agency["name"], agency["level"])),
            e("apply_started", apply_on),
            # the first audit (15 October) follows applying, in the same year or the next
            *_maintenance(range(apply_on.year if apply_on < date(apply_on.year, 10, 15) else apply_on.year + 1, 2016)),
        ]
        late = index % 7 == 6  # 5 agencies announced only in 2017
        if not late:
            events += [e("head_confirmed", date(2015, 11, 30), confirmed_by=head),
                       e("announced", date(2015, 12, 15), decision_number=f"{100 + index}/QĐ-{code}", signer=head)]
        events += _maintenance(range(2016, 2018))
        if late:
            events += [e("head_confirmed", date(2017, 11, 27), confirmed_by=head),
                       e("announced", date(2017, 12, 11), decision_number=f"{200 + index}/QĐ-{code}", signer=head)]
        if index % 8 != 3:  # all but 5 converted to the 2015 version
            events += [e("version_converted", date(2019, 5, 6)),
                       e("head_confirmed", date(2019, 6, 3), confirmed_by=head),
                       e("announced", date(2019, 6, 17), decision_number=f"{300 + index}/QĐ-{code}", signer=head,
                         standard_version="2015")]
        events += _maintenance(range(2018, 2025), skip=lambda y: index % 5 == 4 and y >= 2022)
        await _write(ctx, agency["id"], events)


# ----------------------------------------------------------------------------------------------- Lạng Sơn


LANG_SON_SCENARIOS: dict[str, str] = {
    "LS": "up_to_date", "LS-VP": "review_due_soon", "LS-SNV": "audit_due_soon", "LS-STP": "up_to_date",
    "LS-SKHCN": "up_to_date", "LS-STC": "up_to_date", "LS-SCT": "still_2008", "LS-SXD": "applying",
    "LS-SYT": "legal_overdue", "LS-SGDDT": "audit_overdue", "LS-SVHTTDL": "building", "LS-TTRA": "suspended",
    "LS-STNMT": "reannouncement_due", "LS-SGTVT": "reannounced", "LS-SNNPTNT": "up_to_date",
    "LS-TPLS": "closed_district", "LS-CL": "closed_district", "LS-CG": "closed_district",
    "LS-DONGKINH": "building", "LS-DONGDANG": "applying",
}
HISTORY_END = date(2019, 11, 15)


def _lang_son_history(code: str, agency: dict[str, Any], convert: bool = True) -> list[dict[str, Any]]:
    head = f"Giám đốc {agency['name']}" if agency["level"] == "department" else f"Chủ tịch {agency['name']}"
    events = [
        e("build_started", date(2009, 3, 2), standard_version="2008",
          scope=_scope_for(code, agency["name"], agency["level"])),
        e("apply_started", date(2009, 9, 1)),
        *_maintenance(range(2010, 2020)),
        e("head_confirmed", date(2015, 3, 16), confirmed_by=head),
        e("announced", date(2015, 4, 1), decision_number=f"45/QĐ-{code}", signer=head),
    ]
    if convert:
        events += [e("version_converted", date(2018, 9, 3)),
                   e("head_confirmed", date(2018, 11, 26), confirmed_by=head),
                   e("announced", date(2018, 12, 3), decision_number=f"210/QĐ-{code}", signer=head,
                     standard_version="2015")]
    return events


def _lang_son_events(code: str, agency: dict[str, Any], scenario: str, today: date) -> list[dict[str, Any]]:
    head = f"Giám đốc {agency['name']}"
    start = agency["valid_from"]

    def upto(audit_ago: int, review_ago: int) -> list[dict[str, Any]]:
        return [*_recent(today, "internal_audit", audit_ago, HISTORY_END),
                *_recent(today, "management_review", review_ago, HISTORY_END)]

    if scenario == "closed_district":
        return [*_lang_son_history(code, agency), *_maintenance(range(2020, 2025))]
    if scenario == "building":
        return [e("build_started", max(start, today - timedelta(days=60)), standard_version="2015")]
    if scenario == "applying":
        built = max(start, today - timedelta(days=270))
        applied = max(built + timedelta(days=1), today - timedelta(days=150))
        audited = max(applied, today - timedelta(days=30))
        return [e("build_started", built, standard_version="2015",
                  scope=_scope_for(code, agency["name"], agency["level"])),
                e("apply_started", applied),
                e("internal_audit", audited, result="Còn điểm không phù hợp cần khắc phục", nonconformities=4)]
    history = _lang_son_history(code, agency, convert=scenario != "still_2008")
    if scenario == "audit_overdue":
        return [*history, *upto(425, 90)]
    if scenario == "audit_due_soon":
        return [*history, *upto(345, 90)]
    if scenario == "review_due_soon":
        return [*history, *upto(120, 350)]
    events = [*history, *upto(120, 90)]
    if scenario == "legal_overdue":
        events.append(e("legal_change_noted", today - timedelta(days=125),
                        legal_document="Thông tư sửa đổi quy định về thủ tục hành chính trong lĩnh vực y tế (demo)"))
    elif scenario == "suspended":
        events.append(e("suspended", today - timedelta(days=80), reason="Kiện toàn tổ chức bộ máy"))
    elif scenario == "reannouncement_due":
        events.append(e("scope_changed", today - timedelta(days=30), change="extended",
                        added=["Cấp giấy phép thăm dò khoáng sản"], description="Bổ sung TTHC mới được công bố"))
    elif scenario == "reannounced":
        events += [e("scope_changed", today - timedelta(days=200), change="narrowed",
                     removed=["Cấp phép thi công công trình trên đường bộ đang khai thác"],
                     description="TTHC chuyển sang thẩm quyền cấp xã"),
                   e("head_confirmed", today - timedelta(days=170), confirmed_by=head),
                   e("announced", today - timedelta(days=160), decision_number=f"320/QĐ-{code}", signer=head)]
    return events


async def seed_lang_son(ctx: TenantContext, agencies: dict[str, dict[str, Any]], today: date) -> None:
    await _set_deadline(ctx, date(2019, 12, 31), "Hạn chuyển đổi sang TCVN ISO 9001:2015 do tỉnh đặt - dữ liệu demo")
    for code, scenario in LANG_SON_SCENARIOS.items():
        agency = agencies.get(code)
        if agency is None or await _has_record(ctx, agency["id"]):
            continue
        await _write(ctx, agency["id"], _lang_son_events(code, agency, scenario, today))


async def seed(ctx: TenantContext, ids: dict[str, uuid.UUID], today: date | None = None) -> None:
    """Seed whichever demo province `ids` (agency code -> id) describes; other provinces get nothing."""
    today = today or date.today()
    agencies = await _agencies(ctx, ids)
    if "BG-VY" in agencies:
        await seed_viet_yen(ctx, agencies)
    if "TB" in agencies:
        await seed_thai_binh(ctx, agencies)
    if "LS" in agencies:
        await seed_lang_son(ctx, agencies, today)
