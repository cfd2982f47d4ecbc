"""Council review (thresholds, one-step results), decisions (locking), documents parsed back, history, facts."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import date
from typing import Any

import pytest

from plugins.awards import services
from plugins.awards.tests.conftest import Api, assert_problem
from plugins.awards.tests.test_workflow import inbox


@pytest.mark.parametrize("threshold,members,votes_for,outcome", [
    (50, 5, 3, "approved"), (50, 5, 2, "rejected"), (50, 4, 2, "rejected"), (50, 4, 3, "approved"),
    (70, 5, 3, "rejected"), (70, 5, 4, "approved"), (0, 3, 1, "approved"), (0, 3, 0, "rejected"),
])
def test_threshold_rule(threshold: int, members: int, votes_for: int, outcome: str) -> None:
    assert services.passes(votes_for, members, threshold) is (outcome == "approved")


async def test_council_meeting_and_results(api: Api) -> None:
    forms = await api.forms()
    bk, bo = forms["bang_khen_ubnd_tinh"], forms["bang_khen_bo_khcn"]
    a = await api.reviewed(bk, agency="D1", role="agency_officer")
    b = await api.reviewed(bk, agency="D2")
    c = await api.reviewed(bo, agency="C1")
    draft = await api.proposal(bk, agency="D1U")
    members = [{"full_name": "Lý Vinh Quang", "position": "Chủ tịch Hội đồng", "user_id": str(api.t.users["inspector"])},
               {"full_name": "Nguyễn Văn An", "position": "ủy viên"}, {"full_name": "Trần Thị Bình"},
               {"full_name": "Hoàng Minh Cường"}, {"full_name": "Vi Thị Dung"}]
    body = {"held_on": "2024-12-10", "members": members, "proposal_ids": [a["id"], b["id"], c["id"]],
            "place": "Phòng họp số 1"}
    assert_problem(await api.post("/meetings", {**body, "proposal_ids": [a["id"], draft["id"]]}), 409, "proposal_ids")
    assert_problem(await api.post("/meetings", {**body, "proposal_ids": [a["id"], a["id"]]}), 422, "proposal_ids")
    assert_problem(await api.post("/meetings", {**body, "members": [{"full_name": "X", "user_id": str(uuid.uuid4())}]}),
                   404, "members[0].user_id")
    assert_problem(await api.post("/meetings", body, "agency_officer"), 403)
    meeting = await api.ok("post", "/meetings", body)
    assert meeting["status"] == "scheduled" and meeting["member_count"] == 5
    assert sorted(meeting["proposal_ids"]) == sorted([a["id"], b["id"], c["id"]])
    assert any("Hội đồng Thi đua – Khen thưởng ngày 10/12/2024" in t for t in await inbox(api, "inspector"))
    assert_problem(await api.post("/meetings", {**body, "proposal_ids": [a["id"]]}), 409, "proposal_ids")
    assert_problem(await api.post(f"/proposals/{a['id']}/reject", {"reason": "Không qua Hội đồng"}), 409)

    url = f"/meetings/{meeting['id']}/results"
    full = [{"proposal_id": a["id"], "votes_for": 5, "votes_against": 0},
            {"proposal_id": b["id"], "votes_for": 2, "votes_against": 3},
            {"proposal_id": c["id"], "votes_for": 4, "votes_against": 1, "raise_to": "Bộ Khoa học và Công nghệ"}]
    assert_problem(await api.post(url, {"results": full[:2]}), 422, "results")  # one step: the whole agenda
    assert_problem(await api.post(url, {"results": [*full[:2], {**full[2], "votes_for": 5}]}), 422,
                   "results[2].votes_for")
    assert_problem(await api.post(url, {"results": [*full, {"proposal_id": draft["id"], "votes_for": 1,
                                                            "votes_against": 0}]}), 422, "results[3].proposal_id")
    assert_problem(await api.post(url, {"results": [*full, full[0]]}), 422, "results")
    assert_problem(await api.post(url, {"results": full}, "agency_officer"), 403)
    for p in (a, b, c):  # nothing was half-recorded
        assert (await api.get(f"/proposals/{p['id']}")).json()["status"] == "reviewed"
    done = await api.ok("post", url, {"results": full}, status=200)
    assert done["outcomes"] == {a["id"]: "approved", b["id"]: "rejected", c["id"]: "raised"}
    assert done["meeting"]["status"] == "held" and done["meeting"]["threshold_percent"] == 50
    assert_problem(await api.post(url, {"results": full}), 409)
    got_b = (await api.get(f"/proposals/{b['id']}")).json()
    assert (got_b["votes_for"], got_b["votes_against"]) == (2, 3) and "2/5" in got_b["status_reason"]
    got_c = (await api.get(f"/proposals/{c['id']}")).json()
    assert got_c["raised_to"] == "Bộ Khoa học và Công nghệ"
    assert any("Được Hội đồng thống nhất" in t for t in await inbox(api, "agency_officer"))
    assert (await api.get("/proposals", meeting_id=meeting["id"])).json()["total"] == 3


async def test_threshold_is_a_province_setting(api: Api) -> None:
    assert (await api.get("/settings", "viewer")).json()["approval_threshold_percent"] == 50
    assert_problem(await api.patch("/settings", {"approval_threshold_percent": 70}, "agency_officer"), 403)
    assert_problem(await api.patch("/settings", {"approval_threshold_percent": 100}), 400,
                   "approval_threshold_percent")
    assert_problem(await api.patch("/settings", {"issuer": "   "}), 422, "issuer")
    r = await api.patch("/settings", {"approval_threshold_percent": 70, "place_name": "Lạng Sơn"})
    assert r.status_code == 200 and r.json()["approval_threshold_percent"] == 70
    bk = (await api.forms())["bang_khen_ubnd_tinh"]
    a, b = await api.reviewed(bk, agency="D1"), await api.reviewed(bk, agency="D2")
    meeting = await api.meeting([a["id"], b["id"]])
    done = await api.ok("post", f"/meetings/{meeting['id']}/results", {"results": [
        {"proposal_id": a["id"], "votes_for": 3, "votes_against": 2},
        {"proposal_id": b["id"], "votes_for": 4, "votes_against": 1}]}, status=200)
    assert done["outcomes"] == {a["id"]: "rejected", b["id"]: "approved"}
    assert done["meeting"]["threshold_percent"] == 70


async def _approved(api: Api, form: dict[str, Any], **kw: Any) -> dict[str, Any]:
    p = await api.reviewed(form, **kw)
    m = await api.meeting([p["id"]])
    await api.ok("post", f"/meetings/{m['id']}/results", {"results": [
        {"proposal_id": p["id"], "votes_for": 5, "votes_against": 0}]}, status=200)
    return p


async def test_decision_issue_locks_and_documents_parse_back(api: Api) -> None:
    from docx import Document
    from openpyxl import load_workbook

    await api.patch("/settings", {"place_name": "Lạng Sơn", "issuer": "UBND tỉnh Lạng Sơn"})
    forms = await api.forms()
    bk, gk = forms["bang_khen_ubnd_tinh"], forms["giay_khen"]
    person = await api.person("D2", name="Nguyễn Thị Hoa", position="Thư ký ISO")
    a = await _approved(api, bk, agency="D1")
    b = await _approved(api, bk, person=person)
    other_form = await _approved(api, gk, agency="D2")
    pending = await api.reviewed(bk, agency="C1")
    body = {"number": "112/QĐ-UBND", "decided_on": "2024-12-20", "signer": "Nguyễn Văn Hùng",
            "form_id": bk["id"], "proposal_ids": [a["id"], b["id"]]}
    assert_problem(await api.post("/decisions", {**body, "proposal_ids": [a["id"], pending["id"]]}), 409,
                   "proposal_ids")
    assert_problem(await api.post("/decisions", {**body, "proposal_ids": [other_form["id"]]}), 422, "proposal_ids")
    assert_problem(await api.post("/decisions", body, "agency_officer"), 403)
    decision = await api.ok("post", "/decisions", body)
    assert (decision["status"], decision["collectives"], decision["individuals"]) == ("draft", 1, 1)
    assert decision["issuer"] == "UBND tỉnh Lạng Sơn" and decision["signer_title"] == "CHỦ TỊCH"
    assert_problem(await api.post("/decisions", {**body, "number": "112/qđ-ubnd"}), 409)  # same number and year
    # wording may still be corrected while the decision is a draft
    await api.ok("patch", f"/proposals/{a['id']}", {"achievement": "Có thành tích xuất sắc trong áp dụng HTQLCL"})
    issued = await api.ok("post", f"/decisions/{decision['id']}/issue", status=200)
    assert issued["status"] == "issued" and issued["issued_at"]
    assert_problem(await api.post(f"/decisions/{decision['id']}/issue"), 409)
    assert_problem(await api.patch(f"/decisions/{decision['id']}", {"signer": "Người khác"}), 409)
    locked = (await api.get(f"/proposals/{a['id']}")).json()
    assert locked["locked"] and locked["decision_number"] == "112/QĐ-UBND" and locked["awarded_on"] == "2024-12-20"
    assert_problem(await api.patch(f"/proposals/{a['id']}", {"achievement": "sửa"}), 409, contains="locked")
    assert_problem(await api.post("/decisions", {**body, "number": "113/QĐ-UBND", "proposal_ids": [a["id"]]}), 409)

    from plugins.awards import reporting
    from core.errors import Forbidden

    with pytest.raises(Forbidden):
        await reporting.check_proposal(await api.t.ctx(), uuid.UUID(a["id"]), True)
    await reporting.check_proposal(await api.t.ctx(), uuid.UUID(a["id"]), False)
    await reporting.check_decision(await api.t.ctx(), uuid.UUID(decision["id"]), True)

    r = await api.get(f"/decisions/{decision['id']}/annex.docx", "viewer")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/vnd.openxmlformats")
    doc = Document(io.BytesIO(r.content))
    header = [p.text for cell in doc.tables[0]._cells for p in cell.paragraphs]
    assert "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in header and "Độc lập - Tự do - Hạnh phúc" in header
    assert "UBND TỈNH LẠNG SƠN" in header and "Số: 112/QĐ-UBND" in header
    assert "Lạng Sơn, ngày 20 tháng 12 năm 2024" in header
    texts = [p.text for p in doc.paragraphs]
    assert "DANH SÁCH TẬP THỂ, CÁ NHÂN ĐƯỢC TẶNG BẰNG KHEN CỦA CHỦ TỊCH UBND TỈNH" in texts
    assert any(t.startswith("(Kèm theo Quyết định số 112/QĐ-UBND ngày 20/12/2024") for t in texts)
    collectives = [[c.text for c in row.cells] for row in doc.tables[1].rows]
    assert collectives == [["STT", "Tên tập thể", "Thành tích"],
                           ["1", "Sở Giao thông Vận tải", "Có thành tích xuất sắc trong áp dụng HTQLCL"]]
    people = [[c.text for c in row.cells] for row in doc.tables[2].rows]
    assert people[1][:3] == ["1", "Nguyễn Thị Hoa", "Thư ký ISO, Sở Tư pháp"]
    signature = [p.text for cell in doc.tables[3]._cells for p in cell.paragraphs]
    assert "CHỦ TỊCH" in signature and "Nguyễn Văn Hùng" in signature

    r = await api.get(f"/decisions/{decision['id']}/annex.xlsx")
    assert r.status_code == 200
    ws = load_workbook(io.BytesIO(r.content)).active
    rows = [list(row) for row in ws.iter_rows(values_only=True)]
    assert rows[0][0] == "UBND TỈNH LẠNG SƠN" and rows[0][3] == "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"
    head = rows.index(["STT", "Đối tượng", "Tên tập thể / Họ và tên", "Chức vụ", "Đơn vị", "Thành tích"])
    assert [r[:5] for r in rows[head + 1:]] == [[1, "Tập thể", "Sở Giao thông Vận tải", None, "Sở Giao thông Vận tải"],
                                                 [2, "Cá nhân", "Nguyễn Thị Hoa", "Thư ký ISO", "Sở Tư pháp"]]

    # history: per agency, per person, accent-insensitive search, export
    hist = (await api.get("/history", q="nguyen thi hoa")).json()
    assert hist["total"] == 1 and hist["items"][0]["form_code"] == "bang_khen_ubnd_tinh"
    assert (await api.get(f"/agencies/{api.t.agencies['D1']}/history")).json()["total"] == 1
    assert (await api.get(f"/people/{person}/history")).json()["items"][0]["position"] == "Thư ký ISO"
    assert_problem(await api.get(f"/people/{uuid.uuid4()}/history"), 404)
    from core.plugins import get_plugin_system

    sheet = await get_plugin_system().facts(await api.t.ctx(), people=[uuid.UUID(person)], on=date(2025, 1, 1))
    assert sheet.value(uuid.UUID(person), "awards.history") == [
        {"year": 2024, "form": "bang_khen_ubnd_tinh", "level": "province", "decision": "112/QĐ-UBND"}]
    r = await api.get("/history.csv", year=2024)
    lines = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert lines[0][:3] == ["Năm", "Đối tượng", "Tên tập thể / Họ và tên"] and len(lines) == 3
    assert {line[2] for line in lines[1:]} == {"Sở Giao thông Vận tải", "Nguyễn Thị Hoa"}
    ws = load_workbook(io.BytesIO((await api.get("/history.xlsx", subject="individual")).content)).active
    assert [c.value for c in ws[2]][2] == "Nguyễn Thị Hoa" and ws.max_row == 2


async def test_draft_decision_changes_and_awards_history_feeds_consecutive_years(api: Api) -> None:
    forms = await api.forms()
    bk, co = forms["bang_khen_ubnd_tinh"], forms["co_thi_dua_ubnd_tinh"]
    ids = []
    for year in (2022, 2023):
        p = await _approved(api, bk, agency="D1", year=year)
        d = await api.ok("post", "/decisions", {"number": f"{year}/QĐ-UBND", "decided_on": f"{year}-12-15",
                                                 "signer": "Nguyễn Văn Hùng", "form_id": bk["id"],
                                                 "proposal_ids": [p["id"]]})
        ids.append(d["id"])
    extra = await _approved(api, bk, agency="D2", year=2023)
    changed = await api.ok("patch", f"/decisions/{ids[1]}", {"proposal_ids": [extra["id"]], "number": "99/QĐ-UBND"})
    assert [a["awardee_name"] for a in changed["awardees"]] == ["Sở Tư pháp"] and changed["number"] == "99/QĐ-UBND"
    back = await api.ok("patch", f"/decisions/{ids[1]}", {"proposal_ids": [p["id"], extra["id"]]})
    assert len(back["awardees"]) == 2
    draft_view = await api.get(f"/decisions/{ids[0]}/annex.docx")
    from docx import Document

    assert "DỰ THẢO" in [x.text for x in Document(io.BytesIO(draft_view.content)).paragraphs]
    co_draft = await api.proposal(co, agency="D1")
    consecutive = next(c for c in co_draft["eligibility"]["criteria"] if c["code"].startswith("consecutive"))
    assert consecutive["status"] == "unmet" and "thiếu năm 2022, 2023" in consecutive["explanation"]
    for d in ids:
        await api.ok("post", f"/decisions/{d}/issue", status=200)
    co_now = (await api.get(f"/proposals/{co_draft['id']}")).json()
    consecutive = next(c for c in co_now["eligibility"]["criteria"] if c["code"].startswith("consecutive"))
    assert consecutive["status"] == "met" and "(2022–2023)" in consecutive["explanation"]
    assert_problem(await api.post(f"/proposals/{co_draft['id']}/overrides", {
        "criterion": consecutive["code"], "reason": "Không cần vượt tiêu chí đã đạt"}), 409, "criterion")
    from core.plugins import get_plugin_system

    sheet = await get_plugin_system().facts(await api.t.ctx(), agencies=[api.t.agencies["D1"], api.t.agencies["C1"]],
                                            on=date(2024, 1, 1))
    history = sheet.value(api.t.agencies["D1"], "awards.history")
    assert [(h["year"], h["form"], h["decision"]) for h in history] == [
        (2022, "bang_khen_ubnd_tinh", "2022/QĐ-UBND"), (2023, "bang_khen_ubnd_tinh", "99/QĐ-UBND")]
    assert sheet.value(api.t.agencies["C1"], "awards.history") == []
    assert "Bằng khen của Chủ tịch UBND tỉnh năm 2022" in sheet.get(api.t.agencies["D1"], "awards.history").explanation
    early = await get_plugin_system().facts(await api.t.ctx(), agencies=[api.t.agencies["D1"]], on=date(2023, 1, 1))
    assert len(early.value(api.t.agencies["D1"], "awards.history")) == 1
