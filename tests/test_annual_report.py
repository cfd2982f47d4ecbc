"""The province's annual report: workflow, refusals, immutable snapshots, the national dashboard and exports."""

from __future__ import annotations

import csv
import hashlib
import io
from datetime import date
from typing import Any

YEAR = date.today().year


async def _notes(client: Any, t: Any, n: int) -> None:
    for i in range(n):
        r = await client.post(t.url("/example/notes"), headers=t.headers(),
                              json={"agency_id": str(t.agencies["D1"]), "title": f"ghi chú {i}"})
        assert r.status_code == 201, r.text


def _value(report: dict[str, Any], section: str, name: str) -> Any:
    sec = next(s for s in report["sections"] if s["key"] == section)
    return next(i for i in sec["items"] if i["name"] == name)["value"]


async def _audit_actions(client: Any, t: Any) -> list[str]:
    r = await client.get(t.url("/audit-events?entity=national_annual_report&limit=200"), headers=t.headers())
    assert r.status_code == 200, r.text
    return [e["action"] for e in r.json()["items"]]


async def _inbox_titles(client: Any, t: Any) -> list[str]:
    """Titles of the province's notifications (written with their deliveries; the worker delivers them)."""
    from core.notifications.tables import Notification

    ctx = await t.ctx()
    rows = await ctx.scope(Notification).select(Notification.title, Notification.kind, Notification.audience)
    assert all("tenant_admin" in row["audience"] for row in rows if row["kind"].startswith("national."))
    return [row["title"] for row in rows]


async def test_full_workflow_with_every_refusal(client: Any, make_tenant: Any, platform_users: Any) -> None:
    t, other = await make_tenant(modules=["example"]), await make_tenant(modules=["example"])
    reviewer, admin = platform_users["national_reviewer"], platform_users["platform_admin"]
    await _notes(client, t, 2)
    url = t.url(f"/annual-report/{YEAR}")
    r = await client.get(url, headers=t.headers())
    assert r.status_code == 200, r.text
    draft = r.json()
    assert draft["state"] == "draft" and draft["figures"] == "live" and _value(draft, "example", "notes") == 2
    assert draft["sections"][0]["title_vi"]
    # wrong role, wrong tenant, future year, unknown field
    body = {"results": "Đã áp dụng ở 100% sở", "issues": "Một số xã chậm", "proposals": "Tăng kinh phí",
            "number": "12/BC-UBND", "place": "Lạng Sơn"}
    assert (await client.put(f"{url}/assessment", headers=t.headers("viewer"), json=body)).status_code == 403
    assert (await client.post(f"{url}/submit", headers=t.headers("inspector"))).status_code == 403
    assert (await client.post(f"{url}/submit", headers=other.headers())).status_code == 404
    assert (await client.get(url, headers=other.headers())).status_code == 404
    r = await client.post(t.url(f"/annual-report/{YEAR + 1}/submit"), headers=t.headers())
    assert r.status_code == 400 and r.json()["field"] == "year"
    r = await client.put(f"{url}/assessment", headers=t.headers(), json={**body, "extra": 1})
    assert r.status_code == 400 and "extra" in r.text
    r = await client.put(f"{url}/assessment", headers=t.headers(), json=body)
    assert r.status_code == 200 and r.json()["assessment"]["issues"] == "Một số xã chậm"
    # nothing to review before a submission
    base = f"/api/v1/national/annual-reports/{t.code}/{YEAR}"
    assert (await client.get(base, headers=reviewer)).status_code == 404
    assert (await client.post(f"{base}/accept", headers=reviewer)).status_code == 409  # a draft
    assert (await client.post(f"/api/v1/national/annual-reports/{other.code}/{YEAR}/accept",
                              headers=reviewer)).status_code == 404  # no report at all
    # submit; a second submit is refused
    r = await client.post(f"{url}/submit", headers=t.headers())
    assert r.status_code == 200, r.text
    sub = r.json()
    assert sub["state"] == "submitted" and sub["figures"] == "snapshot" and sub["version"] == 1
    assert sub["snapshot"]["intact"] and len(sub["snapshot"]["sha256"]) == 64
    r = await client.post(f"{url}/submit", headers=t.headers())
    assert r.status_code == 409 and r.json()["field"] == "state"
    assert (await client.put(f"{url}/assessment", headers=t.headers(), json=body)).status_code == 409
    # the queue, and the review steps: tenant users, platform admins and bad bodies are refused
    r = await client.get(f"/api/v1/national/annual-reports?year={YEAR}&state=submitted", headers=reviewer)
    assert r.status_code == 200 and t.code in [row["code"] for row in r.json()]
    assert (await client.get("/api/v1/national/annual-reports", headers=t.headers())).status_code == 403
    assert (await client.post(f"{base}/accept", headers=t.headers())).status_code == 403
    assert (await client.post(f"{base}/accept", headers=admin)).status_code == 403
    assert (await client.post(f"{base}/unlock", headers=reviewer, json={"reason": "x"})).status_code == 409
    r = await client.post(f"{base}/return", headers=reviewer, json={"reason": "  "})
    assert r.status_code == 400 and r.json()["field"] == "reason"
    r = await client.post(f"{base}/return", headers=reviewer, json={})
    assert r.status_code == 400
    r = await client.post(f"{base}/return", headers=reviewer, json={"reason": "Thiếu số liệu cấp xã"})
    assert r.status_code == 200 and r.json()["state"] == "returned" and r.json()["reason"] == "Thiếu số liệu cấp xã"
    assert (await client.post(f"{base}/accept", headers=reviewer)).status_code == 409
    assert any("trả lại" in title for title in await _inbox_titles(client, t))
    # returned: live again, editable, submitted again as version 2
    await _notes(client, t, 1)
    r = await client.get(url, headers=t.headers())
    assert r.json()["figures"] == "live" and _value(r.json(), "example", "notes") == 3
    r = await client.post(f"{url}/submit", headers=t.headers())
    assert r.status_code == 200 and r.json()["version"] == 2
    r = await client.post(f"{base}/accept", headers=reviewer)
    assert r.status_code == 200 and r.json()["state"] == "accepted"
    accepted = r.json()
    # locked: no change, no submit; the data changes but the report does not, and says what changed
    assert (await client.put(f"{url}/assessment", headers=t.headers(), json=body)).status_code == 409
    assert (await client.post(f"{url}/submit", headers=t.headers())).status_code == 409
    await _notes(client, t, 4)
    r = await client.get(url, headers=t.headers())
    locked = r.json()
    assert locked["state"] == "accepted" and _value(locked, "example", "notes") == 3
    assert locked["snapshot"]["sha256"] == accepted["snapshot"]["sha256"] and locked["snapshot"]["intact"]
    change = next(c for c in locked["changes"] if c["name"] == "notes" and c["level"] is None)
    assert (change["accepted"], change["live"], change["delta"]) == (3, 7, 4)
    # unlocking takes a reviewer and a reason
    assert (await client.post(f"{base}/unlock", headers=reviewer, json={})).status_code == 400
    assert (await client.post(f"{base}/unlock", headers=t.headers(), json={"reason": "x"})).status_code == 403
    r = await client.post(f"{base}/unlock", headers=reviewer, json={"reason": "Tỉnh xin bổ sung số liệu"})
    assert r.status_code == 200 and r.json()["state"] == "draft"
    r = await client.get(url, headers=t.headers())
    assert r.json()["figures"] == "live" and _value(r.json(), "example", "notes") == 7
    assert [h["action"] for h in r.json()["history"]] == ["submitted", "returned", "submitted", "accepted", "unlocked"]
    assert {h["by"] for h in r.json()["history"]} == {"tenant_admin", "national_reviewer"}
    actions = await _audit_actions(client, t)
    for action in ("create", "update", "submit", "return", "accept", "unlock"):
        assert action in actions, (action, actions)
    titles = await _inbox_titles(client, t)
    assert any("chấp nhận" in x for x in titles) and any("mở khóa" in x for x in titles)
    assert any("Đã gửi báo cáo" in x for x in titles)


async def test_snapshot_is_the_canonical_json_and_never_changes(client: Any, make_tenant: Any) -> None:
    from core.national.services import canonical
    from core.national.tables import ReportSnapshot

    t = await make_tenant(modules=["example"])
    await _notes(client, t, 1)
    r = await client.post(t.url(f"/annual-report/{YEAR}/submit"), headers=t.headers())
    assert r.status_code == 200, r.text
    ctx = await t.ctx()
    (snap,) = await ctx.scope(ReportSnapshot).select()
    content = __import__("json").loads(snap["content"])
    assert canonical(content) == snap["content"]
    assert hashlib.sha256(snap["content"].encode()).hexdigest() == snap["sha256"] == r.json()["snapshot"]["sha256"]
    assert content["province"]["code"] == t.code and content["version"] == 1
    await _notes(client, t, 2)
    (again,) = await ctx.scope(ReportSnapshot).select()
    assert again["content"] == snap["content"] and again["sha256"] == snap["sha256"]


async def test_dashboard_totals_and_exports(client: Any, make_tenant: Any, platform_users: Any) -> None:
    from openpyxl import load_workbook

    reviewer = platform_users["national_reviewer"]
    a, b = await make_tenant(modules=["example"]), await make_tenant(modules=["example"])
    await _notes(client, a, 2)
    await _notes(client, b, 3)
    assert (await client.post(a.url(f"/annual-report/{YEAR}/submit"), headers=a.headers())).status_code == 200
    await _notes(client, a, 5)  # after submission: the dashboard shows what a submitted
    assert (await client.get("/api/v1/national/dashboard", headers=a.headers())).status_code == 403
    r = await client.get(f"/api/v1/national/dashboard?year={YEAR}", headers=reviewer)
    assert r.status_code == 200, r.text
    view = r.json()
    by_code = {p["code"]: p for p in view["provinces"]}
    assert by_code[a.code]["report_state"] == "submitted" and by_code[a.code]["source"] == "submitted"
    assert by_code[a.code]["figures"]["example"]["notes"]["value"] == 2
    assert by_code[b.code]["source"] == "live" and by_code[b.code]["figures"]["example"]["notes"]["value"] == 3
    for ind in view["indicators"]:
        total = sum(p["figures"].get(ind["module"], {}).get(ind["name"], {}).get("value", 0)
                    for p in view["provinces"])
        assert view["totals"][ind["module"]][ind["name"]]["value"] == total, ind
        for level, n in view["totals"][ind["module"]][ind["name"]]["breakdown"].items():
            assert n == sum(p["figures"].get(ind["module"], {}).get(ind["name"], {}).get("breakdown", {})
                            .get(level, 0) for p in view["provinces"])
    assert "@" not in r.text and "agency_id" not in r.text
    r = await client.get(f"/api/v1/national/dashboard?year={YEAR + 1}", headers=reviewer)
    assert r.status_code == 400 and "future" in r.json()["detail"]
    # CSV and XLSX, parsed back
    r = await client.get(f"/api/v1/national/dashboard/export?year={YEAR}&format=csv", headers=reviewer)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert rows[0][0].startswith("TỔNG HỢP KẾT QUẢ ÁP DỤNG ISO 9001") and rows[1][:2] == ["Mã tỉnh", "Tỉnh, thành phố"]
    notes_col = rows[1].index("Số ghi chú")
    csv_by_code = {row[0]: row for row in rows[2:]}
    assert csv_by_code[a.code][notes_col] == "2" and csv_by_code[b.code][notes_col] == "3"
    assert rows[-1][1] == "Tổng cộng toàn quốc"
    assert int(float(rows[-1][notes_col])) == view["totals"]["example"]["notes"]["value"]
    r = await client.get(f"/api/v1/national/dashboard/export?year={YEAR}&format=xlsx", headers=reviewer)
    ws = load_workbook(io.BytesIO(r.content)).active
    assert ws["A1"].value.startswith("TỔNG HỢP") and ws["A2"].value == "Mã tỉnh" and ws.freeze_panes == "A3"
    assert ws.column_dimensions["B"].width >= 10
    assert ws.cell(row=ws.max_row, column=2).value == "Tổng cộng toàn quốc"
    r = await client.get(f"/api/v1/national/dashboard/export?format=pdf", headers=reviewer)
    assert r.status_code == 400
    # trends
    r = await client.get(f"/api/v1/national/trends?since={YEAR - 1}", headers=reviewer)
    assert r.status_code == 200 and [y["year"] for y in r.json()["years"]] == [YEAR - 1, YEAR]
    assert r.json()["years"][1]["totals"] == view["totals"]
    assert (await client.get(f"/api/v1/national/trends?since={YEAR}&until={YEAR - 1}",
                             headers=reviewer)).status_code == 400


async def test_report_documents_parsed_back(client: Any, make_tenant: Any, platform_users: Any) -> None:
    from docx import Document
    from openpyxl import load_workbook

    t = await make_tenant(modules=["example"])
    await _notes(client, t, 2)
    await client.put(t.url(f"/annual-report/{YEAR}/assessment"), headers=t.headers(),
                     json={"results": "Kết quả tốt", "issues": "=SUM(A1)", "proposals": "Đề nghị Bộ hỗ trợ",
                           "number": "7/BC-UBND", "place": "Cao Bằng"})
    r = await client.get(t.url(f"/annual-report/{YEAR}/docx"), headers=t.headers("viewer"))
    assert r.status_code == 200, r.text
    doc = Document(io.BytesIO(r.content))
    text = "\n".join([p.text for p in doc.paragraphs]
                     + [c.text for table in doc.tables for row in table.rows for c in row.cells])
    for expected in ("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc", "Số: 7/BC-UBND",
                     f"Cao Bằng, ngày", "Kết quả tốt", "Đề nghị Bộ hỗ trợ", "Số ghi chú", "ỦY BAN NHÂN DÂN"):
        assert expected in text, expected
    r = await client.get(t.url(f"/annual-report/{YEAR}/xlsx"), headers=t.headers())
    ws = load_workbook(io.BytesIO(r.content)).active
    values = [tuple(row) for row in ws.iter_rows(values_only=True)]
    assert values[1][:4] == ("Mục", "Chỉ tiêu", "Đơn vị tính", "Tổng số")
    assert any(row[1] == "Số ghi chú" and row[3] == 2 for row in values[2:])
    # the national reviewer reads the same documents once submitted
    assert (await client.post(t.url(f"/annual-report/{YEAR}/submit"), headers=t.headers())).status_code == 200
    reviewer = platform_users["national_reviewer"]
    r = await client.get(f"/api/v1/national/annual-reports/{t.code}/{YEAR}/docx", headers=reviewer)
    assert r.status_code == 200 and "SHA-256" in "\n".join(p.text for p in Document(io.BytesIO(r.content)).paragraphs)
    r = await client.get(f"/api/v1/national/annual-reports/{t.code}/{YEAR}/xlsx", headers=reviewer)
    assert r.status_code == 200
    assert (await client.get(f"/api/v1/national/annual-reports/nope/{YEAR}", headers=reviewer)).status_code == 404


async def test_right_across_the_merger(client: Any, make_tenant: Any, platform_users: Any) -> None:
    from tenants.merge import merge_tenants

    reviewer = platform_users["national_reviewer"]
    target, source = await make_tenant(modules=["example"]), await make_tenant(modules=["example"])
    await _notes(client, target, 1)
    await _notes(client, source, 2)
    # the source reports 2024 before the merger and the report is accepted
    assert (await client.post(source.url("/annual-report/2024/submit"), headers=source.headers())).status_code == 200
    base = f"/api/v1/national/annual-reports/{source.code}/2024"
    assert (await client.post(f"{base}/accept", headers=reviewer)).status_code == 200
    before = (await client.get(base, headers=reviewer)).json()
    outcome = await merge_tenants(target.code, [source.code], date(2025, 7, 1), dry_run=False,
                                  actor=(await target.ctx()).actor)
    assert outcome is not None
    # 2024: the provinces as they were, totals the sum of what is listed
    view = (await client.get("/api/v1/national/dashboard?year=2024", headers=reviewer)).json()
    by_code = {p["code"]: p for p in view["provinces"]}
    assert by_code[source.code]["status"] == "merged" and by_code[source.code]["merged_into"] == target.code
    assert by_code[source.code]["report_state"] == "accepted" and by_code[source.code]["source"] == "accepted"
    assert by_code[source.code]["figures"]["example"]["notes"]["value"] == 2
    assert by_code[target.code]["source"] == "frozen"
    target_2024 = by_code[target.code]["figures"]["example"]["notes"]["value"]
    total = view["totals"]["example"]["notes"]["value"]
    assert total == sum(p["figures"].get("example", {}).get("notes", {}).get("value", 0) for p in view["provinces"])
    # on request, rolled up into today's provinces: same totals, the source inside the target
    rolled = (await client.get("/api/v1/national/dashboard?year=2024&rollup=true", headers=reviewer)).json()
    rolled_by_code = {p["code"]: p for p in rolled["provinces"]}
    assert source.code not in rolled_by_code
    assert rolled_by_code[target.code]["figures"]["example"]["notes"]["value"] == target_2024 + 2
    assert rolled_by_code[target.code]["rolled_up"] == [source.code]
    assert rolled["totals"] == view["totals"]
    r = await client.get("/api/v1/national/dashboard/export?year=2024&rollup=true&format=csv", headers=reviewer)
    assert source.code not in r.content.decode("utf-8-sig") and target.code in r.content.decode("utf-8-sig")
    # today: today's provinces only
    today = (await client.get("/api/v1/national/dashboard", headers=reviewer)).json()
    assert source.code not in {p["code"] for p in today["provinces"]}
    # the merged province's report stays readable, unchanged, and can still be reviewed
    after = await client.get(base, headers=reviewer)
    assert after.status_code == 200, after.text
    assert after.json()["province"] == {"code": source.code, "name": source.name, "status": "merged"}
    assert after.json()["snapshot"] == before["snapshot"] and after.json()["sections"] == before["sections"]
    assert (await client.get(f"{base}/docx", headers=reviewer)).status_code == 200
    r = await client.get(f"/api/v1/national/annual-reports?year=2024&state=accepted", headers=reviewer)
    assert source.code in [row["code"] for row in r.json()]
    # the successor's officials see their own province's reports, not the merged one's
    r = await client.get(target.url("/annual-report"), headers=target.headers())
    assert r.status_code == 200 and r.json() == []
    r = await client.get(target.url("/annual-report/2024"), headers=target.headers())
    assert r.status_code == 200 and r.json()["state"] == "draft"
    r = await client.post(f"{base}/unlock", headers=reviewer, json={"reason": "Đính chính sau sáp nhập"})
    assert r.status_code == 200 and r.json()["state"] == "draft"


async def test_simultaneous_submits_and_reviews_take_effect_once(client: Any, make_tenant: Any,
                                                                 platform_users: Any) -> None:
    import asyncio

    from core.national.tables import ReportSnapshot

    reviewer = platform_users["national_reviewer"]
    t = await make_tenant(modules=["example"])
    url = t.url(f"/annual-report/{YEAR}/submit")
    responses = await asyncio.gather(*[client.post(url, headers=t.headers()) for _ in range(3)])
    assert sorted(r.status_code for r in responses) == [200, 409, 409], [r.text for r in responses]
    assert all(r.headers["content-type"].startswith("application/problem+json")
               for r in responses if r.status_code == 409)
    ctx = await t.ctx()
    assert len(await ctx.scope(ReportSnapshot).select()) == 1
    base = f"/api/v1/national/annual-reports/{t.code}/{YEAR}"
    responses = await asyncio.gather(client.post(f"{base}/accept", headers=reviewer),
                                     client.post(f"{base}/return", headers=reviewer, json={"reason": "Thiếu"}))
    assert sorted(r.status_code for r in responses) == [200, 409], [r.text for r in responses]
    r = await client.get(base, headers=reviewer)
    assert len([h for h in r.json()["history"] if h["action"] != "submitted"]) == 1
