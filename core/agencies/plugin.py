"""Agencies (the org units of a province) as a built-in plugin."""

from __future__ import annotations

from core.contracts import ModuleInfo, Permission, Routes
from core import __version__
from core.plugins import hookimpl

ALL_TENANT_ROLES = ("tenant_admin", "inspector", "agency_officer", "viewer")


@hookimpl
def isogov_module():
    return ModuleInfo(name="agencies", title_vi="Cơ quan, đơn vị", title_en="Agencies", version=__version__, builtin=True)


@hookimpl
def isogov_route_handlers():
    from core.agencies.controllers import AgencyController

    return [Routes(handlers=(AgencyController,), under="tenant")]


@hookimpl
def isogov_permissions():
    return [
        Permission("agencies.read", "List and read agencies", ALL_TENANT_ROLES),
        Permission("agencies.write", "Create, update, move and close agencies (agency officers: own sub-tree)",
                   ("tenant_admin", "agency_officer")),
        Permission("agencies.import", "Bulk import agencies from CSV or XLSX", ("tenant_admin",)),
        Permission("agencies.restructure", "Restructure agencies from an effective date (abolish, merge, split, "
                   "rename), one by one or from a file", ("tenant_admin",)),
    ]
