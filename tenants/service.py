"""Creating tenants and switching their modules. Disabling a module keeps every row it owns."""

from __future__ import annotations

import uuid
from datetime import datetime, timezone
from typing import Any

import structlog

from core.audit import record
from core.contracts import TenantEvent
from core.db import tenant_bound, transaction
from core.errors import Conflict, NotFound
from core.plugins import get_plugin_system
from core.tenancy.tables import Tenant, TenantModule
from core.tenancy import Actor, TenantInfo
from core.tenancy.context import TenantContext, system_context
from core.tenancy.guards import forget_module_flags
from core.notifications.outbox import enqueue
from core.text import fold

TENANT_NAME_FOLDED_MAX = Tenant.name_folded.length

log = structlog.get_logger("isogov.tenants")


def info(row: dict[str, Any]) -> TenantInfo:
    return TenantInfo(id=row["id"], code=row["code"], name=row["name"], status=row["status"])


async def get_by_code(code: str) -> dict[str, Any]:
    row = await Tenant.select().where(Tenant.code == code).first()
    if row is None:
        raise NotFound(f"tenant {code!r} not found")
    return row


async def enabled_modules(tenant_id: uuid.UUID) -> list[str]:
    with tenant_bound(tenant_id):
        rows = await TenantModule.select(TenantModule.module).where(
            (TenantModule.tenant_id == tenant_id) & (TenantModule.enabled == True)  # noqa: E712
        )
    installed = set(get_plugin_system().modules)
    return sorted(r["module"] for r in rows if r["module"] in installed)


TENANT_EVENT_JOB = "tenants_tenant_event"


async def _fire(ctx: TenantContext, event: TenantEvent) -> None:
    """Queue the event through the outbox, in the caller's transaction: the modules hear of it once it committed
    (at least once, even if this process dies right after), never of a change that was rolled back."""
    await enqueue(ctx, TENANT_EVENT_JOB, key=f"{event.kind}:{event.module or '-'}:{uuid.uuid4()}", kind=event.kind,
                  module=event.module, tenant_id=str(event.tenant_id))


async def tenants_tenant_event(job_ctx: Any, kind: str, tenant_id: str, module: str | None = None) -> int:
    """The job of TENANT_EVENT_JOB: hand one tenant event to the modules concerned; returns how many were asked.
    Module events go to that module; tenant events to every module enabled there."""
    row = await Tenant.select().where(Tenant.id == uuid.UUID(tenant_id)).first()
    if row is None:
        return 0
    ctx = system_context(info(row), "tenant-event")
    event = TenantEvent(kind=kind, tenant_id=row["id"], tenant_code=row["code"], module=module)  # type: ignore[arg-type]
    modules = [module] if module else await enabled_modules(row["id"])
    await get_plugin_system().collect("isogov_tenant_event", modules=modules, ctx=ctx, event=event)
    return len(modules)


def _with_dependencies(modules: list[str]) -> list[str]:
    system = get_plugin_system()
    result: list[str] = []

    def add(name: str) -> None:
        if name not in system.modules:
            raise NotFound(f"no module named {name!r} is installed", field="modules")
        for dep in system.modules[name].info.depends_on:
            add(dep)
        if name not in result:
            result.append(name)

    for name in modules:
        add(name)
    return result


async def create_tenant(code: str, name: str, modules: list[str], actor: Actor) -> dict[str, Any]:
    modules = _with_dependencies(modules)
    if await Tenant.exists().where(Tenant.code == code):
        raise Conflict(f"a tenant with code {code!r} already exists", field="code")
    tenant_id = uuid.uuid4()
    async with transaction(tenant=tenant_id):
        await Tenant.insert(Tenant(id=tenant_id, code=code, name=name, name_folded=fold(name, TENANT_NAME_FOLDED_MAX), status="active"))
        row = await Tenant.select().where(Tenant.id == tenant_id).first()
        ctx = TenantContext(tenant=info(row), actor=actor)
        for module in modules:
            await TenantModule.insert(TenantModule(id=uuid.uuid4(), key=f"{tenant_id}:{module}", tenant_id=tenant_id,
                                                   module=module, enabled=True))
        await record(ctx, action="create", entity="tenant", entity_id=tenant_id, after={**row, "modules": modules})
        await _fire(ctx, TenantEvent(kind="tenant_created", tenant_id=tenant_id, tenant_code=code))
        for module in modules:
            await _fire(ctx, TenantEvent(kind="module_enabled", tenant_id=tenant_id, tenant_code=code, module=module))
    log.info("tenant created", tenant=code, modules=modules)
    return row


async def update_tenant(code: str, changes: dict[str, Any], actor: Actor) -> dict[str, Any]:
    before = await get_by_code(code)
    if "name" in changes:
        changes["name_folded"] = fold(changes["name"], TENANT_NAME_FOLDED_MAX)
    if not changes:
        return before
    async with transaction(tenant=before["id"]):
        await Tenant.update(changes).where(Tenant.id == before["id"])
        after = await get_by_code(code)
        await record(TenantContext(tenant=info(after), actor=actor), action="update", entity="tenant",
                     entity_id=after["id"], before=before, after=after)
    return after


async def set_module(ctx: TenantContext, module: str, enabled: bool) -> bool:
    """Enable or disable a module for ctx's tenant; returns the new state. Dependencies are enforced."""
    system = get_plugin_system()
    if module not in system.modules:
        raise NotFound(f"no module named {module!r} is installed")
    current = await enabled_modules(ctx.tenant.id)
    if enabled:
        missing = [dep for dep in system.modules[module].info.depends_on if dep not in current]
        if missing:
            raise Conflict(f"module {module!r} needs {', '.join(missing)} enabled first", field="enabled")
    else:
        dependants = [name for name in current if module in system.modules[name].info.depends_on]
        if dependants:
            raise Conflict(f"module {module!r} is needed by {', '.join(dependants)}; disable those first",
                           field="enabled")
    if (module in current) == enabled:
        return enabled
    key = f"{ctx.tenant.id}:{module}"
    async with transaction(tenant=ctx.tenant.id):
        row = await TenantModule.select().where(TenantModule.key == key).first()
        if row is None:
            await TenantModule.insert(TenantModule(id=uuid.uuid4(), key=key, tenant_id=ctx.tenant.id, module=module,
                                                   enabled=enabled))
        else:
            await TenantModule.update({TenantModule.enabled: enabled,
                                       TenantModule.updated_at: datetime.now(timezone.utc)}).where(TenantModule.key == key)
        await record(ctx, action="enable" if enabled else "disable", entity="tenant_module", entity_id=module,
                     before={"enabled": not enabled}, after={"enabled": enabled})
        kind = "module_enabled" if enabled else "module_disabled"
        await _fire(ctx, TenantEvent(kind=kind, tenant_id=ctx.tenant.id, tenant_code=ctx.tenant.code, module=module))
    forget_module_flags(ctx.tenant.id)
    log.info("module switched", module=module, enabled=enabled)
    return enabled


async def system_ctx(code: str, name: str = "system") -> TenantContext:
    return system_context(info(await get_by_code(code)), name)
