from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

import msgspec
from litestar import Controller, delete, get, patch, post

from core.people.tables import Person
from core.schemas import Limit, Offset, Page, to_struct
from core.tenancy.context import TenantContext
from core.text import fold, like_pattern
from tests.example_plugin.tables import ExampleNote


class NoteCreate(msgspec.Struct, forbid_unknown_fields=True):
    agency_id: uuid.UUID
    title: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    person_id: uuid.UUID | None = None  # whom the note is about: a person of the directory


class NoteUpdate(msgspec.Struct, forbid_unknown_fields=True):
    title: Annotated[str, msgspec.Meta(min_length=1, max_length=200)] | msgspec.UnsetType = msgspec.UNSET
    agency_id: uuid.UUID | msgspec.UnsetType = msgspec.UNSET
    person_id: uuid.UUID | None | msgspec.UnsetType = msgspec.UNSET


class NoteRead(msgspec.Struct):
    id: uuid.UUID
    agency_id: uuid.UUID
    person_id: uuid.UUID | None
    title: str
    created_at: datetime


async def check_person(ctx: TenantContext, person_id: uuid.UUID | None) -> None:
    """A person named by a module: of this tenant (404 otherwise, like any other id), closed people included."""
    if person_id is not None:
        await ctx.scope(Person).get(person_id, label="person")


class NoteController(Controller):
    path = "/notes"

    @get("/", summary="List notes", opt={"permission": "example.read"})
    async def list_notes(self, ctx: TenantContext, q: str | None = None,
                         limit: Limit = 50,
                         offset: Offset = 0) -> Page[NoteRead]:
        conds = [ExampleNote.title_folded.like(like_pattern(q))] if q else []
        rows, total = await ctx.scope(ExampleNote).page(*conds, order_by=(ExampleNote.created_at,), limit=limit,
                                                        offset=offset)
        return Page(items=[to_struct(r, NoteRead) for r in rows], total=total, limit=limit, offset=offset)

    @post("/", summary="Create a note for an agency", opt={"permission": "example.write"})
    async def create_note(self, ctx: TenantContext, data: NoteCreate) -> NoteRead:
        await ctx.ensure_agency(data.agency_id, write=True)
        await check_person(ctx, data.person_id)
        row = await ctx.scope(ExampleNote).insert({"agency_id": data.agency_id, "person_id": data.person_id,
                                                   "title": data.title, "title_folded": fold(data.title)})
        return to_struct(row, NoteRead)

    @get("/{note_id:uuid}", summary="Read a note", opt={"permission": "example.read"})
    async def get_note(self, ctx: TenantContext, note_id: uuid.UUID) -> NoteRead:
        return to_struct(await ctx.scope(ExampleNote).get(note_id, label="note"), NoteRead)

    @patch("/{note_id:uuid}", summary="Update a note", opt={"permission": "example.write"})
    async def update_note(self, ctx: TenantContext, note_id: uuid.UUID, data: NoteUpdate) -> NoteRead:
        current = await ctx.scope(ExampleNote).get(note_id, label="note")
        await ctx.ensure_agency(current["agency_id"], write=True)
        changes = {k: v for k, v in msgspec.structs.asdict(data).items() if v is not msgspec.UNSET}
        if "agency_id" in changes:
            await ctx.ensure_agency(changes["agency_id"], write=True)
        if "person_id" in changes:
            await check_person(ctx, changes["person_id"])
        if "title" in changes:
            changes["title_folded"] = fold(changes["title"])
        return to_struct(await ctx.scope(ExampleNote).update(note_id, changes), NoteRead)

    @delete("/{note_id:uuid}", summary="Delete a note (soft)", opt={"permission": "example.write"})
    async def delete_note(self, ctx: TenantContext, note_id: uuid.UUID) -> None:
        current = await ctx.scope(ExampleNote).get(note_id, label="note")
        await ctx.ensure_agency(current["agency_id"], write=True)
        await ctx.scope(ExampleNote).soft_delete(note_id)
