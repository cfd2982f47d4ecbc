"""Catalogue, sessions and their states (every transition and every refusal), invitations and registration rules."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from core.notifications.tables import Notification
from core.tenancy import unscoped
from plugins.training.tests.conftest import TODAY, Api, assert_problem


async def notifications(tenant_id: Any, kind: str) -> list[dict[str, Any]]:
    with unscoped():
        return await Notification.select().where((Notification.tenant_id == tenant_id) & (Notification.kind == kind))


async def test_catalogue_is_seeded_in_vietnamese_and_managed_by_tenant_admins(api: Api) -> None:
    kinds = await api.ok("get", "/kinds", role="viewer")
    assert {k["code"] for k in kinds} == {"AWARENESS", "INTERNAL_AUDITOR", "MAINTAIN_IMPROVE", "TTHC_PROCEDURES",
                                          "COMMUNE_SCORING"}
    ia = next(k for k in kinds if k["code"] == "INTERNAL_AUDITOR")
    assert ia["name"].startswith("Đánh giá viên nội bộ") and ia["has_exam"] and ia["validity_months"] == 36
    assert ia["internal_auditor"] and ia["attendance_threshold"] == 100
    body = {"code": "ISO_SECRETARY", "name": "Thư ký ISO", "attendance_threshold": 50, "validity_months": 24}
    assert_problem(await api.post("/kinds", body, "inspector"), 403)
    created = await api.ok("post", "/kinds", body)
    assert created["certificate_symbol"] == "CN-TĐC" and created["active"]
    assert_problem(await api.post("/kinds", {**body, "code": "iso_secretary"}), 409, field="code")
    assert_problem(await api.post("/kinds", {**body, "code": "X2", "pass_score": 5}), 422, field="pass_score")
    assert_problem(await api.post("/kinds", {**body, "code": "X3", "attendance_threshold": 101}), 400,
                   field="attendance_threshold")
    changed = await api.ok("patch", f"/kinds/{created['id']}", {"active": False, "name": "Thư ký ISO cơ sở"})
    assert not changed["active"] and changed["name"] == "Thư ký ISO cơ sở"
    r = await api.post("/sessions", {"kind_id": created["id"], "title": "x", "starts_on": "2030-01-01"})
    assert_problem(r, 409, field="kind_id")


async def test_session_creation_checks_ids_dates_and_locality(api: Api, make_tenant: Any) -> None:
    k = await api.kind("AWARENESS")
    base = {"kind_id": k["id"], "title": "Tập huấn cho UBND cấp xã", "starts_on": "2030-09-28"}
    assert_problem(await api.post("/sessions", {**base, "kind_id": str(uuid.uuid4())}), 404)
    other = await make_tenant(modules=["training"])
    assert_problem(await api.post("/sessions", {**base, "organiser_agency_id": str(other.agencies["P"])}), 404)
    assert_problem(await api.post("/sessions", {**base, "ends_on": "2030-09-27"}), 422, field="ends_on")
    assert_problem(await api.post("/sessions", {**base, "registration_closes_on": "2030-10-01"}), 422,
                   field="registration_closes_on")
    assert_problem(await api.post("/sessions", {**base, "locality_ids": [str(api.t.agencies["D1"])]}), 422,
                   field="locality_ids")
    assert_problem(await api.post("/sessions", {**base, "trainer_ids": [str(uuid.uuid4())]}), 404,
                   field="trainer_ids")
    assert_problem(await api.post("/sessions", base, "agency_officer"), 403)
    trainer = await api.person("D1", "Đỗ Văn Hùng", "Báo cáo viên")
    s = await api.ok("post", "/sessions", {**base, "locality_ids": [str(api.t.agencies["C1"])],
                                           "trainer_ids": [trainer["id"]], "locality_label": "xã Đồng Đăng"})
    assert s["status"] == "planned" and s["days"] == 1 and s["ends_on"] == "2030-09-28"
    assert s["kind_code"] == "AWARENESS" and s["trainer_ids"] == [trainer["id"]]
    listed = await api.ok("get", "/sessions?q=ubnd cap xa&status=planned")
    assert [x["id"] for x in listed["items"]] == [s["id"]]
    by_place = await api.ok("get", f"/sessions?agency_id={api.t.agencies['P']}")
    assert [x["id"] for x in by_place["items"]] == [s["id"]]  # C1 is under P
    assert (await api.ok("get", "/sessions?year=2029"))["total"] == 0


async def test_every_state_and_every_refused_transition(api: Api) -> None:
    s = await api.session()
    sid = s["id"]
    for to in ("held", "closed"):
        assert_problem(await api.post(f"/sessions/{sid}/transitions", {"to": to}), 409, field="to")
    assert_problem(await api.post(f"/sessions/{sid}/transitions", {"to": "planned"}), 409, field="to")
    assert_problem(await api.post(f"/sessions/{sid}/transitions", {"to": "open"}, "agency_officer"), 403)
    assert_problem(await api.post(f"/sessions/{sid}/transitions", {"to": "open", "on": "2999-01-01"}), 422,
                   field="on")
    assert (await api.move(sid, "open"))["session"]["status"] == "open"
    assert_problem(await api.post(f"/sessions/{sid}/transitions", {"to": "open"}), 409, field="to")
    assert_problem(await api.post(f"/sessions/{sid}/transitions", {"to": "held"}), 409, field="on")  # not started
    assert_problem(await api.post(f"/sessions/{sid}/transitions", {"to": "closed"}), 409, field="to")
    assert_problem(await api.post(f"/sessions/{sid}/transitions", {"to": "cancelled"}), 422, field="reason")
    done = await api.move(sid, "cancelled", reason="Trùng lịch hội nghị của tỉnh")
    assert done["session"]["status"] == "cancelled" and done["session"]["status_reason"].startswith("Trùng")
    for to in ("planned", "open", "held", "closed", "cancelled"):
        assert_problem(await api.post(f"/sessions/{sid}/transitions", {"to": to}), 409, field="to")
    assert_problem(await api.patch(f"/sessions/{sid}", {"place": "khác"}), 409, field="status")

    past, _ = await api.past_session(days=2)
    assert_problem(await api.post(f"/sessions/{past['id']}/transitions",
                                  {"to": "held", "on": (TODAY - timedelta(days=31)).isoformat()}), 409, field="on")
    held = await api.move(past["id"], "held", on=TODAY - timedelta(days=30))
    assert held["session"]["held_on"] == (TODAY - timedelta(days=30)).isoformat()
    assert_problem(await api.post(f"/sessions/{past['id']}/transitions", {"to": "cancelled", "reason": "x"}), 409)
    assert_problem(await api.post(f"/sessions/{past['id']}/transitions",
                                  {"to": "closed", "on": (TODAY - timedelta(days=30)).isoformat()}), 409, field="on")
    closed = await api.move(past["id"], "closed")
    assert closed["session"]["status"] == "closed" and closed["session"]["closed_on"] == TODAY.isoformat()
    assert_problem(await api.patch(f"/sessions/{past['id']}", {"capacity": 5}), 409)


async def test_cancelling_tells_those_registered(api: Api, client: Any) -> None:
    s = await api.session()
    await api.move(s["id"], "open")
    p = await api.person("D1", "Lê Thị Hà")
    await api.register(s["id"], p["id"])
    done = await api.move(s["id"], "cancelled", reason="Thay đổi kế hoạch")
    assert done["notified"] == 1
    [note] = await notifications(api.t.id, "training.session_cancelled")
    assert note["title"] == "Hủy lớp tập huấn «Tập huấn AWARENESS»" and note["recipient_count"] == 1  # D1's officer
    assert "Thay đổi kế hoạch" in note["body"]


async def test_changing_days_or_place_tells_those_registered(api: Api) -> None:
    s = await api.session(capacity=2)
    await api.move(s["id"], "open")
    a, b = await api.person("D1", "Phạm Văn An"), await api.person("D1", "Phạm Văn Bình")
    await api.register(s["id"], a["id"])
    await api.register(s["id"], b["id"])
    assert_problem(await api.patch(f"/sessions/{s['id']}", {"capacity": 1}), 409, field="capacity")
    assert not await notifications(api.t.id, "training.session_changed")
    await api.ok("patch", f"/sessions/{s['id']}", {"title": "Tập huấn nhận thức"})  # the title alone: no notice
    assert not await notifications(api.t.id, "training.session_changed")
    new_start = (TODAY + timedelta(days=20)).isoformat()
    changed = await api.ok("patch", f"/sessions/{s['id']}", {"starts_on": new_start})
    assert changed["starts_on"] == new_start and changed["ends_on"] == new_start
    assert len(await notifications(api.t.id, "training.session_changed")) == 1
    assert_problem(await api.patch(f"/sessions/{s['id']}", {"ends_on": (TODAY + timedelta(days=19)).isoformat()}),
                   422, field="ends_on")


async def test_registration_opens_closes_at_capacity_and_date(api: Api) -> None:
    s = await api.session(capacity=2, registration_closes_on=(TODAY + timedelta(days=5)).isoformat())
    people = [await api.person("D2", f"Vũ Thị {n}") for n in ("Lan", "Mai", "Nga")]
    r = await api.post(f"/sessions/{s['id']}/registrations", {"person_id": people[0]["id"]})
    assert_problem(r, 409, field="session", contains="planned")
    await api.move(s["id"], "open")
    reg = await api.register(s["id"], people[0]["id"])
    assert reg["full_name"] == "Vũ Thị Lan" and reg["status"] == "registered" and reg["eligible"] is None
    assert_problem(await api.post(f"/sessions/{s['id']}/registrations", {"person_id": people[0]["id"]}), 409,
                   field="person_id")
    assert (await api.ok("get", f"/sessions/{s['id']}"))["registration_open"]
    await api.register(s["id"], people[1]["id"])
    assert not (await api.ok("get", f"/sessions/{s['id']}"))["registration_open"]  # full
    assert_problem(await api.post(f"/sessions/{s['id']}/registrations", {"person_id": people[2]["id"]}), 409,
                   contains="full")
    w = await api.ok("post", f"/registrations/{reg['id']}/withdraw", status=200)
    assert w["status"] == "withdrawn"
    assert_problem(await api.post(f"/registrations/{reg['id']}/withdraw"), 409)
    await api.register(s["id"], people[2]["id"])  # the place freed
    assert (await api.ok("get", f"/sessions/{s['id']}"))["registered"] == 2
    listed = await api.ok("get", f"/sessions/{s['id']}/registrations?include_withdrawn=true")
    assert sorted(r["status"] for r in listed) == ["registered", "registered", "withdrawn"]

    # registration closes on a date (the service is asked as on a later day)
    from plugins.training import services

    late = await api.person("D2", "Hoàng Minh Tâm")
    await api.ok("patch", f"/sessions/{s['id']}", {"capacity": 10})
    from core.errors import Conflict
    import pytest

    with pytest.raises(Conflict, match="registration closed"):
        await services.register(await api.t.ctx(), s["id"], uuid.UUID(late["id"]), None,
                                today=TODAY + timedelta(days=6))
    # a withdrawn person registers again (the same row, status back to registered)
    again = await api.post(f"/sessions/{s['id']}/registrations", {"person_id": people[0]["id"]})
    assert again.status_code == 201 and again.json()["id"] == reg["id"]


async def test_invitations_and_quotas(api: Api) -> None:
    s = await api.session()
    assert_problem(await api.post(f"/sessions/{s['id']}/invitations", {"agency_id": str(api.t.agencies["D1"]),
                                                                       "quota": 2}, "agency_officer"), 403)
    inv = await api.ok("post", f"/sessions/{s['id']}/invitations", {"agency_id": str(api.t.agencies["D1"]),
                                                                    "quota": 2}, status=200)
    assert inv["quota"] == 2 and inv["agency_name"] == "Sở Giao thông Vận tải" and inv["registered"] == 0
    await api.move(s["id"], "open")
    assert len(await notifications(api.t.id, "training.invited")) == 1
    in_d1 = await api.person("D1", "Ngô Văn Quân")
    in_unit = await api.person("D1U", "Ngô Thị Yến")  # a sub-unit of the invited agency counts against its quota
    in_d2 = await api.person("D2", "Bùi Đức Long")
    in_d1b = await api.person("D1", "Ngô Văn Sơn")
    assert_problem(await api.post(f"/sessions/{s['id']}/registrations", {"person_id": in_d2["id"]}), 409,
                   contains="not invited")
    await api.register(s["id"], in_d1["id"], role="agency_officer")
    await api.register(s["id"], in_unit["id"], role="agency_officer")
    assert_problem(await api.post(f"/sessions/{s['id']}/registrations", {"person_id": in_d1b["id"]}), 409,
                   contains="may send 2")
    listed = await api.ok("get", f"/sessions/{s['id']}/invitations")
    assert listed[0]["registered"] == 2
    assert_problem(await api.post(f"/sessions/{s['id']}/invitations", {"agency_id": str(api.t.agencies["D1"]),
                                                                       "quota": 1}), 409, field="quota")
    await api.ok("post", f"/sessions/{s['id']}/invitations", {"agency_id": str(api.t.agencies["D1"]), "quota": 3},
                 status=200)
    await api.register(s["id"], in_d1b["id"])
    assert len(await notifications(api.t.id, "training.registration_confirmed")) == 3


async def test_agency_officers_register_only_their_staff_and_may_add_people(api: Api) -> None:
    s = await api.session()
    await api.move(s["id"], "open")
    outsider = await api.person("D2", "Trần Thu Trang")
    assert_problem(await api.post(f"/sessions/{s['id']}/registrations", {"person_id": outsider["id"]},
                                  "agency_officer"), 403, field="person_id")
    body = {"person": {"full_name": "  Đặng  Hồng Nhung ", "agency_id": str(api.t.agencies["D1U"]),
                       "position": "Chuyên viên", "email": "nhung@sgtvt.gov.vn"}}
    reg = await api.ok("post", f"/sessions/{s['id']}/registrations", body, role="agency_officer", status=201)
    assert reg["full_name"] == "Đặng Hồng Nhung"
    other = {"person": {**body["person"], "agency_id": str(api.t.agencies["D2"])}}
    assert_problem(await api.post(f"/sessions/{s['id']}/registrations", other, "agency_officer"), 403)
    assert_problem(await api.post("/people", body["person"], "agency_officer"), 409, field="full_name")
    same_email = {**body["person"], "full_name": "Người khác"}  # the people directory's rule: one open person per email
    assert_problem(await api.post("/people", same_email, "agency_officer"), 409, field="email")
    assert_problem(await api.post(f"/sessions/{s['id']}/registrations", {}), 400, field="person_id")
    both = {"person_id": outsider["id"], "person": body["person"]}
    assert_problem(await api.post(f"/sessions/{s['id']}/registrations", both), 400, field="person_id")
    assert_problem(await api.post(f"/sessions/{s['id']}/registrations", {"person_id": str(uuid.uuid4())}), 404)
    assert_problem(await api.post(f"/sessions/{s['id']}/registrations", {"person_id": outsider["id"]}, "viewer"), 403)
    assert_problem(await api.post(f"/registrations/{reg['id']}/withdraw", None, "viewer"), 403)


async def test_registration_under_concurrency_never_overfills(api: Api) -> None:
    import asyncio

    s = await api.session(capacity=3)
    await api.move(s["id"], "open")
    people = [await api.person("D2", f"Lý Văn {n}") for n in ("An", "Bình", "Cường", "Dung", "Giang", "Hà")]
    results = await asyncio.gather(*(api.post(f"/sessions/{s['id']}/registrations", {"person_id": p["id"]})
                                     for p in people))
    codes = sorted(r.status_code for r in results)
    assert codes == [201, 201, 201, 409, 409, 409], [r.text for r in results]
    assert (await api.ok("get", f"/sessions/{s['id']}"))["registered"] == 3
