"""Import files as officials have them (Vietnamese headers, Windows-1258 and UTF-16 CSV, the XLSX template) and as
an attacker sends them (zip bombs, a sheet claiming a million rows, giant cells): read off the event loop, refused
early with a 400 naming `file`, never a 500."""

from __future__ import annotations

import io
import threading
import unicodedata
import zipfile
from typing import Any

from openpyxl import Workbook, load_workbook

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def xlsx(rows: list[list[Any]]) -> bytes:
    wb = Workbook()
    ws = wb.active
    for row in rows:
        ws.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def replace_sheet(workbook: bytes, write_sheet: Any) -> bytes:
    """The workbook with sheet1.xml replaced by what `write_sheet(file)` writes (streamed, deflated)."""
    zin, out = zipfile.ZipFile(io.BytesIO(workbook)), io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for item in zin.infolist():
            if item.filename.endswith("worksheets/sheet1.xml"):
                with z.open(item.filename, "w", force_zip64=True) as f:
                    write_sheet(f)
            else:
                z.writestr(item, zin.read(item.filename))
    return out.getvalue()


HEAD = (b'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/'
        b'spreadsheetml/2006/main"><sheetData>')
TAIL = b"</sheetData></worksheet>"


def _cell(ref: str, text: str) -> bytes:
    return f'<c r="{ref}" t="inlineStr"><is><t>{text}</t></is></c>'.encode()


async def post_file(client: Any, t: Any, name: str, content: bytes, dry_run: bool = True) -> Any:
    return await client.post(t.url(f"/agencies/import?dry_run={str(dry_run).lower()}"), headers=t.headers(),
                             files={"file": (name, content, "application/octet-stream")})


async def test_xlsx_bomb_is_refused_before_it_is_parsed(client: Any, make_tenant: Any) -> None:
    """A small upload that unpacks to tens of MB of rows: refused by its unpacked size, not after holding every row."""
    t = await make_tenant()

    def rows(f: Any) -> None:
        f.write(HEAD)
        chunk = (b'<row><c t="inlineStr"><is><t>x</t></is></c></row>') * 10000  # rows without numbers
        for _ in range(130):  # ~1.3 M rows, ~60 MB of XML, under 1 MB packed
            f.write(chunk)
        f.write(TAIL)

    bomb = replace_sheet(xlsx([["code", "name", "level"]]), rows)
    assert len(bomb) < 2 * 1024 * 1024
    r = await post_file(client, t, "bomb.xlsx", bomb)
    assert r.status_code == 400 and r.json()["field"] == "file", r.text
    assert "unpacks" in r.json()["detail"]


async def test_a_sheet_claiming_a_million_blank_rows_is_refused_while_reading(client: Any, make_tenant: Any) -> None:
    """openpyxl pads missing rows: a row numbered 1048576 yields a million empty rows from a tiny file. The row cap
    counts them while reading."""
    t = await make_tenant()

    def rows(f: Any) -> None:
        f.write(HEAD + b'<row r="1">' + _cell("A1", "code") + _cell("B1", "name") + _cell("C1", "level") + b"</row>")
        f.write(b'<row r="2">' + _cell("A2", "A") + _cell("B2", "B") + _cell("C2", "unit") + b"</row>")
        f.write(b'<row r="1048576">' + _cell("A1048576", "Z") + b"</row>" + TAIL)

    r = await post_file(client, t, "tall.xlsx", replace_sheet(xlsx([["code"]]), rows))
    assert r.status_code == 400 and r.json()["field"] == "file", r.text
    assert "at most 20000 rows" in r.json()["detail"]


async def test_oversized_cells_are_refused_naming_the_line(client: Any, make_tenant: Any) -> None:
    t = await make_tenant()
    r = await post_file(client, t, "big.xlsx", xlsx([["code", "name", "level"], ["A", "x" * 5000, "unit"]]))
    assert r.status_code == 400 and "line 2" in r.json()["detail"], r.text
    huge_csv = ('code,name,level\nA,"' + "x" * 200_000 + '",unit\n').encode()
    r = await post_file(client, t, "big.csv", huge_csv)
    assert r.status_code == 400 and r.json()["field"] == "file", r.text


async def test_files_are_parsed_off_the_event_loop(client: Any, make_tenant: Any, monkeypatch: Any) -> None:
    from core import tabular

    t = await make_tenant()
    seen: list[int] = []
    real = tabular._csv_rows

    def spy(content: bytes) -> Any:
        seen.append(threading.get_ident())
        return real(content)

    monkeypatch.setattr(tabular, "_csv_rows", spy)
    r = await post_file(client, t, "a.csv", b"code,name,level\nA,B,unit\n")
    assert r.status_code == 200, r.text
    assert seen and seen[0] != threading.get_ident()


async def test_vietnamese_headers_and_levels(client: Any, make_tenant: Any) -> None:
    t = await make_tenant()
    text = ("Mã,Tên cơ quan,Cấp,Mã đơn vị cấp trên,Bắt buộc,Hiệu lực từ\n"
            "VN1,Sở Nội vụ,Sở,P,Có,01/07/2025\n"
            "VN2,Phòng Tổ chức,phòng,VN1,không,\n"
            "VN3,UBND phường Đông Kinh,Xã,P,,\n")
    r = await post_file(client, t, "co-quan.csv", text.encode(), dry_run=False)
    assert r.status_code == 200 and r.json()["created"] == 3, r.text
    items = {a["code"]: a for a in (await client.get(t.url("/agencies?limit=50"), headers=t.headers())).json()["items"]}
    assert (items["VN1"]["level"], items["VN1"]["required"], items["VN1"]["valid_from"]) == \
        ("department", True, "2025-07-01")
    assert items["VN2"]["level"] == "office" and items["VN2"]["parent_id"] == items["VN1"]["id"]
    assert items["VN3"]["level"] == "commune"
    r = await post_file(client, t, "x.csv", "Mã,Tên\nA,B\n".encode())
    assert r.status_code == 400 and "Cấp" in r.json()["detail"], r.text


async def test_csv_as_excel_saves_it_windows_1258_and_utf16(client: Any, make_tenant: Any) -> None:
    t = await make_tenant()
    # Windows-1258 has the vowels ă â ê ô ơ ư precomposed and the five tones as combining marks after them
    name = "Sở Giáo dục và Đào tạo"
    content = _cp1258("code,name,level\nW1," + name + ",department\n")
    r = await post_file(client, t, "w.csv", content, dry_run=False)
    assert r.status_code == 200 and r.json()["created"] == 1, r.text
    utf16 = "code\tname\tlevel\nU1\tSở Tư pháp tỉnh\tdepartment\n".encode("utf-16")  # Excel's "Unicode Text"
    r = await post_file(client, t, "u.csv", utf16, dry_run=False)
    assert r.status_code == 200 and r.json()["created"] == 1, r.text
    found = {a["code"]: a["name"] for a in
             (await client.get(t.url("/agencies?limit=50"), headers=t.headers())).json()["items"]}
    assert found["W1"] == name and found["U1"] == "Sở Tư pháp tỉnh"
    r = await post_file(client, t, "bad.csv", b"code,name,level\nA,\xff\xfe\x81,unit\n")
    assert r.status_code == 400 and "UTF-8" in r.json()["detail"], r.text


TONES = "\u0300\u0301\u0303\u0309\u0323"


def _cp1258(text: str) -> bytes:
    out = bytearray()
    for ch in text:
        try:
            out += ch.encode("cp1258")
        except UnicodeEncodeError:
            nfd = unicodedata.normalize("NFD", ch)
            base = unicodedata.normalize("NFC", "".join(c for c in nfd if c not in TONES))
            out += (base + "".join(c for c in nfd if c in TONES)).encode("cp1258")
    return bytes(out)


async def test_template_downloads_and_its_example_imports(client: Any, make_tenant: Any) -> None:
    t = await make_tenant()
    r = await client.get(t.url("/agencies/import/template.xlsx"), headers=t.headers())
    assert r.status_code == 200 and r.headers["content-type"].startswith(XLSX), r.text
    sheet = load_workbook(io.BytesIO(r.content)).active
    assert [c.value for c in sheet[1]][:3] == ["Mã", "Tên cơ quan", "Cấp"]
    r2 = await post_file(client, t, "mau.xlsx", r.content)
    assert r2.status_code == 200 and r2.json()["valid"] is True and r2.json()["rows"] == 1, r2.text
    r = await client.get(t.url("/agencies/import/template.xlsx"), headers=t.headers("viewer"))
    assert r.status_code == 403
