"""Attendance thresholds, exams, certificates: numbering without gaps or duplicates (concurrent closes), expiry,
revocation, and the printable document parsed back."""

from __future__ import annotations

import asyncio
import io
import uuid
from datetime import date, timedelta
from typing import Any

from plugins.training import certificates
from plugins.training.tests.conftest import TODAY, Api, assert_problem


def test_expiry_and_month_arithmetic() -> None:
    assert certificates.expiry(date(2021, 9, 15), 36) == date(2024, 9, 14)
    assert certificates.expiry(date(2021, 9, 15), None) is None
    assert certificates.add_months(date(2024, 1, 31), 1) == date(2024, 2, 29)
    assert certificates.add_months(date(2023, 1, 31), 1) == date(2023, 2, 28)
    assert certificates.add_months(date(2024, 3, 31), -13) == date(2023, 2, 28)
    cert = {"issued_on": date(2021, 9, 15), "expires_on": date(2024, 9, 14), "revoked_on": None}
    assert certificates.valid_on(cert, date(2024, 9, 14)) and not certificates.valid_on(cert, date(2024, 9, 15))
    assert not certificates.valid_on(cert, date(2021, 9, 14))
    assert not certificates.valid_on({**cert, "revoked_on": date(2022, 1, 1)}, date(2022, 1, 1))


async def test_attendance_threshold_and_exam_decide_who_gets_a_certificate(api: Api) -> None:
    await api.ok("patch", f"/kinds/{(await api.kind('AWARENESS'))['id']}", {"attendance_threshold": 60})
    start = TODAY - timedelta(days=40)
    s, regs = await api.past_session("AWARENESS", days=3, start=start, people=4)
    ids = [str(r["id"]) for r in regs]
    day = lambda n: (start + timedelta(days=n)).isoformat()  # noqa: E731
    assert_problem(await api.post(f"/sessions/{s['id']}/attendance", {"day": day(0), "present": ids}), 409,
                   field="session")  # not held yet
    await api.move(s["id"], "held", on=start)
    assert_problem(await api.post(f"/sessions/{s['id']}/attendance", {"day": day(3), "present": ids}), 422,
                   field="day")
    assert_problem(await api.post(f"/sessions/{s['id']}/attendance", {"day": day(0), "present": [str(uuid.uuid4())]}),
                   404, field="present")
    assert_problem(await api.post(f"/sessions/{s['id']}/scores",
                                  {"scores": [{"registration_id": ids[0], "score": 9}]}), 409, field="scores")
    assert_problem(await api.post(f"/sessions/{s['id']}/attendance", {"day": day(0), "present": ids}, "agency_officer"),
                   403)
    # 3 days, threshold 60 %: 2 days suffice (200 ≥ 180), 1 does not
    await api.ok("post", f"/sessions/{s['id']}/attendance", {"day": day(0), "present": ids}, status=200)
    await api.ok("post", f"/sessions/{s['id']}/attendance", {"day": day(1), "present": ids[:2]}, status=200)
    rows = await api.ok("post", f"/sessions/{s['id']}/attendance", {"day": day(2), "present": ids[:1] + ids[2:3]},
                        status=200)
    by_id = {r["id"]: r for r in rows}
    assert [by_id[i]["attended_count"] for i in ids] == [3, 2, 2, 1]
    assert [by_id[i]["eligible"] for i in ids] == [True, True, True, False]
    # correcting a day replaces it: the fourth was there on day 2 after all
    rows = await api.ok("post", f"/sessions/{s['id']}/attendance", {"day": day(1), "present": ids[:2] + ids[3:]},
                        status=200)
    assert {r["id"]: r["attended_count"] for r in rows}[ids[3]] == 2
    done = await api.move(s["id"], "closed", on=start + timedelta(days=2))
    assert done["certificates_issued"] == 4 and done["session"]["certificates_issued"] == 4
    assert_problem(await api.post(f"/sessions/{s['id']}/attendance", {"day": day(0), "present": ids}), 409)
    certs = (await api.ok("get", f"/certificates?session_id={s['id']}"))["items"]
    assert all(c["expires_on"] is None and c["valid_today"] for c in certs)  # awareness does not expire

    ia_start = TODAY - timedelta(days=20)
    s2, regs2 = await api.past_session("INTERNAL_AUDITOR", days=1, start=ia_start, people=3)
    ids2 = [str(r["id"]) for r in regs2]
    await api.move(s2["id"], "held", on=ia_start)
    await api.ok("post", f"/sessions/{s2['id']}/attendance", {"day": ia_start.isoformat(), "present": ids2},
                 status=200)
    assert_problem(await api.post(f"/sessions/{s2['id']}/scores", {"scores": [{"registration_id": ids2[0],
                                                                                "score": 11}]}), 400)
    await api.ok("post", f"/sessions/{s2['id']}/scores", {"scores": [
        {"registration_id": ids2[0], "score": 4.5}, {"registration_id": ids2[1], "score": 5}]}, status=200)
    done = await api.move(s2["id"], "closed")
    assert done["certificates_issued"] == 1  # 4.5 failed, 5 passed, no score is not a pass
    [cert] = (await api.ok("get", f"/certificates?session_id={s2['id']}"))["items"]
    assert cert["registration_id"] == ids2[1] and cert["internal_auditor"]
    assert cert["expires_on"] == certificates.expiry(TODAY, 36).isoformat()


async def test_numbers_run_per_province_and_year_and_revocation_keeps_the_row(api: Api, make_tenant: Any) -> None:
    year = TODAY.year - 1
    s1, _ = await api.past_session(start=date(year, 3, 2), days=1, people=2)
    s2, _ = await api.past_session(start=date(year, 5, 4), days=1, people=3)
    for s, start in ((s1, date(year, 3, 2)), (s2, date(year, 5, 4))):
        await api.move(s["id"], "held", on=start)
        regs = await api.ok("get", f"/sessions/{s['id']}/registrations")
        await api.ok("post", f"/sessions/{s['id']}/attendance", {"day": start.isoformat(),
                                                                 "present": [r["id"] for r in regs]}, status=200)
        await api.move(s["id"], "closed", on=start)
    page = await api.ok("get", f"/certificates?year={year}&limit=10")
    assert page["total"] == 5
    assert sorted(c["number"] for c in page["items"]) == [1, 2, 3, 4, 5]
    assert {c["number_text"] for c in page["items"]} == {f"{n}/{year}/CN-TĐC" for n in range(1, 6)}
    first = next(c for c in page["items"] if c["number"] == 1)
    assert (await api.ok("get", f"/certificates?q={first['number_text']}"))["total"] == 1
    folded = first["full_name"].replace("Người học", "nguoi hoc")
    assert (await api.ok("get", "/certificates", role="viewer"))["total"] == 5
    assert any(c["id"] == first["id"] for c in (await api.ok("get", f"/certificates?q={folded}"))["items"])
    assert_problem(await api.post(f"/certificates/{first['id']}/revoke", {"reason": "x"}, "agency_officer"), 403)
    assert_problem(await api.post(f"/certificates/{first['id']}/revoke",
                                  {"reason": "x", "on": (date(year, 3, 1)).isoformat()}), 422, field="on")
    assert_problem(await api.post(f"/certificates/{first['id']}/revoke", {"reason": ""}), 400, field="reason")
    r = await api.ok("post", f"/certificates/{first['id']}/revoke", {"reason": "Cấp nhầm người"}, status=200)
    assert r["status"] == "revoked" and r["revoked_reason"] == "Cấp nhầm người" and r["revoked_by"]
    assert_problem(await api.post(f"/certificates/{first['id']}/revoke", {"reason": "again"}), 409)
    assert (await api.ok("get", f"/certificates?year={year}&status=revoked"))["total"] == 1
    assert (await api.ok("get", f"/certificates?year={year}"))["total"] == 5  # never deleted
    # another province numbers from 1 too
    other = Api(api.client, await make_tenant(modules=["training"]))
    s3, _ = await other.past_session(start=date(year, 6, 1), days=1, people=1)
    await other.move(s3["id"], "held", on=date(year, 6, 1))
    regs = await other.ok("get", f"/sessions/{s3['id']}/registrations")
    await other.ok("post", f"/sessions/{s3['id']}/attendance", {"day": date(year, 6, 1).isoformat(),
                                                                "present": [regs[0]["id"]]}, status=200)
    await other.move(s3["id"], "closed", on=date(year, 6, 1))
    assert [c["number"] for c in (await other.ok("get", "/certificates"))["items"]] == [1]
    assert_problem(await other.get(f"/certificates/{first['id']}"), 404)


async def test_concurrent_closes_number_without_gaps_or_duplicates(api: Api) -> None:
    """Eight sessions closed at the same moment (PostgreSQL: eight connections; SQLite: queued writers)."""
    start = TODAY - timedelta(days=15)
    sessions = []
    for _ in range(8):
        s, regs = await api.past_session(start=start, days=1, people=3)
        await api.move(s["id"], "held", on=start)
        await api.ok("post", f"/sessions/{s['id']}/attendance", {"day": start.isoformat(),
                                                                 "present": [str(r["id"]) for r in regs]}, status=200)
        sessions.append(s)
    results = await asyncio.gather(*(api.post(f"/sessions/{s['id']}/transitions", {"to": "closed"})
                                     for s in sessions))
    assert all(r.status_code == 200 for r in results), [r.text for r in results]
    page = await api.ok("get", f"/certificates?year={TODAY.year}&limit=100")
    numbers = sorted(c["number"] for c in page["items"])
    assert numbers == list(range(1, 25))
    for s in sessions:  # each session's certificates are one block of consecutive numbers
        mine = sorted(c["number"] for c in page["items"] if c["session_id"] == s["id"])
        assert mine == list(range(mine[0], mine[0] + 3))


async def test_the_certificate_document_parses_back(api: Api, make_tenant: Any) -> None:
    from docx import Document

    start = date(2021, 9, 28)
    org = api.t.agencies["D1"]
    s = await api.session("INTERNAL_AUDITOR", starts_on=start, days=2, organiser_agency_id=str(org),
                          place="Hội trường UBND huyện Lạng Giang")
    await api.move(s["id"], "open", on=start - timedelta(days=7))
    from plugins.training import services

    p = await api.person("D2", "Nguyễn Phúc Thương", "Phó Giám đốc")
    reg = await services.register(await api.t.ctx(), s["id"], uuid.UUID(p["id"]), None, today=start)
    await api.move(s["id"], "held", on=start)
    for d in (start, start + timedelta(days=1)):
        await api.ok("post", f"/sessions/{s['id']}/attendance", {"day": d.isoformat(), "present": [str(reg["id"])]},
                     status=200)
    await api.ok("post", f"/sessions/{s['id']}/scores", {"scores": [{"registration_id": str(reg["id"]),
                                                                      "score": 8.5}]}, status=200)
    await api.move(s["id"], "closed", on=date(2021, 9, 29))
    [cert] = (await api.ok("get", f"/certificates?session_id={s['id']}"))["items"]
    assert cert["number_text"] == "1/2021/CN-TĐC" and cert["expires_on"] == "2024-09-28"
    r = await api.get(f"/certificates/{cert['id']}/document.docx", "viewer")
    assert r.status_code == 200 and "wordprocessingml" in r.headers["content-type"]
    assert 'filename="giay-chung-nhan-2021-1.docx"' in r.headers["content-disposition"]
    doc = Document(io.BytesIO(r.content))
    header = doc.tables[0].rows[0].cells
    left, right = header[0].text, header[1].text
    assert "ỦY BAN NHÂN DÂN TỈNH THỬ NGHIỆM" in left and "SỞ GIAO THÔNG VẬN TẢI" in left
    assert "Số: 1/2021/CN-TĐC" in left
    assert "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in right and "Độc lập - Tự do - Hạnh phúc" in right
    assert "ngày 29 tháng 09 năm 2021" in right
    text = "\n".join(p.text for p in doc.paragraphs)
    assert "GIẤY CHỨNG NHẬN" in text and "Ông/Bà: Nguyễn Phúc Thương" in text
    assert "Đơn vị công tác: Sở Tư pháp" in text and "Đánh giá viên nội bộ" in text
    assert "từ ngày 28/09/2021 đến ngày 29/09/2021 tại Hội trường UBND huyện Lạng Giang" in text
    assert "có giá trị đến hết ngày 28/09/2024" in text and "THU HỒI" not in text
    await api.ok("post", f"/certificates/{cert['id']}/revoke", {"reason": "Sai thông tin"}, status=200)
    doc = Document(io.BytesIO((await api.get(f"/certificates/{cert['id']}/document.docx")).content))
    assert "ĐÃ THU HỒI" in "\n".join(p.text for p in doc.paragraphs)
    other = await make_tenant(modules=["training"])
    r = await api.client.get(other.url(f"/training/certificates/{cert['id']}/document.docx"), headers=other.headers())
    assert_problem(r, 404)
