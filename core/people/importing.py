"""Bulk import of people from CSV or XLSX: a dry run reports every bad row; a real run writes all or none.

Columns (header row, any order; case, accents and spaces do not matter): full_name ("Họ và tên"), agency_code
("Mã đơn vị"), position ("Chức vụ"), email ("Email"), phone ("Điện thoại"). Only the name is required.
`agency_code` names an open agency of the province (empty: no agency). An email may belong to one open person.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import msgspec

from core.agencies.tables import Agency
from core.db import transaction
from core.importing import ImportError_, ImportReport, refuse
from core.people.schemas import Email, FullName, Phone, Position
from core.people.services import FULL_NAME_FOLDED_MAX, normalize_email, open_on
from core.people.tables import Person
from core.tabular import Columns, Row, cell_text, read_table_async, xlsx_bytes
from core.tenancy.context import TenantContext
from core.text import fold

COLUMNS = Columns(
    names=("full_name", "agency_code", "position", "email", "phone"),
    required=("full_name",),
    labels={  # the first label is the template's header
        "full_name": ("Họ và tên", "Họ tên", "Tên", "name"),
        "agency_code": ("Mã đơn vị", "Mã cơ quan", "agency"),
        "position": ("Chức vụ",),
        "email": ("Email", "e-mail", "Thư điện tử"),
        "phone": ("Điện thoại", "Số điện thoại", "SĐT"),
    },
)
MAX_ROWS = 20000


def template_xlsx() -> bytes:
    """The XLSX template of a people import: the Vietnamese headers and one example row."""
    headers = [COLUMNS.label(c) for c in COLUMNS.names]
    example = ["Nguyễn Văn A", "STC", "Chuyên viên", "nva@example.gov.vn", "0912 345 678"]
    return xlsx_bytes("", headers, [example], sheet="Cán bộ", example=True)


# What each cell must be (the rules of the API's PersonCreate), and how to say it when it is not.
CHECKS: dict[str, tuple[Any, str]] = {
    "full_name": (FullName, "the full name is required (at most 200 characters, no NUL)"),
    "position": (Position, "the position has at most 200 characters (no NUL)"),
    "email": (Email, "{value!r} is not an email address"),
    "phone": (Phone, "{value!r} is not a phone number (digits, spaces, '.', '-', '(', ')' and a leading '+')"),
}


def _validate(rows: list[Row], agencies: dict[str, dict[str, Any]], emails: set[str]) -> list[ImportError_]:
    errors: list[ImportError_] = []
    seen_emails: dict[str, int] = {}
    today = date.today()
    for row in rows:
        v, p = row.values, row.parsed

        def err(fld: str, msg: str) -> None:
            errors.append(ImportError_(line=row.line, field=fld, message=msg))

        bad = set()
        for fld, (tp, message) in CHECKS.items():
            value = cell_text(v.get(fld))
            p[fld] = value
            if value == "" and fld != "full_name":
                continue
            try:
                msgspec.convert(value, tp)
            except msgspec.ValidationError:
                err(fld, message.format(value=value[:100]))
                bad.add(fld)
        p["email"] = None if "email" in bad else normalize_email(p["email"])
        p["phone"] = p["phone"] or None
        email = p["email"]
        if email:
            if email in emails:
                err("email", f"the email {email!r} belongs to a person already in the directory")
            elif email in seen_emails:
                err("email", f"the email {email!r} is repeated (first on line {seen_emails[email]})")
            else:
                seen_emails[email] = row.line
        code = cell_text(v.get("agency_code"))
        p["agency_id"] = None
        if code:
            agency = agencies.get(code.lower())
            if agency is None:
                err("agency_code", f"no agency with code {code!r} in this province")
            elif agency["valid_to"] is not None and agency["valid_to"] <= today:
                err("agency_code", f"the agency {code!r} is closed")
            else:
                p["agency_id"] = agency["id"]
    return errors


async def run_import(ctx: TenantContext, filename: str, content: bytes, dry_run: bool) -> ImportReport:
    rows = await read_table_async(filename, content, COLUMNS, MAX_ROWS)
    agencies = {r["code"].lower(): r for r in await ctx.scope(Agency).select(Agency.id, Agency.code, Agency.valid_to)}
    people = await ctx.scope(Person).select(Person.email).where(Person.email.is_not_null() & open_on(date.today()))
    errors = _validate(rows, agencies, {r["email"] for r in people})
    report = ImportReport(dry_run=dry_run, rows=len(rows), valid=not errors, created=0, errors=errors)
    if dry_run:
        return report
    if errors:
        raise refuse(errors)
    async with transaction():
        for row in rows:
            p = row.parsed
            await ctx.scope(Person).insert({
                "full_name": p["full_name"], "full_name_folded": fold(p["full_name"], FULL_NAME_FOLDED_MAX),
                "agency_id": p["agency_id"], "position": p["position"], "email": p["email"], "phone": p["phone"],
            }, action="import")
    report.created = len(rows)
    return report
