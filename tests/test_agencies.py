"""Agencies: the tree of a province, history kept by valid_from/valid_to, search, filters and bulk import."""

from __future__ import annotations

import io
import zipfile
from datetime import date, timedelta
from typing import Any

from openpyxl import Workbook

from tests.test_tenant_isolation import audit_count


async def create(client: Any, t: Any, role: str = "tenant_admin", **body: Any) -> Any:
    body = {k: (str(v) if k == "parent_id" and v is not None else v) for k, v in body.items()}
    return await client.post(t.url("/agencies"), headers=t.headers(role), json=body)


async def test_create_read_update_and_list(client: Any, make_tenant: Any) -> None:
    t = await make_tenant()
    r = await create(client, t, code="STC", name="Sở Tài chính", level="department", parent_id=t.agencies["P"],
                     required=True)
    assert r.status_code == 201, r.text
    agency = r.json()
    assert agency["active"] is True and agency["valid_from"] == date.today().isoformat()
    got = await client.get(t.url(f"/agencies/{agency['id']}"), headers=t.headers("viewer"))
    assert got.json() == agency
    r = await client.patch(t.url(f"/agencies/{agency['id']}"), headers=t.headers(), json={"name": "Sở Tài chính tỉnh"})
    assert r.status_code == 200 and r.json()["name"] == "Sở Tài chính tỉnh" and r.json()["code"] == "STC"
    listed = (await client.get(t.url("/agencies?level=department&required=true"), headers=t.headers())).json()
    assert {a["code"] for a in listed["items"]} == {"D1", "D2", "STC"} and listed["total"] == 3


async def test_duplicate_code_is_409_case_insensitive(client: Any, make_tenant: Any) -> None:
    t = await make_tenant()
    r = await create(client, t, code="d1", name="Trùng mã", level="unit")
    assert r.status_code == 409 and r.json()["field"] == "code"
    other = await make_tenant()
    assert (await create(client, other, code="NEW", name="Mới", level="unit")).status_code == 201
    assert (await create(client, t, code="NEW", name="Mới", level="unit")).status_code == 201  # per tenant


async def test_accent_insensitive_search(client: Any, make_tenant: Any) -> None:
    t = await make_tenant()
    for q, expected in [("giao thong", {"D1"}), ("GIAO THÔNG", {"D1"}), ("dong dang", {"C1"}), ("Đồng Đăng", {"C1"}),
                        ("tu phap", {"D2"}), ("so", {"D1", "D2"}), ("100%", set()), ("d1u", {"D1U"}),
                        (str(t.id)[:4], set()), (str(t.id), set())]:
        items = (await client.get(t.url("/agencies"), params={"q": q}, headers=t.headers())).json()["items"]
        assert {a["code"] for a in items} == expected, q


async def test_pagination(client: Any, make_tenant: Any) -> None:
    t = await make_tenant()
    first = (await client.get(t.url("/agencies?limit=2&offset=0"), headers=t.headers())).json()
    second = (await client.get(t.url("/agencies?limit=2&offset=2"), headers=t.headers())).json()
    third = (await client.get(t.url("/agencies?limit=2&offset=4"), headers=t.headers())).json()
    assert first["total"] == second["total"] == third["total"] == 5
    codes = [a["code"] for page in (first, second, third) for a in page["items"]]
    assert sorted(codes) == ["C1", "D1", "D1U", "D2", "P"] and len(third["items"]) == 1


async def test_move_and_cycles(client: Any, make_tenant: Any) -> None:
    t = await make_tenant()
    url = t.url(f"/agencies/{t.agencies['D1U']}")
    r = await client.patch(url, headers=t.headers(), json={"parent_id": str(t.agencies["D2"])})
    assert r.status_code == 200 and r.json()["parent_id"] == str(t.agencies["D2"])
    r = await client.patch(t.url(f"/agencies/{t.agencies['D2']}"), headers=t.headers(),
                           json={"parent_id": str(t.agencies["D1U"])})
    assert r.status_code == 409 and r.json()["field"] == "parent_id"
    r = await client.patch(t.url(f"/agencies/{t.agencies['D2']}"), headers=t.headers(),
                           json={"parent_id": str(t.agencies["D2"])})
    assert r.status_code == 409


async def test_close_keeps_the_agency_and_history(client: Any, make_tenant: Any) -> None:
    t = await make_tenant()
    r = await client.delete(t.url(f"/agencies/{t.agencies['D1']}"), headers=t.headers())
    assert r.status_code == 409 and "sub-unit" in r.json()["detail"]
    r = await client.delete(t.url(f"/agencies/{t.agencies['D1U']}"), headers=t.headers())
    assert r.status_code == 200 and r.json()["valid_to"] == date.today().isoformat() and r.json()["active"] is False
    assert (await client.get(t.url(f"/agencies/{t.agencies['D1U']}"), headers=t.headers())).status_code == 200
    active = (await client.get(t.url("/agencies?active=true"), headers=t.headers())).json()
    assert "D1U" not in {a["code"] for a in active["items"]}
    closed = (await client.get(t.url("/agencies?active=false"), headers=t.headers())).json()
    assert [a["code"] for a in closed["items"]] == ["D1U"]
    yesterday = (date.today() - timedelta(days=1)).isoformat()
    then = (await client.get(t.url(f"/agencies?active_on={yesterday}"), headers=t.headers())).json()
    assert "D1U" in {a["code"] for a in then["items"]}
    again = await client.delete(t.url(f"/agencies/{t.agencies['D1U']}"), headers=t.headers())
    assert again.status_code == 200 and again.json()["valid_to"] == r.json()["valid_to"]


async def test_invalid_dates(client: Any, make_tenant: Any) -> None:
    t = await make_tenant()
    r = await create(client, t, code="X", name="X", level="unit", valid_from="2025-07-01", valid_to="2025-01-01")
    assert r.status_code == 400 and r.json()["field"] == "valid_to"


async def test_agency_officer_writes_only_in_its_subtree(client: Any, make_tenant: Any) -> None:
    t = await make_tenant()
    r = await create(client, t, "agency_officer", code="D1X", name="Phòng mới", level="unit", parent_id=t.agencies["D1"])
    assert r.status_code == 201
    r = await client.patch(t.url(f"/agencies/{t.agencies['D1U']}"), headers=t.headers("agency_officer"),
                           json={"name": "Phòng Quản lý Vận tải và Phương tiện"})
    assert r.status_code == 200
    r = await client.patch(t.url(f"/agencies/{t.agencies['D2']}"), headers=t.headers("agency_officer"),
                           json={"name": "Sở khác"})
    assert r.status_code == 403
    r = await create(client, t, "agency_officer", code="D2X", name="Phòng", level="unit", parent_id=t.agencies["D2"])
    assert r.status_code == 403
    r = await create(client, t, "agency_officer", code="TOP", name="Cấp tỉnh", level="unit")
    assert r.status_code == 403
    r = await client.patch(t.url(f"/agencies/{t.agencies['D1U']}"), headers=t.headers("agency_officer"),
                           json={"parent_id": str(t.agencies["D2"])})
    assert r.status_code == 403
    for role in ("viewer", "inspector"):
        assert (await create(client, t, role, code=f"V{role}", name="X", level="unit")).status_code == 403


def csv_file(text: str, name: str = "agencies.csv") -> dict[str, Any]:
    return {"file": (name, text.encode("utf-8"), "text/csv")}


async def test_import_dry_run_reports_every_bad_row_and_writes_nothing(client: Any, make_tenant: Any) -> None:
    t = await make_tenant()
    before = await audit_count(t.id)
    text = ("code,name,level,parent_code,required,valid_from,valid_to\n"
            "A1,Sở Nội vụ,department,P,có,01/01/2010,\n"       # ok (line 2)
            "A2,,department,P,,,\n"                             # no name (line 3)
            "A3,Phòng X,galaxy,A1,,,\n"                         # bad level (line 4)
            "A1,Trùng,unit,,,,\n"                               # repeated code (line 5)
            "D1,Đã có,unit,,,,\n"                               # existing code (line 6)
            "A4,Phòng Y,office,ZZ,,,\n"                         # unknown parent (line 7)
            "A5,Phòng Z,office,,maybe,2020-13-01,\n")           # bad required + bad date (line 8)
    r = await client.post(t.url("/agencies/import?dry_run=true"), headers=t.headers(), files=csv_file(text))
    assert r.status_code == 200, r.text
    report = r.json()
    assert report["dry_run"] is True and report["valid"] is False and report["rows"] == 7 and report["created"] == 0
    found = {(e["line"], e["field"]) for e in report["errors"]}
    assert found == {(3, "name"), (4, "level"), (5, "code"), (6, "code"), (7, "parent_code"), (8, "required"),
                     (8, "valid_from")}
    assert await audit_count(t.id) == before
    listed = (await client.get(t.url("/agencies"), headers=t.headers())).json()
    assert listed["total"] == 5


async def test_import_real_run_is_all_or_nothing(client: Any, make_tenant: Any) -> None:
    t = await make_tenant()
    bad = "code,name,level,parent_code\nB1,Sở Nội vụ,department,P\nB2,Phòng,office,NOPE\n"
    r = await client.post(t.url("/agencies/import?dry_run=false"), headers=t.headers(), files=csv_file(bad))
    assert r.status_code == 422 and r.json()["errors"][0]["line"] == 3
    assert (await client.get(t.url("/agencies"), headers=t.headers())).json()["total"] == 5
    good = ("code;name;level;parent_code;required\n"          # semicolons, children before parents
            "B2;Phòng Tổ chức;office;B1;x\n"
            "B1;Sở Nội vụ;department;P;1\n")
    r = await client.post(t.url("/agencies/import?dry_run=false"), headers=t.headers(), files=csv_file(good))
    assert r.status_code == 200 and r.json()["created"] == 2
    items = {a["code"]: a for a in (await client.get(t.url("/agencies?q=to chuc"), headers=t.headers())).json()["items"]}
    b1 = (await client.get(t.url("/agencies?q=noi vu"), headers=t.headers())).json()["items"][0]
    assert items["B2"]["parent_id"] == b1["id"] and items["B2"]["required"] is True
    r = await client.post(t.url("/agencies/import?dry_run=false"), headers=t.headers(), files=csv_file(good))
    assert r.status_code == 422  # a repeated import is refused whole: codes exist


async def test_import_xlsx_with_vietnamese_headers_and_dates(client: Any, make_tenant: Any) -> None:
    t = await make_tenant()
    wb = Workbook()
    ws = wb.active
    ws.append(["Code", "Name", "Level", "Parent_code", "Required", "Valid_from"])
    ws.append(["X1", "UBND xã Tân Thành", "commune", "P", "không", date(2025, 7, 1)])
    ws.append(["X2", "UBND phường Đông Kinh", "commune", "P", "", "2025-07-01"])
    buf = io.BytesIO()
    wb.save(buf)
    files = {"file": ("don-vi.xlsx", buf.getvalue(), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")}
    r = await client.post(t.url("/agencies/import?dry_run=false"), headers=t.headers(), files=files)
    assert r.status_code == 200 and r.json()["created"] == 2, r.text
    found = (await client.get(t.url("/agencies?q=dong kinh"), headers=t.headers())).json()["items"]
    assert found[0]["valid_from"] == "2025-07-01" and found[0]["required"] is False


async def test_import_rejects_unreadable_files(client: Any, make_tenant: Any) -> None:
    t = await make_tenant()
    cases = [
        {"file": ("a.csv", b"code,name,level\nA,\xff\xfe,unit\n", "text/csv")},
        {"file": ("a.csv", b"", "text/csv")},
        {"file": ("a.csv", "tên,cấp\nA,B\n".encode(), "text/csv")},
        {"file": ("a.xlsx", b"PK\x03\x04 not really a workbook", "application/octet-stream")},
    ]
    for files in cases:
        r = await client.post(t.url("/agencies/import?dry_run=true"), headers=t.headers(), files=files)
        assert r.status_code == 400 and r.json()["field"] == "file", r.text
    r = await client.post(t.url("/agencies/import"), headers=t.headers("agency_officer"),
                          files=csv_file("code,name,level\nA,B,unit\n"))
    assert r.status_code == 403


async def test_import_answers_bad_files_and_cells_with_4xx(client: Any, make_tenant: Any) -> None:
    """Files that parse only part way, cells beyond the CSV field limit, codes the API would refuse, names with a NUL
    or that fold longer than their column: reported (row errors or a 400 naming the file), never a 500."""
    t = await make_tenant()
    wb = Workbook()
    ws = wb.active
    ws.append(["code", "name", "level"])
    ws.append(["A", "B", "unit"])
    buf = io.BytesIO()
    wb.save(buf)
    zin, out = zipfile.ZipFile(io.BytesIO(buf.getvalue())), io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        for item in zin.infolist():
            content = zin.read(item.filename)
            z.writestr(item, content[: len(content) // 2] if item.filename.endswith("sheet1.xml") else content)
    truncated = {"file": ("a.xlsx", out.getvalue(), "application/octet-stream")}
    r = await client.post(t.url("/agencies/import?dry_run=true"), headers=t.headers(), files=truncated)
    assert r.status_code == 400 and r.json()["field"] == "file", r.text
    huge = csv_file('code,name,level\nA,"' + "x" * 200_000 + '",unit\n')
    r = await client.post(t.url("/agencies/import?dry_run=true"), headers=t.headers(), files=huge)
    assert r.status_code == 400 and "line 2" in r.json()["detail"], r.text  # a cell beyond MAX_CELL_CHARS
    before = await audit_count(t.id)
    bad_rows = ("code,name,level\n"
                + "İ" * 50 + ",Mã chữ Thổ,unit\n"       # lower() makes it longer than code_key holds (line 2)
                "A B,Mã có dấu cách,unit\n"               # the API refuses this code (line 3)
                "N1,a\x00b,unit\n")                       # NUL (line 4)
    r = await client.post(t.url("/agencies/import?dry_run=true"), headers=t.headers(), files=csv_file(bad_rows))
    assert r.status_code == 200, r.text
    assert {(e["line"], e["field"]) for e in r.json()["errors"]} == {(2, "code"), (3, "code"), (4, "name")}
    r = await client.post(t.url("/agencies/import?dry_run=false"), headers=t.headers(), files=csv_file(bad_rows))
    assert r.status_code == 422, r.text
    assert await audit_count(t.id) == before
    r = await client.post(t.url("/agencies/import?dry_run=false"), headers=t.headers(),
                          files=csv_file("code,name,level\nCJK," + "中" * 255 + ",unit\n"))
    assert r.status_code == 200 and r.json()["created"] == 1, r.text


async def test_import_without_a_file_part_is_a_400_naming_file(client: Any, make_tenant: Any) -> None:
    """A multipart body whose `file` is a plain text field (no file part) or has no `file` at all: a 400 problem
    naming `file`, not a 500 from deep in the framework."""
    t = await make_tenant()
    for kwargs in ({"files": {"file": (None, b"code,name,level\nA,B,unit\n")}},
                   {"files": {"other": ("a.csv", b"code,name,level\nA,B,unit\n", "text/csv")}}):
        r = await client.post(t.url("/agencies/import?dry_run=true"), headers=t.headers(), **kwargs)
        assert r.status_code == 400 and r.headers["content-type"].startswith("application/problem+json"), r.text
        assert "file" in r.text, r.text


def test_import_validation_of_a_deep_tree_is_linear() -> None:
    """A file of MAX_ROWS rows, each the parent of the next (a few hundred KB), took minutes of CPU in the request
    (the parent chain was walked again for every row, twice), blocking every tenant's requests. It now takes well
    under a second (measured by bench/import_validate.py, not asserted here); the order and cycles are checked."""
    from core.agencies.importing import MAX_ROWS, Row, _validate, insert_order

    rows = [Row(line=i + 2, values={"code": f"C{i}", "name": "x", "level": "unit",
                                    "parent_code": f"C{i - 1}" if i else ""}) for i in range(MAX_ROWS)]
    assert _validate(rows, {}) == []
    ordered = insert_order(rows)
    position = {r.parsed["code"]: i for i, r in enumerate(ordered)}
    assert all(position[f"C{i - 1}"] < position[f"C{i}"] for i in range(1, MAX_ROWS))
    looped = [Row(line=2, values={"code": "A", "name": "x", "level": "unit", "parent_code": "B"}),
              Row(line=3, values={"code": "B", "name": "x", "level": "unit", "parent_code": "A"}),
              Row(line=4, values={"code": "C", "name": "x", "level": "unit", "parent_code": "A"}),
              Row(line=5, values={"code": "D", "name": "x", "level": "unit", "parent_code": "D"}),
              Row(line=6, values={"code": "E", "name": "x", "level": "unit", "parent_code": "P"})]
    errors = _validate(looped, {"p": {"id": 1, "code": "P"}})
    assert {(e.line, e.field) for e in errors} == {(2, "parent_code"), (3, "parent_code"), (4, "parent_code"),
                                                   (5, "parent_code")}


async def test_pages_of_agencies_with_the_same_name_neither_repeat_nor_skip(client: Any, make_tenant: Any) -> None:
    """Every district had its "Phòng Tư pháp": many agencies share level and name. Paging through them must
    give each one exactly once (the order needs a tie-breaker, or PostgreSQL may order ties differently per page)."""
    t = await make_tenant()
    created = set()
    for i in range(40):
        r = await create(client, t, code=f"PTP{i}", name="Phòng Tư pháp", level="office")
        assert r.status_code == 201
        created.add(r.json()["id"])
    seen: list[str] = []
    for offset in range(0, 40, 7):
        page = (await client.get(t.url(f"/agencies?level=office&limit=7&offset={offset}"), headers=t.headers())).json()
        seen += [a["id"] for a in page["items"]]
    assert len(seen) == len(set(seen)) == 40 and set(seen) == created


async def test_no_open_agency_under_a_closed_parent(client: Any, make_tenant: Any) -> None:
    t = await make_tenant()
    closed = (await create(client, t, code="OLD", name="UBND huyện cũ", level="district", parent_id=t.agencies["P"],
                           valid_from="2010-01-01", valid_to="2025-07-01")).json()
    r = await create(client, t, code="NEWX", name="UBND xã mới", level="commune", parent_id=closed["id"])
    assert r.status_code == 409 and r.json()["field"] == "parent_id" and "2025-07-01" in r.json()["detail"]
    r = await create(client, t, code="HIST", name="UBND xã cũ", level="commune", parent_id=closed["id"],
                     valid_from="2012-01-01", valid_to="2025-07-01")
    assert r.status_code == 201  # history under a closed district is fine
    reopen = await client.patch(t.url(f"/agencies/{r.json()['id']}"), headers=t.headers(), json={"valid_to": None})
    assert reopen.status_code == 409
    move = await client.patch(t.url(f"/agencies/{t.agencies['C1']}"), headers=t.headers(),
                              json={"parent_id": closed["id"]})
    assert move.status_code == 409
    moved_out = await client.patch(t.url(f"/agencies/{r.json()['id']}"), headers=t.headers(),
                                   json={"parent_id": str(t.agencies["P"]), "valid_to": None})
    assert moved_out.status_code == 200 and moved_out.json()["active"] is True


async def test_page_totals_with_filters_and_past_the_end(client: Any, make_tenant: Any) -> None:
    """A page's total counts every matching row whatever the page (PostgreSQL counts it in the page's own
    statement; a page past the end has no row to carry it); each page is the slice of the whole ordered list."""
    t = await make_tenant()
    everything = (await client.get(t.url("/agencies?limit=500"), headers=t.headers())).json()
    assert everything["total"] == len(everything["items"]) == 5
    for level in {a["level"] for a in everything["items"]}:
        matching = [a["id"] for a in everything["items"] if a["level"] == level]
        for offset in range(len(matching) + 2):
            page = (await client.get(t.url(f"/agencies?level={level}&limit=1&offset={offset}"),
                                     headers=t.headers())).json()
            assert page["total"] == len(matching), (level, offset)
            assert [a["id"] for a in page["items"]] == matching[offset:offset + 1], (level, offset)
    past = (await client.get(t.url("/agencies?limit=2&offset=50"), headers=t.headers())).json()
    assert past["items"] == [] and past["total"] == 5
    nothing = (await client.get(t.url("/agencies?q=khongcoten"), headers=t.headers())).json()
    assert nothing == {"items": [], "total": 0, "limit": 50, "offset": 0}
