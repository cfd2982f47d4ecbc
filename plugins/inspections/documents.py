"""Official documents: Mẫu 19 (plan), Mẫu 20 (team decision), Mẫu 21 (record) and the Art. 38 summary as DOCX
with the state header, and the summary as XLSX. Filled from the data; nothing here writes."""

from __future__ import annotations

import io
from datetime import date
from typing import Any

from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.shared import Pt

from plugins.inspections.checklist import ANSWERS_VI, GROUPS_VI
from plugins.inspections.fieldwork import ROLES_VI

QUOC_HIEU = "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"
TIEU_NGU = "Độc lập - Tự do - Hạnh phúc"
FORMS = {"on_site": "Tại chỗ", "documents": "Hồ sơ, tài liệu"}
LEVELS_VI = {"province": "Cấp tỉnh", "department": "Sở, ban, ngành", "district": "Cấp huyện",
             "office": "Phòng chuyên môn", "commune": "Cấp xã", "unit": "Đơn vị trực thuộc"}
RESULTS_VI = {"conforming": "Phù hợp", "minor_nonconformities": "Có điểm không phù hợp nhẹ",
              "major_nonconformities": "Có điểm không phù hợp nặng", None: ""}


def province(tenant_name: str) -> str:
    for prefix in ("Tỉnh ", "tỉnh ", "Thành phố ", "thành phố "):
        tenant_name = tenant_name.removeprefix(prefix)
    return tenant_name


def date_line(place: str, day: date | None) -> str:
    if day is None:
        return f"{place}, ngày … tháng … năm …"
    return f"{place}, ngày {day.day:02d} tháng {day.month:02d} năm {day.year}"


def _doc() -> Any:
    doc = Document()
    style = doc.styles["Normal"]
    style.font.name = "Times New Roman"
    style.font.size = Pt(13)
    return doc


def _cell(cell: Any, lines: list[tuple[str, bool, bool]]) -> None:
    cell.paragraphs[0].text = ""
    for i, (text, bold, italic) in enumerate(lines):
        p = cell.paragraphs[0] if i == 0 else cell.add_paragraph()
        p.alignment = WD_ALIGN_PARAGRAPH.CENTER
        run = p.add_run(text)
        run.bold, run.italic = bold, italic


def header(doc: Any, parent: str, agency: str, number: str, place: str, day: date | None) -> None:
    """The state header: issuing body and số/ký hiệu on the left, Quốc hiệu, tiêu ngữ, địa danh, ngày on the right."""
    table = doc.add_table(rows=1, cols=2)
    left = [(parent.upper(), False, False)] if parent else []
    _cell(table.cell(0, 0), [*left, (agency.upper(), True, False), (f"Số: {number}", False, False)])
    _cell(table.cell(0, 1), [(QUOC_HIEU, True, False), (TIEU_NGU, True, False), (date_line(place, day), False, True)])


def _title(doc: Any, *lines: str) -> None:
    for i, text in enumerate(lines):
        p = doc.add_paragraph()
        p.alignment = WD_ALIGN_PARAGRAPH.CENTER
        run = p.add_run(text)
        run.bold = i == 0


def _table(doc: Any, head: list[str], rows: list[list[Any]]) -> None:
    table = doc.add_table(rows=1, cols=len(head))
    table.style = "Table Grid"
    for i, text in enumerate(head):
        table.rows[0].cells[i].text = text
        for run in table.rows[0].cells[i].paragraphs[0].runs:
            run.bold = True
    for row in rows:
        cells = table.add_row().cells
        for i, value in enumerate(row):
            cells[i].text = "" if value is None else str(value)


def _signature(doc: Any, left: tuple[str, str] | None, right: tuple[str, str]) -> None:
    table = doc.add_table(rows=1, cols=2)
    if left:
        _cell(table.cell(0, 0), [(left[0], True, False), ("(Ký, ghi rõ họ tên)", False, True), ("", False, False),
                                 (left[1], True, False)])
    _cell(table.cell(0, 1), [(right[0], True, False), ("(Ký, ghi rõ họ tên)", False, True), ("", False, False),
                             (right[1], True, False)])


def _bytes(doc: Any) -> bytes:
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()


def vnd(n: int) -> str:
    return f"{n:,}".replace(",", ".")


def plan_docx(tenant_name: str, plan: Any) -> bytes:
    """Mẫu 19 KHKT."""
    place = province(tenant_name)
    doc = _doc()
    header(doc, "", f"Ủy ban nhân dân tỉnh {place}", plan.decision_number or "…/KH-UBND", place, plan.decision_date)
    _title(doc, "KẾ HOẠCH KIỂM TRA", plan.title,
           f"(Ban hành kèm theo Quyết định số {plan.decision_number} ngày {plan.decision_date:%d/%m/%Y})"
           if plan.decision_number and plan.decision_date else "(Dự thảo)")
    doc.add_paragraph("Căn cứ Quyết định số 19/2014/QĐ-TTg ngày 05/3/2014 của Thủ tướng Chính phủ và Thông tư số "
                      "26/2014/TT-BKHCN ngày 10/10/2014 của Bộ trưởng Bộ Khoa học và Công nghệ.")
    doc.add_paragraph(f"Lần ban hành: {plan.revision}. Tỷ lệ kiểm tra tại chỗ tối thiểu: {plan.on_site_share} số cơ "
                      "quan thuộc đối tượng bắt buộc áp dụng.")
    rows = []
    for i, line in enumerate(plan.lines, 1):
        when = (f"{line.expected_from:%d/%m/%Y}" if line.expected_from else
                f"Tháng {line.expected_month}" if line.expected_month else "")
        rows.append([i, line.agency_name, FORMS[line.form], line.inspecting_unit, ", ".join(line.cooperating_units),
                     when, vnd(line.budget_vnd)])
    _table(doc, ["TT", "Cơ quan được kiểm tra", "Hình thức", "Đơn vị chủ trì", "Đơn vị phối hợp",
                 "Thời gian dự kiến", "Kinh phí (đồng)"], rows)
    doc.add_paragraph(f"Tổng kinh phí: {vnd(sum(l.budget_vnd for l in plan.lines))} đồng.")
    _signature(doc, None, ("TM. ỦY BAN NHÂN DÂN", plan.decision_signer or ""))
    return _bytes(doc)


def team_docx(tenant_name: str, team: Any, visits: list[Any]) -> bytes:
    """Mẫu 20 QĐKT."""
    place = province(tenant_name)
    doc = _doc()
    header(doc, f"Ủy ban nhân dân tỉnh {place}", team.issuer, team.decision_number, place, team.decision_date)
    _title(doc, "QUYẾT ĐỊNH", team.title)
    doc.add_paragraph("Căn cứ Thông tư số 26/2014/TT-BKHCN ngày 10/10/2014 của Bộ trưởng Bộ Khoa học và Công nghệ; "
                      "căn cứ Kế hoạch kiểm tra đã được phê duyệt;")
    doc.add_paragraph("QUYẾT ĐỊNH:").alignment = WD_ALIGN_PARAGRAPH.CENTER
    doc.add_paragraph("Điều 1. Thành lập Đoàn kiểm tra gồm các ông (bà) có tên sau:")
    _table(doc, ["TT", "Họ và tên", "Chức vụ", "Đơn vị công tác", "Nhiệm vụ trong Đoàn"],
           [[i, m.full_name, m.position, m.agency_name, ROLES_VI.get(m.role, m.role)]
            for i, m in enumerate(team.members, 1)])
    doc.add_paragraph("Điều 2. Đoàn kiểm tra tiến hành kiểm tra việc áp dụng HTQLCL tại các cơ quan:")
    for v in visits:
        doc.add_paragraph(f"- {v.agency_name}: ngày {v.scheduled_on:%d/%m/%Y} ({FORMS[v.form].lower()})")
    doc.add_paragraph("Điều 3. Đoàn kiểm tra tự giải thể sau khi hoàn thành nhiệm vụ. Các cơ quan có liên quan và các "
                      "ông (bà) có tên tại Điều 1 chịu trách nhiệm thi hành Quyết định này.")
    _signature(doc, None, (team.issuer.upper(), team.signer))
    return _bytes(doc)


def record_docx(tenant_name: str, record: Any, team: Any | None) -> bytes:
    """Mẫu 21 BBKT."""
    place = province(tenant_name)
    doc = _doc()
    header(doc, team.issuer if team else "", "Đoàn kiểm tra", record.number or "…/BB-ĐKT", place, record.signed_on)
    _title(doc, "BIÊN BẢN KIỂM TRA", "Việc áp dụng Hệ thống quản lý chất lượng theo TCVN ISO 9001")
    basis = f" theo Quyết định số {team.decision_number} ngày {team.decision_date:%d/%m/%Y}" if team else ""
    doc.add_paragraph(f"Hôm nay, ngày {record.inspected_on:%d/%m/%Y}, tại {record.agency_name}, Đoàn kiểm tra"
                      f"{basis} đã tiến hành kiểm tra ({FORMS[record.form].lower()}).")
    if team:
        doc.add_paragraph("I. Thành phần Đoàn kiểm tra")
        for m in team.members:
            doc.add_paragraph(f"- {m.full_name}, {m.position}, {ROLES_VI.get(m.role, m.role)}")
    doc.add_paragraph("II. Nội dung và kết quả kiểm tra")
    rows = [[i, f"{GROUPS_VI[item['group']]}: {item['text']}", ANSWERS_VI.get(item["answer"], ""), item["note"] or ""]
            for i, item in enumerate(record.checklist, 1)]
    _table(doc, ["TT", "Nội dung kiểm tra", "Kết quả", "Ghi chú"], rows)
    doc.add_paragraph("III. Vấn đề tồn tại")
    if not record.findings:
        doc.add_paragraph("Không có.")
    for i, f in enumerate(record.findings, 1):
        doc.add_paragraph(f"{i}. [{f.item_code}] {f.text}")
    doc.add_paragraph("IV. Kết luận và kiến nghị")
    doc.add_paragraph(record.conclusion or RESULTS_VI[record.result])
    due = next((f.due_on for f in record.findings if f.due_on), None)
    if due:
        doc.add_paragraph(f"Cơ quan được kiểm tra khắc phục các vấn đề tồn tại và báo cáo kết quả trước ngày "
                          f"{due:%d/%m/%Y}.")
    _signature(doc, ("ĐẠI DIỆN CƠ QUAN ĐƯỢC KIỂM TRA", record.agency_signer or ""),
               ("TRƯỞNG ĐOÀN KIỂM TRA", record.head_signer or ""))
    return _bytes(doc)


SUMMARY_HEAD = ["TT", "Mã", "Cơ quan", "Cấp", "Hình thức", "Ngày kiểm tra", "Kết quả", "Số tồn tại",
                "Khắc phục đúng hạn", "Chậm / quá hạn", "Không được chấp nhận", "Đã đóng"]


def _summary_rows(summary: dict[str, Any]) -> list[list[Any]]:
    return [[i, r["agency_code"], r["agency_name"], LEVELS_VI.get(r["level"], r["level"]), FORMS[r["form"]],
             r["inspected_on"].strftime("%d/%m/%Y"), RESULTS_VI[r["result"]], r["findings"], r["on_time"], r["late"],
             r["not_accepted"], r["closed"]] for i, r in enumerate(summary["rows"], 1)]


def _level_rows(summary: dict[str, Any]) -> list[list[Any]]:
    return [[LEVELS_VI.get(lv, lv), c.get("documents", 0), c.get("on_site", 0), c.get("findings", 0),
             c.get("on_time", 0), c.get("late", 0), c.get("not_accepted", 0)] for lv, c in summary["by_level"].items()]


LEVEL_HEAD = ["Cấp", "Kiểm tra hồ sơ", "Kiểm tra tại chỗ", "Số tồn tại", "Khắc phục đúng hạn", "Chậm / quá hạn",
              "Không được chấp nhận"]


def summary_docx(tenant_name: str, summary: dict[str, Any], today: date) -> bytes:
    place = province(tenant_name)
    doc = _doc()
    header(doc, f"Ủy ban nhân dân tỉnh {place}", "Sở Khoa học và Công nghệ", f"…/BC-SKHCN", place, today)
    _title(doc, "BÁO CÁO", f"Kết quả kiểm tra việc áp dụng HTQLCL theo TCVN ISO 9001 năm {summary['year']}",
           "(Điều 38 Thông tư 26/2014/TT-BKHCN)")
    doc.add_paragraph(f"Số cơ quan thuộc đối tượng bắt buộc áp dụng: {summary['required']}.")
    doc.add_paragraph("1. Kết quả theo cấp")
    _table(doc, LEVEL_HEAD, _level_rows(summary))
    doc.add_paragraph("2. Vấn đề tồn tại theo nội dung kiểm tra")
    _table(doc, ["Mục", "Số tồn tại"], [[k, v] for k, v in summary["by_item"].items()])
    doc.add_paragraph("3. Kết quả theo cơ quan")
    _table(doc, SUMMARY_HEAD, _summary_rows(summary))
    _signature(doc, None, ("GIÁM ĐỐC", ""))
    return _bytes(doc)


def summary_xlsx(tenant_name: str, summary: dict[str, Any]) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    ws = wb.active
    ws.title = "Theo cơ quan"
    ws.append([f"Kết quả kiểm tra HTQLCL năm {summary['year']} - {tenant_name}"])
    ws["A1"].font = Font(bold=True)
    ws.append(SUMMARY_HEAD)
    for row in _summary_rows(summary):
        ws.append(row)
    levels = wb.create_sheet("Theo cấp")
    levels.append(LEVEL_HEAD)
    for row in _level_rows(summary):
        levels.append(row)
    items = wb.create_sheet("Theo nội dung")
    items.append(["Mục", "Số tồn tại"])
    for k, v in summary["by_item"].items():
        items.append([k, v])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
