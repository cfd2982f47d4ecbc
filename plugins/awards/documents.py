"""Documents of the awards module, in Vietnamese: the decision's annex ("Danh sách tập thể, cá nhân được tặng …")
as DOCX (state form: issuer, Quốc hiệu and Tiêu ngữ, số/ký hiệu, địa danh and date, title, lists, signature) and
XLSX, and the award history as XLSX and CSV.

Text that a spreadsheet would take for a formula is prefixed with an apostrophe; characters XML cannot hold are
dropped (XLSX and DOCX are XML).
"""

from __future__ import annotations

import csv
import io
import re
from datetime import date
from typing import Any, Sequence

from plugins.awards.schemas import HistoryRow

QUOC_HIEU = "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"
TIEU_NGU = "Độc lập - Tự do - Hạnh phúc"
_XML_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
LEVEL_VI = {"department": "Cấp sở, ngành, cơ sở", "province": "Cấp tỉnh", "ministry": "Cấp bộ, ngành trung ương",
            "national": "Cấp Nhà nước"}
SUBJECT_VI = {"collective": "Tập thể", "individual": "Cá nhân"}


def _xml(value: str) -> str:
    return _XML_ILLEGAL.sub(lambda m: " " if m.group() in "\x0b\x0c" else "", value)


def _safe(value: str) -> str:
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def _cell(value: Any) -> Any:
    return _safe(_xml(value)) if isinstance(value, str) else value


def vi_date(day: date) -> str:
    return f"ngày {day.day:02d} tháng {day.month:02d} năm {day.year}"


def annex_title(form_name: str, collectives: int, individuals: int) -> str:
    who = "TẬP THỂ, CÁ NHÂN" if collectives and individuals else ("TẬP THỂ" if collectives else "CÁ NHÂN")
    return f"DANH SÁCH {who} ĐƯỢC TẶNG {form_name.upper()}"


def _parts(decision: Any) -> tuple[list[Any], list[Any]]:
    collectives = [a for a in decision.awardees if a.subject == "collective"]
    individuals = [a for a in decision.awardees if a.subject == "individual"]
    return collectives, individuals


def _subtitle(decision: Any) -> str:
    return (f"(Kèm theo Quyết định số {decision.number} ngày {decision.decided_on.strftime('%d/%m/%Y')} "
            f"của {decision.signer_title.capitalize() if decision.signer_title.isupper() else decision.signer_title} "
            f"{decision.issuer})")


def annex_docx(decision: Any, place: str) -> bytes:
    from docx import Document
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Pt

    doc = Document()
    style = doc.styles["Normal"]
    style.font.name = "Times New Roman"
    style.font.size = Pt(13)

    def para(cell_or_doc: Any, text: str, *, bold: bool = False, italic: bool = False, center: bool = True,
             size: int | None = None, first: bool = False) -> Any:
        p = cell_or_doc.paragraphs[0] if first else cell_or_doc.add_paragraph()
        run = p.add_run(_xml(text))
        run.bold, run.italic = bold, italic
        if size:
            run.font.size = Pt(size)
        if center:
            p.alignment = WD_ALIGN_PARAGRAPH.CENTER
        return p

    header = doc.add_table(rows=2, cols=2)
    left, right = header.cell(0, 0), header.cell(0, 1)
    para(left, decision.issuer.upper(), bold=True, first=True)
    para(left, "–––––––")
    para(right, QUOC_HIEU, bold=True, size=12, first=True)
    para(right, TIEU_NGU, bold=True)
    para(right, "–––––––––––––––––––")
    para(header.cell(1, 0), f"Số: {decision.number}", first=True)
    para(header.cell(1, 1), f"{place}, {vi_date(decision.decided_on)}", italic=True, first=True)
    if decision.status != "issued":
        para(doc, "DỰ THẢO", bold=True)
    collectives, individuals = _parts(decision)
    para(doc, annex_title(decision.form_name, len(collectives), len(individuals)), bold=True)
    para(doc, _subtitle(decision), italic=True)
    sections = []
    if collectives:
        sections.append(("TẬP THỂ", collectives, ["STT", "Tên tập thể", "Thành tích"],
                         lambda a: [a.awardee_name, a.achievement]))
    if individuals:
        sections.append(("CÁ NHÂN", individuals, ["STT", "Họ và tên", "Chức vụ, đơn vị công tác", "Thành tích"],
                         lambda a: [a.awardee_name, ", ".join(x for x in (a.position, a.agency_name) if x),
                                    a.achievement]))
    for number, (label, items, heads, cells) in enumerate(sections, start=1):
        para(doc, f"{'I' * number if number < 4 else number}. {label} ({len(items)})", bold=True, center=False)
        table = doc.add_table(rows=1, cols=len(heads))
        table.style = "Table Grid"
        for i, h in enumerate(heads):
            table.rows[0].cells[i].text = h
            table.rows[0].cells[i].paragraphs[0].runs[0].bold = True
        for i, a in enumerate(items, start=1):
            row = table.add_row().cells
            for j, value in enumerate([str(i), *cells(a)]):
                row[j].text = _xml(value)
    para(doc, f"Danh sách có {len(collectives)} tập thể và {len(individuals)} cá nhân.", italic=True, center=False)
    sign = doc.add_table(rows=1, cols=2)
    cell = sign.cell(0, 1)
    para(cell, decision.signer_title.upper(), bold=True, first=True)
    para(cell, "")
    para(cell, "")
    para(cell, decision.signer, bold=True)
    doc.core_properties.title = _xml(annex_title(decision.form_name, len(collectives), len(individuals)))[:250]
    doc.core_properties.subject = _xml(f"Quyết định số {decision.number}")[:250]
    buffer = io.BytesIO()
    doc.save(buffer)
    return buffer.getvalue()


ANNEX_HEADERS = ["STT", "Đối tượng", "Tên tập thể / Họ và tên", "Chức vụ", "Đơn vị", "Thành tích"]


def annex_xlsx(decision: Any, place: str) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    wb = Workbook()
    ws = wb.active
    ws.title = "Danh sách"
    collectives, individuals = _parts(decision)
    ws.append([_cell(decision.issuer.upper()), None, None, _cell(QUOC_HIEU)])
    ws.append([None, None, None, TIEU_NGU])
    ws.append([_cell(f"Số: {decision.number}"), None, None, _cell(f"{place}, {vi_date(decision.decided_on)}")])
    ws.append([])
    ws.append([_cell(annex_title(decision.form_name, len(collectives), len(individuals)))])
    ws.append([_cell(_subtitle(decision))])
    if decision.status != "issued":
        ws.append(["DỰ THẢO"])
    ws.append([])
    ws.append(ANNEX_HEADERS)
    head_row = ws.max_row
    for i, a in enumerate([*collectives, *individuals], start=1):
        ws.append([i, SUBJECT_VI[a.subject], _cell(a.awardee_name), _cell(a.position), _cell(a.agency_name),
                   _cell(a.achievement)])
    for cell in (ws["A1"], ws["D1"], ws["D2"], ws["A5"], *ws[head_row]):
        cell.font = Font(bold=True)
    for row in ws.iter_rows(min_row=head_row + 1):
        row[5].alignment = Alignment(wrap_text=True, vertical="top")
    for col, width in zip("ABCDEF", (6, 12, 40, 25, 40, 70)):
        ws.column_dimensions[col].width = width
    wb.properties.title = _cell(annex_title(decision.form_name, len(collectives), len(individuals)))[:200]
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


HISTORY_COLUMNS = [
    ("Năm", lambda r: r.year), ("Đối tượng", lambda r: SUBJECT_VI.get(r.subject, r.subject)),
    ("Tên tập thể / Họ và tên", lambda r: r.awardee_name), ("Chức vụ", lambda r: r.position),
    ("Đơn vị", lambda r: r.agency_name), ("Hình thức khen thưởng", lambda r: r.form_name),
    ("Cấp khen thưởng", lambda r: LEVEL_VI.get(r.level, r.level)), ("Số quyết định", lambda r: r.decision_number),
    ("Ngày quyết định", lambda r: r.awarded_on), ("Thành tích", lambda r: r.achievement),
]


def history_csv(rows: Sequence[HistoryRow]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([h for h, _ in HISTORY_COLUMNS])
    for r in rows:
        values = [get(r) for _, get in HISTORY_COLUMNS]
        writer.writerow([v.strftime("%d/%m/%Y") if isinstance(v, date) else (_safe(v) if isinstance(v, str) else v)
                         for v in values])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def history_xlsx(rows: Sequence[HistoryRow], title: str) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    ws = wb.active
    ws.title = "Khen thưởng"
    ws.append([h for h, _ in HISTORY_COLUMNS])
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for r in rows:
        ws.append([_cell(get(r)) for _, get in HISTORY_COLUMNS])
    for cell in ws["I"][1:]:
        cell.number_format = "DD/MM/YYYY"
    ws.freeze_panes = "A2"
    wb.properties.title = _cell(title)[:200]
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()
