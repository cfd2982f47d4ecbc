"""Demo data of the awards module, run through the module's own services (so it obeys every rule).

- Every province: its settings, the usual award forms, and a 2024 emulation movement with proposals in every
  state (draft, submitted, reviewed, approved and locked by an issued decision, raised to the ministry, rejected
  by the council), a council meeting with votes, and the 2024 decision.
- Lạng Sơn (seed 000): in January 2015 UBND tỉnh gave the Bằng khen of its chairman to 2 collectives for outstanding
  ISO work. The decision number, its date, the council and the choice of the two collectives are invented.

Criteria that facts do not support are overridden with a written reason, as an official would.
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from core.agencies.tables import Agency
from core.people.tables import Person
from core.tenancy.context import TenantContext
from core.text import fold
from plugins.awards import services
from plugins.awards.schemas import (DecisionCreate, MeetingCreate, Member, MovementCreate, ProposalCreate,
                                    ResultsInput, VoteResult)
from plugins.awards.tables import AwardMovement, AwardSettings

COUNCIL = [
    ("Lý Vinh Quang", "Phó Chủ tịch UBND tỉnh, Chủ tịch Hội đồng"),
    ("Nguyễn Văn An", "Giám đốc Sở Nội vụ, Phó Chủ tịch thường trực Hội đồng"),
    ("Trần Thị Bình", "Giám đốc Sở Khoa học và Công nghệ, ủy viên"),
    ("Hoàng Minh Cường", "Chánh Văn phòng UBND tỉnh, ủy viên"),
    ("Vi Thị Dung", "Trưởng ban Thi đua – Khen thưởng, Sở Nội vụ, ủy viên thư ký"),
]
DEMO_PEOPLE = [("Nguyễn Thị Hoa", "Thư ký ISO"), ("Hoàng Văn Minh", "Phó Chánh Văn phòng")]
OVERRIDE_2015 = "Hồ sơ năm 2015 nhập lại từ quyết định đã ban hành; dữ liệu HTQLCL thời điểm đó chưa có trên hệ thống"
OVERRIDE_2024 = "Đơn vị đã nộp văn bản xác nhận của Chi cục TĐC về kết quả duy trì HTQLCL năm 2024 kèm theo hồ sơ"
ACHIEVEMENT_2015 = ("Có thành tích xuất sắc trong công tác xây dựng, áp dụng hệ thống quản lý chất lượng theo "
                    "TCVN ISO 9001:2008 giai đoạn 2007 – 2014")
ACHIEVEMENT_2024 = ("Có thành tích xuất sắc trong phong trào thi đua đẩy mạnh áp dụng, duy trì và cải tiến HTQLCL "
                    "theo TCVN ISO 9001:2015 năm 2024")


async def _submit(ctx: TenantContext, proposal: dict[str, Any], reason: str) -> dict[str, Any]:
    judged = (await services.judge(ctx, [proposal]))[proposal["id"]]
    for c in judged.criteria:
        if c.status != "met":
            await services.override(ctx, proposal["id"], c.code, reason)
    return await services.submit(ctx, proposal["id"])


async def _reviewed(ctx: TenantContext, data: ProposalCreate, reason: str) -> dict[str, Any]:
    row = await services.create_proposal(ctx, data)
    await _submit(ctx, row, reason)
    return await services.review(ctx, row["id"], "Hồ sơ đầy đủ, đúng quy định")


async def _people(ctx: TenantContext, agencies: list[dict[str, Any]]) -> list[dict[str, Any]]:
    found = await ctx.scope(Person).select().where(Person.agency_id.is_not_null() & Person.closed_on.is_null()
                                                   ).order_by(Person.full_name_folded).limit(2)
    for i, (name, position) in enumerate(DEMO_PEOPLE[len(found):], start=len(found)):
        found.append(await ctx.scope(Person).insert({
            "full_name": name, "full_name_folded": fold(name, 200), "position": position,
            "agency_id": agencies[i % len(agencies)]["id"]}, action="seed"))
    return found


async def seed(ctx: TenantContext, agencies: dict[str, uuid.UUID]) -> None:
    if await ctx.scope(AwardMovement).count():
        return  # seeded already
    await ctx.scope(AwardSettings).insert({"approval_threshold_percent": 50}, action="seed")
    forms = {f["code"]: f for f in await services.install_default_forms(ctx)}
    bk, bo, co = forms["bang_khen_ubnd_tinh"], forms["bang_khen_bo_khcn"], forms["co_thi_dua_ubnd_tinh"]
    if "LS-SKHCN" in agencies and "LS-STP" in agencies:
        await _lang_son_2015(ctx, agencies, bk)
    day = date(2024, 6, 30)
    rows = await ctx.scope(Agency).select().where(
        (Agency.level != "province") & (Agency.valid_from <= day) & (Agency.valid_to.is_null() | (Agency.valid_to > day)))
    order = {level: i for i, level in enumerate(("department", "district", "unit", "office", "commune"))}
    # the province's own agencies first (a merged-in province's agencies are history, awarded by their own UBND)
    rows.sort(key=lambda a: (a["valid_to"] is not None, order.get(a["level"], 9), a["code"]))
    if len(rows) < 4:
        return
    people = await _people(ctx, rows)
    movement = await services.create_movement(ctx, MovementCreate(
        year=2024, name="Phong trào thi đua đẩy mạnh áp dụng, duy trì và cải tiến HTQLCL theo TCVN ISO 9001:2015 "
                        "năm 2024", period_from=date(2024, 1, 1), period_to=date(2024, 12, 31),
        criteria=["Duy trì, cải tiến HTQLCL, không có nghĩa vụ quá hạn",
                  "Khắc phục đúng hạn các vấn đề tồn tại sau kiểm tra",
                  "Có công chức được đào tạo chuyên gia đánh giá nội bộ"],
        description="Phát động theo kế hoạch của UBND tỉnh; Sở Khoa học và Công nghệ là cơ quan thường trực."))

    def collective(agency: dict[str, Any], form: dict[str, Any]) -> ProposalCreate:
        return ProposalCreate(form_id=form["id"], subject="collective", agency_id=agency["id"], year=2024,
                              movement_id=movement["id"], achievement=ACHIEVEMENT_2024,
                              evidence=["Báo cáo kết quả duy trì HTQLCL năm 2024"])

    def individual(person: dict[str, Any], form: dict[str, Any]) -> ProposalCreate:
        return ProposalCreate(form_id=form["id"], subject="individual", person_id=person["id"], year=2024,
                              movement_id=movement["id"], achievement=ACHIEVEMENT_2024,
                              evidence=["Chứng chỉ chuyên gia đánh giá nội bộ"])

    approved = await _reviewed(ctx, collective(rows[0], bk), OVERRIDE_2024)
    rejected = await _reviewed(ctx, collective(rows[1], bk), OVERRIDE_2024)
    raised = await _reviewed(ctx, individual(people[0], bo), OVERRIDE_2024)
    await _reviewed(ctx, collective(rows[2], bk), OVERRIDE_2024)  # reviewed, waiting for the next council
    await _submit(ctx, await services.create_proposal(ctx, individual(people[1], bk)), OVERRIDE_2024)
    await services.create_proposal(ctx, collective(rows[3], co))  # a draft: Cờ thi đua needs 2 years of Bằng khen
    meeting = await services.create_meeting(ctx, MeetingCreate(
        held_on=date(2024, 12, 10), place="Phòng họp UBND tỉnh", note="Phiên họp xét khen thưởng năm 2024",
        members=[Member(full_name=n, position=p) for n, p in COUNCIL],
        proposal_ids=[approved["id"], rejected["id"], raised["id"]]))
    await services.record_results(ctx, meeting["id"], ResultsInput(results=[
        VoteResult(proposal_id=approved["id"], votes_for=5, votes_against=0),
        VoteResult(proposal_id=rejected["id"], votes_for=2, votes_against=3),
        VoteResult(proposal_id=raised["id"], votes_for=5, votes_against=0, raise_to="Bộ Khoa học và Công nghệ")]))
    decision = await services.create_decision(ctx, DecisionCreate(
        number="2315/QĐ-UBND", decided_on=date(2024, 12, 20), signer="Nguyễn Văn Hùng", form_id=bk["id"],
        movement_id=movement["id"], proposal_ids=[approved["id"]],
        title="Về việc tặng Bằng khen của Chủ tịch UBND tỉnh cho tập thể có thành tích xuất sắc trong phong trào "
              "thi đua áp dụng HTQLCL năm 2024"))
    await services.issue_decision(ctx, decision["id"])


async def _lang_son_2015(ctx: TenantContext, agencies: dict[str, uuid.UUID], bk: dict[str, Any]) -> None:
    ids = []
    for code in ("LS-SKHCN", "LS-STP"):
        row = await _reviewed(ctx, ProposalCreate(form_id=bk["id"], subject="collective", agency_id=agencies[code],
                                                  year=2015, achievement=ACHIEVEMENT_2015), OVERRIDE_2015)
        ids.append(row["id"])
    meeting = await services.create_meeting(ctx, MeetingCreate(
        held_on=date(2015, 1, 16), place="Phòng họp UBND tỉnh Lạng Sơn",
        members=[Member(full_name=n, position=p) for n, p in COUNCIL], proposal_ids=ids,
        note="Xét khen thưởng tổng kết đề án ISO giai đoạn 2007 – 2014"))
    await services.record_results(ctx, meeting["id"], ResultsInput(results=[
        VoteResult(proposal_id=i, votes_for=5, votes_against=0) for i in ids]))
    decision = await services.create_decision(ctx, DecisionCreate(
        number="112/QĐ-UBND", decided_on=date(2015, 1, 21), signer="Nguyễn Văn Hùng", form_id=bk["id"],
        proposal_ids=ids, title="Về việc tặng Bằng khen của Chủ tịch UBND tỉnh cho 2 tập thể có thành tích xuất sắc "
                                "trong công tác thực hiện, áp dụng HTQLCL"))
    await services.issue_decision(ctx, decision["id"])
