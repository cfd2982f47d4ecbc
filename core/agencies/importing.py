"""Bulk import of agencies from CSV or XLSX: a dry run reports every bad row; a real run writes all or none.

Columns (header row, any order, case- and diacritic-insensitive): code, name, level, parent_code, required,
valid_from, valid_to, or their Vietnamese labels (Mã, Tên cơ quan, Cấp, Mã đơn vị cấp trên, Bắt buộc, Hiệu lực
từ, Hiệu lực đến). `level` takes the English values or tỉnh, sở, huyện, phòng, xã/phường, đơn vị. `parent_code`
names an existing agency of the province or another row of the same file. `required` accepts 1/0, true/false,
yes/no, có/không, x. Dates are YYYY-MM-DD or DD/MM/YYYY. Files are read by `core.tabular` (off the event loop,
bounded); the template is `template_xlsx()`.
"""

from __future__ import annotations

import re
import uuid
from datetime import date
from typing import Any

import anyio

from core import tabular
from core.tabular import Columns, Row, cell_date, cell_text
from core.agencies.schemas import CODE_PATTERN, LEVELS, ImportError_, ImportReport
from core.agencies.services import code_key
from core.db import transaction
from core.errors import Unprocessable
from core.agencies.tables import Agency
from core.tenancy.context import TenantContext
from core.text import fold

NAME_FOLDED_MAX = Agency.name_folded.length

COLUMNS = Columns(
    names=("code", "name", "level", "parent_code", "required", "valid_from", "valid_to"),
    required=("code", "name", "level"),
    labels={
        "code": ("Mã", "Mã cơ quan", "Mã đơn vị"),
        "name": ("Tên cơ quan", "Tên", "Tên đơn vị"),
        "level": ("Cấp",),
        "parent_code": ("Mã đơn vị cấp trên", "Mã cấp trên", "Mã cơ quan cấp trên"),
        "required": ("Bắt buộc", "Bắt buộc áp dụng"),
        "valid_from": ("Hiệu lực từ", "Từ ngày"),
        "valid_to": ("Hiệu lực đến", "Đến ngày"),
    },
)
# `level` in Vietnamese as officials write it (folded)
LEVEL_LABELS = {"tinh": "province", "cap tinh": "province", "so": "department", "so nganh": "department",
                "huyen": "district", "cap huyen": "district", "phong": "office", "phong ban": "office",
                "xa": "commune", "cap xa": "commune", "phuong": "commune", "xa phuong": "commune",
                "don vi": "unit", "don vi truc thuoc": "unit"}
TRUE = {"1", "true", "yes", "y", "x", "co", "có"}
FALSE = {"0", "false", "no", "n", "khong", "không", ""}
MAX_ROWS = 20000
CODE_RE = re.compile(CODE_PATTERN)

_text, _date = cell_text, cell_date


def read_table(filename: str, content: bytes) -> list[Row]:
    """The rows of an agency file (blocking; the request path uses `tabular.read_table_async`)."""
    return tabular.read_table(filename, content, COLUMNS, MAX_ROWS)


def template_xlsx() -> bytes:
    """The import template: the Vietnamese header row and one example row (a dry run of it is valid)."""
    headers = [COLUMNS.label(c) for c in COLUMNS.names]
    example = ["STP-01", "Phòng Hành chính - Tư pháp", "phòng", "", "có", date(2025, 7, 1), None]
    return tabular.xlsx_bytes("", headers, [example], sheet="Cơ quan", example=True)


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
        level = LEVEL_LABELS.get(level, level)
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
    rows = await tabular.read_table_async(filename, content, COLUMNS, MAX_ROWS)
    existing_rows = await ctx.scope(Agency).select(Agency.id, Agency.code)
    existing = {r["code"].lower(): r for r in existing_rows}
    errors = await anyio.to_thread.run_sync(_validate, rows, existing)
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
