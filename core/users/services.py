"""Users of a tenant: an agency officer is bound to one agency; nobody locks themselves out."""

from __future__ import annotations

import uuid
from typing import Any

import msgspec
import structlog

from core.auth import hash_password, hash_password_async
from core.db import platform_access
from core.errors import BadRequest, Conflict
from core.users.tables import User
from core.tenancy import unscoped
from core.tenancy.context import TenantContext
from core.text import fold, like_pattern
from core.users.schemas import PlatformUserCreate, UserCreate, UserUpdate

FULL_NAME_FOLDED_MAX = User.full_name_folded.length
EMAIL_UNUSABLE = ("this email cannot be used for a new account; check the address, or ask the platform operator if "
                  "the person already has an isogov account")
log = structlog.get_logger("isogov.users")


async def _email_taken(email: str) -> bool:
    # emails are unique across the platform (they are the sign-in name): the platform path, even in a tenant's request
    with platform_access("email uniqueness"), unscoped("email uniqueness"):
        return await User.exists().where(User.email == email)


async def _check_agency(ctx: TenantContext, role: str, agency_id: uuid.UUID | None) -> None:
    if agency_id is not None:
        await ctx.ensure_agency(agency_id)
    if role == "agency_officer" and agency_id is None:
        raise BadRequest("an agency officer must be bound to an agency", field="agency_id")


async def create(ctx: TenantContext, data: UserCreate) -> dict[str, Any]:
    email = data.email.strip().lower()
    await _check_agency(ctx, data.role, data.agency_id)
    if await _email_taken(email):
        # the same answer whether the address is used in this province, another one or by a platform user: it
        # names neither the account nor where it is (emails are platform-wide sign-in names)
        log.info("user not created: email already registered", email=email)
        raise Conflict(EMAIL_UNUSABLE, field="email")
    return await add_user(ctx, email=email, full_name=data.full_name, role=data.role, agency_id=data.agency_id,
                          password_hash=await hash_password_async(data.password))


async def add_user(ctx: TenantContext, *, email: str, full_name: str, role: str, agency_id: uuid.UUID | None,
                   password_hash: str, action: str = "create") -> dict[str, Any]:
    """Insert a user of ctx's tenant whose input was checked (create(), the demo seed, test fixtures)."""
    return await ctx.scope(User, private=True).insert({
        "email": email, "full_name": full_name, "full_name_folded": fold(full_name, FULL_NAME_FOLDED_MAX),
        "role": role, "agency_id": agency_id, "password_hash": password_hash, "active": True,
    }, action=action)


async def update(ctx: TenantContext, user_id: uuid.UUID, data: UserUpdate) -> dict[str, Any]:
    current = await ctx.scope(User).get(user_id, label="user")
    changes = {k: v for k, v in msgspec.structs.asdict(data).items() if v is not msgspec.UNSET}
    role = changes.get("role", current["role"])
    agency_id = changes.get("agency_id", current["agency_id"])
    if "role" in changes or "agency_id" in changes:
        await _check_agency(ctx, role, agency_id)
    if current["id"] == ctx.actor.id and (changes.get("active") is False or role != current["role"]):
        raise Conflict("you cannot deactivate yourself or change your own role")
    if "password" in changes:  # an admin's reset: tokens issued before stop at once
        changes["password_hash"] = await hash_password_async(changes.pop("password"))
        private = await ctx.scope(User, private=True).get(user_id, label="user")
        changes["token_version"] = int(private.get("token_version") or 0) + 1
    if "full_name" in changes:
        changes["full_name_folded"] = fold(changes["full_name"], FULL_NAME_FOLDED_MAX)
    if not changes:
        return current
    return await ctx.scope(User, private=True).update(current["id"], changes)


async def search(ctx: TenantContext, *, role: str | None, agency_id: uuid.UUID | None, active: bool | None,
                 q: str | None, limit: int, offset: int, into: type | None = None) -> tuple[list[Any], int]:
    """A page of the tenant's users by email (as dicts, or as `into`: see `Scope.page`)."""
    conds = []
    if role:
        conds.append(User.role == role)
    if agency_id:
        conds.append(User.agency_id == agency_id)
    if active is not None:
        conds.append(User.active == active)
    if q and q.strip():
        pattern = like_pattern(q)
        conds.append(User.full_name_folded.like(pattern) | User.email.like(pattern))
    return await ctx.scope(User).page(*conds, order_by=(User.email,), limit=limit, offset=offset, into=into)


def _field_of_error(message: str) -> str | None:
    """msgspec names the field at fault as "... - at `$.email`"."""
    marker = "at `$."
    return message.split(marker, 1)[1].split("`", 1)[0] if marker in message else None


async def create_platform_user(email: str, full_name: str, role: str, password: str) -> dict[str, Any]:
    """A platform admin or national reviewer (no tenant). Used by the CLI."""
    from core.audit import record
    from core.db import transaction

    if role not in ("platform_admin", "national_reviewer"):
        raise BadRequest("platform users are platform_admin or national_reviewer", field="role")
    try:
        data = msgspec.convert({"email": email.strip(), "full_name": full_name, "password": password},
                               PlatformUserCreate)
    except msgspec.ValidationError as exc:
        raise BadRequest(f"invalid user: {exc}", field=_field_of_error(str(exc))) from exc
    email, full_name, password = data.email.lower(), data.full_name, data.password
    if await _email_taken(email):
        raise Conflict(f"a user with email {email!r} already exists", field="email")
    user_id = uuid.uuid4()
    async with transaction():
        with unscoped():
            await User.insert(User(id=user_id, tenant_id=None, email=email, full_name=full_name,
                                   full_name_folded=fold(full_name, FULL_NAME_FOLDED_MAX), role=role, password_hash=hash_password(password)))
            row = await User.select().where(User.id == user_id).first()
        await record(None, action="create", entity="app_user", entity_id=user_id,
                     after={**row, "password_hash": "***"})
    return row
