"""The national indicators in SQL (reporting.indicators: one grouped query over many tenants, replaying only the
records that changed after the reference day) equal the answer of replaying every record's events
(reporting.indicators_replayed), on the demo provinces and on a seeded pair of provinces whose histories cover
every figure, corrections, closed and late-opened agencies, a passed conversion deadline and past years that
need the replay."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any

import msgspec

from core.agencies.services import code_key
from core.agencies.tables import Agency
from core.contracts import Indicator
from core.tenancy.context import TenantContext, TenantsReader
from core.text import fold
from plugins.certification import reporting, services
from plugins.certification.demo import e
from plugins.certification.schemas import EventCreate, SettingsUpdate
from plugins.certification.tables import QmsRecord
from plugins.certification.tests.conftest import Seeded

SCOPE = ["Đăng ký khai sinh", "Đăng ký kết hôn"]


def as_dict(found: list[Indicator]) -> dict[Any, dict[str, tuple[Any, dict[str, Any]]]]:
    out: dict[Any, dict[str, tuple[Any, dict[str, Any]]]] = {}
    for ind in found:
        assert ind.module == "certification" and ind.label_vi and ind.label_en
        out.setdefault(ind.tenant_id, {})[ind.name] = (ind.value, dict(ind.breakdown))
    return out


async def assert_sql_equals_replay(contexts: list[TenantContext], years: range, today: date) -> dict[int, Any]:
    """For every year: one SQL call for all the tenants equals each tenant's replay. Returns the SQL answers."""
    tenants = [ctx.tenant for ctx in contexts]
    answers = {}
    for year in years:
        sql = as_dict(await reporting.indicators(TenantsReader(tuple(tenants)), tenants, year, today=today))
        assert set(sql) == {t.id for t in tenants}
        for ctx in contexts:
            replayed = as_dict(await reporting.indicators_replayed(ctx, year, today=today))[ctx.tenant.id]
            assert sql[ctx.tenant.id] == replayed, (ctx.tenant.code, year)
        answers[year] = sql
    return answers


async def later_records(ctx: TenantContext, year: int) -> int:
    """Records with an event after the end of `year`: the SQL must replay these for that year."""
    return await ctx.scope(QmsRecord).count().where(QmsRecord.last_event_on > date(year, 12, 31))


async def test_sql_indicators_equal_the_replay_on_the_demo_provinces(lang_son: Seeded, bac_ninh: Seeded,
                                                                     hung_yen: Seeded) -> None:
    contexts = [await s.api.t.ctx() for s in (lang_son, bac_ninh, hung_yen)]
    today = date.today()
    answers = await assert_sql_equals_replay(contexts, range(2012, today.year + 1), today)
    assert all([await later_records(ctx, 2019) for ctx in contexts])  # the past years replayed some records
    bn = contexts[1].tenant.id
    assert answers[2019][bn]["reannounced"][0] == 1 and answers[2020][bn]["reannounced"][0] == 2
    assert answers[2019][bn]["announced"][0] == 20
    assert any(answers[year][t]["overdue"][0] for year in answers for t in answers[year])


# ------------------------------------------------------------------------------------ a seeded pair of provinces


def cycle(y: int, version: str = "2015") -> list[dict[str, Any]]:
    return [e("build_started", date(y, 1, 10), standard_version=version, scope=SCOPE),
            e("apply_started", date(y, 3, 1)),
            e("internal_audit", date(y, 6, 3), result="Phù hợp", nonconformities=1),
            e("management_review", date(y, 6, 17)),
            e("head_confirmed", date(y, 6, 24), confirmed_by="Giám đốc")]


def announce(on: date, n: int = 1) -> dict[str, Any]:
    return e("announced", on, decision_number=f"{n}/QĐ", signer="Giám đốc")


def keep_up(years: range, month: int = 5) -> list[dict[str, Any]]:
    return [ev for y in years for ev in (e("internal_audit", date(y, month, 2), result="Phù hợp"),
                                         e("management_review", date(y, month, 9)))]


def reannounce(y: int, month: int = 3, n: int = 2) -> list[dict[str, Any]]:
    return [e("scope_changed", date(y, month, 1), change="extended", added=[f"Thủ tục mới {y}"]),
            e("head_confirmed", date(y, month, 20), confirmed_by="Giám đốc"),
            announce(date(y, month + 1, 2), n)]


def histories(today: date) -> list[tuple[str, str, bool, date, date | None, list[dict[str, Any]] | None]]:
    """(code, level, required, valid_from, valid_to, events or None for no record) of one province."""
    recent = max(date(today.year, 1, 1), today - timedelta(days=40))  # this year, not after today
    return [
        ("NONE", "commune", True, date(2010, 1, 1), None, None),
        ("EMPTY", "commune", False, date(2010, 1, 1), None, []),  # a record and no event: not started
        ("BUILD08", "department", True, date(2010, 1, 1), None, cycle(2017, "2008")[:1]),
        ("APPLY", "district", True, date(2010, 1, 1), None, cycle(2018)[:2] + keep_up(range(2019, 2021))),
        ("ANN", "department", True, date(2010, 1, 1), None,
         cycle(2016) + [announce(date(2016, 7, 1))] + keep_up(range(2017, today.year))),
        ("ANN08", "district", True, date(2010, 1, 1), None,  # still on 2008: late once the deadline passed
         cycle(2015, "2008") + [announce(date(2015, 7, 1))] + keep_up(range(2016, today.year))),
        ("REANN", "office", True, date(2010, 1, 1), None,
         cycle(2017) + [announce(date(2017, 7, 1))] + keep_up(range(2018, 2020)) + reannounce(2020)
         + keep_up(range(2021, 2023))),  # stops its audits after 2022: overdue from 2023 on
        ("CONV", "commune", True, date(2010, 1, 1), None,
         cycle(2016, "2008") + [announce(date(2016, 7, 1))] + keep_up(range(2017, 2019))
         + [e("version_converted", date(2019, 2, 1)), e("head_confirmed", date(2019, 2, 20), confirmed_by="GĐ"),
            announce(date(2021, 3, 1), 2)] + keep_up(range(2021, today.year))),
        ("AGAIN", "commune", False, date(2010, 1, 1), None,  # re-announced 2019, withdrawn, announced anew 2021
         cycle(2017) + [announce(date(2017, 7, 1))] + reannounce(2019)
         + [e("withdrawn", date(2020, 5, 1), reason="Sáp nhập phòng ban")] + cycle(2021) + [announce(date(2021, 9, 1), 3)]),
        ("LEGAL", "unit", False, date(2010, 1, 1), None,
         cycle(2018) + [announce(date(2018, 7, 1))] + keep_up(range(2019, 2022))
         + [e("legal_change_noted", date(2020, 2, 1), legal_document="Nghị định 61/2018/NĐ-CP"),
            e("legal_change_applied", date(2020, 9, 1)),
            e("legal_change_noted", date(2021, 8, 1), legal_document="Thông tư 26/2024/TT-BKHCN")]),
        ("SUSP", "province", True, date(2010, 1, 1), None,
         cycle(2016) + [announce(date(2016, 7, 1)), e("suspended", date(2018, 1, 5), reason="Kiện toàn tổ chức"),
                        e("resumed", date(2019, 3, 1))] + keep_up(range(2019, 2021))),
        ("CLOSED", "district", True, date(2010, 1, 1), date(2022, 7, 1),  # gone before the later years
         cycle(2016) + [announce(date(2016, 7, 1))] + reannounce(2018) + keep_up(range(2019, 2022))),
        ("LATE", "commune", True, date(2020, 1, 1), None,  # opened in 2020
         cycle(2020) + [announce(date(2020, 8, 1))] + keep_up(range(2021, 2023))),
        ("NOW", "department", False, date(2010, 1, 1), None,  # re-announced this year: the running year in SQL
         cycle(2019) + [announce(date(2019, 7, 1))] + keep_up(range(2020, today.year))
         + [e("scope_changed", recent, change="narrowed", removed=[SCOPE[1]]),
            e("head_confirmed", recent, confirmed_by="GĐ"), announce(recent, 4)]),
    ]


async def seed_province(ctx: TenantContext, deadline: date | None, today: date) -> None:
    if deadline is not None:
        await services.update_settings(ctx, SettingsUpdate(conversion_deadline=deadline))
    for code, level, required, valid_from, valid_to, events in histories(today):
        agency_id = uuid.uuid4()
        await ctx.scope(Agency).insert({
            "id": agency_id, "code": code, "code_key": code_key(ctx.tenant.id, code), "name": f"Cơ quan {code}",
            "name_folded": fold(f"Cơ quan {code}"), "level": level, "parent_id": None, "required": required,
            "valid_from": valid_from, "valid_to": valid_to}, action="seed")
        if events is None:
            continue
        if not events:
            await services.create_record(ctx, agency_id)
            continue
        recorded = await services.record_events(ctx, agency_id, [msgspec.convert(ev, EventCreate) for ev in events],
                                                today=today)
        if code == "ANN":  # void its last internal audit: the corrected state is the one counted
            last_audit = [r for r in recorded.events if r["kind"] == "internal_audit"][-1]
            await services.record_events(ctx, agency_id, [msgspec.convert(
                {"kind": "correction", "corrects_event_id": str(last_audit["id"]), "action": "void",
                 "reason": "Nhập nhầm"}, EventCreate)], today=today)
        if code == "REANN":  # its re-announcement was in fact dated a year later
            ann = [r for r in recorded.events if r["kind"] == "announced"][-1]
            await services.record_events(ctx, agency_id, [msgspec.convert(
                {"kind": "correction", "corrects_event_id": str(ann["id"]), "action": "replace",
                 "reason": "Sai ngày", "replacement": {"occurred_on": "2021-04-02"}}, EventCreate)], today=today)


async def test_sql_indicators_equal_the_replay_on_seeded_provinces(make_tenant: Any) -> None:
    today = date.today()
    first = await (await make_tenant(modules=["certification"])).ctx()
    second = await (await make_tenant(modules=["certification"])).ctx()
    await seed_province(first, date(2019, 7, 31), today)
    await seed_province(second, None, today)
    answers = await assert_sql_equals_replay([first, second], range(2014, today.year + 1), today)

    assert await later_records(first, 2020) >= 8  # 2020 replays most records
    a, b = answers, first.tenant.id
    fig = lambda year, name, t=b: a[year][t][name]  # noqa: E731
    # the fresh test tenants' own agencies (P, D1, D2, D1U, C1) have no record: required, not started
    assert fig(2015, "announced") == (1, {**dict.fromkeys(reporting.LEVEL_ORDER, 0), "district": 1})
    assert fig(2018, "reannounced")[0] == 1 and fig(2019, "reannounced")[0] == 1  # CLOSED, then AGAIN
    assert fig(2021, "reannounced")[0] == 2  # REANN (corrected to 2021), CONV; AGAIN's 2021 one is a first one
    assert fig(2020, "reannounced")[0] == 0  # REANN's 2020 re-announcement was corrected to 2021
    assert fig(today.year, "reannounced")[0] == 1  # NOW
    assert fig(2019, "overdue")[1]["district"] == 1 and fig(2020, "overdue")[1]["district"] == 1  # ANN08
    assert fig(2019, "overdue", second.tenant.id)[1]["district"] == 0  # no deadline in the second province
    assert fig(2018, "announced")[1]["province"] == 0 and fig(2019, "announced")[1]["province"] == 1  # SUSP
    assert fig(2021, "announced")[1]["district"] == 2 and fig(2023, "announced")[1]["district"] == 1  # CLOSED
    assert fig(2019, "building")[1]["department"] == 1 and fig(2019, "on_2015_version")[0] >= 5
    assert fig(2019, "applying")[1]["district"] == 1  # APPLY
