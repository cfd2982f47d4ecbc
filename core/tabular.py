"""Reading the CSV and XLSX files officials upload (agencies, people, ...) safely, and writing XLSX for them.

`read_table` is the one row reader every import shares. A file is untrusted input that must not stop the
service: it runs in a worker thread (`read_table_async`, at most two at a time), an XLSX workbook is refused
before parsing when its parts would unpack beyond `MAX_UNPACKED_BYTES`, rows are streamed (openpyxl read-only)
with the row cap checked while reading (blank rows count too, so a sheet claiming a million empty rows is
refused early), columns beyond `MAX_COLUMNS` are not read, and a cell longer than `MAX_CELL_CHARS` is refused
with its line. CSV files are read as Excel saves them: UTF-8 (with or without BOM), UTF-16 ("Unicode Text") or
Windows-1258 (the Vietnamese ANSI code page), detected; anything else is refused with a message that says how
to save the file as UTF-8. Headers match the column names in English or their Vietnamese labels, with or
without diacritics ("Mã", "Tên cơ quan", "ma don vi cap tren").
"""

from __future__ import annotations

import csv
import io
import unicodedata
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Iterable, Iterator, Sequence

import anyio

from core.errors import BadRequest
from core.text import fold

MAX_UNPACKED_BYTES = 48 * 1024 * 1024  # all parts of a workbook, unpacked (a 10 MiB upload of real data is far below)
MAX_CELL_CHARS = 2000
MAX_COLUMNS = 64
MAX_BLANK_ROWS = 1000  # blank rows tolerated beyond the row cap (Excel keeps formatted empty rows)

_limiter: anyio.CapacityLimiter | None = None

SAVE_AS_UTF8 = ("save it from Excel with File → Save As → \"CSV UTF-8 (Comma delimited) (*.csv)\" "
                "(Lưu thành \"CSV UTF-8\"), or upload the XLSX workbook itself")


@dataclass
class Row:
    line: int
    values: dict[str, Any]
    parsed: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Columns:
    """What an import reads: its columns (canonical English names), which are required, and the header labels
    (Vietnamese or other) that mean each column. Labels are compared folded (no diacritics, lower case,
    spaces and underscores alike)."""

    names: tuple[str, ...]
    required: tuple[str, ...]
    labels: dict[str, tuple[str, ...]] = field(default_factory=dict)  # column -> labels, first is the template's

    def lookup(self) -> dict[str, str]:
        table = {_key(name): name for name in self.names}
        for name, labels in self.labels.items():
            for label in labels:
                table[_key(label)] = name
        return table

    def label(self, name: str) -> str:
        return (self.labels.get(name) or (name,))[0]


def _key(header: Any) -> str:
    return fold(str(header or "")).replace("_", " ").replace("-", " ").replace("  ", " ").strip()


# --- XLSX -------------------------------------------------------------------------------------------------------

def _check_zip(content: bytes) -> None:
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise BadRequest("the file is not a readable XLSX workbook", field="file") from exc
    unpacked = sum(m.file_size for m in members)
    if unpacked > MAX_UNPACKED_BYTES or len(members) > 10000:
        raise BadRequest(f"the workbook unpacks to {unpacked // (1024 * 1024)} MB, more than the "
                         f"{MAX_UNPACKED_BYTES // (1024 * 1024)} MB an import reads; split it into smaller files",
                         field="file")


def _xlsx_rows(content: bytes) -> Iterator[tuple[int, Sequence[Any]]]:
    from openpyxl import load_workbook

    _check_zip(content)
    try:
        wb = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception as exc:
        raise BadRequest("the file is not a readable XLSX workbook", field="file") from exc
    try:
        sheet = wb.worksheets[0]
        sheet.reset_dimensions()  # do not trust the sheet's claimed size: no padding to it
        rows = sheet.iter_rows(values_only=True, max_col=MAX_COLUMNS)
        line = 0
        while True:
            try:
                cells = next(rows)
            except StopIteration:
                return
            except Exception as exc:  # a damaged sheet fails while its rows are read
                raise BadRequest(f"the XLSX workbook cannot be read after line {line}", field="file") from exc
            line += 1
            yield line, cells
    finally:
        wb.close()


# --- CSV --------------------------------------------------------------------------------------------------------

_VIETNAMESE = set("ăâđêôơưĂÂĐÊÔƠƯ") | {"\u0300", "\u0301", "\u0303", "\u0309", "\u0323"}


def decode_text(content: bytes) -> str:
    """The text of a CSV file as Excel saves it, or a 400 that says how to save it as UTF-8."""
    if content.startswith(b"\xef\xbb\xbf"):
        encoding = "utf-8-sig"
    elif content.startswith((b"\xff\xfe", b"\xfe\xff")):
        encoding = "utf-16"
    elif len(content) >= 4 and content[1:4:2] == b"\x00\x00" and content[0:4:2] != b"\x00\x00":
        encoding = "utf-16-le"
    elif len(content) >= 4 and content[0:4:2] == b"\x00\x00" and content[1:4:2] != b"\x00\x00":
        encoding = "utf-16-be"
    else:
        encoding = "utf-8"
    try:
        text = content.decode(encoding)
    except UnicodeDecodeError as exc:
        if encoding != "utf-8":
            raise BadRequest(f"the CSV file is not valid {encoding.upper()} (byte {exc.start}); {SAVE_AS_UTF8}",
                             field="file") from exc
        try:  # Excel's "CSV (Comma delimited)" on a Vietnamese Windows: code page 1258, tones as combining marks
            text = content.decode("cp1258")
        except UnicodeDecodeError:
            text = ""
        if not text or not any(ch in _VIETNAMESE for ch in text):
            raise BadRequest(f"the CSV file is not UTF-8 (byte {exc.start}) and not Vietnamese Windows-1258 text; "
                             f"{SAVE_AS_UTF8}", field="file") from exc
    return unicodedata.normalize("NFC", text)


def _csv_rows(content: bytes) -> Iterator[tuple[int, Sequence[Any]]]:
    text = decode_text(content)
    try:
        dialect: Any = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text), dialect)
    line = 0
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:  # e.g. a cell beyond the csv module's field size limit, an open quote
            raise BadRequest(f"the CSV file cannot be read near line {reader.line_num}: {exc}", field="file") from exc
        line += 1
        yield line, cells[:MAX_COLUMNS]


# --- the shared reader ------------------------------------------------------------------------------------------

def _blank(cells: Iterable[Any]) -> bool:
    return not any(str(c).strip() for c in cells if c is not None)


def read_table(filename: str, content: bytes, columns: Columns, max_rows: int) -> list[Row]:
    """The data rows of an uploaded CSV or XLSX file keyed by canonical column name (blocking: call it through
    `read_table_async` from a request). Raises a 400 problem naming `file` for an unreadable or oversized file,
    a header without the required columns or with unknown ones, more than `max_rows` rows or an oversized cell."""
    is_xlsx = filename.lower().endswith(".xlsx") or content[:2] == b"PK"
    source = _xlsx_rows(content) if is_xlsx else _csv_rows(content)
    lookup = columns.lookup()
    names: list[str | None] | None = None
    rows: list[Row] = []
    try:
        for line, cells in source:
            if line > max_rows + MAX_BLANK_ROWS + 1 or len(rows) > max_rows:
                raise BadRequest(f"at most {max_rows} rows per import", field="file")
            for i, cell in enumerate(cells):
                if isinstance(cell, str) and len(cell) > MAX_CELL_CHARS:
                    raise BadRequest(f"the cell in column {i + 1} of line {line} holds {len(cell)} characters, "
                                     f"more than the {MAX_CELL_CHARS} an import accepts", field="file")
            if _blank(cells):
                continue
            if names is None:
                names = _header(line, cells, columns, lookup)
                continue
            rows.append(Row(line=line, values={n: (cells[i] if i < len(cells) else None)
                                               for i, n in enumerate(names) if n}))
    finally:
        close = getattr(source, "close", None)
        if close:
            close()
    if names is None:
        raise BadRequest("the file is empty", field="file")
    if len(rows) > max_rows:
        raise BadRequest(f"at most {max_rows} rows per import", field="file")
    return rows


def _header(line: int, cells: Sequence[Any], columns: Columns, lookup: dict[str, str]) -> list[str | None]:
    names: list[str | None] = []
    unknown = []
    for cell in cells:
        key = _key(cell)
        if not key:
            names.append(None)
        elif key in lookup:
            names.append(lookup[key])
        else:
            names.append(None)
            unknown.append(str(cell).strip())
    missing = [columns.label(c) + (f" ({c})" if columns.label(c) != c else "")
               for c in columns.required if c not in names]
    if missing:
        raise BadRequest(f"the header row (line {line}) lacks the column(s): {', '.join(missing)}", field="file")
    if unknown:
        raise BadRequest(f"unknown column(s) in the header row: {', '.join(unknown)}", field="file")
    repeated = [columns.label(c) for c in columns.names if names.count(c) > 1]
    if repeated:  # which of the two would hold the value is anybody's guess
        raise BadRequest(f"the header row (line {line}) names the column(s) more than once: {', '.join(repeated)}",
                         field="file")
    return names


async def read_table_async(filename: str, content: bytes, columns: Columns, max_rows: int) -> list[Row]:
    """`read_table` in a worker thread, at most two files at a time, so a large or hostile file never holds the
    event loop (every province's requests) or multiplies its memory by the number of uploads."""
    global _limiter
    if _limiter is None:
        _limiter = anyio.CapacityLimiter(2)
    return await anyio.to_thread.run_sync(read_table, filename, content, columns, max_rows, limiter=_limiter)


def cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def cell_date(value: Any) -> date | None:
    if value is None or cell_text(value) == "":
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = cell_text(value)
    for fmt in ("%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y"):
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise ValueError(f"{text!r} is not a date (use YYYY-MM-DD or DD/MM/YYYY)")


# --- writing XLSX -----------------------------------------------------------------------------------------------

def _width(value: Any) -> int:
    if isinstance(value, (date, datetime)):
        return 12
    return max((len(part) for part in str(value if value is not None else "").split("\n")), default=0)


def xlsx_bytes(title: str, headers: Sequence[str], rows: Iterable[Sequence[Any]], sheet: str = "Sheet1",
               example: bool = False) -> bytes:
    """A workbook officials can read as it opens: a bold title row (omitted when `title` is empty, e.g. an import
    template whose first row must be the header), a bold header row frozen under it, column widths fitted to
    the Vietnamese text (within 10–60 characters) and dates stored as dates shown DD/MM/YYYY."""
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    wb = Workbook()
    ws = wb.active
    ws.title = sheet[:31]
    widths = [_width(h) for h in headers]
    if title:
        ws.append([title])
        ws.cell(row=1, column=1).font = Font(bold=True, size=13)
    ws.append(list(headers))
    header_row = ws.max_row
    for col in range(1, len(headers) + 1):
        ws.cell(row=header_row, column=col).font = Font(bold=True)
    for values in rows:
        ws.append(list(values))
        r = ws.max_row
        for col, value in enumerate(values, start=1):
            if col <= len(widths):
                widths[col - 1] = max(widths[col - 1], _width(value))
            if isinstance(value, (date, datetime)):
                ws.cell(row=r, column=col).number_format = "DD/MM/YYYY"
        if example:
            for col in range(1, len(values) + 1):
                ws.cell(row=r, column=col).font = Font(italic=True, color="808080")
    ws.freeze_panes = ws.cell(row=header_row + 1, column=1)
    for col, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(col)].width = min(max(width + 2, 10), 60)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
