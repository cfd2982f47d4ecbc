"""What the module contributes through hooks (identity, permissions, indicators, eligibility, evidence targets,
demo data, reminders) and the province settings that feed the overdue rules."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any

import pytest

from core.errors import Forbidden, NotFound
from core.auth.permissions import permissions_for
from core.plugins import get_plugin_system
from core.tenancy import Actor
from core.tenancy.context import TenantContext
from plugins.certification import reporting
from plugins.certification.tests.conftest import Api, Seeded, assert_problem


def as_role(ctx: TenantContext, role: str, agency_id: Any = None) -> TenantContext:
    actor = Actor(id=uuid.uuid4(), email=f"{role}@test", role=role, tenant_id=ctx.tenant.id, agency_id=agency_id)
    return TenantContext(tenant=ctx.tenant, actor=actor, permissions=permissions_for(role))


async def test_module_identity_and_permissions(api: Api) -> None:
    modules = (await api.client.get("/api/v1/modules", headers=api.t.headers())).json()
    me = next(m for m in modules if m["name"] == "certification")
    assert me["title_en"] == "QMS certification" and me["depends_on"] == []
    perms = {}
    for role in ("tenant_admin", "inspector", "agency_officer", "viewer"):
        body = (await api.client.get("/api/v1/me", headers=api.t.headers(role))).json()
        perms[role] = {p for p in body["permissions"] if p.startswith("certification.")}
    assert perms == {
        "tenant_admin": {"certification.read", "certification.write", "certification.manage"},
        "inspector": {"certification.read", "certification.write"},
        "agency_officer": {"certification.read", "certification.write"},
        "viewer": {"certification.read"},
    }


async def test_every_route_has_a_summary_and_names_a_certification_permission(app: Any) -> None:
    routes = [r for r in app.routes if "/certification/" in r.path]
    assert len(routes) >= 9
    for route in routes:
        for handler in route.route_handlers:
            if set(handler.http_methods) <= {"HEAD", "OPTIONS"}:
                continue  # Litestar's own OPTIONS answer
            assert handler.opt["permission"].startswith("certification."), route.path
            assert handler.summary, route.path


async def test_settings_are_read_by_all_and_changed_by_tenant_admins(api: Api) -> None:
    assert (await api.get("/settings", "viewer")).json() == {"conversion_deadline": None,
                                                             "conversion_deadline_reference": None, "updated_at": None}
    await api.announced("D1", year=2016)
    assert "conversion" not in (await api.get("/board", as_of="2020-01-01", q="giao thong")).json()["items"][0][
        "overdue_reasons"]
    for role in ("inspector", "agency_officer", "viewer"):
        assert_problem(await api.client.patch(api.path("/settings"), headers=api.t.headers(role),
                                              json={"conversion_deadline": "2019-07-31"}), 403)
    r = await api.client.patch(api.path("/settings"), headers=api.t.headers(),
                               json={"conversion_deadline": "2019-07-31", "conversion_deadline_reference": "  KH 218  "})
    assert r.status_code == 200, r.text
    assert r.json()["conversion_deadline"] == "2019-07-31" and r.json()["conversion_deadline_reference"] == "KH 218"
    # the 2016 announcement was on 2015 (the default), so build one on 2008 and see the rule apply
    await api.ok("D2", "build_started", date(2016, 1, 4), standard_version="2008")
    row = (await api.get("/board", as_of="2019-08-01", q="tu phap")).json()["items"][0]
    assert row["overdue_reasons"] == ["conversion"]
    r = await api.client.patch(api.path("/settings"), headers=api.t.headers(), json={"conversion_deadline": None})
    assert r.json()["conversion_deadline"] is None and r.json()["conversion_deadline_reference"] == "KH 218"
    assert (await api.get("/board", as_of="2019-08-01", q="tu phap")).json()["items"][0]["overdue_reasons"] == []
    assert_problem(await api.client.patch(api.path("/settings"), headers=api.t.headers(), json={"deadline": "x"}), 400,
                   field="deadline")
    assert_problem(await api.client.patch(api.path("/settings"), headers=api.t.headers(),
                                          json={"conversion_deadline": "31/07/2019"}), 400,
                   field="conversion_deadline")


async def test_hook_indicators_count_by_level_on_a_year(bac_ninh: Seeded, hung_yen: Seeded) -> None:
    system = get_plugin_system()

    async def indicators(s: Seeded, year: int) -> dict[str, Any]:
        tenant = (await s.api.t.ctx()).tenant
        values = await system.indicators({"certification": [tenant]}, year)
        assert {(i.module, i.tenant_id) for i in values} == {("certification", tenant.id)}
        return {i.name: i for i in values}

    y2019 = await indicators(bac_ninh, 2019)
    assert list(y2019) == ["required", "building", "applying", "announced", "reannounced",
                           "on_2015_version", "overdue"]
    board = (await bac_ninh.api.get("/board/summary", as_of="2019-12-31")).json()
    assert y2019["required"].value == board["by_required"]["required"]["total"]
    assert y2019["announced"].value == 20 and y2019["announced"].breakdown["commune"] == 19
    assert y2019["announced"].breakdown["district"] == 1
    assert y2019["reannounced"].value == 1 and y2019["reannounced"].breakdown["district"] == 1  # BG-VY on 2015
    assert y2019["on_2015_version"].value == 20 and y2019["overdue"].value == 0
    assert y2019["announced"].label_vi and y2019["announced"].label_en
    y2020 = await indicators(bac_ninh, 2020)
    assert y2020["reannounced"].value == 2 and y2020["reannounced"].breakdown["commune"] == 2  # scope extended
    assert (await indicators(bac_ninh, 2024))["overdue"].value == 1  # Việt Tiến missed its 2023 audit
    assert (await indicators(bac_ninh, 2026))["announced"].value == 0  # the old agencies closed on 2025-07-01
    y2016 = await indicators(hung_yen, 2016)
    assert (y2016["building"].value, y2016["applying"].value, y2016["announced"].value) == (0, 5, 36)
    assert y2016["on_2015_version"].value == 0
    board = (await hung_yen.api.get("/board/summary", as_of="2016-12-31")).json()
    assert y2016["required"].value == board["by_required"]["required"]["total"]


async def test_hook_facts(api: Api, make_tenant: Any) -> None:
    system = get_plugin_system()
    ctx = await api.t.ctx()

    async def facts(*agency_ids: Any, on: date | None = None) -> Any:
        return await system.facts(ctx, agencies=list(agency_ids), on=on or date.today(), modules=["certification"])

    d1, d2 = api.t.agencies["D1"], api.t.agencies["D2"]
    none = await facts(d2)
    assert none.value(d2, "certification.status") == "not_started"
    assert none.value(d2, "certification.announced") is False
    assert none.get(d2, "certification.announced").explanation == "Chưa công bố HTQLCL phù hợp TCVN ISO 9001"
    assert none.value(d2, "certification.overdue") is False
    await api.announced("D1", year=2019)
    got = await facts(d1, d2)  # one call answers for both agencies
    announced = got.get(d1, "certification.announced")
    assert announced.value is True and announced.holds_on == date(2019, 7, 1)
    assert announced.explanation == "Đã công bố HTQLCL phù hợp TCVN ISO 9001:2015 ngày 01/07/2019"
    assert got.value(d1, "certification.standard_version") == "2015"
    overdue = got.get(d1, "certification.overdue")
    assert overdue.value is True and overdue.data["reasons"] == ["internal_audit", "management_review"]
    assert overdue.explanation.startswith("Quá hạn: đánh giá nội bộ quá hạn")
    assert got.value(d2, "certification.announced") is False
    fresh = await facts(d1, on=date(2019, 12, 31))
    assert fresh.value(d1, "certification.overdue") is False
    assert fresh.value(d1, "certification.reannouncement_due") is False
    other = await make_tenant(modules=["certification"])
    foreign = await facts(other.agencies["D1"], uuid.uuid4())
    assert foreign.of(other.agencies["D1"]) == {}  # another province's agency: no facts


async def test_announcing_notifies_the_lead_unit(api: Api) -> None:
    from core.notifications.tables import Notification
    from core.tenancy import unscoped

    await api.announced("D1", year=2019)
    with unscoped():
        rows = await Notification.select().where((Notification.tenant_id == api.t.id)
                                                 & (Notification.kind == "certification.announced"))
    assert len(rows) == 1
    assert rows[0]["title"] == "Sở Giao thông Vận tải đã công bố HTQLCL phù hợp TCVN ISO 9001"
    assert rows[0]["link"].endswith("/certification/records/" + str(rows[0]["link"]).rsplit("/", 1)[-1])
    assert rows[0]["recipient_count"] == 1  # the tenant admin (Sở KH&CN)


async def test_hook_evidence_targets_check_existence_and_access(api: Api, make_tenant: Any) -> None:
    targets = {t.target_type: t for ts in get_plugin_system().pm.hook.isogov_evidence_targets() for t in ts
               if t.module == "certification"}
    assert set(targets) == {"qms_record", "qms_event"}
    d1 = (await api.announced("D1"))
    d2 = await api.ok("D2", "build_started", date(2019, 1, 7))
    ctx = await api.t.ctx()
    for target, own, sibling in (("qms_record", d1["record"]["id"], d2["record"]["id"]),
                                 ("qms_event", d1["event"]["id"], d2["event"]["id"])):
        check = targets[target].check
        await check(ctx, uuid.UUID(own), True)
        officer = as_role(ctx, "agency_officer", api.t.agencies["D1"])
        await check(officer, uuid.UUID(own), True)
        await check(officer, uuid.UUID(sibling), False)  # officers read the whole province
        with pytest.raises(Forbidden):
            await check(officer, uuid.UUID(sibling), True)
        with pytest.raises(Forbidden):
            await check(as_role(ctx, "viewer"), uuid.UUID(own), True)
        await check(as_role(ctx, "viewer"), uuid.UUID(own), False)
        other = await make_tenant(modules=["certification"])
        with pytest.raises(NotFound):
            await check(await other.ctx(), uuid.UUID(own), False)
        with pytest.raises(NotFound):
            await check(ctx, uuid.uuid4(), False)
        with pytest.raises(NotFound):
            await check(ctx, "not-an-id", False)


async def test_hook_seed_demo_leaves_other_provinces_alone(api: Api) -> None:
    results = await get_plugin_system().collect("isogov_seed_demo", modules=["certification"], ctx=await api.t.ctx(),
                                                agencies=dict(api.t.agencies))
    assert results == []  # returns nothing, raised nothing
    assert (await api.get("/board/summary")).json()["by_status"]["not_started"] == 5


async def test_hook_reminders_are_empty_without_records(api: Api) -> None:
    [(module, reminders)] = await get_plugin_system().collect("isogov_reminders", modules=["certification"],
                                                              ctx=await api.t.ctx(), day=date(2026, 1, 5))
    assert (module, reminders) == ("certification", [])
    await api.announced("D1", year=2019)
    reminders = await reporting.reminders(await api.t.ctx(), date(2020, 5, 20))
    assert [(r.kind, r.status, r.due_on) for r in reminders] == [
        ("internal_audit_due", "due", date(2020, 6, 3)), ("management_review_due", "due", date(2020, 6, 17))]
    assert reminders[0].key == f"certification:internal_audit_due:{api.t.agencies['D1']}:2020-06-03"
    assert reminders[0].agency_id == api.t.agencies["D1"] and reminders[0].title.startswith("Đánh giá nội bộ")
    late = await reporting.reminders(await api.t.ctx(), date(2020, 6, 10))
    assert [(r.kind, r.status) for r in late] == [("internal_audit_due", "overdue"), ("management_review_due", "due")]


async def test_the_national_view_carries_the_certification_figures(bac_ninh: Seeded, client: Any,
                                                                  platform_users: Any) -> None:
    r = await client.get("/api/v1/national/indicators?year=2019", headers=platform_users["national_reviewer"])
    assert r.status_code == 200, r.text
    figures = {t["code"]: t["indicators"] for t in r.json()["tenants"]}[bac_ninh.api.t.code]["certification"]
    assert (figures["announced"]["value"], figures["reannounced"]["value"], figures["on_2015_version"]["value"]) == (
        20, 1, 20)
    assert figures["announced"]["label_vi"] == "Đã công bố HTQLCL"
    assert figures["announced"]["breakdown"]["commune"] == 19
    assert "BG-VY" not in r.text and "Việt Yên" not in r.text  # counts only, no agency rows


@pytest.mark.parametrize("few", [0, 200])  # 0: every agency read as "many" (the whole province), 200: by id
async def test_facts_read_from_their_columns_equal_the_facts_of_the_full_state(
        bac_ninh: Seeded, lang_son: Seeded, monkeypatch: Any, few: int) -> None:
    """facts() reads only the record columns its facts need (no JSON columns) and, for many agencies, the whole
    province: every fact must equal the one built from the complete state as the board reads it (full records,
    replayed before a record's last event), on days before, between and after the seeded events; `names` keeps
    exactly the named facts."""
    from core.agencies.services import is_active
    from core.agencies.tables import Agency
    from plugins.certification import rules, services
    from plugins.certification.tests.conftest import SEED_DAY

    monkeypatch.setattr(reporting, "_FEW", few)
    held: set[str] = set()  # fact names seen true somewhere: the comparison covers those branches
    for seeded in (bac_ninh, lang_son):
        ctx = (await seeded.api.t.ctx()).as_read_only()
        agencies = await ctx.scope(Agency).select(Agency.id, Agency.valid_from, Agency.valid_to)
        ids = [a["id"] for a in agencies]
        deadline = await services.conversion_deadline(ctx)
        for on in (date(2015, 6, 30), date(2016, 12, 31), date(2020, 3, 20), date(2023, 7, 1),
                   SEED_DAY - timedelta(days=100), SEED_DAY):
            states = await services.states_as_of(ctx, on, await services._records(ctx))
            expected = {(f.subject_id, f.name): f for a in agencies for f in reporting.agency_facts(
                a["id"], states.get(a["id"]) or rules.QmsState(), is_active(a, on), on, deadline)}
            got = await reporting.facts(ctx, [*ids, uuid.uuid4()], on)
            assert {(f.subject_id, f.name): f for f in got} == expected and len(got) == len(expected)
            names = ("certification.overdue", "certification.announced", "training.valid", "certification.nope")
            named = await reporting.facts(ctx, ids, on, names)
            assert {(f.subject_id, f.name): f for f in named} == {
                k: f for k, f in expected.items() if f.name in names} and len(named) == 2 * len(ids)
            held |= {f.name for f in got if f.value is True}
    assert {"certification.overdue", "certification.announced", "certification.head_confirmed",
            "certification.reannouncement_due", "certification.legal_update_late"} <= held, held
    assert await reporting.facts(ctx, ids, SEED_DAY, ["training.valid"]) == []
