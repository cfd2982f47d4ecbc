"""Tenant events travel through the outbox: a real relay and a real worker hand them to the modules."""

from __future__ import annotations

from typing import Any

from tests.example_plugin import plugin as example
from tests.workers.conftest import drain


async def test_module_switches_reach_the_module_through_relay_and_worker(client: Any, make_tenant: Any, redis: Any,
                                                                         wconfig: Any) -> None:
    t = await make_tenant()
    await drain(redis, wconfig)
    example.EVENTS.clear()
    assert (await client.put(t.url("/modules/example"), headers=t.headers(), json={"enabled": False})).status_code == 200
    assert example.EVENTS == []
    await drain(redis, wconfig)
    assert [(e.kind, e.module) for e in example.EVENTS if e.tenant_id == t.id] == [("module_disabled", "example")]


async def test_a_refused_switch_queues_nothing(client: Any, make_tenant: Any, redis: Any, wconfig: Any) -> None:
    t = await make_tenant(modules=[])
    await drain(redis, wconfig)
    example.EVENTS.clear()
    r = await client.put(t.url("/modules/no-such-module"), headers=t.headers(), json={"enabled": True})
    assert r.status_code == 404
    await drain(redis, wconfig)
    assert [e for e in example.EVENTS if e.tenant_id == t.id] == []
