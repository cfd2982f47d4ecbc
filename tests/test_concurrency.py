"""Duplicate submits at the same moment: one wins, the other gets a 409 problem, nothing is half-written."""

from __future__ import annotations

import asyncio
from typing import Any

from tests.test_tenant_isolation import audit_count


async def test_simultaneous_duplicate_agency_creates(client: Any, make_tenant: Any) -> None:
    t = await make_tenant()
    before = await audit_count(t.id)
    body = {"code": "DUP", "name": "Sở Xây dựng", "level": "department"}
    responses = await asyncio.gather(*[client.post(t.url("/agencies"), headers=t.headers(), json=body)
                                       for _ in range(6)])
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201, 409, 409, 409, 409, 409], [r.text for r in responses]
    assert all(r.headers["content-type"].startswith("application/problem+json") for r in responses if r.status_code == 409)
    listed = (await client.get(t.url("/agencies?q=xay dung"), headers=t.headers())).json()
    assert listed["total"] == 1
    assert await audit_count(t.id) == before + 1


async def test_simultaneous_duplicate_users(client: Any, make_tenant: Any) -> None:
    t = await make_tenant()
    body = {"email": f"same@{t.code}.test", "full_name": "Trùng", "role": "viewer", "password": "mat-khau-123"}
    responses = await asyncio.gather(*[client.post(t.url("/users"), headers=t.headers(), json=body) for _ in range(4)])
    assert sorted(r.status_code for r in responses) == [201, 409, 409, 409]


async def test_simultaneous_crossing_moves_never_make_a_cycle(client: Any, make_tenant: Any) -> None:
    """Moving D1 under D2 and D2 under D1 at the same moment: each check alone passes, together they would make
    a loop with no way back to the province. One move wins, the other gets a 409."""
    from core.agencies.tables import Agency
    from core.tenancy import unscoped

    for _ in range(3):
        t = await make_tenant()
        d1, d2 = t.agencies["D1"], t.agencies["D2"]
        responses = await asyncio.gather(
            client.patch(t.url(f"/agencies/{d1}"), headers=t.headers(), json={"parent_id": str(d2)}),
            client.patch(t.url(f"/agencies/{d2}"), headers=t.headers(), json={"parent_id": str(d1)}),
        )
        assert sorted(r.status_code for r in responses) == [200, 409], [r.text for r in responses]
        with unscoped():
            parents = {r["id"]: r["parent_id"] for r in await Agency.select(Agency.id, Agency.parent_id).where(
                Agency.tenant_id == t.id)}
        assert not (parents[d1] == d2 and parents[d2] == d1)
