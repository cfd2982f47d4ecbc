"""Bulk registration: a dry run reports every bad row and writes nothing; a real run writes every row or none."""

from __future__ import annotations

import io
from typing import Any

from core.audit.tables import AuditEvent
from core.people.tables import Person
from core.tenancy import unscoped
from plugins.training.tests.conftest import Api, assert_problem


async def counts(t: Any) -> tuple[int, int]:
    with unscoped():
        return (await Person.count().where(Person.tenant_id == t.id),
                await AuditEvent.count().where(AuditEvent.tenant_id == t.id))


async def upload(api: Api, session_id: str, content: bytes, name: str = "ds.csv", dry_run: bool = True,
                 role: str = "tenant_admin") -> Any:
    return await api.client.post(api.path(f"/sessions/{session_id}/import"), headers=api.t.headers(role),
                                 params={"dry_run": str(dry_run).lower()}, files={"file": (name, content, "text/csv")})


async def test_dry_run_reports_each_bad_row_and_the_real_run_is_all_or_nothing(api: Api) -> None:
    s = await api.session(capacity=5)
    await api.move(s["id"], "open")
    known = await api.person("D1", "Nguyễn Văn Bình", "Chuyên viên")
    already = await api.person("D2", "Lê Thị Cúc")
    await api.ok("post", "/people", {"full_name": "Mai Văn Kiên", "agency_id": str(api.t.agencies["D1"]),
                                     "email": "k@stp.gov.vn"})
    await api.register(s["id"], already["id"])
    bad = ("Họ tên;Mã đơn vị;Chức vụ;Email\n"
           "Nguyen Van Binh;D1;Chuyên viên;\n"           # 2: found in the directory (accent-insensitive)
           "Trần Thị Dung;D2;Công chức;dung@stp.gov.vn\n"  # 3: added to the directory
           ";D2;;\n"                                      # 4: no name
           "Phạm Văn E;NOPE;;\n"                          # 5: unknown agency
           "Hoàng Thị G;D2;;not-an-email\n"               # 6: bad email
           "Trần Thị Dung;D2;;\n"                         # 7: repeated row
           "Lê Thị Cúc;D2;;\n"                            # 8: already registered
           "Đinh Văn Hải;D2;;DUNG@stp.gov.vn\n"            # 9: the email of line 3
           "Mai Văn Khôi;D2;;k@stp.gov.vn\n")              # 10: the email of someone in the directory
    before = await counts(api.t)
    r = await upload(api, s["id"], bad.encode())
    assert r.status_code == 200, r.text
    report = r.json()
    assert report["dry_run"] and not report["valid"] and report["rows"] == 9 and report["registered"] == 0
    assert [(e["line"], e["field"]) for e in report["errors"]] == [
        (4, "full_name"), (5, "agency_code"), (6, "email"), (7, "full_name"), (8, "full_name"), (9, "email"),
        (10, "email")]
    assert await counts(api.t) == before
    r = await upload(api, s["id"], bad.encode(), dry_run=False)
    body = assert_problem(r, 422, contains="7 error(s)")
    assert len(body["errors"]) == 7 and body["errors"][0]["line"] == 4
    assert await counts(api.t) == before  # nothing written, not even the good rows' people

    good = "\n".join(bad.splitlines()[:3]) + "\n"
    r = await upload(api, s["id"], good.encode(), dry_run=False)
    assert r.status_code == 200, r.text
    assert r.json() == {"dry_run": False, "rows": 2, "valid": True, "registered": 2, "people_created": 1,
                        "errors": []}
    regs = await api.ok("get", f"/sessions/{s['id']}/registrations")
    assert {r["full_name"] for r in regs} == {"Lê Thị Cúc", "Nguyễn Văn Bình", "Trần Thị Dung"}
    assert next(r for r in regs if r["full_name"] == "Nguyễn Văn Bình")["person_id"] == known["id"]
    assert all(r["source"] in ("manual", "import") for r in regs)


async def test_capacity_and_quota_count_the_file_rows(api: Api) -> None:
    s = await api.session(capacity=3)
    await api.ok("post", f"/sessions/{s['id']}/invitations", {"agency_id": str(api.t.agencies["D1"]), "quota": 2},
                 status=200)
    await api.ok("post", f"/sessions/{s['id']}/invitations", {"agency_id": str(api.t.agencies["D2"]), "quota": 5},
                 status=200)
    content = ("full_name,agency_code\nA Một,D1\nA Hai,D1U\nA Ba,D1\nB Một,D2\nB Hai,D2\nC Một,C1\n").encode()
    assert_problem(await upload(api, s["id"], content), 409, field="session", contains="planned")
    await api.move(s["id"], "open")
    report = (await upload(api, s["id"], content)).json()
    assert [(e["line"], e["field"]) for e in report["errors"]] == [(4, "agency_code"), (6, None), (7, None)]
    assert "may send 2" in report["errors"][0]["message"] and "capacity" in report["errors"][1]["message"]
    assert report["people_created"] == 3


async def test_xlsx_and_unreadable_files(api: Api) -> None:
    from openpyxl import Workbook

    s = await api.session()
    await api.move(s["id"], "open")
    wb = Workbook()
    wb.active.append(["Họ và tên", "Mã đơn vị", "Chức vụ"])
    wb.active.append(["Đỗ Thị Hằng", "C1", "Công chức Văn phòng - Thống kê"])
    wb.active.append([None, None, None])
    wb.active.append(["Đỗ Văn Khoa", "c1", None])
    out = io.BytesIO()
    wb.save(out)
    r = await upload(api, s["id"], out.getvalue(), name="ds.xlsx", dry_run=False)
    assert r.status_code == 200 and r.json()["registered"] == 2, r.text
    regs = await api.ok("get", f"/sessions/{s['id']}/registrations")
    assert {r["position"] for r in regs} == {"Công chức Văn phòng - Thống kê", ""}
    assert_problem(await upload(api, s["id"], b"PK\x03\x04broken", name="x.xlsx"), 400, field="file")
    assert_problem(await upload(api, s["id"], b"\xff\xfe\x00bad"), 400, field="file")
    assert_problem(await upload(api, s["id"], b"ten,don_vi\nA,B\n"), 400, field="file", contains="unknown column")
    assert_problem(await upload(api, s["id"], b"full_name\nA\n"), 400, field="file", contains="agency_code")
    assert_problem(await upload(api, s["id"], b""), 400, field="file")
    assert_problem(await upload(api, s["id"], b"full_name,agency_code\n"), 400, field="file")
    from plugins.training import importing

    big = "full_name,agency_code\n" + "".join(f"Người {i},D1\n" for i in range(importing.MAX_ROWS + 1))
    assert_problem(await upload(api, s["id"], big.encode()), 400, field="file", contains="at most")
    r = await api.client.post(api.path(f"/sessions/{s['id']}/import"), headers=api.t.headers(), json={"x": 1})
    assert_problem(r, 400, field="file")
    assert_problem(await upload(api, s["id"], b"full_name,agency_code\nA,D1\n", role="agency_officer"), 403)
