from __future__ import annotations

import dataclasses

import msgspec
from litestar import Controller, Request, get, patch, post, put

from core.tenancy.guards import require_platform_admin
from core.plugins import get_plugin_system
from core.tenancy.tables import Tenant
from core.tenancy import Actor
from core.tenancy.context import TenantContext
from tenants import service
from tenants.schemas import (ModuleRead, ModuleSwitch, PluginRead, TenantCreate, TenantList, TenantMergeRead,
                             TenantMergeRequest, TenantModuleRead, TenantRead,
                             TenantUpdate)


async def _read(row: dict) -> TenantRead:
    successor = None
    if row.get("merged_into"):
        found = await Tenant.select(Tenant.code).where(Tenant.id == row["merged_into"]).first()
        successor = found["code"] if found else None
    return TenantRead(id=row["id"], code=row["code"], name=row["name"], status=row["status"],
                      created_at=row["created_at"], modules=await service.enabled_modules(row["id"]),
                      merged_into=successor)


def _module_read(name: str) -> ModuleRead:
    info = get_plugin_system().modules[name].info
    return ModuleRead(name=info.name, title_vi=info.title_vi, title_en=info.title_en, version=info.version,
                      depends_on=list(info.depends_on))


@get("/api/v1/modules", summary="Modules installed on this platform")
async def list_modules() -> list[ModuleRead]:
    return [_module_read(name) for name in get_plugin_system().module_names()]


@get("/api/v1/plugins", summary="Installed modules and built-in parts, with the hooks each implements (platform admins)",
     guards=[require_platform_admin])
async def list_plugins(request: Request) -> list[PluginRead]:
    system = request.app.state.plugins
    return [PluginRead(name=name, title_vi=mod.info.title_vi, title_en=mod.info.title_en, version=mod.info.version,
                       depends_on=list(mod.info.depends_on), builtin=mod.info.builtin, hooks=system.hooks_of(name),
                       distribution=system.pm.get_name(mod.plugin))
            for name, mod in sorted(system.modules.items())]


class TenantsController(Controller):
    """Platform-level: the list of provinces (platform admins see all, others their own)."""

    path = "/api/v1/tenants"
    tags = ["tenants"]

    @get("/", summary="List tenants")
    async def list_tenants(self, request: Request) -> TenantList:
        actor: Actor = request.user
        query = Tenant.select().order_by(Tenant.code)
        if actor.role not in ("platform_admin", "national_reviewer"):
            query = query.where(Tenant.id == actor.tenant_id)
        rows = await query
        return TenantList(items=[await _read(r) for r in rows], total=len(rows))

    @post("/", summary="Create a tenant (province)", guards=[require_platform_admin])
    async def create_tenant(self, request: Request, data: TenantCreate) -> TenantRead:
        return await _read(await service.create_tenant(data.code, data.name, data.modules, request.user))


class TenantController(Controller):
    """One tenant, behind the tenant guard (mounted under /api/v1/tenants/{tenant_code})."""

    path = "/"
    tags = ["tenants"]

    @get("/", summary="Read a tenant (national reviewers too: metadata only)",
         opt={"permission": "tenant.read", "national_read": True})
    async def get_tenant(self, ctx: TenantContext) -> TenantRead:
        return await _read(await service.get_by_code(ctx.tenant.code))

    @patch("/", summary="Rename, suspend or resume a tenant (platform admin)", opt={"permission": "tenant.manage"})
    async def update_tenant(self, ctx: TenantContext, data: TenantUpdate) -> TenantRead:

        changes = {k: v for k, v in msgspec.structs.asdict(data).items() if v is not msgspec.UNSET}
        return await _read(await service.update_tenant(ctx.tenant.code, changes, ctx.actor))

    @post("/merge", summary="Merge provinces into this one (platform admin): dry run by default",
          opt={"permission": "tenant.manage", "walk_skip_body_ids": ("sources",)}, status_code=200)
    async def merge_into(self, ctx: TenantContext, data: TenantMergeRequest) -> TenantMergeRead:
        from contextlib import nullcontext

        from core.db import platform_access
        from tenants.merge import merge_tenants

        # a merger reads and moves the rows of several provinces: the platform path (row-level security), for a
        # platform admin only; anyone else stays bound to this province
        with platform_access("tenant merge") if ctx.actor.role == "platform_admin" else nullcontext():
            outcome = await merge_tenants(ctx.tenant.code, list(data.sources), data.effective_on, users=data.users,
                                          dry_run=data.dry_run, actor=ctx.actor)
        return msgspec.convert(dataclasses.asdict(outcome), TenantMergeRead)

    @get("/modules", summary="Installed modules and whether each is enabled here",
         opt={"permission": "tenant.read", "national_read": True})
    async def tenant_modules(self, ctx: TenantContext) -> list[TenantModuleRead]:
        enabled = set(await service.enabled_modules(ctx.tenant.id))
        return [TenantModuleRead(**{f: getattr(_module_read(n), f) for f in ModuleRead.__struct_fields__},
                                 enabled=n in enabled) for n in get_plugin_system().module_names()]

    @put("/modules/{module:str}", summary="Enable or disable a module for this tenant",
         opt={"permission": "modules.manage"})
    async def switch_module(self, ctx: TenantContext, module: str, data: ModuleSwitch) -> TenantModuleRead:
        enabled = await service.set_module(ctx, module, data.enabled)
        read = _module_read(module)
        return TenantModuleRead(**{f: getattr(read, f) for f in ModuleRead.__struct_fields__}, enabled=enabled)
