"""Documents of the national review, in Vietnamese: the province's annual report as DOCX (state form: issuer,
Quốc hiệu and Tiêu ngữ, số/ký hiệu, địa danh and date) and XLSX, and the national dashboard as CSV and XLSX
(title row, frozen header, fitted widths). Text a spreadsheet would take for a formula gets an apostrophe."""

from __future__ import annotations

import csv
import io
import re
from datetime import date
from typing import Any

from core.national.services import LEVEL_VI, STATE_VI, levels_of, vi_date
from core.tabular import xlsx_bytes

QUOC_HIEU = "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"
TIEU_NGU = "Độc lập - Tự do - Hạnh phúc"
_XML_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
SOURCE_VI = {"accepted": "Báo cáo đã chấp nhận", "submitted": "Báo cáo đã gửi", "frozen": "Số liệu chốt khi sáp nhập",
             "live": "Số liệu hiện tại", "rollup": "Cộng từ tỉnh đã sáp nhập"}


def _cell(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    value = _XML_ILLEGAL.sub("", value)
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


# ------------------------------------------------------------------------------------------ the dashboard


def dashboard_table(view: dict[str, Any]) -> tuple[str, list[str], list[list[Any]]]:
    inds = view["indicators"]
    level = f" — {LEVEL_VI.get(view['level'], view['level'])}" if view.get("level") else ""
    title = (f"TỔNG HỢP KẾT QUẢ ÁP DỤNG ISO 9001 NĂM {view['year']}"
             f"{' (cộng theo tỉnh hiện nay)' if view['rollup'] else ''}{level}")
    headers = ["Mã tỉnh", "Tỉnh, thành phố", "Tình trạng báo cáo", "Nguồn số liệu"] + [i["label_vi"] for i in inds]
    rows = []
    for p in view["provinces"]:
        rows.append([_cell(p["code"]), _cell(p["name"]), STATE_VI.get(p["report_state"], p["report_state"]),
                     SOURCE_VI.get(p["source"], p["source"])]
                    + [p["figures"].get(i["module"], {}).get(i["name"], {}).get("value", 0) for i in inds])
    rows.append(["", "Tổng cộng toàn quốc", "", ""]
                + [view["totals"].get(i["module"], {}).get(i["name"], {}).get("value", 0) for i in inds])
    return title, headers, rows


def dashboard_csv(view: dict[str, Any]) -> bytes:
    title, headers, rows = dashboard_table(view)
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow([title])
    writer.writerow(headers)
    writer.writerows(rows)
    return ("\ufeff" + buf.getvalue()).encode("utf-8")  # the BOM: spreadsheet programs read it as UTF-8


def dashboard_xlsx(view: dict[str, Any]) -> bytes:
    title, headers, rows = dashboard_table(view)
    return xlsx_bytes(title, headers, rows, sheet=f"Tổng hợp {view['year']}")


# ------------------------------------------------------------------------------------------ the report


def report_rows(report: dict[str, Any]) -> tuple[list[str], list[list[Any]]]:
    levels = levels_of(report["sections"])
    headers = ["Mục", "Chỉ tiêu", "Đơn vị tính", "Tổng số"] + [LEVEL_VI[lvl] for lvl in levels]
    rows = []
    for i, sec in enumerate(report["sections"], start=1):
        rows.append([f"{i}. {sec['title_vi']}", "", "", ""] + [""] * len(levels))
        for item in sec["items"]:
            rows.append(["", _cell(item["label_vi"] or item["name"]), item["unit"], item["value"]]
                        + [item["breakdown"].get(lvl, 0) for lvl in levels])
    return headers, rows


def report_title(report: dict[str, Any]) -> str:
    return f"BÁO CÁO KẾT QUẢ XÂY DỰNG, ÁP DỤNG, DUY TRÌ VÀ CẢI TIẾN HỆ THỐNG QUẢN LÝ CHẤT LƯỢNG NĂM {report['year']}"


def report_xlsx(report: dict[str, Any]) -> bytes:
    headers, rows = report_rows(report)
    title = f"{report_title(report)} — {report['province']['name']} ({STATE_VI[report['state']]})"
    return xlsx_bytes(title, headers, rows, sheet=f"Báo cáo {report['year']}")


def report_docx(report: dict[str, Any], issued_on: date) -> bytes:
    from docx import Document
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Pt

    doc = Document()
    style = doc.styles["Normal"]
    style.font.name = "Times New Roman"
    style.font.size = Pt(13)

    def para(target: Any, text: str, *, bold: bool = False, italic: bool = False, center: bool = True,
             first: bool = False) -> Any:
        p = target.paragraphs[0] if first else target.add_paragraph()
        run = p.add_run(_XML_ILLEGAL.sub("", text))
        run.bold, run.italic = bold, italic
        if center:
            p.alignment = WD_ALIGN_PARAGRAPH.CENTER
        return p

    province = report["province"]["name"]
    head = doc.add_table(rows=2, cols=2)
    para(head.cell(0, 0), f"ỦY BAN NHÂN DÂN {province.upper()}", bold=True, first=True)
    para(head.cell(0, 1), QUOC_HIEU, bold=True, first=True)
    para(head.cell(0, 1), TIEU_NGU, bold=True)
    para(head.cell(1, 0), f"Số: {report['number'] or '      /BC-UBND'}", first=True)
    place = report["place"] or province.removeprefix("Tỉnh ").removeprefix("Thành phố ")
    para(head.cell(1, 1), f"{place}, {vi_date(issued_on)}", italic=True, first=True)
    para(doc, "BÁO CÁO", bold=True)
    para(doc, report_title(report)[len("BÁO CÁO "):].capitalize(), bold=True)
    if report["snapshot"]:
        para(doc, f"(Số liệu gửi lần {report['snapshot']['version']}; mã kiểm tra SHA-256: "
                  f"{report['snapshot']['sha256']})", italic=True)
    para(doc, "I. SỐ LIỆU THEO CẤP CƠ QUAN", bold=True, center=False)
    headers, rows = report_rows(report)
    table = doc.add_table(rows=1, cols=len(headers))
    table.style = "Table Grid"
    for col, text in enumerate(headers):
        para(table.rows[0].cells[col], text, bold=True, first=True)
    for values in rows:
        cells = table.add_row().cells
        for col, value in enumerate(values):
            para(cells[col], str(value), center=col >= 2, bold=col == 0 and bool(value), first=True)
    para(doc, "II. ĐÁNH GIÁ CHUNG", bold=True, center=False)
    for heading, key in (("1. Kết quả đạt được", "results"), ("2. Tồn tại, hạn chế", "issues"),
                         ("3. Kiến nghị, đề xuất", "proposals")):
        para(doc, heading, bold=True, center=False)
        para(doc, report["assessment"][key] or "(không có)", center=False)
    sign = doc.add_table(rows=1, cols=2)
    para(sign.cell(0, 0), "Nơi nhận:", bold=True, italic=True, center=False, first=True)
    para(sign.cell(0, 0), "- Bộ Khoa học và Công nghệ;", center=False)
    para(sign.cell(0, 0), "- Lưu: VT.", center=False)
    para(sign.cell(0, 1), "TM. ỦY BAN NHÂN DÂN", bold=True, first=True)
    para(sign.cell(0, 1), "CHỦ TỊCH", bold=True)
    buf = io.BytesIO()
    doc.save(buf)
    return buf.getvalue()
