"""What the module tells the rest of the system: reminders, national indicators, eligibility facts and the
evidence targets' existence checks. Everything reads the derived QMS state through services.states_as_of().
"""

from __future__ import annotations

import functools
import uuid
from datetime import date
from typing import Any, Iterable

from core.agencies.services import is_active
from core.contracts import Fact, Indicator, Reminder
from core.errors import Forbidden, NotFound
from core.agencies.tables import Agency
from core.tenancy.context import TenantContext
from plugins.certification import NAME, rules, services
from plugins.certification.services import LEVEL_ORDER
from plugins.certification.tables import QmsEvent, QmsRecord

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


def _by_level(agencies: list[dict[str, Any]]) -> dict[str, int]:
    counts = {level: 0 for level in LEVEL_ORDER}
    for a in agencies:
        counts[a["level"]] = counts.get(a["level"], 0) + 1
    return counts


async def indicators(ctx: TenantContext, year: int, today: date | None = None) -> list[Indicator]:
    """Counts for the national view (Phụ lục II style), by agency level, over agencies active at the end of
    `year` (today for the running year): required agencies; building; applying (not yet announced); announced;
    re-announced during the year; on the 2015 version; overdue."""
    day = _reference_day(year, today)
    agencies = await _active_agencies(ctx, day)
    ids = {a["id"] for a in agencies}
    records = [r for r in await ctx.scope(QmsRecord).select().output(load_json=True) if r["agency_id"] in ids]
    states = await services.states_as_of(ctx, day, records)
    deadline = await services.conversion_deadline(ctx)

    empty = rules.QmsState()  # every agency without a record shares one state, only read below

    def state(a: dict[str, Any]) -> rules.QmsState:
        return states.get(a["id"]) or empty

    reannounced = set()
    for a in agencies:
        for ann in state(a).announcements:
            if ann.get("reannouncement") and date.fromisoformat(ann["on"]).year == year:
                reannounced.add(a["id"])
    groups: list[tuple[str, str, str, list[dict[str, Any]]]] = [
        ("required", "Cơ quan thuộc đối tượng bắt buộc áp dụng", "Agencies required to apply",
         [a for a in agencies if a["required"]]),
        ("building", "Đang xây dựng HTQLCL", "Building the QMS",
         [a for a in agencies if state(a).status == "building"]),
        ("applying", "Đang áp dụng, chưa công bố", "Applying, not yet announced",
         [a for a in agencies if state(a).status == "applying"]),
        ("announced", "Đã công bố HTQLCL", "Announced",
         [a for a in agencies if state(a).status == "announced"]),
        ("reannounced", f"Công bố lại trong năm {year}", f"Re-announced in {year}",
         [a for a in agencies if a["id"] in reannounced]),
        ("on_2015_version", "Áp dụng TCVN ISO 9001:2015", "On TCVN ISO 9001:2015",
         [a for a in agencies if state(a).standard_version == "2015"
          and state(a).status in ("building", "applying", "announced", "suspended")]),
        ("overdue", "Có nghĩa vụ quá hạn", "With an overdue obligation",
         [a for a in agencies if rules.overdue_reasons(state(a), day, deadline)]),
    ]
    return [Indicator(module=NAME, name=name, value=len(members), label_vi=vi, label_en=en,
                      breakdown=_by_level(members)) for name, vi, en, members in groups]


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
