"""Sign-in and the signed-in user's own view, as a built-in plugin."""

from __future__ import annotations

from core.contracts import ModuleInfo, Routes
from core import __version__
from core.plugins import hookimpl

ALL_TENANT_ROLES = ("tenant_admin", "inspector", "agency_officer", "viewer")


@hookimpl
def isogov_module():
    return ModuleInfo(name="auth", title_vi="Đăng nhập", title_en="Sign-in", version=__version__, builtin=True)


@hookimpl
def isogov_route_handlers():
    from core.auth.controllers import change_password, confirm_password_reset, login, me, request_password_reset

    return [Routes(handlers=(login, me, change_password, request_password_reset, confirm_password_reset),
                   under="root")]
