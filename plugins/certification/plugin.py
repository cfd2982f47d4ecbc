"""Hook implementations of the certification module: what it contributes to isogov."""

from __future__ import annotations

from datetime import date

from core.contracts import EvidenceTarget, ModuleInfo, NotificationKind, Permission
from core.plugins import hookimpl
from plugins.certification import NAME, VERSION

ALL_TENANT_ROLES = ("tenant_admin", "inspector", "agency_officer", "viewer")


@hookimpl
def isogov_module():
    return ModuleInfo(name=NAME, title_vi="Xây dựng, áp dụng và công bố HTQLCL", title_en="QMS certification",
                      version=VERSION)


@hookimpl
def isogov_piccolo_app():
    return "plugins.certification.piccolo_app"


@hookimpl
def isogov_route_handlers():
    from plugins.certification.controllers import BoardController, RecordController, SettingsController

    return [BoardController, RecordController, SettingsController]


@hookimpl
def isogov_permissions():
    return [
        Permission(f"{NAME}.read", "Read QMS records, timelines and the status board", ALL_TENANT_ROLES),
        Permission(f"{NAME}.write", "Record QMS events (agency officers: own agency and its sub-units)",
                   ("tenant_admin", "inspector", "agency_officer")),
        Permission(f"{NAME}.manage", "Change the province's certification settings (conversion deadline)",
                   ("tenant_admin",)),
    ]


@hookimpl
async def isogov_reminders(ctx, day: date):
    from plugins.certification import reporting

    return await reporting.reminders(ctx, day)


@hookimpl
async def isogov_indicators(reader, tenants, year: int):
    from plugins.certification import reporting

    return await reporting.indicators(reader, tenants, year)


@hookimpl
async def isogov_facts(ctx, agencies, on: date, names):
    from plugins.certification import reporting

    return await reporting.facts(ctx, agencies, on, names)


@hookimpl
def isogov_notification_kinds():
    return [
        NotificationKind(kind=f"{NAME}.announced", title_vi="{agency} đã công bố HTQLCL phù hợp TCVN ISO 9001",
                         title_en="{agency} announced its QMS conforms to TCVN ISO 9001",
                         audience=("tenant_admin",), description="Decision 19: the lead unit is notified"),
    ]


@hookimpl
def isogov_evidence_targets():
    from plugins.certification import reporting

    return [
        EvidenceTarget(target_type="qms_record", module=NAME, title="Hồ sơ HTQLCL (QMS record)",
                       check=reporting.check_record, parts=reporting.record_parts),
        EvidenceTarget(target_type="qms_event", module=NAME, title="Sự kiện HTQLCL (QMS event)",
                       check=reporting.check_event),
    ]


@hookimpl
async def isogov_seed_demo(ctx, agencies):
    from plugins.certification import demo

    await demo.seed(ctx, agencies)
