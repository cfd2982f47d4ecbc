"""Core permissions and the role -> permission resolution shared by core and every module."""

from __future__ import annotations

from functools import lru_cache

from core.contracts import Permission

ALL_TENANT_ROLES = ("tenant_admin", "inspector", "agency_officer", "viewer")

CORE_PERMISSIONS = [
    Permission("tenant.read", "Read the tenant and its modules", ALL_TENANT_ROLES),
    Permission("tenant.manage", "Rename, suspend or resume the tenant (platform admins only)", ()),
    Permission("agencies.read", "List and read agencies", ALL_TENANT_ROLES),
    Permission("agencies.write", "Create, update, move and close agencies (agency officers: own sub-tree)",
               ("tenant_admin", "agency_officer")),
    Permission("agencies.import", "Bulk import agencies from CSV or XLSX", ("tenant_admin",)),
    Permission("users.read", "List users of the tenant", ("tenant_admin",)),
    Permission("users.write", "Create users, change roles, deactivate", ("tenant_admin",)),
    Permission("audit.read", "Read the audit trail", ("tenant_admin",)),
    Permission("modules.manage", "Enable or disable modules for the tenant", ("tenant_admin",)),
    Permission("notifications.admin", "See notification deliveries that failed and queue them again",
               ("tenant_admin",)),
]


def all_permissions() -> list[Permission]:
    from core.plugins import get_plugin_system

    return CORE_PERMISSIONS + get_plugin_system().permissions()


@lru_cache(maxsize=None)
def permissions_for(role: str) -> frozenset[str]:
    """Default permissions of a role (platform admins pass every check in TenantContext.has)."""
    return frozenset(p.name for p in all_permissions() if role in p.default_roles)

