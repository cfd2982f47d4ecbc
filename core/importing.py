"""Bulk import from CSV or XLSX, shared by core's directories (agencies, people) and plugins.

`read_rows` turns an uploaded file into rows keyed by canonical column names: the header row may use any of a
column's aliases (compared folded: case, accents and spaces do not matter, so "Họ và tên" matches "ho_va_ten").
Each importer validates the rows itself and reports every bad cell by line and field (`ImportReport`); a real run
writes all rows or none (`refuse` raises the 422 that lists the errors).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Mapping, Sequence

import msgspec
from litestar.datastructures import UploadFile

from core.errors import BadRequest, Unprocessable
from core.text import fold

IMPORT_MAX_BYTES = 10 * 1024 * 1024
MAX_ROWS = 20000


@dataclass
class ImportForm:
    """The multipart body of an import: the file part `file` (a field named so without a file is refused)."""

    file: UploadFile | None = None


class ImportError_(msgspec.Struct):
    line: int
    field: str | None
    message: str


class ImportReport(msgspec.Struct):
    dry_run: bool
    rows: int
    valid: bool
    created: int
    errors: list[ImportError_]


@dataclass
class Row:
    line: int
    values: dict[str, Any]
    parsed: dict[str, Any] = field(default_factory=dict)


async def read_upload(form: ImportForm) -> tuple[str, bytes]:
    """The file name and content of an import's `file` part; 400 naming `file` when there is no file part."""
    upload = form.file
    if not isinstance(upload, UploadFile):
        raise BadRequest("send the CSV or XLSX file as the multipart file part `file`", field="file")
    return upload.filename or "", await upload.read()


def _read_csv(content: bytes) -> list[tuple[int, list[Any]]]:
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise BadRequest(f"the CSV file is not valid UTF-8 (byte {exc.start})", field="file") from exc
    sample = text[:4096]
    try:
        dialect = csv.Sniffer().sniff(sample, delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text), dialect)
    try:
        return [(i, row) for i, row in enumerate(reader, start=1)]
    except csv.Error as exc:  # e.g. a cell beyond the field size limit
        raise BadRequest(f"the CSV file cannot be read near line {reader.line_num}: {exc}", field="file") from exc


def _read_xlsx(content: bytes) -> list[tuple[int, list[Any]]]:
    from openpyxl import load_workbook

    # read_only parses the sheet lazily: a damaged sheet fails while its rows are read, not when it is opened.
    try:
        wb = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
        try:
            sheet = wb.worksheets[0]
            return [(i, list(row)) for i, row in enumerate(sheet.iter_rows(values_only=True), start=1)]
        finally:
            wb.close()
    except Exception as exc:
        raise BadRequest("the file is not a readable XLSX workbook", field="file") from exc


def header_key(text: Any) -> str:
    """How header cells compare: folded, spaces as underscores ("Mã đơn vị" -> "ma_don_vi")."""
    return fold(str(text or "")).replace(" ", "_")


def read_rows(filename: str, content: bytes, columns: Mapping[str, Sequence[str]] | Sequence[str],
              required: Sequence[str], max_rows: int = MAX_ROWS) -> list[Row]:
    """The data rows of a CSV or XLSX file (blank rows skipped), each keyed by canonical column name.

    `columns` lists the canonical names, or maps each to the header texts accepted for it (the canonical name is
    always accepted). A header lacking a required column, naming an unknown or repeated column, or a file beyond
    `max_rows` rows is a 400 naming `file`.
    """
    if not isinstance(columns, Mapping):
        columns = {name: () for name in columns}
    aliases = {header_key(a): name for name, names in columns.items() for a in (name, *names)}
    is_xlsx = filename.lower().endswith(".xlsx") or content[:2] == b"PK"
    raw = _read_xlsx(content) if is_xlsx else _read_csv(content)
    raw = [(line, cells) for line, cells in raw if any(str(c).strip() for c in cells if c is not None)]
    if not raw:
        raise BadRequest("the file is empty", field="file")
    header_line, header = raw[0]
    keys = [header_key(h) for h in header]
    unknown = [str(h) for h, k in zip(header, keys) if k and k not in aliases]
    if unknown:
        raise BadRequest(f"unknown column(s) in the header row: {', '.join(unknown)}", field="file")
    names = [aliases[k] if k else "" for k in keys]
    repeated = sorted({n for n in names if n and names.count(n) > 1})
    if repeated:
        raise BadRequest(f"the header row names the column(s) more than once: {', '.join(repeated)}", field="file")
    missing = [c for c in required if c not in names]
    if missing:
        raise BadRequest(f"the header row (line {header_line}) lacks the column(s): {', '.join(missing)}", field="file")
    if len(raw) - 1 > max_rows:
        raise BadRequest(f"at most {max_rows} rows per import", field="file")
    rows = []
    for line, cells in raw[1:]:
        values = {name: (cells[i] if i < len(cells) else None) for i, name in enumerate(names) if name}
        rows.append(Row(line=line, values=values))
    return rows


def cell_text(value: Any) -> str:
    """A cell as stripped text ("" when empty; 12.0 from a spreadsheet reads "12")."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def cell_date(value: Any) -> date | None:
    """A cell as a date: a spreadsheet date, YYYY-MM-DD, DD/MM/YYYY or DD-MM-YYYY; ValueError otherwise."""
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


def refuse(errors: list[ImportError_]) -> Unprocessable:
    """The 422 of a real run over a file with errors: nothing was imported."""
    return Unprocessable(f"the file has {len(errors)} error(s); nothing was imported",
                         errors=[{"line": e.line, "field": e.field, "message": e.message} for e in errors])
