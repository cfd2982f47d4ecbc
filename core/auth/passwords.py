"""Password changes: a user's own change (old password required) and the one-time emailed reset link.

Every change raises the user's `token_version`, so tokens issued before it stop at once. A reset request always
answers the same (no account enumeration); it queues the job `core:send_password_reset` through the outbox
(the workers create the link's secret, keep only its SHA-256 and mail the link — the secret exists nowhere
else). A link expires after `RESET_TTL_SECONDS` and works once; a newer link or a password change voids the
older ones. Requests are limited per address (429) and per account (further requests are silently not mailed).
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

import structlog

from core.audit import record
from core.auth import hash_password_async, verify_password_async
from core.db import transaction
from core.errors import BadRequest, TooManyRequests
from core.settings import Settings
from core.tenancy import unscoped

log = structlog.get_logger("isogov.auth")

RESET_JOB = "core:send_password_reset"
RESET_TTL_SECONDS = 1800
RESETS_PER_ACCOUNT = 3  # per sign-in window; more requests are answered alike but not mailed
RESETS_PER_ADDRESS = 10


def secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


async def set_password(user: dict[str, Any], new_password: str, *, action: str,
                       actor: Any = None) -> int:
    """Store a new password for `user` (a row of app_user), raise its token version, void its reset links, and
    audit it; returns the new token version. Call inside a transaction."""
    from core.users.tables import PasswordReset, User

    version = int(user.get("token_version") or 0) + 1
    now = datetime.now(timezone.utc)
    with unscoped():
        await User.update({User.password_hash: await hash_password_async(new_password), User.token_version: version,
                           User.updated_at: now}).where(User.id == user["id"])
    await PasswordReset.update({PasswordReset.used_at: now}).where(
        (PasswordReset.user_id == user["id"]) & PasswordReset.used_at.is_null())
    await record(None, action=action, entity="app_user", entity_id=user["id"], tenant_id=user.get("tenant_id"),
                 before={"password": "***"}, after={"password": "***", "changed_by": str(actor or user["id"])})
    return version


async def change_own_password(user_id: uuid.UUID, old_password: str, new_password: str) -> int:
    from core.users.tables import User

    with unscoped():
        user = await User.select().where(User.id == user_id).first()
    if user is None or not await verify_password_async(user["password_hash"], old_password):
        raise BadRequest("the current password is wrong", field="old_password")
    if old_password == new_password:
        raise BadRequest("the new password must differ from the current one", field="new_password")
    async with transaction():
        return await set_password(user, new_password, action="password_change")


async def _count(key: str, since: datetime) -> int:
    from core.users.tables import LoginFailure

    return await LoginFailure.count().where((LoginFailure.key == key) & (LoginFailure.at > since))


async def request_reset(email: str, address: str, settings: Settings) -> None:
    """Queue a reset mail for an active account with this email; the caller answers the same either way."""
    from core.notifications.services import outbox_row
    from core.notifications.tables import OutboxMessage
    from core.users.tables import LoginFailure, User

    email = email.strip().lower()
    now = datetime.now(timezone.utc)
    since = now - timedelta(seconds=settings.login_window_seconds)
    address_key, account_key = f"reset-address:{address}", f"reset:{email}"
    if await _count(address_key, since) >= RESETS_PER_ADDRESS:
        raise TooManyRequests("too many password reset requests from this address; try again later",
                              headers={"Retry-After": str(settings.login_window_seconds)})
    sent_before = await _count(account_key, since)
    await LoginFailure.insert(LoginFailure(id=uuid.uuid4(), key=address_key, at=now),
                              LoginFailure(id=uuid.uuid4(), key=account_key, at=now))
    if sent_before >= RESETS_PER_ACCOUNT:
        log.info("password reset not sent: too many for this account", email=email)
        return
    with unscoped():
        user = await User.select(User.id, User.tenant_id, User.active).where(User.email == email).first()
    if user is None or not user["active"]:
        return
    request_id = uuid.uuid4()
    async with transaction():
        with unscoped():
            await OutboxMessage.insert(outbox_row(user["tenant_id"], RESET_JOB, f"{RESET_JOB}:{request_id}",
                                                  {"user_id": str(user["id"])}))
    log.info("password reset queued", user_id=str(user["id"]))


async def confirm_reset(secret: str, new_password: str) -> None:
    from core.users.tables import PasswordReset, User

    now = datetime.now(timezone.utc)
    async with transaction():
        found = await PasswordReset.select().where(PasswordReset.token_hash == secret_hash(secret)).first()
        if found is None or found["used_at"] is not None or _aware(found["expires_at"]) <= now:
            raise BadRequest("this reset link is unknown, used or expired; ask for a new one", field="token")
        # single use even when two requests race: only the one whose update matched goes on
        claimed = await PasswordReset.update({PasswordReset.used_at: now}).where(
            (PasswordReset.id == found["id"]) & PasswordReset.used_at.is_null()).returning(PasswordReset.id)
        if not claimed:
            raise BadRequest("this reset link is unknown, used or expired; ask for a new one", field="token")
        with unscoped():
            user = await User.select().where(User.id == found["user_id"]).first()
        if user is None or not user["active"]:
            raise BadRequest("this reset link is unknown, used or expired; ask for a new one", field="token")
        await set_password(user, new_password, action="password_reset")


async def create_reset(user_id: uuid.UUID | str, secret: str) -> bool:
    """Store a reset link's hash for an active user (the worker's job, which then mails the secret); False when
    the user is gone or deactivated."""
    from core.users.tables import PasswordReset, User

    now = datetime.now(timezone.utc)
    with unscoped():
        user = await User.select(User.id, User.active).where(User.id == uuid.UUID(str(user_id))).first()
    if user is None or not user["active"]:
        return False
    async with transaction():
        await PasswordReset.update({PasswordReset.used_at: now}).where(
            (PasswordReset.user_id == user["id"]) & PasswordReset.used_at.is_null())  # one live link at a time
        await PasswordReset.insert(PasswordReset(id=uuid.uuid4(), user_id=user["id"], token_hash=secret_hash(secret),
                                                 created_at=now, expires_at=now + timedelta(seconds=RESET_TTL_SECONDS),
                                                 used_at=None))
        await PasswordReset.delete().where(PasswordReset.expires_at < now - timedelta(days=1))
    return True


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
