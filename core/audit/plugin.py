"""The audit trail's routes as a built-in plugin."""

from __future__ import annotations

from core.contracts import ModuleInfo, Permission, Routes
from core import __version__
from core.plugins import hookimpl

ALL_TENANT_ROLES = ("tenant_admin", "inspector", "agency_officer", "viewer")


@hookimpl
def isogov_module():
    return ModuleInfo(name="audit", title_vi="Nhật ký thao tác", title_en="Audit trail", version=__version__, builtin=True)


@hookimpl
def isogov_route_handlers():
    from core.audit.controllers import AuditController

    return [Routes(handlers=(AuditController,), under="tenant")]


@hookimpl
def isogov_permissions():
    return [Permission("audit.read", "Read the audit trail", ("tenant_admin",))]
