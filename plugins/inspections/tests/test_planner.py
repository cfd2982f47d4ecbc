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
