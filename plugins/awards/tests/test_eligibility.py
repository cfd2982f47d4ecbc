"""Eligibility through the facts hook: each module on and off (fake fact-answering modules, and the real
certification module switched per province), unknown treated as blocking unless overridden."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

import pytest

from core.contracts import Fact, ModuleInfo
from core.errors import Unprocessable
from core.plugins import build_plugin_system, hookimpl
from plugins.awards import plugin as awards_plugin
from plugins.awards import services
from plugins.awards.tests.conftest import Api, assert_problem


class Fake:
    """A plugin object built in a test (pluggy needs hashable plugins)."""


def fake_module(name: str, answer: Any) -> Fake:
    ns = Fake()
    ns.isogov_module = hookimpl(lambda: ModuleInfo(name=name, title_vi=name, title_en=name, version="1"))

    async def facts(ctx: Any, agencies: list, people: list, on: date) -> list[Fact]:
        return answer(agencies, people, on)

    ns.isogov_facts = hookimpl(facts)
    return ns


STATE: dict[str, Any] = {}


def cert(agencies: list, people: list, on: date) -> list[Fact]:
    out = []
    for a in agencies:
        announced, overdue = STATE.get("announced", True), STATE.get("overdue", False)
        out += [Fact("agency", a, "certification.announced", announced,
                     "Đã công bố HTQLCL phù hợp TCVN ISO 9001:2015 ngày 01/07/2019" if announced else "Chưa công bố"),
                Fact("agency", a, "certification.overdue", overdue,
                     "Quá hạn: đánh giá nội bộ quá hạn" if overdue else "Không có nghĩa vụ quá hạn")]
    return out


def inspections(agencies: list, people: list, on: date) -> list[Fact]:
    STATE.setdefault("asked_on", []).append(on)
    return [f for a in agencies for f in (
        Fact("agency", a, "inspections.inspected_this_year", STATE.get("inspected", True),
             f"Đã được kiểm tra năm {on.year}" if STATE.get("inspected", True) else f"Chưa được kiểm tra năm {on.year}"),
        Fact("agency", a, "inspections.overdue_corrective_actions", STATE.get("late", 0),
             f"{STATE.get('late', 0)} hành động khắc phục quá hạn"))]


def training(agencies: list, people: list, on: date) -> list[Fact]:
    return [*(Fact("agency", a, "training.has_internal_auditor", STATE.get("auditor", True), "Có chuyên gia ĐGNB")
              for a in agencies),
            *(Fact("person", p, "training.valid_internal_auditor", STATE.get("person_auditor", False),
                   "Chứng chỉ chuyên gia đánh giá nội bộ số 12/2023 còn hiệu lực" if STATE.get("person_auditor")
                   else "Không có chứng chỉ còn hiệu lực") for p in people)]


def broken(agencies: list, people: list, on: date) -> list[Fact]:
    raise RuntimeError("module bug")


SYSTEM = build_plugin_system(plugins=[fake_module("certification", cert), fake_module("inspections", inspections),
                                      fake_module("training", training), awards_plugin])
ALL = ["awards", "certification", "inspections", "training"]


@pytest.fixture(autouse=True)
def fresh_state() -> None:
    STATE.clear()


async def statuses(api: Api, proposal: dict[str, Any], modules: list[str], system: Any = SYSTEM) -> dict[str, Any]:
    ctx = await api.t.ctx()
    row = await services.get_proposal(ctx, proposal["id"])
    judged = (await services.judge(ctx, [row], system, modules, today=date(2026, 12, 1)))[row["id"]]
    return {c.code: (c.status, c.explanation) for c in judged.criteria} | {"eligible": judged.eligible}


async def test_each_module_on_and_off(api: Api) -> None:
    bk = (await api.forms())["bang_khen_ubnd_tinh"]
    p = await api.proposal(bk, agency="D1")
    got = await statuses(api, p, ALL)
    assert got["eligible"] is True
    assert got["qms_announced_no_overdue"] == (
        "met", "Đã công bố HTQLCL phù hợp TCVN ISO 9001:2015 ngày 01/07/2019; Không có nghĩa vụ quá hạn")
    assert got["inspected_this_year_no_overdue_ca"] == (
        "met", "Đã được kiểm tra năm 2024; 0 hành động khắc phục quá hạn")
    assert got["has_internal_auditor"] == ("met", "Có chuyên gia ĐGNB")
    assert STATE["asked_on"] == [date(2024, 12, 31)]  # facts are asked about the proposal's year
    for module, code in (("certification", "qms_announced_no_overdue"),
                         ("inspections", "inspected_this_year_no_overdue_ca"), ("training", "has_internal_auditor")):
        off = await statuses(api, p, [m for m in ALL if m != module])
        assert off[code][0] == "unknown" and "chưa được bật" in off[code][1], off
        assert off["eligible"] is False
        assert all(v[0] == "met" for k, v in off.items() if k not in (code, "eligible"))
    broken_system = build_plugin_system(plugins=[fake_module("certification", broken), awards_plugin])
    assert (await statuses(api, p, ["awards", "certification"], broken_system))["qms_announced_no_overdue"][0] == \
        "unknown"


async def test_unmet_facts_explained(api: Api) -> None:
    bk = (await api.forms())["bang_khen_ubnd_tinh"]
    p = await api.proposal(bk, agency="D1")
    STATE.update(overdue=True, inspected=True, late=2, auditor=False)
    got = await statuses(api, p, ALL)
    assert got["qms_announced_no_overdue"] == ("unmet", "Đã công bố HTQLCL phù hợp TCVN ISO 9001:2015 ngày "
                                                        "01/07/2019; Quá hạn: đánh giá nội bộ quá hạn")
    assert got["inspected_this_year_no_overdue_ca"] == ("unmet",
                                                        "Đã được kiểm tra năm 2024; 2 hành động khắc phục quá hạn")
    assert got["has_internal_auditor"][0] == "unmet"
    STATE.update(announced=False, overdue=False, inspected=False, late=0)
    got = await statuses(api, p, ALL)
    assert got["qms_announced_no_overdue"][0] == "unmet" and got["inspected_this_year_no_overdue_ca"][0] == "unmet"


async def test_individuals_are_judged_on_their_agency_and_themselves(api: Api) -> None:
    bk = (await api.forms())["bang_khen_ubnd_tinh"]
    p = await api.proposal(bk, person=await api.person("D2"))
    got = await statuses(api, p, ALL)
    assert got["qms_announced_no_overdue"][1].startswith("Sở Tư pháp: ")
    assert got["has_internal_auditor"] == ("unmet", "Không có chứng chỉ còn hiệu lực")
    STATE["person_auditor"] = True
    assert (await statuses(api, p, ALL))["has_internal_auditor"] == (
        "met", "Chứng chỉ chuyên gia đánh giá nội bộ số 12/2023 còn hiệu lực")


async def test_submission_blocked_by_unknown_until_overridden(api: Api) -> None:
    bk = (await api.forms())["bang_khen_ubnd_tinh"]
    p = await api.proposal(bk, agency="D1")
    ctx = await api.t.ctx()
    no_training = ["awards", "certification", "inspections"]
    with pytest.raises(Unprocessable) as refused:
        await services.submit(ctx, p["id"], SYSTEM, no_training)
    assert refused.value.field == "eligibility" and "has_internal_auditor (unknown)" in refused.value.detail
    with pytest.raises(Exception):  # a met criterion cannot be overridden
        await services.override(ctx, p["id"], "qms_announced_no_overdue", "Lý do bất kỳ", SYSTEM, no_training)
    await services.override(ctx, p["id"], "has_internal_auditor", "Mô-đun đào tạo chưa dùng; có chứng chỉ giấy",
                            SYSTEM, no_training)
    row = await services.submit(ctx, p["id"], SYSTEM, no_training)
    assert row["status"] == "submitted"
    snapshot = {c["code"]: c for c in row["eligibility"]}
    assert snapshot["has_internal_auditor"]["overridden"] is True
    assert snapshot["has_internal_auditor"]["override_reason"] == "Mô-đun đào tạo chưa dùng; có chứng chỉ giấy"
    assert snapshot["qms_announced_no_overdue"]["status"] == "met"


async def test_real_certification_module_switched_per_province(client: Any, make_tenant: Any) -> None:
    t = await make_tenant(modules=["awards", "certification"])
    api = Api(client, t)
    gk = (await api.forms())["giay_khen"]  # requires qms_announced_no_overdue only
    for kind, on, extra in (("build_started", "2024-01-10", {"scope": ["Cấp giấy phép lái xe"]}), ("apply_started", "2024-03-01", {}),
                            ("internal_audit", "2024-06-03", {"result": "Phù hợp"}),
                            ("management_review", "2024-06-17", {}),
                            ("head_confirmed", "2024-06-24", {"confirmed_by": "Giám đốc Sở"}),
                            ("announced", "2024-07-01", {"decision_number": "12/QĐ-SGTVT", "signer": "Giám đốc"})):
        r = await client.post(t.url(f"/certification/agencies/{t.agencies['D1']}/events"), headers=t.headers(),
                              json={"kind": kind, "occurred_on": on, **extra})
        assert r.status_code == 201, r.text
    announced = await api.proposal(gk, agency="D1")
    not_yet = await api.proposal(gk, agency="D2")
    [c] = announced["eligibility"]["criteria"]
    assert c["status"] == "met" and "Đã công bố HTQLCL phù hợp TCVN ISO 9001:2015 ngày 01/07/2024" in c["explanation"]
    [c] = not_yet["eligibility"]["criteria"]
    assert c["status"] == "unmet" and "Chưa công bố" in c["explanation"]
    r = await api.post(f"/proposals/{announced['id']}/submit")
    assert r.status_code == 200 and r.json()["status"] == "submitted", r.text
    assert_problem(await api.post(f"/proposals/{not_yet['id']}/submit"), 422, "eligibility")
    r = await client.put(t.url("/modules/certification"), headers=t.headers(), json={"enabled": False})
    assert r.status_code == 200, r.text
    [c] = (await api.get(f"/proposals/{not_yet['id']}")).json()["eligibility"]["criteria"]
    assert c["status"] == "unknown" and "chưa được bật" in c["explanation"]
    assert_problem(await api.post(f"/proposals/{not_yet['id']}/submit"), 422, "eligibility")
    await api.override_all((await api.get(f"/proposals/{not_yet['id']}")).json())
    r = await api.post(f"/proposals/{not_yet['id']}/submit")
    assert r.status_code == 200 and r.json()["submitted_eligibility"][0]["status"] == "unknown"
    listed = (await api.get("/proposals")).json()["items"]
    assert {p["eligibility"]["criteria"][0]["status"] for p in listed} == {"unknown"}
    assert str(uuid.UUID(listed[0]["id"]))
