"""Restructuring a province's agencies with an effective date (the 2025 reform): abolish a district, merge
communes into a new one, split one, rename one — history kept, lineage linked.

- **abolish** a district: the district and the units under it that are not communes close on the effective date;
  its communes pass to the district's parent (the province) or to `reparent_to`; a link `abolished` points from
  the district to the unit that took over its work.
- **merge** several agencies into a new one (created from that date) or into an existing one (`into_id`): the old
  ones close, each linked `merged` to the successor, their open units pass under it. The new agency starts its
  own QMS record; the predecessors' history stays with them and is reached through the lineage.
- **split** one agency into several new ones: it closes, linked `split` to each (it must have no open units).
- **rename**: a new name (and code) for the same body; the agency keeps its id and its records (audited).

Every change of a request happens in one transaction or none; a dry run answers the same plan and writes nothing.
A bulk restructuring reads a CSV/XLSX of `old code → new code` rows (see `rows_to_operations`).
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated, Any, Literal, Union

import msgspec

from core import tabular
from core.agencies.schemas import CODE_PATTERN, LEVELS
from core.agencies.services import NAME_FOLDED_MAX, _lock_tree, code_key, is_active
from core.agencies.tables import Agency, AgencyLink
from core.db import transaction
from core.errors import BadRequest, Conflict, Unprocessable
from core.importing import ImportError_
from core.tabular import Columns, Row, cell_date, cell_text
from core.tenancy.context import TenantContext
from core.text import fold

Code = Annotated[str, msgspec.Meta(min_length=1, max_length=50, pattern=CODE_PATTERN)]
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=255)]
Level = Literal["province", "department", "district", "office", "commune", "unit"]


class NewAgency(msgspec.Struct, forbid_unknown_fields=True):
    code: Code
    name: Name
    level: Level | None = None  # default: the (first) predecessor's level
    parent_id: uuid.UUID | None = None  # default: the (first) predecessor's parent
    required: bool | None = None  # default: required when any predecessor was


class Abolish(msgspec.Struct, tag="abolish", tag_field="op", forbid_unknown_fields=True):
    agency_id: uuid.UUID
    reparent_to: uuid.UUID | None = None
    effective_on: date | None = None


class Merge(msgspec.Struct, tag="merge", tag_field="op", forbid_unknown_fields=True):
    agency_ids: Annotated[list[uuid.UUID], msgspec.Meta(min_length=1, max_length=200)]
    into: NewAgency | None = None
    into_id: uuid.UUID | None = None
    effective_on: date | None = None


class Split(msgspec.Struct, tag="split", tag_field="op", forbid_unknown_fields=True):
    agency_id: uuid.UUID
    into: Annotated[list[NewAgency], msgspec.Meta(min_length=2, max_length=50)]
    effective_on: date | None = None


class Rename(msgspec.Struct, tag="rename", tag_field="op", forbid_unknown_fields=True):
    agency_id: uuid.UUID
    name: Name | None = None
    code: Code | None = None
    effective_on: date | None = None


Operation = Union[Abolish, Merge, Split, Rename]


class RestructureRequest(msgspec.Struct, forbid_unknown_fields=True):
    effective_on: date
    operations: Annotated[list[Operation], msgspec.Meta(min_length=1, max_length=2000)]
    dry_run: bool = True


class Change(msgspec.Struct):
    op: int
    action: Literal["close", "create", "reparent", "rename", "link"]
    agency_id: uuid.UUID | None
    code: str
    name: str
    detail: str


class RestructureReport(msgspec.Struct):
    dry_run: bool
    effective_on: date
    changes: list[Change]
    done: bool


class Plan:
    """The changes of a request, checked against the tree as it is, applied only when `apply` is set."""

    def __init__(self, ctx: TenantContext, rows: list[dict[str, Any]], apply: bool) -> None:
        self.ctx = ctx
        self.apply = apply
        self.by_id = {r["id"]: dict(r) for r in rows}
        self.codes = {r["code"].lower(): r["id"] for r in rows}
        self.changes: list[Change] = []

    def agency(self, op: int, agency_id: uuid.UUID | None, on: date, field: str) -> dict[str, Any]:
        row = self.by_id.get(agency_id) if agency_id else None
        if row is None:
            raise Unprocessable(f"operation {op + 1}: agency {agency_id} is not an agency of this province",
                                field=field)
        if not is_active(row, on):
            raise Conflict(f"operation {op + 1}: {row['name']} ({row['code']}) is not active on {on:%d/%m/%Y}",
                           field=field)
        return row

    def children(self, agency_id: uuid.UUID, on: date) -> list[dict[str, Any]]:
        return [r for r in self.by_id.values() if r["parent_id"] == agency_id and is_active(r, on)]

    async def close(self, op: int, row: dict[str, Any], on: date, why: str) -> None:
        self.changes.append(Change(op=op, action="close", agency_id=row["id"], code=row["code"], name=row["name"],
                                   detail=f"đóng từ ngày {on:%d/%m/%Y}: {why}"))
        row["valid_to"] = on
        if self.apply:
            await self.ctx.scope(Agency).update(row["id"], {"valid_to": on}, action="close")

    async def reparent(self, op: int, row: dict[str, Any], parent: dict[str, Any]) -> None:
        self.changes.append(Change(op=op, action="reparent", agency_id=row["id"], code=row["code"], name=row["name"],
                                   detail=f"chuyển về trực thuộc {parent['name']} ({parent['code']})"))
        row["parent_id"] = parent["id"]
        if self.apply:
            await self.ctx.scope(Agency).update(row["id"], {"parent_id": parent["id"]}, action="reparent")

    async def link(self, op: int, old: dict[str, Any], new: dict[str, Any], kind: str, on: date) -> None:
        self.changes.append(Change(op=op, action="link", agency_id=old["id"], code=old["code"], name=old["name"],
                                   detail=f"{kind} → {new['name']} ({new['code']})"))
        if self.apply:
            await self.ctx.scope(AgencyLink).insert({"predecessor_id": old["id"], "successor_id": new["id"],
                                                     "kind": kind, "effective_on": on,
                                                     "note": f"{old['name']} → {new['name']}"[:500]})

    async def create(self, op: int, new: NewAgency, like: dict[str, Any], on: date,
                     required: bool) -> dict[str, Any]:
        if new.code.lower() in self.codes:
            raise Conflict(f"operation {op + 1}: an agency with code {new.code!r} already exists in this province",
                           field="code")
        parent_id = new.parent_id if new.parent_id is not None else like["parent_id"]
        if parent_id is not None:
            parent = self.agency(op, parent_id, on, "parent_id")
            if parent["valid_to"] is not None:
                raise Conflict(f"operation {op + 1}: the new agency's parent {parent['name']} closes on "
                               f"{parent['valid_to']:%d/%m/%Y}", field="parent_id")
        row = {"id": uuid.uuid4(), "code": new.code, "code_key": code_key(self.ctx.tenant.id, new.code),
               "name": new.name, "name_folded": fold(new.name, NAME_FOLDED_MAX), "level": new.level or like["level"],
               "parent_id": parent_id, "required": new.required if new.required is not None else required,
               "valid_from": on, "valid_to": None}
        self.changes.append(Change(op=op, action="create", agency_id=row["id"], code=new.code, name=new.name,
                                   detail=f"thành lập từ ngày {on:%d/%m/%Y}"))
        self.by_id[row["id"]] = row
        self.codes[new.code.lower()] = row["id"]
        if self.apply:
            await self.ctx.scope(Agency).insert(row, action="create")
        return row


async def _abolish(plan: Plan, op: int, o: Abolish, on: date) -> None:
    district = plan.agency(op, o.agency_id, on, "agency_id")
    if district["level"] != "district":
        raise Conflict(f"operation {op + 1}: only a district is abolished; {district['name']} is a "
                       f"{district['level']}", field="agency_id")
    heir = plan.agency(op, o.reparent_to or district["parent_id"], on, "reparent_to")
    stack = [district]
    while stack:  # close the district's own units, pass its communes on
        node = stack.pop()
        for child in plan.children(node["id"], on):
            if child["level"] == "commune":
                await plan.reparent(op, child, heir)
            else:
                stack.append(child)
                await plan.close(op, child, on, f"giải thể cùng {district['name']}")
    await plan.close(op, district, on, "chính quyền cấp huyện kết thúc hoạt động")
    await plan.link(op, district, heir, "abolished", on)


async def _merge(plan: Plan, op: int, o: Merge, on: date) -> None:
    if (o.into is None) == (o.into_id is None):
        raise BadRequest(f"operation {op + 1}: name either `into` (a new agency) or `into_id` (an existing one)",
                         field="into")
    olds = [plan.agency(op, a, on, "agency_ids") for a in dict.fromkeys(o.agency_ids)]
    if o.into is not None and len(olds) < 2:
        raise BadRequest(f"operation {op + 1}: a merge into a new agency takes at least two agencies",
                         field="agency_ids")
    if o.into_id is not None:
        new = plan.agency(op, o.into_id, on, "into_id")
        if new["id"] in {r["id"] for r in olds}:
            raise Conflict(f"operation {op + 1}: an agency cannot be merged into itself", field="into_id")
    else:
        new = await plan.create(op, o.into, olds[0], on, any(r["required"] for r in olds))
    for old in olds:
        for child in plan.children(old["id"], on):
            await plan.reparent(op, child, new)
        await plan.close(op, old, on, f"hợp nhất vào {new['name']}")
        await plan.link(op, old, new, "merged", on)


async def _split(plan: Plan, op: int, o: Split, on: date) -> None:
    old = plan.agency(op, o.agency_id, on, "agency_id")
    if plan.children(old["id"], on):
        raise Conflict(f"operation {op + 1}: {old['name']} still has units; move them first", field="agency_id")
    news = [await plan.create(op, n, old, on, old["required"]) for n in o.into]
    await plan.close(op, old, on, "chia tách")
    for new in news:
        await plan.link(op, old, new, "split", on)


async def _rename(plan: Plan, op: int, o: Rename, on: date) -> None:
    row = plan.agency(op, o.agency_id, on, "agency_id")
    if o.name is None and o.code is None:
        raise BadRequest(f"operation {op + 1}: give a new name or code", field="name")
    changes: dict[str, Any] = {}
    if o.code is not None and o.code.lower() != row["code"].lower():
        if o.code.lower() in plan.codes:
            raise Conflict(f"operation {op + 1}: an agency with code {o.code!r} already exists in this province",
                           field="code")
        plan.codes.pop(row["code"].lower(), None)
        plan.codes[o.code.lower()] = row["id"]
        changes.update(code=o.code, code_key=code_key(plan.ctx.tenant.id, o.code))
    if o.name is not None:
        changes.update(name=o.name, name_folded=fold(o.name, NAME_FOLDED_MAX))
    plan.changes.append(Change(op=op, action="rename", agency_id=row["id"], code=changes.get("code", row["code"]),
                               name=changes.get("name", row["name"]),
                               detail=f"đổi tên từ ngày {on:%d/%m/%Y} (trước đó: {row['name']}, {row['code']})"))
    row.update(changes)
    if plan.apply and changes:
        await plan.ctx.scope(Agency).update(row["id"], changes, action="rename")


HANDLERS = {Abolish: _abolish, Merge: _merge, Split: _split, Rename: _rename}


async def restructure(ctx: TenantContext, request: RestructureRequest) -> RestructureReport:
    """Check every operation against the tree in order; apply them all in one transaction unless a dry run."""
    async with transaction():
        await _lock_tree(ctx)
        rows = await ctx.scope(Agency).select()
        plan = Plan(ctx, rows, apply=not request.dry_run)
        for op, operation in enumerate(request.operations):
            await HANDLERS[type(operation)](plan, op, operation, operation.effective_on or request.effective_on)
    return RestructureReport(dry_run=request.dry_run, effective_on=request.effective_on, changes=plan.changes,
                             done=not request.dry_run)


class LineageItem(msgspec.Struct):
    agency_id: uuid.UUID
    code: str
    name: str
    level: str
    valid_from: date
    valid_to: date | None
    kind: str
    effective_on: date
    depth: int


class Lineage(msgspec.Struct):
    agency_id: uuid.UUID
    predecessors: list[LineageItem]
    successors: list[LineageItem]


async def lineage(ctx: TenantContext, agency_id: uuid.UUID) -> Lineage:
    """Every agency this one came from and became, through any number of restructurings."""
    root = await ctx.ensure_agency(agency_id)
    links = await ctx.scope(AgencyLink).select()
    agencies = {r["id"]: r for r in await ctx.scope(Agency).select()}

    def walk(start: uuid.UUID, forward: bool) -> list[LineageItem]:
        found: list[LineageItem] = []
        seen = {start}
        frontier = [(start, 0)]
        while frontier:
            node, depth = frontier.pop(0)
            for link in links:
                here, there = (link["predecessor_id"], link["successor_id"]) if forward else (
                    link["successor_id"], link["predecessor_id"])
                if here != node or there in seen or there not in agencies:
                    continue
                seen.add(there)
                a = agencies[there]
                found.append(LineageItem(agency_id=there, code=a["code"], name=a["name"], level=a["level"],
                                         valid_from=a["valid_from"], valid_to=a["valid_to"], kind=link["kind"],
                                         effective_on=link["effective_on"], depth=depth + 1))
                frontier.append((there, depth + 1))
        return found

    return Lineage(agency_id=root["id"], predecessors=walk(root["id"], False), successors=walk(root["id"], True))


# Bulk restructuring from a file -----------------------------------------------------------------------------

COLUMNS = Columns(
    names=("old_code", "new_code", "new_name", "new_level", "effective_on"),
    required=("old_code", "effective_on"),
    labels={
        "old_code": ("Mã cũ", "Mã cơ quan cũ"),
        "new_code": ("Mã mới", "Mã cơ quan mới"),
        "new_name": ("Tên mới", "Tên cơ quan mới"),
        "new_level": ("Cấp mới",),
        "effective_on": ("Ngày hiệu lực", "Hiệu lực từ"),
    },
)
MAX_ROWS = 20000


def rows_to_operations(rows: list[Row], codes: dict[str, dict[str, Any]]) -> tuple[list[Operation], list[ImportError_]]:
    """Turn `old code → new code` rows into operations. Rows sharing a new code merge into it (into the agency
    that has that code already, or a new one named by `new_name`); one row whose new code is its own or free
    renames; a row without a new code abolishes a district. Each group takes one effective date."""
    errors: list[ImportError_] = []
    groups: dict[str, list[tuple[Row, dict[str, Any], date]]] = {}
    order: list[str] = []
    for row in rows:
        old = cell_text(row.values.get("old_code")).lower()
        agency = codes.get(old)
        try:
            on = cell_date(row.values.get("effective_on"))
        except ValueError:
            on = None
        if agency is None:
            errors.append(ImportError_(line=row.line, field="old_code",
                                       message=f"không có cơ quan mã {cell_text(row.values.get('old_code'))!r}"))
            continue
        if on is None:
            errors.append(ImportError_(line=row.line, field="effective_on",
                                       message="ngày hiệu lực phải có dạng YYYY-MM-DD hoặc DD/MM/YYYY"))
            continue
        level = cell_text(row.values.get("new_level"))
        if level and level not in LEVELS:
            errors.append(ImportError_(line=row.line, field="new_level", message=f"cấp phải là một trong {LEVELS}"))
            continue
        key = cell_text(row.values.get("new_code")).lower() or f"-abolish-{old}"
        if key not in groups:
            groups[key] = []
            order.append(key)
        groups[key].append((row, agency, on))
    operations: list[Operation] = []
    for key in order:
        members = groups[key]
        row, agency, on = members[0]
        if any(m[2] != on for m in members):
            errors.append(ImportError_(line=members[-1][0].line, field="effective_on",
                                       message="các dòng hợp nhất vào cùng một mã mới phải cùng ngày hiệu lực"))
            continue
        new_code = cell_text(row.values.get("new_code"))
        new_name = cell_text(row.values.get("new_name")) or None
        level = cell_text(row.values.get("new_level")) or None
        if not new_code:
            operations.append(Abolish(agency_id=agency["id"], effective_on=on))
            continue
        existing = codes.get(new_code.lower())
        if len(members) == 1 and (existing is None or existing["id"] == agency["id"]):
            operations.append(Rename(agency_id=agency["id"], effective_on=on, name=new_name,
                                     code=new_code if new_code.lower() != agency["code"].lower() else None))
        elif existing is not None:
            operations.append(Merge(agency_ids=[m[1]["id"] for m in members], into_id=existing["id"],
                                    effective_on=on))
        elif not new_name:
            errors.append(ImportError_(line=row.line, field="new_name",
                                       message=f"cần tên cho cơ quan mới {new_code!r}"))
        else:
            try:
                into = msgspec.convert({"code": new_code, "name": new_name, "level": level}, NewAgency)
            except msgspec.ValidationError as exc:
                errors.append(ImportError_(line=row.line, field="new_code", message=str(exc)))
                continue
            operations.append(Merge(agency_ids=[m[1]["id"] for m in members], into=into, effective_on=on))
    return operations, errors


async def run_file(ctx: TenantContext, filename: str, content: bytes, dry_run: bool) -> RestructureReport:
    rows = await tabular.read_table_async(filename, content, COLUMNS, MAX_ROWS)
    agencies = await ctx.scope(Agency).select()
    operations, errors = rows_to_operations(rows, {a["code"].lower(): a for a in agencies})
    if errors:
        raise Unprocessable(f"the file has {len(errors)} error(s); nothing was changed",
                            errors=[{"line": e.line, "field": e.field, "message": e.message} for e in errors])
    if not operations:
        raise BadRequest("the file has no rows", field="file")
    first = min(o.effective_on for o in operations if o.effective_on is not None)
    return await restructure(ctx, RestructureRequest(effective_on=first, operations=operations, dry_run=dry_run))
