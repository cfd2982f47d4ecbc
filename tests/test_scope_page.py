"""`ctx.scope(T).page`: on PostgreSQL one statement (the rows and `count(*) OVER ()`, its fixed parts built once
per table and order); it must answer exactly what the plain Piccolo select and count answer, for every filter,
order and page, past the end included."""

from __future__ import annotations

from typing import Any

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
