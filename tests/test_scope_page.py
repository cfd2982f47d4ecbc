"""`ctx.scope(T).page`: on PostgreSQL one statement (the rows and `count(*) OVER ()`, its fixed parts built once
per table and order); it must answer exactly what the plain Piccolo select and count answer, for every filter,
order and page, past the end included."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

import msgspec
from piccolo.columns.combination import WhereRaw

from core.agencies.services import LEVEL_ORDER
from core.agencies.tables import Agency


async def _reference(scope: Any, conds: tuple[Any, ...], order: list[tuple[Any, bool]], limit: int, offset: int
                     ) -> tuple[list[dict[str, Any]], int]:
    query, count = scope.select(), scope.count()
    for cond in conds:
        query, count = query.where(cond), count.where(cond)
    for column, ascending in order:
        query = query.order_by(column, ascending=ascending)
    return await query.limit(limit).offset(offset), await count


async def test_page_answers_what_select_and_count_answer(make_tenant: Any) -> None:
    t = await make_tenant()
    other = await make_tenant()  # another tenant's rows never count
    ctx = await t.ctx()
    scope = ctx.scope(Agency)
    filters: list[tuple[Any, ...]] = [
        (), (Agency.level == "department",), (Agency.required == True,),  # noqa: E712
        (Agency.name_folded.like("%so%") | Agency.code.like("C%"),), (Agency.level == "galaxy",),
        (Agency.parent_id.is_null(), Agency.valid_to.is_null()), (WhereRaw("code <> {}", "P"),),
    ]
    orders: list[tuple[tuple[Any, ...], bool]] = [
        ((LEVEL_ORDER, Agency.name_folded), False), ((Agency.code,), True), (((Agency.name, False), Agency.code), False),
    ]
    for conds in filters:
        for order_by, descending in orders:
            order = [o if isinstance(o, tuple) else (o, not descending) for o in order_by]
            order.append((Agency.id, not descending))
            for limit, offset in ((50, 0), (2, 0), (2, 2), (1, 4), (3, 40)):
                got = await scope.page(*conds, order_by=order_by, descending=descending, limit=limit, offset=offset)
                want = await _reference(scope, conds, order, limit, offset)
                assert got == want, (conds, order_by, descending, limit, offset)
    assert (await scope.page(limit=50))[1] == 5 and other.id != t.id



async def test_page_into_a_struct_answers_what_converting_the_rows_answers(make_tenant: Any) -> None:
    """`page(into=S)`: on PostgreSQL the items are built from the driver's rows by position when every field of S
    is a visible column; the answer must be what converting the select's rows by name answers, for each filter,
    order and page; structs with a computed field or keyword-only fields are converted by name (both engines)."""
    from core.schemas import to_structs

    class Brief(msgspec.Struct):  # columns in another order than the table's
        name: str
        id: uuid.UUID
        level: str
        valid_from: date
        parent_id: uuid.UUID | None
        created_at: datetime
        required: bool

    class WithComputed(msgspec.Struct):
        id: uuid.UUID
        code: str
        active: bool = True  # not a column

    class KeywordOnly(msgspec.Struct, kw_only=True):
        code: str
        id: uuid.UUID

    t = await make_tenant()
    scope = (await t.ctx()).scope(Agency)
    for struct in (Brief, WithComputed, KeywordOnly):
        for conds in ((), (Agency.level == "department",), (Agency.level == "galaxy",)):
            for order_by, descending in (((LEVEL_ORDER, Agency.name_folded), False), ((Agency.code,), True)):
                order = [(o, not descending) for o in order_by] + [(Agency.id, not descending)]
                for limit, offset in ((50, 0), (2, 1), (3, 40)):
                    items, total = await scope.page(*conds, order_by=order_by, descending=descending, limit=limit,
                                                    offset=offset, into=struct)
                    rows, want_total = await _reference(scope, conds, order, limit, offset)
                    assert all(type(item) is struct for item in items)
                    assert (items, total) == (to_structs(rows, struct), want_total), (struct, conds, limit, offset)
                    assert msgspec.json.encode(items) == msgspec.json.encode(to_structs(rows, struct))
    assert len((await scope.page(limit=50, into=Brief))[0]) == 5
    # which structs take the positional path (PostgreSQL): all fields visible columns, none keyword-only
    assert [scope._struct_columns(s) is not None for s in (Brief, WithComputed, KeywordOnly)] == [True, False, False]

async def test_insert_audits_the_row_the_database_stored(make_tenant: Any) -> None:
    """`ctx.scope(T).insert` on PostgreSQL writes the row and its audit row in one statement when the row as sent
    is the row stored; either way the audit's `after` is the stored row, and a refused insert leaves neither."""
    from datetime import date, datetime, timedelta, timezone
    import uuid

    import msgspec
    import pytest

    from core.audit.tables import AuditEvent

    t = await make_tenant()
    ctx = await t.ctx()
    scope = ctx.scope(Agency)
    plus7 = timezone(timedelta(hours=7))
    cases = [
        {"created_at": None},  # the defaults: UTC now
        {"created_at": datetime(2025, 5, 1, 9, 30, tzinfo=plus7)},  # another offset: stored in UTC
    ]
    for i, extra in enumerate(cases):
        values = {"code": f"AUD{i}", "code_key": f"{t.id}:aud{i}", "name": "Phòng Kiểm tra", "name_folded": "phong",
                  "level": "office", "valid_from": date(2024, 1, 1), **{k: v for k, v in extra.items() if v}}
        row = await scope.insert(values)
        stored = await scope.get(row["id"])
        assert row == stored
        audit = await ctx.scope(AuditEvent).select().where(AuditEvent.entity_id == str(row["id"])).first()
        after = audit["after"] if isinstance(audit["after"], dict) else msgspec.json.decode(audit["after"])
        assert after == msgspec.json.decode(msgspec.json.encode(scope._redact(stored)))
        assert audit["action"] == "create" and audit["tenant_id"] == t.id
    before = await ctx.scope(AuditEvent).count()
    with pytest.raises(Exception):
        await scope.insert({"id": uuid.UUID(str(row["id"])), "code": "DUP", "code_key": f"{t.id}:dup",
                            "name": "Trùng", "name_folded": "trung", "level": "office", "valid_from": date(2024, 1, 1)})
    assert await ctx.scope(AuditEvent).count() == before


async def test_a_page_converted_at_once_equals_each_row_converted(make_tenant: Any) -> None:
    """The list endpoints answer a page as structs at once (`page(into=...)`, the agencies' `active` computed):
    the same structs as converting row by row, on each database's rows (SQLite gives UUIDs and dates as text),
    an agency closed yesterday or opening tomorrow included."""
    from datetime import timedelta

    from core.agencies import services as agencies
    from core.agencies.schemas import AgencyRead
    from core.schemas import to_struct, to_structs
    from core.users.schemas import UserRead
    from core.users.tables import User

    t = await make_tenant()
    ctx = await t.ctx()
    today = date.today()
    await ctx.scope(Agency).update(t.agencies["C1"], {"valid_to": today - timedelta(days=1)})
    await ctx.scope(Agency).update(t.agencies["D2"], {"valid_from": today + timedelta(days=1)})
    rows, _ = await ctx.scope(Agency).page(order_by=(agencies.LEVEL_ORDER, Agency.name_folded), limit=50)
    items, total = await agencies.search(ctx, level=None, parent_id=None, required=None, active=None,
                                         active_on=None, q=None, limit=50, offset=0)
    assert total == 5 and all(type(a) is AgencyRead for a in items)
    assert items == [agencies.to_read(r) for r in rows]
    assert [a.active for a in items].count(False) == 2
    users, _ = await ctx.scope(User).page(order_by=(User.email,), limit=50)
    assert users and (await ctx.scope(User).page(order_by=(User.email,), limit=50, into=UserRead))[0] == [
        to_struct(r, UserRead) for r in users]
    assert to_structs(users, UserRead) == [to_struct(r, UserRead) for r in users]
    assert to_structs([], UserRead) == []



async def test_a_page_of_agencies_is_read_in_order_from_the_list_index(make_tenant: Any) -> None:
    """PostgreSQL: the agencies list reads a page in the list order from the agency_list_order index (made by a
    migration with the level expression written out): with sorting made as costly as the planner allows, the
    plan holds no Sort, so the index's expression is the services' one. The page's total is a scalar subquery
    (run once), not a window over every row."""
    import pytest

    from core.agencies.services import LIST_ORDER
    from core.db import fetch_pg, is_sqlite, transaction

    if is_sqlite():
        pytest.skip("PostgreSQL plans")
    t = await make_tenant()
    scope = (await t.ctx()).scope(Agency)
    order = [(c, True) for c in LIST_ORDER] + [(Agency.id, True)]
    sql, args, _ = scope._page_sql(scope._page_frame(order), (), 50, 0)
    assert "OVER" not in sql.upper(), sql
    async with transaction(tenant=t.id):
        await fetch_pg("SELECT set_config('enable_sort', 'off', true), set_config('enable_seqscan', 'off', true)", ())
        plan = "\n".join(r["QUERY PLAN"] for r in await fetch_pg(f"EXPLAIN {sql}", args))
    assert "agency_list_order" in plan and "Sort Key" not in plan, plan
    page, total = await scope.page(order_by=LIST_ORDER, limit=2)
    assert total == 5 and [r["level"] for r in page] == ["province", "department"]
