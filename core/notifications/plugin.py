"""Notifications (inbox, preferences, failed deliveries) as a built-in plugin."""

from __future__ import annotations

from core.contracts import ModuleInfo, Permission, Routes
from core import __version__
from core.plugins import hookimpl

ALL_TENANT_ROLES = ("tenant_admin", "inspector", "agency_officer", "viewer")


@hookimpl
def isogov_module():
    return ModuleInfo(name="notifications", title_vi="Thông báo", title_en="Notifications", version=__version__, builtin=True)


@hookimpl
def isogov_piccolo_app():
    return "core.notifications.piccolo_app"


@hookimpl
def isogov_route_handlers():
    from core.notifications.controllers import InboxController, NotificationAdminController

    return [Routes(handlers=(InboxController,), under="root"),
            Routes(handlers=(NotificationAdminController,), under="tenant")]


@hookimpl
def isogov_permissions():
    return [Permission("notifications.admin", "See notification deliveries that failed and queue them again",
                       ("tenant_admin",))]
