"""The status board as a spreadsheet: CSV (UTF-8 with BOM, so Excel shows Vietnamese correctly) and XLSX.

Headers and values are in Vietnamese. Dates are dd/mm/yyyy in CSV and real date cells in XLSX; the XLSX starts
with a title row, its header row is frozen and its columns fit the names. Text that a
spreadsheet would take for a formula (starting with = + - @) is prefixed with an apostrophe.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import date
from typing import Any, Callable, Sequence

from plugins.certification.schemas import BoardRow

STATUS_VI = {
    "not_started": "Chưa triển khai", "building": "Đang xây dựng", "applying": "Đang áp dụng",
    "announced": "Đã công bố", "suspended": "Tạm dừng", "withdrawn": "Đã hủy bỏ",
}
LEVEL_VI = {
    "province": "Cấp tỉnh", "department": "Sở, ban, ngành", "district": "Cấp huyện", "office": "Phòng chuyên môn",
    "commune": "Cấp xã", "unit": "Đơn vị trực thuộc",
}
REASON_VI = {
    "internal_audit": "Quá 12 tháng chưa đánh giá nội bộ",
    "management_review": "Quá 12 tháng chưa xem xét của lãnh đạo",
    "legal_update": "Quá 3 tháng chưa cập nhật theo thay đổi pháp luật",
    "reannouncement": "Chưa công bố lại sau khi thay đổi",
    "conversion": "Chưa chuyển đổi sang TCVN ISO 9001:2015 sau hạn của tỉnh",
}


def _yes(value: bool) -> str:
    return "Có" if value else "Không"


COLUMNS: list[tuple[str, Callable[[BoardRow], Any]]] = [
    ("Mã cơ quan", lambda r: r.agency_code),
    ("Tên cơ quan", lambda r: r.agency_name),
    ("Cấp", lambda r: LEVEL_VI.get(r.level, r.level)),
    ("Thuộc đối tượng bắt buộc", lambda r: _yes(r.required)),
    ("Còn hoạt động", lambda r: _yes(r.active)),
    ("Trạng thái HTQLCL", lambda r: STATUS_VI.get(r.status, r.status)),
    ("Phiên bản TCVN ISO 9001", lambda r: r.standard_version or ""),
    ("Số quyết định công bố", lambda r: r.announcement_number or ""),
    ("Ngày công bố", lambda r: r.announced_on),
    ("Người ký", lambda r: r.announcement_signer or ""),
    ("Số TTHC trong phạm vi", lambda r: r.scope_count),
    ("Đánh giá nội bộ gần nhất", lambda r: r.last_internal_audit_on),
    ("Xem xét của lãnh đạo gần nhất", lambda r: r.last_management_review_on),
    ("Cập nhật theo thay đổi pháp luật gần nhất", lambda r: r.last_legal_update_on),
    ("Chờ công bố lại", lambda r: _yes(r.reannouncement_due)),
    ("Số quyết định/giấy chứng nhận công nhận", lambda r: r.recognition_number or ""),
    ("Cơ quan công nhận", lambda r: r.recognition_issuer or ""),
    ("Ngày công nhận", lambda r: r.recognition_date),
    ("Hiệu lực đến", lambda r: r.recognition_expires_on),
    ("Quá hạn", lambda r: _yes(r.overdue)),
    ("Lý do quá hạn", lambda r: "; ".join(REASON_VI.get(x, x) for x in r.overdue_reasons)),
]
HEADERS = [name for name, _ in COLUMNS]


def _safe_text(value: str) -> str:
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def _cells(row: BoardRow, clean: Callable[[str], str] = str) -> list[Any]:
    values = []
    for _, get in COLUMNS:
        value = get(row)
        values.append(_safe_text(clean(value)) if isinstance(value, str) else value)
    return values


def board_csv(rows: Sequence[BoardRow]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(HEADERS)
    for row in rows:
        writer.writerow([v.strftime("%d/%m/%Y") if isinstance(v, date) else ("" if v is None else v)
                         for v in _cells(row)])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


_XML_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def _xml_text(value: str) -> str:
    """XML 1.0 (so XLSX) cannot hold most control characters: vertical tab and form feed become spaces, the
    others are dropped (text pasted from Word often carries them). Applied before the formula guard."""
    return _XML_ILLEGAL.sub(lambda m: " " if m.group() in "\x0b\x0c" else "", value)


def board_xlsx(rows: Sequence[BoardRow], *, title: str, as_of: date) -> bytes:
    """A title row (the board and its day), the bold header frozen under it, widths fitted to the names, dates
    as date cells (core.tabular.xlsx_bytes)."""
    from core.tabular import xlsx_bytes

    day = as_of.strftime("%d/%m/%Y")
    heading = _xml_text(f"{title} - đến ngày {day}")
    return xlsx_bytes(heading, HEADERS, (_cells(row, _xml_text) for row in rows), sheet="HTQLCL", properties={
        "title": _safe_text(_xml_text(title))[:200],
        "subject": f"Tình hình áp dụng HTQLCL theo TCVN ISO 9001 đến ngày {day}"})
