"""Correctness points of issue 17 across core and modules: agency lists in tree order, audit values stored as JSON
values, national reviewers read a province's metadata, a QMS record's evidence list includes its events' files."""

from __future__ import annotations

from typing import Any

import msgspec

from core.audit.tables import AuditEvent
from core.tenancy import unscoped


async def test_agency_lists_sort_levels_in_tree_order(client: Any, make_tenant: Any) -> None:
    t = await make_tenant()
    items = (await client.get(t.url("/agencies?limit=50"), headers=t.headers())).json()["items"]
    levels = [a["level"] for a in items]
    assert levels == ["province", "department", "department", "commune", "unit"], levels


async def test_audit_keeps_json_columns_as_values(client: Any, make_tenant: Any) -> None:
    t = await make_tenant(modules=["certification"])
    r = await client.post(t.url(f"/certification/agencies/{t.agencies['D1']}/events"), headers=t.headers(),
                          json={"kind": "build_started", "occurred_on": "2020-01-06", "scope": ["Cấp giấy phép lái xe"]})
    assert r.status_code == 201, r.text
    with unscoped():
        rows = await AuditEvent.select(AuditEvent.after).where(
            (AuditEvent.tenant_id == t.id) & (AuditEvent.entity == "cert_qms_record") & (AuditEvent.action == "update"))
    assert rows
    after = rows[-1]["after"]
    after = msgspec.json.decode(after) if isinstance(after, str) else after
    assert after["scope"] == ["Cấp giấy phép lái xe"], after["scope"]


async def test_national_reviewer_reads_tenant_metadata_not_rows(client: Any, make_tenant: Any,
                                                               platform_users: Any) -> None:
    t = await make_tenant()
    headers = platform_users["national_reviewer"]
    r = await client.get(f"/api/v1/tenants/{t.code}", headers=headers)
    assert r.status_code == 200 and r.json()["code"] == t.code, r.text
    assert (await client.get(f"/api/v1/tenants/{t.code}/modules", headers=headers)).status_code == 200
    assert (await client.get(t.url("/agencies"), headers=headers)).status_code == 404
    assert (await client.patch(f"/api/v1/tenants/{t.code}", headers=headers, json={"name": "X"})).status_code == 404
    assert (await client.get(t.url(), headers=t.headers("viewer"))).status_code == 200
    other = await make_tenant()
    assert (await client.get(f"/api/v1/tenants/{other.code}", headers=t.headers())).status_code == 404


async def test_a_record_lists_the_files_of_its_events(client: Any, make_tenant: Any) -> None:
    t = await make_tenant(modules=["certification", "evidence"])
    r = await client.post(t.url(f"/certification/agencies/{t.agencies['D1']}/events"), headers=t.headers(),
                          json={"kind": "build_started", "occurred_on": "2020-01-06"})
    assert r.status_code == 201, r.text
    event_id, record_id = r.json()["event"]["id"], r.json()["record"]["id"]

    async def attach(target_type: str, target_id: str, title: str) -> str:
        r = await client.post(t.url("/evidence"), headers=t.headers(),
                              data={"title": title, "target_type": target_type, "target_id": target_id},
                              files={"file": ("bien-ban.txt", "Biên bản họp".encode(), "text/plain")})
        assert r.status_code == 201, r.text
        return r.json()["id"]

    on_event = await attach("qms_event", event_id, "Quyết định xây dựng HTQLCL")
    on_record = await attach("qms_record", record_id, "Sổ tay chất lượng")
    listed = (await client.get(t.url(f"/evidence?target_type=qms_record&target_id={record_id}"),
                               headers=t.headers())).json()
    assert {e["id"] for e in listed["items"]} == {on_event, on_record} and listed["total"] == 2
    only_event = (await client.get(t.url(f"/evidence?target_type=qms_event&target_id={event_id}"),
                                   headers=t.headers())).json()
    assert [e["id"] for e in only_event["items"]] == [on_event]


async def test_an_uploader_takes_back_its_own_file_within_a_day(client: Any, make_tenant: Any) -> None:
    from datetime import datetime, timedelta, timezone

    from plugins.evidence.tables import Evidence

    t = await make_tenant(modules=["evidence"])

    async def upload(role: str) -> str:
        r = await client.post(t.url("/evidence"), headers=t.headers(role), data={"title": "Nhầm tệp"},
                              files={"file": ("nham.txt", "Tệp gửi nhầm".encode(), "text/plain")})
        assert r.status_code == 201, r.text
        return r.json()["id"]

    mine, admins, old = await upload("agency_officer"), await upload("tenant_admin"), await upload("agency_officer")
    with unscoped():
        await Evidence.update({Evidence.created_at: datetime.now(timezone.utc) - timedelta(hours=25)}).where(
            Evidence.id == old)
    officer = t.headers("agency_officer")
    assert (await client.delete(t.url(f"/evidence/{admins}"), headers=officer)).status_code == 403
    assert (await client.delete(t.url(f"/evidence/{old}"), headers=officer)).status_code == 403
    assert (await client.delete(t.url(f"/evidence/{mine}"), headers=officer)).status_code == 204
    assert (await client.get(t.url(f"/evidence/{mine}"), headers=t.headers())).status_code == 404
    assert (await client.delete(t.url(f"/evidence/{admins}"), headers=t.headers("viewer"))).status_code == 403
    assert (await client.delete(t.url(f"/evidence/{old}"), headers=t.headers())).status_code == 204
