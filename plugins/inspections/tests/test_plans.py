"""Year plans: every state and refusal, the coverage rule, revisions with history, the planner."""

from __future__ import annotations

from typing import Any


def lines(api: Any, **forms: str) -> list[dict[str, Any]]:
    return [{"agency_id": api.agency(a), "form": f} for a, f in forms.items()]


async def test_coverage_rule_names_missing_agencies_and_on_site_shortfall(api: Any) -> None:
    plan = await api.ok("post", "/plans", {"year": 2024, "lines": lines(api, D1="documents", C1="documents")})
    assert plan["status"] == "draft" and plan["revision"] == 1 and "năm 2024" in plan["title"]
    cov = plan["coverage"]
    assert cov["required"] == 3 and cov["on_site_required"] == 1 and cov["on_site_shortfall"] == 1
    assert {m["code"] for m in cov["missing"]} == {"P", "D2"} and not cov["ok"]
    r = await api.post(f"/plans/{plan['id']}/submit")
    assert r.status_code == 409 and r.headers["content-type"].startswith("application/problem+json")
    detail = r.json()["detail"]
    assert "Sở Tư pháp (D2)" in detail and "(P)" in detail and "thiếu 1" in detail and r.json()["field"] == "lines"
    await api.ok("post", f"/plans/{plan['id']}/lines", {"agency_id": api.agency("P"), "form": "documents"})
    await api.ok("post", f"/plans/{plan['id']}/lines", {"agency_id": api.agency("D2"), "form": "documents"})
    r = await api.post(f"/plans/{plan['id']}/submit")
    assert r.status_code == 409 and "tại chỗ" in r.json()["detail"] and "Sở Tư pháp" not in r.json()["detail"]
    d1 = next(l for l in (await api.ok("get", f"/plans/{plan['id']}"))["lines"] if l["agency_code"] == "D1")
    await api.ok("patch", f"/plans/{plan['id']}/lines/{d1['id']}", {"form": "on_site", "budget_vnd": 15_000_000})
    submitted = await api.ok("post", f"/plans/{plan['id']}/submit")
    assert submitted["status"] == "submitted" and submitted["coverage"]["ok"]
    assert (await api.post(f"/plans/{plan['id']}/submit")).status_code == 409  # duplicate submit


async def test_configured_share_and_a_duplicate_line(api: Any) -> None:
    assert (await api.patch("/settings", {"on_site_share_num": 3, "on_site_share_den": 2})).status_code == 422
    await api.ok("patch", "/settings", {"on_site_share_num": 1, "on_site_share_den": 2})
    plan = await api.ok("post", "/plans", {"year": 2025, "lines": lines(api, P="documents", D1="on_site",
                                                                      D2="documents")})
    assert plan["coverage"]["on_site_required"] == 2 and plan["on_site_share"] == "1/2"
    r = await api.post(f"/plans/{plan['id']}/lines", {"agency_id": api.agency("D1"), "form": "documents"})
    assert r.status_code == 409
    r = await api.post("/plans", {"year": 2025})
    assert r.status_code == 409 and r.json()["field"] == "year"


async def test_states_approval_revision_history_and_roles(api: Any) -> None:
    draft = await api.ok("post", "/plans", {"year": 2024, "lines": lines(api, P="documents", D1="on_site",
                                                                       D2="documents")})
    pid = draft["id"]
    assert (await api.post(f"/plans/{pid}/approve", {"decision_number": "329/QĐ-UBND", "decision_date": "2024-02-16",
                                                     "decision_signer": "Chủ tịch"})).status_code == 409
    assert (await api.post("/plans", {"year": 2024}, role="viewer")).status_code == 403
    await api.ok("post", f"/plans/{pid}/submit", role="inspector")
    assert (await api.post(f"/plans/{pid}/approve", {"decision_number": "329/QĐ-UBND", "decision_date": "2024-02-16",
                                                     "decision_signer": "Chủ tịch"}, role="inspector")).status_code == 403
    returned = await api.ok("post", f"/plans/{pid}/return", {"reason": "Bổ sung kinh phí"})
    assert returned["status"] == "draft" and returned["history"][-1]["note"] == "Bổ sung kinh phí"
    await api.ok("post", f"/plans/{pid}/submit")
    r = await api.post(f"/plans/{pid}/approve", {"decision_number": "329/QĐ-UBND", "decision_date": "2021-02-16",
                                                 "decision_signer": "Chủ tịch"})
    assert r.status_code == 422 and r.json()["field"] == "decision_date"
    approved = await api.ok("post", f"/plans/{pid}/approve", {
        "decision_number": "329/QĐ-UBND", "decision_date": "2024-02-16", "decision_signer": "Chủ tịch UBND tỉnh"})
    assert approved["status"] == "approved" and approved["decision_number"] == "329/QĐ-UBND"
    assert (await api.patch(f"/plans/{pid}", {"title": "Khác"})).status_code == 409  # locked after approval
    d2 = next(l for l in approved["lines"] if l["agency_code"] == "D2")
    assert (await api.delete(f"/plans/{pid}/lines/{d2['id']}")).status_code == 409
    rev = await api.ok("post", f"/plans/{pid}/revise", {"reason": "Bổ sung Sở Tư pháp kiểm tra tại chỗ"})
    assert rev["revision"] == 2 and rev["status"] == "draft" and rev["revises_id"] == pid and len(rev["lines"]) == 3
    assert (await api.post(f"/plans/{pid}/revise", {"reason": "lần nữa"})).status_code == 409
    d2 = next(l for l in rev["lines"] if l["agency_code"] == "D2")
    await api.ok("patch", f"/plans/{rev['id']}/lines/{d2['id']}", {"form": "on_site"})
    await api.ok("post", f"/plans/{rev['id']}/submit")
    rev = await api.ok("post", f"/plans/{rev['id']}/approve", {
        "decision_number": "1020/QĐ-UBND", "decision_date": "2024-06-10", "decision_signer": "Chủ tịch UBND tỉnh"})
    old = await api.ok("get", f"/plans/{pid}")
    assert old["status"] == "superseded" and old["decision_number"] == "329/QĐ-UBND"
    assert [(r["revision"], r["status"]) for r in rev["revisions"]] == [(1, "superseded"), (2, "approved")]
    closed = await api.ok("post", f"/plans/{rev['id']}/close")
    assert closed["status"] == "closed" and [h["action"] for h in closed["history"]][-2:] == ["approved", "closed"]
    listed = await api.ok("get", "/plans?year=2024")
    assert listed["total"] == 2


async def test_close_waits_for_the_year_end(api: Any) -> None:
    plan = await api.approved_plan(year=2099)
    r = await api.post(f"/plans/{plan['id']}/close")
    assert r.status_code == 409 and "01/12/2099" in r.json()["detail"]


async def test_unknown_and_inactive_agencies_are_refused(api: Any) -> None:
    import uuid

    r = await api.post("/plans", {"year": 2024, "lines": [{"agency_id": str(uuid.uuid4()), "form": "on_site"}]})
    assert r.status_code == 404
    r = await api.post("/plans", {"year": 2009, "lines": lines(api, D1="on_site")})
    assert r.status_code == 400 or r.status_code == 422


async def test_two_submits_at_once_give_one_submit_and_one_409(api: Any) -> None:
    import asyncio

    plan = await api.ok("post", "/plans", {"year": 2024, "lines": lines(api, P="documents", D1="on_site",
                                                                      D2="documents")})
    first, second = await asyncio.gather(api.post(f"/plans/{plan['id']}/submit"),
                                         api.post(f"/plans/{plan['id']}/submit"))
    assert sorted([first.status_code, second.status_code]) == [201, 409]
    history = (await api.ok("get", f"/plans/{plan['id']}"))["history"]
    assert [h["action"] for h in history] == ["created", "submitted"]
