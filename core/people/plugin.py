"""The people directory as a built-in plugin: routes under /api/v1/tenants/{code}/people."""

from __future__ import annotations

from core import __version__
from core.contracts import ModuleInfo, Permission, Routes
from core.plugins import hookimpl

ALL_TENANT_ROLES = ("tenant_admin", "inspector", "agency_officer", "viewer")


@hookimpl
def isogov_module():
    return ModuleInfo(name="people", title_vi="Danh bạ cán bộ", title_en="People directory", version=__version__,
                      builtin=True)


@hookimpl
def isogov_piccolo_app():
    return "core.people.piccolo_app"


@hookimpl
def isogov_route_handlers():
    from core.people.controllers import PeopleController

    return [Routes(handlers=(PeopleController,), under="tenant")]


@hookimpl
def isogov_permissions():
    return [
        Permission("people.read", "List, search and read people", ALL_TENANT_ROLES),
        Permission("people.write", "Add, update and close people (agency officers: own agency's sub-tree)",
                   ("tenant_admin", "inspector", "agency_officer")),
        Permission("people.import", "Bulk import people from CSV or XLSX", ("tenant_admin",)),
    ]


@hookimpl
async def isogov_tenant_merge(merge):
    from core.people.services import merge_report

    return await merge_report(merge)
