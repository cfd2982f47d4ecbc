"""Bulk import of agencies from CSV or XLSX: a dry run reports every bad row; a real run writes all or none.

Columns (header row, any order, case-insensitive): code, name, level, parent_code, required, valid_from,
valid_to. `parent_code` names an existing agency of the province or another row of the same file.
`required` accepts 1/0, true/false, yes/no, có/không, x. Dates are YYYY-MM-DD or DD/MM/YYYY.
"""

from __future__ import annotations

import csv
import io
import re
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from core.agencies.schemas import CODE_PATTERN, LEVELS, ImportError_, ImportReport
from core.agencies.services import code_key
from core.db import transaction
from core.errors import BadRequest, Unprocessable
from core.agencies.tables import Agency
from core.tenancy.context import TenantContext
from core.text import fold

NAME_FOLDED_MAX = Agency.name_folded.length

COLUMNS = ("code", "name", "level", "parent_code", "required", "valid_from", "valid_to")
REQUIRED_COLUMNS = ("code", "name", "level")
TRUE = {"1", "true", "yes", "y", "x", "co", "có"}
FALSE = {"0", "false", "no", "n", "khong", "không", ""}
MAX_ROWS = 20000
CODE_RE = re.compile(CODE_PATTERN)


@dataclass
class Row:
    line: int
    values: dict[str, Any]
    parsed: dict[str, Any] = field(default_factory=dict)


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


def read_table(filename: str, content_type: str | None, content: bytes) -> list[Row]:
    is_xlsx = filename.lower().endswith(".xlsx") or content[:2] == b"PK"
    raw = _read_xlsx(content) if is_xlsx else _read_csv(content)
    raw = [(line, cells) for line, cells in raw if any(str(c).strip() for c in cells if c is not None)]
    if not raw:
        raise BadRequest("the file is empty", field="file")
    header_line, header = raw[0]
    names = [fold(str(h or "")).replace(" ", "_") for h in header]
    missing = [c for c in REQUIRED_COLUMNS if c not in names]
    if missing:
        raise BadRequest(f"the header row (line {header_line}) lacks the column(s): {', '.join(missing)}", field="file")
    unknown = [n for n in names if n and n not in COLUMNS]
    if unknown:
        raise BadRequest(f"unknown column(s) in the header row: {', '.join(unknown)}", field="file")
    if len(raw) - 1 > MAX_ROWS:
        raise BadRequest(f"at most {MAX_ROWS} rows per import", field="file")
    rows = []
    for line, cells in raw[1:]:
        values = {name: (cells[i] if i < len(cells) else None) for i, name in enumerate(names) if name}
        rows.append(Row(line=line, values=values))
    return rows


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _date(value: Any) -> date | None:
    if value is None or _text(value) == "":
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = _text(value)
    for fmt in ("%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y"):
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise ValueError(f"{text!r} is not a date (use YYYY-MM-DD or DD/MM/YYYY)")


def _validate(rows: list[Row], existing: dict[str, dict[str, Any]]) -> list[ImportError_]:
    errors: list[ImportError_] = []
    seen: dict[str, int] = {}
    for row in rows:
        v, p = row.values, row.parsed

        def err(fld: str | None, msg: str) -> None:
            errors.append(ImportError_(line=row.line, field=fld, message=msg))

        code = _text(v.get("code"))
        if not code or len(code) > 50:
            err("code", "code is required (at most 50 characters)")
        elif not CODE_RE.match(code):  # the rule of the API's AgencyCreate.code
            err("code", f"code {code!r} may use only latin letters, digits, '.', '_' and '-'")
        elif code.lower() in existing:
            err("code", f"an agency with code {code!r} already exists in this province")
        elif code.lower() in seen:
            err("code", f"code {code!r} is repeated (first on line {seen[code.lower()]})")
        else:
            seen[code.lower()] = row.line
        name = _text(v.get("name"))
        if not name or len(name) > 255:
            err("name", "name is required (at most 255 characters)")
        elif "\x00" in name:
            err("name", "name contains a NUL character")
        level = fold(_text(v.get("level")))
        if level not in LEVELS:
            err("level", f"level must be one of {', '.join(LEVELS)}")
        required = fold(_text(v.get("required")))
        if required not in TRUE | FALSE:
            err("required", f"required must be yes or no, got {_text(v.get('required'))!r}")
        dates: dict[str, date | None] = {}
        for fld in ("valid_from", "valid_to"):
            try:
                dates[fld] = _date(v.get(fld))
            except ValueError as exc:
                err(fld, str(exc))
                dates[fld] = None
        valid_from, valid_to = dates["valid_from"] or date.today(), dates["valid_to"]
        if valid_to is not None and valid_to < valid_from:
            err("valid_to", "valid_to must not be before valid_from")
        p.update(code=code, name=name, level=level, required=required in TRUE, valid_from=valid_from,
                 valid_to=valid_to, parent_code=_text(v.get("parent_code")))
    # Parents: an existing agency, or another row of the file (without cycles).
    by_code = {r.parsed["code"].lower(): r for r in rows if r.parsed.get("code")}
    reaches_root = _chains(by_code, existing)[0]
    for row in rows:
        parent = row.parsed["parent_code"].lower()
        if not parent:
            continue
        if parent not in existing and parent not in by_code:
            errors.append(ImportError_(line=row.line, field="parent_code",
                                       message=f"no agency with code {row.parsed['parent_code']!r}"))
        elif parent not in existing and not reaches_root[parent]:
            errors.append(ImportError_(line=row.line, field="parent_code", message="parent codes form a cycle"))
    return sorted(errors, key=lambda e: e.line)


def _chains(by_code: dict[str, Row], existing: Any) -> tuple[dict[str, bool], dict[str, int]]:
    """For every code of the file: whether its chain of parents ends (at no parent, an existing agency or an
    unknown code) rather than looping, and how many rows of the file are above it. Each row is walked once."""
    reaches_root: dict[str, bool] = {}
    depth: dict[str, int] = {}
    for start in by_code:
        path: list[str] = []
        on_path: set[str] = set()
        node = start
        while node in by_code and node not in existing and node not in reaches_root and node not in on_path:
            path.append(node)
            on_path.add(node)
            node = by_code[node].parsed["parent_code"].lower()
        if node in on_path:  # the walk came back to itself: everything on the path loops
            for code in path:
                reaches_root[code], depth[code] = False, 0
            continue
        ok, level = (reaches_root[node], depth[node] + 1) if node in reaches_root else (True, 0)
        for code in reversed(path):
            reaches_root[code], depth[code] = ok, level
            level += 1
    return reaches_root, depth


def insert_order(rows: list[Row]) -> list[Row]:
    """The rows of a valid file, parents before their children."""
    by_code = {r.parsed["code"].lower(): r for r in rows}
    depth = _chains(by_code, {})[1]
    return sorted(rows, key=lambda r: depth.get(r.parsed["code"].lower(), 0))


async def run_import(ctx: TenantContext, filename: str, content_type: str | None, content: bytes,
                     dry_run: bool) -> ImportReport:
    rows = read_table(filename, content_type, content)
    existing_rows = await ctx.scope(Agency).select(Agency.id, Agency.code)
    existing = {r["code"].lower(): r for r in existing_rows}
    errors = _validate(rows, existing)
    report = ImportReport(dry_run=dry_run, rows=len(rows), valid=not errors, created=0, errors=errors)
    if dry_run:
        return report
    if errors:
        raise Unprocessable(f"the file has {len(errors)} error(s); nothing was imported",
                            errors=[{"line": e.line, "field": e.field, "message": e.message} for e in errors])
    ids = {code: r["id"] for code, r in existing.items()}
    async with transaction():
        for row in insert_order(rows):
            p = row.parsed
            new_id = uuid.uuid4()
            await ctx.scope(Agency).insert({
                "id": new_id, "code": p["code"], "code_key": code_key(ctx.tenant.id, p["code"]), "name": p["name"],
                "name_folded": fold(p["name"], NAME_FOLDED_MAX), "level": p["level"], "required": p["required"],
                "parent_id": ids[p["parent_code"].lower()] if p["parent_code"] else None,
                "valid_from": p["valid_from"], "valid_to": p["valid_to"],
            }, action="import")
            ids[p["code"].lower()] = new_id
    report.created = len(rows)
    return report
