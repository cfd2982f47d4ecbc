"""The facts other modules rely on (inspections asks `training.valid_internal_auditor` per person), the indicators
of the annual report, reminders, the daily job, evidence targets and the tenant merge rule."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any

import pytest

from core.errors import Forbidden, NotFound
from core.plugins import get_plugin_system
from plugins.training import certificates, services
from plugins.training.tests.conftest import TODAY, Api


async def auditors(api: Api, names: list[str], start: date, failed: int = 0, absent: int = 0
                   ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """An internal-auditor course in the past, closed: everyone passes except the first `failed` (score 4) and the
    next `absent` (missed a day)."""
    s = await api.session("INTERNAL_AUDITOR", starts_on=start, days=2)
    await api.move(s["id"], "open", on=start - timedelta(days=10))
    ctx = await api.t.ctx()
    regs = []
    for name in names:
        p = await api.person("D1", name, "Kiểm soát viên")
        regs.append(await services.register(ctx, s["id"], uuid.UUID(p["id"]), None, today=start - timedelta(days=2)))
    await api.move(s["id"], "held", on=start)
    everyone = [str(r["id"]) for r in regs]
    await api.ok("post", f"/sessions/{s['id']}/attendance", {"day": start.isoformat(), "present": everyone},
                 status=200)
    await api.ok("post", f"/sessions/{s['id']}/attendance",
                 {"day": (start + timedelta(days=1)).isoformat(), "present": everyone[failed + absent:] + everyone[:failed]},
                 status=200)
    scores = [{"registration_id": str(r["id"]), "score": 4.0 if i < failed else 8.0} for i, r in enumerate(regs)]
    await api.ok("post", f"/sessions/{s['id']}/scores", {"scores": scores}, status=200)
    done = await api.move(s["id"], "closed", on=start + timedelta(days=1))
    return done, regs


async def test_valid_internal_auditor_fact_batched_with_expiry_and_revocation(api: Api) -> None:
    start = TODAY - timedelta(days=400)
    done, regs = await auditors(api, ["Trần Quốc Anh", "Lê Văn Tám", "Phạm Thị Hoa", "Đỗ Minh Đức"], start,
                                failed=1, absent=1)
    assert done["certificates_issued"] == 2
    people = [r["person_id"] for r in regs]
    certs = (await api.ok("get", f"/certificates?session_id={done['session']['id']}"))["items"]
    holder = {c["person_id"]: c for c in certs}
    issued = start + timedelta(days=1)
    assert all(c["issued_on"] == issued.isoformat() for c in certs)
    assert all(c["expires_on"] == certificates.expiry(issued, 36).isoformat() for c in certs)
    system = get_plugin_system()
    sheet = await system.facts(await api.t.ctx(), people=people, on=TODAY)
    assert sheet.knows("training")
    name = "training.valid_internal_auditor"
    values = [sheet.value(p, name) for p in people]
    assert values == [False, False, True, True]  # failed the exam, missed a day, passed, passed
    fact = sheet.get(people[2], name)
    assert fact.data["certificate_number"] == holder[str(people[2])]["number_text"]
    assert fact.data["expires_on"] == holder[str(people[2])]["expires_on"]
    assert "còn hiệu lực đến ngày" in fact.explanation
    assert "Chưa có chứng chỉ" in sheet.get(people[0], name).explanation
    # before issue, and after expiry: not valid
    before = await system.facts(await api.t.ctx(), people=people[2:], on=start)
    assert before.value(people[2], name) is False
    expires = date.fromisoformat(holder[str(people[2])]["expires_on"])
    assert (await system.facts(await api.t.ctx(), people=[people[2]], on=expires)).value(people[2], name) is True
    after = await system.facts(await api.t.ctx(), people=[people[2]], on=expires + timedelta(days=1))
    assert after.value(people[2], name) is False and "hết hạn" in after.get(people[2], name).explanation
    # revoked: not valid from the revocation day, still valid the day before; the certificate is kept
    cert = holder[str(people[3])]
    revoked = await api.ok("post", f"/certificates/{cert['id']}/revoke",
                           {"reason": "Chuyển công tác khác", "on": (TODAY - timedelta(days=10)).isoformat()},
                           status=200)
    assert revoked["status"] == "revoked" and not revoked["valid_today"]
    sheet = await system.facts(await api.t.ctx(), people=[people[3]], on=TODAY)
    assert sheet.value(people[3], name) is False and "thu hồi" in sheet.get(people[3], name).explanation
    earlier = await system.facts(await api.t.ctx(), people=[people[3]], on=TODAY - timedelta(days=11))
    assert earlier.value(people[3], name) is True
    # agency facts: has_internal_auditor from a person now in the agency; trained staff of the year
    d1 = api.t.agencies["D1"]
    sheet = await system.facts(await api.t.ctx(), agencies=[d1, api.t.agencies["D2"]], on=TODAY)
    assert sheet.value(d1, "training.has_internal_auditor") is True
    assert sheet.get(d1, "training.has_internal_auditor").data["count"] == 1
    assert sheet.value(api.t.agencies["D2"], "training.has_internal_auditor") is False
    in_year = await system.facts(await api.t.ctx(), agencies=[d1], on=date(start.year, 12, 31))
    assert in_year.value(d1, "training.trained_staff") == 4  # all attended at least one day of that year's course
    assert (await system.facts(await api.t.ctx(), agencies=[d1], on=date(start.year + 5, 1, 1))
            ).value(d1, "training.trained_staff") == 0


async def test_facts_of_another_tenant_and_with_the_module_off(api: Api, make_tenant: Any) -> None:
    other = await make_tenant(modules=[])
    sheet = await get_plugin_system().facts(await other.ctx(), people=[uuid.uuid4()], on=TODAY)
    assert not sheet.knows("training")  # inspections shows "unknown" as a warning
    stranger = uuid.uuid4()
    sheet = await get_plugin_system().facts(await api.t.ctx(), people=[stranger], agencies=[], on=TODAY)
    assert sheet.value(stranger, "training.valid_internal_auditor") is False


async def test_reminders_and_the_daily_job(api: Api) -> None:
    from core.notifications.tables import Notification
    from core.tenancy import unscoped
    from plugins.training import jobs, reporting

    s = await api.session(starts_on=TODAY + timedelta(days=7))
    trainer = await api.person("D2", "Báo cáo viên Hùng")
    await api.ok("patch", f"/sessions/{s['id']}", {"trainer_ids": [trainer["id"]]})
    await api.move(s["id"], "open")
    p = await api.person("D1", "Học viên Lan")
    await api.register(s["id"], p["id"])
    done, _ = await auditors(api, ["Sắp Hết Hạn"], certificates.add_months(TODAY, -36) + timedelta(days=20))
    ctx = (await api.t.ctx()).as_read_only()
    found = await reporting.reminders(ctx, TODAY)
    kinds = sorted(r.kind for r in found)
    assert kinds == ["certificate_expiring", "session_soon"]
    expiring = next(r for r in found if r.kind == "certificate_expiring")
    assert expiring.agency_id == api.t.agencies["D1"] and "hết hạn" in expiring.title
    assert await reporting.reminders(ctx, TODAY + timedelta(days=1)) != found
    sent = await jobs.session_soon(await api.t.ctx(), TODAY)
    assert sent == 2  # the officers of D1 (participant) and D2 (trainer)
    assert await jobs.session_soon(await api.t.ctx(), TODAY) == 2
    with unscoped():
        rows = await Notification.select().where((Notification.tenant_id == api.t.id)
                                                 & (Notification.kind == "training.session_soon"))
    assert len(rows) == 2  # run twice, sent once


async def test_indicators_for_all_tenants_in_one_call(api: Api, make_tenant: Any) -> None:
    start = date(TODAY.year - 1, 3, 2)
    await auditors(api, ["Một", "Hai", "Ba"], start, failed=1)
    other = await make_tenant(modules=["training"])
    tenants = [(await api.t.ctx()).tenant, (await other.ctx()).tenant]
    found = await get_plugin_system().indicators({"training": tenants}, start.year)
    mine = {i.name: i for i in found if i.tenant_id == api.t.id}
    theirs = {i.name: i for i in found if i.tenant_id == other.id}
    assert set(mine) == {"sessions_held", "participants", "agencies_trained", "agencies_with_internal_auditor",
                         "certificates_issued"} == set(theirs)
    assert mine["sessions_held"].value == 1 and mine["participants"].value == 3
    assert mine["agencies_trained"].value == 1 and mine["agencies_trained"].breakdown["department"] == 1
    assert mine["agencies_with_internal_auditor"].value == 1 and mine["certificates_issued"].value == 2
    assert mine["participants"].label_vi and mine["participants"].unit == "person"
    assert all(i.value == 0 for i in theirs.values())
    # an agency closed before the year: its staff still count as people trained, the agency no more
    from core.agencies.tables import Agency

    await (await api.t.ctx()).scope(Agency).update(api.t.agencies["D1"], {"valid_to": date(start.year - 1, 6, 30)})
    closed = {i.name: i for i in await get_plugin_system().indicators({"training": tenants}, start.year)
              if i.tenant_id == api.t.id}
    assert closed["participants"].value == 3 and closed["certificates_issued"].value == 2
    assert closed["agencies_trained"].value == 0 and closed["agencies_with_internal_auditor"].value == 0


async def test_evidence_targets(api: Api, make_tenant: Any) -> None:
    from core.auth.permissions import permissions_for
    from core.tenancy import Actor
    from core.tenancy.context import TenantContext

    done, _ = await auditors(api, ["Người có chứng chỉ"], TODAY - timedelta(days=20))
    cert = (await api.ok("get", f"/certificates?session_id={done['session']['id']}"))["items"][0]
    targets = {t.target_type: t for ts in get_plugin_system().pm.hook.isogov_evidence_targets() for t in ts}
    ctx = await api.t.ctx()
    await targets["training_session"].check(ctx, uuid.UUID(done["session"]["id"]), True)
    await targets["training_certificate"].check(ctx, uuid.UUID(cert["id"]), True)
    base = await api.t.ctx()
    viewer = TenantContext(tenant=base.tenant, actor=Actor(id=uuid.uuid4(), email="v@x", role="viewer",
                                                           tenant_id=base.tenant.id),
                           permissions=permissions_for("viewer"))
    await targets["training_session"].check(viewer, uuid.UUID(done["session"]["id"]), False)
    with pytest.raises(Forbidden):
        await targets["training_certificate"].check(viewer, uuid.UUID(cert["id"]), True)
    other = await make_tenant(modules=["training"])
    with pytest.raises(NotFound):
        await targets["training_session"].check(await other.ctx(), uuid.UUID(done["session"]["id"]), False)


async def test_facts_take_the_same_few_queries_for_3000_subjects(api: Api, monkeypatch: Any) -> None:
    """Batched: the number of queries does not grow with the number of people and agencies asked about."""
    import time

    from core.db import engine

    await auditors(api, ["Kiểm soát viên A", "Kiểm soát viên B"], TODAY - timedelta(days=30))
    db = engine()
    calls = {"n": 0}
    original = type(db).run_querystring

    async def counting(self: Any, *args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        return await original(self, *args, **kwargs)

    monkeypatch.setattr(type(db), "run_querystring", counting)
    ctx = (await api.t.ctx()).as_read_only()
    from plugins.training import reporting

    counts = []
    for n in (3, 3000):
        people = [uuid.uuid4() for _ in range(n)]
        agencies = [api.t.agencies["D1"]] + [uuid.uuid4() for _ in range(n - 1)]
        calls["n"] = 0
        began = time.perf_counter()
        found = await reporting.facts(ctx, agencies, people, TODAY)
        elapsed = time.perf_counter() - began
        assert len(found) == 3 * n
        counts.append(calls["n"])
        print(f"facts for {n} people and {n} agencies: {calls['n']} queries, {elapsed * 1000:.0f} ms")
    assert counts[0] == counts[1] <= 5
