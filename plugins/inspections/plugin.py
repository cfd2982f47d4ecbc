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

    return [c.SettingsController, c.PlanController, c.TeamController, c.VisitController, c.ChecklistController,
            c.RecordController, c.FindingController, c.DocumentController]


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
        NotificationKind(kind=f"{NAME}.visit_scheduled", title_vi="Lịch kiểm tra ISO tại {agency}: {date} ({form})",
                         title_en="ISO inspection of {agency} scheduled on {date} ({form})",
                         audience=("agency_officer",)),
        NotificationKind(kind=f"{NAME}.visit_moved",
                         title_vi="Lịch kiểm tra ISO tại {agency} chuyển từ {old_date} sang {date}",
                         title_en="ISO inspection of {agency} moved from {old_date} to {date}",
                         audience=("agency_officer",)),
        NotificationKind(kind=f"{NAME}.record_signed",
                         title_vi="Biên bản kiểm tra {agency} đã ký: {count} vấn đề tồn tại, khắc phục trước {due}",
                         title_en="Inspection record of {agency} signed: {count} findings, act by {due}",
                         audience=("agency_officer",)),
        NotificationKind(kind=f"{NAME}.action_reported", title_vi="{agency} đã báo cáo hành động khắc phục",
                         title_en="{agency} reported a corrective action", audience=("inspector",)),
        NotificationKind(kind=f"{NAME}.action_decided", title_vi="Hành động khắc phục của {agency} {decision}",
                         title_en="Corrective action of {agency}: {decision}", audience=("agency_officer",)),
    ]


@hookimpl
async def isogov_facts(ctx, agencies, on):
    from plugins.inspections import reporting

    return await reporting.facts(ctx, list(agencies), on)


@hookimpl
async def isogov_indicators(reader, tenants, year: int):
    from plugins.inspections import reporting

    return await reporting.indicators(reader, tenants, year)


@hookimpl
async def isogov_reminders(ctx, day):
    from plugins.inspections import reporting

    return await reporting.reminders(ctx, day)


@hookimpl
def isogov_evidence_targets():
    from plugins.inspections import reporting

    return [EvidenceTarget(target_type=kind, module=NAME, title=title, check=reporting._checker(table, kind, bound))
            for kind, table, title, bound in reporting.EVIDENCE]


@hookimpl
async def isogov_tenant_merge(merge):
    from plugins.inspections import reporting

    return await reporting.merge(merge)


@hookimpl
async def isogov_seed_demo(ctx, agencies):
    from plugins.inspections import demo

    await demo.seed(ctx, agencies)
