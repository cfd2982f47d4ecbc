"""Bad input on every JSON route gets a 4xx problem+json that names the field, and writes nothing."""

from __future__ import annotations

from typing import Any

from core.plugins import get_plugin_system
from tests.route_walk import fill_path, sample_body, tenant_routes
from tests.test_tenant_isolation import audit_count, is_problem, own_id_for


def json_routes(app: Any) -> list[Any]:
    return [r for r in tenant_routes(app) if r.method in ("POST", "PUT", "PATCH") and r.json_struct() is not None]


async def test_every_json_route_rejects_bad_bodies(client: Any, app: Any, make_tenant: Any,
                                                   platform_users: Any) -> None:
    """As a platform admin (who passes every permission check), so the body itself is what gets judged."""
    t = await make_tenant()
    admin = platform_users["platform_admin"]
    before = await audit_count(t.id)
    failures = []
    routes = json_routes(app)
    assert len(routes) >= 5
    for route in routes:
        path_ids = {name: own_id_for(name, t, {}) for name, kind in route.params if kind == "uuid"}
        url = fill_path(route, t.code, path_ids, get_plugin_system().module_names())
        body = sample_body(route.json_struct(), t.agencies["D1"])
        cases = {
            "unknown field": ({**body, "no_such_field": 1}, None),
            "array instead of object": ([body], None),
            "invalid utf-8": (None, b'{"name": "\xff\xfe"}'),
            "not json": (None, b"{not json"),
            "oversize": (None, b'{"name": "' + b"x" * (2 * 1024 * 1024) + b'"}'),
        }
        for first_field in list(body)[:1]:
            cases["wrong type"] = ({**body, first_field: {"nested": ["wrong"]}}, None)
        for case, (json_body, raw) in cases.items():
            if raw is not None:
                response = await client.request(route.method, url, headers={**admin, "content-type": "application/json"},
                                                content=raw)
            else:
                response = await client.request(route.method, url, headers=admin, json=json_body)
            if not (400 <= response.status_code < 500) or not is_problem(response):
                failures.append(f"{route.name} [{case}]: {response.status_code} {response.text[:100]}")
            elif case == "unknown field" and "no_such_field" not in response.text:
                failures.append(f"{route.name} [{case}]: the error does not name the field: {response.text[:200]}")
            elif case == "oversize" and response.status_code != 413:
                failures.append(f"{route.name} [{case}]: expected 413, got {response.status_code}")
    assert not failures, "\n".join(failures)
    assert await audit_count(t.id) == before


async def test_validation_error_names_the_field(client: Any, make_tenant: Any) -> None:
    t = await make_tenant()
    response = await client.post(t.url("/agencies"), headers=t.headers(),
                                 json={"code": "X", "name": "Sở Nội vụ", "level": "galaxy"})
    assert response.status_code == 400
    body = response.json()
    assert body["status"] == 400 and body["title"] == "Bad Request"
    assert body["field"] == "level" and "level" in body["detail"]
    response = await client.post(t.url("/agencies"), headers=t.headers(), json={"name": "Sở Nội vụ", "level": "unit"})
    assert response.status_code == 400 and response.json()["field"] == "code"


async def test_unknown_route_and_method_are_problems(client: Any, make_tenant: Any) -> None:
    t = await make_tenant()
    response = await client.get("/api/v1/nothing-here", headers=t.headers())
    assert response.status_code == 404 and is_problem(response)
    response = await client.put(t.url("/agencies"), headers=t.headers(), json={})
    assert response.status_code == 405 and is_problem(response)


async def test_bad_query_parameters(client: Any, make_tenant: Any) -> None:
    t = await make_tenant()
    for query in ("limit=0", "limit=100000", "offset=-1", "level=galaxy", "parent_id=not-a-uuid", "active_on=yesterday"):
        response = await client.get(t.url(f"/agencies?{query}"), headers=t.headers())
        assert response.status_code == 400 and is_problem(response), query
