"""Users of a province as a built-in plugin."""

from __future__ import annotations

from core.contracts import ModuleInfo, Permission, Routes
from core import __version__
from core.plugins import hookimpl

ALL_TENANT_ROLES = ("tenant_admin", "inspector", "agency_officer", "viewer")


@hookimpl
def isogov_module():
    return ModuleInfo(name="users", title_vi="Người dùng", title_en="Users", version=__version__, builtin=True)


@hookimpl
def isogov_route_handlers():
    from core.users.controllers import UserController

    return [Routes(handlers=(UserController,), under="tenant")]


@hookimpl
def isogov_permissions():
    return [
        Permission("users.read", "List users of the tenant", ("tenant_admin",)),
        Permission("users.write", "Create users, change roles, deactivate", ("tenant_admin",)),
    ]
