"""The national view and the province's annual ISO report as a built-in plugin (README: "National review")."""

from __future__ import annotations

from core.contracts import ModuleInfo, NotificationKind, Permission, Routes
from core import __version__
from core.plugins import hookimpl

ALL_TENANT_ROLES = ("tenant_admin", "inspector", "agency_officer", "viewer")


@hookimpl
def isogov_module():
    return ModuleInfo(name="national", title_vi="Tổng hợp toàn quốc", title_en="National view", version=__version__, builtin=True)


@hookimpl
def isogov_piccolo_app():
    return "core.national.piccolo_app"


@hookimpl
def isogov_route_handlers():
    from core.national.controllers import national_indicators
    from core.national.report_controllers import AnnualReportController
    from core.national.review_controllers import HANDLERS

    return [Routes(handlers=(national_indicators, *HANDLERS), under="root"),
            Routes(handlers=(AnnualReportController,), under="tenant")]


@hookimpl
def isogov_permissions():
    return [
        Permission("national.report_read", "Read the province's annual ISO report and its exports",
                   ("tenant_admin", "inspector", "viewer")),
        Permission("national.report_write", "Write the annual report's assessment", ("tenant_admin",)),
        Permission("national.report_submit", "Submit the annual report to the national review", ("tenant_admin",)),
    ]


@hookimpl
def isogov_notification_kinds():
    audience = ("tenant_admin",)
    return [
        NotificationKind("national.report_submitted", "Đã gửi báo cáo ISO năm {year} (lần {version}) để thẩm định",
                         "The {year} ISO report was submitted for review (version {version})", audience),
        NotificationKind("national.report_accepted", "Báo cáo ISO năm {year} đã được chấp nhận",
                         "The {year} ISO report was accepted", audience),
        NotificationKind("national.report_returned", "Báo cáo ISO năm {year} bị trả lại: {reason}",
                         "The {year} ISO report was returned: {reason}", audience),
        NotificationKind("national.report_unlocked", "Báo cáo ISO năm {year} đã được mở khóa: {reason}",
                         "The {year} ISO report was unlocked: {reason}", audience),
    ]
