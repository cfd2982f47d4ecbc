"""The board's SQL path (paging, filtering and counting in the database on the persisted record state) gives
exactly what replaying every agency in Python gives, for every filter, on the seeded provinces."""

from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import date, timedelta
from typing import Any

import msgspec

from plugins.certification import rules, services
from plugins.certification.tests.conftest import SEED_DAY, Seeded

FILTERS: list[dict[str, Any]] = [
    {},
    {"include_closed": True},
    {"status": ["not_started"]},
    {"status": ["building", "suspended"]},
    {"status": ["announced", "not_started"], "required": True},
    {"level": ["department", "commune"]},
    {"required": False},
    {"standard_version": "2008"},
    {"standard_version": "2015"},
    {"standard_version": "none", "include_closed": True},
    {"overdue": True},
    {"overdue": False},
    {"overdue": True, "include_closed": True},
    {"reannouncement_due": True},
    {"reannouncement_due": False},
    {"q": "so tai"},
    {"q": "giao thong", "status": ["announced"]},
    *({"overdue_reason": reason} for reason in rules.OVERDUE_REASONS),
    {"overdue_reason": "conversion", "overdue": False},
    {"overdue_reason": "internal_audit", "overdue": True},
]


def plain(value: Any) -> Any:
    return msgspec.to_builtins(value)


async def compare(s: Seeded, day: date, monkeypatch: Any) -> None:
    ctx = await s.api.t.ctx()
    assert await services._board_in_sql(ctx, day), "the day is after every event: the SQL path must be taken"
    deadlines = [None, SEED_DAY - timedelta(days=400), day + timedelta(days=30)]
    for filters, deadline in itertools.product(FILTERS, deadlines):
        f = services.BoardFilters(**filters)

        async def fixed(_: Any, deadline: date | None = deadline) -> date | None:
            return deadline

        monkeypatch.setattr(services, "conversion_deadline", fixed)  # both paths read it through the module
        expected = await services.board(ctx, day, f)
        page, total = await services.board_page(ctx, day, f, limit=500, offset=0)
        assert total == len(expected), (filters, deadline)
        assert plain(page) == plain(expected), (filters, deadline)
        some, total = await services.board_page(ctx, day, f, limit=3, offset=2)
        assert total == len(expected) and plain(some) == plain(expected[2:5]), (filters, deadline)
        # past the last row the page is empty and still counts (the total then comes from a count, not the rows)
        assert await services.board_page(ctx, day, f, limit=3, offset=len(expected) + 1) == ([], len(expected))
        assert plain(await services.board_summary(ctx, day, f)) == plain(services.summarize(expected, day)), \
            (filters, deadline)


async def test_sql_board_equals_the_replayed_board(lang_son: Seeded, bac_ninh: Seeded, hung_yen: Seeded,
                                                   monkeypatch: Any) -> None:
    for seeded in (lang_son, bac_ninh, hung_yen):
        for day in (SEED_DAY, SEED_DAY + timedelta(days=400)):
            await compare(seeded, day, monkeypatch)


async def test_a_day_before_the_last_events_replays(lang_son: Seeded) -> None:
    ctx = await lang_son.api.t.ctx()
    day = date(2019, 6, 1)
    assert not await services._board_in_sql(ctx, day)
    f = services.BoardFilters()
    expected = await services.board(ctx, day, f)
    page, total = await services.board_page(ctx, day, replace(f), limit=4, offset=1)
    assert total == len(expected) and plain(page) == plain(expected[1:5])
    assert plain(await services.board_summary(ctx, day, f)) == plain(services.summarize(expected, day))
    assert await services.board_page(ctx, day, f, limit=4, offset=len(expected)) == ([], len(expected))
    # a filter no persisted (today's) state matches, but the replayed state of that day does: the replay answers
    now = {r.agency_id: r.status for r in await services.board(ctx, SEED_DAY, f)}
    changed = [r for r in expected if now.get(r.agency_id) != r.status]
    assert changed, "some agency had another status that day"
    applying = services.BoardFilters(status=[changed[0].status], q=changed[0].agency_code)
    then = await services.board(ctx, day, applying)
    assert then and all(now.get(r.agency_id) != r.status for r in then)
    page, total = await services.board_page(ctx, day, applying, limit=50, offset=0)
    assert total == len(then) and plain(page) == plain(then)
    assert plain(await services.board_summary(ctx, day, applying)) == plain(services.summarize(then, day))


async def test_a_board_page_reads_the_list_index_and_checks_later_events_from_its_index(lang_son: Seeded) -> None:
    """PostgreSQL: a board page reads its agencies in the list order from core's agency_list_order index (no
    Sort even when sorting is made as costly as the planner allows), its total is a scalar subquery (no window
    over every agency), and `board_stale` reads cert_qms_record_last_event (tenant, last event) instead of every
    record of the province. So a page costs about the same for 300 and 3,000 agencies."""
    import pytest

    from core.db import fetch_pg, is_sqlite, transaction

    if is_sqlite():
        pytest.skip("PostgreSQL plans")
    ctx = await lang_son.api.t.ctx()
    day = date.today()
    conds = await services._sql_conditions(ctx, day, services.BoardFilters(), None)
    sql, args = services._board_page_query(ctx, day, conds).limit(50).offset(0).querystrings[0].compile_string(
        engine_type="postgres")
    assert "OVER" not in sql.upper(), sql
    async with transaction(tenant=ctx.tenant.id):
        await fetch_pg("SELECT set_config('enable_sort', 'off', true), set_config('enable_seqscan', 'off', true), "
                       "set_config('enable_bitmapscan', 'off', true)", ())
        plan = "\n".join(r["QUERY PLAN"] for r in await fetch_pg(f"EXPLAIN {sql}", args))
    assert "agency_list_order" in plan and "Sort Key" not in plan, plan
    assert "cert_qms_record_last_event" in plan, plan
