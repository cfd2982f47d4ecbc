"""Proposals: every state and every refusal, who may propose what, overrides with reasons (audited)."""

from __future__ import annotations

from typing import Any

from plugins.awards.tests.conftest import Api, assert_problem


async def inbox(api: Api, role: str) -> list[str]:
    """Titles of the notifications addressed to the user of that role (delivery rows; workers deliver later)."""
    from core.notifications.tables import Notification, NotificationDelivery
    from core.tenancy import unscoped

    with unscoped():
        ids = [r["notification_id"] for r in await NotificationDelivery.select(NotificationDelivery.notification_id)
               .where(NotificationDelivery.user_id == api.t.users[role])]
        rows = await Notification.select(Notification.title).where(Notification.id.is_in(ids or [None]))
    return [r["title"] for r in rows]


async def test_forms_catalogue_and_rules(api: Api) -> None:
    forms = await api.forms()
    assert set(forms) == {"giay_khen", "bang_khen_ubnd_tinh", "co_thi_dua_ubnd_tinh", "bang_khen_bo_khcn"}
    assert forms["bang_khen_ubnd_tinh"]["name"] == "Bằng khen của Chủ tịch UBND tỉnh"
    assert forms["co_thi_dua_ubnd_tinh"]["for_individual"] is False
    assert "consecutive_years:bang_khen_ubnd_tinh:2" in forms["co_thi_dua_ubnd_tinh"]["criteria"]
    assert len(await api.forms()) == 4  # idempotent
    found = (await api.get("/forms", q="chu tich ubnd")).json()
    assert [f["code"] for f in found["items"]] == ["bang_khen_ubnd_tinh"]
    r = await api.post("/forms", {"code": "Tap_The_LDXS", "name": "Tập thể lao động xuất sắc", "level": "province",
                                  "for_individual": False, "criteria": ["QMS_announced_no_overdue",
                                                                        "consecutive_years:giay_khen:2"]})
    assert r.status_code == 201, r.text
    assert r.json()["code"] == "tap_the_ldxs" and r.json()["criteria"][0] == "qms_announced_no_overdue"
    assert_problem(await api.post("/forms", {"code": "giay_khen", "name": "x", "level": "province"}), 409, "code")
    assert_problem(await api.post("/forms", {"code": "x1", "name": "x", "level": "province",
                                             "criteria": ["be_nice"]}), 422, "criteria[0]")
    assert_problem(await api.post("/forms", {"code": "x2", "name": "x", "level": "province",
                                             "criteria": ["consecutive_years:nothing:2"]}), 422, "criteria[0]")
    assert_problem(await api.post("/forms", {"code": "x3", "name": "x", "level": "province",
                                             "criteria": ["consecutive_years:giay_khen:11"]}), 422, "criteria[0]")
    assert_problem(await api.post("/forms", {"code": "x4", "name": "x", "level": "province", "for_collective": False,
                                             "for_individual": False}), 422, "for_collective")
    assert_problem(await api.post("/forms", {"code": "x5", "name": "x", "level": "galaxy"}), 400, "level")
    assert_problem(await api.post("/forms", {"code": "x6", "name": "x", "level": "province"}, "agency_officer"), 403)
    criteria = (await api.get("/criteria", "viewer")).json()
    assert {"qms_announced_no_overdue", "inspected_this_year_no_overdue_ca", "has_internal_auditor"} <= {
        c["code"] for c in criteria}
    assert any(c["code"] == "consecutive_years:giay_khen:<n>" for c in criteria)


async def test_movements(api: Api) -> None:
    body = {"year": 2024, "name": "Phong trào thi đua áp dụng ISO năm 2024", "period_from": "2024-01-01",
            "period_to": "2024-12-31", "criteria": ["Không có nghĩa vụ quá hạn"]}
    m = await api.ok("post", "/movements", body)
    assert (await api.get("/movements", q="ap dung iso", year=2024)).json()["total"] == 1
    assert_problem(await api.post("/movements", {**body, "period_to": "2023-12-31"}), 422, "period_to")
    assert_problem(await api.post("/movements", {**body, "year": 2030}), 422, "year")
    assert_problem(await api.patch(f"/movements/{m['id']}", {"period_from": "2025-01-01"}), 422, "period_to")
    r = await api.patch(f"/movements/{m['id']}", {"name": "Phong trào mới"})
    assert r.status_code == 200 and r.json()["name"] == "Phong trào mới"
    form = (await api.forms())["giay_khen"]
    assert_problem(await api.post("/proposals", {"form_id": form["id"], "subject": "collective", "year": 2023,
                                                 "agency_id": str(api.t.agencies["D1"]), "movement_id": m["id"],
                                                 "achievement": "x"}), 422, "year")
    p = await api.proposal(form, year=None, movement_id=m["id"])
    assert p["year"] == 2024 and p["movement_id"] == m["id"]
    assert (await api.get("/proposals", movement_id=m["id"])).json()["total"] == 1


async def test_every_state_and_refusal(api: Api) -> None:
    forms = await api.forms()
    bk = forms["bang_khen_ubnd_tinh"]
    p = await api.proposal(bk, role="agency_officer")
    assert p["status"] == "draft" and p["awardee_name"] == "Sở Giao thông Vận tải"
    assert p["proposed_by"] == api.t.emails["agency_officer"]
    # certification, inspections and training are not on for this province: every criterion is unknown
    assert [c["status"] for c in p["eligibility"]["criteria"]] == ["unknown"] * 3
    assert p["eligibility"]["eligible"] is False
    assert "chưa được bật" in p["eligibility"]["criteria"][0]["explanation"]

    body = assert_problem(await api.post(f"/proposals/{p['id']}/submit", role="agency_officer"), 422, "eligibility")
    assert {c["code"] for c in body["criteria"]} == set(bk["criteria"])
    assert_problem(await api.post(f"/proposals/{p['id']}/overrides", {"criterion": "qms_announced_no_overdue",
                                                                        "reason": "ok"}, "agency_officer"), 400, "reason")
    assert_problem(await api.post(f"/proposals/{p['id']}/overrides", {"criterion": "consecutive_years:giay_khen:2",
                                                                        "reason": "Lý do đầy đủ"}), 422, "criterion")
    one = await api.ok("post", f"/proposals/{p['id']}/overrides", {
        "criterion": "qms_announced_no_overdue", "reason": "Đã công bố lại ngày 12/3/2024, có quyết định kèm theo"},
        "agency_officer", status=200)
    first = one["eligibility"]["criteria"][0]
    assert first["overridden"] and first["override_by"] == api.t.emails["agency_officer"]
    assert first["override_reason"].startswith("Đã công bố lại")
    assert_problem(await api.post(f"/proposals/{p['id']}/submit", role="agency_officer"), 422, "eligibility")
    p = await api.override_all(one, role="agency_officer")
    assert p["eligibility"]["eligible"] is True
    trail = (await api.client.get(api.t.url("/audit-events"), headers=api.t.headers(),
                                  params={"entity": "awards_proposal", "action": "override"})).json()["items"]
    assert len(trail) == 3 and all(e["actor_email"] == api.t.emails["agency_officer"] for e in trail)
    assert any("Đã công bố lại" in str(e["after"]) for e in trail)

    submitted = await api.ok("post", f"/proposals/{p['id']}/submit", role="agency_officer", status=200)
    assert submitted["status"] == "submitted" and submitted["submitted_at"]
    assert [c["code"] for c in submitted["submitted_eligibility"]] == bk["criteria"]
    assert_problem(await api.post(f"/proposals/{p['id']}/submit", role="agency_officer"), 409)  # duplicate submit
    assert_problem(await api.patch(f"/proposals/{p['id']}", {"achievement": "khác"}, "agency_officer"), 409)
    assert_problem(await api.post(f"/proposals/{p['id']}/overrides", {"criterion": "has_internal_auditor",
                                                                        "reason": "Lý do đầy đủ"}, "agency_officer"), 409)
    assert_problem(await api.post(f"/proposals/{p['id']}/review", {}, "agency_officer"), 403)
    assert_problem(await api.post(f"/proposals/{p['id']}/review", {}, "inspector"), 403)
    corrected = await api.ok("patch", f"/proposals/{p['id']}", {"achievement": "Thành tích đã chỉnh câu chữ"})
    assert corrected["achievement"] == "Thành tích đã chỉnh câu chữ"
    assert_problem(await api.patch(f"/proposals/{p['id']}", {"form_id": forms["giay_khen"]["id"]}), 409, "form_id")

    reviewed = await api.ok("post", f"/proposals/{p['id']}/review", {"note": "Hồ sơ đủ"}, status=200)
    assert reviewed["status"] == "reviewed" and reviewed["review_note"] == "Hồ sơ đủ"
    assert_problem(await api.post(f"/proposals/{p['id']}/review", {}), 409)
    assert any("Đã thẩm định" in t for t in await inbox(api, "agency_officer"))  # the proposer is told

    assert_problem(await api.post(f"/proposals/{p['id']}/reject", {}), 400, "reason")
    rejected = await api.ok("post", f"/proposals/{p['id']}/reject", {"reason": "Thành tích chưa tiêu biểu"},
                            status=200)
    assert rejected["status"] == "rejected" and rejected["status_reason"] == "Thành tích chưa tiêu biểu"
    assert_problem(await api.post(f"/proposals/{p['id']}/reject", {"reason": "Lần nữa nhé"}), 409)
    assert any("Không được khen thưởng" in t for t in await inbox(api, "agency_officer"))
    # a rejected proposal no longer blocks a new one for the same collective and form
    again = await api.proposal(bk, role="agency_officer")
    assert_problem(await api.post("/proposals", {"form_id": bk["id"], "subject": "collective", "year": 2024,
                                                 "agency_id": str(api.t.agencies["D1"]), "achievement": "x"}), 409)
    draft_rejected = await api.post(f"/proposals/{again['id']}/reject", {"reason": "Chưa gửi mà"})
    assert_problem(draft_rejected, 409)


async def test_who_may_propose_what(api: Api) -> None:
    forms = await api.forms()
    gk, co = forms["giay_khen"], forms["co_thi_dua_ubnd_tinh"]
    assert (await api.proposal(gk, agency="D1U", role="agency_officer"))["agency_name"] == "Phòng Quản lý Vận tải"
    body = {"form_id": gk["id"], "subject": "collective", "year": 2024, "achievement": "Thành tích"}
    assert_problem(await api.post("/proposals", {**body, "agency_id": str(api.t.agencies["D2"])}, "agency_officer"),
                   403, "agency_id")
    assert_problem(await api.post("/proposals", {**body, "agency_id": str(api.t.agencies["D2"])}, "viewer"), 403)
    assert_problem(await api.post("/proposals", {**body, "agency_id": str(api.t.agencies["D2"])}, "inspector"), 403)
    staff_d1, staff_d2 = await api.person("D1U"), await api.person("D2", name="Trần Văn Nam", position="Chuyên viên")
    ind = await api.proposal(gk, person=staff_d1, role="agency_officer")
    assert (ind["subject"], ind["awardee_name"], ind["position"], ind["agency_name"]) == (
        "individual", "Nguyễn Thị Hoa", "Thư ký ISO", "Phòng Quản lý Vận tải")
    assert_problem(await api.post("/proposals", {**body, "subject": "individual", "person_id": staff_d2},
                                  "agency_officer"), 403, "agency_id")
    ok = await api.proposal(gk, person=staff_d2, position="Phó Trưởng phòng")
    assert ok["position"] == "Phó Trưởng phòng"  # the snapshot may differ from the directory
    assert_problem(await api.post("/proposals", {**body, "subject": "individual"}), 422, "person_id")
    assert_problem(await api.post("/proposals", {**body, "agency_id": str(api.t.agencies["D2"]),
                                                 "person_id": staff_d2}), 422, "person_id")
    assert_problem(await api.post("/proposals", body), 422, "agency_id")
    assert_problem(await api.post("/proposals", {**body, "form_id": co["id"], "subject": "individual",
                                                 "person_id": staff_d1}), 422, "subject")
    # an officer edits its own drafts but not others'
    other = await api.proposal(gk, agency="D2")
    assert_problem(await api.patch(f"/proposals/{other['id']}", {"achievement": "x"}, "agency_officer"), 403)
    assert_problem(await api.post(f"/proposals/{other['id']}/submit", role="agency_officer"), 403)
    mine = await api.ok("patch", f"/proposals/{ind['id']}", {"achievement": "Thành tích mới",
                                                              "evidence": ["Báo cáo số 12/BC"]}, "agency_officer")
    assert mine["achievement"] == "Thành tích mới" and mine["evidence"] == ["Báo cáo số 12/BC"]
    # an inactive form takes no new proposals
    await api.ok("patch", f"/forms/{gk['id']}", {"active": False})
    assert_problem(await api.post("/proposals", {**body, "agency_id": str(api.t.agencies["C1"])}), 422, "form_id")


async def test_other_provinces_ids_are_404(api: Api, make_tenant: Any, client: Any) -> None:
    other = Api(client, await make_tenant(modules=["awards"]))
    theirs = (await other.forms())["giay_khen"]
    mine = (await api.forms())["giay_khen"]
    body = {"form_id": theirs["id"], "subject": "collective", "year": 2024, "achievement": "x",
            "agency_id": str(api.t.agencies["D1"])}
    assert_problem(await api.post("/proposals", body), 404, "form_id")
    assert_problem(await api.post("/proposals", {**body, "form_id": mine["id"],
                                                 "agency_id": str(other.t.agencies["D1"])}), 404)
    person = await other.person()
    assert_problem(await api.post("/proposals", {**body, "form_id": mine["id"], "subject": "individual",
                                                 "agency_id": None, "person_id": person}), 404)
    p = await other.proposal(theirs)
    assert_problem(await api.get(f"/proposals/{p['id']}"), 404)
    assert_problem(await api.post(f"/proposals/{p['id']}/submit"), 404)
    assert (await api.get("/proposals")).json()["total"] == 0


async def test_simultaneous_duplicates_one_wins(api: Api) -> None:
    import asyncio

    gk = (await api.forms())["giay_khen"]
    body = {"form_id": gk["id"], "subject": "collective", "year": 2024, "achievement": "Thành tích",
            "agency_id": str(api.t.agencies["D2"])}
    responses = await asyncio.gather(*[api.post("/proposals", body) for _ in range(4)])
    assert sorted(r.status_code for r in responses) == [201, 409, 409, 409], [r.text for r in responses]
    assert (await api.get("/proposals")).json()["total"] == 1
    p = next(r.json() for r in responses if r.status_code == 201)
    await api.override_all(p)
    responses = await asyncio.gather(*[api.post(f"/proposals/{p['id']}/submit") for _ in range(3)])
    assert sorted(r.status_code for r in responses) == [200, 409, 409], [r.text for r in responses]
    trail = (await api.client.get(api.t.url("/audit-events"), headers=api.t.headers(),
                                  params={"entity": "awards_proposal", "action": "submit"})).json()["items"]
    assert len(trail) == 1
