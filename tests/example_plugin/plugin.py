"""Hook implementations of the example plugin: one of each capability."""

from __future__ import annotations

from datetime import date

from core.contracts import EvidenceTarget, Indicator, ModuleInfo, Permission, Reminder
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


@hookimpl
def isogov_cron_jobs():
    return []


@hookimpl
async def isogov_reminders(ctx, day: date):
    count = await ctx.scope(ExampleNote).count()
    if not count:
        return []
    return [Reminder(module=NAME, kind="notes_pending", key=f"example:notes:{day.isoformat()}",
                     title=f"{count} ghi chú cần xem", due_on=day, status="due")]


@hookimpl
async def isogov_indicators(ctx, year: int):
    return [Indicator(module=NAME, name="notes", value=await ctx.scope(ExampleNote).count(), label_en="Notes")]


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
async def isogov_eligibility(ctx, agency_id):
    count = await ctx.scope(ExampleNote).count().where(ExampleNote.agency_id == agency_id)
    return {"example.notes": count}


@hookimpl
def isogov_tenant_event(ctx, event):
    EVENTS.append(event)


@hookimpl
async def isogov_seed_demo(ctx, agencies):
    from core.text import fold

    for code, agency_id in list(agencies.items())[:2]:
        title = f"Ghi chú mẫu {code}"
        await ctx.scope(ExampleNote).insert({"agency_id": agency_id, "title": title, "title_folded": fold(title)})
