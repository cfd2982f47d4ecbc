"""Merging provinces (2025): dry run, conflicts, the all-or-nothing real run, a repeated run, what each side sees
afterwards, the frozen figures of the years before, and the audit trail."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import Any

import pytest

from core.agencies.tables import Agency, AgencyLink
from core.audit.tables import AuditEvent
from core.tenancy import unscoped
from core.tenancy.tables import FrozenFigure, Tenant
from tests.test_tenant_isolation import foreign_urls, ids_of, populate

EFFECTIVE = date(2025, 7, 1)


async def merge(client: Any, admin: dict[str, str], target: Any, *sources: Any, **body: Any) -> Any:
    payload = {"sources": [s.code for s in sources], "effective_on": EFFECTIVE.isoformat(), **body}
    return await client.post(target.url("/merge"), headers=admin, json=payload)


async def rows_of(tenant_id: Any) -> dict[str, int]:
    """How many rows each tenant-owned table holds for a province."""
    from tenants.merge import tenant_tables

    found = {}
    with unscoped():
        for table in tenant_tables():
            n = await table.count().where(table.tenant_id == tenant_id)
            if n:
                found[table._meta.tablename] = n
    return found


@pytest.fixture
async def provinces(client: Any, app: Any, make_tenant: Any) -> tuple[Any, Any]:
    target, source = await make_tenant(name="Bắc Ninh"), await make_tenant(name="Bắc Giang")
    for t in (target, source):
        await populate(client, app, t)
    return target, source


async def test_only_a_platform_admin_merges(client: Any, provinces: Any, platform_users: Any) -> None:
    target, source = provinces
    for headers in (target.headers("tenant_admin"), platform_users["national_reviewer"]):
        r = await merge(client, headers, target, source)
        assert r.status_code in (403, 404) and r.headers["content-type"].startswith("application/problem+json")
    r = await merge(client, platform_users["platform_admin"], target, source, effective_on="01/07/2025")
    assert r.status_code == 400
    r = await client.post(target.url("/merge"), headers=platform_users["platform_admin"],
                          json={"sources": ["no-such-province"], "effective_on": "2025-07-01"})
    assert r.status_code == 404
    r = await client.post(target.url("/merge"), headers=platform_users["platform_admin"],
                          json={"sources": [target.code], "effective_on": "2025-07-01"})
    assert r.status_code == 400


async def test_dry_run_lists_what_moves_and_every_conflict_and_changes_nothing(client: Any, provinces: Any,
                                                                                 platform_users: Any) -> None:
    target, source = provinces
    before = (await rows_of(target.id), await rows_of(source.id))
    r = await merge(client, platform_users["platform_admin"], target, source)
    assert r.status_code == 200, r.text
    report = r.json()
    assert report["dry_run"] is True and report["done"] is False
    assert report["moved"] == before[1]  # every row of every table of the source, counted
    codes = {c["key"] for c in report["conflicts"] if c["kind"] == "agency_code"}
    assert codes == {"P", "D1", "D2", "D1U", "C1"}  # both provinces use the same codes
    rule = next(c["rule"] for c in report["conflicts"] if c["key"] == "D1")
    assert f"{source.code.upper()}-D1" in rule
    assert any(c["kind"] == "user" for c in report["conflicts"])
    assert report["frozen_years"][-1] == 2024
    assert (await rows_of(target.id), await rows_of(source.id)) == before
    with unscoped():
        assert (await Tenant.select().where(Tenant.id == source.id).first())["status"] == "active"


async def test_the_merge_moves_everything_and_the_target_continues_the_records(client: Any, provinces: Any,
                                                                               platform_users: Any) -> None:
    target, source = provinces
    admin = platform_users["platform_admin"]
    source_rows, target_rows = await rows_of(source.id), await rows_of(target.id)
    r = await merge(client, admin, target, source, dry_run=False)
    assert r.status_code == 200, r.text
    assert r.json()["done"] is True
    assert await rows_of(source.id) == {"audit_event": 1}  # nothing left behind but the record of the merge
    after = await rows_of(target.id)
    for table in ("agency", "app_user", "example_note", "qms_record", "qms_event", "evidence"):
        if table in source_rows:  # ids kept: every row of both is there once
            assert after[table] == target_rows.get(table, 0) + source_rows[table], table
    assert after["audit_event"] > target_rows["audit_event"] + source_rows["audit_event"]  # + the merge's own

    # the source points to its successor for ever and is read-only
    read = (await client.get(f"/api/v1/tenants/{source.code}", headers=admin)).json()
    assert read["status"] == "merged" and read["merged_into"] == target.code
    refused = await client.post(source.url("/agencies"), headers=admin,
                                json={"code": "X", "name": "Sở mới", "level": "department"})
    assert refused.status_code == 409 and "read-only" in refused.json()["detail"]

    # the source's users moved with their roles: they now work in the target, and see the source's agencies
    agencies = (await client.get(target.url("/agencies?limit=100"), headers=source.headers("viewer"))).json()
    codes = {a["code"] for a in agencies["items"]}
    assert {"P", "D1", f"{source.code.upper()}-D1", f"{source.code.upper()}-P"} <= codes
    assert (await client.get(source.url("/agencies"), headers=source.headers("viewer"))).status_code == 404

    # the source's People's Committee closed on the effective date with its successor named
    with unscoped():
        old_root = await Agency.select().where((Agency.tenant_id == target.id)
                                               & (Agency.code == f"{source.code.upper()}-P")).first()
        link = await AgencyLink.select().where(AgencyLink.predecessor_id == old_root["id"]).first()
        children = await Agency.select().where(Agency.parent_id == old_root["id"])
    assert old_root["valid_to"] == EFFECTIVE and link["successor_id"] == target.agencies["P"]
    assert link["kind"] == "province_merged"
    assert all(c["valid_to"] is not None and c["valid_to"] <= EFFECTIVE for c in children)

    # a repeated run changes nothing and says so
    again = await merge(client, admin, target, source, dry_run=False)
    assert again.status_code == 200 and again.json()["already_merged"] == [source.code]
    assert await rows_of(target.id) == after

    # audited on both sides
    with unscoped():
        for tenant_id in (target.id, source.id):
            assert await AuditEvent.exists().where((AuditEvent.tenant_id == tenant_id)
                                                   & (AuditEvent.entity == "tenant") & (AuditEvent.action == "merge"))


async def test_after_the_merge_nobody_sees_what_they_should_not(client: Any, app: Any, provinces: Any,
                                                               make_tenant: Any, platform_users: Any) -> None:
    from core.plugins import get_plugin_system

    target, source = provinces
    other = await make_tenant(name="Tỉnh Khác")
    await populate(client, app, other)
    assert (await merge(client, platform_users["platform_admin"], target, source, dry_run=False)).status_code == 200
    moved_users = replace(target, tokens=source.tokens)  # the source's users, now the target's
    failures = await foreign_urls(client, app, moved_users, other, await ids_of(target.id), await ids_of(other.id),
                                  get_plugin_system().module_names())
    assert failures == []


async def test_deactivated_users_stay_behind_and_cannot_sign_in(client: Any, provinces: Any,
                                                                platform_users: Any) -> None:
    target, source = provinces
    users = (await rows_of(source.id))["app_user"]
    r = await merge(client, platform_users["platform_admin"], target, source, dry_run=False, users="deactivate")
    assert r.status_code == 200, r.text
    me = await client.get("/api/v1/me", headers=source.headers("tenant_admin"))
    assert me.status_code == 401
    assert (await rows_of(source.id)) == {"app_user": users, "audit_event": 1}  # users left behind, inactive
    login = await client.post("/api/v1/auth/login", json={"email": source.emails["viewer"], "password": "password-123"})
    assert login.status_code in (401, 403)


async def test_a_merge_that_fails_midway_leaves_nothing_changed(client: Any, provinces: Any, platform_users: Any,
                                                                monkeypatch: Any) -> None:
    from tenants import merge as merging

    target, source = provinces
    before = (await rows_of(target.id), await rows_of(source.id))
    real = merging._move

    async def crash(*args: Any, **kwargs: Any) -> None:
        await real(*args, **kwargs)  # every row moved ... then the process dies
        raise RuntimeError("killed mid-merge")

    monkeypatch.setattr(merging, "_move", crash)
    with pytest.raises(RuntimeError):
        await merging.merge_tenants(target.code, [source.code], EFFECTIVE, dry_run=False,
                                    actor=(await target.ctx()).actor)
    assert (await rows_of(target.id), await rows_of(source.id)) == before
    with unscoped():
        assert (await Tenant.select().where(Tenant.id == source.id).first())["status"] == "active"
        assert not await FrozenFigure.exists().where(FrozenFigure.tenant_id == source.id)


async def test_years_before_the_merger_are_shown_as_the_provinces_were(client: Any, provinces: Any,
                                                                       platform_users: Any) -> None:
    target, source = provinces
    assert (await merge(client, platform_users["platform_admin"], target, source, dry_run=False)).status_code == 200
    reviewer = platform_users["national_reviewer"]
    view = (await client.get("/api/v1/national/indicators?year=2024", headers=reviewer)).json()
    by_code = {t["code"]: t for t in view["tenants"]}
    assert by_code[source.code]["status"] == "merged"  # 2024: still a province of its own
    notes = lambda t: t["indicators"].get("example", {}).get("notes", {}).get("value", 0)  # noqa: E731
    before_target, before_source = notes(by_code[target.code]), notes(by_code[source.code])
    assert before_source > 0
    rolled = (await client.get("/api/v1/national/indicators?year=2024&rollup=true", headers=reviewer)).json()
    rolled_by_code = {t["code"]: t for t in rolled["tenants"]}
    assert source.code not in rolled_by_code
    assert notes(rolled_by_code[target.code]) == before_target + before_source
    today = (await client.get("/api/v1/national/indicators", headers=reviewer)).json()
    assert source.code not in {t["code"] for t in today["tenants"]}  # after the merger: today's provinces
