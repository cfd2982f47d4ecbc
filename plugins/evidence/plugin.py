"""Hook implementations of the evidence plugin: what it contributes to isogov."""

from __future__ import annotations

from core.contracts import ModuleInfo, Permission
from core.plugins import hookimpl
from plugins.evidence import NAME, VERSION

ALL_TENANT_ROLES = ("tenant_admin", "inspector", "agency_officer", "viewer")


@hookimpl
def isogov_module():
    return ModuleInfo(name=NAME, title_vi="Minh chứng, tài liệu đính kèm", title_en="Evidence files", version=VERSION)


@hookimpl
def isogov_piccolo_app():
    return "plugins.evidence.piccolo_app"


@hookimpl
def isogov_route_handlers():
    from plugins.evidence.controllers import EvidenceController

    return [EvidenceController]


@hookimpl
def isogov_permissions():
    return [
        Permission("evidence.read", "List, read and download evidence files", ALL_TENANT_ROLES),
        Permission("evidence.write", "Upload evidence and new versions (agency officers: records they may write)",
                   ("tenant_admin", "inspector", "agency_officer")),
        Permission("evidence.delete", "Delete evidence (kept until the tenant's retention ends)", ("tenant_admin",)),
        Permission("evidence.delete_own", "Take back evidence one uploaded oneself, within 24 hours of the upload",
                   ("tenant_admin", "inspector", "agency_officer")),
        Permission("evidence.manage", "Change the tenant's upload limit and retention", ("tenant_admin",)),
    ]


@hookimpl
def isogov_jobs():
    from plugins.evidence.jobs import evidence_purge, evidence_reconcile

    return [evidence_purge, evidence_reconcile]


@hookimpl
def isogov_schedules():
    from plugins.evidence.jobs import schedules

    return schedules()


@hookimpl
async def isogov_indicators(reader, tenants, year):
    from plugins.evidence.services import indicators

    return await indicators(reader, tenants, year)


@hookimpl
async def isogov_seed_demo(ctx, agencies):
    from plugins.evidence.services import seed_demo

    await seed_demo(ctx)
