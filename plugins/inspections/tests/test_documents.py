"""Mẫu 19/20/21 and the Art. 38 summary, generated and parsed back."""

from __future__ import annotations

import io
from typing import Any

from docx import Document
from openpyxl import load_workbook

from plugins.inspections import demo


def text_of(content: bytes) -> str:
    doc = Document(io.BytesIO(content))
    parts = [p.text for p in doc.paragraphs]
    for table in doc.tables:
        for row in table.rows:
            parts += [c.text for c in row.cells]
    return "\n".join(parts)


async def fetch(api: Any, path: str, media: str) -> bytes:
    r = await api.get(path)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith(media) and "attachment" in r.headers["content-disposition"]
    return r.content


async def test_official_forms_carry_the_state_header_and_the_data(api: Any, tenant: Any) -> None:
    await demo.seed(await tenant.ctx(), dict(tenant.agencies))
    plan = (await api.ok("get", "/plans?year=2024"))["items"][0]
    text = text_of(await fetch(api, f"/plans/{plan['id']}/document.docx", "application/vnd.openxmlformats"))
    assert "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in text and "Độc lập - Tự do - Hạnh phúc" in text
    assert "Số: 329/QĐ-UBND" in text and "ngày 16 tháng 02 năm 2024" in text and "KẾ HOẠCH KIỂM TRA" in text
    assert "Sở Giao thông Vận tải" in text and "Tại chỗ" in text and "Hồ sơ, tài liệu" in text
    assert "Thử Nghiệm" in text  # địa danh from the province name
    team = (await api.ok("get", "/teams?year=2024"))["items"][0]
    text = text_of(await fetch(api, f"/teams/{team['id']}/decision.docx", "application/vnd.openxmlformats"))
    assert "Số: 02/QĐ-BCĐISO" in text and "ngày 07 tháng 03 năm 2024" in text and "QUYẾT ĐỊNH" in text
    assert "Trần Quốc Anh" in text and "Trưởng đoàn" in text and "ngày 02/04/2024" in text
    [record] = (await api.ok("get", f"/records?year=2024&status=signed&agency_id={api.agency('D1')}"))["items"]
    text = text_of(await fetch(api, f"/records/{record['id']}/document.docx", "application/vnd.openxmlformats"))
    assert "BIÊN BẢN KIỂM TRA" in text and "Số: 01/BB-ĐKT" in text and "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in text
    assert "02/QĐ-BCĐISO" in text and record["findings"][0]["text"] in text
    assert "TRƯỞNG ĐOÀN KIỂM TRA" in text and "trước ngày 02/06/2024" in text
    assert "Theo Quyết định 19/2014/QĐ-TTg" in text


async def test_summary_as_xlsx_and_docx(api: Any, tenant: Any) -> None:
    await demo.seed(await tenant.ctx(), dict(tenant.agencies))
    wb = load_workbook(io.BytesIO(await fetch(api, "/summary/2024/report.xlsx", "application/vnd.openxmlformats")))
    rows = list(wb["Theo cơ quan"].iter_rows(values_only=True))
    assert rows[1][2] == "Cơ quan" and [r[1] for r in rows[2:]] == ["D1", "D2", "P"]
    d1 = rows[2]
    assert d1[4] == "Tại chỗ" and d1[5] == "02/04/2024" and d1[7] == 2 and d1[8] == 2 and d1[10] == 1
    levels = {r[0]: r for r in wb["Theo cấp"].iter_rows(values_only=True)}
    assert levels["Sở, ban, ngành"][2] == 2 and levels["Cấp tỉnh"][1] == 1
    items = dict(list(wb["Theo nội dung"].iter_rows(values_only=True))[1:])
    assert items == {"QD4": 1, "QD5": 1, "TC2": 1, "TC5": 1}
    text = text_of(await fetch(api, "/summary/2024/report.docx", "application/vnd.openxmlformats"))
    assert "BÁO CÁO" in text and "năm 2024" in text and "Điều 38" in text and "Sở Tư pháp" in text
    empty = await api.ok("get", "/summary/2023")
    assert empty["rows"] == [] and empty["totals"] == {}
