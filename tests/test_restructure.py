"""Restructuring agencies with an effective date (2025): abolish a district, merge communes, split, rename, a
bulk file — history kept, lineage linked, all or nothing, and indicators right before and after."""

from __future__ import annotations

import io
from typing import Any

import pytest

from core.agencies.tables import AgencyLink

ON = "2025-07-01"


async def tree(client: Any, t: Any) -> dict[str, str]:
    """A district with an office and two communes, and a third commune under the province: code -> id."""
    ids = dict((k, str(v)) for k, v in t.agencies.items())
    for code, name, level, parent in (("H1", "UBND huyện Việt Yên", "district", "P"),
                                      ("H1-PTP", "Phòng Tư pháp huyện Việt Yên", "office", "H1"),
                                      ("X1", "UBND xã Ninh Sơn", "commune", "H1"),
                                      ("X2", "UBND thị trấn Bích Động", "commune", "H1"),
                                      ("X3", "UBND xã Quang Châu", "commune", "P")):
        r = await client.post(t.url("/agencies"), headers=t.headers(), json={
            "code": code, "name": name, "level": level, "parent_id": ids[parent], "valid_from": "2010-01-01",
            "required": level in ("district", "office")})
        assert r.status_code == 201, r.text
        ids[code] = r.json()["id"]
    return ids


async def restructure(client: Any, t: Any, operations: list[dict[str, Any]], dry_run: bool = False,
                      role: str = "tenant_admin") -> Any:
    return await client.post(t.url("/agencies/restructure"), headers=t.headers(role),
                             json={"effective_on": ON, "dry_run": dry_run, "operations": operations})


async def agency(client: Any, t: Any, agency_id: str) -> dict[str, Any]:
    return (await client.get(t.url(f"/agencies/{agency_id}"), headers=t.headers())).json()


async def test_abolishing_a_district_closes_it_and_its_offices_and_passes_the_communes_on(client: Any,
                                                                                         make_tenant: Any) -> None:
    t = await make_tenant(modules=[])
    ids = await tree(client, t)
    plan = await restructure(client, t, [{"op": "abolish", "agency_id": ids["H1"]}], dry_run=True)
    assert plan.status_code == 200, plan.text
    actions = {(c["action"], c["code"]) for c in plan.json()["changes"]}
    assert {("close", "H1"), ("close", "H1-PTP"), ("reparent", "X1"), ("reparent", "X2"), ("link", "H1")} == actions
    assert (await agency(client, t, ids["H1"]))["valid_to"] is None  # the dry run wrote nothing
    r = await restructure(client, t, [{"op": "abolish", "agency_id": ids["H1"]}])
    assert r.status_code == 200 and r.json()["done"] is True
    assert (await agency(client, t, ids["H1"]))["valid_to"] == ON
    assert (await agency(client, t, ids["H1-PTP"]))["valid_to"] == ON
    commune = await agency(client, t, ids["X1"])
    assert commune["parent_id"] == ids["P"] and commune["valid_to"] is None
    lineage = (await client.get(t.url(f"/agencies/{ids['H1']}/lineage"), headers=t.headers("viewer"))).json()
    assert [(s["code"], s["kind"]) for s in lineage["successors"]] == [("P", "abolished")]
    again = await restructure(client, t, [{"op": "abolish", "agency_id": ids["H1"]}])
    assert again.status_code == 409 and "not active" in again.json()["detail"]  # already closed
    office = await restructure(client, t, [{"op": "abolish", "agency_id": ids["D1"]}])
    assert office.status_code == 409 and "only a district" in office.json()["detail"]


async def test_merging_communes_creates_the_new_one_with_links_to_its_predecessors(client: Any,
                                                                                  make_tenant: Any) -> None:
    t = await make_tenant(modules=["certification"])
    ids = await tree(client, t)
    # the predecessors' QMS history stays with them
    r = await client.post(t.url(f"/certification/agencies/{ids['X1']}/events"), headers=t.headers(),
                          json={"kind": "build_started", "occurred_on": "2018-01-10", "scope": ["Chứng thực"]})
    assert r.status_code == 201, r.text
    r = await restructure(client, t, [{"op": "merge", "agency_ids": [ids["X1"], ids["X2"]],
                                       "into": {"code": "P-VY", "name": "UBND phường Việt Yên"}}])
    assert r.status_code == 200, r.text
    new_id = next(c["agency_id"] for c in r.json()["changes"] if c["action"] == "create")
    new = await agency(client, t, new_id)
    assert (new["valid_from"], new["level"], new["parent_id"]) == (ON, "commune", ids["H1"])
    for old in ("X1", "X2"):
        assert (await agency(client, t, ids[old]))["valid_to"] == ON
    lineage = (await client.get(t.url(f"/agencies/{new_id}/lineage"), headers=t.headers())).json()
    assert sorted(p["code"] for p in lineage["predecessors"]) == ["X1", "X2"]
    assert {p["kind"] for p in lineage["predecessors"]} == {"merged"}
    old_record = await client.get(t.url(f"/certification/board?q=ninh son&as_of=2019-01-01"), headers=t.headers())
    assert old_record.status_code == 200 and old_record.json()["items"][0]["status"] == "building"
    # the new commune starts its own QMS record
    board = (await client.get(t.url("/certification/board?q=phuong viet yen"), headers=t.headers())).json()
    assert board["items"][0]["status"] == "not_started"


async def test_split_rename_and_all_or_nothing(client: Any, make_tenant: Any) -> None:
    from core.tenancy import unscoped

    t = await make_tenant(modules=[])
    ids = await tree(client, t)
    with unscoped():
        links_before = await AgencyLink.count().where(AgencyLink.tenant_id == t.id)
    bad = await restructure(client, t, [
        {"op": "rename", "agency_id": ids["X3"], "name": "UBND phường Quang Châu"},
        {"op": "split", "agency_id": ids["H1"], "into": [{"code": "A", "name": "A"}, {"code": "B", "name": "B"}]},
    ])
    assert bad.status_code == 409 and "still has units" in bad.json()["detail"]
    assert (await agency(client, t, ids["X3"]))["name"] == "UBND xã Quang Châu"  # the first op was rolled back
    ok = await restructure(client, t, [
        {"op": "rename", "agency_id": ids["X3"], "name": "UBND phường Quang Châu", "code": "X3P"},
        {"op": "split", "agency_id": ids["X2"], "into": [{"code": "X2A", "name": "UBND phường Bích Động"},
                                                         {"code": "X2B", "name": "UBND xã Bích Sơn"}]},
    ])
    assert ok.status_code == 200, ok.text
    renamed = await agency(client, t, ids["X3"])
    assert (renamed["name"], renamed["code"], renamed["valid_to"]) == ("UBND phường Quang Châu", "X3P", None)
    lineage = (await client.get(t.url(f"/agencies/{ids['X2']}/lineage"), headers=t.headers())).json()
    assert sorted(s["code"] for s in lineage["successors"]) == ["X2A", "X2B"]
    with unscoped():
        assert await AgencyLink.count().where(AgencyLink.tenant_id == t.id) == links_before + 2
    dup = await restructure(client, t, [{"op": "merge", "agency_ids": [ids["X1"], ids["X3"]],
                                         "into": {"code": "D1", "name": "trùng mã"}}])
    assert dup.status_code == 409 and dup.json()["field"] == "code"


async def test_restructuring_is_for_tenant_admins_of_the_province(client: Any, make_tenant: Any) -> None:
    t, other = await make_tenant(modules=[]), await make_tenant(modules=[])
    ids = await tree(client, t)
    for role in ("inspector", "agency_officer", "viewer"):
        r = await restructure(client, t, [{"op": "abolish", "agency_id": ids["H1"]}], role=role)
        assert r.status_code == 403
    foreign = await restructure(client, t, [{"op": "abolish", "agency_id": str(other.agencies["D1"])}])
    assert foreign.status_code == 422 and "not an agency of this province" in foreign.json()["detail"]
    bad = await client.post(t.url("/agencies/restructure"), headers=t.headers(),
                            json={"effective_on": ON, "operations": [{"op": "explode", "agency_id": ids["H1"]}]})
    assert bad.status_code == 400


async def test_bulk_restructuring_from_a_file(client: Any, make_tenant: Any) -> None:
    t = await make_tenant(modules=[])
    ids = await tree(client, t)
    csv = ("Mã cũ,Mã mới,Tên mới,Ngày hiệu lực\n"
           "X1,VY,UBND phường Việt Yên,01/07/2025\n"
           "X2,VY,UBND phường Việt Yên,01/07/2025\n"
           "X3,X3,UBND phường Quang Châu,01/07/2025\n"
           "H1,,,01/07/2025\n")

    async def send(text: str, dry_run: bool) -> Any:
        return await client.post(t.url(f"/agencies/restructure/import?dry_run={str(dry_run).lower()}"),
                                 headers=t.headers(), files={"file": ("sap-xep.csv", io.BytesIO(text.encode()),
                                                                     "text/csv")})

    plan = await send(csv, True)
    assert plan.status_code == 200, plan.text
    assert ("create", "VY") in {(c["action"], c["code"]) for c in plan.json()["changes"]}
    assert (await agency(client, t, ids["X1"]))["valid_to"] is None
    wrong = await send(csv.replace("X3,X3", "NOPE,X3"), True)
    assert wrong.status_code == 422 and wrong.json()["errors"][0]["line"] == 4
    done = await send(csv, False)
    assert done.status_code == 200 and done.json()["done"] is True
    assert (await agency(client, t, ids["X3"]))["name"] == "UBND phường Quang Châu"
    assert (await agency(client, t, ids["H1"]))["valid_to"] == ON


async def test_indicators_count_agencies_as_they_were_before_and_after(client: Any, make_tenant: Any) -> None:
    from core.plugins import get_plugin_system

    t = await make_tenant(modules=["certification"])
    ids = await tree(client, t)
    r = await restructure(client, t, [{"op": "abolish", "agency_id": ids["H1"]},
                                      {"op": "merge", "agency_ids": [ids["X1"], ids["X2"]],
                                       "into": {"code": "VY", "name": "UBND phường Việt Yên", "required": True}}])
    assert r.status_code == 200, r.text
    info = (await t.ctx()).tenant

    async def required(year: int) -> dict[str, Any]:
        found = await get_plugin_system().indicators({"certification": [info]}, year)
        return next(i for i in found if i.name == "required").breakdown

    before, after = await required(2024), await required(2026)
    assert before["district"] == 1 and after["district"] == 0  # the district counted in 2024 only
    assert after["commune"] == 1  # the new ward (required) from 2025-07-01


@pytest.mark.parametrize("body", [{"effective_on": ON, "operations": []},
                                  {"effective_on": "01/07/2025", "operations": [{"op": "rename"}]}])
async def test_malformed_requests_are_400(client: Any, make_tenant: Any, body: dict[str, Any]) -> None:
    t = await make_tenant(modules=[])
    r = await client.post(t.url("/agencies/restructure"), headers=t.headers(), json=body)
    assert r.status_code == 400 and r.headers["content-type"].startswith("application/problem+json")
