"""Hook implementations of the inspections module."""

from __future__ import annotations

from core.contracts import EvidenceTarget, ModuleInfo, NotificationKind, Permission
from core.plugins import hookimpl
from plugins.inspections import NAME, VERSION


@hookimpl
def isogov_module():
    return ModuleInfo(name=NAME, title_vi="Kiểm tra việc áp dụng HTQLCL", title_en="QMS inspections", version=VERSION)


@hookimpl
def isogov_piccolo_app():
    return "plugins.inspections.piccolo_app"


ALL_TENANT_ROLES = ("tenant_admin", "inspector", "agency_officer", "viewer")


@hookimpl
def isogov_route_handlers():
    from plugins.inspections import controllers as c

    return [c.SettingsController, c.PlanController]


@hookimpl
def isogov_permissions():
    return [
        Permission(f"{NAME}.read", "Read inspection plans, teams, visits, records and corrective actions",
                   ALL_TENANT_ROLES),
        Permission(f"{NAME}.write", "Draft plans, form teams, schedule visits, write records, verify actions",
                   ("tenant_admin", "inspector")),
        Permission(f"{NAME}.approve", "Approve, return and close plans; province settings and checklist versions",
                   ("tenant_admin",)),
        Permission(f"{NAME}.report", "Report corrective actions (agency officers: own agency and sub-units)",
                   ("tenant_admin", "inspector", "agency_officer")),
    ]


@hookimpl
def isogov_notification_kinds():
    return [
        NotificationKind(kind=f"{NAME}.plan_submitted", title_vi="Kế hoạch kiểm tra ISO năm {year} đã trình duyệt",
                         title_en="The {year} inspection plan was submitted", audience=("tenant_admin",)),
        NotificationKind(kind=f"{NAME}.plan_approved",
                         title_vi="Kế hoạch kiểm tra ISO năm {year} đã được phê duyệt ({number})",
                         title_en="The {year} inspection plan was approved ({number})",
                         audience=("tenant_admin", "inspector")),
    ]
