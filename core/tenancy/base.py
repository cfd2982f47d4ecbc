"""The ownership base of every tenant-owned row, and who is acting.

Every tenant-owned table subclasses `TenantTable` and carries `tenant_id`. Building a query on such a table
directly (`Agency.select()`) raises `TenantScopeError`: code reaches the rows through `ctx.scope(Table)`
(`core.tenancy.context`), which filters by the context's tenant, hides soft-deleted rows, and audits every write
in the same transaction. Platform code that must read across tenants (login, national aggregates, workers) says
so explicitly with `with unscoped():`.

This module depends on nothing else in core but the engine (core.db), so tables of every part of core (agencies, users, audit) and of
every plugin can subclass `TenantTable` without an import cycle.
"""

from __future__ import annotations

import sys
import uuid
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, Iterator

from piccolo.table import Table

from core.db import bound_tenant, platform_access

_ACCESS: ContextVar[int] = ContextVar("isogov_tenant_access", default=0)


class TenantScopeError(RuntimeError):
    """A tenant-owned table was queried outside the tenant-scoped access path."""


@contextmanager
def unscoped(reason: str | None = None) -> Iterator[None]:
    """Allow queries on tenant-owned tables across tenants. For platform code only; grep for it in review.

    The database's wall (core.tenancy.rls) follows: outside a tenant binding this is the platform path
    (`core.db.platform_access`, counted and logged by `reason`, by default the calling function); inside one
    (a tenant's request, `ctx.scope`, `transaction(tenant=...)`) PostgreSQL still shows that tenant's rows only.
    """
    token = _ACCESS.set(_ACCESS.get() + 1)
    try:
        if bound_tenant() is None:
            if reason is None:
                frame = sys._getframe(2)
                reason = f"{frame.f_globals.get('__name__', '?')}.{frame.f_code.co_name}"
            with platform_access(reason):
                yield
        else:
            yield
    finally:
        _ACCESS.reset(token)


def _guard(table: type[Table]) -> None:
    if not _ACCESS.get():
        raise TenantScopeError(
            f"{table.__name__} is tenant-owned: query it through TenantContext.scope({table.__name__}) "
            "(or `with core.tenancy.unscoped():` in platform code)"
        )


class TenantTable(Table):
    """Base of every tenant-owned table. Subclasses must define `tenant_id = UUID(...)`.

    Optional class attributes:
    - `audit_redact`: columns masked in audit rows;
    - `private_columns`: columns a scope never returns and refuses to write unless its owner opened it with
      `ctx.scope(Table, private=True)` (the users' password hashes);
    - `scope_writable`: False for tables written only by their own mechanism (audit events);
    - `personal_columns`: personal data that never leaves its tenant: a cross-tenant read (`ReadScope`, for
      indicators) may count the rows but never select these columns (the people directory's names and contacts).
    """

    audit_redact: tuple[str, ...] = ()
    private_columns: tuple[str, ...] = ()
    personal_columns: tuple[str, ...] = ()
    scope_writable: bool = True

    @classmethod
    def select(cls, *args: Any, **kwargs: Any):  # type: ignore[override]
        _guard(cls)
        return super().select(*args, **kwargs)

    @classmethod
    def objects(cls, *args: Any, **kwargs: Any):  # type: ignore[override]
        _guard(cls)
        return super().objects(*args, **kwargs)

    @classmethod
    def insert(cls, *args: Any, **kwargs: Any):  # type: ignore[override]
        _guard(cls)
        return super().insert(*args, **kwargs)

    @classmethod
    def update(cls, *args: Any, **kwargs: Any):  # type: ignore[override]
        _guard(cls)
        return super().update(*args, **kwargs)

    @classmethod
    def delete(cls, *args: Any, **kwargs: Any):  # type: ignore[override]
        _guard(cls)
        return super().delete(*args, **kwargs)

    @classmethod
    def count(cls, *args: Any, **kwargs: Any):  # type: ignore[override]
        _guard(cls)
        return super().count(*args, **kwargs)

    @classmethod
    def exists(cls, *args: Any, **kwargs: Any):  # type: ignore[override]
        _guard(cls)
        return super().exists(*args, **kwargs)

    @classmethod
    def raw(cls, *args: Any, **kwargs: Any):  # type: ignore[override]
        _guard(cls)
        return super().raw(*args, **kwargs)


@dataclass(frozen=True)
class TenantInfo:
    id: uuid.UUID
    code: str
    name: str
    status: str


@dataclass(frozen=True)
class Actor:
    """Who is acting: a signed-in user (with the tenant it belongs to), or the system (CLI, workers, seed)."""

    id: uuid.UUID | None
    email: str
    role: str
    tenant_id: uuid.UUID | None = None
    agency_id: uuid.UUID | None = None
    full_name: str = ""
    tenant: TenantInfo | None = None

    @classmethod
    def system(cls, name: str = "system") -> "Actor":
        return cls(id=None, email=name, role="platform_admin", full_name=name)


