"""Agency rules: codes unique per tenant, parents in the same tenant, no cycles, close instead of delete."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

import msgspec

from piccolo.query import OrderByRaw

from core.agencies.schemas import LEVELS, AgencyCreate, AgencyRead, AgencyUpdate
from core.db import transaction
from core.errors import BadRequest, Conflict, Forbidden, is_unique_violation
from core.schemas import to_struct
from core.agencies.tables import Agency
from core.tenancy.context import TenantContext
from core.text import fold, like_pattern

NAME_FOLDED_MAX = Agency.name_folded.length


def code_key(tenant_id: uuid.UUID, code: str) -> str:
    return f"{tenant_id}:{code.lower()}"


def is_active(row: dict[str, Any], on: date | None = None) -> bool:
    on = on or date.today()
    return row["valid_from"] <= on and (row["valid_to"] is None or row["valid_to"] > on)


def to_read(row: dict[str, Any]) -> AgencyRead:
    return to_struct({**row, "active": is_active(row)}, AgencyRead)


async def _check_code_free(ctx: TenantContext, code: str, exclude: uuid.UUID | None = None) -> None:
    query = ctx.scope(Agency).select(Agency.id).where(Agency.code_key == code_key(ctx.tenant.id, code))
    row = await query.first()
    if row and row["id"] != exclude:
        raise Conflict(f"an agency with code {code!r} already exists in this province", field="code")


def _check_dates(valid_from: date, valid_to: date | None) -> None:
    if valid_to is not None and valid_to < valid_from:
        raise BadRequest("valid_to must not be before valid_from", field="valid_to")


def _check_within_parent(parent: dict[str, Any] | None, valid_to: date | None) -> None:
    """A unit cannot outlive its parent: under a closed parent it must be closed by the same day."""
    if parent is None or parent["valid_to"] is None:
        return
    if valid_to is None or valid_to > parent["valid_to"]:
        raise Conflict(f"the parent agency {parent['code']!r} closed on {parent['valid_to'].isoformat()}; an agency "
                       "under it must be closed by then (move it under an open agency instead)", field="parent_id")


async def create(ctx: TenantContext, data: AgencyCreate) -> dict[str, Any]:
    parent = None
    if data.parent_id is not None:
        parent = await ctx.ensure_agency(data.parent_id, write=True)
    elif ctx.is_agency_bound:
        raise Forbidden("an agency officer may create agencies only under its own agency", field="parent_id")
    valid_from = data.valid_from or date.today()
    _check_dates(valid_from, data.valid_to)
    _check_within_parent(parent, data.valid_to)
    values = {
        "code": data.code, "code_key": code_key(ctx.tenant.id, data.code), "name": data.name,
        "name_folded": fold(data.name, NAME_FOLDED_MAX), "level": data.level, "parent_id": data.parent_id,
        "required": data.required, "valid_from": valid_from, "valid_to": data.valid_to,
    }
    if Agency._meta.db.current_transaction.get() is not None:  # a failed INSERT would end the caller's transaction
        await _check_code_free(ctx, data.code)
        return await ctx.scope(Agency).insert(values)
    try:  # alone: the unique index answers whether the code is taken (no read before; a race is a 409 too)
        return await ctx.scope(Agency).insert(values)
    except Exception as exc:
        if is_unique_violation(exc, "code_key"):
            raise Conflict(f"an agency with code {data.code!r} already exists in this province", field="code") from exc
        raise



async def _lock_tree(ctx: TenantContext) -> None:
    """Serialize changes to the shape of a tenant's tree (moves, closes) inside the caller's transaction, so two
    moves checked at the same moment cannot together make a cycle. SQLite's write transactions are already
    serialized (IMMEDIATE); PostgreSQL locks the tenant's row until the transaction ends."""
    from core.db import is_sqlite
    from core.tenancy.tables import Tenant

    if not is_sqlite():
        await Tenant.raw("SELECT id FROM tenant WHERE id = {} FOR UPDATE", ctx.tenant.id)
    ctx._subtree_cache.clear()  # read the tree again under the lock


async def update(ctx: TenantContext, agency_id: uuid.UUID, data: AgencyUpdate) -> dict[str, Any]:
    async with transaction():
        if data.parent_id is not msgspec.UNSET:
            await _lock_tree(ctx)
        return await _update(ctx, agency_id, data)


async def _update(ctx: TenantContext, agency_id: uuid.UUID, data: AgencyUpdate) -> dict[str, Any]:
    current = await ctx.ensure_agency(agency_id, write=True)
    changes = {k: v for k, v in msgspec.structs.asdict(data).items() if v is not msgspec.UNSET}
    if "parent_id" in changes and changes["parent_id"] != current["parent_id"]:
        new_parent = changes["parent_id"]
        if new_parent is None:
            if ctx.is_agency_bound:
                raise Forbidden("an agency officer may not make an agency a top-level unit", field="parent_id")
        else:
            await ctx.ensure_agency(new_parent, write=True)
            if new_parent in await ctx.agency_subtree(current["id"]):
                raise Conflict("an agency cannot be moved under itself or one of its sub-units", field="parent_id")
    if "code" in changes:
        await _check_code_free(ctx, changes["code"], exclude=current["id"])
        changes["code_key"] = code_key(ctx.tenant.id, changes["code"])
    if "name" in changes:
        changes["name_folded"] = fold(changes["name"], NAME_FOLDED_MAX)
    _check_dates(changes.get("valid_from", current["valid_from"]), changes.get("valid_to", current["valid_to"]))
    if "parent_id" in changes or "valid_to" in changes:
        parent_id = changes.get("parent_id", current["parent_id"])
        parent = await ctx.scope(Agency).get(parent_id, label="agency") if parent_id is not None else None
        _check_within_parent(parent, changes.get("valid_to", current["valid_to"]))
    if not changes:
        return current
    return await ctx.scope(Agency).update(current["id"], changes)


async def close(ctx: TenantContext, agency_id: uuid.UUID, on: date | None = None) -> dict[str, Any]:
    """Close an agency (sets valid_to). Nothing is deleted; open sub-units must be closed or moved first."""
    async with transaction():
        await _lock_tree(ctx)
        return await _close(ctx, agency_id, on)


async def _close(ctx: TenantContext, agency_id: uuid.UUID, on: date | None) -> dict[str, Any]:
    current = await ctx.ensure_agency(agency_id, write=True)
    on = on or date.today()
    if current["valid_to"] is not None and current["valid_to"] <= on:
        return current
    open_children = await ctx.scope(Agency).count().where(
        (Agency.parent_id == current["id"]) & (Agency.valid_to.is_null() | (Agency.valid_to > on))
    )
    if open_children:
        raise Conflict(f"the agency has {open_children} open sub-unit(s); close or move them first")
    return await ctx.scope(Agency).update(current["id"], {"valid_to": max(on, current["valid_from"])}, action="close")


# levels in the tree's order (province first, communes and units last), not alphabetically
LEVEL_CASE = "CASE level " + " ".join(f"WHEN '{name}' THEN {i}" for i, name in enumerate(LEVELS)) + \
    f" ELSE {len(LEVELS)} END"
LEVEL_ORDER = OrderByRaw(LEVEL_CASE)
# The agencies of a province as lists show them (the list, the certification board): by level, then name, then
# code (the primary key breaks the last ties). The index agency_list_order (tenant_id, LEVEL_CASE, name_folded,
# code, id) holds this order, so a page is read from it instead of sorting the province.
LIST_ORDER = (LEVEL_ORDER, Agency.name_folded, Agency.code)


async def search(ctx: TenantContext, *, level: str | None, parent_id: uuid.UUID | None, required: bool | None,
                 active: bool | None, active_on: date | None, q: str | None, limit: int, offset: int
                 ) -> tuple[list[AgencyRead], int]:
    """A page of the province's agencies in the tree's level order, then by name, as API structs (`active`: open
    today)."""
    conds = []
    if level:
        conds.append(Agency.level == level)
    if parent_id:
        conds.append(Agency.parent_id == parent_id)
    if required is not None:
        conds.append(Agency.required == required)
    if active is not None or active_on is not None:
        on = active_on or date.today()
        is_open = (Agency.valid_from <= on) & (Agency.valid_to.is_null() | (Agency.valid_to > on))
        if active is False:
            conds.append((Agency.valid_from > on) | (Agency.valid_to <= on))
        else:
            conds.append(is_open)
    if q and q.strip():
        pattern = like_pattern(q)  # codes match after the "<tenant_id>:" prefix of code_key, never inside it
        conds.append(Agency.name_folded.like(pattern) | Agency.code_key.like(f"{ctx.tenant.id}:{pattern}"))
    today = date.today()
    return await ctx.scope(Agency).page(*conds, order_by=LIST_ORDER, limit=limit,
                                        offset=offset, into=AgencyRead,
                                        computed={"active": lambda row: is_active(row, today)})
