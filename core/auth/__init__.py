"""Passwords (argon2), bearer tokens (Litestar's JWT auth), sign-in under rate limits.

Tokens carry the user's `token_version`; every password change raises it, so tokens issued before stop at once
(checked in the one user lookup each request already does). Only the `Bearer` scheme is accepted.

Sign-in limits follow OWASP's authentication guidance: a hard limit per (account, address) pair and per address,
and for the account as a whole a growing delay instead of a lock the owner cannot pass (see `authenticate`).
argon2 runs in worker threads, at most `HASH_CONCURRENCY` at a time, never on the event loop.
"""

from __future__ import annotations

import time
import uuid
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from typing import Any

import anyio
import structlog
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException
from litestar.middleware import AuthenticationResult
from litestar.security.jwt import JWTAuth, JWTAuthenticationMiddleware, Token

from core.errors import Forbidden, TooManyRequests, Unauthorized
from core.settings import Settings, get_settings
from core.tenancy import Actor, TenantInfo, unscoped
from core.tenancy.rls import ACTOR_FUNCTION

log = structlog.get_logger("isogov.auth")

PUBLIC_PATHS = ["/health", "/ready", "/api/v1/auth/login", "/api/v1/auth/password-reset", "/schema"]


def client_address(connection: ASGIConnection, settings: Settings) -> str:
    """The client's address: the TCP peer, or, when the peer is one of ISOGOV_TRUSTED_PROXIES, the nearest
    address in X-Forwarded-For that is not a trusted proxy (a client can prepend anything to the header; only
    what trusted proxies appended counts). uvicorn runs without proxy headers: this is the one place."""
    import ipaddress

    peer = connection.client.host if connection.client else "unknown"
    if not settings.trusted_proxies:
        return peer
    networks = [ipaddress.ip_network(n) for n in settings.trusted_proxies]

    def trusted(value: str) -> bool:
        try:
            address = ipaddress.ip_address(value.strip())
        except ValueError:
            return False
        return any(address in net for net in networks)

    if not trusted(peer):
        return peer
    hops = [h.strip() for h in ",".join(connection.headers.getall("x-forwarded-for", [])).split(",") if h.strip()]
    for hop in reversed(hops):
        if not trusted(hop):
            try:
                return str(ipaddress.ip_address(hop))
            except ValueError:
                return peer
    return hops[0] if hops else peer


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


HASH_CONCURRENCY = 4  # argon2 uses 64 MiB and ~50 ms per hash: a few at a time, in threads
_hash_limiter: anyio.CapacityLimiter | None = None


def _limiter() -> anyio.CapacityLimiter:
    global _hash_limiter
    if _hash_limiter is None:
        _hash_limiter = anyio.CapacityLimiter(HASH_CONCURRENCY)
    return _hash_limiter


async def hash_password_async(password: str) -> str:
    """`hash_password` in a bounded thread pool (request paths use this one)."""
    return await anyio.to_thread.run_sync(hash_password, password, limiter=_limiter())


async def verify_password_async(password_hash: str, password: str) -> bool:
    return await anyio.to_thread.run_sync(verify_password, password_hash, password, limiter=_limiter())


# A hash to verify against when the account does not exist, so timing does not reveal which emails exist.
@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return hash_password("isogov-no-such-account")


_ACTOR_SQL = (
    "SELECT u.id, u.email, u.role, u.tenant_id, u.agency_id, u.full_name, u.token_version, "
    "t.code AS tenant_code, t.name AS tenant_name, t.status AS tenant_status "
    "FROM app_user u LEFT JOIN tenant t ON t.id = u.tenant_id WHERE u.id = {} AND u.active = {}"
)


ACTOR_REASON = "signed-in user"
_ACTOR_CALL = f"SELECT * FROM {ACTOR_FUNCTION}($1)"


async def load_actor(user_id: Any, token_version: Any = None) -> Actor | None:
    """The active user behind a token, with its tenant, in one query; None when unknown, deactivated, the tenant
    is not active, or (given the token's `token_version`) the password changed after the token was issued."""
    from core import db

    try:
        uid = uuid.UUID(str(user_id))
    except ValueError:
        return None
    if db.direct_pg() and getattr(db.engine(), "actor_function", False):
        # PostgreSQL under its policies: one statement, the function carries the platform path itself
        db.note_platform_access(ACTOR_REASON)
        rows = await db.fetch_unbound(_ACTOR_CALL, (uid,))
    else:
        with db.platform_access(ACTOR_REASON):  # users of every tenant (and platform users): row-level security
            rows = await db.fetch(_ACTOR_SQL, uid, True)  # straight to the driver where it can, no query building
    if not rows:
        return None
    row = rows[0]
    if token_version is not None and token_version != (row["token_version"] or 0):
        return None
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
    version = token.extras.get("tv", 0)
    if not isinstance(version, int) or isinstance(version, bool):
        return None
    actor = await load_actor(token.sub, version)
    if actor is not None:
        structlog.contextvars.bind_contextvars(user_id=str(actor.id))
    return actor


VERIFIED_TOKENS_MAX = 10_000  # tokens whose signature this process checked already (dropped all at once when full)
_VERIFIED: dict[tuple[str, str], tuple[float, Token]] = {}


class BearerAuthenticationMiddleware(JWTAuthenticationMiddleware):
    """Litestar's JWT middleware takes whatever follows the first space (`Basic <jwt>` passed): only `Bearer`."""

    async def authenticate_request(self, connection: ASGIConnection) -> AuthenticationResult:
        scheme, _, token = (connection.headers.get(self.auth_header) or "").strip().partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise NotAuthorizedException("send the access token as `Authorization: Bearer <token>`")
        return await self.authenticate_token(encoded_token=token.strip(), connection=connection)

    async def authenticate_token(self, encoded_token: str, connection: ASGIConnection) -> AuthenticationResult:
        """Litestar's check (signature, expiry, claims), done once per token and process: a token verified before
        is taken from `_VERIFIED` until its `exp` passes. The user lookup (active, tenant active, `token_version`,
        so sign-out by password change) still runs on every request."""
        key = (self.token_secret, encoded_token)
        cached = _VERIFIED.get(key)
        if cached is not None and cached[0] > time.time():
            token = cached[1]
        else:
            token = self.token_cls.decode(
                encoded_token=encoded_token, secret=self.token_secret, algorithm=self.algorithm,
                audience=self.token_audience, issuer=self.token_issuer, require_claims=self.require_claims,
                verify_exp=self.verify_expiry, verify_nbf=self.verify_not_before, strict_audience=self.strict_audience,
            )
            if "nbf" not in token.extras:  # valid from now until its exp (a future nbf fails decode anyway)
                if len(_VERIFIED) >= VERIFIED_TOKENS_MAX:
                    _VERIFIED.clear()
                _VERIFIED[key] = (token.exp.timestamp(), token)
        user = await self.retrieve_user_handler(token, connection)
        if not user or (self.revoked_token_handler and await self.revoked_token_handler(token, connection)):
            raise NotAuthorizedException()
        return AuthenticationResult(user=user, auth=token)


def make_jwt_auth(settings: Settings) -> JWTAuth[Actor, Token]:
    return JWTAuth[Actor, Token](
        retrieve_user_handler=_retrieve_user,
        authentication_middleware_class=BearerAuthenticationMiddleware,
        token_secret=settings.secret_key,
        exclude=PUBLIC_PATHS,
        default_token_expiration=timedelta(seconds=settings.token_ttl_seconds),
        openapi_security_scheme_name="BearerToken",
    )


def issue_token(jwt_auth: JWTAuth[Actor, Token], user_id: uuid.UUID, token_version: int = 0) -> str:
    return jwt_auth.create_token(identifier=str(user_id), token_unique_jwt_id=uuid.uuid4().hex,
                                 token_extras={"tv": int(token_version or 0)})


async def _failure_counts(keys: list[str], since: datetime) -> dict[str, int]:
    from piccolo.query.functions.aggregate import Count

    from core.users.tables import LoginFailure

    rows = await LoginFailure.select(LoginFailure.key, Count(LoginFailure.id, alias="n")).where(
        LoginFailure.key.is_in(keys) & (LoginFailure.at > since)).group_by(LoginFailure.key)
    return {row["key"]: row["n"] for row in rows}


def account_delay(failures: int, settings: Settings) -> int:
    """Seconds an account waits between sign-in attempts after `failures` recent failures (from any address):
    none below the limit, then 1, 2, 4, ... up to ISOGOV_LOGIN_DELAY_MAX_SECONDS."""
    if failures < settings.login_max_failures:
        return 0
    return min(2 ** min(failures - settings.login_max_failures, 30), settings.login_delay_max_seconds)


async def authenticate_user(email: str, password: str, address: str, settings: Settings) -> dict[str, Any]:
    """Check credentials under the rate limits; return the user row or raise 401 / 403 / 429 problems.

    - (account, address): `login_max_failures` failures in the window refuse that pair until the window passes;
    - address: `login_max_failures_per_address` failures (any accounts) refuse the address likewise;
    - account (from anywhere): past `login_max_failures` failures every attempt must wait a growing delay
      (`account_delay`, capped) after the last failure, so guessing slows to a crawl while the owner, from
      another address, gets in after at most the cap. Knowing an email no longer locks its owner out.
    """
    from core.tenancy.tables import Tenant
    from core.users.tables import LoginFailure, User

    email = email.strip().lower()
    now = datetime.now(timezone.utc)
    since = now - timedelta(seconds=settings.login_window_seconds)
    account_key, address_key, pair_key = f"account:{email}", f"address:{address}", f"pair:{email}|{address}"
    retry = {"Retry-After": str(settings.login_window_seconds)}
    counts = await _failure_counts([account_key, address_key, pair_key], since)
    if counts.get(pair_key, 0) >= settings.login_max_failures:
        raise TooManyRequests("too many failed sign-ins for this account from this address; try again later",
                              headers=retry)
    if counts.get(address_key, 0) >= settings.login_max_failures_per_address:
        raise TooManyRequests("too many failed sign-ins from this address; try again later", headers=retry)
    delay = account_delay(counts.get(account_key, 0), settings)
    if delay:
        last = await LoginFailure.select(LoginFailure.at).where(LoginFailure.key == account_key).order_by(
            LoginFailure.at, ascending=False).first()
        at = last["at"] if last else now - timedelta(seconds=delay)
        at = at if at.tzinfo else at.replace(tzinfo=timezone.utc)
        wait = (at + timedelta(seconds=delay) - now).total_seconds()
        if wait > 0:
            raise TooManyRequests(f"this account had many failed sign-ins; wait {int(wait) + 1} s and try again",
                                  headers={"Retry-After": str(int(wait) + 1)})

    with unscoped():
        row = await User.select().where(User.email == email).first()
    ok = await verify_password_async(row["password_hash"] if row else _dummy_hash(), password)
    if not row or not ok or not row["active"]:
        await LoginFailure.insert(*(LoginFailure(id=uuid.uuid4(), key=key, at=now)
                                    for key in (account_key, address_key, pair_key)))
        log.info("login failed", email=email, address=address)
        raise Unauthorized("wrong email or password, or the account is deactivated")
    if row["tenant_id"] is not None:
        tenant = await Tenant.select(Tenant.status, Tenant.code).where(Tenant.id == row["tenant_id"]).first()
        if tenant is None or tenant["status"] != "active":
            raise Forbidden("this account's province is suspended; ask the platform operator")
    await LoginFailure.delete().where(LoginFailure.key.is_in([account_key, pair_key]))
    with unscoped():
        await User.update({User.last_login_at: now}).where(User.id == row["id"])
    await LoginFailure.delete().where(LoginFailure.at < since)  # keep the table small
    log.info("login", user_id=str(row["id"]))
    return row


async def authenticate(email: str, password: str, address: str, settings: Settings) -> uuid.UUID:
    """`authenticate_user`, returning only the user id."""
    return (await authenticate_user(email, password, address, settings))["id"]
