"""The national view as a built-in plugin."""

from __future__ import annotations

from core.contracts import ModuleInfo, Routes
from core import __version__
from core.plugins import hookimpl

ALL_TENANT_ROLES = ("tenant_admin", "inspector", "agency_officer", "viewer")


@hookimpl
def isogov_module():
    return ModuleInfo(name="national", title_vi="Tổng hợp toàn quốc", title_en="National view", version=__version__, builtin=True)


@hookimpl
def isogov_route_handlers():
    from core.national.controllers import national_indicators

    return [Routes(handlers=(national_indicators,), under="root")]
