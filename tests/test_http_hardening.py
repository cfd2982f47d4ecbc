"""HTTP-level probes (issue 17): OPTIONS without a login, deeply nested JSON, integers as booleans, bodies that are
not JSON, cache and sniffing headers, a repeated charset, the stray `tenant_code` error entry."""

from __future__ import annotations

import json
from typing import Any

from tests.route_walk import all_routes, fill_path
from core.plugins import get_plugin_system


async def test_options_on_every_route_without_a_login_is_not_a_500(client: Any, app: Any, make_tenant: Any) -> None:
    t = await make_tenant()
    failures = []
    for route in all_routes(app):
        url = fill_path(route, t.code, {}, get_plugin_system().module_names())
        r = await client.request("OPTIONS", url)
        if r.status_code >= 500 or (r.status_code < 300 and r.content):
            failures.append(f"OPTIONS {route.path}: {r.status_code} {r.text[:100]}")
    assert not failures, "\n".join(failures)


async def test_deeply_nested_json_is_a_400(client: Any, make_tenant: Any) -> None:
    t = await make_tenant()
    deep = b"[" * 5000 + b"]" * 5000
    wrapped = b'{"email": "a@b.vn", "password": ' + deep + b"}"
    for url, headers, body in (("/api/v1/auth/login", {}, deep), ("/api/v1/auth/login", {}, wrapped),
                               (t.url("/agencies"), t.headers(), deep)):
        r = await client.post(url, headers={**headers, "Content-Type": "application/json"}, content=body)
        assert r.status_code == 400 and r.headers["content-type"].startswith("application/problem+json"), r.text


async def test_integers_are_not_booleans_nor_strings_numbers(client: Any, make_tenant: Any) -> None:
    t = await make_tenant()
    r = await client.patch(t.url(f"/users/{t.users['viewer']}"), headers=t.headers(), json={"active": 0})
    assert r.status_code == 400 and r.json()["field"] == "active", r.text
    r = await client.post(t.url("/agencies"), headers=t.headers(),
                          json={"code": "B1", "name": "Sở", "level": "department", "required": "true"})
    assert r.status_code == 400 and r.json()["field"] == "required", r.text
    user = (await client.get(t.url(f"/users/{t.users['viewer']}"), headers=t.headers())).json()
    assert user["active"] is True
    r = await client.put(t.url("/modules/certification"), headers=t.headers(), json={"enabled": 1})
    assert r.status_code == 400 and r.json()["field"] == "enabled", r.text


async def test_a_body_that_is_not_json_is_a_415(client: Any, make_tenant: Any) -> None:
    t = await make_tenant()
    body = json.dumps({"code": "TP", "name": "Sở", "level": "unit"})
    for content_type in ("text/plain", "application/xml", "application/x-www-form-urlencoded"):
        r = await client.post(t.url("/agencies"), headers={**t.headers(), "Content-Type": content_type}, content=body)
        assert r.status_code == 415 and r.headers["content-type"].startswith("application/problem+json"), r.text
    r = await client.post("/api/v1/auth/login", headers={"Content-Type": "text/plain"},
                          content=json.dumps({"email": "a@b.vn", "password": "x"}))
    assert r.status_code == 415, r.text
    listed = (await client.get(t.url("/agencies?q=TP"), headers=t.headers())).json()
    assert listed["total"] == 0  # nothing was written
    r = await client.post(t.url("/agencies"), headers={**t.headers(), "Content-Type": "application/json; charset=utf-8"},
                          content=body)
    assert r.status_code == 201, r.text


async def test_responses_are_not_cached_nor_sniffed(client: Any, make_tenant: Any) -> None:
    t = await make_tenant()
    login = await client.post("/api/v1/auth/login", json={"email": t.emails["viewer"], "password": "password-123"})
    for r in (login, await client.get("/api/v1/me", headers=t.headers()),
              await client.get(t.url("/users"), headers=t.headers()),
              await client.get(t.url("/certification/board.csv"), headers=t.headers()),
              await client.get("/api/v1/me")):  # a 401 too
        assert r.headers.get("cache-control") == "no-store", (r.url, r.headers)
        assert r.headers.get("x-content-type-options") == "nosniff", (r.url, r.headers)
    assert (await client.get("/health")).headers.get("x-content-type-options") == "nosniff"


async def test_text_downloads_name_their_charset_once(client: Any, make_tenant: Any) -> None:
    t = await make_tenant()
    r = await client.get(t.url("/certification/board.csv"), headers=t.headers())
    assert r.status_code == 200 and r.headers["content-type"] == "text/csv; charset=utf-8", r.headers


def test_no_stray_error_entry_for_a_path_parameter() -> None:
    """Litestar's per-field error collection adds a KeyError's text for path parameters the handler does not take
    (`{"field": "tenant_code", "message": "'tenant_code'"}`): such entries are dropped."""
    from litestar.exceptions import ValidationException

    from core.errors import _validation_errors

    exc = ValidationException(extra=[{"key": "data", "message": "Expected `object`, got `array`", "source": "body"},
                                     {"key": "tenant_code", "message": "'tenant_code'", "source": "path"}])
    assert [e["field"] for e in _validation_errors(exc)] == [None]
