"""The auto-planner: complete, deterministic, explained, spread over months and teams."""

from __future__ import annotations

from typing import Any


async def test_proposal_is_complete_deterministic_and_explained(api: Any) -> None:
    body = {"months": [4], "teams": ["Đoàn 1", "Đoàn 2"], "visits_per_day": 1}
    first = await api.ok("post", "/plans/2024/proposal", body)
    again = await api.ok("post", "/plans/2024/proposal", body)
    assert first == again
    assert first["required"] == 3 and first["on_site_required"] == 1 and first["share"] == "1/3"
    assert {l["agency_code"] for l in first["lines"]} == {"P", "D1", "D2"}  # voluntary left out by default
    # no history: every agency was never inspected on site; ties go by agency code
    assert [l["agency_code"] for l in first["lines"]] == ["D1", "D2", "P"]
    on_site = [l for l in first["lines"] if l["form"] == "on_site"]
    assert [l["agency_code"] for l in on_site] == ["D1"]
    assert on_site[0]["visit_on"] == "2024-04-01" and on_site[0]["team_label"] == "Đoàn 1"
    assert all(any(r["text"] == "Chưa từng được kiểm tra tại chỗ" for r in l["reasons"]) for l in first["lines"])
    assert all(l["risk_score"] == sum(r["points"] for r in l["reasons"]) for l in first["lines"])
    assert (await api.post("/plans/2024/proposal", body, role="viewer")).status_code == 403


async def test_proposal_spreads_visits_and_refuses_too_few_slots(api: Any) -> None:
    await api.ok("patch", "/settings", {"on_site_share_num": 1, "on_site_share_den": 1})
    body = {"months": [4], "teams": ["A", "B"], "visits_per_day": 1, "include_voluntary": True}
    proposal = await api.ok("post", "/plans/2024/proposal", body)
    on_site = [(l["agency_code"], l["visit_on"], l["team_label"]) for l in proposal["lines"] if l["form"] == "on_site"]
    assert on_site == [("D1", "2024-04-01", "A"), ("D2", "2024-04-01", "B"), ("P", "2024-04-02", "A")]
    assert {l["agency_code"] for l in proposal["lines"] if l["form"] == "documents"} == {"C1", "D1U"}
    r = await api.post("/plans/2024/proposal", {"months": [], "teams": ["A"]})
    assert r.status_code == 400 and r.json()["field"] == "months"


async def test_accepting_a_proposal_creates_a_draft_that_submits(api: Any) -> None:
    proposal = await api.ok("post", "/plans/2024/proposal", {"months": [4, 5], "create_draft": True})
    plan = await api.ok("get", f"/plans/{proposal['plan_id']}")
    assert plan["coverage"]["ok"] and len(plan["lines"]) == 3
    d1 = next(l for l in plan["lines"] if l["agency_code"] == "D1")
    assert d1["form"] == "on_site" and d1["reasons"][0]["code"] == "never_on_site" and d1["expected_month"] == 4
    assert (await api.post(f"/plans/{plan['id']}/submit")).status_code in (200, 201)
    assert (await api.post("/plans/2024/proposal", {"create_draft": True})).status_code == 409


async def test_risk_reasons_from_history_and_certification_facts(api: Any) -> None:
    from plugins.inspections.tests.conftest import signed_record
    from plugins.inspections.tests.test_records import cert

    await signed_record(api, agency="D2", day="2022-04-04", findings=(("QD3", "major"),))
    for kind, on, extra in [("build_started", "2019-01-10", {"scope": ["Cấp phép"]}), ("apply_started", "2019-03-01", {}),
                            ("internal_audit", "2019-06-03", {"result": "Phù hợp"}),
                            ("management_review", "2019-06-17", {}),
                            ("head_confirmed", "2019-06-24", {"confirmed_by": "Giám đốc"}),
                            ("announced", "2019-07-01", {"decision_number": "12/QĐ", "signer": "Giám đốc"})]:
        await cert(api, "D1", kind, on, **extra)
    proposal = await api.ok("post", "/plans/2024/proposal", {"months": [4]})
    by_code = {l["agency_code"]: l for l in proposal["lines"]}
    d2 = {r["code"]: r for r in by_code["D2"]["reasons"]}
    assert d2["years_since_on_site"]["text"] == "Đã 2 năm kể từ lần kiểm tra tại chỗ gần nhất (04/04/2022)"
    assert d2["last_result"]["text"] == "Lần kiểm tra gần nhất (tại chỗ, 04/04/2022) có điểm không phù hợp nặng"
    assert d2["overdue_actions"]["points"] == 15 and d2["open_findings"]["points"] == 5
    assert d2["not_announced"]["text"] == "Chưa công bố HTQLCL phù hợp TCVN ISO 9001"
    d1 = {r["code"] for r in by_code["D1"]["reasons"]}
    assert "not_announced" not in d1 and "certification_overdue" in d1 and "never_on_site" in d1
    assert [l["agency_code"] for l in proposal["lines"]] == ["D2", "P", "D1"]
    assert [l["agency_code"] for l in proposal["lines"] if l["form"] == "on_site"] == ["D2"]
    assert not proposal["warnings"]


async def test_without_certification_the_proposal_warns(client: Any, make_tenant: Any) -> None:
    from plugins.inspections.tests.conftest import Api

    api = Api(client, await make_tenant(modules=["inspections"]))
    proposal = await api.ok("post", "/plans/2024/proposal", {"months": [4]})
    assert proposal["warnings"] and "certification" in proposal["warnings"][0]
    assert all(r["code"] == "never_on_site" for l in proposal["lines"] for r in l["reasons"])
    r = await api.post("/records", {"visit_id": "00000000-0000-0000-0000-000000000000"})
    assert r.status_code == 404


def test_the_planner_asks_for_exactly_the_facts_its_score_reads() -> None:
    """The proposal asks the facts hook only for planner.FACTS_READ: a fact score() reads and the list forgets
    would silently be unknown (and change the plan)."""
    import uuid

    from core.contracts import Fact, FactSheet
    from plugins.inspections import planner

    class Recording(FactSheet):
        def __init__(self, facts: list[Fact]) -> None:
            super().__init__(facts, answered=("certification",))
            self.read: set[str] = set()

        def get(self, subject_id: Any, name: str) -> Fact | None:
            self.read.add(name)
            return super().get(subject_id, name)

    a = uuid.uuid4()
    values = {"certification.announced": False, "certification.overdue": True,
              "certification.reannouncement_due": True, "certification.legal_update_late": True,
              "certification.standard_version": "2008"}
    for facts in ([], [Fact("agency", a, name, value, "x") for name, value in values.items()]):
        sheet = Recording(facts)
        reasons = planner.score({"id": a}, 2024, None, sheet)
        assert sheet.read == set(planner.FACTS_READ), sheet.read ^ set(planner.FACTS_READ)
    assert {r.code for r in reasons} >= {"not_announced", "certification_overdue", "scope_changed",
                                          "legal_update_late", "version_2008"}
