"""Passwords (argon2), bearer tokens (Litestar's JWT auth), sign-in with a per-account and per-address limit."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from typing import Any

import structlog
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from litestar.connection import ASGIConnection
from litestar.security.jwt import JWTAuth, Token

from core.errors import Forbidden, TooManyRequests, Unauthorized
from core.settings import Settings, get_settings
from core.tenancy import Actor, TenantInfo, unscoped

log = structlog.get_logger("isogov.auth")

PUBLIC_PATHS = ["/health", "/ready", "/api/v1/auth/login", "/schema"]


@lru_cache(maxsize=2)
def _hasher(mode: str) -> PasswordHasher:
    if mode == "fast":  # tests only: same algorithm, a fraction of the cost
        return PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    return PasswordHasher()


def hash_password(password: str) -> str:
    return _hasher(get_settings().password_hash).hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher(get_settings().password_hash).verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


# A hash to verify against when the account does not exist, so timing does not reveal which emails exist.
@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return hash_password("isogov-no-such-account")


_ACTOR_SQL = (
    "SELECT u.id, u.email, u.role, u.tenant_id, u.agency_id, u.full_name, "
    "t.code AS tenant_code, t.name AS tenant_name, t.status AS tenant_status "
    "FROM app_user u LEFT JOIN tenant t ON t.id = u.tenant_id WHERE u.id = {} AND u.active = {}"
)


async def load_actor(user_id: Any) -> Actor | None:
    """The active user behind a token, with its tenant, in one query; None when unknown, deactivated, or the
    tenant is not active."""
    from core.users.tables import User

    try:
        uid = uuid.UUID(str(user_id))
    except ValueError:
        return None
    with unscoped():
        rows = await User.raw(_ACTOR_SQL, uid, True)
    if not rows:
        return None
    row = rows[0]
    tenant = None
    if row["tenant_id"] is not None:
        if row["tenant_status"] != "active":
            return None
        tenant = TenantInfo(id=_uuid(row["tenant_id"]), code=row["tenant_code"], name=row["tenant_name"],
                            status=row["tenant_status"])
    return Actor(id=_uuid(row["id"]), email=row["email"], role=row["role"], tenant_id=tenant.id if tenant else None,
                 agency_id=_uuid(row["agency_id"]), full_name=row["full_name"], tenant=tenant)


def _uuid(value: Any) -> uuid.UUID | None:
    return value if value is None or isinstance(value, uuid.UUID) else uuid.UUID(str(value))


async def _retrieve_user(token: Token, connection: ASGIConnection) -> Actor | None:
    actor = await load_actor(token.sub)
    if actor is not None:
        structlog.contextvars.bind_contextvars(user_id=str(actor.id))
    return actor


def make_jwt_auth(settings: Settings) -> JWTAuth[Actor, Token]:
    return JWTAuth[Actor, Token](
        retrieve_user_handler=_retrieve_user,
        token_secret=settings.secret_key,
        exclude=PUBLIC_PATHS,
        default_token_expiration=timedelta(seconds=settings.token_ttl_seconds),
        openapi_security_scheme_name="BearerToken",
    )


def issue_token(jwt_auth: JWTAuth[Actor, Token], user_id: uuid.UUID) -> str:
    return jwt_auth.create_token(identifier=str(user_id), token_unique_jwt_id=uuid.uuid4().hex)


async def _recent_failures(key: str, since: datetime) -> int:
    from core.users.tables import LoginFailure

    return await LoginFailure.count().where((LoginFailure.key == key) & (LoginFailure.at > since))


async def authenticate(email: str, password: str, address: str, settings: Settings) -> uuid.UUID:
    """Check credentials under the rate limit; return the user id or raise 401 / 403 / 429 problems."""
    from core.tenancy.tables import Tenant
    from core.users.tables import LoginFailure, User

    email = email.strip().lower()
    now = datetime.now(timezone.utc)
    since = now - timedelta(seconds=settings.login_window_seconds)
    account_key, address_key = f"account:{email}", f"address:{address}"
    retry = {"Retry-After": str(settings.login_window_seconds)}
    if await _recent_failures(account_key, since) >= settings.login_max_failures:
        raise TooManyRequests("too many failed sign-ins for this account; try again later", headers=retry)
    if await _recent_failures(address_key, since) >= settings.login_max_failures_per_address:
        raise TooManyRequests("too many failed sign-ins from this address; try again later", headers=retry)

    with unscoped():
        row = await User.select().where(User.email == email).first()
    ok = verify_password(row["password_hash"] if row else _dummy_hash(), password)
    if not row or not ok or not row["active"]:
        await LoginFailure.insert(LoginFailure(id=uuid.uuid4(), key=account_key, at=now),
                                  LoginFailure(id=uuid.uuid4(), key=address_key, at=now))
        log.info("login failed", email=email, address=address)
        raise Unauthorized("wrong email or password, or the account is deactivated")
    if row["tenant_id"] is not None:
        tenant = await Tenant.select(Tenant.status, Tenant.code).where(Tenant.id == row["tenant_id"]).first()
        if tenant is None or tenant["status"] != "active":
            raise Forbidden("this account's province is suspended; ask the platform operator")
    await LoginFailure.delete().where(LoginFailure.key == account_key)
    with unscoped():
        await User.update({User.last_login_at: now}).where(User.id == row["id"])
    await LoginFailure.delete().where(LoginFailure.at < since)  # keep the table small
    log.info("login", user_id=str(row["id"]))
    return row["id"]
