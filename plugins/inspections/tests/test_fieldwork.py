"""Teams (Mẫu 20), the Art. 40 member check with and without training, visits and their notifications."""

from __future__ import annotations

import uuid
from typing import Any

from core.contracts import Fact, ModuleInfo
from core.errors import Conflict
from core.plugins import build_plugin_system, hookimpl
from plugins.inspections import fieldwork
from plugins.inspections.schemas import MemberIn
from plugins.inspections.tests.conftest import make_person, notifications


class FakeTraining:
    """A training module that answers the agreed fact for two people."""

    def __init__(self, valid: dict[str, bool]) -> None:
        self.valid = valid

    @hookimpl
    def isogov_module(self):
        return ModuleInfo(name="training", title_vi="Đào tạo", title_en="Training", version="0")

    @hookimpl
    async def isogov_facts(self, ctx, agencies, people, on):
        facts = []
        for p in people:
            ok = self.valid.get(str(p), False)
            facts.append(Fact(subject="person", subject_id=p, name="training.valid_internal_auditor", value=ok,
                              explanation="Chứng chỉ đánh giá viên nội bộ số 12/ĐGNB còn hiệu lực" if ok
                              else "Chứng chỉ đánh giá viên nội bộ đã hết hạn ngày 01/01/2024", holds_on=on))
        return facts


async def enable_training(t: Any) -> None:
    from core.tenancy import unscoped
    from core.tenancy.tables import TenantModule

    with unscoped():
        await TenantModule.insert(TenantModule(id=uuid.uuid4(), key=f"{t.id}:training", tenant_id=t.id,
                                               module="training", enabled=True))


async def test_without_training_members_are_unknown_and_warned(api: Any) -> None:
    team = await api.ok("post", "/teams", {"year": 2024, "decision_number": "02/QĐ-BCĐISO",
                                           "decision_date": "2024-03-07", "issuer": "Ban Chỉ đạo ISO tỉnh"})
    head = await make_person(api.t, "Trần Quốc Anh", "P", "Phó Giám đốc Sở KH&CN")
    member = await api.ok("post", f"/teams/{team['id']}/members", {"person_id": head, "role": "head"})
    assert member["eligibility"] == "unknown" and "chưa bật" in member["eligibility_note"]
    read = await api.ok("get", f"/teams/{team['id']}")
    assert read["members"][0]["full_name"] == "Trần Quốc Anh" and read["members"][0]["position"].startswith("Phó")
    assert read["warnings"] and read["warnings"][0].startswith("Trần Quốc Anh:")
    other = await make_person(api.t, "Nguyễn Văn B", "P")
    r = await api.post(f"/teams/{team['id']}/members", {"person_id": other, "role": "head"})
    assert r.status_code == 409 and r.json()["field"] == "role"
    assert (await api.post(f"/teams/{team['id']}/members", {"person_id": head})).status_code == 409
    assert (await api.post(f"/teams/{team['id']}/members", {"person_id": str(uuid.uuid4())})).status_code == 404
    visit = await api.ok("post", "/visits", {"agency_id": api.agency("D1"), "form": "on_site",
                                             "scheduled_on": "2024-04-02", "team_id": team["id"]})
    assert visit["warnings"] and visit["status"] == "scheduled"


async def test_members_of_the_inspected_agency_are_refused(api: Any) -> None:
    team = await api.ok("post", "/teams", {"year": 2024, "decision_number": "03/QĐ-BCĐISO",
                                           "decision_date": "2024-03-07", "issuer": "BCĐ ISO"})
    await api.ok("post", "/visits", {"agency_id": api.agency("D1"), "form": "on_site", "scheduled_on": "2024-04-02",
                                     "team_id": team["id"]})
    insider = await make_person(api.t, "Lã Xuân Trường", "D1U", "Phó Chánh Văn phòng")
    r = await api.post(f"/teams/{team['id']}/members", {"person_id": insider})
    assert r.status_code == 409 and "Sở Giao thông Vận tải" in r.json()["detail"]
    outsider = await make_person(api.t, "Hoàng Văn C", "D2")
    await api.ok("post", f"/teams/{team['id']}/members", {"person_id": outsider})
    r = await api.post("/visits", {"agency_id": api.agency("D2"), "form": "on_site", "scheduled_on": "2024-04-04",
                                   "team_id": team["id"]})
    assert r.status_code == 409 and "Hoàng Văn C" in r.json()["detail"]
    r = await api.post("/visits", {"agency_id": api.agency("D2"), "form": "on_site", "scheduled_on": "2024-04-04"})
    assert r.status_code == 422 and r.json()["field"] == "team_id"


async def test_art40_with_training_refuses_with_the_reason(api: Any, tenant: Any) -> None:
    await enable_training(tenant)
    ctx = await tenant.ctx()
    valid = await make_person(tenant, "Người có chứng chỉ", "P")
    expired = await make_person(tenant, "Người hết hạn", "P")
    system = build_plugin_system(plugins=[FakeTraining({valid: True, expired: False})])
    team = await api.ok("post", "/teams", {"year": 2024, "decision_number": "04/QĐ-BCĐISO",
                                           "decision_date": "2024-03-07", "issuer": "BCĐ ISO"})
    row = await fieldwork.add_member(ctx, system, uuid.UUID(team["id"]), MemberIn(person_id=uuid.UUID(valid)))
    assert row["eligibility"] == "eligible" and "12/ĐGNB" in row["eligibility_note"]
    try:
        await fieldwork.add_member(ctx, system, uuid.UUID(team["id"]), MemberIn(person_id=uuid.UUID(expired)))
        raise AssertionError("an expired certificate was accepted")
    except Conflict as exc:
        assert "hết hạn ngày 01/01/2024" in str(exc.detail) and "Điều 40" in str(exc.detail)
    old = await api.ok("post", "/teams", {"year": 2015, "decision_number": "01/QĐ-BCĐISO",
                                          "decision_date": "2015-03-07", "issuer": "BCĐ ISO"})
    row = await fieldwork.add_member(ctx, system, uuid.UUID(old["id"]), MemberIn(person_id=uuid.UUID(expired)))
    assert row["eligibility"] == "not_required"


async def test_visits_notify_move_and_cancel(api: Any, tenant: Any) -> None:
    team = await api.ok("post", "/teams", {"year": 2024, "decision_number": "05/QĐ-BCĐISO",
                                           "decision_date": "2024-03-07", "issuer": "BCĐ ISO"})
    user_person = await make_person(tenant, "Thanh tra viên", "P", user_id=tenant.users["inspector"])
    await api.ok("post", f"/teams/{team['id']}/members", {"person_id": user_person, "role": "head"})
    visit = await api.ok("post", "/visits", {"agency_id": api.agency("D1"), "form": "on_site",
                                             "scheduled_on": "2024-04-02", "team_id": team["id"]})
    [sent] = await notifications(tenant, "inspections.visit_scheduled")
    assert "Sở Giao thông Vận tải" in sent["title"] and "02/04/2024" in sent["title"]
    assert (await api.post("/visits", {"agency_id": api.agency("D1"), "form": "on_site", "scheduled_on": "2024-04-02",
                                       "team_id": team["id"]})).status_code == 409
    assert (await api.post(f"/visits/{visit['id']}/move", {"scheduled_on": "2025-01-02"})).status_code == 422
    moved = await api.ok("post", f"/visits/{visit['id']}/move", {"scheduled_on": "2024-04-04", "reason": "Trùng lịch"})
    assert moved["scheduled_on"] == "2024-04-04" and moved["history"][-1]["from"] == "2024-04-02"
    [moved_note] = await notifications(tenant, "inspections.visit_moved")
    assert "02/04/2024" in moved_note["title"] and "04/04/2024" in moved_note["title"]
    cancelled = await api.ok("post", f"/visits/{visit['id']}/cancel", {"reason": "Hoãn"})
    assert cancelled["status"] == "cancelled"
    assert (await api.post(f"/visits/{visit['id']}/move", {"scheduled_on": "2024-04-05"})).status_code == 409
    assert (await api.post(f"/visits/{visit['id']}/cancel", {"reason": "lần nữa"})).status_code == 409
    assert (await api.post(f"/visits/{visit['id']}/cancel", {"reason": "x"}, role="agency_officer")).status_code == 403
    listed = await api.ok("get", "/visits?year=2024&status=cancelled")
    assert listed["total"] == 1
    paper = await api.ok("post", "/visits", {"agency_id": api.agency("D2"), "form": "documents",
                                             "scheduled_on": "2024-05-15"})
    assert paper["team_id"] is None and paper["form"] == "documents"


async def test_with_the_training_module_on_a_member_without_certificate_is_refused(client: Any,
                                                                                    make_tenant: Any) -> None:
    """The real training module (enabled with every installed module) answers the Art. 40 fact."""
    from core.plugins import get_plugin_system
    from plugins.inspections import demo
    from plugins.inspections.tests.conftest import Api

    if "training" not in get_plugin_system().module_names():
        return  # the check above (FakeTraining) covers the rule without it
    t = await make_tenant()
    api = Api(client, t)
    team = await api.ok("post", "/teams", {"year": 2024, "decision_number": "06/QĐ-BCĐISO",
                                           "decision_date": "2024-03-07", "issuer": "BCĐ ISO"})
    nobody = await make_person(t, "Người chưa học", "P")
    r = await api.post(f"/teams/{team['id']}/members", {"person_id": nobody})
    assert r.status_code == 409 and "Điều 40" in r.json()["detail"] and "chứng chỉ" in r.json()["detail"]
    await demo.seed(await t.ctx(), dict(t.agencies))  # demo history still tells its story with training on
    seeded = next(x for x in (await api.ok("get", "/teams?year=2024"))["items"]
                  if x["decision_number"] == "02/QĐ-BCĐISO")
    assert len(seeded["members"]) == 5 and {m["eligibility"] for m in seeded["members"]} == {"unknown"}
