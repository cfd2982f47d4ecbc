"""Hook implementations of the training module: what it contributes to isogov."""

from __future__ import annotations

from datetime import date

from core.contracts import EvidenceTarget, ModuleInfo, NotificationKind, Permission, Schedule
from core.plugins import hookimpl
from plugins.training import NAME, VERSION

ALL_TENANT_ROLES = ("tenant_admin", "inspector", "agency_officer", "viewer")


@hookimpl
def isogov_module():
    return ModuleInfo(name=NAME, title_vi="Tập huấn, đào tạo về HTQLCL", title_en="QMS training", version=VERSION)


@hookimpl
def isogov_piccolo_app():
    return "plugins.training.piccolo_app"


@hookimpl
def isogov_route_handlers():
    from plugins.training.controllers import (
        CertificateController,
        CoverageController,
        KindController,
        PeopleController,
        RegistrationController,
        SessionController,
    )

    return [KindController, SessionController, RegistrationController, PeopleController, CertificateController,
            CoverageController]


@hookimpl
def isogov_permissions():
    return [
        Permission(f"{NAME}.read", "Read sessions, registrations, certificates, coverage and history",
                   ALL_TENANT_ROLES),
        Permission(f"{NAME}.register", "Register staff for sessions and add missing people (agency officers: own "
                                       "agency and its sub-units)", ("tenant_admin", "inspector", "agency_officer")),
        Permission(f"{NAME}.manage", "Plan and run sessions: invitations, attendance, scores, closing, certificates",
                   ("tenant_admin", "inspector")),
        Permission(f"{NAME}.catalogue", "Change the province's catalogue of training kinds", ("tenant_admin",)),
    ]


@hookimpl
def isogov_notification_kinds():
    audience = ("agency_officer",)
    return [
        NotificationKind(kind=f"{NAME}.invited", title_vi="Mời cử tối đa {quota} người dự tập huấn «{title}» "
                                                          "ngày {starts_on}",
                         title_en="Invitation: send up to {quota} people to «{title}» on {starts_on}",
                         audience=audience),
        NotificationKind(kind=f"{NAME}.registration_confirmed",
                         title_vi="Đã đăng ký {name} dự tập huấn «{title}» ngày {starts_on}",
                         title_en="{name} is registered for «{title}» on {starts_on}", audience=audience),
        NotificationKind(kind=f"{NAME}.session_changed", title_vi="Thay đổi lịch tập huấn «{title}»",
                         title_en="Training «{title}» changed", audience=audience),
        NotificationKind(kind=f"{NAME}.session_cancelled", title_vi="Hủy lớp tập huấn «{title}»",
                         title_en="Training «{title}» cancelled", audience=audience),
        NotificationKind(kind=f"{NAME}.session_soon", title_vi="Lớp tập huấn «{title}» bắt đầu ngày {starts_on}",
                         title_en="Training «{title}» starts on {starts_on}", audience=audience),
    ]


@hookimpl
def isogov_schedules():
    from plugins.training import jobs

    return [Schedule(name=f"{NAME}:session_soon", func=jobs.session_soon, hour=7, minute=20, per_tenant=True)]


@hookimpl
async def isogov_reminders(ctx, day: date):
    from plugins.training import reporting

    return await reporting.reminders(ctx, day)


@hookimpl
async def isogov_indicators(reader, tenants, year: int):
    from plugins.training import reporting

    return await reporting.indicators(reader, tenants, year)


@hookimpl
async def isogov_facts(ctx, agencies, people, on: date):
    from plugins.training import reporting

    return await reporting.facts(ctx, agencies, people, on)


@hookimpl
def isogov_evidence_targets():
    from plugins.training import reporting

    return [
        EvidenceTarget(target_type="training_session", module=NAME, title="Lớp tập huấn (training session)",
                       check=reporting.check_session),
        EvidenceTarget(target_type="training_certificate", module=NAME, title="Giấy chứng nhận (certificate)",
                       check=reporting.check_certificate),
    ]


@hookimpl
async def isogov_tenant_event(ctx, event):
    from plugins.training import services

    if event.kind == "module_enabled" and event.module == NAME:
        await services.ensure_catalogue(ctx)


@hookimpl
async def isogov_tenant_merge(merge):
    from plugins.training import merging

    return await merging.merge(merge)


@hookimpl
async def isogov_seed_demo(ctx, agencies):
    from plugins.training import demo

    await demo.seed(ctx, agencies)
