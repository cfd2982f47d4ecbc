"""The tenants package as a built-in plugin: provinces, their module switches, the demo, and their commands."""

from __future__ import annotations

from core import __version__
from core.contracts import ModuleInfo, Permission, Routes
from core.plugins import hookimpl

ALL_TENANT_ROLES = ("tenant_admin", "inspector", "agency_officer", "viewer")


@hookimpl
def isogov_module():
    return ModuleInfo(name="tenants", title_vi="Quản lý tỉnh", title_en="Tenants", version=__version__, builtin=True)


@hookimpl
def isogov_route_handlers():
    from tenants.controllers import TenantController, TenantsController, list_modules, list_plugins

    return [Routes(handlers=(TenantsController, list_modules, list_plugins), under="root"),
            Routes(handlers=(TenantController,), under="tenant")]


@hookimpl
def isogov_permissions():
    return [
        Permission("tenant.read", "Read the tenant and its modules", ALL_TENANT_ROLES),
        Permission("tenant.manage", "Rename, suspend or resume the tenant (platform admins only)", ()),
        Permission("modules.manage", "Enable or disable modules for the tenant", ("tenant_admin",)),
    ]


@hookimpl
def isogov_cli_commands():
    from tenants.cli import COMMANDS

    return COMMANDS


@hookimpl
def isogov_demo_agencies(province):
    from tenants.demo import DEMO_TENANTS, TODAY

    if province in TODAY:  # the tree as it stands today, after the 2025 reform (closed units kept as history)
        return TODAY[province]()
    found = DEMO_TENANTS.get(province)  # a province merged in 2025: its tree before the reform
    return found[1]() if found else None


@hookimpl
def isogov_jobs():
    from tenants.service import tenants_tenant_event

    return [tenants_tenant_event]
