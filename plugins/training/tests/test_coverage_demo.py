"""Coverage per agency and locality (filters, accent-insensitive search, XLSX), history of a person and an agency,
the demo data of seed 004, and the tenant merge rule for numbering."""

from __future__ import annotations

import io
import uuid
from datetime import date, timedelta
from typing import Any

from core.contracts import TenantMerge, TenantRef
from core.plugins import get_plugin_system
from plugins.training import demo, merging
from plugins.training.tests.conftest import TODAY, Api, assert_problem


async def closed_session(api: Api, agency: str, names: list[str], start: date, kind: str = "AWARENESS") -> str:
    s = await api.session(kind, starts_on=start, days=1)
    await api.move(s["id"], "open", on=start - timedelta(days=5))
    from plugins.training import services

    ctx = await api.t.ctx()
    regs = []
    for name in names:
        p = await api.person(agency, name)
        regs.append(await services.register(ctx, s["id"], uuid.UUID(p["id"]), None, today=start))
    await api.move(s["id"], "held", on=start)
    await api.ok("post", f"/sessions/{s['id']}/attendance", {"day": start.isoformat(),
                                                             "present": [str(r["id"]) for r in regs]}, status=200)
    if kind == "INTERNAL_AUDITOR":
        await api.ok("post", f"/sessions/{s['id']}/scores", {"scores": [
            {"registration_id": str(r["id"]), "score": 9} for r in regs]}, status=200)
    await api.move(s["id"], "closed", on=start)
    return s["id"]


async def test_coverage_history_and_export(api: Api) -> None:
    start = TODAY - timedelta(days=3) if TODAY.month > 1 or TODAY.day > 5 else TODAY
    await closed_session(api, "C1", ["Hà Văn Một", "Hà Văn Hai"], start)
    sid = await closed_session(api, "D1U", ["Kiều Thị Ba"], start, kind="INTERNAL_AUDITOR")
    page = await api.ok("get", "/coverage", role="viewer")
    rows = {r["agency_code"]: r for r in page["items"]}
    assert rows["C1"]["trained_staff"] == 2 and rows["C1"]["sessions"] == 1 and not rows["C1"]["has_internal_auditor"]
    assert rows["D1U"]["has_internal_auditor"] and rows["D1U"]["valid_internal_auditors"] == 1
    assert rows["D1"]["trained_staff"] == 0  # staff of a sub-unit count for the sub-unit
    assert page["agencies_trained"] == 2 and page["agencies_with_internal_auditor"] == 1
    assert page["required_without_internal_auditor"] == 3  # P, D1, D2 are required
    assert [r["agency_code"] for r in (await api.ok("get", "/coverage?q=dong dang"))["items"]] == ["C1"]
    assert [r["agency_code"] for r in (await api.ok("get", "/coverage?has_internal_auditor=true"))["items"]] == ["D1U"]
    assert {r["agency_code"] for r in (await api.ok("get", f"/coverage?parent_id={api.t.agencies['D1']}"))["items"]
            } == {"D1", "D1U"}
    assert [r["agency_code"] for r in (await api.ok("get", "/coverage?level=commune&trained=true"))["items"]] == ["C1"]
    assert (await api.ok("get", f"/coverage?year={TODAY.year - 3}"))["agencies_trained"] == 0
    assert_problem(await api.get("/coverage", level="galaxy"), 400)
    assert_problem(await api.get(f"/coverage?parent_id={uuid.uuid4()}"), 404)

    r = await api.get("/coverage.xlsx", "viewer")
    assert r.status_code == 200 and "spreadsheetml" in r.headers["content-type"]
    from openpyxl import load_workbook

    ws = load_workbook(io.BytesIO(r.content)).active
    assert ws["A1"].value.startswith("Kết quả tập huấn HTQLCL")
    assert [c.value for c in ws[3]][:2] == ["Mã", "Cơ quan, đơn vị"]
    data = {row[0]: row for row in ws.iter_rows(min_row=4, values_only=True)}
    assert data["C1"][4] == 2 and data["D1U"][7] == "Có"

    person = (await api.ok("get", f"/sessions/{sid}/registrations"))[0]["person_id"]
    h = await api.ok("get", f"/people/{person}/history", role="viewer")
    assert h["name"] == "Kiều Thị Ba" and [s["role"] for s in h["sessions"]] == ["participant"]
    assert h["certificates"][0]["internal_auditor"] and h["sessions"][0]["score"] == 9
    ah = await api.ok("get", f"/agencies/{api.t.agencies['D1']}/history")
    assert ah["name"] == "Sở Giao thông Vận tải" and len(ah["sessions"]) == 1 and len(ah["certificates"]) == 1
    assert_problem(await api.get(f"/people/{uuid.uuid4()}/history"), 404)


async def _bac_ninh_like(api: Api) -> dict[str, uuid.UUID]:
    """The demo's codes for Bắc Giang's history (created through the API: plugin tests do not import tenants/)."""
    ids: dict[str, uuid.UUID] = {}

    async def add(code: str, name: str, level: str, parent: str | None, **extra: Any) -> None:
        body = {"code": code, "name": name, "level": level, "valid_from": "2008-01-01", **extra}
        if parent:
            body["parent_id"] = str(ids[parent])
        r = await api.client.post(api.t.url("/agencies"), headers=api.t.headers(), json=body)
        assert r.status_code == 201, r.text
        ids[code] = uuid.UUID(r.json()["id"])

    merged = {"valid_to": "2025-07-01"}
    await add("BN", "UBND tỉnh Bắc Ninh", "province", None)
    await add("BN-SKHCN", "Sở Khoa học và Công nghệ", "department", "BN")
    await add("BN-TDC", "Chi cục Tiêu chuẩn Đo lường Chất lượng", "unit", "BN-SKHCN")
    await add("BG", "UBND tỉnh Bắc Giang", "province", None, **merged)
    await add("BG-SKHCN", "Sở Khoa học và Công nghệ", "department", "BG", **merged)
    await add("BG-TDC", "Chi cục Tiêu chuẩn Đo lường Chất lượng", "unit", "BG-SKHCN", **merged)
    await add("BG-LG", "UBND huyện Lạng Giang", "district", "BG", **merged)
    await add("BG-VY", "UBND huyện Việt Yên", "district", "BG", **merged)
    for code, name in (("BICHDONG", "UBND thị trấn Bích Động"), ("NINHSON", "UBND xã Ninh Sơn")):
        await add(f"BG-VY-{code}", name, "commune", "BG-VY", **merged)
    return ids


async def test_demo_seed_of_bac_ninh_tells_seed_004(api: Api) -> None:
    ids = await _bac_ninh_like(api)
    ctx = await api.t.ctx()
    await demo.seed(ctx, ids)
    await demo.seed(ctx, ids)  # idempotent
    y2021 = await api.ok("get", "/sessions?year=2021&limit=50")
    assert y2021["total"] == 10 and all(s["status"] == "closed" for s in y2021["items"])
    lang_giang = (await api.ok("get", "/sessions?q=lang giang&year=2021"))["items"]
    assert len(lang_giang) == 1 and lang_giang[0]["starts_on"] == "2021-09-28"
    assert lang_giang[0]["locality_ids"] == [str(ids["BG-LG"])] and lang_giang[0]["kind_code"] == "MAINTAIN_IMPROVE"
    viet_yen = (await api.ok("get", f"/sessions?agency_id={ids['BG-VY']}"))["items"]
    assert len(viet_yen) == 1 and set(viet_yen[0]["locality_ids"]) == {str(ids["BG-VY-BICHDONG"]),
                                                                       str(ids["BG-VY-NINHSON"])}
    certs = (await api.ok("get", "/certificates?year=2021&limit=100"))["items"]
    assert sorted(c["number"] for c in certs) == list(range(1, len(certs) + 1)) and len(certs) == 8
    assert all(c["number_text"].endswith("/2021/CN-TĐC") for c in certs)
    # the Chi cục inspectors: one valid, one expiring within 60 days, one expired (BN-TDC, the open one)
    ia = (await api.ok("get", "/certificates?internal_auditor=true&limit=100"))["items"]
    assert {c["agency_id"] for c in ia} == {str(ids["BN-TDC"])}
    soon = [c for c in ia if c["valid_today"] and date.fromisoformat(c["expires_on"]) <= TODAY + timedelta(days=60)]
    expired = [c for c in ia if date.fromisoformat(c["expires_on"]) < TODAY]
    assert len(soon) == 1 and len(expired) == 1 and len(ia) == 4
    sheet = await get_plugin_system().facts(ctx, agencies=[ids["BN-TDC"]], on=TODAY)
    assert sheet.value(ids["BN-TDC"], "training.has_internal_auditor") is True
    upcoming = (await api.ok("get", "/sessions?status=open"))["items"]
    assert len(upcoming) == 1 and upcoming[0]["starts_on"] == (TODAY + timedelta(days=7)).isoformat()


async def test_merge_keeps_the_targets_counter_and_printed_numbers(api: Api, make_tenant: Any) -> None:
    from core.tenancy import unscoped
    from plugins.training.tables import TrainingCertificate, TrainingCounter, TrainingKind

    source = Api(api.client, await make_tenant(modules=["training"]))
    year = TODAY.year - 1
    await closed_session(api, "D1", ["Đích Một"], date(year, 4, 1))
    await closed_session(source, "D1", ["Nguồn Một", "Nguồn Hai"], date(year, 4, 2))
    await closed_session(source, "D2", ["Nguồn Ba"], date(year - 1, 4, 2))
    ref = lambda t: TenantRef(id=t.id, code=t.code, name=t.name)  # noqa: E731
    plan = TenantMerge(sources=(ref(source.t),), target=ref(api.t), effective_on=date(2025, 7, 1), dry_run=True)
    report = await merging.merge(plan)
    assert report.moved["training_certificate"] == 3
    assert [(c.kind, c.key) for c in report.conflicts if c.kind == "sequence"] == [("sequence", f"{source.t.code}:{year}")]
    assert {c.key for c in report.conflicts if c.kind == "kind_code"} >= {"AWARENESS", "INTERNAL_AUDITOR"}
    with unscoped():  # a dry run changed nothing
        assert await TrainingCounter.count().where(TrainingCounter.tenant_id == source.t.id) == 2
        # what core does first: move every row, ids kept
        from plugins.training.tables import TABLES

        for table in TABLES:
            await table.update({table.tenant_id: api.t.id}).where(table.tenant_id == source.t.id)
    report = await merging.merge(TenantMerge(sources=plan.sources, target=plan.target, effective_on=plan.effective_on,
                                             dry_run=False))
    with unscoped():
        counters = {c["key"]: c for c in await TrainingCounter.select().where(TrainingCounter.tenant_id == api.t.id)}
        kinds = await TrainingKind.select(TrainingKind.code, TrainingKind.code_key).where(
            TrainingKind.tenant_id == api.t.id)
        certs = await TrainingCertificate.select(TrainingCertificate.number_text).where(
            TrainingCertificate.tenant_id == api.t.id)
    assert counters[f"{api.t.id}:{year}"]["last_number"] == 1  # the target keeps its own
    assert counters[f"{api.t.id}:{year}:from:{source.t.code}"]["last_number"] == 2
    assert counters[f"{api.t.id}:{year - 1}"]["last_number"] == 1  # only the source numbered that year: it continues
    assert sorted(c["number_text"] for c in certs) == sorted(
        [f"1/{year}/CN-TĐC", f"1/{year}/CN-TĐC", f"2/{year}/CN-TĐC", f"1/{year - 1}/CN-TĐC"])
    assert len({k["code_key"] for k in kinds}) == len(kinds) == 10
    assert all(k["code_key"].startswith(f"{api.t.id}:") for k in kinds)
    assert f"AWARENESS-{source.t.code}".lower() in {k["code"].lower() for k in kinds}
    # the merged province numbers on after its own counter
    await closed_session(api, "D1", ["Sau Hợp Nhất"], date(year, 9, 1))
    page = await api.ok("get", f"/certificates?year={year}&q=sau hop nhat")
    assert page["items"][0]["number_text"] == f"2/{year}/CN-TĐC"


async def test_demo_of_lang_son_qualifies_the_2024_inspection_team(api: Api) -> None:
    ids: dict[str, uuid.UUID] = {}
    for code, name, level, parent in (("LS", "UBND tỉnh Lạng Sơn", "province", None),
                                      ("LS-SKHCN", "Sở Khoa học và Công nghệ", "department", "LS"),
                                      ("LS-VP", "Văn phòng UBND tỉnh", "department", "LS"),
                                      ("LS-SNV", "Sở Nội vụ", "department", "LS"),
                                      ("LS-TDC", "Chi cục Tiêu chuẩn Đo lường Chất lượng", "unit", "LS-SKHCN")):
        body = {"code": code, "name": name, "level": level, "valid_from": "2008-01-01"}
        if parent:
            body["parent_id"] = str(ids[parent])
        r = await api.client.post(api.t.url("/agencies"), headers=api.t.headers(), json=body)
        ids[code] = uuid.UUID(r.json()["id"])
    head = await api.ok("post", "/people", {"full_name": "Trần Quốc Anh", "agency_id": str(ids["LS-SKHCN"]),
                                            "position": "Phó Giám đốc"})  # as another module's demo adds him
    ctx = await api.t.ctx()
    await demo.seed(ctx, ids)
    team = (await api.ok("get", "/certificates?year=2022&limit=50"))["items"]
    assert sorted(c["number_text"] for c in team) == sorted(f"{n}/2022/CN-TĐC" for n in range(1, 6))
    assert head["id"] in {c["person_id"] for c in team}
    people = [uuid.UUID(c["person_id"]) for c in team]
    sheet = await get_plugin_system().facts(ctx, people=people, on=date(2024, 3, 7))
    assert all(sheet.value(p, "training.valid_internal_auditor") for p in people)
