"""Users who sign in, and failed sign-ins kept for the rate limit."""

from __future__ import annotations

from piccolo.columns import UUID, Boolean, Integer, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from core.tenancy.base import TenantTable


class User(TenantTable, tablename="app_user"):
    """A person who signs in. Platform users (platform_admin, national_reviewer) have no tenant."""

    audit_redact = ("password_hash",)
    private_columns = ("password_hash", "token_version")  # only core.users and core.auth read or write them

    id = UUID(primary_key=True)
    tenant_id = UUID(null=True, default=None, index=True)
    email = Varchar(length=254, unique=True)
    full_name = Varchar(length=200)
    full_name_folded = Varchar(length=200)
    role = Varchar(length=30)
    agency_id = UUID(null=True, default=None)
    password_hash = Varchar(length=255)
    active = Boolean(default=True)
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())
    last_login_at = Timestamptz(null=True, default=None)
    # raised by every password change: tokens carry the version they were issued under and stop when it moves
    token_version = Integer(default=0)


class LoginFailure(Table, tablename="login_failure"):
    """A failed sign-in, kept for the rate limit window. `key` is "account:<email>" or "address:<ip>"."""

    id = UUID(primary_key=True)
    key = Varchar(length=300, index=True)
    at = Timestamptz(default=TimestamptzNow(), index=True)


class PasswordReset(Table, tablename="password_reset"):
    """A one-time password reset link: only the SHA-256 of its secret is kept; it expires and is used once."""

    id = UUID(primary_key=True)
    user_id = UUID(index=True)
    token_hash = Varchar(length=64, unique=True)
    created_at = Timestamptz(default=TimestamptzNow(), index=True)
    expires_at = Timestamptz()
    used_at = Timestamptz(null=True, default=None)
