from __future__ import annotations

import uuid
from typing import Annotated

import msgspec
from litestar import Request, get, post

from core.auth import authenticate_user, client_address, issue_token
from core.auth import passwords
from core.auth.permissions import all_permissions, permissions_for
from core.schemas import NO_NUL
from core.settings import get_settings
from core.tenancy import Actor


class LoginIn(msgspec.Struct, forbid_unknown_fields=True):
    email: Annotated[str, msgspec.Meta(min_length=1, max_length=254, pattern=NO_NUL)]
    password: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]


NewPassword = Annotated[str, msgspec.Meta(min_length=8, max_length=200)]


class PasswordChangeIn(msgspec.Struct, forbid_unknown_fields=True):
    old_password: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    new_password: NewPassword


class ResetRequestIn(msgspec.Struct, forbid_unknown_fields=True):
    email: Annotated[str, msgspec.Meta(min_length=1, max_length=254, pattern=NO_NUL)]


class ResetConfirmIn(msgspec.Struct, forbid_unknown_fields=True):
    token: Annotated[str, msgspec.Meta(min_length=1, max_length=200, pattern=NO_NUL)]
    new_password: NewPassword


class Accepted(msgspec.Struct):
    detail: str


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
    user = await authenticate_user(data.email, data.password, client_address(request, settings), settings)
    token = issue_token(request.app.state.jwt_auth, user["id"], user["token_version"])
    return TokenOut(access_token=token, token_type="bearer", expires_in=settings.token_ttl_seconds)


@post("/api/v1/me/password", summary="Change my password (the current one is required); answers a new token",
      status_code=200)
async def change_password(request: Request, data: PasswordChangeIn) -> TokenOut:
    """Every token issued before stops working at once (on every device); the answer carries a fresh one."""
    settings = get_settings()
    version = await passwords.change_own_password(request.user.id, data.old_password, data.new_password)
    token = issue_token(request.app.state.jwt_auth, request.user.id, version)
    return TokenOut(access_token=token, token_type="bearer", expires_in=settings.token_ttl_seconds)


RESET_ANSWER = ("Nếu địa chỉ này có tài khoản đang hoạt động, một liên kết đặt lại mật khẩu đã được gửi tới đó. "
                "(If an active account has this email, a reset link has been sent to it.)")


@post("/api/v1/auth/password-reset", summary="Ask for a one-time password reset link by email", status_code=202,
      exclude_from_auth=True)
async def request_password_reset(request: Request, data: ResetRequestIn) -> Accepted:
    """The answer is the same whether or not the account exists. The link expires after 30 minutes and works once."""
    settings = get_settings()
    await passwords.request_reset(data.email, client_address(request, settings), settings)
    return Accepted(detail=RESET_ANSWER)


@post("/api/v1/auth/password-reset/confirm", summary="Set a new password with the token of a reset link",
      status_code=200, exclude_from_auth=True)
async def confirm_password_reset(data: ResetConfirmIn) -> Accepted:
    await passwords.confirm_reset(data.token, data.new_password)
    return Accepted(detail="Mật khẩu đã được đặt lại; hãy đăng nhập bằng mật khẩu mới. (The password is reset.)")


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
