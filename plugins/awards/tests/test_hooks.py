"""What the module contributes through hooks: identity, permissions, notification kinds, indicators (one grouped
query for all tenants), evidence targets, the tenant merge rule, demo data in every table."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

import pytest

from core.contracts import TenantMerge, TenantRef
from core.errors import Forbidden, NotFound
from core.plugins import get_plugin_system
from core.tenancy import unscoped
from plugins.awards import demo, reporting
from plugins.awards.tables import (AwardDecision, AwardForm, AwardMeeting, AwardMovement, AwardProposal,
                                   AwardSettings)
from plugins.awards.tests.conftest import Api, assert_problem

TABLES = (AwardForm, AwardMovement, AwardProposal, AwardMeeting, AwardDecision, AwardSettings)


async def test_identity_permissions_and_kinds(api: Api, app: Any) -> None:
    modules = (await api.client.get("/api/v1/modules", headers=api.t.headers())).json()
    me = next(m for m in modules if m["name"] == "awards")
    assert me["title_vi"] == "Thi đua, khen thưởng" and me["depends_on"] == []
    perms = {}
    for role in ("tenant_admin", "inspector", "agency_officer", "viewer"):
        body = (await api.client.get("/api/v1/me", headers=api.t.headers(role))).json()
        perms[role] = {p for p in body["permissions"] if p.startswith("awards.")}
    assert perms == {"tenant_admin": {"awards.read", "awards.propose", "awards.manage"},
                     "inspector": {"awards.read"}, "agency_officer": {"awards.read", "awards.propose"},
                     "viewer": {"awards.read"}}
    kinds = get_plugin_system().notification_kinds()
    assert kinds["awards.proposal_status_changed"].title_vi.format(awardee="Sở Tư pháp", status="Đã thẩm định") == \
        "Đề nghị khen thưởng Sở Tư pháp: Đã thẩm định"
    assert "awards.meeting_scheduled" in kinds
    routes = [r for r in app.routes if "/awards/" in r.path]
    assert len(routes) >= 20
    for route in routes:
        for handler in route.route_handlers:
            if set(handler.http_methods) <= {"HEAD", "OPTIONS"}:
                continue
            assert handler.opt["permission"].startswith("awards.") and handler.summary, route.path


async def test_module_off_is_404(client: Any, make_tenant: Any) -> None:
    t = await make_tenant(modules=[])
    assert_problem(await client.get(t.url("/awards/proposals"), headers=t.headers()), 404)


async def test_demo_fills_every_table_and_indicators_count(client: Any, make_tenant: Any) -> None:
    a, b = await make_tenant(modules=["awards"]), await make_tenant(modules=["awards"])
    await demo.seed(await a.ctx(), a.agencies)
    with unscoped():
        for table in TABLES:
            assert await table.count().where(table.tenant_id == a.id) > 0, table
    system = get_plugin_system()
    tenants = [(await a.ctx()).tenant, (await b.ctx()).tenant]
    found = await system.indicators({"awards": tenants}, 2024)
    by = {(i.tenant_id, i.name): i for i in found}
    assert by[(a.id, "awards_total")].value == 1 and by[(a.id, "awards_total")].breakdown["department"] == 1
    assert by[(a.id, "collectives")].value == 1 and by[(a.id, "individuals")].value == 0
    assert by[(a.id, "form_bang_khen_ubnd_tinh")].value == 1
    assert by[(a.id, "form_giay_khen")].value == 0 and by[(a.id, "form_giay_khen")].label_vi == "Giấy khen"
    assert by[(b.id, "awards_total")].value == 0 and (b.id, "form_giay_khen") not in by  # b has no forms
    assert all(set(i.breakdown) >= {"province", "department", "commune"} for i in found)
    assert (await system.indicators({"awards": tenants}, 2023))[0].value == 0


async def test_evidence_targets(api: Api, make_tenant: Any, client: Any) -> None:
    targets = get_plugin_system().evidence_targets()
    assert {"award_proposal", "award_decision"} <= set(targets)
    gk = (await api.forms())["giay_khen"]
    other = (await api.proposal(gk, agency="D2"))["id"]
    mine = (await api.proposal(gk, agency="D1"))["id"]
    from core.auth.permissions import permissions_for
    from core.tenancy import Actor
    from core.tenancy.context import TenantContext

    base = await api.t.ctx()

    def as_role(role: str) -> TenantContext:
        actor = Actor(id=uuid.uuid4(), email=f"{role}@x", role=role, tenant_id=base.tenant.id,
                      agency_id=api.t.agencies["D1"] if role == "agency_officer" else None)
        return TenantContext(tenant=base.tenant, actor=actor, permissions=permissions_for(role))

    check = targets["award_proposal"].check
    await check(as_role("agency_officer"), uuid.UUID(mine), True)
    with pytest.raises(Forbidden):
        await check(as_role("agency_officer"), uuid.UUID(other), True)
    with pytest.raises(Forbidden):
        await check(as_role("viewer"), uuid.UUID(mine), True)
    await check(as_role("viewer"), uuid.UUID(mine), False)
    stranger = await make_tenant(modules=["awards"])
    with pytest.raises(NotFound):
        await check(await stranger.ctx(), uuid.UUID(mine), False)
    with pytest.raises(NotFound):
        await targets["award_decision"].check(base, uuid.uuid4(), False)


async def test_merge_rewrites_codes_numbers_and_settings(make_tenant: Any) -> None:
    target, source = await make_tenant(modules=["awards"]), await make_tenant(modules=["awards"])
    for t in (target, source):
        await demo.seed(await t.ctx(), t.agencies)
    merge = TenantMerge(sources=(TenantRef(source.id, source.code, "Thái Bình"),),
                        target=TenantRef(target.id, target.code, "Hưng Yên"), effective_on=date(2025, 7, 1))
    dry = await reporting.merge(merge)
    assert dry.moved == {"awards_form": 4, "awards_decision": 1}
    kinds = sorted(c.kind for c in dry.conflicts)
    assert kinds == ["award_form_code"] * 4 + ["decision_number", "setting"]
    with unscoped():
        assert await AwardForm.count().where(AwardForm.tenant_id == source.id) == 4  # dry run: nothing changed
        for table in TABLES[:-1]:  # what core does first: rows move, ids kept (settings clash on tenant_id)
            await table.update({table.tenant_id: target.id}).where(table.tenant_id == source.id)
    from dataclasses import replace

    report = await reporting.merge(replace(merge, dry_run=False))
    assert len(report.conflicts) == 6
    with unscoped():
        forms = await AwardForm.select().where(AwardForm.tenant_id == target.id).output(load_json=True)
        decisions = await AwardDecision.select().where(AwardDecision.tenant_id == target.id)
        settings = await AwardSettings.select().where(AwardSettings.tenant_id.is_in([target.id, source.id]))
    suffix = source.code.replace("-", "_")
    codes = sorted(f["code"] for f in forms)
    assert f"giay_khen_{suffix}" in codes and "giay_khen" in codes and len(codes) == 8
    assert all(f["code_key"] == f"{target.id}:{f['code']}" for f in forms)
    moved_co = next(f for f in forms if f["code"] == f"co_thi_dua_ubnd_tinh_{suffix}")
    assert f"consecutive_years:bang_khen_ubnd_tinh_{suffix}:2" in moved_co["criteria"]
    keys = sorted(d["number_key"] for d in decisions)
    assert keys[0].startswith(f"{target.id}:2024:") and keys[1].endswith(f"@{source.code}") and len(keys) == 2
    assert len(settings) == 1 and settings[0]["tenant_id"] == target.id
    again = await reporting.merge(replace(merge, dry_run=False))  # nothing left to move
    assert again.moved == {"awards_form": 0, "awards_decision": 0} and again.conflicts == ()


async def test_merge_through_the_platform(client: Any, make_tenant: Any, platform_users: Any) -> None:
    """The real merge (core calls the hook, then moves every row): both provinces' awards end up in the target,
    each form and decision still reachable, the target's settings kept."""
    target, source = await make_tenant(modules=["awards"]), await make_tenant(modules=["awards"])
    for t in (target, source):
        await demo.seed(await t.ctx(), t.agencies)
    await Api(client, target).patch("/settings", {"approval_threshold_percent": 60})
    body = {"sources": [source.code], "effective_on": "2025-07-01"}
    dry = await client.post(target.url("/merge"), headers=platform_users["platform_admin"], json=body)
    assert dry.status_code in (200, 201), dry.text
    mine = [c for c in dry.json()["conflicts"] if c["module"] == "awards"]
    assert sorted(c["kind"] for c in mine) == ["award_form_code"] * 4 + ["decision_number", "setting"]
    done = await client.post(target.url("/merge"), headers=platform_users["platform_admin"],
                             json={**body, "dry_run": False})
    assert done.status_code in (200, 201), done.text
    api = Api(client, target)
    assert (await api.get("/forms")).json()["total"] == 8
    decisions = (await api.get("/decisions", year=2024)).json()["items"]
    assert [d["number"] for d in decisions] == ["2315/QĐ-UBND", "2315/QĐ-UBND"]
    assert all(d["form_code"].startswith("bang_khen_ubnd_tinh") for d in decisions)
    assert (await api.get("/history", year=2024)).json()["total"] == 2
    assert (await api.get("/settings")).json()["approval_threshold_percent"] == 60
    statuses = sorted(p["status"] for p in (await api.get("/proposals", limit=100)).json()["items"])
    assert statuses.count("draft") == 2 and len(statuses) == 12
