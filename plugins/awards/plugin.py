"""Hook implementations of the awards module: what it contributes to isogov."""

from __future__ import annotations

from datetime import date

from core.contracts import EvidenceTarget, ModuleInfo, NotificationKind, Permission
from core.plugins import hookimpl
from plugins.awards import NAME, VERSION

ALL_TENANT_ROLES = ("tenant_admin", "inspector", "agency_officer", "viewer")


@hookimpl
def isogov_module():
    return ModuleInfo(name=NAME, title_vi="Thi đua, khen thưởng", title_en="Awards", version=VERSION)


@hookimpl
def isogov_piccolo_app():
    return "plugins.awards.piccolo_app"


@hookimpl
def isogov_route_handlers():
    from plugins.awards import controllers as c

    return [c.SettingsController, c.FormController, c.MovementController, c.ProposalController,
            c.MeetingController, c.DecisionController, c.HistoryController]


@hookimpl
def isogov_permissions():
    return [
        Permission(f"{NAME}.read", "Read award forms, movements, proposals, council meetings, decisions, history",
                   ALL_TENANT_ROLES),
        Permission(f"{NAME}.propose", "Propose awards (agency officers: own agency, its sub-units and their staff)",
                   ("tenant_admin", "agency_officer")),
        Permission(f"{NAME}.manage", "Award forms, movements, review, council meetings, decisions, settings",
                   ("tenant_admin",)),
    ]


@hookimpl
def isogov_notification_kinds():
    return [
        NotificationKind(kind=f"{NAME}.proposal_status_changed",
                         title_vi="Đề nghị khen thưởng {awardee}: {status}",
                         title_en="Award proposal for {awardee}: {status}", audience=("agency_officer",),
                         description="sent to the user who made the proposal"),
        NotificationKind(kind=f"{NAME}.meeting_scheduled",
                         title_vi="Lịch họp Hội đồng Thi đua – Khen thưởng ngày {date}",
                         title_en="Emulation and commendation council meets on {date}", audience=("tenant_admin",),
                         description="sent to the council members who are users"),
    ]


@hookimpl
async def isogov_indicators(reader, tenants, year: int):
    from plugins.awards import reporting

    return await reporting.indicators(reader, tenants, year)


@hookimpl
async def isogov_facts(ctx, agencies, people, on: date):
    from plugins.awards import services

    return await services.history_facts(ctx, agencies, people, on)


@hookimpl
def isogov_evidence_targets():
    from plugins.awards import reporting

    return [
        EvidenceTarget(target_type="award_proposal", module=NAME, title="Hồ sơ đề nghị khen thưởng (award proposal)",
                       check=reporting.check_proposal),
        EvidenceTarget(target_type="award_decision", module=NAME, title="Quyết định khen thưởng (award decision)",
                       check=reporting.check_decision),
    ]


@hookimpl
async def isogov_tenant_merge(merge):
    from plugins.awards import reporting

    return await reporting.merge(merge)


@hookimpl
async def isogov_seed_demo(ctx, agencies):
    from plugins.awards import demo

    await demo.seed(ctx, agencies)
