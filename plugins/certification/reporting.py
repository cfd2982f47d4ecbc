"""What the module tells the rest of the system: reminders, national indicators, eligibility facts and the
evidence targets' existence checks. The national indicators are one grouped SQL query over the persisted
record state of all the tenants asked (`indicators`); everything else reads the derived QMS state through
services.states_as_of().
"""

from __future__ import annotations

import functools
import uuid
from collections import Counter
from datetime import date
from typing import Any, Iterable, Sequence

from core.agencies.services import is_active
from core.contracts import Fact, Indicator, Reminder
from core.errors import Forbidden, NotFound
from core.agencies.tables import Agency
from core.tenancy.context import TenantContext
from plugins.certification import NAME, rules, services
from plugins.certification.services import LEVEL_ORDER
from plugins.certification.tables import CertificationSettings, QmsEvent, QmsRecord

AUDIENCE = ("agency_officer", "tenant_admin")

_TITLES = {
    "internal_audit": ("Đánh giá nội bộ HTQLCL của {agency} đến hạn ngày {due}",
                       "Đánh giá nội bộ HTQLCL của {agency} đã quá hạn từ ngày {due}"),
    "management_review": ("Xem xét của lãnh đạo về HTQLCL của {agency} đến hạn ngày {due}",
                          "Xem xét của lãnh đạo về HTQLCL của {agency} đã quá hạn từ ngày {due}"),
    "legal_update": ("{agency} phải cập nhật HTQLCL theo thay đổi pháp luật trước ngày {due}",
                     "{agency} chưa cập nhật HTQLCL theo thay đổi pháp luật (hạn {due})"),
    "reannouncement": ("{agency} cần công bố lại HTQLCL (phải công bố lại từ ngày {due})",
                       "{agency} chưa công bố lại HTQLCL sau thay đổi ngày {due}"),
    "conversion": ("{agency} phải chuyển đổi HTQLCL sang TCVN ISO 9001:2015 trước ngày {due}",
                   "{agency} chưa chuyển đổi HTQLCL sang TCVN ISO 9001:2015 (hạn của tỉnh: {due})"),
}
_KIND = {
    "internal_audit": "internal_audit_due", "management_review": "management_review_due",
    "legal_update": "legal_update_due", "reannouncement": "reannouncement_due", "conversion": "conversion_due",
}


async def _active_agencies(ctx: TenantContext, on: date) -> list[dict[str, Any]]:
    return await ctx.scope(Agency).select(Agency.id, Agency.code, Agency.name, Agency.level, Agency.required,
                                          Agency.valid_from, Agency.valid_to).where(
        (Agency.valid_from <= on) & (Agency.valid_to.is_null() | (Agency.valid_to > on)))


async def reminders(ctx: TenantContext, day: date) -> list[Reminder]:
    """Internal audits and management reviews due within 30 days or overdue, legal updates due or overdue,
    re-announcements pending, and the conversion deadline coming or passed; for agencies active on `day`."""
    agencies = {a["id"]: a for a in await _active_agencies(ctx, day)}
    records = [r for r in await ctx.scope(QmsRecord).select().output(load_json=True) if r["agency_id"] in agencies]
    states = await services.states_as_of(ctx, day, records)
    deadline = await services.conversion_deadline(ctx)
    result = []
    for record in records:
        agency = agencies[record["agency_id"]]
        for ob in rules.obligations(states[record["agency_id"]], day, deadline):
            due_text = ob.due_on.strftime("%d/%m/%Y")
            title = _TITLES[ob.reason][0 if ob.status == "due" else 1].format(agency=agency["name"], due=due_text)
            kind = _KIND[ob.reason]
            result.append(Reminder(
                module=NAME, kind=kind, key=f"{NAME}:{kind}:{agency['id']}:{ob.due_on.isoformat()}", title=title,
                due_on=ob.due_on, status=ob.status, agency_id=agency["id"], audience=AUDIENCE,
                link=f"/api/v1/tenants/{ctx.tenant.code}/{NAME}/records/{record['id']}",
            ))
    result.sort(key=lambda r: (r.due_on, r.key))
    return result


def _reference_day(year: int, today: date | None = None) -> date:
    """Indicators of a year describe its last day, or today for the running year."""
    today = today or date.today()
    return min(date(year, 12, 31), today)


ON_VERSION_STATUSES = ("building", "applying", "announced", "suspended")  # a QMS that follows a version
# A superset test, in SQL, of "this announcements list holds a re-announcement" (whatever the JSON's spacing).
_REANNOUNCEMENT_LIKE = '%"reannouncement"%true%'


def _labels(year: int) -> list[tuple[str, str, str]]:
    return [
        ("required", "Cơ quan thuộc đối tượng bắt buộc áp dụng", "Agencies required to apply"),
        ("building", "Đang xây dựng HTQLCL", "Building the QMS"),
        ("applying", "Đang áp dụng, chưa công bố", "Applying, not yet announced"),
        ("announced", "Đã công bố HTQLCL", "Announced"),
        ("reannounced", f"Công bố lại trong năm {year}", f"Re-announced in {year}"),
        ("on_2015_version", "Áp dụng TCVN ISO 9001:2015", "On TCVN ISO 9001:2015"),
        ("overdue", "Có nghĩa vụ quá hạn", "With an overdue obligation"),
    ]


FIGURES = tuple(name for name, _, _ in _labels(0))


def _reannounced_in(announcements: list[dict[str, Any]], year: int) -> bool:
    return any(a.get("reannouncement") and date.fromisoformat(a["on"]).year == year for a in announcements)


def figures_of(state: rules.QmsState, day: date, deadline: date | None, year: int) -> list[str]:
    """The figures (other than `required`) an agency open on `day` counts in, from its QMS state that day."""
    found = []
    if state.status in ("building", "applying", "announced"):
        found.append(state.status)
    if _reannounced_in(state.announcements, year):
        found.append("reannounced")
    if state.standard_version == "2015" and state.status in ON_VERSION_STATUSES:
        found.append("on_2015_version")
    if rules.overdue_reasons(state, day, deadline):
        found.append("overdue")
    return found


def _indicators(counts: dict[str, Counter], year: int, tenant_id: uuid.UUID) -> list[Indicator]:
    return [Indicator(module=NAME, name=name, value=sum(counts[name].values()), label_vi=vi, label_en=en,
                      breakdown={**{level: 0 for level in LEVEL_ORDER}, **counts[name]}, tenant_id=tenant_id,
                      order=order)
            for order, (name, vi, en) in enumerate(_labels(year))]


async def indicators(reader: Any, tenants: Sequence[Any], year: int, today: date | None = None) -> list[Indicator]:
    """Counts for the national view (Phụ lục II style) of every tenant in `tenants`, by agency level, over the
    agencies open at the end of `year` (today for the running year): required agencies; building; applying (not
    yet announced); announced; re-announced during the year; on the 2015 version; overdue.

    One grouped SQL query over all the tenants (`reader`, a core.tenancy.TenantsReader) reads the persisted record
    state (QmsRecord, rewritten with each event): each agency joined with its record, grouped by tenant and level,
    each figure a conditional count; the overdue rules are the board's (services._reason_sql). A second query
    reads the few records finished in Python:
    - a record with an event after the reference day (a past year; left out of the sums): its events are replayed
      up to that day;
    - a record whose last announcement is in the year and whose announcements may hold a re-announcement (a SQL
      LIKE that can only over-select): its announcements are parsed to tell whether one was in the year.
    `indicators_replayed` computes the same from the events alone; the tests hold the two equal."""
    from piccolo.columns.combination import WhereRaw
    from piccolo.query.functions.aggregate import Count
    from piccolo.querystring import QueryString

    day = _reference_day(year, today)
    counts = {t.id: {name: Counter() for name in FIGURES} for t in tenants}
    if not counts:
        return []
    deadlines = {row["tenant_id"]: row["conversion_deadline"] for row in await reader.scope(
        CertificationSettings).select(CertificationSettings.tenant_id, CertificationSettings.conversion_deadline)}
    late = [tid for tid, deadline in deadlines.items() if deadline is not None and day > deadline]
    record = Agency.id.join_on(QmsRecord.agency_id)  # LEFT JOIN: an agency without a record has not started
    r = record.id._meta.get_full_name(with_alias=False).rsplit(".", 1)[0]  # the joined record's name in the SQL

    def count(condition: str, *params: Any, alias: str) -> Any:
        return QueryString(f"SUM(CASE WHEN {condition} THEN 1 ELSE 0 END)", *params, alias=alias)

    reasons = [services._reason_sql(reason, day, None, rec=r, late_tenants=late) for reason in rules.OVERDUE_REASONS]
    versioned = ", ".join(f"'{s}'" for s in ON_VERSION_STATUSES)
    # the record's state is the state on `day` unless it has a later event: those rows are counted below instead
    current, now = f'({r}."last_event_on" IS NULL OR {r}."last_event_on" <= {{}})', [day]

    def count_current(condition: str, *params: Any, alias: str) -> Any:
        return count(f"{current} AND ({condition})", *now, *params, alias=alias)

    groups = await reader.scope(Agency).select(
        Agency.tenant_id, Agency.level,
        count('"agency"."required" = {}', True, alias="required"),
        *(count_current(f"{r}.\"status\" = '{status}'", alias=status)
          for status in ("building", "applying", "announced")),
        count_current(f"{r}.\"standard_version\" = '2015' AND {r}.\"status\" IN ({versioned})",
                      alias="on_2015_version"),
        count_current(" OR ".join(f"({sql})" for sql, _ in reasons), *(p for _, ps in reasons for p in ps),
                      alias="overdue"),
        Count(record.id, alias="records"),  # (a joined column: it makes Piccolo join the record)
    ).where((Agency.valid_from <= day) & (Agency.valid_to.is_null() | (Agency.valid_to > day))).group_by(
        Agency.tenant_id, Agency.level)
    for g in groups:
        mine = counts.get(g["tenant_id"])
        if mine is not None:
            for name in ("required", "building", "applying", "announced", "on_2015_version", "overdue"):
                mine[name][g["level"]] += int(g[name] or 0)

    # the few records finished in Python: changed after `day` (replayed), or maybe re-announced in the year
    agency = QmsRecord.agency_id.join_on(Agency.id)
    replay: dict[uuid.UUID, dict[str, Any]] = {}
    for row in await reader.scope(QmsRecord).select(
            QmsRecord.id, QmsRecord.tenant_id, QmsRecord.last_event_on, QmsRecord.announcements, agency.level).where(
            (agency.valid_from <= day) & (agency.valid_to.is_null() | (agency.valid_to > day))
            & ((QmsRecord.last_event_on > day) | ((QmsRecord.announced_on >= date(year, 1, 1)) & WhereRaw(
                'CAST("cert_qms_record"."announcements" AS TEXT) LIKE {}', _REANNOUNCEMENT_LIKE)))):
        mine = counts.get(row["tenant_id"])
        if mine is None:
            continue
        if row["last_event_on"] is not None and row["last_event_on"] > day:
            replay[row["id"]] = {"tenant_id": row["tenant_id"], "level": row["agency_id.level"]}
        elif _reannounced_in(services._json_load(row["announcements"]) or [], year):
            mine["reannounced"][row["agency_id.level"]] += 1
    if replay:
        events: dict[uuid.UUID, list[rules.Event]] = {rid: [] for rid in replay}
        for row in await reader.scope(QmsEvent).select(
                QmsEvent.id, QmsEvent.record_id, QmsEvent.seq, QmsEvent.kind, QmsEvent.occurred_on, QmsEvent.data,
                QmsEvent.corrects_id).where(QmsEvent.record_id.is_in(list(replay))).order_by(QmsEvent.seq):
            events[row["record_id"]].append(services.rule_event(row))
        for rid, g in replay.items():
            state = rules.replay(events[rid], until=day)
            for name in figures_of(state, day, deadlines.get(g["tenant_id"]), year):
                counts[g["tenant_id"]][name][g["level"]] += 1
    return [ind for t in tenants for ind in _indicators(counts[t.id], year, t.id)]


async def indicators_replayed(ctx: TenantContext, year: int, today: date | None = None) -> list[Indicator]:
    """The figures of `indicators` for ctx's tenant from the events alone: every record of an agency open on the
    reference day replayed up to that day, and the rules applied in Python. The reference the SQL is held to."""
    day = _reference_day(year, today)
    agencies = await _active_agencies(ctx, day)
    records = {r["id"]: r["agency_id"] for r in await ctx.scope(QmsRecord).select(QmsRecord.id, QmsRecord.agency_id)}
    events: dict[uuid.UUID, list[rules.Event]] = {}
    for row in await services.event_rows(ctx, list(records)):
        events.setdefault(records[row["record_id"]], []).append(services.rule_event(row))
    deadline = await services.conversion_deadline(ctx)
    counts = {name: Counter() for name in FIGURES}
    for a in agencies:
        if a["required"]:
            counts["required"][a["level"]] += 1
        state = rules.replay(events.get(a["id"], []), until=day)
        for name in figures_of(state, day, deadline, year):
            counts[name][a["level"]] += 1
    return _indicators(counts, year, ctx.tenant.id)


STATUS_VI = {
    "not_started": "chưa xây dựng", "building": "đang xây dựng", "applying": "đang áp dụng, chưa công bố",
    "announced": "đã công bố", "suspended": "tạm dừng", "withdrawn": "đã hủy bỏ công bố",
}
OVERDUE_VI = {
    "internal_audit": "đánh giá nội bộ quá hạn", "management_review": "xem xét của lãnh đạo quá hạn",
    "legal_update": "cập nhật thay đổi văn bản pháp luật quá hạn", "reannouncement": "chưa công bố lại sau khi "
    "điều chỉnh phạm vi", "conversion": "chưa chuyển đổi sang TCVN ISO 9001:2015 đúng hạn",
}


@functools.lru_cache(maxsize=4096)
def _vi_date(day: date) -> str:
    return day.strftime("%d/%m/%Y")


def _d(day: date | None) -> str:
    return _vi_date(day) if day else ""  # facts of a province repeat a few hundred dates thousands of times


# The record columns the facts read (rules.obligations included); the JSON columns (scope, announcements, pending
# legal changes) are never needed here, so they are neither fetched nor decoded.
FACT_COLUMNS = ("status", "status_since", "standard_version", "announcement_number", "announced_on",
                "reannouncement_due", "reannouncement_due_since", "last_internal_audit_on",
                "last_management_review_on", "head_confirmed_on", "internal_audit_due_on", "management_review_due_on",
                "legal_update_due_on")
_NOT_STARTED = rules.QmsState()  # agencies without a record share it (only read)
_FEW = 200  # up to this many agencies asked about, read by id; more, the whole province is read


FACT_NAMES = ("status", "announced", "announced_on", "standard_version", "head_confirmed", "reannouncement_due",
              "last_internal_audit_on", "last_management_review_on", "legal_update_late", "overdue")


def agency_facts(aid: uuid.UUID, state: rules.QmsState, active: bool, on: date, deadline: date | None,
                 want: frozenset[str] | None = None) -> list[Fact]:
    """The facts of one agency from its state on `on` (only FACT_COLUMNS of it are read); `want`: the short names
    (FACT_NAMES) to build, None for all."""
    out: list[Fact] = []
    add = out.append
    status = state.status
    announced = status == "announced"
    version = f"TCVN ISO 9001:{state.standard_version}" if state.standard_version else "chưa rõ phiên bản"
    if want is None or "status" in want:
        add(Fact("agency", aid, f"{NAME}.status", status, f"Tình trạng HTQLCL: {STATUS_VI.get(status, status)}",
                 state.status_since, {}))
    if want is None or "announced" in want:
        add(Fact("agency", aid, f"{NAME}.announced", announced,
                 f"Đã công bố HTQLCL phù hợp {version} ngày {_d(state.announced_on)}" if announced
                 else "Chưa công bố HTQLCL phù hợp TCVN ISO 9001", state.announced_on if announced else None,
                 {"number": state.announcement_number}))
    if want is None or "announced_on" in want:
        add(Fact("agency", aid, f"{NAME}.announced_on", state.announced_on,
                 f"Ngày công bố: {_d(state.announced_on)}" if state.announced_on else "Chưa có quyết định công bố",
                 state.announced_on, {}))
    if want is None or "standard_version" in want:
        add(Fact("agency", aid, f"{NAME}.standard_version", state.standard_version, f"Áp dụng {version}", None, {}))
    if want is None or "head_confirmed" in want:
        head_on = state.head_confirmed_on
        add(Fact("agency", aid, f"{NAME}.head_confirmed", head_on is not None,
                 f"Người đứng đầu đã xác nhận hiệu lực HTQLCL ngày {_d(head_on)}" if head_on
                 else "Người đứng đầu chưa xác nhận hiệu lực HTQLCL", head_on, {}))
    if want is None or "reannouncement_due" in want:
        due = announced and state.reannouncement_due
        add(Fact("agency", aid, f"{NAME}.reannouncement_due", due,
                 f"Phải công bố lại từ ngày {_d(state.reannouncement_due_since)} (điều chỉnh phạm vi)" if due
                 else "Không có nghĩa vụ công bố lại", state.reannouncement_due_since if due else None, {}))
    if want is None or "last_internal_audit_on" in want:
        audit_on = state.last_internal_audit_on
        add(Fact("agency", aid, f"{NAME}.last_internal_audit_on", audit_on,
                 f"Đánh giá nội bộ gần nhất ngày {_d(audit_on)}" if audit_on else "Chưa đánh giá nội bộ",
                 audit_on, {}))
    if want is None or "last_management_review_on" in want:
        review_on = state.last_management_review_on
        add(Fact("agency", aid, f"{NAME}.last_management_review_on", review_on,
                 f"Xem xét của lãnh đạo gần nhất ngày {_d(review_on)}" if review_on
                 else "Chưa xem xét của lãnh đạo", review_on, {}))
    late = want is None or "legal_update_late" in want
    if late or "overdue" in want:
        reasons = rules.overdue_reasons(state, on, deadline) if active else []
        if late:
            late = "legal_update" in reasons
            add(Fact("agency", aid, f"{NAME}.legal_update_late", late,
                     "Chậm cập nhật HTQLCL theo văn bản pháp luật mới (quá 3 tháng)" if late
                     else "Không chậm cập nhật văn bản pháp luật", None, {}))
        if want is None or "overdue" in want:
            add(Fact("agency", aid, f"{NAME}.overdue", bool(reasons),
                     "Quá hạn: " + "; ".join(OVERDUE_VI[r] for r in reasons) if reasons
                     else f"Không có nghĩa vụ quá hạn ngày {_d(on)}", on, {"reasons": reasons}))
    return out


async def facts(ctx: TenantContext, agencies: list[Any], on: date, names: Iterable[str] | None = None
                ) -> list[Fact]:
    """Facts about many agencies on a date, from one read of their records (only the columns the facts need) and a
    replay of those that changed after `on`. Ids that are not agencies of ctx's tenant get no facts. `names`
    ("certification.<fact>"): only those facts, None for all."""
    want = None if names is None else frozenset(
        n[len(NAME) + 1:] for n in names if n.startswith(f"{NAME}.")) & frozenset(FACT_NAMES)
    wanted = {a for a in agencies if isinstance(a, uuid.UUID)}
    if not wanted or want == frozenset():
        return []
    # Few agencies: an IN list. Many (the planner asks about a whole province): the tenant's rows, kept by a set
    # lookup here; a long IN list (or an array parameter) costs more to bind and plan than reading the rows, and a
    # cached generic plan may compare every row with every id.
    few = len(wanted) <= _FEW
    query = ctx.scope(Agency).select(Agency.id, Agency.valid_from, Agency.valid_to)
    rows = [r for r in await (query.where(Agency.id.is_in(list(wanted))) if few else query) if r["id"] in wanted]
    if not rows:
        return []
    columns = [getattr(QmsRecord, c) for c in ("id", "agency_id", "last_event_on", *FACT_COLUMNS)]
    query = ctx.scope(QmsRecord).select(*columns)
    if few:
        query = query.where(QmsRecord.agency_id.is_in([r["id"] for r in rows]))
    states: dict[uuid.UUID, rules.QmsState] = {}
    stale = []
    for r in await query:
        if r["agency_id"] not in wanted:
            continue
        if r["last_event_on"] is None or r["last_event_on"] <= on:
            states[r["agency_id"]] = rules.QmsState(**{c: r[c] for c in FACT_COLUMNS})
        else:
            stale.append(r)
    if stale:  # a day before their last event: replayed from the events (the JSON columns are not read there)
        states.update(await services.states_as_of(ctx, on, stale))
    deadline = await services.conversion_deadline(ctx)
    out: list[Fact] = []
    for agency in rows:
        aid = agency["id"]
        out += agency_facts(aid, states.get(aid) or _NOT_STARTED, is_active(agency, on), on, deadline, want)
    return out


async def _check_agency_access(ctx: TenantContext, agency_id: uuid.UUID, write: bool) -> None:
    if write:
        if not ctx.has("certification.write"):
            raise Forbidden("attaching documents to QMS records needs the permission 'certification.write'")
        await ctx.ensure_agency(agency_id, write=True)
    elif not ctx.has("certification.read"):
        raise Forbidden("reading QMS records needs the permission 'certification.read'")


async def check_record(ctx: TenantContext, target_id: Any, write: bool = False) -> None:
    """Evidence target `qms_record`: the record exists in ctx's tenant and the user may read / attach to it."""
    row = await ctx.scope(QmsRecord).find(target_id)
    if row is None:
        raise NotFound(f"QMS record {target_id} not found")
    await _check_agency_access(ctx, row["agency_id"], write)


async def record_parts(ctx: TenantContext, target_id: Any) -> list[tuple[str, str]]:
    """Evidence target `qms_record` lists the files attached to its events too."""
    rows = await ctx.scope(QmsEvent).select(QmsEvent.id).where(QmsEvent.record_id == target_id)
    return [("qms_event", str(row["id"])) for row in rows]


async def check_event(ctx: TenantContext, target_id: Any, write: bool = False) -> None:
    """Evidence target `qms_event`: attachments are documents of an event (the event itself never changes)."""
    row = await ctx.scope(QmsEvent).find(target_id)
    if row is None:
        raise NotFound(f"QMS event {target_id} not found")
    await _check_agency_access(ctx, row["agency_id"], write)
