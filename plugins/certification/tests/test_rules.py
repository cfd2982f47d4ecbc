"""The lifecycle state machine and the overdue rules, as pure functions (no database)."""

from __future__ import annotations

import uuid
from datetime import date
from itertools import count
from typing import Any

import pytest

from plugins.certification import rules
from plugins.certification.rules import Event, RuleViolation, add_months, obligations, overdue_reasons, replay

_seq = count(1)


def ev(kind: str, on: date, corrects: Event | None = None, **data: Any) -> Event:
    return Event(id=uuid.uuid4(), seq=next(_seq), kind=kind, occurred_on=on, data=data,
                 corrects_id=corrects.id if corrects else None)


SCOPE = ["Đăng ký khai sinh", "Đăng ký kết hôn", "Chứng thực bản sao từ bản chính"]


def ready(year: int = 2019, version: str = "2015") -> list[Event]:
    return [
        ev("build_started", date(year, 1, 7), standard_version=version, scope=list(SCOPE)),
        ev("apply_started", date(year, 3, 1)),
        ev("internal_audit", date(year, 6, 3), result="Phù hợp", nonconformities=2),
        ev("management_review", date(year, 6, 17)),
        ev("head_confirmed", date(year, 6, 24), confirmed_by="Giám đốc"),
    ]


def announced(year: int = 2019, version: str = "2015") -> list[Event]:
    return [*ready(year, version), ev("announced", date(year, 7, 1), decision_number="12/QĐ-UBND", signer="Chủ tịch")]


def refused(events: list[Event], status: str = "conflict", field: str | None = None, contains: str = "") -> RuleViolation:
    with pytest.raises(RuleViolation) as info:
        replay(events)
    assert info.value.status == status, info.value.message
    if field is not None:
        assert info.value.field == field, info.value.message
    assert contains in info.value.message
    assert info.value.event is events[-1] or info.value.event.id == events[-1].id
    return info.value


# ----------------------------------------------------------------------------------------------- transitions


def test_the_whole_lifecycle_builds_the_record() -> None:
    s = replay([])
    assert s.status == "not_started" and s.standard_version is None and s.event_count == 0
    events = ready()
    s = replay(events[:1])
    assert (s.status, s.status_since, s.standard_version, s.scope) == ("building", date(2019, 1, 7), "2015", SCOPE)
    s = replay(events[:2])
    assert (s.status, s.applying_started_on) == ("applying", date(2019, 3, 1))
    s = replay(announced())
    assert s.status == "announced" and s.status_since == date(2019, 7, 1)
    assert (s.announcement_number, s.announced_on, s.announcement_signer) == ("12/QĐ-UBND", date(2019, 7, 1), "Chủ tịch")
    assert (s.last_internal_audit_on, s.last_internal_audit_result, s.last_internal_audit_nonconformities) == \
        (date(2019, 6, 3), "Phù hợp", 2)
    assert (s.last_management_review_on, s.head_confirmed_on) == (date(2019, 6, 17), date(2019, 6, 24))
    assert s.scope_count == 3 and s.event_count == 6 and s.last_event_on == date(2019, 7, 1)
    assert [a["reannouncement"] for a in s.announcements] == [False]
    assert s.internal_audit_due_on == date(2020, 6, 3) and s.management_review_due_on == date(2020, 6, 17)


def test_build_defaults_to_the_2015_version_and_accepts_2008() -> None:
    assert replay([ev("build_started", date(2016, 1, 4))]).standard_version == "2015"
    assert replay([ev("build_started", date(2012, 1, 4), standard_version="2008")]).standard_version == "2008"


@pytest.mark.parametrize("kind, fields", [
    ("apply_started", {}), ("internal_audit", {"result": "x"}), ("management_review", {}),
    ("head_confirmed", {"confirmed_by": "x"}), ("announced", {"decision_number": "1", "signer": "x"}),
    ("scope_changed", {"change": "extended", "added": ["x"]}), ("legal_change_noted", {"legal_document": "x"}),
    ("legal_change_applied", {}), ("version_converted", {}),
    ("recognized", {"recognition_kind": "decision", "number": "1", "issuer": "x"}),
    ("suspended", {"reason": "x"}), ("resumed", {}), ("withdrawn", {"reason": "x"}),
])
def test_nothing_but_building_can_start_a_record(kind: str, fields: dict[str, Any]) -> None:
    refused([ev(kind, date(2019, 1, 1), **fields)], contains="'not started'")


def test_applying_needs_building_first_and_building_happens_once() -> None:
    refused([ev("apply_started", date(2019, 1, 1))], contains="record build_started first")
    refused([*ready()[:1], ev("build_started", date(2019, 2, 1))], contains="withdraw it before building")


@pytest.mark.parametrize("missing, words", [
    ("internal_audit", "an internal audit"), ("management_review", "a management review"),
])
def test_the_head_confirms_only_after_an_audit_and_a_review(missing: str, words: str) -> None:
    events = [e for e in ready()[:4] if e.kind != missing]
    refused([*events, ev("head_confirmed", date(2019, 6, 24), confirmed_by="x")], contains=words)


@pytest.mark.parametrize("missing, words", [
    ("internal_audit", "an internal audit"), ("management_review", "a management review"),
    ("head_confirmed", "the head's confirmation"),
])
def test_no_announcement_before_audit_review_and_confirmation(missing: str, words: str) -> None:
    events = [e for e in ready() if e.kind != missing and not (missing != "head_confirmed" and e.kind == "head_confirmed")]
    v = refused([*events, ev("announced", date(2019, 7, 1), decision_number="1", signer="x")],
                contains="no announcement before")
    assert words in v.message


def test_no_announcement_while_building_or_twice() -> None:
    refused([*ready()[:1], ev("announced", date(2019, 7, 1), decision_number="1", signer="x")],
            contains="needs a QMS being applied")
    refused([*announced(), ev("announced", date(2019, 8, 1), decision_number="2", signer="x")],
            contains="already announced")


def test_an_announcement_names_its_scope_and_the_version_the_qms_follows() -> None:
    base = [ev("build_started", date(2019, 1, 7)), *ready()[1:]]
    refused([*base, ev("announced", date(2019, 7, 1), decision_number="1", signer="x")], "invalid", "scope")
    s = replay([*base, ev("announced", date(2019, 7, 1), decision_number="1", signer="x", scope=["Cấp phép"])])
    assert s.scope == ["Cấp phép"]
    refused([*ready(), ev("announced", date(2019, 7, 1), decision_number="1", signer="x", standard_version="2008")],
            "invalid", "standard_version", "record version_converted")


def test_audits_from_an_earlier_cycle_do_not_count_after_withdrawal() -> None:
    events = [*announced(2016), ev("withdrawn", date(2018, 1, 5), reason="Sáp nhập"),
              ev("build_started", date(2018, 2, 1), scope=["Cấp phép"]), ev("apply_started", date(2018, 3, 1))]
    s = replay(events)
    assert s.status == "applying" and s.last_internal_audit_on == date(2016, 6, 3)  # shown, but not for this cycle
    refused([*events, ev("head_confirmed", date(2018, 4, 1), confirmed_by="x")], contains="missing: an internal audit")


# ----------------------------------------------------------------------------------------------- scope changes


def test_a_scope_change_opens_re_announcement_until_a_new_announcement() -> None:
    events = [*announced(), ev("scope_changed", date(2020, 2, 3), change="extended", added=["Đăng ký khai tử"])]
    s = replay(events)
    assert s.status == "announced" and s.reannouncement_due
    assert (s.reannouncement_due_since, s.reannouncement_reason) == (date(2020, 2, 3), "scope_changed")
    assert s.scope == [*SCOPE, "Đăng ký khai tử"] and s.scope_count == 4
    # the old confirmation does not cover the new scope
    refused([*events, ev("announced", date(2020, 3, 2), decision_number="2", signer="x")],
            contains="confirmation of effectiveness after the scope changed")
    events += [ev("head_confirmed", date(2020, 3, 1), confirmed_by="x"),
               ev("announced", date(2020, 3, 2), decision_number="2/QĐ", signer="x")]
    s = replay(events)
    assert not s.reannouncement_due and s.reannouncement_due_since is None
    assert (s.announcement_number, s.announced_on) == ("2/QĐ", date(2020, 3, 2))
    assert [(a["on"], a["reannouncement"], a["reason"]) for a in s.announcements] == \
        [("2019-07-01", False, None), ("2020-03-02", True, "scope_changed")]


def test_a_scope_change_before_the_announcement_opens_nothing() -> None:
    s = replay([*ready(), ev("scope_changed", date(2019, 6, 28), change="narrowed", removed=["Đăng ký kết hôn"])])
    assert s.status == "applying" and not s.reannouncement_due and s.scope_count == 2


def test_narrowed_and_adjusted_scopes() -> None:
    s = replay([*announced(), ev("scope_changed", date(2020, 1, 6), change="narrowed", removed=["dang ky ket hon"])])
    assert s.scope == ["Đăng ký khai sinh", "Chứng thực bản sao từ bản chính"] and s.reannouncement_due
    s = replay([*announced(), ev("scope_changed", date(2020, 1, 6), change="adjusted",
                                 description="Cập nhật quy trình theo mẫu mới")])
    assert s.scope == SCOPE and s.reannouncement_due


@pytest.mark.parametrize("fields, field, words", [
    ({"change": "extended"}, "added", "adds procedures"),
    ({"change": "extended", "added": ["Mới"], "removed": ["Đăng ký kết hôn"]}, "removed", "removes none"),
    ({"change": "narrowed"}, "removed", "removes procedures"),
    ({"change": "narrowed", "removed": ["Không có"]}, "removed", "not in the current scope"),
    ({"change": "extended", "added": ["ĐĂNG KÝ KHAI SINH"]}, "added", "already in the scope"),
    ({"change": "extended", "added": ["Mới", "mới"]}, "added", "listed twice"),
    ({"change": "adjusted"}, "description", "names what changed"),
    ({"change": "narrowed", "removed": list(SCOPE)}, "removed", "cannot become empty"),
    ({"change": "grown", "added": ["x"]}, "change", "extended, narrowed or adjusted"),
])
def test_bad_scope_changes_are_refused(fields: dict[str, Any], field: str, words: str) -> None:
    refused([*announced(), ev("scope_changed", date(2020, 1, 6), **fields)], "invalid", field, words)


# ----------------------------------------------------------------------------------------------- versions, legal changes


def test_converting_an_announced_2008_qms_needs_a_re_announcement_on_2015() -> None:
    events = [*announced(2014, "2008"), ev("version_converted", date(2018, 9, 3))]
    s = replay(events)
    assert (s.standard_version, s.converted_on) == ("2015", date(2018, 9, 3))
    assert s.reannouncement_due and s.reannouncement_reason == "version_converted"
    refused([*events, ev("version_converted", date(2018, 10, 1))], contains="already follows TCVN ISO 9001:2015")
    events += [ev("head_confirmed", date(2018, 11, 26), confirmed_by="x"),
               ev("announced", date(2018, 12, 3), decision_number="9", signer="x", standard_version="2015")]
    s = replay(events)
    assert not s.reannouncement_due and s.announcements[-1]["version"] == "2015"


def test_converting_before_the_announcement_just_changes_the_version() -> None:
    s = replay([ev("build_started", date(2017, 1, 2), standard_version="2008"), ev("version_converted", date(2017, 5, 2))])
    assert s.status == "building" and s.standard_version == "2015" and not s.reannouncement_due


def test_legal_changes_are_pending_until_applied() -> None:
    base = announced()
    one, two = (ev("legal_change_noted", date(2020, 1, 15), legal_document="Nghị định A"),
                ev("legal_change_noted", date(2020, 2, 20), legal_document="Thông tư B"))
    s = replay([*base, one, two])
    assert [p["due_on"] for p in s.pending_legal_changes] == ["2020-04-15", "2020-05-20"]
    assert s.legal_update_due_on == date(2020, 4, 15)
    s = replay([*base, one, two, ev("legal_change_applied", date(2020, 3, 10), legal_change_event_id=str(one.id))])
    assert s.legal_update_due_on == date(2020, 5, 20) and s.last_legal_update_on == date(2020, 3, 10)
    s = replay([*base, one, two, ev("legal_change_applied", date(2020, 3, 10))])  # no reference: all pending
    assert s.pending_legal_changes == [] and s.legal_update_due_on is None
    refused([*base, one, ev("legal_change_applied", date(2020, 3, 10), legal_change_event_id=str(uuid.uuid4()))],
            "invalid", "legal_change_event_id")


def test_recognition_suspension_resumption_and_withdrawal() -> None:
    events = [*announced(2018), ev("recognized", date(2019, 1, 17), recognition_kind="decision", number="105/QĐ-UBND",
                                   issuer="UBND huyện Việt Yên")]
    s = replay(events)
    assert (s.recognition_kind, s.recognition_number, s.recognition_issuer, s.recognition_date) == \
        ("decision", "105/QĐ-UBND", "UBND huyện Việt Yên", date(2019, 1, 17))
    refused([*announced(2018), ev("recognized", date(2019, 1, 17), recognition_kind="certificate", number="1",
                                  issuer="x", expires_on="2018-12-31")], "invalid", "expires_on")
    refused([*ready(), ev("recognized", date(2019, 7, 1), recognition_kind="decision", number="1", issuer="x")],
            contains="follows an announcement")
    events.append(ev("suspended", date(2019, 3, 4), reason="Kiện toàn bộ máy"))
    s = replay(events)
    assert s.status == "suspended" and s.internal_audit_due_on is None
    refused([*events, ev("internal_audit", date(2019, 4, 1), result="x")], contains="'suspended'")
    refused([*events, ev("suspended", date(2019, 4, 1), reason="x")])
    events.append(ev("resumed", date(2019, 5, 6)))
    assert replay(events).status == "announced"
    refused([*events, ev("resumed", date(2019, 5, 7))], contains="only a suspended QMS")
    events.append(ev("withdrawn", date(2020, 1, 2), reason="Sáp nhập đơn vị"))
    s = replay(events)
    assert s.status == "withdrawn" and s.internal_audit_due_on is None
    refused([*events, ev("withdrawn", date(2020, 2, 1), reason="x")])


# ----------------------------------------------------------------------------------------------- corrections


def test_a_correction_voids_an_event_and_the_state_is_recomputed() -> None:
    events = announced()
    audit = events[2]
    later = ev("internal_audit", date(2019, 9, 2), result="Phù hợp")
    s = replay([*events, later])
    assert s.last_internal_audit_on == date(2019, 9, 2)
    s = replay([*events, later, ev("correction", date(2019, 9, 5), corrects=later, action="void", reason="Nhập nhầm")])
    assert s.last_internal_audit_on == date(2019, 6, 3) and s.event_count == 6
    # voiding the audit the announcement rests on would make the announcement invalid: refused
    with pytest.raises(RuleViolation) as info:
        replay([*events, ev("correction", date(2019, 9, 5), corrects=audit, action="void", reason="x")])
    assert info.value.event.kind == "head_confirmed"


def test_a_correction_replaces_an_event_and_the_latest_correction_wins() -> None:
    events = announced()
    audit = events[2]
    fix = ev("correction", date(2019, 9, 5), corrects=audit, action="replace", reason="Sai ngày",
             replacement={"kind": "internal_audit", "occurred_on": "2019-06-05", "result": "Phù hợp",
                          "nonconformities": 5})
    s = replay([*events, fix])
    assert (s.last_internal_audit_on, s.last_internal_audit_nonconformities) == (date(2019, 6, 5), 5)
    again = ev("correction", date(2019, 9, 6), corrects=audit, action="replace", reason="Sai số",
               replacement={"kind": "internal_audit", "occurred_on": "2019-06-04", "result": "Phù hợp",
                            "nonconformities": 1})
    s = replay([*events, fix, again])
    assert (s.last_internal_audit_on, s.last_internal_audit_nonconformities) == (date(2019, 6, 4), 1)
    # moving the audit after the confirmation breaks the confirmation
    late = ev("correction", date(2019, 9, 6), corrects=audit, action="replace", reason="x",
              replacement={"kind": "internal_audit", "occurred_on": "2019-06-30", "result": "x"})
    with pytest.raises(RuleViolation) as info:
        replay([*events, late])
    assert info.value.event.kind == "head_confirmed"


def test_a_correction_keeps_the_kind_and_cannot_target_a_correction() -> None:
    events = announced()
    bad_kind = ev("correction", date(2019, 9, 5), corrects=events[2], action="replace", reason="x",
                  replacement={"kind": "management_review", "occurred_on": "2019-06-05"})
    refused([*events, bad_kind], "invalid", "replacement.kind")
    fix = ev("correction", date(2019, 9, 5), corrects=events[2], action="void", reason="x")
    refused([*events, ev("internal_audit", date(2019, 8, 1), result="x"), fix,
             ev("correction", date(2019, 9, 6), corrects=fix, action="void", reason="x")],
            "invalid", "corrects_event_id")


def test_a_backdated_event_that_invalidates_a_later_one_is_refused() -> None:
    events = [*announced(), ev("suspended", date(2019, 9, 2), reason="x")]
    with pytest.raises(RuleViolation) as info:
        replay([*events, ev("withdrawn", date(2019, 8, 1), reason="x")])
    assert info.value.event.kind == "suspended"


def test_replay_until_a_day_gives_the_state_of_that_day_with_corrections_applied() -> None:
    events = [*announced(2018, "2008"), ev("version_converted", date(2019, 5, 6))]
    assert replay(events, until=date(2018, 6, 30)).status == "applying"
    assert replay(events, until=date(2019, 1, 1)).standard_version == "2008"
    fix = ev("correction", date(2024, 1, 1), corrects=events[-1], action="void", reason="Chưa chuyển đổi")
    assert replay([*events, fix], until=date(2020, 1, 1)).standard_version == "2008"


# ----------------------------------------------------------------------------------------------- overdue rules


def test_add_months_clamps_to_the_end_of_the_month() -> None:
    assert add_months(date(2019, 1, 17), 12) == date(2020, 1, 17)
    assert add_months(date(2019, 8, 31), 6) == date(2020, 2, 29)
    assert add_months(date(2019, 11, 30), 3) == date(2020, 2, 29)
    assert add_months(date(2021, 11, 30), 3) == date(2022, 2, 28)


def test_overdue_reasons_are_the_overdue_obligations_in_rule_order() -> None:
    """overdue_reasons() is written without building obligations (boards and facts call it per agency): it must
    give exactly obligations()'s "overdue" reasons, in OVERDUE_REASONS order, for every kind of state."""
    from itertools import product

    day = date(2021, 6, 15)
    dues = (None, date(2021, 6, 14), day, date(2021, 7, 1))
    checked = 0
    for status, version, audit, review, legal, reann, since, deadline in product(
            rules.STATUSES, (None, "2008", "2015"), dues, dues[:2], dues[1:3], (False, True),
            (None, date(2021, 1, 1)), (None, date(2021, 6, 14), day)):
        state = rules.QmsState(status=status, standard_version=version, internal_audit_due_on=audit,
                               management_review_due_on=review, legal_update_due_on=legal, reannouncement_due=reann,
                               reannouncement_due_since=since)
        found = {o.reason for o in obligations(state, day, deadline) if o.status == "overdue"}
        assert overdue_reasons(state, day, deadline) == [r for r in rules.OVERDUE_REASONS if r in found], state
        checked += bool(found)
    assert checked > 1000


def test_twelve_months_without_an_internal_audit_or_management_review() -> None:
    s = replay(announced())  # audit 2019-06-03, review 2019-06-17
    assert overdue_reasons(s, date(2020, 6, 3)) == []
    assert overdue_reasons(s, date(2020, 6, 4)) == ["internal_audit"]
    assert overdue_reasons(s, date(2020, 6, 18)) == ["internal_audit", "management_review"]
    due = obligations(s, date(2020, 5, 4))
    assert [(o.reason, o.status, o.due_on) for o in due] == [("internal_audit", "due", date(2020, 6, 3))]
    assert obligations(s, date(2020, 5, 3)) == []  # 31 days ahead: not yet
    assert [o.reason for o in obligations(s, date(2020, 5, 18))] == ["internal_audit", "management_review"]


def test_the_twelve_months_run_from_applying_when_no_audit_was_held_yet() -> None:
    s = replay(ready()[:2])  # applying since 2019-03-01
    assert s.internal_audit_due_on == date(2020, 3, 1)
    assert overdue_reasons(s, date(2020, 3, 1)) == [] and overdue_reasons(s, date(2020, 3, 2)) == \
        ["internal_audit", "management_review"]
    assert overdue_reasons(replay(ready()[:1]), date(2030, 1, 1)) == []  # building: no yearly obligations yet


def test_a_legal_change_not_applied_within_three_months() -> None:
    events = [*announced(), ev("legal_change_noted", date(2019, 11, 30), legal_document="Nghị định C")]
    s = replay(events)
    assert s.legal_update_due_on == date(2020, 2, 29)
    assert overdue_reasons(s, date(2020, 2, 29)) == [] and overdue_reasons(s, date(2020, 3, 1)) == ["legal_update"]
    s = replay([*events, ev("legal_change_applied", date(2020, 3, 5))])
    assert overdue_reasons(s, date(2020, 3, 6)) == []


def test_a_pending_re_announcement_is_overdue_until_announced() -> None:
    s = replay([*announced(), ev("scope_changed", date(2019, 10, 1), change="extended", added=["Mới"])])
    assert overdue_reasons(s, date(2019, 10, 1)) == ["reannouncement"]


def test_still_on_2008_after_the_province_deadline() -> None:
    s = replay(announced(2016, "2008"))
    deadline = date(2019, 7, 31)
    assert overdue_reasons(s, date(2017, 1, 1), None) == []
    assert overdue_reasons(s, date(2017, 1, 1), deadline) == []
    assert "conversion" not in overdue_reasons(s, date(2019, 7, 31), deadline)
    assert [o.status for o in obligations(s, date(2019, 7, 10), deadline) if o.reason == "conversion"] == ["due"]
    assert overdue_reasons(s, date(2019, 8, 1), deadline) == ["internal_audit", "management_review", "conversion"]
    converted = replay([*announced(2016, "2008"), ev("version_converted", date(2019, 7, 1))])
    assert "conversion" not in overdue_reasons(converted, date(2019, 8, 1), deadline)
    withdrawn = replay([*announced(2016, "2008"), ev("withdrawn", date(2019, 1, 2), reason="x")])
    assert overdue_reasons(withdrawn, date(2020, 1, 1), deadline) == []


def test_record_values_round_trip() -> None:
    s = replay([*announced(), ev("legal_change_noted", date(2019, 11, 30), legal_document="x")])
    values = s.record_values()
    assert set(values) == set(rules.RECORD_FIELDS) and values["scope_count"] == 3
    back = rules.state_from_record(values)
    assert back.record_values() == values
