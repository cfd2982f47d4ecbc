"""The QMS lifecycle of one agency (Decision 19/2014/QĐ-TTg, Art. 4) as pure functions: no I/O, no clock.

An agency's QMS record is the result of replaying its events in date order (`replay`). Events are never
changed: a `correction` event voids or replaces an earlier one, and `effective_events` applies the corrections
before the replay. Each event is checked against the state the earlier events built; a check that fails raises
`RuleViolation` naming the event, so a backdated event or a correction that would make a later event invalid is
refused as well.

Lifecycle (status):

    not_started --build_started--> building --apply_started--> applying --announced--> announced
    applying | announced --suspended--> suspended --resumed--> (the status before)
    building | applying | announced | suspended --withdrawn--> withdrawn --build_started--> building

Rules (DOMAIN.md):
- no announcement before an internal audit, a management review and the head's confirmation of effectiveness,
  all held since applying started (the "cycle"); the head confirms only after an audit and a review;
- a scope change (extended, narrowed, adjusted) of an announced QMS opens "re-announcement due" until a new
  announcement is recorded, and that announcement needs the head's confirmation given after the change;
  the version conversion 2008 → 2015 of an announced QMS does the same (the announcement names the version);
- internal audit and management review at least every 12 months while the QMS is applied (from the last one,
  or from the start of applying when there was none yet);
- a noted legal change must be applied to the QMS within 3 months;
- still on TCVN ISO 9001:2008 after the province's conversion deadline (a tenant setting) is overdue.
"""

from __future__ import annotations

import calendar
import uuid
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from typing import Any, Iterable, Literal

from core.text import fold

STATUSES = ("not_started", "building", "applying", "announced", "suspended", "withdrawn")
VERSIONS = ("2008", "2015")
EVENT_KINDS = (
    "build_started", "apply_started", "internal_audit", "management_review", "head_confirmed", "announced",
    "scope_changed", "legal_change_noted", "legal_change_applied", "version_converted", "recognized",
    "suspended", "resumed", "withdrawn", "correction",
)
OVERDUE_REASONS = ("internal_audit", "management_review", "legal_update", "reannouncement", "conversion")

AUDIT_INTERVAL_MONTHS = 12  # internal audit and management review at least once a year (Decision 19, Art. 4)
LEGAL_UPDATE_MONTHS = 3  # update the QMS within 3 months of a relevant legal change (Decision 19, Art. 4)
DUE_SOON_DAYS = 30  # reminders start this many days before a due date

ACTIVE = ("applying", "announced")  # a QMS in use: the yearly and legal-change obligations run
CONVERTIBLE = ("building", "applying", "announced")

ALLOWED_FROM: dict[str, tuple[str, ...]] = {
    "build_started": ("not_started", "withdrawn"),
    "apply_started": ("building",),
    "internal_audit": ACTIVE,
    "management_review": ACTIVE,
    "head_confirmed": ACTIVE,
    "announced": ACTIVE,
    "scope_changed": ("building", "applying", "announced"),
    "legal_change_noted": ACTIVE,
    "legal_change_applied": ACTIVE,
    "version_converted": CONVERTIBLE,
    "recognized": ("announced",),
    "suspended": ACTIVE,
    "resumed": ("suspended",),
    "withdrawn": ("building", "applying", "announced", "suspended"),
}


class RuleViolation(Exception):
    """An event the rules refuse. `status` is "conflict" (the state does not allow it: 409) or "invalid" (its
    data contradict the record: 422); `field` names the event field at fault; `event` is the offending event."""

    def __init__(self, message: str, *, status: Literal["conflict", "invalid"] = "conflict",
                 field: str | None = None, event: "Event | None" = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.field = field
        self.event = event


@dataclass(frozen=True)
class Event:
    """One stored event: `data` holds the kind's own fields (JSON types: dates as ISO strings)."""

    id: uuid.UUID
    seq: int
    kind: str
    occurred_on: date
    data: dict[str, Any] = field(default_factory=dict)
    corrects_id: uuid.UUID | None = None


@dataclass
class QmsState:
    """The derived record of one agency. Persisted on `QmsRecord`; the `cycle_*` fields are replay-only."""

    status: str = "not_started"
    status_since: date | None = None
    standard_version: str | None = None
    building_started_on: date | None = None
    applying_started_on: date | None = None
    converted_on: date | None = None
    scope: list[str] = field(default_factory=list)
    announcement_number: str | None = None
    announced_on: date | None = None
    announcement_signer: str | None = None
    announcements: list[dict[str, Any]] = field(default_factory=list)
    reannouncement_due: bool = False
    reannouncement_due_since: date | None = None
    reannouncement_reason: str | None = None
    last_internal_audit_on: date | None = None
    last_internal_audit_result: str | None = None
    last_internal_audit_nonconformities: int | None = None
    last_management_review_on: date | None = None
    head_confirmed_on: date | None = None
    last_legal_update_on: date | None = None
    pending_legal_changes: list[dict[str, Any]] = field(default_factory=list)
    internal_audit_due_on: date | None = None
    management_review_due_on: date | None = None
    legal_update_due_on: date | None = None
    recognition_kind: str | None = None
    recognition_number: str | None = None
    recognition_issuer: str | None = None
    recognition_date: date | None = None
    recognition_expires_on: date | None = None
    last_event_on: date | None = None
    event_count: int = 0
    # replay-only bookkeeping of the current application cycle
    cycle_started_on: date | None = None
    cycle_audit_on: date | None = None
    cycle_review_on: date | None = None
    cycle_confirmed_on: date | None = None
    confirmation_pending: bool = False
    status_before_suspension: str | None = None

    @property
    def scope_count(self) -> int:
        return len(self.scope)

    def record_values(self) -> dict[str, Any]:
        """The columns of QmsRecord this state fills."""
        return {name: getattr(self, name) for name in RECORD_FIELDS}


RECORD_FIELDS = (
    "status", "status_since", "standard_version", "building_started_on", "applying_started_on", "converted_on",
    "scope", "scope_count", "announcement_number", "announced_on", "announcement_signer", "announcements",
    "reannouncement_due", "reannouncement_due_since", "reannouncement_reason", "last_internal_audit_on",
    "last_internal_audit_result", "last_internal_audit_nonconformities", "last_management_review_on",
    "head_confirmed_on", "last_legal_update_on", "pending_legal_changes", "internal_audit_due_on",
    "management_review_due_on", "legal_update_due_on", "recognition_kind", "recognition_number",
    "recognition_issuer", "recognition_date", "recognition_expires_on", "last_event_on", "event_count",
)
JSON_FIELDS = ("scope", "announcements", "pending_legal_changes")


# ----------------------------------------------------------------------------------------------- dates


def add_months(day: date, months: int) -> date:
    """The same day `months` later, clamped to the month's end (31/08 + 6 months = 28 or 29/02)."""
    total = day.month - 1 + months
    year, month = day.year + total // 12, total % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _date(value: Any) -> date | None:
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value))


# ----------------------------------------------------------------------------------------------- scope


def fold_key(text: str) -> str:
    """Comparison key of a TTHC entry: case, accents and spacing do not make two procedures different."""
    return fold(text)


def clean_list(items: Iterable[str] | None, field_name: str) -> list[str]:
    """Strip the entries; refuse blanks and entries listed twice."""
    result: list[str] = []
    seen: set[str] = set()
    for raw in items or []:
        item = " ".join(str(raw).split())
        if not item:
            raise RuleViolation("an entry of the list is blank", status="invalid", field=field_name)
        key = fold_key(item)
        if key in seen:
            raise RuleViolation(f"{item!r} is listed twice", status="invalid", field=field_name)
        seen.add(key)
        result.append(item)
    return result


# ----------------------------------------------------------------------------------------------- corrections


def effective_events(events: Iterable[Event]) -> list[Event]:
    """The events as corrected, in replay order (date, then order of recording); corrections themselves drop out.

    A `correction` voids its target (`action` "void") or replaces the target's date and fields with its
    `replacement` (same kind). When an event was corrected more than once, the latest correction wins.
    """
    events = list(events)
    by_id = {e.id: e for e in events}
    overrides: dict[uuid.UUID, Event | None] = {}
    for corr in sorted((e for e in events if e.kind == "correction"), key=lambda e: e.seq):
        target = by_id.get(corr.corrects_id) if corr.corrects_id else None
        if target is None or target.kind == "correction":
            raise RuleViolation("a correction must reference an earlier event of the same record that is not itself "
                                "a correction", status="invalid", field="corrects_event_id", event=corr)
        if corr.data.get("action") == "void":
            overrides[target.id] = None
        else:
            rep = dict(corr.data.get("replacement") or {})
            if rep.get("kind") != target.kind:
                raise RuleViolation(f"a replacement must keep the kind of the corrected event ({target.kind})",
                                    status="invalid", field="replacement.kind", event=corr)
            occurred_on = _date(rep.pop("occurred_on"))
            rep.pop("kind", None)
            rep.pop("note", None)
            overrides[target.id] = replace(target, occurred_on=occurred_on, data=rep)
    result = []
    for e in events:
        if e.kind == "correction":
            continue
        if e.id in overrides:
            if overrides[e.id] is None:
                continue
            e = overrides[e.id]  # type: ignore[assignment]
        result.append(e)
    return sorted(result, key=lambda e: (e.occurred_on, e.seq))


# ----------------------------------------------------------------------------------------------- replay


_LABELS = {
    "not_started": "not started", "building": "building", "applying": "applying", "announced": "announced",
    "suspended": "suspended", "withdrawn": "withdrawn",
}


def _require_status(state: QmsState, ev: Event) -> None:
    allowed = ALLOWED_FROM[ev.kind]
    if state.status in allowed:
        return
    hints = {
        "build_started": "a QMS is already under way; withdraw it before building a new one",
        "apply_started": "applying starts after building (record build_started first)",
        "announced": "an announcement needs a QMS being applied (record build_started and apply_started first)",
        "recognized": "a recognition decision or certificate follows an announcement",
        "resumed": "only a suspended QMS can be resumed",
    }
    hint = hints.get(ev.kind, f"it needs a QMS that is {' or '.join(_LABELS[s] for s in allowed)}")
    raise RuleViolation(f"cannot record {ev.kind!r} while the QMS is {_LABELS[state.status]!r}: {hint}", event=ev)


def _start_cycle(state: QmsState, on: date | None) -> None:
    state.cycle_started_on = on
    state.cycle_audit_on = state.cycle_review_on = state.cycle_confirmed_on = None
    state.confirmation_pending = False


def _open_reannouncement(state: QmsState, on: date, reason: str) -> None:
    if not state.reannouncement_due:
        state.reannouncement_due = True
        state.reannouncement_due_since = on
        state.reannouncement_reason = reason
    state.confirmation_pending = True


def _close_obligations(state: QmsState) -> None:
    state.reannouncement_due = False
    state.reannouncement_due_since = None
    state.reannouncement_reason = None
    state.pending_legal_changes = []
    _start_cycle(state, None)


def _set_status(state: QmsState, status: str, on: date) -> None:
    if state.status != status:
        state.status = status
        state.status_since = on


def apply_event(state: QmsState, ev: Event) -> None:
    """Check one event against the state and apply it (in place). Raises RuleViolation naming the event."""
    try:
        _apply(state, ev)
    except RuleViolation as v:
        v.event = v.event or ev
        raise


def _apply(state: QmsState, ev: Event) -> None:
    if ev.kind not in ALLOWED_FROM:
        raise RuleViolation(f"unknown event kind {ev.kind!r}", status="invalid", field="kind", event=ev)
    _require_status(state, ev)
    d, on = ev.data, ev.occurred_on
    kind = ev.kind

    def invalid(message: str, field_name: str) -> RuleViolation:
        return RuleViolation(message, status="invalid", field=field_name, event=ev)

    if kind == "build_started":
        version = d.get("standard_version") or "2015"
        if version not in VERSIONS:
            raise invalid(f"standard_version must be one of {', '.join(VERSIONS)}", "standard_version")
        _close_obligations(state)
        state.standard_version = version
        state.building_started_on = on
        state.applying_started_on = None
        state.converted_on = None
        state.scope = clean_list(d.get("scope"), "scope")
        _set_status(state, "building", on)
    elif kind == "apply_started":
        if d.get("scope") is not None:
            state.scope = clean_list(d.get("scope"), "scope")
        state.applying_started_on = on
        _start_cycle(state, on)
        _set_status(state, "applying", on)
    elif kind == "internal_audit":
        state.last_internal_audit_on = on
        state.last_internal_audit_result = d.get("result")
        state.last_internal_audit_nonconformities = int(d.get("nonconformities") or 0)
        state.cycle_audit_on = on
    elif kind == "management_review":
        state.last_management_review_on = on
        state.cycle_review_on = on
    elif kind == "head_confirmed":
        missing = [what for what, done in (("an internal audit", state.cycle_audit_on),
                                           ("a management review", state.cycle_review_on)) if not done]
        if missing:
            raise RuleViolation("the head confirms the QMS effective only after an internal audit and a management "
                                f"review since applying started; missing: {' and '.join(missing)}", event=ev)
        state.head_confirmed_on = on
        state.cycle_confirmed_on = on
        state.confirmation_pending = False
    elif kind == "announced":
        reannouncement = state.status == "announced"
        if reannouncement and not state.reannouncement_due:
            raise RuleViolation("the QMS is already announced; a new announcement is recorded only after a scope "
                                "change or a version conversion", event=ev)
        missing = []
        if not state.cycle_audit_on:
            missing.append("an internal audit")
        if not state.cycle_review_on:
            missing.append("a management review")
        if not state.cycle_confirmed_on:
            missing.append("the head's confirmation of effectiveness")
        elif state.confirmation_pending:
            missing.append(f"the head's confirmation of effectiveness after the {state.reannouncement_reason or 'change'}"
                           .replace("_", " "))
        if missing:
            raise RuleViolation("no announcement before an internal audit, a management review and the head's "
                                f"confirmation; missing: {', '.join(missing)}", event=ev)
        version = d.get("standard_version")
        if version is not None and version != state.standard_version:
            raise invalid(f"the QMS follows TCVN ISO 9001:{state.standard_version}; record version_converted before "
                          f"announcing conformity with :{version}", "standard_version")
        if d.get("scope") is not None:
            state.scope = clean_list(d.get("scope"), "scope")
        if not state.scope:
            raise invalid("an announcement must name the administrative procedures (TTHC) it covers", "scope")
        state.announcement_number = d.get("decision_number")
        state.announcement_signer = d.get("signer")
        state.announced_on = on
        state.announcements = [*state.announcements, {
            "event_id": str(ev.id), "on": on.isoformat(), "number": d.get("decision_number"),
            "signer": d.get("signer"), "version": state.standard_version, "scope_count": len(state.scope),
            "reannouncement": reannouncement, "reason": state.reannouncement_reason if reannouncement else None,
        }]
        state.reannouncement_due = False
        state.reannouncement_due_since = None
        state.reannouncement_reason = None
        state.confirmation_pending = False
        _set_status(state, "announced", on)
    elif kind == "scope_changed":
        change = d.get("change")
        if change not in ("extended", "narrowed", "adjusted"):
            raise invalid("change must be extended, narrowed or adjusted", "change")
        added = clean_list(d.get("added"), "added")
        removed = clean_list(d.get("removed"), "removed")
        current = {fold_key(s): s for s in state.scope}
        if change == "extended" and (not added or removed):
            raise invalid("an extension adds procedures (added) and removes none", "added" if not added else "removed")
        if change == "narrowed" and (not removed or added):
            raise invalid("a narrowing removes procedures (removed) and adds none",
                          "removed" if not removed else "added")
        if change == "adjusted" and not (added or removed or (d.get("description") or "").strip()):
            raise invalid("an adjustment names what changed: added, removed or a description", "description")
        unknown = [s for s in removed if fold_key(s) not in current]
        if unknown:
            raise invalid(f"not in the current scope: {', '.join(unknown)}", "removed")
        already = [s for s in added if fold_key(s) in current and fold_key(s) not in {fold_key(r) for r in removed}]
        if already:
            raise invalid(f"already in the scope: {', '.join(already)}", "added")
        gone = {fold_key(s) for s in removed}
        new_scope = [s for s in state.scope if fold_key(s) not in gone] + added
        if not new_scope and state.status != "building":
            raise invalid("the scope cannot become empty; record a withdrawal instead", "removed")
        state.scope = new_scope
        if state.status == "announced":
            _open_reannouncement(state, on, "scope_changed")
    elif kind == "legal_change_noted":
        state.pending_legal_changes = [*state.pending_legal_changes, {
            "event_id": str(ev.id), "document": d.get("legal_document"), "noted_on": on.isoformat(),
            "due_on": add_months(on, LEGAL_UPDATE_MONTHS).isoformat(),
        }]
    elif kind == "legal_change_applied":
        ref = d.get("legal_change_event_id")
        if ref is not None:
            pending_ids = {p["event_id"] for p in state.pending_legal_changes}
            if str(ref) not in pending_ids:
                raise invalid("legal_change_event_id is not a legal change of this QMS still waiting to be applied",
                              "legal_change_event_id")
            state.pending_legal_changes = [p for p in state.pending_legal_changes if p["event_id"] != str(ref)]
        else:
            state.pending_legal_changes = []
        state.last_legal_update_on = on
    elif kind == "version_converted":
        if state.standard_version == "2015":
            raise RuleViolation("the QMS already follows TCVN ISO 9001:2015", event=ev)
        state.standard_version = "2015"
        state.converted_on = on
        if state.status == "announced":
            _open_reannouncement(state, on, "version_converted")
    elif kind == "recognized":
        expires = _date(d.get("expires_on"))
        if expires is not None and expires < on:
            raise invalid("expires_on must not be before the date of the recognition", "expires_on")
        state.recognition_kind = d.get("recognition_kind")
        state.recognition_number = d.get("number")
        state.recognition_issuer = d.get("issuer")
        state.recognition_date = on
        state.recognition_expires_on = expires
    elif kind == "suspended":
        state.status_before_suspension = state.status
        _set_status(state, "suspended", on)
    elif kind == "resumed":
        _set_status(state, state.status_before_suspension or "applying", on)
        state.status_before_suspension = None
    elif kind == "withdrawn":
        _close_obligations(state)
        state.status_before_suspension = None
        _set_status(state, "withdrawn", on)
    state.last_event_on = on if state.last_event_on is None else max(state.last_event_on, on)
    state.event_count += 1


def _finalize(state: QmsState) -> QmsState:
    """Fill the due dates that follow from the state (they do not depend on the day you look)."""
    if state.status in ACTIVE:
        base_audit = state.cycle_audit_on or state.cycle_started_on
        base_review = state.cycle_review_on or state.cycle_started_on
        state.internal_audit_due_on = add_months(base_audit, AUDIT_INTERVAL_MONTHS) if base_audit else None
        state.management_review_due_on = add_months(base_review, AUDIT_INTERVAL_MONTHS) if base_review else None
        dues = [date.fromisoformat(p["due_on"]) for p in state.pending_legal_changes]
        state.legal_update_due_on = min(dues) if dues else None
    else:
        state.internal_audit_due_on = state.management_review_due_on = state.legal_update_due_on = None
    return state


def replay(events: Iterable[Event], *, until: date | None = None) -> QmsState:
    """The state after the (corrected) events, or after those dated on or before `until`.

    Corrections apply whatever their own date: a report of an earlier day shows the corrected truth.
    """
    state = QmsState()
    for ev in effective_events(events):
        if until is not None and ev.occurred_on > until:
            break
        apply_event(state, ev)
    return _finalize(state)


# ----------------------------------------------------------------------------------------------- obligations


@dataclass(frozen=True)
class Obligation:
    """One dated obligation of a record on a given day: `status` "due" (within DUE_SOON_DAYS) or "overdue"."""

    reason: str
    due_on: date
    status: Literal["due", "overdue"]


def obligations(state: QmsState, as_of: date, conversion_deadline: date | None = None,
                due_soon_days: int = DUE_SOON_DAYS) -> list[Obligation]:
    """What is coming due (within `due_soon_days`) or overdue for this record on `as_of`."""
    result: list[Obligation] = []

    def dated(reason: str, due: date | None) -> None:
        if due is None:
            return
        if as_of > due:
            result.append(Obligation(reason, due, "overdue"))
        elif as_of >= due - timedelta(days=due_soon_days):
            result.append(Obligation(reason, due, "due"))

    if state.status in ACTIVE:
        dated("internal_audit", state.internal_audit_due_on)
        dated("management_review", state.management_review_due_on)
        dated("legal_update", state.legal_update_due_on)
    if state.status == "announced" and state.reannouncement_due and state.reannouncement_due_since:
        result.append(Obligation("reannouncement", state.reannouncement_due_since, "overdue"))
    if conversion_deadline is not None and state.standard_version == "2008" and state.status in CONVERTIBLE:
        dated("conversion", conversion_deadline)
    return result


def overdue_reasons(state: QmsState, as_of: date, conversion_deadline: date | None = None) -> list[str]:
    """Why the record is overdue on `as_of` (empty when it is not), in OVERDUE_REASONS order: the "overdue"
    obligations of obligations(), without building them (boards and facts ask this for thousands of records)."""
    found = []
    status = state.status
    if status in ACTIVE:
        due = state.internal_audit_due_on
        if due is not None and as_of > due:
            found.append("internal_audit")
        due = state.management_review_due_on
        if due is not None and as_of > due:
            found.append("management_review")
        due = state.legal_update_due_on
        if due is not None and as_of > due:
            found.append("legal_update")
    if status == "announced" and state.reannouncement_due and state.reannouncement_due_since:
        found.append("reannouncement")
    if (conversion_deadline is not None and as_of > conversion_deadline and state.standard_version == "2008"
            and status in CONVERTIBLE):
        found.append("conversion")
    return found


def state_from_record(row: dict[str, Any]) -> QmsState:
    """The derived state as stored on a QmsRecord row (JSON columns already decoded)."""
    return QmsState(**{name: row[name] for name in RECORD_FIELDS if name != "scope_count"})
