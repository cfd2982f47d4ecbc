"""Hooks: demo data of a province, facts, indicators (one call for several tenants), reminders, evidence, merge."""

from __future__ import annotations

from datetime import date
from typing import Any

from core.contracts import TenantMerge, TenantRef
from core.plugins import get_plugin_system
from core.tenancy.context import TenantsReader
from plugins.inspections import demo, reporting
from plugins.inspections.tests.conftest import signed_record


async def seeded(tenant: Any) -> Any:
    ctx = await tenant.ctx()
    await demo.seed(ctx, dict(tenant.agencies))
    return ctx


async def test_demo_tells_the_2024_story_with_every_state(api: Any, tenant: Any) -> None:
    await seeded(tenant)
    plans = await api.ok("get", "/plans?year=2024")
    plan = await api.ok("get", f"/plans/{plans['items'][0]['id']}")
    assert plan["status"] == "approved" and plan["decision_number"] == "329/QĐ-UBND"
    assert plan["decision_date"] == "2024-02-16" and plan["coverage"]["ok"]
    [team] = (await api.ok("get", "/teams?year=2024"))["items"]
    assert team["decision_number"] == "02/QĐ-BCĐISO" and team["decision_date"] == "2024-03-07"
    head = team["members"][0]
    assert head["role"] == "head" and head["full_name"] == "Trần Quốc Anh" and "Phó Giám đốc" in head["position"]
    visits = (await api.ok("get", "/visits?year=2024"))["items"]
    assert {v["scheduled_on"] for v in visits if v["form"] == "on_site"} == {"2024-04-02"}  # D1, D2 on 02/04
    findings = (await api.ok("get", "/findings?year=2024&limit=100"))["items"]
    assert {f["status"] for f in findings} == {"closed", "action_reported", "deferred", "open"}
    assert sum(f["overdue"] for f in findings) == 1
    actions = [a["status"] for f in findings for a in f["actions"]]
    assert {"accepted", "not_accepted", "deferred", "reported"} <= set(actions)
    await demo.seed(await tenant.ctx(), dict(tenant.agencies))  # idempotent
    assert (await api.ok("get", "/plans?year=2024"))["total"] == 1
    from plugins.inspections.tests.conftest import notifications

    for kind in ("plan_submitted", "plan_approved", "visit_scheduled", "record_signed", "action_reported"):
        assert await notifications(tenant, f"inspections.{kind}") == []  # 2024's history is not news


async def test_facts_answer_for_agencies(api: Any, tenant: Any) -> None:
    await signed_record(api, agency="D1", day="2024-04-02", findings=(("TC5", "minor"), ("QD3", "major")))
    ctx = await tenant.ctx()
    d1, d2 = tenant.agencies["D1"], tenant.agencies["D2"]
    sheet = await get_plugin_system().facts(ctx, agencies=[d1, d2], on=date(2024, 12, 1))
    assert sheet.value(d1, "inspections.last_inspected_on") == date(2024, 4, 2)
    assert sheet.value(d1, "inspections.last_form") == "on_site"
    assert sheet.value(d1, "inspections.last_on_site_on") == date(2024, 4, 2)
    assert sheet.value(d1, "inspections.last_result") == "major_nonconformities"
    assert sheet.value(d1, "inspections.inspected_this_year") is True
    assert sheet.value(d1, "inspections.open_findings") == 2
    assert sheet.value(d1, "inspections.overdue_corrective_actions") == 2
    assert "02/04/2024" in sheet.get(d1, "inspections.last_inspected_on").explanation
    assert sheet.value(d2, "inspections.last_inspected_on") is None
    assert sheet.get(d2, "inspections.last_inspected_on").explanation == "Chưa được kiểm tra"
    early = await get_plugin_system().facts(ctx, agencies=[d1], on=date(2024, 3, 1))
    assert early.value(d1, "inspections.last_inspected_on") is None


async def test_indicators_for_several_tenants_in_one_call(api: Any, tenant: Any, make_tenant: Any) -> None:
    await seeded(tenant)
    other = await make_tenant()
    infos = [(await tenant.ctx()).tenant, (await other.ctx()).tenant]
    found = await reporting.indicators(TenantsReader(tuple(infos)), infos, 2024)
    mine = {i.name: i for i in found if i.tenant_id == tenant.id}
    theirs = {i.name: i for i in found if i.tenant_id == other.id}
    assert set(mine) == {"inspected_documents", "inspected_on_site", "findings", "corrective_on_time",
                         "corrective_late", "corrective_not_accepted"}
    assert mine["inspected_on_site"].value == 2 and mine["inspected_on_site"].breakdown == {"department": 2}
    assert mine["inspected_documents"].value == 1 and mine["inspected_documents"].breakdown == {"province": 1}
    assert mine["findings"].value == 4
    # D1: TC5 on time (then accepted), QD4 on time (not accepted, reported again); D2: TC2 on time, QD5 none
    assert mine["corrective_on_time"].value == 3 and mine["corrective_late"].value == 1
    assert mine["corrective_not_accepted"].value == 1
    assert all(i.value == 0 for i in theirs.values())
    assert mine["findings"].label_vi.startswith("Số vấn đề")


async def test_summary_figures_on_a_seeded_province(api: Any, tenant: Any) -> None:
    await seeded(tenant)
    summary = await api.ok("get", "/summary/2024")
    assert summary["required"] == 3
    assert summary["by_level"]["department"]["on_site"] == 2 and summary["by_level"]["province"]["documents"] == 1
    assert summary["totals"]["findings"] == 4 and summary["totals"]["late"] == 1
    assert summary["by_item"] == {"QD4": 1, "QD5": 1, "TC2": 1, "TC5": 1}
    assert [r["agency_code"] for r in summary["rows"]] == ["D1", "D2", "P"]


async def test_reminders_before_and_after_due_dates(api: Any, tenant: Any) -> None:
    record = await signed_record(api, agency="D1", day="2024-04-02")
    ctx = (await tenant.ctx()).as_read_only()
    before = await reporting.reminders(ctx, date(2024, 5, 28))
    assert [r.kind for r in before if r.kind.startswith("corrective")] == ["corrective_action_due"]
    after = await reporting.reminders(ctx, date(2024, 6, 3))
    [late] = [r for r in after if r.kind == "corrective_action_overdue"]
    assert late.status == "overdue" and late.agency_id == tenant.agencies["D1"] and "02/06/2024" in late.title
    team = await api.ok("post", "/teams", {"year": 2024, "decision_number": "9/QĐ", "decision_date": "2024-03-01",
                                           "issuer": "BCĐ"})
    await api.ok("post", "/visits", {"agency_id": api.agency("D2"), "form": "on_site", "scheduled_on": "2024-09-10",
                                     "team_id": team["id"]})
    soon = await reporting.reminders(ctx, date(2024, 9, 5))
    assert [r.kind for r in soon] == ["visit_upcoming"] or "visit_upcoming" in [r.kind for r in soon]
    assert record["findings"]


async def test_evidence_targets_check_tenant_and_role(api: Any, tenant: Any, make_tenant: Any) -> None:
    import uuid

    from core.errors import Forbidden, NotFound
    from core.tenancy import Actor
    from core.tenancy.context import TenantContext

    record = await signed_record(api, agency="D1", day="2024-04-02")
    targets = get_plugin_system().evidence_targets()
    assert {"inspection_plan", "inspection_decision", "inspection_visit", "inspection_record", "inspection_finding",
            "inspection_corrective_action"} <= set(targets)
    ctx = await tenant.ctx()
    finding = record["findings"][0]["id"]
    await targets["inspection_finding"].check(ctx, finding, True)
    officer = TenantContext(tenant=ctx.tenant, actor=Actor(id=tenant.users["agency_officer"], email="o", role="agency_officer",
                                                            tenant_id=tenant.id, agency_id=tenant.agencies["D2"]),
                            permissions=frozenset({"inspections.read", "inspections.report"}))
    try:
        await targets["inspection_finding"].check(officer, finding, True)
        raise AssertionError("an officer of another agency attached to the finding")
    except Forbidden:
        pass
    try:
        await targets["inspection_record"].check(officer, record["id"], True)
        raise AssertionError("an officer attached to a record")
    except Forbidden:
        pass
    other = await make_tenant()
    try:
        await targets["inspection_record"].check(await other.ctx(), record["id"], False)
        raise AssertionError("another tenant saw the record")
    except NotFound:
        pass
    del uuid


async def test_merge_renumbers_plans_and_keeps_target_settings(api: Any, tenant: Any, make_tenant: Any) -> None:
    from core.tenancy import unscoped
    from plugins.inspections.tables import InspectionPlan, InspectionSettings

    from plugins.inspections.tests.conftest import Api

    target = await make_tenant()
    tapi = Api(api.client, target)
    await api.approved_plan(2024)
    await tapi.approved_plan(2024)
    await api.ok("patch", "/settings", {"on_site_share_num": 1, "on_site_share_den": 2})
    await tapi.ok("patch", "/settings", {"on_site_share_num": 1, "on_site_share_den": 3})
    src, dst = TenantRef(tenant.id, tenant.code, tenant.name), TenantRef(target.id, target.code, target.name)
    with unscoped():  # what core does first: move the rows
        await InspectionPlan.update({"tenant_id": target.id}).where(InspectionPlan.tenant_id == tenant.id)
    dry = await reporting.merge(TenantMerge(sources=(src,), target=dst, effective_on=date(2025, 7, 1)))
    assert {c.kind for c in dry.conflicts} == {"sequence", "setting"}
    with unscoped():
        assert await InspectionSettings.count().where(InspectionSettings.tenant_id == tenant.id) == 1
    report = await reporting.merge(TenantMerge(sources=(src,), target=dst, effective_on=date(2025, 7, 1),
                                               dry_run=False))
    assert any("revision 2" in c.rule for c in report.conflicts)
    with unscoped():
        plans = await InspectionPlan.select().where(InspectionPlan.tenant_id == target.id).order_by(
            InspectionPlan.revision)
        assert [(p["revision"], p["status"]) for p in plans] == [(1, "approved"), (2, "superseded")]
        assert all(p["plan_key"].startswith(str(target.id)) for p in plans)
        assert await InspectionSettings.count().where(InspectionSettings.tenant_id == tenant.id) == 0
