"""Records (Mẫu 21): pre-filled checklist, findings, signing locks, amendments; corrective actions to closure."""

from __future__ import annotations

from datetime import date
from typing import Any

from plugins.inspections.services import add_months
from plugins.inspections.tests.conftest import signed_record


def test_two_months_after_signing() -> None:
    assert add_months(date(2024, 4, 4), 2) == date(2024, 6, 4)
    assert add_months(date(2023, 12, 31), 2) == date(2024, 2, 29)
    assert add_months(date(2024, 11, 15), 2) == date(2025, 1, 15)


async def cert(api: Any, agency: str, kind: str, on: str, **fields: Any) -> None:
    r = await api.client.post(api.t.url(f"/certification/agencies/{api.t.agencies[agency]}/events"),
                              headers=api.t.headers(), json={"kind": kind, "occurred_on": on, **fields})
    assert r.status_code == 201, r.text


async def test_checklist_is_prefilled_from_certification_facts(api: Any) -> None:
    await cert(api, "D1", "build_started", "2019-01-10", scope=["Cấp phép vận tải"])
    await cert(api, "D1", "apply_started", "2019-03-01")
    await cert(api, "D1", "internal_audit", "2019-06-03", result="Phù hợp")
    await cert(api, "D1", "management_review", "2019-06-17")
    await cert(api, "D1", "head_confirmed", "2019-06-24", confirmed_by="Giám đốc Sở")
    await cert(api, "D1", "announced", "2019-07-01", decision_number="12/QĐ-SGTVT", signer="Giám đốc Sở")
    template = await api.ok("get", "/checklist-templates/current")
    assert template["version"] == 0 and template["builtin"] and len(template["items"]) == 14
    team = await api.ok("post", "/teams", {"year": 2024, "decision_number": "02/QĐ-BCĐISO",
                                           "decision_date": "2024-03-07", "issuer": "BCĐ ISO"})
    visit = await api.ok("post", "/visits", {"agency_id": api.agency("D1"), "form": "on_site",
                                             "scheduled_on": "2024-04-02", "team_id": team["id"]})
    record = await api.ok("post", "/records", {"visit_id": visit["id"]})
    items = {i["code"]: i for i in record["checklist"]}
    assert items["QD3"]["answer"] == "compliant" and items["QD3"]["prefilled_from"] == "certification.announced"
    assert items["QD2"]["answer"] == "compliant"
    assert items["TC5"]["answer"] == "minor"  # the last internal audit was in 2019, more than a year before
    assert items["TC1"]["answer"] is None and items["TC1"]["prefilled_from"] is None
    assert {i["group"] for i in record["checklist"]} == {"standard", "decision19"}
    assert (await api.post("/records", {"visit_id": visit["id"]})).status_code == 409


async def test_a_province_publishes_its_own_checklist_version(api: Any) -> None:
    body = {"title": "Bảng kiểm tra 2025", "items": [{"code": "A1", "group": "standard", "text": "Phạm vi"},
                                                     {"code": "B1", "group": "decision19", "text": "Công bố",
                                                      "fact": "certification.announced"}]}
    assert (await api.post("/checklist-templates", body, role="inspector")).status_code == 403
    published = await api.ok("post", "/checklist-templates", body)
    assert published["version"] == 1 and not published["builtin"]
    bad = {**body, "items": body["items"] + [body["items"][0]]}
    assert (await api.post("/checklist-templates", bad)).status_code == 422
    versions = await api.ok("get", "/checklist-templates")
    assert [v["version"] for v in versions] == [0, 1]


async def test_signing_locks_opens_findings_due_two_months_later(api: Any) -> None:
    record = await signed_record(api, findings=(("TC5", "minor"), ("QD3", "major")))
    assert record["status"] == "signed" and record["result"] == "major_nonconformities"
    assert {f["status"] for f in record["findings"]} == {"open"}
    assert {f["due_on"] for f in record["findings"]} == {"2024-06-02"}
    rid = record["id"]
    assert (await api.patch(f"/records/{rid}", {"conclusion": "sửa"})).status_code == 409
    assert (await api.post(f"/records/{rid}/findings", {"item_code": "TC1", "severity": "minor",
                                                        "text": "x"})).status_code == 409
    assert (await api.post(f"/records/{rid}/sign", {"signed_on": "2024-04-03", "head_signer": "A",
                                                    "agency_signer": "B"})).status_code == 409
    fid = record["findings"][0]["id"]
    assert (await api.delete(f"/findings/{fid}")).status_code == 409
    visit = (await api.ok("get", f"/visits/{record['visit_id']}"))
    assert visit["status"] == "done"


async def test_draft_record_rules(api: Any) -> None:
    team = await api.ok("post", "/teams", {"year": 2024, "decision_number": "02/QĐ-BCĐISO",
                                           "decision_date": "2024-03-07", "issuer": "BCĐ ISO"})
    visit = await api.ok("post", "/visits", {"agency_id": api.agency("D2"), "form": "on_site",
                                             "scheduled_on": "2024-04-04", "team_id": team["id"]})
    record = await api.ok("post", "/records", {"visit_id": visit["id"]})
    rid = record["id"]
    r = await api.post(f"/records/{rid}/findings", {"item_code": "ZZ9", "severity": "minor", "text": "x"})
    assert r.status_code == 422 and r.json()["field"] == "item_code"
    r = await api.patch(f"/records/{rid}", {"answers": [{"code": "ZZ9", "answer": "compliant"}]})
    assert r.status_code == 422 and r.json()["field"] == "answers"
    updated = await api.ok("patch", f"/records/{rid}", {"answers": [{"code": "TC1", "answer": "observation",
                                                                     "note": "Thiếu 2 TTHC"}],
                                                        "conclusion": "Cơ bản đáp ứng"})
    assert next(i for i in updated["checklist"] if i["code"] == "TC1")["answer"] == "observation"
    finding = await api.ok("post", f"/records/{rid}/findings", {"item_code": "TC1", "severity": "observation",
                                                                "text": "Phạm vi chưa cập nhật"})
    assert finding["status"] == "draft" and finding["due_on"] is None
    await api.ok("delete", f"/findings/{finding['id']}")
    r = await api.post(f"/records/{rid}/sign", {"signed_on": "2024-04-01", "head_signer": "A", "agency_signer": "B"})
    assert r.status_code == 422 and r.json()["field"] == "signed_on"
    signed = await api.ok("post", f"/records/{rid}/sign", {"signed_on": "2024-04-04", "head_signer": "A",
                                                           "agency_signer": "B"})
    assert signed["result"] == "conforming" and signed["findings"] == []


async def test_corrective_actions_every_decision(api: Any) -> None:
    record = await signed_record(api, findings=(("TC5", "minor"), ("QD5", "minor"), ("TC8", "observation")))
    f1, f2, f3 = (f["id"] for f in record["findings"])
    # the agency officer (bound to D1) reports; another agency's finding is refused
    other = await signed_record(api, agency="D2", day="2024-04-04")
    r = await api.post(f"/findings/{other['findings'][0]['id']}/actions",
                       {"description": "Đã khắc phục", "reported_on": "2024-05-01"}, role="agency_officer")
    assert r.status_code == 403
    assert (await api.post(f"/findings/{f1}/actions", {"description": "x"}, role="viewer")).status_code == 403
    a1 = await api.ok("post", f"/findings/{f1}/actions", {"description": "Đã tổ chức đánh giá nội bộ",
                                                          "reported_on": "2024-05-20"}, role="agency_officer")
    assert a1["on_time"] and a1["status"] == "reported"
    assert (await api.post(f"/findings/{f1}/actions", {"description": "lại"}, role="agency_officer")).status_code == 409
    r = await api.post(f"/corrective-actions/{a1['id']}/decision", {"decision": "not_accept"})
    assert r.status_code == 422 and r.json()["field"] == "reason"
    assert (await api.post(f"/corrective-actions/{a1['id']}/decision", {"decision": "accept"},
                           role="agency_officer")).status_code == 403
    na = await api.ok("post", f"/corrective-actions/{a1['id']}/decision",
                      {"decision": "not_accept", "reason": "Chưa có biên bản đánh giá nội bộ", "decided_on": "2024-05-25"})
    assert na["status"] == "not_accepted" and na["decision_reason"].startswith("Chưa có")
    assert (await api.ok("get", f"/findings/{f1}"))["status"] == "open"
    a1b = await api.ok("post", f"/findings/{f1}/actions", {"description": "Bổ sung biên bản",
                                                           "reported_on": "2024-06-20"}, role="agency_officer")
    assert not a1b["on_time"]  # due 02/06/2024
    await api.ok("post", f"/corrective-actions/{a1b['id']}/decision", {"decision": "accept", "decided_on": "2024-06-25"})
    closed = await api.ok("get", f"/findings/{f1}")
    assert closed["status"] == "closed" and closed["closed_on"] == "2024-06-25" and len(closed["actions"]) == 2
    assert (await api.post(f"/corrective-actions/{a1b['id']}/decision", {"decision": "defer"})).status_code == 409
    a2 = await api.ok("post", f"/findings/{f2}/actions", {"description": "Sẽ công bố lại", "reported_on": "2024-05-30"})
    deferred = await api.ok("post", f"/corrective-actions/{a2['id']}/decision", {"decision": "defer"})
    assert deferred["status"] == "deferred"
    assert (await api.ok("get", f"/findings/{f2}"))["status"] == "deferred"  # not closed before verification
    assert (await api.post(f"/corrective-actions/{a2['id']}/decision", {"decision": "defer"})).status_code == 409
    await api.ok("post", f"/corrective-actions/{a2['id']}/decision", {"decision": "accept"})
    assert (await api.ok("get", f"/findings/{f2}"))["status"] == "closed"
    # f3 got no action: overdue on the board
    board = await api.ok("get", "/board/overdue")
    assert [b["finding_id"] for b in board["items"] if b["agency_code"] == "D1"] == [f3]
    assert board["items"][0]["days_overdue"] > 0
    assert (await api.ok("get", "/findings?overdue=true"))["total"] == 2  # f3 and D2's finding
    assert (await api.ok("get", "/board/overdue?as_of=2024-06-01"))["total"] == 0


async def test_amendment_is_a_new_record_and_carries_findings(api: Any) -> None:
    record = await signed_record(api, findings=(("TC5", "minor"),))
    f1 = record["findings"][0]["id"]
    action = await api.ok("post", f"/findings/{f1}/actions", {"description": "Đã khắc phục",
                                                              "reported_on": "2024-05-01"})
    assert (await api.post(f"/records/{record['id']}/sign", {"signed_on": "2024-04-02", "head_signer": "A",
                                                             "agency_signer": "B"})).status_code == 409
    amendment = await api.ok("post", f"/records/{record['id']}/amend")
    assert amendment["status"] == "draft" and amendment["amends_id"] == record["id"]
    assert (await api.post(f"/records/{record['id']}/amend")).status_code == 409
    carried = amendment["findings"][0]
    assert (await api.delete(f"/findings/{carried['id']}")).status_code == 409
    await api.ok("post", f"/records/{amendment['id']}/findings", {"item_code": "QD6", "severity": "minor",
                                                                  "text": "Thêm sau khi rà soát"})
    signed = await api.ok("post", f"/records/{amendment['id']}/sign", {"signed_on": "2024-04-10", "head_signer": "A",
                                                                       "agency_signer": "B"})
    old = await api.ok("get", f"/records/{record['id']}")
    assert old["status"] == "superseded" and old["findings"][0]["status"] == "superseded"
    by_code = {f["item_code"]: f for f in signed["findings"]}
    assert by_code["TC5"]["status"] == "action_reported" and by_code["TC5"]["due_on"] == "2024-06-02"
    assert by_code["TC5"]["actions"][0]["id"] == action["id"]
    assert by_code["QD6"]["due_on"] == "2024-06-10"
