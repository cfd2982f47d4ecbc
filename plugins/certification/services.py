"""Queries and writes of the certification module; the rules themselves live in rules.py.

Writing an event: check the actor may write for the agency, lock the agency's record (PostgreSQL: SELECT ... FOR
UPDATE; SQLite: the write transaction is taken up front), replay the stored events plus the new one through
rules.replay(), and only when every event stays valid insert the event and rewrite the record's derived columns,
all in one transaction. Events are never updated or deleted.

Reading "as of" a day: the derived state on the record is the state after all events, and no event may be dated
in the future, so for any day on or after the record's last event the stored state is the answer; for an earlier
day the record's events are replayed up to that day (corrections included, whatever their own date).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any, Iterable, Sequence

import msgspec

from core.agencies.services import LIST_ORDER, is_active
from core.db import direct_pg, fetch as db_fetch, fetch_pg, is_sqlite, reads, tenant_bound, transaction
from core.errors import BadRequest, Conflict, NotFound, Unprocessable, is_unique_violation
from core.notifications.notify import notify
from core.schemas import to_struct
from core.agencies.tables import Agency
from core.tenancy.context import TenantContext
from core.text import like_pattern
from plugins.certification import NAME, rules
from plugins.certification.schemas import (
    EventReplacement,
    BoardRow,
    BoardSummary,
    Breakdown,
    Correction,
    EventCreate,
    EventRead,
    RecordRead,
    SettingsRead,
    SettingsUpdate,
)
from plugins.certification.tables import CertificationSettings, QmsEvent, QmsRecord

LEVEL_ORDER = ("province", "department", "district", "office", "commune", "unit")


def _json_load(value: Any) -> Any:
    return msgspec.json.decode(value) if isinstance(value, (str, bytes)) else value


def _json_dump(value: Any) -> str:
    return msgspec.json.encode(value).decode("utf-8")


def _decode(row: dict[str, Any], *names: str) -> dict[str, Any]:
    return {**row, **{n: _json_load(row[n]) for n in names if n in row}}


# ----------------------------------------------------------------------------------------------- settings


async def read_settings(ctx: TenantContext) -> dict[str, Any] | None:
    return await ctx.scope(CertificationSettings).select().first()


_DEADLINE_SQL = 'SELECT "conversion_deadline" AS d FROM "cert_settings" WHERE "tenant_id" = {}'


async def conversion_deadline(ctx: TenantContext) -> date | None:
    """The province's conversion deadline, if it set one (read on every board page and summary: one fixed
    statement, straight to the driver on PostgreSQL)."""
    if direct_pg():
        with tenant_bound(ctx.tenant.id):  # as ctx.scope would: the database shows this tenant's rows only
            rows = await db_fetch(_DEADLINE_SQL, ctx.tenant.id)
        return rows[0]["d"] if rows else None
    row = await read_settings(ctx)
    return row["conversion_deadline"] if row else None


def settings_read(row: dict[str, Any] | None) -> SettingsRead:
    if row is None:
        return SettingsRead(conversion_deadline=None, conversion_deadline_reference=None, updated_at=None)
    return to_struct(row, SettingsRead)


async def update_settings(ctx: TenantContext, data: SettingsUpdate) -> dict[str, Any]:
    changes = {k: v for k, v in msgspec.structs.asdict(data).items() if v is not msgspec.UNSET}
    if isinstance(changes.get("conversion_deadline_reference"), str):
        changes["conversion_deadline_reference"] = changes["conversion_deadline_reference"].strip() or None
    async with transaction():
        current = await read_settings(ctx)
        if current is None:
            return await ctx.scope(CertificationSettings).insert(changes)
        if not changes:
            return current
        return await ctx.scope(CertificationSettings).update(current["id"], changes)


# ----------------------------------------------------------------------------------------------- records


def _records(ctx: TenantContext) -> Any:
    return ctx.scope(QmsRecord).select().output(load_json=True)


async def record_of_agency(ctx: TenantContext, agency_id: uuid.UUID) -> dict[str, Any] | None:
    return await _records(ctx).where(QmsRecord.agency_id == agency_id).first()


async def get_record(ctx: TenantContext, record_id: uuid.UUID) -> dict[str, Any]:
    row = await _records(ctx).where(QmsRecord.id == record_id).first()
    if row is None:
        raise NotFound(f"QMS record {record_id} not found")
    return row


def _empty_record_values(agency_id: uuid.UUID) -> dict[str, Any]:
    values = rules.QmsState().record_values()
    values.update({n: _json_dump(values[n]) for n in rules.JSON_FIELDS})
    values["agency_id"] = agency_id
    return values


async def create_record(ctx: TenantContext, agency_id: uuid.UUID) -> dict[str, Any]:
    """An empty (not started) record for an agency; 409 when it has one."""
    await ctx.ensure_agency(agency_id, write=True)
    if await record_of_agency(ctx, agency_id) is not None:
        raise Conflict("this agency already has a QMS record", field="agency_id")
    try:
        row = await ctx.scope(QmsRecord).insert(_empty_record_values(agency_id))
    except Exception as exc:
        if is_unique_violation(exc):
            raise Conflict("this agency already has a QMS record", field="agency_id") from exc
        raise
    return await get_record(ctx, row["id"])


async def record_read(ctx: TenantContext, row: dict[str, Any], agency: dict[str, Any] | None = None,
                      today: date | None = None) -> RecordRead:
    agency = agency or await ctx.scope(Agency).get(row["agency_id"], label="agency")
    row = _decode(row, *rules.JSON_FIELDS)
    today = today or date.today()
    reasons = rules.overdue_reasons(rules.state_from_record(row), today, await conversion_deadline(ctx)) \
        if is_active(agency, today) else []
    return to_struct({**row, "agency_code": agency["code"], "agency_name": agency["name"],
                      "agency_level": agency["level"], "agency_required": agency["required"],
                      "overdue_reasons": reasons}, RecordRead)


# ----------------------------------------------------------------------------------------------- events


def rule_event(row: dict[str, Any]) -> rules.Event:
    return rules.Event(id=row["id"], seq=row["seq"], kind=row["kind"], occurred_on=row["occurred_on"],
                       data=_json_load(row["data"]) or {}, corrects_id=row["corrects_id"])


async def event_rows(ctx: TenantContext, record_ids: Iterable[uuid.UUID]) -> list[dict[str, Any]]:
    ids = list(record_ids)
    if not ids:
        return []
    return await ctx.scope(QmsEvent).select().where(QmsEvent.record_id.is_in(ids)).order_by(QmsEvent.seq) \
        .output(load_json=True)


def _split(inp: Any) -> tuple[str, date | None, str | None, dict[str, Any], uuid.UUID | None]:
    """(kind, occurred_on, note, the kind's own fields as JSON types, corrected event id) of an input struct."""
    data = msgspec.to_builtins(inp)
    kind = data.pop("kind")
    data.pop("occurred_on", None)
    note = data.pop("note", None)
    corrects = data.pop("corrects_event_id", None)
    return kind, inp.occurred_on, note, data, uuid.UUID(corrects) if corrects else None


def _check_date(on: date, agency: dict[str, Any], today: date, field: str, *, agency_bound: bool = True) -> None:
    if on > today:
        raise Unprocessable(f"an event cannot be dated in the future ({on.isoformat()})", field=field)
    if not agency_bound:
        return
    if on < agency["valid_from"]:
        raise Unprocessable(f"the agency exists only from {agency['valid_from'].isoformat()}", field=field)
    if agency["valid_to"] is not None and on > agency["valid_to"]:
        raise Unprocessable(f"the agency was closed on {agency['valid_to'].isoformat()}", field=field)


def _latest_corrections(events: Sequence[rules.Event]) -> dict[uuid.UUID, rules.Event]:
    latest: dict[uuid.UUID, rules.Event] = {}
    for e in sorted(events, key=lambda e: e.seq):
        if e.kind == "correction" and e.corrects_id is not None:
            latest[e.corrects_id] = e
    return latest


def _with_full_replacement(inp: Correction, events: Sequence[rules.Event]) -> Correction:
    """The correction with its partial `replacement` completed from the corrected event (or that event's latest
    replacement) into the kind's own struct, checked like a new event of that kind (400 naming the field)."""
    if inp.action != "replace" or inp.replacement is None:
        return inp
    target = next((e for e in events if e.id == inp.corrects_event_id), None)
    if target is None or target.kind == "correction":
        return inp  # _check_correction answers
    partial = dict(inp.replacement)
    kind = partial.pop("kind", target.kind)
    if kind != target.kind:
        raise Unprocessable(f"the replacement must be a {target.kind!r} event like the one it corrects",
                            field="replacement.kind")
    base: dict[str, Any] = {**target.data, "occurred_on": target.occurred_on.isoformat()}
    previous = _latest_corrections(events).get(target.id)
    if previous is not None and previous.data.get("action") == "replace" and previous.data.get("replacement"):
        base = dict(previous.data["replacement"])
    base.pop("kind", None)
    try:
        full = msgspec.convert({**base, **partial, "kind": kind}, EventReplacement, strict=True)
    except msgspec.ValidationError as exc:
        message = str(exc)
        where = message.rsplit("at `$.", 1)[-1].split("`", 1)[0] if "at `$." in message else None
        if where is None and "unknown field `" in message:
            where = message.split("unknown field `", 1)[1].split("`", 1)[0]
        raise BadRequest(f"invalid replacement: {message}",
                         field=f"replacement.{where}" if where else "replacement") from exc
    return msgspec.structs.replace(inp, replacement=full)


def _check_correction(inp: Correction, events: Sequence[rules.Event], agency: dict[str, Any], today: date) -> None:
    target = next((e for e in events if e.id == inp.corrects_event_id), None)
    if target is None:
        raise NotFound(f"event {inp.corrects_event_id} is not in this agency's timeline", field="corrects_event_id")
    if target.kind == "correction":
        raise Unprocessable("a correction cannot be corrected; correct the original event again instead",
                            field="corrects_event_id")
    if inp.action == "replace":
        if inp.replacement is None:
            raise Unprocessable("a replacing correction needs the replacement event", field="replacement")
        if inp.replacement.__struct_config__.tag != target.kind:
            raise Unprocessable(f"the replacement must be a {target.kind!r} event like the one it corrects",
                                field="replacement.kind")
        _check_date(inp.replacement.occurred_on, agency, today, "replacement.occurred_on")
        _check_references(inp.replacement, events)
    else:
        if inp.replacement is not None:
            raise Unprocessable("a voiding correction takes no replacement", field="replacement")
        previous = _latest_corrections(events).get(target.id)
        if previous is not None and previous.data.get("action") == "void":
            raise Conflict("this event is already voided", field="corrects_event_id")


def _check_references(inp: Any, events: Sequence[rules.Event]) -> None:
    """An event id in a body must name an event of this agency's timeline: 404 otherwise (another tenant's or
    another agency's id is never accepted, and nothing tells which)."""
    ref = getattr(inp, "legal_change_event_id", None)
    if ref is not None and not any(e.id == ref for e in events):
        raise NotFound(f"event {ref} is not in this agency's timeline", field="legal_change_event_id")


def _refusal(v: rules.RuleViolation, new: rules.Event) -> Exception:
    """Turn a rule violation met while replaying with `new` into the HTTP problem of the request."""
    cls = Unprocessable if v.status == "invalid" else Conflict
    if v.event is None or v.event.id == new.id:
        return cls(v.message, field=v.field)
    if new.kind == "correction" and v.event.id == new.corrects_id:
        return cls(f"the corrected event would be invalid: {v.message}",
                   field=f"replacement.{v.field}" if v.field else "replacement")
    return Conflict(f"this would make the later event {v.event.kind!r} of {v.event.occurred_on.isoformat()} invalid: "
                    f"{v.message}; correct or void that event first")


async def _lock_record(ctx: TenantContext, agency_id: uuid.UUID) -> dict[str, Any] | None:
    query = ctx.scope(QmsRecord).select(QmsRecord.id).where(QmsRecord.agency_id == agency_id)
    if not is_sqlite():
        query = query.lock_rows("UPDATE")
    return await query.first()


@dataclass
class Recorded:
    events: list[dict[str, Any]]
    record: dict[str, Any]
    agency: dict[str, Any]


async def record_events(ctx: TenantContext, agency_id: Any, inputs: Sequence[EventCreate],
                        today: date | None = None) -> Recorded:
    """Record events for an agency in the given order, all or none. Creates the agency's record when needed."""
    agency = await ctx.ensure_agency(agency_id, write=True)
    today = today or date.today()
    try:
        async with transaction():
            locked = await _lock_record(ctx, agency["id"])
            if locked is None:
                record_id = (await ctx.scope(QmsRecord).insert(_empty_record_values(agency["id"])))["id"]
            else:
                record_id = locked["id"]
            events = [rule_event(r) for r in await event_rows(ctx, [record_id])]
            seq = max((e.seq for e in events), default=0)
            new_rows: list[dict[str, Any]] = []
            for inp in inputs:
                if isinstance(inp, Correction):
                    inp = _with_full_replacement(inp, events)
                kind, occurred_on, note, data, corrects = _split(inp)
                if isinstance(inp, Correction):
                    occurred_on = occurred_on or today
                    _check_date(occurred_on, agency, today, "occurred_on", agency_bound=False)
                    _check_correction(inp, events, agency, today)
                else:
                    _check_date(occurred_on, agency, today, "occurred_on")
                    _check_references(inp, events)
                seq += 1
                new = rules.Event(id=uuid.uuid4(), seq=seq, kind=kind, occurred_on=occurred_on, data=data,
                                  corrects_id=corrects)
                try:
                    rules.replay([*events, new])
                except rules.RuleViolation as v:
                    raise _refusal(v, new) from v
                events.append(new)
                new_rows.append({
                    "id": new.id, "record_id": record_id, "agency_id": agency["id"], "seq": seq,
                    "seq_key": f"{record_id}:{seq}", "kind": kind, "occurred_on": occurred_on, "note": note,
                    "data": _json_dump(data), "corrects_id": corrects, "recorded_by_id": ctx.actor.id,
                    "recorded_by": ctx.actor.email,
                })
            state = rules.replay(events)
            inserted = [await ctx.scope(QmsEvent).insert(values) for values in new_rows]
            values = state.record_values()
            values.update({n: _json_dump(values[n]) for n in rules.JSON_FIELDS})
            await ctx.scope(QmsRecord).update(record_id, values)
            for row in new_rows:  # Decision 19 Art. 4: the lead unit is notified of every announcement
                if row["kind"] == "announced":
                    await notify(ctx, kind=f"{NAME}.announced", data={"agency": agency["name"]},
                                 body=f"Ngày công bố: {row['occurred_on']:%d/%m/%Y}.", agency_id=agency["id"],
                                 link=f"{NAME}/records/{record_id}", dedup_key=f"{NAME}:announced:{row['id']}")
    except Exception as exc:
        if is_unique_violation(exc):
            raise Conflict("the record changed while this event was being recorded; send it again") from exc
        raise
    return Recorded(events=[_decode(r, "data") for r in inserted], record=await get_record(ctx, record_id),
                    agency=agency)


def event_reads(rows: Sequence[dict[str, Any]], all_rows: Sequence[dict[str, Any]] | None = None) -> list[EventRead]:
    """Events as read by the API, each with how (and by which event) it was corrected, if it was."""
    latest = _latest_corrections([rule_event(r) for r in (all_rows if all_rows is not None else rows)])
    result = []
    for row in rows:
        corr = latest.get(row["id"])
        result.append(to_struct({
            **_decode(row, "data"), "corrects_event_id": row["corrects_id"],
            "correction": None if corr is None else ("voided" if corr.data.get("action") == "void" else "replaced"),
            "corrected_by_event_id": corr.id if corr else None,
        }, EventRead))
    return result


async def timeline(ctx: TenantContext, agency_id: uuid.UUID, kind: str | None, limit: int, offset: int
                   ) -> tuple[list[EventRead], int]:
    """The agency's events in date order (then order of recording), corrections included and marked."""
    agency = await ctx.ensure_agency(agency_id)
    record = await record_of_agency(ctx, agency["id"])
    if record is None:
        return [], 0
    rows = await event_rows(ctx, [record["id"]])
    rows.sort(key=lambda r: (r["occurred_on"], r["seq"]))
    chosen = [r for r in rows if kind is None or r["kind"] == kind]
    return event_reads(chosen[offset:offset + limit], rows), len(chosen)


async def get_event(ctx: TenantContext, event_id: uuid.UUID) -> EventRead:
    row = await ctx.scope(QmsEvent).get(event_id, label="QMS event")
    rows = await event_rows(ctx, [row["record_id"]])
    return event_reads([r for r in rows if r["id"] == row["id"]], rows)[0]


# ----------------------------------------------------------------------------------------------- as of a day


async def states_as_of(ctx: TenantContext, as_of: date, records: Sequence[dict[str, Any]]
                       ) -> dict[uuid.UUID, rules.QmsState]:
    """The state of each record (keyed by agency id) on `as_of`; replays only records with later events."""
    result: dict[uuid.UUID, rules.QmsState] = {}
    stale = []
    for row in records:
        if row["last_event_on"] is None or row["last_event_on"] <= as_of:
            result[row["agency_id"]] = rules.state_from_record(_decode(row, *rules.JSON_FIELDS))
        else:
            stale.append(row)
    if stale:
        grouped: dict[uuid.UUID, list[rules.Event]] = {}
        for ev in await event_rows(ctx, [r["id"] for r in stale]):
            grouped.setdefault(ev["record_id"], []).append(rule_event(ev))
        for row in stale:
            result[row["agency_id"]] = rules.replay(grouped.get(row["id"], []), until=as_of)
    return result


@dataclass
class BoardFilters:
    status: list[str] | None = None
    level: list[str] | None = None
    required: bool | None = None
    standard_version: str | None = None
    overdue: bool | None = None
    overdue_reason: str | None = None
    reannouncement_due: bool | None = None
    parent_id: uuid.UUID | None = None
    include_closed: bool = False
    q: str | None = None


def _board_row(agency: dict[str, Any], record_id: uuid.UUID | None, state: rules.QmsState, active: bool,
               reasons: list[str]) -> BoardRow:
    return BoardRow(
        agency_id=agency["id"], agency_code=agency["code"], agency_name=agency["name"], level=agency["level"],
        required=agency["required"], parent_id=agency["parent_id"], active=active, record_id=record_id,
        status=state.status, standard_version=state.standard_version,
        announcement_number=state.announcement_number, announced_on=state.announced_on,
        announcement_signer=state.announcement_signer, scope_count=len(state.scope),
        last_internal_audit_on=state.last_internal_audit_on, last_management_review_on=state.last_management_review_on,
        last_legal_update_on=state.last_legal_update_on, internal_audit_due_on=state.internal_audit_due_on,
        management_review_due_on=state.management_review_due_on, legal_update_due_on=state.legal_update_due_on,
        reannouncement_due=state.reannouncement_due and state.status == "announced",
        recognition_number=state.recognition_number, recognition_issuer=state.recognition_issuer,
        recognition_date=state.recognition_date, recognition_expires_on=state.recognition_expires_on,
        overdue=bool(reasons), overdue_reasons=reasons,
    )


async def board(ctx: TenantContext, as_of: date, filters: BoardFilters) -> list[BoardRow]:
    """Every agency of the province matching the filters with its QMS state on `as_of`, in board order.

    A province has hundreds to a few thousand agencies, so the agencies are filtered in SQL and joined with their
    records and overdue rules in Python (portable across SQLite and PostgreSQL)."""
    query = ctx.scope(Agency).select(Agency.id, Agency.code, Agency.name, Agency.name_folded, Agency.level,
                                     Agency.parent_id, Agency.required, Agency.valid_from, Agency.valid_to)
    if filters.level:
        query = query.where(Agency.level.is_in(list(filters.level)))
    if filters.required is not None:
        query = query.where(Agency.required == filters.required)
    if not filters.include_closed:
        query = query.where((Agency.valid_from <= as_of) & (Agency.valid_to.is_null() | (Agency.valid_to > as_of)))
    if filters.q and filters.q.strip():
        pattern = like_pattern(filters.q)
        query = query.where(Agency.name_folded.like(pattern) | Agency.code_key.like(pattern))
    agencies = await query
    if filters.parent_id is not None:
        await ctx.ensure_agency(filters.parent_id)
        subtree = await ctx.agency_subtree(filters.parent_id)
        agencies = [a for a in agencies if a["id"] in subtree]
    records = await _records(ctx)
    record_ids = {r["agency_id"]: r["id"] for r in records}
    states = await states_as_of(ctx, as_of, records)
    deadline = await conversion_deadline(ctx)
    rows = []
    for agency in agencies:
        state = states.get(agency["id"]) or rules.QmsState()
        active = is_active(agency, as_of)
        reasons = rules.overdue_reasons(state, as_of, deadline) if active else []
        row = _board_row(agency, record_ids.get(agency["id"]), state, active, reasons)
        if filters.status and row.status not in filters.status:
            continue
        if filters.standard_version is not None and (row.standard_version or "none") != filters.standard_version:
            continue
        if filters.overdue is not None and row.overdue != filters.overdue:
            continue
        if filters.overdue_reason is not None and filters.overdue_reason not in row.overdue_reasons:
            continue
        if filters.reannouncement_due is not None and row.reannouncement_due != filters.reannouncement_due:
            continue
        rows.append((agency, row))
    rows.sort(key=lambda pair: (LEVEL_ORDER.index(pair[0]["level"]) if pair[0]["level"] in LEVEL_ORDER else 99,
                                pair[0]["name_folded"], pair[0]["code"]))
    return [row for _, row in rows]


def summarize(rows: Sequence[BoardRow], as_of: date) -> BoardSummary:
    def breakdown(subset: list[BoardRow]) -> Breakdown:
        counts = {s: 0 for s in rules.STATUSES}
        for r in subset:
            counts[r.status] += 1
        return Breakdown(total=len(subset), by_status=counts)

    overall = breakdown(list(rows))
    by_version = {"2008": 0, "2015": 0, "none": 0}
    by_reason = {r: 0 for r in rules.OVERDUE_REASONS}
    for r in rows:
        by_version[r.standard_version or "none"] += 1
        for reason in r.overdue_reasons:
            by_reason[reason] += 1
    return BoardSummary(
        as_of=as_of, total=overall.total, by_status=overall.by_status,
        by_level={lvl: breakdown([r for r in rows if r.level == lvl]) for lvl in LEVEL_ORDER},
        by_required={"required": breakdown([r for r in rows if r.required]),
                     "voluntary": breakdown([r for r in rows if not r.required])},
        by_version=by_version,
        reannouncement_due=sum(1 for r in rows if r.reannouncement_due),
        overdue=sum(1 for r in rows if r.overdue),
        overdue_by_reason=by_reason,
    )


# ------------------------------------------------------------------------------ the board in SQL (page, counts)
#
# The board of a day on which no record has a later event reads the persisted record state (QmsRecord is derived
# from the events and rewritten with each one), so filtering, ordering, paging and counting run in SQL and a page
# costs the same at 300 and at 3,000 agencies. The record of an agency is reached by a correlated subquery on its
# unique agency_id from the tenant's scoped agency query (the scope adds the tenant filter). A day before some
# record's last event (a board of the past) replays events in Python: `board()` above.
#
# The subquery must reach the record through the unique index on agency_id: one index probe per agency. Its
# tenant check is therefore written so that no index can serve it (`(...) IS TRUE`): with a plain
# `r.tenant_id = agency.tenant_id` beside it and no statistics yet (a province just imported), PostgreSQL took the
# tenant_id index instead and read every record of the province for each agency, so the summary of 3,000 agencies
# cost 9 million row visits (EXPLAIN ANALYZE as the app's role: 0.7-1.4 s, now ~15 ms).

_REC = ('(SELECT {expr} FROM "cert_qms_record" r WHERE r."agency_id" = "agency"."id" '
        'AND (r."tenant_id" = "agency"."tenant_id") IS TRUE)')
_OPEN = '"agency"."valid_from" <= {} AND ("agency"."valid_to" IS NULL OR "agency"."valid_to" > {})'
_IN_USE = "{rec}.\"status\" IN ('applying', 'announced')"


def _reason_sql(reason: str, as_of: date, deadline: date | None, *, rec: str = "r",
                late_tenants: Sequence[uuid.UUID] | None = None) -> tuple[str, list[Any]]:
    """SQL (on the record `rec`, joined to "agency") that is true when `reason` makes the record overdue on
    `as_of` (rules.obligations), for an agency open that day; with its parameters. `late_tenants`, for a query
    over several tenants: the tenants whose conversion deadline has passed on `as_of` (`deadline` is then unused).
    """
    if reason in ("internal_audit", "management_review", "legal_update"):
        column = {"internal_audit": "internal_audit_due_on", "management_review": "management_review_due_on",
                  "legal_update": "legal_update_due_on"}[reason]
        return f'{_IN_USE.format(rec=rec)} AND {rec}."{column}" < {{}} AND {_OPEN}', [as_of, as_of, as_of]
    if reason == "reannouncement":
        return (f'{rec}."status" = \'announced\' AND {rec}."reannouncement_due" = {{}} AND '
                f'{rec}."reannouncement_due_since" IS NOT NULL AND {_OPEN}', [True, as_of, as_of])
    # conversion
    if (not late_tenants) if late_tenants is not None else (deadline is None or as_of <= deadline):
        return "1 = 0", []
    statuses = ", ".join(f"'{s}'" for s in rules.CONVERTIBLE)
    sql = f'{rec}."standard_version" = \'2008\' AND {rec}."status" IN ({statuses}) AND {_OPEN}'
    if late_tenants is None:
        return sql, [as_of, as_of]
    marks = ", ".join("{}" for _ in late_tenants)
    return f'{sql} AND "agency"."tenant_id" IN ({marks})', [as_of, as_of, *late_tenants]


def _flag(sql: str, params: list[Any]) -> tuple[str, list[Any]]:
    return f"CASE WHEN {sql} THEN '1' ELSE '0' END", params


def _summary_key(as_of: date, deadline: date | None) -> tuple[str, list[Any]]:
    """One text per agency: status|version|reannouncement flag|one flag per overdue reason (OVERDUE_REASONS)."""
    parts, params = ["r.\"status\"", "COALESCE(r.\"standard_version\", 'none')"], []
    sql, p = _flag('r."status" = \'announced\' AND r."reannouncement_due" = {}', [True])
    parts.append(sql)
    params += p
    for reason in rules.OVERDUE_REASONS:
        sql, p = _flag(*_reason_sql(reason, as_of, deadline))
        parts.append(sql)
        params += p
    expr = " || '|' || ".join(parts)
    return f"COALESCE({_REC.format(expr=expr)}, 'not_started|none|0{'|0' * len(rules.OVERDUE_REASONS)}')", params


def _exists(sql: str, params: list[Any], negate: bool = False) -> Any:
    from piccolo.columns.combination import WhereRaw

    return WhereRaw(f"{'NOT ' if negate else ''}EXISTS {_REC.format(expr='1')[:-1]} AND ({sql}))", *params)


async def _sql_conditions(ctx: TenantContext, as_of: date, filters: BoardFilters, deadline: date | None
                          ) -> list[Any]:
    """The board filters as conditions on the tenant's agency query."""
    from piccolo.columns.combination import WhereRaw

    conds: list[Any] = []
    if filters.level:
        conds.append(Agency.level.is_in(list(filters.level)))
    if filters.required is not None:
        conds.append(Agency.required == filters.required)
    if not filters.include_closed:
        conds.append((Agency.valid_from <= as_of) & (Agency.valid_to.is_null() | (Agency.valid_to > as_of)))
    if filters.q and filters.q.strip():
        pattern = like_pattern(filters.q)
        conds.append(Agency.name_folded.like(pattern) | Agency.code_key.like(pattern))
    if filters.parent_id is not None:
        await ctx.ensure_agency(filters.parent_id)
        conds.append(Agency.id.is_in(list(await ctx.agency_subtree(filters.parent_id))))
    if filters.status:
        statuses = list(filters.status)
        marks = ", ".join("{}" for _ in statuses)
        status = WhereRaw(_REC.format(expr='r."status"') + f" IN ({marks})", *statuses)
        conds.append(status | _exists("1 = 1", [], negate=True) if "not_started" in statuses else status)
    if filters.standard_version is not None:
        if filters.standard_version == "none":
            conds.append(_exists('r."standard_version" IS NOT NULL', [], negate=True))
        else:
            conds.append(_exists('r."standard_version" = {}', [filters.standard_version]))
    if filters.reannouncement_due is not None:
        conds.append(_exists('r."status" = \'announced\' AND r."reannouncement_due" = {}', [True],
                             negate=not filters.reannouncement_due))
    if filters.overdue is not None or filters.overdue_reason is not None:
        reasons = [filters.overdue_reason] if filters.overdue_reason is not None else list(rules.OVERDUE_REASONS)
        pieces = [_reason_sql(r, as_of, deadline) for r in reasons]
        sql = " OR ".join(f"({s})" for s, _ in pieces)
        params = [p for _, ps in pieces for p in ps]
        if filters.overdue_reason is not None:
            conds.append(_exists(sql, params))
        if filters.overdue is not None:
            if filters.overdue_reason is not None and not filters.overdue:
                conds.append(WhereRaw("1 = 0"))  # overdue for a reason, yet not overdue: nothing
            else:
                all_pieces = [_reason_sql(r, as_of, deadline) for r in rules.OVERDUE_REASONS]
                conds.append(_exists(" OR ".join(f"({s})" for s, _ in all_pieces),
                                     [p for _, ps in all_pieces for p in ps], negate=not filters.overdue))
    return conds


async def _board_in_sql(ctx: TenantContext, as_of: date) -> bool:
    """True when the persisted record state is the state on `as_of` (no record has a later event)."""
    return not await ctx.scope(QmsRecord).count().where(QmsRecord.last_event_on > as_of)


BOARD_AGENCY_COLUMNS = (Agency.id, Agency.code, Agency.name, Agency.name_folded, Agency.level, Agency.parent_id,
                        Agency.required, Agency.valid_from, Agency.valid_to)


def _stale_sql(ctx: TenantContext, as_of: date) -> Any:
    """A column of the board's queries: true when some record of the tenant has an event after `as_of` (the
    persisted state is then not the state of that day: `_board_in_sql` is false), so the check costs no query."""
    from piccolo.querystring import QueryString

    return QueryString('EXISTS (SELECT 1 FROM "cert_qms_record" s WHERE s."tenant_id" = {} '
                       'AND s."last_event_on" > {})', ctx.tenant.id, as_of, alias="board_stale")


async def board_page(ctx: TenantContext, as_of: date, filters: BoardFilters, limit: int, offset: int
                     ) -> tuple[list[BoardRow], int]:
    """One page of the board and how many rows match: SQL pages and counts (see above); Python only for the
    rows of the page. Three statements in one transaction (PostgreSQL): the province's settings, the page (its
    rows carry the total, a scalar count, and whether the records are current on `as_of`), the page's records."""
    async with reads(tenant=ctx.tenant.id):
        return await _board_page(ctx, as_of, filters, limit, offset)


async def _board_page(ctx: TenantContext, as_of: date, filters: BoardFilters, limit: int, offset: int
                      ) -> tuple[list[BoardRow], int]:
    deadline = await conversion_deadline(ctx)
    conds = await _sql_conditions(ctx, as_of, filters, deadline)
    agencies = await _board_page_query(ctx, as_of, conds).limit(limit).offset(offset)
    if agencies and not agencies[0]["board_stale"]:
        total = agencies[0]["board_total"]
    elif not agencies and await _board_in_sql(ctx, as_of):  # past the last row, or no row matches
        count = ctx.scope(Agency).count()
        for cond in conds:
            count = count.where(cond)
        return [], await count
    else:  # a day before some record's last event: the replayed board
        rows = await board(ctx, as_of, filters)
        return rows[offset:offset + limit], len(rows)
    records = await _records_of(ctx, [a["id"] for a in agencies])
    by_agency = {r["agency_id"]: r for r in records}
    rows = []
    for agency in agencies:
        record = by_agency.get(agency["id"])
        state = rules.state_from_record(_decode(record, *rules.JSON_FIELDS)) if record else rules.QmsState()
        active = is_active(agency, as_of)
        reasons = rules.overdue_reasons(state, as_of, deadline) if active else []
        rows.append(_board_row(agency, record["id"] if record else None, state, active, reasons))
    return rows, total


async def _records_of(ctx: TenantContext, agency_ids: list[Any]) -> list[dict[str, Any]]:
    """The QMS records of a page's agencies (at most a page: PostgreSQL reads them by the unique agency_id index
    in one fixed statement sent straight to the driver; SQLite through Piccolo)."""
    if not direct_pg():
        return await ctx.scope(QmsRecord).select().where(QmsRecord.agency_id.is_in(agency_ids))
    with tenant_bound(ctx.tenant.id):  # as ctx.scope would: the database shows this tenant's rows only
        return await fetch_pg(_RECORDS_SQL, (ctx.tenant.id, [_as_uuid(i) for i in agency_ids]))


_RECORD_COLUMNS = ", ".join(f'"{c._meta.db_column_name}" AS "{c._meta.name}"' for c in QmsRecord._meta.columns)
_RECORDS_SQL = (f'SELECT {_RECORD_COLUMNS} FROM "cert_qms_record" WHERE "tenant_id" = $1 '
                'AND "agency_id" = ANY($2::uuid[])')


def _as_uuid(value: Any) -> uuid.UUID:
    return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))


def _board_page_query(ctx: TenantContext, as_of: date, conds: list[Any]) -> Any:
    """The board's agencies matching the conditions in the list order, with the match count and `board_stale`."""
    from piccolo.querystring import QueryString

    scope = ctx.scope(Agency)
    where = scope.where()
    for cond in conds:
        where = where & cond
    # the total as a scalar subquery (run once): the page itself stops after its rows, read in the list order
    # from the agency_list_order index, so a page costs about the same for 300 and 3,000 agencies
    query = scope.select(*BOARD_AGENCY_COLUMNS,
                         QueryString('(SELECT count(*) FROM "agency" WHERE {})', where.querystring,
                                     alias="board_total"),
                         _stale_sql(ctx, as_of))
    for cond in conds:
        query = query.where(cond)
    for column in (*LIST_ORDER, Agency.id):
        query = query.order_by(column)
    return query


async def board_summary(ctx: TenantContext, as_of: date, filters: BoardFilters) -> BoardSummary:
    """The board's counts: one grouped SQL query (level, required, record key) when the records are current (its
    rows tell whether they are: `_stale_sql`); with the province's settings, in one transaction (PostgreSQL)."""
    async with reads(tenant=ctx.tenant.id):
        return await _board_summary(ctx, as_of, filters)


async def _board_summary(ctx: TenantContext, as_of: date, filters: BoardFilters) -> BoardSummary:
    from piccolo.query.functions.aggregate import Count
    from piccolo.querystring import QueryString

    deadline = await conversion_deadline(ctx)
    conds = await _sql_conditions(ctx, as_of, filters, deadline)
    key_sql, key_params = _summary_key(as_of, deadline)
    query = ctx.scope(Agency).select(Agency.level, Agency.required, QueryString(key_sql, *key_params, alias="k"),
                                     Count(alias="n"), _stale_sql(ctx, as_of))
    for cond in conds:
        query = query.where(cond)
    groups = await query.group_by(Agency.level, Agency.required, QueryString('"k"'))  # the key, by its alias
    if (groups[0]["board_stale"] if groups else not await _board_in_sql(ctx, as_of)):
        return summarize(await board(ctx, as_of, filters), as_of)  # a day before some record's last event

    def empty() -> dict[str, int]:
        return {s: 0 for s in rules.STATUSES}

    by_status, by_version = empty(), {"2008": 0, "2015": 0, "none": 0}
    by_level = {lvl: empty() for lvl in LEVEL_ORDER}
    by_required = {"required": empty(), "voluntary": empty()}
    by_reason = {r: 0 for r in rules.OVERDUE_REASONS}
    total = reannouncement = overdue = 0
    for g in groups:
        status, version, reann, *flags = g["k"].split("|")
        n = g["n"]
        total += n
        by_status[status] += n
        by_version[version] = by_version.get(version, 0) + n
        if g["level"] in by_level:
            by_level[g["level"]][status] += n
        by_required["required" if g["required"] else "voluntary"][status] += n
        reannouncement += n if reann == "1" else 0
        overdue += n if "1" in flags else 0
        for reason, flag in zip(rules.OVERDUE_REASONS, flags):
            by_reason[reason] += n if flag == "1" else 0

    def breakdown(counts: dict[str, int]) -> Breakdown:
        return Breakdown(total=sum(counts.values()), by_status=counts)

    return BoardSummary(
        as_of=as_of, total=total, by_status=by_status,
        by_level={lvl: breakdown(c) for lvl, c in by_level.items()},
        by_required={k: breakdown(c) for k, c in by_required.items()},
        by_version=by_version, reannouncement_due=reannouncement, overdue=overdue, overdue_by_reason=by_reason,
    )
