"""The province-wide status board: counts on the seeded demo provinces, filters, search, paging, and export."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime
from typing import Any

from openpyxl import load_workbook

from plugins.certification import demo
from plugins.certification.tests.conftest import SEED_DAY, Api, Seeded, assert_problem

async def summary(s: Seeded, **params: Any) -> dict[str, Any]:
    r = await s.api.get("/board/summary", "viewer", **params)
    assert r.status_code == 200, r.text
    return r.json()


async def board(s: Seeded, **params: Any) -> dict[str, Any]:
    r = await s.api.get("/board", "viewer", **{"limit": 500, **params})
    assert r.status_code == 200, r.text
    return r.json()


# ----------------------------------------------------------------------------------------------- seeded counts


async def test_lang_son_board_shows_every_state(lang_son: Seeded) -> None:
    s = await summary(lang_son, as_of=SEED_DAY.isoformat(), parent_id=lang_son.id("LS"))
    assert s["total"] == 21  # UBND tỉnh, 14 departments, Chi cục TĐC, 5 new communes; the districts are closed
    assert s["by_status"] == {"not_started": 4, "building": 2, "applying": 2, "announced": 12, "suspended": 1,
                              "withdrawn": 0}
    assert s["by_level"]["department"]["total"] == 14
    assert s["by_level"]["department"]["by_status"]["announced"] == 11
    assert s["by_level"]["commune"]["by_status"] == {"not_started": 3, "building": 1, "applying": 1, "announced": 0,
                                                     "suspended": 0, "withdrawn": 0}
    assert s["by_level"]["district"]["total"] == 0
    assert s["by_required"]["required"]["total"] == 15 and s["by_required"]["voluntary"]["total"] == 6
    assert s["by_version"] == {"2008": 1, "2015": 16, "none": 4}
    assert s["overdue"] == 4 and s["reannouncement_due"] == 1
    assert s["overdue_by_reason"] == {"internal_audit": 1, "management_review": 0, "legal_update": 1,
                                      "reannouncement": 1, "conversion": 1}
    overdue = await board(lang_son, as_of=SEED_DAY.isoformat(), overdue="true")
    assert {(r["agency_code"], tuple(r["overdue_reasons"])) for r in overdue["items"]} == {
        ("LS-SGDDT", ("internal_audit",)), ("LS-SYT", ("legal_update",)), ("LS-STNMT", ("reannouncement",)),
        ("LS-SCT", ("conversion",))}


async def test_lang_son_districts_are_history(lang_son: Seeded) -> None:
    before = await summary(lang_son, as_of="2024-12-31", level="district")
    assert before["total"] == 3 and before["by_status"]["announced"] == 3 and before["by_version"]["2015"] == 3
    assert (await summary(lang_son, as_of=SEED_DAY.isoformat(), level="district"))["total"] == 0
    closed = await board(lang_son, as_of=SEED_DAY.isoformat(), level="district", include_closed="true")
    assert [r["active"] for r in closed["items"]] == [False] * 3
    assert all(r["status"] == "announced" and r["overdue_reasons"] == [] for r in closed["items"])


async def test_viet_yen_communes_announced_on_2015_and_recognised_in_january_2019(bac_ninh: Seeded) -> None:
    communes = {"parent_id": bac_ninh.id("BG-VY"), "level": "commune"}
    s = await summary(bac_ninh, as_of="2019-01-17", **communes)
    assert s["total"] == 19 and s["by_status"]["announced"] == 19 and s["by_version"] == {"2008": 0, "2015": 19,
                                                                                           "none": 0}
    rows = (await board(bac_ninh, as_of="2019-01-17", **communes))["items"]
    assert {(r["recognition_date"], r["recognition_issuer"]) for r in rows} == {("2019-01-17", "UBND huyện Việt Yên")}
    announced_2017 = {r["agency_code"] for r in rows if r["announced_on"] < "2018-01-01"}
    assert announced_2017 == {"BG-VY-BICHDONG", "BG-VY-NINHSON"}
    s2018 = await summary(bac_ninh, as_of="2018-06-30", **communes)
    assert (s2018["by_status"]["announced"], s2018["by_status"]["applying"]) == (2, 17)
    s2017 = await summary(bac_ninh, as_of="2017-12-31", **communes)
    assert (s2017["by_status"]["announced"], s2017["by_status"]["not_started"]) == (2, 17)
    later = await board(bac_ninh, as_of="2024-06-30", overdue="true", **communes)
    assert [(r["agency_code"], r["overdue_reasons"]) for r in later["items"]] == \
        [("BG-VY-VIETTIEN", ["internal_audit", "management_review"])]
    assert (await summary(bac_ninh, **communes))["total"] == 0  # closed on 2025-07-01


async def test_viet_yen_district_converts_before_the_deadline(bac_ninh: Seeded) -> None:
    settings = (await bac_ninh.api.get("/settings", "viewer")).json()
    assert settings["conversion_deadline"] == "2019-07-31"
    before = (await board(bac_ninh, as_of="2019-06-01", q="viet yen", level="district"))["items"]
    assert [(r["agency_code"], r["standard_version"], r["overdue_reasons"]) for r in before] == \
        [("BG-VY", "2008", [])]
    after = (await board(bac_ninh, as_of="2019-06-20", q="viet yen", level="district"))["items"][0]
    assert after["standard_version"] == "2015" and after["reannouncement_due"]
    assert after["overdue_reasons"] == ["reannouncement"]
    done = (await board(bac_ninh, as_of="2019-08-01", q="viet yen", level="district"))["items"][0]
    assert done["announcement_number"] == "2150/QĐ-UBND" and done["overdue_reasons"] == []


async def test_thai_binh_41_required_agencies_applying_2008_by_2016(hung_yen: Seeded) -> None:
    tb = {"parent_id": hung_yen.id("TB"), "required": "true"}
    s = await summary(hung_yen, as_of="2016-12-31", **tb)
    assert s["total"] == 41
    assert s["by_status"]["applying"] + s["by_status"]["announced"] == 41 and s["by_status"]["announced"] == 36
    assert s["by_version"]["2008"] == 41
    assert s["by_level"]["department"]["total"] == 18 and s["by_level"]["district"]["total"] == 8
    assert s["by_level"]["office"]["total"] == 14 and s["by_level"]["province"]["total"] == 1
    s2019 = await summary(hung_yen, as_of="2019-12-31", **tb)
    assert s2019["by_status"]["announced"] == 41 and s2019["by_version"] == {"2008": 5, "2015": 36, "none": 0}
    s2024 = await summary(hung_yen, as_of="2024-06-30", **tb)
    assert s2024["overdue_by_reason"]["internal_audit"] == 8 and s2024["overdue_by_reason"]["conversion"] == 0
    assert (await summary(hung_yen, **tb))["total"] == 0  # Thái Bình's agencies closed on 2025-07-01
    assert (await summary(hung_yen, include_closed="true", **tb))["total"] == 41


async def test_seeding_twice_changes_nothing(lang_son: Seeded) -> None:
    ctx = await lang_son.api.t.ctx()
    before = await summary(lang_son, as_of=SEED_DAY.isoformat())
    timeline = (await lang_son.api.get(f"/agencies/{lang_son.id('LS-STP')}/timeline")).json()["total"]
    await demo.seed(ctx, lang_son.ids, today=SEED_DAY)
    assert await summary(lang_son, as_of=SEED_DAY.isoformat()) == before
    assert (await lang_son.api.get(f"/agencies/{lang_son.id('LS-STP')}/timeline")).json()["total"] == timeline


# ----------------------------------------------------------------------------------------------- filters, search, paging


async def test_filters_search_and_paging(lang_son: Seeded) -> None:
    day = SEED_DAY.isoformat()
    rows = (await board(lang_son, as_of=day))["items"]
    assert len(rows) == 26  # the 21 of Lạng Sơn and the 5 agencies every test province starts with
    assert [r["level"] for r in rows] == sorted((r["level"] for r in rows),
                                                key=["province", "department", "district", "office", "commune",
                                                     "unit"].index)
    found = await board(lang_son, as_of=day, q="tai nguyen")
    assert [r["agency_name"] for r in found["items"]] == ["Sở Tài nguyên và Môi trường"]
    found = await board(lang_son, as_of=day, q="GIAO THÔNG")
    assert {r["agency_name"] for r in found["items"]} == {"Sở Giao thông Vận tải"}
    assert (await board(lang_son, as_of=day, q="ls-syt"))["items"][0]["agency_code"] == "LS-SYT"
    both = await board(lang_son, as_of=day, status=["building", "suspended"])
    assert sorted(r["agency_code"] for r in both["items"]) == ["LS-DONGKINH", "LS-SVHTTDL", "LS-TTRA"]
    assert (await board(lang_son, as_of=day, standard_version="2008"))["items"][0]["agency_code"] == "LS-SCT"
    assert (await board(lang_son, as_of=day, overdue_reason="legal_update"))["items"][0]["agency_code"] == "LS-SYT"
    voluntary = await board(lang_son, as_of=day, required="false", parent_id=lang_son.id("LS"))
    assert sorted(r["agency_code"] for r in voluntary["items"]) == \
        ["LS-CAOLOC", "LS-CHILANG", "LS-DONGDANG", "LS-DONGKINH", "LS-TAMTHANH", "LS-TDC"]
    page = await lang_son.api.get("/board", "viewer", as_of=day, limit=5, offset=20)
    body = page.json()
    assert (body["total"], body["limit"], body["offset"], len(body["items"])) == (26, 5, 20, 5)
    assert [r["agency_code"] for r in body["items"]] == [r["agency_code"] for r in rows[20:25]]
    assert body["as_of"] == day
    assert (await lang_son.api.get("/board", "viewer")).json()["as_of"] == date.today().isoformat()
    assert_problem(await lang_son.api.get("/board", parent_id="00000000-0000-4000-8000-000000000000"), 404)


async def test_reminders_of_the_seeded_province(lang_son: Seeded) -> None:
    from core.plugins import get_plugin_system

    ctx = await lang_son.api.t.ctx()
    [(module, reminders)] = await get_plugin_system().collect("isogov_reminders", modules=["certification"], ctx=ctx,
                                                              day=SEED_DAY)
    assert module == "certification"
    found = {(str(r.agency_id), r.kind, r.status) for r in reminders}
    assert found == {
        (lang_son.id("LS-VP"), "management_review_due", "due"), (lang_son.id("LS-SNV"), "internal_audit_due", "due"),
        (lang_son.id("LS-SCT"), "conversion_due", "overdue"), (lang_son.id("LS-SYT"), "legal_update_due", "overdue"),
        (lang_son.id("LS-SGDDT"), "internal_audit_due", "overdue"),
        (lang_son.id("LS-STNMT"), "reannouncement_due", "overdue"),
    }
    conversion = next(r for r in reminders if r.kind == "conversion_due")
    assert conversion.key == f"certification:conversion_due:{lang_son.id('LS-SCT')}:2019-12-31"
    assert conversion.audience == ("agency_officer", "tenant_admin") and "TCVN ISO 9001:2015" in conversion.title
    # the keys are stable: the same scan the next day names the same items
    again = (await get_plugin_system().collect("isogov_reminders", modules=["certification"], ctx=ctx,
                                               day=SEED_DAY))[0][1]
    assert [r.key for r in again] == [r.key for r in reminders]


# ----------------------------------------------------------------------------------------------- export


def _parse_csv(content: bytes) -> list[dict[str, str]]:
    assert content.startswith("\ufeff".encode("utf-8"))
    return list(csv.DictReader(io.StringIO(content.decode("utf-8-sig"))))


async def test_csv_export_has_vietnamese_headers_and_the_board_rows(lang_son: Seeded) -> None:
    day = SEED_DAY.isoformat()
    r = await lang_son.api.get("/board.csv", "viewer", as_of=day, parent_id=lang_son.id("LS"))
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert f'filename="htqlcl-{lang_son.api.t.code}-{day}.csv"' in r.headers["content-disposition"]
    rows = _parse_csv(r.content)
    assert len(rows) == 21
    assert list(rows[0])[:6] == ["Mã cơ quan", "Tên cơ quan", "Cấp", "Thuộc đối tượng bắt buộc", "Còn hoạt động",
                                 "Trạng thái HTQLCL"]
    by_code = {row["Mã cơ quan"]: row for row in rows}
    stnmt = by_code["LS-STNMT"]
    assert stnmt["Tên cơ quan"] == "Sở Tài nguyên và Môi trường" and stnmt["Cấp"] == "Sở, ban, ngành"
    assert stnmt["Trạng thái HTQLCL"] == "Đã công bố" and stnmt["Chờ công bố lại"] == "Có"
    assert stnmt["Quá hạn"] == "Có" and stnmt["Lý do quá hạn"] == "Chưa công bố lại sau khi thay đổi"
    assert stnmt["Phiên bản TCVN ISO 9001"] == "2015" and stnmt["Số quyết định công bố"] == "210/QĐ-LS-STNMT"
    assert stnmt["Ngày công bố"] == "03/12/2018" and stnmt["Số TTHC trong phạm vi"] == "5"
    assert by_code["LS-TDC"]["Trạng thái HTQLCL"] == "Chưa triển khai" and by_code["LS-TDC"]["Ngày công bố"] == ""
    assert by_code["LS-SCT"]["Lý do quá hạn"].startswith("Chưa chuyển đổi sang TCVN ISO 9001:2015")
    only_overdue = _parse_csv((await lang_son.api.get("/board.csv", as_of=day, overdue="true")).content)
    assert sorted(row["Mã cơ quan"] for row in only_overdue) == ["LS-SCT", "LS-SGDDT", "LS-STNMT", "LS-SYT"]


async def test_xlsx_export_matches_the_board(lang_son: Seeded) -> None:
    day = SEED_DAY.isoformat()
    r = await lang_son.api.get("/board.xlsx", "viewer", as_of=day, parent_id=lang_son.id("LS"))
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    sheet = load_workbook(io.BytesIO(r.content)).worksheets[0]
    values = list(sheet.iter_rows(values_only=True))
    assert values[0][0].startswith("Bảng theo dõi HTQLCL") and SEED_DAY.strftime("%d/%m/%Y") in values[0][0]
    assert sheet.freeze_panes == "A3" and sheet["A2"].font.bold  # the title, then the header frozen under it
    assert sheet.column_dimensions["B"].width >= min(58, max(len(row[1] or "") for row in values[2:]))  # names fit
    header, rows = values[1], values[2:]
    assert header[0] == "Mã cơ quan" and header[5] == "Trạng thái HTQLCL" and header[-1] == "Lý do quá hạn"
    board_rows = (await board(lang_son, as_of=day, parent_id=lang_son.id("LS")))["items"]
    assert [row[0] for row in rows] == [b["agency_code"] for b in board_rows]
    sgtvt = dict(zip(header, next(row for row in rows if row[0] == "LS-SGTVT")))
    assert sgtvt["Trạng thái HTQLCL"] == "Đã công bố" and sgtvt["Số TTHC trong phạm vi"] == 4
    assert isinstance(sgtvt["Ngày công bố"], datetime) and sgtvt["Ngày công bố"].date().isoformat() == \
        next(b["announced_on"] for b in board_rows if b["agency_code"] == "LS-SGTVT")
    assert sgtvt["Quá hạn"] == "Không" and not sgtvt["Lý do quá hạn"]


async def test_export_neutralises_spreadsheet_formulas(api: Api, client: Any) -> None:
    r = await client.post(api.t.url("/agencies"), headers=api.t.headers(),
                          json={"code": "EVIL", "name": "=HYPERLINK(\"http://x\",\"bấm\")", "level": "unit",
                                "parent_id": str(api.t.agencies["P"]), "valid_from": "2010-01-01"})
    assert r.status_code == 201, r.text
    rows = _parse_csv((await api.get("/board.csv", q="hyperlink")).content)
    assert rows[0]["Tên cơ quan"] == "'=HYPERLINK(\"http://x\",\"bấm\")"
    sheet = load_workbook(io.BytesIO((await api.get("/board.xlsx", q="hyperlink")).content)).worksheets[0]
    cell = sheet.cell(row=3, column=2)  # under the title and the header
    assert cell.data_type == "s" and cell.value.startswith("'=")


async def test_xlsx_export_of_text_with_control_characters(api: Api) -> None:
    # text pasted from Word carries a vertical tab (\x0b); XML 1.0 (and so XLSX) cannot hold it
    await api.announce_ready("P")
    await api.ok("P", "announced", date(2019, 7, 1), decision_number="12/QĐ-\x01STP", signer="\x01=Giám đốc\x0bSở")
    r = await api.get("/board.xlsx", "viewer")
    assert r.status_code == 200, r.text
    sheet = load_workbook(io.BytesIO(r.content)).worksheets[0]
    values = list(sheet.iter_rows(values_only=True))
    numbers = [v[7] for v in values[2:] if v[7]]
    signers = [v[9] for v in values[2:] if v[9]]
    assert numbers == ["12/QĐ-STP"] and signers == ["'=Giám đốc Sở"], (numbers, signers)
