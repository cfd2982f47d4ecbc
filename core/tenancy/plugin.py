"""The tenancy part of core as a built-in plugin: the core tables (tenants, agencies, users, audit) live in one Piccolo app."""

from __future__ import annotations

from core.contracts import ModuleInfo
from core import __version__
from core.plugins import hookimpl

ALL_TENANT_ROLES = ("tenant_admin", "inspector", "agency_officer", "viewer")


@hookimpl
def isogov_module():
    return ModuleInfo(name="tenancy", title_vi="Tỉnh, mô-đun và phạm vi dữ liệu", title_en="Tenancy", version=__version__, builtin=True)


@hookimpl
def isogov_piccolo_app():
    return "core.piccolo_app"
