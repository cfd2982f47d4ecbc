"""Hook implementations of the example plugin: one of each capability."""

from __future__ import annotations

from datetime import date

from piccolo.query.functions.aggregate import Count

from core.contracts import DemoAgency, EvidenceTarget, Fact, Indicator, ModuleInfo, NotificationKind, MergeReport, Permission, Reminder, Schedule
from core.errors import Forbidden, NotFound
from core.plugins import hookimpl
from tests.example_plugin import NAME, VERSION
from tests.example_plugin.tables import ExampleNote

EVENTS: list = []  # tenant events received, inspected by the contract tests


@hookimpl
def isogov_module():
    return ModuleInfo(name=NAME, title_vi="Ghi chú mẫu", title_en="Example notes", version=VERSION)


@hookimpl
def isogov_piccolo_app():
    return "tests.example_plugin.piccolo_app"


@hookimpl
def isogov_route_handlers():
    from tests.example_plugin.controllers import NoteController

    return [NoteController]


@hookimpl
def isogov_permissions():
    return [
        Permission("example.read", "Read notes", ("tenant_admin", "inspector", "agency_officer", "viewer")),
        Permission("example.write", "Write notes", ("tenant_admin", "inspector", "agency_officer")),
    ]


async def example_job(ctx, note_id: str) -> str:
    return note_id


@hookimpl
def isogov_jobs():
    return [example_job]


async def nightly_count(ctx) -> int:
    """A per-tenant schedule: ctx is a system TenantContext of one tenant with the module on."""
    return await ctx.scope(ExampleNote).count()


@hookimpl
def isogov_schedules():
    return [Schedule(name="example_nightly", func=nightly_count, hour=1, minute=15, per_tenant=True)]


@hookimpl
def isogov_notification_kinds():
    return [NotificationKind(kind="example.note_added", title_vi="Ghi chú mới: {title}", title_en="New note: {title}",
                             audience=("tenant_admin",)),
            # the family: every other "example.*" kind the tests send
            NotificationKind(kind="example", title_vi="Thông báo mẫu", title_en="Example notice")]


@hookimpl
async def isogov_reminders(ctx, day: date):
    count = await ctx.scope(ExampleNote).count()
    if not count:
        return []
    return [Reminder(module=NAME, kind="notes_pending", key=f"example:notes:{day.isoformat()}",
                     title=f"{count} ghi chú cần xem", due_on=day, status="due")]


@hookimpl
async def isogov_indicators(reader, tenants, year: int):
    rows = await reader.scope(ExampleNote).select(ExampleNote.tenant_id, Count(ExampleNote.id, alias="n")).group_by(
        ExampleNote.tenant_id)
    counts = {row["tenant_id"]: row["n"] for row in rows}
    return [Indicator(module=NAME, name="notes", value=counts.get(t.id, 0), label_vi="Số ghi chú", label_en="Notes",
                      unit="note", tenant_id=t.id) for t in tenants]


async def _check_note(ctx, target_id, write: bool) -> None:
    row = await ctx.scope(ExampleNote).find(target_id)
    if row is None:
        raise NotFound(f"note {target_id} not found")
    if write and not ctx.has("example.write"):
        raise Forbidden("may not attach to notes")


@hookimpl
def isogov_evidence_targets():
    return [EvidenceTarget(target_type="example_note", module=NAME, title="Note", check=_check_note)]


@hookimpl
async def isogov_facts(ctx, agencies, people, on):
    rows = await ctx.scope(ExampleNote).select(ExampleNote.agency_id, Count(ExampleNote.id, alias="n")).where(
        ExampleNote.agency_id.is_in(list(agencies) or [None])).group_by(ExampleNote.agency_id)
    counts = {row["agency_id"]: row["n"] for row in rows}
    facts = [Fact(subject="agency", subject_id=a, name="example.notes", value=counts.get(a, 0),
                  explanation=f"Có {counts.get(a, 0)} ghi chú", holds_on=on) for a in agencies]
    if people:  # notes naming a person of the directory: one query for all the people asked about
        rows = await ctx.scope(ExampleNote).select(ExampleNote.person_id, Count(ExampleNote.id, alias="n")).where(
            ExampleNote.person_id.is_in(list(people))).group_by(ExampleNote.person_id)
        about = {row["person_id"]: row["n"] for row in rows}
        facts += [Fact(subject="person", subject_id=p, name="example.notes", value=about.get(p, 0),
                       explanation=f"Được nhắc trong {about.get(p, 0)} ghi chú", holds_on=on) for p in people]
    return facts


@hookimpl
def isogov_tenant_event(ctx, event):
    EVENTS.append(event)


@hookimpl
async def isogov_seed_demo(ctx, agencies):
    from core.text import fold

    for code, agency_id in list(agencies.items())[:2]:
        title = f"Ghi chú mẫu {code}"
        await ctx.scope(ExampleNote).insert({"agency_id": agency_id, "title": title, "title_folded": fold(title)})


@hookimpl
def isogov_cli_commands():
    import click

    @click.command("example-count", help="Count the example notes of a tenant.")
    @click.argument("tenant")
    def example_count(tenant: str) -> None:
        import asyncio

        from core.tenancy.context import system_context
        from core.tenancy.guards import load_tenant

        async def go() -> int:
            info = await load_tenant(tenant)
            if info is None:
                raise click.ClickException(f"tenant {tenant!r} not found")
            return await system_context(info, "cli").scope(ExampleNote).count()

        click.echo(f"notes: {asyncio.run(go())}")

    return [example_count]


@hookimpl
async def isogov_tenant_merge(merge):
    """Notes need no rule of their own (core moves them); report how many the sources hold."""
    from core.tenancy import unscoped

    with unscoped():
        counts = await ExampleNote.count().where(ExampleNote.tenant_id.is_in([s.id for s in merge.sources]))
    return MergeReport(module=NAME, moved={"example_note": counts})


@hookimpl
def isogov_demo_agencies(province):
    if province != "example-province":
        return None
    return [DemoAgency("EX", "UBND tỉnh Mẫu", "province"), DemoAgency("EX-STP", "Sở Tư pháp", "department", "EX")]
