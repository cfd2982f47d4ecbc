"""The workers package as a built-in plugin: its commands and the notification kinds it sends itself."""

from __future__ import annotations

from core import __version__
from core.contracts import ModuleInfo, NotificationKind
from core.plugins import hookimpl


@hookimpl
def isogov_module():
    return ModuleInfo(name="workers", title_vi="Xử lý nền", title_en="Background workers", version=__version__,
                      builtin=True)


@hookimpl
def isogov_cli_commands():
    from workers.cli import COMMANDS

    return COMMANDS


@hookimpl
def isogov_notification_kinds():
    # reminders from the daily scan are "reminder.<module>.<kind>": one declared family, titled by each reminder
    return [NotificationKind(kind="reminder", title_vi="Nhắc việc: {title}", title_en="Reminder: {title}",
                             audience=("tenant_admin",))]
