"""Demo data: the 2024 inspection of Lạng Sơn (seed 002), through the module's own services.

Plan 329/QĐ-UBND of 16/02/2024; team 02/QĐ-BCĐISO of 07/03/2024 headed by Trần Quốc Anh, Phó Giám đốc Sở KH&CN;
visits on 02/04/2024 (Sở Tư pháp, Sở Tài nguyên và Môi trường) and 04/04/2024 (Sở Giao thông Vận tải); findings
and corrective actions in every state, exactly one overdue. In another province (or a test province) the same
story is told with its own required agencies. Team members other than the head are invented names; their 2024
certificates are not in the training module, so they are recorded as "unknown" with a note saying why.
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from core.people.tables import Person
from core.plugins import get_plugin_system
from core.tenancy.context import TenantContext
from core.text import fold
from plugins.inspections import fieldwork, records, services
from plugins.inspections.schemas import (
    ActionDecision,
    ActionIn,
    FindingIn,
    LineIn,
    MemberIn,
    PlanApprove,
    PlanCreate,
    RecordCreate,
    RecordSign,
    TeamCreate,
    VisitCreate,
)
from plugins.inspections.tables import InspectionPlan

YEAR = 2024
VISITS = [("LS-STP", date(2024, 4, 2)), ("LS-STNMT", date(2024, 4, 2)), ("LS-SGTVT", date(2024, 4, 4))]
TEAM = [("Trần Quốc Anh", "LS-SKHCN", "Phó Giám đốc Sở Khoa học và Công nghệ", "head"),
        ("Hoàng Thị Lan", "LS-TDC", "Chi cục trưởng Chi cục Tiêu chuẩn Đo lường Chất lượng", "deputy"),
        ("Nguyễn Văn Hùng", "LS-VP", "Chuyên viên Văn phòng UBND tỉnh", "member"),
        ("Lương Thị Mai", "LS-SNV", "Chuyên viên Sở Nội vụ", "member"),
        ("Vi Thị Hà", "LS-TDC", "Chuyên viên Chi cục Tiêu chuẩn Đo lường Chất lượng", "secretary")]


async def _person(ctx: TenantContext, name: str, agency_id: uuid.UUID | None, position: str) -> uuid.UUID:
    found = await ctx.scope(Person).select(Person.id).where(
        (Person.full_name_folded == fold(name)) & (Person.agency_id == agency_id)).first() if agency_id else None
    if found:
        return found["id"]
    row = await ctx.scope(Person).insert({"full_name": name, "full_name_folded": fold(name), "agency_id": agency_id,
                                          "position": position}, action="seed")
    return row["id"]


async def seed(ctx: TenantContext, agencies: dict[str, uuid.UUID]) -> None:
    with services.quiet():  # 2024's history: nobody is notified of it today
        await _seed(ctx, agencies)


async def _seed(ctx: TenantContext, agencies: dict[str, uuid.UUID]) -> None:
    if await ctx.scope(InspectionPlan).count().where(InspectionPlan.year == YEAR):
        return
    system = get_plugin_system()
    required = await services.required_agencies(ctx, YEAR)
    if not required:
        return
    fallback = agencies.get("P") or required[0]["id"]
    head_agency = agencies.get("LS-SKHCN", fallback)
    targets = [(agencies[code], day) for code, day in VISITS if code in agencies]
    if not targets:  # another province: its first required agencies other than the head's
        others = [a["id"] for a in required if a["id"] != head_agency][:3]
        targets = list(zip(others, [d for _, d in VISITS]))
    on_site = {a for a, _ in targets}
    need = services.share_count(len(required), 1, 3)
    for a in required:
        if len(on_site) >= need:
            break
        if a["id"] != head_agency:
            on_site.add(a["id"])
    lines = [LineIn(agency_id=a["id"], form="on_site" if a["id"] in on_site else "documents",
                    cooperating_units=["Văn phòng UBND tỉnh", "Sở Nội vụ"], budget_vnd=5_000_000 if a["id"] in on_site
                    else 0, expected_month=4 if a["id"] in on_site else 9) for a in required]
    plan = await services.create_plan(ctx, PlanCreate(year=YEAR, lines=lines))
    await services.transition(ctx, plan["id"], "submit")
    await services.transition(ctx, plan["id"], "approve", PlanApprove(
        decision_number="329/QĐ-UBND", decision_date=date(2024, 2, 16), decision_signer="Chủ tịch UBND tỉnh"))
    team = await fieldwork.create_team(ctx, TeamCreate(
        year=YEAR, decision_number="02/QĐ-BCĐISO", decision_date=date(2024, 3, 7),
        issuer="Ban Chỉ đạo ISO tỉnh", signer="Trưởng Ban Chỉ đạo ISO tỉnh", plan_id=plan["id"]))
    for name, code, position, role in TEAM:
        person = await _person(ctx, name, agencies.get(code, head_agency if role == "head" else None), position)
        await fieldwork.add_member(ctx, system, team["id"], MemberIn(person_id=person, role=role), art40=False)
    signed = []
    for agency_id, day in targets:
        visit, _ = await fieldwork.create_visit(ctx, system, VisitCreate(
            agency_id=agency_id, form="on_site", scheduled_on=day, team_id=team["id"], plan_id=plan["id"]), art40=False)
        rec = await records.create_record(ctx, system, RecordCreate(visit_id=visit["id"],
                                                                    number=f"{len(signed) + 1:02d}/BB-ĐKT"))
        signed.append((rec, day))
    stories = [
        [("TC5", "minor", "Chưa thực hiện hành động khắc phục sau đánh giá nội bộ năm 2023"),
         ("QD4", "minor", "Chưa cập nhật quy trình theo văn bản pháp luật mới về chứng thực")],
        [("TC2", "minor", "Một số phòng chuyên môn chưa được phổ biến tài liệu HTQLCL phiên bản mới"),
         ("QD5", "major", "Mở rộng phạm vi áp dụng thêm TTHC đất đai nhưng chưa công bố lại")],
        [("TC4", "minor", "Hồ sơ giải quyết TTHC lĩnh vực đăng kiểm chưa ghi đầy đủ biểu mẫu theo quy trình"),
         ("TC7", "observation", "Nên công khai kết quả xử lý phản ánh, kiến nghị trên trang thông tin điện tử")],
    ]
    findings = []
    for (rec, day), story in zip(signed, stories):
        for code, severity, text in story:
            findings.append(await records.add_finding(ctx, rec["id"], FindingIn(item_code=code, severity=severity,
                                                                                text=text)))
        await records.update_record(ctx, rec["id"], _conclusion())
        await records.sign_record(ctx, rec["id"], RecordSign(signed_on=day, head_signer="Trần Quốc Anh",
                                                             agency_signer="Lãnh đạo cơ quan được kiểm tra"))
    await _actions(ctx, findings)
    # two paper inspections (documents) with no finding
    paper = [line for line in lines if line.form == "documents"][:2]
    for line in paper:
        visit, _ = await fieldwork.create_visit(ctx, system, VisitCreate(
            agency_id=line.agency_id, form="documents", scheduled_on=date(2024, 9, 16), plan_id=plan["id"]))
        rec = await records.create_record(ctx, system, RecordCreate(visit_id=visit["id"]))
        await records.sign_record(ctx, rec["id"], RecordSign(signed_on=date(2024, 9, 30), head_signer="Trần Quốc Anh",
                                                             agency_signer="Lãnh đạo cơ quan được kiểm tra"))


def _conclusion() -> Any:
    from plugins.inspections.schemas import RecordUpdate

    return RecordUpdate(conclusion="Cơ quan đã xây dựng, áp dụng HTQLCL phù hợp TCVN ISO 9001:2015; còn một số tồn "
                                   "tại cần khắc phục và báo cáo trong thời hạn 02 tháng kể từ ngày ký biên bản.")


async def _actions(ctx: TenantContext, findings: list[dict[str, Any]]) -> None:
    """Every state: closed on time, awaiting verification after a non-acceptance, deferred, overdue (no action),
    closed late, awaiting verification."""
    f = {i: row["id"] for i, row in enumerate(findings)}

    async def report(i: int, on: date, text: str) -> dict[str, Any]:
        return await records.report_action(ctx, f[i], ActionIn(description=text, reported_on=on))

    async def decide(action: dict[str, Any], decision: str, on: date, reason: str | None = None) -> None:
        await records.decide_action(ctx, action["id"], ActionDecision(decision=decision, decided_on=on, reason=reason))

    if 0 in f:
        a = await report(0, date(2024, 5, 20), "Đã tổ chức khắc phục, bổ sung hồ sơ hành động khắc phục")
        await decide(a, "accept", date(2024, 6, 10))
    if 1 in f:
        a = await report(1, date(2024, 5, 28), "Đã rà soát văn bản pháp luật")
        await decide(a, "not_accept", date(2024, 6, 5), "Chưa ban hành quy trình sửa đổi kèm theo")
        await report(1, date(2024, 6, 20), "Đã ban hành quy trình sửa đổi theo Quyết định số 45/QĐ-STP")
    if 2 in f:
        a = await report(2, date(2024, 5, 30), "Đã lập kế hoạch phổ biến tài liệu cho các phòng")
        await decide(a, "defer", date(2024, 6, 12))
    # 3: no action at all -> the overdue one
    if 4 in f:
        a = await report(4, date(2024, 6, 25), "Đã bổ sung biểu mẫu vào hồ sơ")
        await decide(a, "accept", date(2024, 7, 2))
    if 5 in f:
        await report(5, date(2024, 5, 15), "Đã đăng tải kết quả xử lý phản ánh, kiến nghị")
