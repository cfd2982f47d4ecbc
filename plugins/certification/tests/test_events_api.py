"""Recording events over HTTP: transitions, refusals as problem+json, corrections, scope of agency officers."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta
from typing import Any

import pytest

from core.audit.tables import AuditEvent
from core.tenancy import unscoped
from plugins.certification.tests.conftest import Api, assert_problem


async def test_every_transition_over_http(api: Api) -> None:
    steps = [
        ("build_started", date(2018, 1, 8), {"standard_version": "2008", "scope": ["Cấp phép lái xe"]}, "building"),
        ("apply_started", date(2018, 3, 1), {"scope": ["Cấp phép lái xe", "Đổi giấy phép lái xe"]}, "applying"),
        ("internal_audit", date(2018, 6, 4), {"result": "Phù hợp", "nonconformities": 3}, "applying"),
        ("management_review", date(2018, 6, 18), {"conclusions": "Có hiệu lực"}, "applying"),
        ("head_confirmed", date(2018, 6, 25), {"confirmed_by": "Giám đốc Sở"}, "applying"),
        ("announced", date(2018, 7, 2), {"decision_number": "88/QĐ-SGTVT", "signer": "Giám đốc Sở",
                                         "lead_unit_notified_on": "2018-07-05",
                                         "published_url": "https://sgtvt.example.vn/iso"}, "announced"),
        ("recognized", date(2018, 9, 1), {"recognition_kind": "certificate", "number": "GCN-01", "issuer": "BCĐ ISO tỉnh",
                                          "expires_on": "2021-09-01"}, "announced"),
        ("legal_change_noted", date(2019, 1, 15), {"legal_document": "Thông tư 12/2019"}, "announced"),
        ("legal_change_applied", date(2019, 3, 1), {"legal_document": "Thông tư 12/2019"}, "announced"),
        ("version_converted", date(2019, 5, 6), {}, "announced"),
        ("head_confirmed", date(2019, 6, 3), {"confirmed_by": "Giám đốc Sở"}, "announced"),
        ("announced", date(2019, 6, 17), {"decision_number": "120/QĐ-SGTVT", "signer": "Giám đốc Sở",
                                          "standard_version": "2015"}, "announced"),
        ("scope_changed", date(2020, 2, 3), {"change": "extended", "added": ["Cấp phù hiệu xe"]}, "announced"),
        ("head_confirmed", date(2020, 2, 24), {"confirmed_by": "Giám đốc Sở"}, "announced"),
        ("announced", date(2020, 3, 2), {"decision_number": "30/QĐ-SGTVT", "signer": "Giám đốc Sở"}, "announced"),
        ("suspended", date(2021, 1, 4), {"reason": "Kiện toàn tổ chức"}, "suspended"),
        ("resumed", date(2021, 3, 1), {}, "announced"),
        ("withdrawn", date(2022, 1, 3), {"reason": "Sáp nhập", "decision_number": "5/QĐ-UBND"}, "withdrawn"),
        ("build_started", date(2022, 2, 7), {}, "building"),
    ]
    for kind, on, fields, status in steps:
        result = await api.ok("D1", kind, on, note=f"Ghi chú {kind}", document_refs=[f"Văn bản {kind}"], **fields)
        assert result["event"]["kind"] == kind and result["event"]["occurred_on"] == on.isoformat()
        assert result["event"]["data"]["document_refs"] == [f"Văn bản {kind}"]
        assert result["record"]["status"] == status, (kind, result["record"])
    record = (await api.get(f"/agencies/{api.t.agencies['D1']}/record", "viewer")).json()
    assert record["agency_code"] == "D1" and record["agency_name"] == "Sở Giao thông Vận tải"
    assert record["status"] == "building" and record["standard_version"] == "2015" and record["event_count"] == len(steps)
    assert [a["number"] for a in record["announcements"]] == ["88/QĐ-SGTVT", "120/QĐ-SGTVT", "30/QĐ-SGTVT"]
    assert [a["reannouncement"] for a in record["announcements"]] == [False, True, True]
    assert record["recognition_number"] == "GCN-01" and record["recognition_expires_on"] == "2021-09-01"
    assert record["last_legal_update_on"] == "2019-03-01" and record["converted_on"] is None  # new QMS since 2022
    same = (await api.get(f"/records/{record['id']}")).json()
    assert same == record


async def test_the_record_shows_scope_audits_reviews_and_legal_updates(api: Api) -> None:
    result = await api.announced("D2", scope=["Cấp Phiếu lý lịch tư pháp", "Thành lập Văn phòng công chứng"])
    await api.ok("D2", "legal_change_noted", date(2019, 9, 2), legal_document="Nghị định 23/2019")
    record = (await api.ok("D2", "scope_changed", date(2019, 9, 9), change="adjusted",
                           added=["Cấp Thẻ đấu giá viên"], removed=["Thành lập Văn phòng công chứng"]))["record"]
    assert record["scope"] == ["Cấp Phiếu lý lịch tư pháp", "Cấp Thẻ đấu giá viên"] and record["scope_count"] == 2
    assert record["reannouncement_due"] and record["reannouncement_due_since"] == "2019-09-09"
    assert record["last_internal_audit_on"] == "2019-06-03" and record["last_internal_audit_nonconformities"] == 2
    assert record["last_management_review_on"] == "2019-06-17" and record["head_confirmed_on"] == "2019-06-24"
    assert [p["document"] for p in record["pending_legal_changes"]] == ["Nghị định 23/2019"]
    assert record["legal_update_due_on"] == "2019-12-02"
    assert set(record["overdue_reasons"]) >= {"reannouncement", "legal_update", "internal_audit"}  # as of today
    assert result["record"]["id"] == record["id"]


async def test_refusals_are_problems_naming_the_rule(api: Api) -> None:
    r = await api.event("D1", "announced", date(2019, 7, 1), decision_number="1", signer="x")
    assert_problem(r, 409, contains="needs a QMS being applied")
    r = await api.event("D1", "apply_started", date(2019, 7, 1))
    assert_problem(r, 409, contains="record build_started first")
    await api.ok("D1", "build_started", date(2019, 1, 7), scope=["Đăng ký khai sinh"])
    await api.ok("D1", "apply_started", date(2019, 3, 1))
    r = await api.event("D1", "announced", date(2019, 7, 1), decision_number="1", signer="x")
    body = assert_problem(r, 409, contains="no announcement before an internal audit, a management review and the head")
    assert "missing: an internal audit, a management review, the head's confirmation" in body["detail"]
    r = await api.event("D1", "head_confirmed", date(2019, 6, 24), confirmed_by="x")
    assert_problem(r, 409, contains="only after an internal audit and a management review")
    await api.ok("D1", "internal_audit", date(2019, 6, 3), result="Phù hợp")
    await api.ok("D1", "management_review", date(2019, 6, 17))
    r = await api.event("D1", "announced", date(2019, 7, 1), decision_number="1", signer="x")
    assert_problem(r, 409, contains="missing: the head's confirmation")
    await api.ok("D1", "head_confirmed", date(2019, 6, 24), confirmed_by="x")
    r = await api.event("D1", "announced", date(2019, 7, 1), decision_number="1", signer="x", standard_version="2008")
    assert_problem(r, 422, field="standard_version")
    await api.ok("D1", "announced", date(2019, 7, 1), decision_number="1", signer="x")
    r = await api.event("D1", "announced", date(2019, 8, 1), decision_number="2", signer="x")
    assert_problem(r, 409, contains="already announced")
    r = await api.event("D1", "scope_changed", date(2019, 8, 1), change="narrowed", removed=["Không có"])
    assert_problem(r, 422, field="removed", contains="not in the current scope")
    r = await api.event("D1", "version_converted", date(2019, 8, 1))
    assert_problem(r, 409, contains="already follows")
    r = await api.event("D1", "legal_change_applied", date(2019, 8, 1),
                        legal_change_event_id="00000000-0000-4000-8000-000000000000")
    assert_problem(r, 404, field="legal_change_event_id")
    timeline = (await api.get(f"/agencies/{api.t.agencies['D1']}/timeline")).json()
    assert timeline["total"] == 6  # nothing refused was stored


async def test_a_scope_change_keeps_re_announcement_due_until_announced_again(api: Api) -> None:
    await api.announced("D1")
    rec = (await api.ok("D1", "scope_changed", date(2019, 9, 2), change="extended", added=["Đăng ký khai tử"]))["record"]
    assert rec["reannouncement_due"] and rec["status"] == "announced"
    rec = (await api.ok("D1", "internal_audit", date(2019, 10, 1), result="Phù hợp"))["record"]
    assert rec["reannouncement_due"]
    r = await api.event("D1", "announced", date(2019, 10, 7), decision_number="2", signer="x")
    assert_problem(r, 409, contains="after the scope changed")
    await api.ok("D1", "head_confirmed", date(2019, 10, 4), confirmed_by="x")
    rec = (await api.ok("D1", "announced", date(2019, 10, 7), decision_number="2/QĐ", signer="x"))["record"]
    assert not rec["reannouncement_due"] and rec["announcement_number"] == "2/QĐ" and rec["scope_count"] == 3
    board = (await api.get("/board", as_of="2019-09-30", reannouncement_due="true")).json()
    assert [row["agency_code"] for row in board["items"]] == ["D1"]
    assert (await api.get("/board", as_of="2019-10-08", reannouncement_due="true")).json()["total"] == 0


async def test_dates_must_be_real_and_inside_the_agencys_life(api: Api, client: Any) -> None:
    tomorrow = date.today() + timedelta(days=1)
    assert_problem(await api.event("D1", "build_started", tomorrow), 422, field="occurred_on", contains="future")
    assert_problem(await api.event("D1", "build_started", date(2009, 12, 31)), 422, field="occurred_on",
                   contains="exists only from 2010-01-01")
    close = await client.delete(api.t.url(f"/agencies/{api.t.agencies['D1U']}"), headers=api.t.headers())
    assert close.status_code == 200
    closed_on = date.fromisoformat(close.json()["valid_to"])
    await api.ok("D1U", "build_started", closed_on)
    r = await api.event("D1U", "apply_started", closed_on + timedelta(days=1))
    assert r.status_code == 422 and r.json()["field"] == "occurred_on"


async def test_bad_bodies_are_400_naming_the_field(api: Api) -> None:
    url = f"/agencies/{api.t.agencies['D1']}/events"
    cases = [
        ({"kind": "promoted", "occurred_on": "2019-01-01"}, "kind"),
        ({"occurred_on": "2019-01-01"}, "kind"),
        ({"kind": "build_started"}, "occurred_on"),
        ({"kind": "build_started", "occurred_on": "17/01/2019"}, "occurred_on"),
        ({"kind": "build_started", "occurred_on": "2019-01-01", "standard_version": "2000"}, "standard_version"),
        ({"kind": "build_started", "occurred_on": "2019-01-01", "colour": "red"}, "colour"),
        ({"kind": "internal_audit", "occurred_on": "2019-01-01"}, "result"),
        ({"kind": "internal_audit", "occurred_on": "2019-01-01", "result": "x", "nonconformities": -1}, "nonconformities"),
        ({"kind": "announced", "occurred_on": "2019-01-01", "signer": "x"}, "decision_number"),
        ({"kind": "announced", "occurred_on": "2019-01-01", "signer": "x", "decision_number": ""}, "decision_number"),
        ({"kind": "scope_changed", "occurred_on": "2019-01-01", "change": "grew"}, "change"),
        ({"kind": "scope_changed", "occurred_on": "2019-01-01", "change": "extended", "added": "x"}, "added"),
        ({"kind": "correction", "action": "void", "reason": "x"}, "corrects_event_id"),
        ({"kind": "correction", "corrects_event_id": "nope", "action": "void", "reason": "x"}, "corrects_event_id"),
        ({"kind": "legal_change_applied", "occurred_on": "2019-01-01", "legal_change_event_id": 5},
         "legal_change_event_id"),
    ]
    for body, field in cases:
        r = await api.post(url, body)
        problem = assert_problem(r, 400)
        assert field in (problem.get("field") or "") or field in problem["detail"], (body, problem)
    assert_problem(await api.post(url, [{"kind": "build_started", "occurred_on": "2019-01-01"}]), 400)
    r = await api.client.post(api.path(url), headers={**api.t.headers(), "content-type": "application/json"},
                              content=b"{oops")
    assert_problem(r, 400)
    assert (await api.get(f"/agencies/{api.t.agencies['D1']}/timeline")).json()["total"] == 0


async def test_unknown_ids_and_queries(api: Api) -> None:
    missing = "00000000-0000-4000-8000-000000000000"
    assert_problem(await api.get(f"/records/{missing}"), 404)
    assert_problem(await api.get(f"/events/{missing}"), 404)
    assert_problem(await api.get(f"/agencies/{missing}/timeline"), 404)
    assert_problem(await api.post(f"/agencies/{missing}/events", {"kind": "build_started", "occurred_on": "2019-01-01"}),
                   404)
    assert_problem(await api.get(f"/agencies/{api.t.agencies['D2']}/record"), 404, contains="no QMS record yet")
    assert_problem(await api.get("/records/not-a-uuid"), 404)
    assert_problem(await api.get("/board", as_of="yesterday"), 400, field="as_of")
    assert_problem(await api.get("/board", status="famous"), 400, field="status")
    assert_problem(await api.get("/board", limit="0"), 400, field="limit")
    assert_problem(await api.get("/board", overdue_reason="late"), 400, field="overdue_reason")
    assert_problem(await api.get("/board", standard_version="2000"), 400, field="standard_version")


async def test_explicit_record_creation(api: Api, make_tenant: Any) -> None:
    r = await api.post("/records", {"agency_id": str(api.t.agencies["C1"])})
    assert r.status_code == 201, r.text
    record = r.json()
    assert record["status"] == "not_started" and record["event_count"] == 0 and record["scope"] == []
    assert_problem(await api.post("/records", {"agency_id": str(api.t.agencies["C1"])}), 409, field="agency_id")
    other = await make_tenant(modules=["certification"])
    assert_problem(await api.post("/records", {"agency_id": str(other.agencies["C1"])}), 404)
    assert_problem(await api.post("/records", {"agency_id": str(api.t.agencies["D2"])}, role="agency_officer"), 403,
                   field="agency_id")
    rec = (await api.ok("C1", "build_started", date(2020, 1, 6)))["record"]
    assert rec["id"] == record["id"] and rec["status"] == "building"


async def test_corrections_over_http(api: Api) -> None:
    await api.announced("D1")
    extra = (await api.ok("D1", "internal_audit", date(2019, 9, 2), result="Phù hợp", nonconformities=7))["event"]
    first_audit = (await api.get(f"/agencies/{api.t.agencies['D1']}/timeline", kind="internal_audit")).json()["items"][0]
    # replace: the date and the fields of the audit, same kind
    fixed = await api.ok("D1", "correction", date(2019, 9, 10), corrects_event_id=extra["id"], action="replace",
                         reason="Sai số điểm không phù hợp",
                         replacement={"kind": "internal_audit", "occurred_on": "2019-09-03", "result": "Phù hợp",
                                      "nonconformities": 1})
    assert fixed["record"]["last_internal_audit_on"] == "2019-09-03"
    assert fixed["record"]["last_internal_audit_nonconformities"] == 1
    # void it: the record falls back on the first audit
    voided = await api.ok("D1", "correction", date(2019, 9, 11), corrects_event_id=extra["id"], action="void",
                          reason="Nhập trùng")
    assert voided["record"]["last_internal_audit_on"] == "2019-06-03"
    assert voided["record"]["internal_audit_due_on"] == "2020-06-03"
    # the original event is still there, marked, and the corrections are in the timeline
    original = (await api.get(f"/events/{extra['id']}", "viewer")).json()
    assert original["data"]["nonconformities"] == 7 and original["correction"] == "voided"
    assert original["corrected_by_event_id"] == voided["event"]["id"]
    timeline = (await api.get(f"/agencies/{api.t.agencies['D1']}/timeline")).json()
    assert [e["kind"] for e in timeline["items"]][-2:] == ["correction", "correction"]
    assert timeline["total"] == 9
    assert_problem(await api.event("D1", "correction", date(2019, 9, 12), corrects_event_id=extra["id"], action="void",
                                   reason="x"), 409, contains="already voided")
    assert_problem(await api.event("D1", "correction", date(2019, 9, 12), corrects_event_id=voided["event"]["id"],
                                   action="void", reason="x"), 422, field="corrects_event_id")
    assert_problem(await api.event("D1", "correction", date(2019, 9, 12), corrects_event_id=first_audit["id"],
                                   action="replace", reason="x",
                                   replacement={"kind": "management_review", "occurred_on": "2019-06-03"}),
                   422, field="replacement.kind")
    assert_problem(await api.event("D1", "correction", date(2019, 9, 12), corrects_event_id=first_audit["id"],
                                   action="replace", reason="x"), 422, field="replacement")
    assert_problem(await api.event("D1", "correction", date(2019, 9, 12), corrects_event_id=first_audit["id"],
                                   action="void", reason="x",
                                   replacement={"kind": "internal_audit", "occurred_on": "2019-06-03", "result": "x"}),
                   422, field="replacement")
    # voiding the audit the announcement rests on would rewrite history: refused
    assert_problem(await api.event("D1", "correction", date(2019, 9, 12), corrects_event_id=first_audit["id"],
                                   action="void", reason="x"), 409, contains="later event 'head_confirmed'")
    assert_problem(await api.event("D1", "correction", date(2019, 9, 12), corrects_event_id=first_audit["id"],
                                   action="replace", reason="x",
                                   replacement={"kind": "internal_audit", "occurred_on": "2030-01-01", "result": "x"}),
                   422, field="replacement.occurred_on")
    # a correction of another agency's event is refused (not in this timeline)
    assert_problem(await api.event("D2", "correction", date(2019, 9, 12), corrects_event_id=first_audit["id"],
                                   action="void", reason="x"), 404, field="corrects_event_id")


async def test_backdating_an_event_that_breaks_a_later_one_is_refused(api: Api) -> None:
    await api.announced("D1")
    assert_problem(await api.event("D1", "withdrawn", date(2019, 6, 28), reason="x"), 409,
                   contains="later event 'announced' of 2019-07-01 invalid")
    # a missed event may be recorded late when it breaks nothing
    rec = (await api.ok("D1", "internal_audit", date(2019, 6, 20), result="Bổ sung"))["record"]
    assert rec["last_internal_audit_on"] == "2019-06-20"


async def test_history_is_never_rewritten_no_update_or_delete_routes(api: Api) -> None:
    result = await api.announced("D1")
    event_id, record_id = result["event"]["id"], result["record"]["id"]
    for method in ("PUT", "PATCH", "DELETE"):
        for path in (f"/events/{event_id}", f"/records/{record_id}"):
            r = await api.client.request(method, api.path(path), headers=api.t.headers(), json={})
            assert r.status_code == 405 and r.headers["content-type"].startswith("application/problem+json"), \
                (method, path, r.status_code)
    assert (await api.get(f"/events/{event_id}")).json()["kind"] == "announced"


async def test_every_event_write_is_audited(api: Api) -> None:
    result = await api.ok("D1", "build_started", date(2019, 1, 7))
    with unscoped():
        rows = await AuditEvent.select().where(AuditEvent.tenant_id == api.t.id)
    entities = {(r["entity"], r["action"], r["entity_id"]) for r in rows}
    assert ("cert_qms_event", "create", result["event"]["id"]) in entities
    assert ("cert_qms_record", "update", result["record"]["id"]) in entities
    assert result["event"]["recorded_by"] == api.t.emails["tenant_admin"]


async def test_agency_officer_writes_for_its_own_agency_and_sub_units_only(api: Api, make_tenant: Any) -> None:
    officer = "agency_officer"
    assert (await api.event("D1", "build_started", date(2019, 1, 7), role=officer)).status_code == 201
    assert (await api.event("D1U", "build_started", date(2019, 1, 7), role=officer)).status_code == 201
    assert_problem(await api.event("D2", "build_started", date(2019, 1, 7), role=officer), 403, field="agency_id")
    assert_problem(await api.event("P", "build_started", date(2019, 1, 7), role=officer), 403)
    other = await make_tenant(modules=["certification"])
    r = await api.client.post(api.path(f"/agencies/{other.agencies['D1']}/events"), headers=api.t.headers(officer),
                              json={"kind": "build_started", "occurred_on": "2019-01-07"})
    assert_problem(r, 404)
    # inspectors and tenant admins write for any agency; viewers only read
    assert (await api.event("D2", "build_started", date(2019, 1, 7), role="inspector")).status_code == 201
    assert_problem(await api.event("C1", "build_started", date(2019, 1, 7), role="viewer"), 403)
    # officers read the whole province
    assert (await api.get(f"/agencies/{api.t.agencies['D2']}/timeline", officer)).json()["total"] == 1
    assert (await api.get("/board", officer)).json()["total"] == 5


async def test_foreign_tenant_ids_in_bodies_are_404(api: Api, make_tenant: Any) -> None:
    other = await make_tenant(modules=["certification"])
    theirs = Api(api.client, other)
    foreign = (await theirs.announced("D1"))["event"]
    notice = (await theirs.ok("D1", "legal_change_noted", date(2019, 8, 1), legal_document="x"))["event"]
    await api.announced("D1")
    assert_problem(await api.event("D1", "correction", date(2019, 9, 1), corrects_event_id=foreign["id"],
                                   action="void", reason="x"), 404)
    assert_problem(await api.event("D1", "legal_change_applied", date(2019, 9, 1),
                                   legal_change_event_id=notice["id"]), 404)
    assert_problem(await api.get(f"/events/{foreign['id']}"), 404)
    assert_problem(await api.get(f"/records/{foreign['record_id']}"), 404)
    assert (await theirs.get(f"/events/{foreign['id']}")).json()["correction"] is None


async def test_concurrent_events_on_one_record_are_serialised(api: Api) -> None:
    await api.announced("D1")
    days = [date(2019, 8, d) for d in range(1, 9)]
    results = await asyncio.gather(*(api.event("D1", "internal_audit", d, result="Phù hợp") for d in days))
    assert [r.status_code for r in results] == [201] * len(days), [r.text for r in results if r.status_code != 201]
    timeline = (await api.get(f"/agencies/{api.t.agencies['D1']}/timeline")).json()["items"]
    assert sorted(e["seq"] for e in timeline) == list(range(1, 7 + len(days)))
    record = (await api.get(f"/agencies/{api.t.agencies['D1']}/record")).json()
    assert record["event_count"] == 6 + len(days) and record["last_internal_audit_on"] == "2019-08-08"


@pytest.mark.parametrize("body,field", [
    ({"kind": "internal_audit", "occurred_on": "2019-06-03", "result": "Phù hợp\u0000"}, "result"),
    ({"kind": "internal_audit", "occurred_on": "2019-06-03", "result": "Phù hợp", "note": "\u0000"}, "note"),
    ({"kind": "internal_audit", "occurred_on": "2019-06-03", "result": "Phù hợp", "document_refs": ["a\u0000"]},
     "document_refs[0]"),
    ({"kind": "scope_changed", "occurred_on": "2019-06-03", "change": "extended", "added": ["\u0000x"]}, "added[0]"),
])
async def test_nul_characters_are_400_not_500(api: Api, client: Any, body: dict, field: str) -> None:
    # PostgreSQL cannot store U+0000 in text or JSON: without a check this was a 500 there
    await api.ok("P", "build_started", date(2019, 1, 10), scope=["Đăng ký khai sinh"])
    await api.ok("P", "apply_started", date(2019, 3, 1))
    r = await api.post(f"/agencies/{api.t.agencies['P']}/events", body)
    assert_problem(r, 400)
    assert field in r.json().get("field", "") + r.json()["detail"], r.json()
    settings = await client.patch(api.path("/settings"), headers=api.t.headers(),
                                  json={"conversion_deadline_reference": "QĐ\u0000"})
    assert_problem(settings, 400)
    assert_problem(await api.get("/board", q="s\u00f4\u0000"), 400)


async def test_a_replacing_correction_keeps_what_it_does_not_mention(api: Api) -> None:
    """Issue 17: replacing only an internal audit's date wiped its nonconformities (3 → 0), and `kind` was required.
    A replacement now starts from the corrected event (or its latest replacement) and `kind` may be left out."""
    await api.announced("D1")
    audit = (await api.ok("D1", "internal_audit", date(2019, 9, 2), result="Có điểm chưa phù hợp",
                          nonconformities=3))["event"]
    fixed = await api.ok("D1", "correction", date(2019, 9, 10), corrects_event_id=audit["id"], action="replace",
                         reason="Sai ngày", replacement={"occurred_on": "2019-09-04"})
    assert fixed["record"]["last_internal_audit_on"] == "2019-09-04"
    assert fixed["record"]["last_internal_audit_nonconformities"] == 3
    assert fixed["record"]["last_internal_audit_result"] == "Có điểm chưa phù hợp"
    again = await api.ok("D1", "correction", date(2019, 9, 11), corrects_event_id=audit["id"], action="replace",
                         reason="Sai số điểm", replacement={"kind": "internal_audit", "nonconformities": 1})
    assert again["record"]["last_internal_audit_on"] == "2019-09-04"  # kept from the previous replacement
    assert again["record"]["last_internal_audit_nonconformities"] == 1
    assert_problem(await api.event("D1", "correction", date(2019, 9, 12), corrects_event_id=audit["id"],
                                   action="replace", reason="x", replacement={"nonconformities": -1}),
                   400, field="replacement.nonconformities")
    assert_problem(await api.event("D1", "correction", date(2019, 9, 12), corrects_event_id=audit["id"],
                                   action="replace", reason="x", replacement={"no_such_field": 1}),
                   400, field="replacement.no_such_field")
