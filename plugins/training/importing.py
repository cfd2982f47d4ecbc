"""Bulk registration of participants from CSV or XLSX.

Columns (header row, any order, case- and accent-insensitive): full_name (họ tên), agency_code (mã đơn vị),
position (chức vụ), email, phone, person_id. A row names a person of the directory by `person_id`, or by the same
name in the same agency; a person not found is added to the directory with the row's agency.

The file is read off the event loop and row by row with a cap (MAX_ROWS), so a huge file is refused early. A dry
run reports every bad row (line, field, message) and writes nothing; a real run re-checks everything under the
session's lock and writes every row or none (one transaction). Rows also count against capacity and quotas: the
row that would overfill the session or an agency's quota is reported.
"""

from __future__ import annotations

import asyncio
import csv
import io
import re
import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any, Iterator

from core.agencies.tables import Agency
from core.db import transaction
from core.errors import BadRequest, Conflict, Unprocessable
from core.people.tables import Person
from core.tenancy.context import TenantContext
from core.text import fold
from plugins.training import services
from plugins.training.schemas import ImportErrorItem, ImportReport
from plugins.training.tables import TrainingRegistration

MAX_ROWS = 2000
ALIASES = {
    "full_name": "full_name", "ho_ten": "full_name", "ho_va_ten": "full_name", "name": "full_name",
    "agency_code": "agency_code", "ma_don_vi": "agency_code", "agency": "agency_code",
    "position": "position", "chuc_vu": "position",
    "email": "email", "phone": "phone", "dien_thoai": "phone", "so_dien_thoai": "phone",
    "person_id": "person_id",
}
EMAIL = re.compile(r"^[^@\s\x00]+@[^@\s\x00]+$")


@dataclass
class Row:
    line: int
    values: dict[str, str]


def _cells_csv(content: bytes) -> Iterator[tuple[int, list[Any]]]:
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise BadRequest(f"the CSV file is not valid UTF-8 (byte {exc.start})", field="file") from exc
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text), dialect)
    try:
        for row in reader:
            yield reader.line_num, row
    except csv.Error as exc:
        raise BadRequest(f"the CSV file cannot be read near line {reader.line_num}: {exc}", field="file") from exc


def _cells_xlsx(content: bytes) -> Iterator[tuple[int, list[Any]]]:
    from openpyxl import load_workbook

    try:
        wb = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception as exc:
        raise BadRequest("the file is not a readable XLSX workbook", field="file") from exc
    try:
        for i, row in enumerate(wb.worksheets[0].iter_rows(values_only=True), start=1):
            yield i, list(row)
    except Exception as exc:
        raise BadRequest("the file is not a readable XLSX workbook", field="file") from exc
    finally:
        wb.close()


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def read_rows(filename: str, content: bytes) -> list[Row]:
    """Parse the file (blocking: run it in a thread), stopping as soon as it has more than MAX_ROWS rows."""
    is_xlsx = filename.lower().endswith(".xlsx") or content[:2] == b"PK"
    cells = _cells_xlsx(content) if is_xlsx else _cells_csv(content)
    header: list[str] | None = None
    rows: list[Row] = []
    for line, values in cells:
        if not any(_text(c) for c in values):
            continue
        if header is None:
            names = [fold(_text(h)).replace(" ", "_") for h in values]
            unknown = [n for n in names if n and n not in ALIASES]
            if unknown:
                raise BadRequest(f"unknown column(s) in the header row: {', '.join(unknown)}", field="file")
            header = [ALIASES.get(n, "") for n in names]
            missing = [] if "person_id" in header else [c for c in ("full_name", "agency_code") if c not in header]
            if missing:
                raise BadRequest(f"the header row (line {line}) lacks the column(s): {', '.join(missing)}",
                                 field="file")
            continue
        if len(rows) >= MAX_ROWS:
            raise BadRequest(f"at most {MAX_ROWS} rows per import", field="file")
        rows.append(Row(line=line, values={name: _text(values[i]) if i < len(values) else ""
                                           for i, name in enumerate(header) if name}))
    if header is None:
        raise BadRequest("the file is empty", field="file")
    if not rows:
        raise BadRequest("the file has a header row and no participants", field="file")
    return rows


@dataclass
class Planned:
    line: int
    person: dict[str, Any] | None  # None: a person to add
    new: dict[str, Any]
    agency_id: uuid.UUID


async def plan(ctx: TenantContext, session: dict[str, Any], rows: list[Row], today: date
               ) -> tuple[list[ImportErrorItem], list[Planned]]:
    errors: list[ImportErrorItem] = []
    agencies = {a["code"].lower(): a for a in await ctx.scope(Agency).select(Agency.id, Agency.code, Agency.name)}
    wanted_ids = []
    for row in rows:
        try:
            if row.values.get("person_id"):
                wanted_ids.append(uuid.UUID(row.values["person_id"]))
        except ValueError:
            pass
    agency_ids = [a["id"] for a in agencies.values()
                  if a["code"].lower() in {r.values.get("agency_code", "").lower() for r in rows}]
    people = await ctx.scope(Person).select().where(
        Person.id.is_in(wanted_ids or [uuid.UUID(int=0)]) | Person.agency_id.is_in(agency_ids or [uuid.UUID(int=0)]))
    by_id = {p["id"]: p for p in people}
    by_name = {(p["agency_id"], p["full_name_folded"]): p for p in people if p["closed_on"] is None}
    registered = {r["person_id"] for r in await ctx.scope(TrainingRegistration).select(
        TrainingRegistration.person_id).where((TrainingRegistration.session_id == session["id"])
                                              & (TrainingRegistration.status == "registered"))}
    taken = len(registered)
    invitations = [i for i in await services.invitations_of(ctx, session["id"]) if i["quota"] > 0]
    used: dict[uuid.UUID, int] = {}
    for inv in invitations:
        used[inv["id"]] = await services._used_quota(ctx, session["id"], invitations, inv)
    emails = {v.lower() for v in (r.values.get("email", "") for r in rows) if v}
    owners = {p["email"]: p for p in await ctx.scope(Person).select(Person.id, Person.email, Person.closed_on).where(
        Person.email.is_in(sorted(emails) or [""])) if p["closed_on"] is None or p["closed_on"] > today}
    seen_emails: dict[str, int] = {}
    seen: dict[Any, int] = {}
    planned: list[Planned] = []
    for row in rows:
        v = row.values
        before = len(errors)

        def err(field: str | None, message: str) -> None:
            errors.append(ImportErrorItem(line=row.line, field=field, message=message))

        person = None
        if v.get("person_id"):
            try:
                person = by_id.get(uuid.UUID(v["person_id"]))
            except ValueError:
                err("person_id", f"{v['person_id']!r} is not a person id")
            else:
                if person is None:
                    err("person_id", f"no person {v['person_id']} in the directory")
        name = " ".join(v.get("full_name", "").split())
        code = v.get("agency_code", "")
        agency = agencies.get(code.lower()) if code else None
        if person is None and not v.get("person_id"):
            if not name or len(name) > 200 or "\x00" in name:
                err("full_name", "full_name is required (at most 200 characters)")
            if not code:
                err("agency_code", "agency_code is required")
            elif agency is None:
                err("agency_code", f"no agency with code {code!r} in this province")
            if agency is not None and name:
                person = by_name.get((agency["id"], fold(name, services.PERSON_NAME_MAX)))
        elif code and agency is None:
            err("agency_code", f"no agency with code {code!r} in this province")
        position = v.get("position", "")
        if len(position) > 200 or "\x00" in position:
            err("position", "position is at most 200 characters")
        email = v.get("email", "")
        if email and (len(email) > 254 or not EMAIL.match(email)):
            err("email", f"{email!r} is not an email address")
        phone = v.get("phone", "")
        if phone and (len(phone) > 30 or "\x00" in phone):
            err("phone", f"{phone!r} is not a phone number")
        if len(errors) > before:
            continue
        if person is None and email:
            owner = owners.get(email.lower())
            if owner is not None:
                err("email", f"the email {email!r} belongs to another person of this province")
                continue
            if email.lower() in seen_emails:
                err("email", f"the email {email!r} is also on line {seen_emails[email.lower()]}")
                continue
            seen_emails[email.lower()] = row.line
        identity = person["id"] if person else (agency["id"], fold(name, services.PERSON_NAME_MAX))
        if identity in seen:
            err("full_name", f"the same person is on line {seen[identity]}")
            continue
        seen[identity] = row.line
        if person is not None:
            if person["id"] in registered:
                err("full_name", f"{person['full_name']} is already registered for this session")
                continue
            if person["closed_on"] is not None and person["closed_on"] <= today:
                err("full_name", f"{person['full_name']} left the directory on {services.fmt(person['closed_on'])}")
                continue
        agency_id = person["agency_id"] if person else agency["id"]
        if taken >= session["capacity"]:
            err(None, f"the session would be over its capacity ({session['capacity']} places)")
            continue
        if invitations:
            holder = await services._quota_holder(ctx, invitations, agency_id)
            if holder is None:
                err("agency_code", "this agency is not invited to the session")
                continue
            if used[holder["id"]] >= holder["quota"]:
                err("agency_code", f"the invited agency may send {holder['quota']} people")
                continue
            used[holder["id"]] += 1
        taken += 1
        planned.append(Planned(line=row.line, person=person, agency_id=agency_id,
                               new={"full_name": name, "agency_id": agency_id, "position": position,
                                    "email": email or None, "phone": phone or None}))
    return errors, planned


def check_open(session: dict[str, Any], today: date) -> None:
    if session["status"] != "open":
        raise Conflict(f"registration is not open: the session is {session['status']}", field="session")
    if session["registration_closes_on"] is not None and today > session["registration_closes_on"]:
        raise Conflict(f"registration closed on {services.fmt(session['registration_closes_on'])}", field="session")


async def run_import(ctx: TenantContext, session_id: uuid.UUID, upload: Any, dry_run: bool,
                     today: date | None = None) -> ImportReport:
    from plugins.training.schemas import NewPerson

    today = today or date.today()
    content = await upload.read()
    rows = await asyncio.to_thread(read_rows, upload.filename or "", content)
    session = await services.get_session(ctx, session_id)
    check_open(session, today)
    if dry_run:
        errors, planned = await plan(ctx, session, rows, today)
        return ImportReport(dry_run=True, rows=len(rows), valid=not errors, registered=0,
                            people_created=sum(1 for p in planned if p.person is None), errors=errors)
    created = 0
    async with transaction():
        session = await services._lock_session(ctx, session["id"])
        check_open(session, today)
        errors, planned = await plan(ctx, session, rows, today)
        if errors:
            raise Unprocessable(f"the file has {len(errors)} error(s); nothing was imported",
                                errors=[{"line": e.line, "field": e.field, "message": e.message} for e in errors])
        for item in planned:
            person = item.person
            if person is None:
                person = await services.add_person(ctx, NewPerson(**item.new))
                created += 1
            key = f"{session['id']}:{person['id']}"
            values = {"agency_id": person["agency_id"], "full_name": person["full_name"],
                      "position": person["position"] or "", "status": "registered", "registered_on": today,
                      "source": "import"}
            existing = await ctx.scope(TrainingRegistration).select(TrainingRegistration.id).where(
                TrainingRegistration.key == key).first()
            if existing is not None:  # withdrawn earlier: registered again
                reg = await ctx.scope(TrainingRegistration).update(existing["id"], values, action="import")
            else:
                reg = await ctx.scope(TrainingRegistration).insert(
                    {**values, "session_id": session["id"], "person_id": person["id"], "key": key}, action="import")
            await services.notify_registered(ctx, session, reg, person)
    return ImportReport(dry_run=False, rows=len(rows), valid=True, registered=len(planned), people_created=created,
                        errors=[])
