"""The role -> permission resolution shared by core and every module (each part declares its own permissions)."""

from __future__ import annotations

from functools import lru_cache

from core.contracts import Permission

def all_permissions() -> list[Permission]:
    from core.plugins import get_plugin_system

    return get_plugin_system().permissions()


@lru_cache(maxsize=None)
def permissions_for(role: str) -> frozenset[str]:
    """Default permissions of a role (platform admins pass every check in TenantContext.has)."""
    return frozenset(p.name for p in all_permissions() if role in p.default_roles)

