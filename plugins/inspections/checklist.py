"""The Art. 36 checklist: the built-in Vietnamese template (version 0) and its pre-filling from facts.

A province may publish its own versions (1, 2, ...); a record keeps a copy of the items it was answered on.
`fact` names the certification fact that pre-fills an item; the inspector may change any pre-filled answer.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

BUILTIN_TITLE = "Nội dung kiểm tra theo Điều 36 Thông tư 26/2014/TT-BKHCN"

BUILTIN_ITEMS: list[dict[str, Any]] = [
    # against the standard (TCVN ISO 9001)
    {"code": "TC1", "group": "standard", "fact": None,
     "text": "Phạm vi áp dụng HTQLCL bao quát toàn bộ thủ tục hành chính (TTHC) thuộc thẩm quyền của cơ quan"},
    {"code": "TC2", "group": "standard", "fact": None,
     "text": "Hệ thống tài liệu được phổ biến đến toàn bộ cán bộ, công chức có liên quan"},
    {"code": "TC3", "group": "standard", "fact": None,
     "text": "Tuân thủ các yêu cầu của tiêu chuẩn, chính sách chất lượng, mục tiêu chất lượng, quy trình và quy định "
             "pháp luật"},
    {"code": "TC4", "group": "standard", "fact": None,
     "text": "Các quy trình giải quyết công việc được thực hiện đúng như đã xây dựng"},
    {"code": "TC5", "group": "standard", "fact": "certification.last_internal_audit_on",
     "text": "Đánh giá nội bộ được thực hiện và có hành động khắc phục điểm không phù hợp"},
    {"code": "TC6", "group": "standard", "fact": "certification.last_management_review_on",
     "text": "Xem xét của lãnh đạo được thực hiện"},
    {"code": "TC7", "group": "standard", "fact": None,
     "text": "Giải quyết khiếu nại, phản ánh của tổ chức, cá nhân"},
    {"code": "TC8", "group": "standard", "fact": None, "text": "Thực hiện cải tiến HTQLCL"},
    # against Decision 19/2014/QĐ-TTg
    {"code": "QD1", "group": "decision19", "fact": None,
     "text": "Lãnh đạo cơ quan tham gia xây dựng, áp dụng, duy trì và cải tiến HTQLCL"},
    {"code": "QD2", "group": "decision19", "fact": "certification.head_confirmed",
     "text": "Người đứng đầu cơ quan xác nhận hiệu lực của HTQLCL"},
    {"code": "QD3", "group": "decision19", "fact": "certification.announced",
     "text": "Công bố HTQLCL phù hợp TCVN ISO 9001, thông báo cho cơ quan chủ trì, niêm yết tại trụ sở và đăng tải "
             "trên trang thông tin điện tử"},
    {"code": "QD4", "group": "decision19", "fact": "certification.legal_update_late",
     "text": "Cập nhật HTQLCL khi có thay đổi văn bản quy phạm pháp luật liên quan"},
    {"code": "QD5", "group": "decision19", "fact": "certification.reannouncement_due",
     "text": "Công bố lại khi điều chỉnh, mở rộng, thu hẹp phạm vi áp dụng HTQLCL"},
    {"code": "QD6", "group": "decision19", "fact": None,
     "text": "Lựa chọn tổ chức tư vấn, chuyên gia tư vấn (nếu có) theo quy định"},
]

ANSWERS_VI = {"compliant": "Phù hợp", "minor": "Không phù hợp nhẹ", "major": "Không phù hợp nặng",
              "observation": "Khuyến nghị", "not_applicable": "Không áp dụng", None: "Chưa đánh giá"}
GROUPS_VI = {"standard": "Theo tiêu chuẩn TCVN ISO 9001", "decision19": "Theo Quyết định 19/2014/QĐ-TTg"}


def _within_year(value: Any, on: date) -> bool:
    return isinstance(value, date) and on - timedelta(days=366) <= value <= on


def prefill_answer(fact_name: str, value: Any, on: date) -> str | None:
    """The answer a certification fact suggests for its item, or None when it suggests nothing."""
    if value is None:
        return None
    if fact_name in ("certification.head_confirmed", "certification.announced"):
        return "compliant" if value else "major"
    if fact_name in ("certification.legal_update_late", "certification.reannouncement_due"):
        return "minor" if value else "compliant"
    if fact_name in ("certification.last_internal_audit_on", "certification.last_management_review_on"):
        return "compliant" if _within_year(value, on) else "minor"
    return None


def fill(items: list[dict[str, Any]], sheet: Any, agency_id: Any, on: date) -> list[dict[str, Any]]:
    """Checklist lines for a new record: every item unanswered, pre-filled where a fact answers."""
    lines = []
    for item in items:
        line = {"code": item["code"], "group": item["group"], "text": item["text"], "answer": None, "note": None,
                "prefilled_from": None}
        fact_name = item.get("fact")
        fact = sheet.get(agency_id, fact_name) if fact_name and sheet is not None else None
        if fact is not None:
            answer = prefill_answer(fact_name, fact.value, on)
            if answer is not None:
                line.update(answer=answer, note=fact.explanation, prefilled_from=fact_name)
        lines.append(line)
    return lines
