"""The tenancy guard in front of every `/api/v1/tenants/{tenant_code}/...` route, and the `ctx` dependency."""

from __future__ import annotations

import time
from typing import Any

import structlog
from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler

from core.db import bind_request_tenant, platform_access, tenant_bound
from core.errors import Conflict, Forbidden, NotFound
from core.auth.permissions import permissions_for
from core.tenancy import Actor, TenantInfo
from core.tenancy.context import TenantContext

TENANT_PREFIX = "/api/v1/tenants/{tenant_code:str}"


async def load_tenant(code: str) -> TenantInfo | None:
    from core.tenancy.tables import Tenant

    row = await Tenant.select(Tenant.id, Tenant.code, Tenant.name, Tenant.status).where(Tenant.code == code).first()
    return TenantInfo(**row) if row else None


MODULE_FLAG_TTL = 2.0  # seconds another API process may keep serving a module switched off elsewhere
_module_flags: dict[str, tuple[float, bool]] = {}


async def module_enabled(tenant_id: Any, module: str) -> bool:
    """Whether the module is on for the tenant; remembered per process for MODULE_FLAG_TTL seconds (every module
    request asks), forgotten at once in the process that switches it (`forget_module_flags`)."""
    from core.tenancy.tables import TenantModule

    key = f"{tenant_id}:{module}"
    now = time.monotonic()
    cached = _module_flags.get(key)
    if cached is not None and cached[0] > now:
        return cached[1]
    with tenant_bound(tenant_id):
        row = await TenantModule.select(TenantModule.enabled).where(TenantModule.key == key).first()
    enabled = bool(row and row["enabled"])
    if len(_module_flags) > 10_000:
        _module_flags.clear()
    _module_flags[key] = (now + MODULE_FLAG_TTL, enabled)
    return enabled


def forget_module_flags(tenant_id: Any = None) -> None:
    """Drop the remembered module flags of one tenant (or of all): call after switching a module."""
    if tenant_id is None:
        _module_flags.clear()
        return
    prefix = f"{tenant_id}:"
    for key in [k for k in _module_flags if k.startswith(prefix)]:
        _module_flags.pop(key, None)


async def enabled_modules(tenant_id: Any) -> list[str]:
    """The modules switched on for a tenant (built-in parts are always on and not listed)."""
    from core.tenancy.tables import TenantModule

    with tenant_bound(tenant_id):
        rows = await TenantModule.select(TenantModule.module).where(
            (TenantModule.tenant_id == tenant_id) & (TenantModule.enabled == True))  # noqa: E712
    return sorted(row["module"] for row in rows)


async def tenants_with_module(module: str) -> list[str]:
    """Codes of the active tenants that have `module` switched on (every active tenant for a built-in part)."""
    from core.plugins import get_plugin_system
    from core.tenancy.tables import Tenant, TenantModule

    mod = get_plugin_system().modules.get(module)
    if mod is not None and mod.info.builtin:
        rows = await Tenant.select(Tenant.code).where(Tenant.status == "active").order_by(Tenant.code)
        return [row["code"] for row in rows]
    with platform_access("tenants with a module"):
        switched = await TenantModule.select(TenantModule.tenant_id).where(
            (TenantModule.module == module) & (TenantModule.enabled == True))  # noqa: E712
    ids = [row["tenant_id"] for row in switched]
    if not ids:
        return []
    rows = await Tenant.select(Tenant.code).where(Tenant.id.is_in(ids) & (Tenant.status == "active")).order_by(
        Tenant.code)
    return [row["code"] for row in rows]


async def tenant_guard(connection: ASGIConnection, handler: BaseRouteHandler) -> None:
    """404 unless the user belongs to the tenant (or is a platform admin) and the module is enabled there;
    403 unless the user's role has the handler's permission. OPTIONS (answered by the framework with the allowed
    methods, without authentication) passes: it reads nothing of the tenant."""
    if connection.scope.get("method") == "OPTIONS":
        return
    actor: Actor = connection.user
    code = connection.path_params.get("tenant_code", "")
    tenant = actor.tenant if actor.tenant is not None and actor.tenant.code == code else await load_tenant(code)
    # national reviewers read a province's metadata (routes marked opt["national_read"]: name, status, modules),
    # never its rows; they already list every province at GET /api/v1/tenants
    national = actor.role == "national_reviewer" and bool(handler.opt.get("national_read"))
    if tenant is None or (actor.role != "platform_admin" and actor.tenant_id != tenant.id and not national):
        raise NotFound(f"tenant {code!r} not found")
    structlog.contextvars.bind_contextvars(tenant=tenant.code)
    bind_request_tenant(tenant.id)  # from here on PostgreSQL shows this request this tenant's rows only
    if tenant.status == "merged" and connection.scope.get("method", "GET") not in ("GET", "HEAD"):
        raise Conflict(f"the province {tenant.code!r} was merged into another province and is read-only; "
                       f"GET /api/v1/tenants/{tenant.code} names its successor")
    module = handler.opt.get("module")
    if module and not await module_enabled(tenant.id, module):
        raise NotFound(f"the module {module!r} is not enabled for tenant {tenant.code!r}")
    ctx = TenantContext(tenant=tenant, actor=actor, permissions=permissions_for(actor.role),
                        request_id=structlog.contextvars.get_contextvars().get("request_id"))
    permission = handler.opt.get("permission")
    if permission and not national:
        ctx.require(permission)
    connection.state.tenant_ctx = ctx


def require_platform_admin(connection: ASGIConnection, _: BaseRouteHandler) -> None:
    if connection.scope.get("method") == "OPTIONS":
        return
    if connection.user.role != "platform_admin":
        raise Forbidden("only a platform admin may do this")


async def provide_ctx(request: Any) -> TenantContext:
    ctx = getattr(request.state, "tenant_ctx", None)
    if ctx is None:  # a handler asked for ctx outside the tenancy guard: a programming error
        raise RuntimeError("TenantContext requested on a route that is not behind the tenant guard")
    return ctx
