"""People rules: agency and linked user of the same tenant, one person per user, one open person per email,
agency officers write only for their agency's sub-tree, close instead of delete."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

import msgspec

from core.errors import Conflict, Forbidden
from core.people.schemas import PersonCreate, PersonRead, PersonUpdate
from core.people.tables import Person
from core.schemas import to_struct
from core.tenancy.context import TenantContext
from core.text import fold, like_pattern
from core.users.tables import User

FULL_NAME_FOLDED_MAX = Person.full_name_folded.length


def is_open(row: dict[str, Any], on: date | None = None) -> bool:
    return row["closed_on"] is None or row["closed_on"] > (on or date.today())


def to_read(row: dict[str, Any]) -> PersonRead:
    return to_struct({**row, "active": is_open(row)}, PersonRead)


def open_on(on: date) -> Any:
    """The condition "not closed on `on`"."""
    return Person.closed_on.is_null() | (Person.closed_on > on)


def normalize_email(email: str | None) -> str | None:
    return email.strip().lower() if email and email.strip() else None


async def check_agency(ctx: TenantContext, agency_id: uuid.UUID | None) -> None:
    """The agency a person is written for: this tenant's (404 otherwise), in an agency officer's sub-tree (403)."""
    if agency_id is not None:
        await ctx.ensure_agency(agency_id, write=True)
    elif ctx.is_agency_bound:
        raise Forbidden("an agency officer may write only people of its own agency and its sub-units",
                        field="agency_id")


async def check_user(ctx: TenantContext, user_id: uuid.UUID, exclude: uuid.UUID | None = None) -> None:
    """A linked user: of this tenant (404 otherwise) and not already linked to another person (409)."""
    await ctx.scope(User).get(user_id, label="user")
    linked = await ctx.scope(Person).select(Person.id, Person.full_name).where(Person.user_id == user_id).first()
    if linked and linked["id"] != exclude:
        raise Conflict(f"user {user_id} is already linked to another person ({linked['full_name']})",
                       field="user_id")


async def email_owner(ctx: TenantContext, email: str) -> dict[str, Any] | None:
    """The open person who has this email, if any."""
    return await ctx.scope(Person).select(Person.id, Person.full_name).where(
        (Person.email == email) & open_on(date.today())).first()


async def check_email(ctx: TenantContext, email: str | None, exclude: uuid.UUID | None = None) -> None:
    if email is None:
        return
    owner = await email_owner(ctx, email)
    if owner and owner["id"] != exclude:
        raise Conflict(f"the email {email!r} belongs to another person of this province ({owner['full_name']})",
                       field="email")


async def create(ctx: TenantContext, data: PersonCreate) -> dict[str, Any]:
    await check_agency(ctx, data.agency_id)
    email = normalize_email(data.email)
    await check_email(ctx, email)
    if data.user_id is not None:
        await check_user(ctx, data.user_id)
    return await ctx.scope(Person).insert({
        "full_name": data.full_name.strip(), "full_name_folded": fold(data.full_name, FULL_NAME_FOLDED_MAX),
        "agency_id": data.agency_id, "position": data.position.strip(), "email": email,
        "phone": data.phone.strip() if data.phone else None, "user_id": data.user_id,
    })


async def writable(ctx: TenantContext, person_id: uuid.UUID) -> dict[str, Any]:
    """The person (404 when not this tenant's), after checking an agency officer may write it (403)."""
    current = await ctx.scope(Person).get(person_id, label="person")
    if ctx.is_agency_bound:
        await check_agency(ctx, current["agency_id"])
    return current


async def update(ctx: TenantContext, person_id: uuid.UUID, data: PersonUpdate) -> dict[str, Any]:
    current = await writable(ctx, person_id)
    changes = {k: v for k, v in msgspec.structs.asdict(data).items() if v is not msgspec.UNSET}
    if "agency_id" in changes and changes["agency_id"] != current["agency_id"]:
        await check_agency(ctx, changes["agency_id"])
    if "full_name" in changes:
        changes["full_name"] = changes["full_name"].strip()
        changes["full_name_folded"] = fold(changes["full_name"], FULL_NAME_FOLDED_MAX)
    if "position" in changes:
        changes["position"] = changes["position"].strip()
    if "email" in changes:
        changes["email"] = normalize_email(changes["email"])
        if changes["email"] != current["email"] and is_open(current):
            await check_email(ctx, changes["email"], exclude=current["id"])
    if "phone" in changes and changes["phone"] is not None:
        changes["phone"] = changes["phone"].strip()
    if changes.get("user_id") is not None and changes["user_id"] != current["user_id"]:
        await check_user(ctx, changes["user_id"], exclude=current["id"])
    if not changes:
        return current
    return await ctx.scope(Person).update(current["id"], changes)


async def close(ctx: TenantContext, person_id: uuid.UUID, on: date | None = None) -> dict[str, Any]:
    """Close a person (sets closed_on; nothing is deleted). Closing a closed person changes nothing."""
    current = await writable(ctx, person_id)
    on = on or date.today()
    if current["closed_on"] is not None and current["closed_on"] <= on:
        return current
    return await ctx.scope(Person).update(current["id"], {"closed_on": on}, action="close")


async def search(ctx: TenantContext, *, agency_id: uuid.UUID | None, include_subunits: bool,
                 user_id: uuid.UUID | None, active_on: date | None, include_closed: bool, q: str | None,
                 limit: int, offset: int) -> tuple[list[dict[str, Any]], int]:
    conds = []
    if agency_id is not None:
        await ctx.ensure_agency(agency_id)
        if include_subunits:
            conds.append(Person.agency_id.is_in(list(await ctx.agency_subtree(agency_id))))
        else:
            conds.append(Person.agency_id == agency_id)
    if user_id is not None:
        conds.append(Person.user_id == user_id)
    if not include_closed:
        conds.append(open_on(active_on or date.today()))
    if q and q.strip():
        pattern = like_pattern(q)
        conds.append(Person.full_name_folded.like(pattern) | Person.email.like(pattern))
    return await ctx.scope(Person).page(*conds, order_by=(Person.full_name_folded,), limit=limit, offset=offset)


async def merge_report(merge: Any) -> Any:
    """The people part of a tenant merge: how many people the sources hold, and every email held by open people
    of two of the merged tenants (kept both: officials close the duplicate by hand; new writes keep the rule)."""
    from core.contracts import MergeConflict, MergeReport
    from core.tenancy import unscoped

    tenants = [s.id for s in merge.sources] + [merge.target.id]
    with unscoped():  # the merge is platform code acting on the merged tenants only
        moved = await Person.count().where(Person.tenant_id.is_in([s.id for s in merge.sources]))
        rows = await Person.select(Person.id, Person.tenant_id, Person.email).where(
            Person.tenant_id.is_in(tenants) & Person.email.is_not_null() & open_on(merge.effective_on))
    holders: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        holders.setdefault(row["email"], []).append(row)
    conflicts = tuple(
        MergeConflict(module="people", kind="person_email", key=email,
                      detail=f"{len(found)} open people of the merged provinces share this email "
                             f"({', '.join(str(r['id']) for r in found)})",
                      rule="all kept; close the duplicate person by hand")
        for email, found in sorted(holders.items()) if len(found) > 1)
    return MergeReport(module="people", moved={"person": moved}, conflicts=conflicts)
