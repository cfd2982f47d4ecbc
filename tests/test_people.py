"""The people directory: officials of a province, searched without accents, closed never deleted, imported in bulk,
optionally linked to one user; agency officers write only for their sub-tree; nothing crosses tenants."""

from __future__ import annotations

import io
from datetime import date, timedelta
from typing import Any

from openpyxl import Workbook

from tests.test_tenant_isolation import audit_count


async def add(client: Any, t: Any, role: str = "tenant_admin", **body: Any) -> Any:
    body = {k: (str(v) if k in ("agency_id", "user_id") and v is not None else v) for k, v in body.items()}
    return await client.post(t.url("/people"), headers=t.headers(role), json=body)


async def names(client: Any, t: Any, role: str = "viewer", **params: Any) -> set[str]:
    r = await client.get(t.url("/people"), headers=t.headers(role), params=params)
    assert r.status_code == 200, r.text
    return {p["full_name"] for p in r.json()["items"]}


async def test_create_read_update_and_list(client: Any, make_tenant: Any) -> None:
    t = await make_tenant()
    r = await add(client, t, full_name=" Nguyễn Văn A ", agency_id=t.agencies["D1"], position="Chuyên viên",
                  email="NVA@SoGTVT.gov.vn", phone="+84 912.345.678")
    assert r.status_code == 201, r.text
    person = r.json()
    assert person["full_name"] == "Nguyễn Văn A" and person["email"] == "nva@sogtvt.gov.vn"
    assert person["active"] is True and person["closed_on"] is None and person["user_id"] is None
    got = await client.get(t.url(f"/people/{person['id']}"), headers=t.headers("viewer"))
    assert got.status_code == 200 and got.json() == person
    r = await client.patch(t.url(f"/people/{person['id']}"), headers=t.headers("inspector"),
                           json={"position": "Phó Giám đốc", "phone": None})
    assert r.status_code == 200, r.text
    assert r.json()["position"] == "Phó Giám đốc" and r.json()["phone"] is None and r.json()["email"] == person["email"]
    page = (await client.get(t.url("/people"), headers=t.headers("agency_officer"))).json()
    assert page["total"] == 1 and page["items"][0]["id"] == person["id"]
    r = await client.patch(t.url(f"/people/{person['id']}"), headers=t.headers(), json={})
    assert r.status_code == 200 and r.json()["position"] == "Phó Giám đốc"


async def test_accent_insensitive_search_and_paging(client: Any, make_tenant: Any) -> None:
    t = await make_tenant()
    for name, email in [("Nguyễn Văn A", "a@x.vn"), ("Nguyễn Văn Anh", None), ("Đặng Thị Bình", "binh.dt@x.vn"),
                        ("Trần Đức Ân", None)]:
        assert (await add(client, t, full_name=name, email=email)).status_code == 201
    cases = [("nguyen van a", {"Nguyễn Văn A", "Nguyễn Văn Anh"}), ("NGUYỄN VĂN ANH", {"Nguyễn Văn Anh"}),
             ("dang thi", {"Đặng Thị Bình"}), ("đặng", {"Đặng Thị Bình"}), ("duc an", {"Trần Đức Ân"}),
             ("binh.dt@", {"Đặng Thị Bình"}), ("100%", set()), ("  ", {"Nguyễn Văn A", "Nguyễn Văn Anh",
                                                                         "Đặng Thị Bình", "Trần Đức Ân"})]
    for q, expected in cases:
        assert await names(client, t, q=q) == expected, q
    first = (await client.get(t.url("/people?limit=3&offset=0"), headers=t.headers())).json()
    second = (await client.get(t.url("/people?limit=3&offset=3"), headers=t.headers())).json()
    assert first["total"] == second["total"] == 4 and len(first["items"]) == 3 and len(second["items"]) == 1
    assert [p["full_name"] for p in first["items"]] == ["Đặng Thị Bình", "Nguyễn Văn A", "Nguyễn Văn Anh"]


async def test_agency_filters_and_sub_units(client: Any, make_tenant: Any) -> None:
    t = await make_tenant()
    for name, agency in [("Lê Một", "D1"), ("Lê Hai", "D1U"), ("Lê Ba", "D2"), ("Lê Bốn", None)]:
        r = await add(client, t, full_name=name, agency_id=t.agencies[agency] if agency else None)
        assert r.status_code == 201, r.text
    assert await names(client, t, agency_id=str(t.agencies["D1"])) == {"Lê Một"}
    assert await names(client, t, agency_id=str(t.agencies["D1"]), include_subunits="true") == {"Lê Một", "Lê Hai"}
    assert await names(client, t, agency_id=str(t.agencies["P"]), include_subunits="true") == {
        "Lê Một", "Lê Hai", "Lê Ba"}
    other = await make_tenant()
    r = await client.get(t.url("/people"), headers=t.headers(), params={"agency_id": str(other.agencies["D1"])})
    assert r.status_code == 404
    r = await client.get(t.url("/people"), headers=t.headers(), params={"agency_id": "nope"})
    assert r.status_code == 400 and r.json()["field"] == "agency_id"


async def test_closing_keeps_the_person_readable(client: Any, make_tenant: Any) -> None:
    t = await make_tenant()
    person = (await add(client, t, full_name="Phạm Văn Nghỉ", agency_id=t.agencies["D2"])).json()
    await add(client, t, full_name="Phạm Văn Làm")
    r = await client.delete(t.url(f"/people/{person['id']}"), headers=t.headers())
    assert r.status_code == 200, r.text
    closed = r.json()
    assert closed["closed_on"] == date.today().isoformat() and closed["active"] is False
    assert (await client.get(t.url(f"/people/{person['id']}"), headers=t.headers("viewer"))).json() == closed
    assert await names(client, t) == {"Phạm Văn Làm"}
    assert await names(client, t, include_closed="true") == {"Phạm Văn Làm", "Phạm Văn Nghỉ"}
    yesterday = (date.today() - timedelta(days=1)).isoformat()
    assert await names(client, t, active_on=yesterday) == {"Phạm Văn Làm", "Phạm Văn Nghỉ"}
    before = await audit_count(t.id)
    again = await client.delete(t.url(f"/people/{person['id']}"), headers=t.headers())
    assert again.status_code == 200 and again.json() == closed and await audit_count(t.id) == before
    trail = (await client.get(t.url("/audit-events"), headers=t.headers(),
                              params={"entity": "person", "entity_id": person["id"]})).json()["items"]
    assert [e["action"] for e in trail] == ["close", "create"]
    assert trail[0]["before"]["closed_on"] is None and trail[0]["after"]["closed_on"] == closed["closed_on"]


async def test_other_tenants_people_agencies_and_users_are_404(client: Any, make_tenant: Any) -> None:
    a, b = await make_tenant(), await make_tenant()
    theirs = (await add(client, b, full_name="Người tỉnh B", agency_id=b.agencies["D1"])).json()
    mine = (await add(client, a, full_name="Người tỉnh A")).json()
    before = (await audit_count(a.id), await audit_count(b.id))
    for method, url, body in [
        ("GET", a.url(f"/people/{theirs['id']}"), None),
        ("PATCH", a.url(f"/people/{theirs['id']}"), {"position": "x"}),
        ("DELETE", a.url(f"/people/{theirs['id']}"), None),
        ("GET", b.url(f"/people/{theirs['id']}"), None),
        ("POST", a.url("/people"), {"full_name": "X", "agency_id": str(b.agencies["D1"])}),
        ("POST", a.url("/people"), {"full_name": "X", "user_id": str(b.users["viewer"])}),
        ("PATCH", a.url(f"/people/{mine['id']}"), {"agency_id": str(b.agencies["D2"])}),
        ("PATCH", a.url(f"/people/{mine['id']}"), {"user_id": str(b.users["viewer"])}),
    ]:
        r = await client.request(method, url, headers=a.headers(), json=body)
        assert r.status_code == 404, (method, url, body, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
    assert await names(client, a, q="tinh b") == set()
    assert (await audit_count(a.id), await audit_count(b.id)) == before


async def test_national_reviewer_sees_no_people(client: Any, make_tenant: Any,
                                                                   platform_users: Any) -> None:
    t = await make_tenant()
    person = (await add(client, t, full_name="Võ Thị Riêng", email="rieng@x.vn")).json()
    for url in (t.url("/people"), t.url(f"/people/{person['id']}")):
        r = await client.get(url, headers=platform_users["national_reviewer"])
        assert r.status_code == 404, r.text


async def test_roles(client: Any, make_tenant: Any) -> None:
    t = await make_tenant()
    person = (await add(client, t, full_name="Hồ Văn Quyền", agency_id=t.agencies["D2"])).json()
    before = await audit_count(t.id)
    for method, url, body in [("POST", t.url("/people"), {"full_name": "X"}),
                              ("PATCH", t.url(f"/people/{person['id']}"), {"position": "x"}),
                              ("DELETE", t.url(f"/people/{person['id']}"), None)]:
        r = await client.request(method, url, headers=t.headers("viewer"), json=body)
        assert r.status_code == 403 and "people.write" in r.json()["detail"], r.text
    files = {"file": ("p.csv", "full_name\nA\n".encode(), "text/csv")}
    for role in ("inspector", "agency_officer", "viewer"):
        r = await client.post(t.url("/people/import?dry_run=true"), headers=t.headers(role), files=files)
        assert r.status_code == 403, (role, r.text)
    assert (await add(client, t, "inspector", full_name="Do thanh tra thêm")).status_code == 201
    assert await audit_count(t.id) == before + 1


async def test_agency_officer_writes_only_in_its_sub_tree(client: Any, make_tenant: Any) -> None:
    t = await make_tenant()  # the agency officer is bound to D1 (with D1U under it)
    officer = "agency_officer"
    r = await add(client, t, officer, full_name="Cán bộ D1U", agency_id=t.agencies["D1U"])
    assert r.status_code == 201, r.text
    own = r.json()
    for body in ({"full_name": "Cán bộ D2", "agency_id": t.agencies["D2"]}, {"full_name": "Không đơn vị"}):
        r = await add(client, t, officer, **body)
        assert r.status_code == 403 and r.json()["field"] == "agency_id", r.text
    other = (await add(client, t, full_name="Cán bộ D2", agency_id=t.agencies["D2"])).json()
    loose = (await add(client, t, full_name="Không đơn vị")).json()
    before = await audit_count(t.id)
    for method, url, body in [
        ("PATCH", t.url(f"/people/{other['id']}"), {"position": "x"}),
        ("DELETE", t.url(f"/people/{other['id']}"), None),
        ("PATCH", t.url(f"/people/{loose['id']}"), {"position": "x"}),
        ("PATCH", t.url(f"/people/{own['id']}"), {"agency_id": str(t.agencies["D2"])}),
        ("PATCH", t.url(f"/people/{own['id']}"), {"agency_id": None}),
    ]:
        r = await client.request(method, url, headers=t.headers(officer), json=body)
        assert r.status_code == 403, (method, url, body, r.text)
    assert await audit_count(t.id) == before
    r = await client.patch(t.url(f"/people/{own['id']}"), headers=t.headers(officer),
                           json={"agency_id": str(t.agencies["D1"]), "position": "Trưởng phòng"})
    assert r.status_code == 200 and r.json()["agency_id"] == str(t.agencies["D1"]), r.text
    assert (await client.delete(t.url(f"/people/{own['id']}"), headers=t.headers(officer))).status_code == 200
    assert len(await names(client, t, officer, include_closed="true")) == 3  # reading is tenant-wide


async def test_bad_input_names_the_field(client: Any, make_tenant: Any) -> None:
    t = await make_tenant()
    before = await audit_count(t.id)
    for body, fld in [({"full_name": "", "email": "a@b.vn"}, "full_name"),
                      ({"position": "x"}, "full_name"),
                      ({"full_name": "A", "email": "not-an-email"}, "email"),
                      ({"full_name": "A", "email": "a@b"}, "email"),
                      ({"full_name": "A", "phone": "gọi tôi"}, "phone"),
                      ({"full_name": "A", "phone": "12"}, "phone"),
                      ({"full_name": "a\u0000b"}, "full_name"),
                      ({"full_name": "A", "agency_id": "D1"}, "agency_id"),
                      ({"full_name": "A", "national_id": "0123"}, "national_id"),
                      ({"full_name": "A" * 201}, "full_name")]:
        r = await client.post(t.url("/people"), headers=t.headers(), json=body)
        assert r.status_code == 400 and r.json()["field"] == fld, (body, r.text)
        assert fld in r.json()["detail"]
    person = (await add(client, t, full_name="Đúng")).json()
    r = await client.patch(t.url(f"/people/{person['id']}"), headers=t.headers(), json={"full_name": None})
    assert r.status_code == 400 and r.json()["field"] == "full_name"
    r = await client.get(t.url("/people"), headers=t.headers(), params={"active_on": "hôm qua"})
    assert r.status_code == 400 and r.json()["field"] == "active_on"
    r = await client.delete(t.url(f"/people/{person['id']}"), headers=t.headers(), params={"on": "x"})
    assert r.status_code == 400 and r.json()["field"] == "on"
    assert await audit_count(t.id) == before + 1


async def test_user_link_is_one_to_one_and_emails_belong_to_one_open_person(client: Any, make_tenant: Any) -> None:
    t = await make_tenant()
    viewer = t.users["viewer"]
    first = await add(client, t, full_name="Người dùng xem", user_id=viewer, email="xem@x.vn")
    assert first.status_code == 201 and first.json()["user_id"] == str(viewer), first.text
    second = (await add(client, t, full_name="Người khác")).json()
    r = await add(client, t, full_name="Trùng liên kết", user_id=viewer)
    assert r.status_code == 409 and r.json()["field"] == "user_id", r.text
    r = await client.patch(t.url(f"/people/{second['id']}"), headers=t.headers(), json={"user_id": str(viewer)})
    assert r.status_code == 409 and r.json()["field"] == "user_id", r.text
    r = await client.patch(t.url(f"/people/{first.json()['id']}"), headers=t.headers(), json={"user_id": str(viewer)})
    assert r.status_code == 200  # linking a person to its own user again is no conflict
    found = (await client.get(t.url("/people"), headers=t.headers(), params={"user_id": str(viewer)})).json()
    assert [p["id"] for p in found["items"]] == [first.json()["id"]]
    r = await add(client, t, full_name="Trùng thư", email="XEM@x.vn")
    assert r.status_code == 409 and r.json()["field"] == "email", r.text
    r = await client.patch(t.url(f"/people/{second['id']}"), headers=t.headers(), json={"email": "xem@x.vn"})
    assert r.status_code == 409 and r.json()["field"] == "email", r.text
    # unlink and close: the user and the email are free for someone else
    r = await client.patch(t.url(f"/people/{first.json()['id']}"), headers=t.headers(), json={"user_id": None})
    assert r.status_code == 200 and r.json()["user_id"] is None
    await client.delete(t.url(f"/people/{first.json()['id']}"), headers=t.headers())
    r = await client.patch(t.url(f"/people/{second['id']}"), headers=t.headers(),
                           json={"user_id": str(viewer), "email": "xem@x.vn"})
    assert r.status_code == 200 and r.json()["user_id"] == str(viewer), r.text


def csv_file(text: str, name: str = "people.csv") -> dict[str, Any]:
    return {"file": (name, text.encode("utf-8"), "text/csv")}


async def test_import_dry_run_reports_every_bad_row_and_writes_nothing(client: Any, make_tenant: Any) -> None:
    t = await make_tenant()
    await add(client, t, full_name="Đã có", email="daco@x.vn")
    before = await audit_count(t.id)
    text = ("Họ và tên,Mã đơn vị,Chức vụ,Email,Điện thoại\n"
            "Nguyễn Văn A,D1,Chuyên viên,a@x.vn,0912345678\n"     # ok (line 2)
            ",D1,Chuyên viên,,\n"                                  # no name (line 3)
            "Trần B,NOPE,,b@x.vn,\n"                               # unknown agency (line 4)
            "Lê C,d2,,not-an-email,abc\n"                          # bad email and phone; code any case (line 5)
            "Phạm D,,,A@X.VN,\n"                                   # email repeated in the file (line 6)
            "Võ E,,,daco@x.vn,\n")                                 # email of an existing person (line 7)
    r = await client.post(t.url("/people/import?dry_run=true"), headers=t.headers(), files=csv_file(text))
    assert r.status_code == 200, r.text
    report = r.json()
    assert report["dry_run"] is True and report["valid"] is False and report["rows"] == 6 and report["created"] == 0
    found = {(e["line"], e["field"]) for e in report["errors"]}
    assert found == {(3, "full_name"), (4, "agency_code"), (5, "email"), (5, "phone"), (6, "email"), (7, "email")}
    assert all(e["message"] for e in report["errors"])
    assert await audit_count(t.id) == before
    assert await names(client, t) == {"Đã có"}


async def test_import_real_run_is_all_or_nothing(client: Any, make_tenant: Any) -> None:
    t = await make_tenant()
    bad = "full_name,agency_code\nNgười Một,D1\nNgười Hai,NOPE\n"
    before = await audit_count(t.id)
    r = await client.post(t.url("/people/import?dry_run=false"), headers=t.headers(), files=csv_file(bad))
    assert r.status_code == 422 and r.json()["errors"] == [
        {"line": 3, "field": "agency_code", "message": "no agency with code 'NOPE' in this province"}]
    assert await names(client, t) == set() and await audit_count(t.id) == before
    wb = Workbook()
    ws = wb.active
    ws.append(["HỌ VÀ TÊN", "Mã đơn vị", "Chức vụ", "Email", "Điện thoại"])
    ws.append(["Nguyễn Văn A", "D1U", "Trưởng phòng", "nva@x.vn", 912345678])
    ws.append(["Đỗ Thị Đào", "C1", None, None, "(024) 3825 1234"])
    ws.append([None, None, None, None, None])
    buf = io.BytesIO()
    wb.save(buf)
    files = {"file": ("nguoi.xlsx", buf.getvalue(), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")}
    r = await client.post(t.url("/people/import?dry_run=false"), headers=t.headers(), files=files)
    assert r.status_code == 200 and r.json()["created"] == 2 and r.json()["valid"] is True, r.text
    [a] = (await client.get(t.url("/people"), params={"q": "nguyen van a"}, headers=t.headers())).json()["items"]
    assert a["agency_id"] == str(t.agencies["D1U"]) and a["position"] == "Trưởng phòng" and a["phone"] == "912345678"
    [d] = (await client.get(t.url("/people"), params={"q": "do thi dao"}, headers=t.headers())).json()["items"]
    assert d["agency_id"] == str(t.agencies["C1"]) and d["email"] is None and d["position"] == ""
    events = (await client.get(t.url("/audit-events"), headers=t.headers(),
                               params={"entity": "person", "action": "import"})).json()
    assert events["total"] == 2
    r = await client.post(t.url("/people/import?dry_run=false"), headers=t.headers(), files=files)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "email"  # a repeat: the email is taken


async def test_import_rejects_unreadable_files_and_headers(client: Any, make_tenant: Any) -> None:
    t = await make_tenant()
    for files in [csv_file("position,email\nx,a@b.vn\n"),                  # no name column
                  csv_file("full_name,national_id\nA,0123\n"),             # unknown column
                  csv_file("full_name,Họ và tên\nA,B\n"),                  # the same column twice
                  csv_file(""),
                  {"file": ("a.xlsx", b"PK\x03\x04 not a workbook", "application/octet-stream")},
                  {"other": ("a.csv", b"full_name\nA\n", "text/csv")}]:
        r = await client.post(t.url("/people/import?dry_run=true"), headers=t.headers(), files=files)
        assert r.status_code == 400 and r.json()["field"] == "file", r.text


async def test_two_people_linked_to_one_user_at_once_one_is_refused(client: Any, make_tenant: Any) -> None:
    import asyncio

    t = await make_tenant()
    responses = await asyncio.gather(*(add(client, t, full_name=f"Cùng lúc {i}", user_id=t.users["inspector"])
                                       for i in range(2)))
    assert sorted(r.status_code for r in responses) == [201, 409], [r.text for r in responses]
    assert len(await names(client, t, user_id=str(t.users["inspector"]))) == 1


async def test_import_template_has_the_vietnamese_headers_and_reads_back(client: Any, make_tenant: Any) -> None:
    from openpyxl import load_workbook

    t = await make_tenant()
    r = await client.get(t.url("/people/import/template.xlsx"), headers=t.headers())
    assert r.status_code == 200 and "mau-nhap-can-bo.xlsx" in r.headers["content-disposition"]
    rows = list(load_workbook(io.BytesIO(r.content)).active.iter_rows(values_only=True))
    assert rows[0] == ("Họ và tên", "Mã đơn vị", "Chức vụ", "Email", "Điện thoại")
    files = {"file": ("mau.xlsx", r.content, "application/octet-stream")}
    report = (await client.post(t.url("/people/import?dry_run=true"), headers=t.headers(), files=files)).json()
    assert report["rows"] == 1 and [e["field"] for e in report["errors"]] == ["agency_code"]  # no agency STC here
    assert (await client.get(t.url("/people/import/template.xlsx"), headers=t.headers("inspector"))).status_code == 403


async def test_cross_tenant_reads_count_people_but_never_see_their_names(client: Any, make_tenant: Any) -> None:
    """Indicators read many tenants at once (`TenantsReader`): they may count people, never read who they are."""
    import pytest
    from piccolo.query.functions.aggregate import Count

    from core.people.tables import Person
    from core.tenancy import TenantScopeError
    from core.tenancy.context import TenantsReader

    a, b = await make_tenant(), await make_tenant()
    for t, n in ((a, 2), (b, 1)):
        for i in range(n):
            await add(client, t, full_name=f"Cán bộ {i}", agency_id=t.agencies["D1"], email=f"cb{i}@{t.code}.vn")
    reader = TenantsReader(((await a.ctx()).tenant, (await b.ctx()).tenant))
    rows = await reader.scope(Person).select(Person.tenant_id, Count(Person.id, alias="n")).group_by(Person.tenant_id)
    assert {r["tenant_id"]: r["n"] for r in rows} == {a.id: 2, b.id: 1}
    for columns in ((), (Person.full_name,), (Person.tenant_id, Person.email), (Person.phone,)):
        with pytest.raises(TenantScopeError):
            reader.scope(Person).select(*columns)


async def test_tenant_merge_reports_people_and_shared_emails(client: Any, make_tenant: Any) -> None:
    from core.contracts import TenantMerge, TenantRef
    from core.people.plugin import isogov_tenant_merge

    a, b, c = await make_tenant(), await make_tenant(), await make_tenant()
    await add(client, a, full_name="Trùng thư A", email="chung@x.vn")
    await add(client, a, full_name="Riêng A")
    await add(client, b, full_name="Trùng thư B", email="chung@x.vn")
    closed = (await add(client, b, full_name="Đã nghỉ B", email="rieng@x.vn")).json()
    await client.delete(b.url(f"/people/{closed['id']}"), headers=b.headers())
    await add(client, c, full_name="Tỉnh khác", email="rieng@x.vn")  # not part of the merge
    merge = TenantMerge(sources=(TenantRef(a.id, a.code, a.name),), target=TenantRef(b.id, b.code, b.name),
                        effective_on=date.today() + timedelta(days=1))
    report = await isogov_tenant_merge(merge)
    assert report.module == "people" and report.moved == {"person": 2}
    assert [(x.kind, x.key) for x in report.conflicts] == [("person_email", "chung@x.vn")]
