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
        body = route.handler.opt.get("walk_body") or sample_body(route.json_struct(), t.agencies["D1"])
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


async def test_text_the_database_cannot_store_is_a_4xx(client: Any, make_tenant: Any) -> None:
    """A NUL character is valid JSON and valid UTF-8, but PostgreSQL refuses it in text columns: a 400, not a 500,
    on both engines' code path (and on sign-in, before authentication)."""
    t = await make_tenant()
    before = await audit_count(t.id)
    cases = [
        ("POST", t.url("/agencies"), {"code": "NUL", "name": "a\u0000b", "level": "unit"}),
        ("POST", t.url("/users"), {"email": "a\u0000@b.vn", "full_name": "X", "role": "viewer",
                                   "password": "password-123"}),
        ("POST", "/api/v1/auth/login", {"email": "a\u0000@b.vn", "password": "password-123"}),
    ]
    for method, url, body in cases:
        response = await client.request(method, url, headers=t.headers(), json=body)
        assert 400 <= response.status_code < 500 and is_problem(response), (url, response.status_code, response.text)
    for url in (t.url("/agencies?q=a%00b"), t.url("/users?q=a%00b"), t.url("/audit-events?entity=a%00b")):
        response = await client.get(url, headers=t.headers())
        assert response.status_code == 400 and is_problem(response), url  # decided: a NUL in a filter is a 400
        assert response.json()["field"] in ("q", "entity"), response.text
    assert await audit_count(t.id) == before


async def test_long_names_in_scripts_that_fold_longer_are_stored(client: Any, make_tenant: Any) -> None:
    """The folded search copy of a name may be longer than the name ("中" folds to "Zhong "): a name of the allowed
    length is accepted, and found by search, on PostgreSQL too (whose varchar columns enforce their length)."""
    t = await make_tenant()
    r = await client.post(t.url("/agencies"), headers=t.headers(), json={"code": "CJK", "name": "中" * 255,
                                                                         "level": "unit"})
    assert r.status_code == 201, r.text
    r = await client.patch(t.url(f"/agencies/{r.json()['id']}"), headers=t.headers(), json={"name": "京" * 255})
    assert r.status_code == 200, r.text
    found = (await client.get(t.url("/agencies"), params={"q": "jing jing"}, headers=t.headers())).json()
    assert [a["code"] for a in found["items"]] == ["CJK"]
    r = await client.post(t.url("/users"), headers=t.headers(), json={"email": "cjk@b.vn", "full_name": "中" * 200,
                                                                      "role": "viewer", "password": "password-123"})
    assert r.status_code == 201, r.text


async def test_every_list_route_bounds_limit_and_offset(client: Any, app: Any, make_tenant: Any) -> None:
    """Paging parameters past what the databases take are a 400 naming the parameter, on every list route."""
    import inspect

    t = await make_tenant()
    failures, checked = [], 0
    for route in tenant_routes(app):
        params = inspect.signature(route.handler.fn).parameters
        if route.method != "GET" or "offset" not in params:
            continue
        path_ids = {name: own_id_for(name, t, {}) for name, kind in route.params if kind == "uuid"}
        url = fill_path(route, t.code, path_ids, get_plugin_system().module_names())
        checked += 1
        for query in ("offset=9223372036854775808", "offset=-1", "limit=0", "limit=100000"):
            response = await client.get(f"{url}?{query}", headers=t.headers())
            if response.status_code not in (400, 404) or not is_problem(response):
                failures.append(f"{route.name}?{query}: {response.status_code} {response.text[:100]}")
            elif response.status_code == 400 and query.split("=")[0] not in response.text:
                failures.append(f"{route.name}?{query}: the error does not name the parameter")
    assert checked >= 5
    assert not failures, "\n".join(failures)
