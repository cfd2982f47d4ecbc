from __future__ import annotations

import uuid
from typing import Annotated

import msgspec
from litestar import Request, get, post

from core.auth import authenticate, issue_token
from core.auth.permissions import all_permissions, permissions_for
from core.schemas import NO_NUL
from core.settings import get_settings
from core.tenancy import Actor


class LoginIn(msgspec.Struct, forbid_unknown_fields=True):
    email: Annotated[str, msgspec.Meta(min_length=1, max_length=254, pattern=NO_NUL)]
    password: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]


class TokenOut(msgspec.Struct):
    access_token: str
    token_type: str
    expires_in: int


class MeOut(msgspec.Struct):
    id: uuid.UUID
    email: str
    full_name: str
    role: str
    tenant_code: str | None
    agency_id: uuid.UUID | None
    permissions: list[str]


@post("/api/v1/auth/login", summary="Sign in with email and password", status_code=200, exclude_from_auth=True)
async def login(request: Request, data: LoginIn) -> TokenOut:
    settings = get_settings()
    address = request.client.host if request.client else "unknown"
    user_id = await authenticate(data.email, data.password, address, settings)
    token = issue_token(request.app.state.jwt_auth, user_id)
    return TokenOut(access_token=token, token_type="bearer", expires_in=settings.token_ttl_seconds)


@get("/api/v1/me", summary="The signed-in user")
async def me(request: Request) -> MeOut:
    actor: Actor = request.user
    code = actor.tenant.code if actor.tenant else None
    if actor.role == "platform_admin":
        perms = sorted(p.name for p in all_permissions())
    else:
        perms = sorted(permissions_for(actor.role))
    return MeOut(id=actor.id, email=actor.email, full_name=actor.full_name, role=actor.role, tenant_code=code,
                 agency_id=actor.agency_id, permissions=perms)
