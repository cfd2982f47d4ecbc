"""Tenant isolation over every registered route (core and every plugin), found by walking the app's routes.

Two provinces A and B are seeded through every plugin's demo hook and through every create route, then:
a user of A gets 404 for B's URLs, for B's ids in A's URLs, and for B's ids smuggled in bodies; a viewer
cannot write; a national reviewer sees no tenant rows; nobody signed out gets anything. After each request
the audit trail of both tenants is unchanged: nothing was written.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from core.plugins import get_plugin_system
from core.audit.tables import AuditEvent
from core.tenancy import TenantTable, unscoped
from tests.route_walk import all_routes, fill_path, id_fields, known_ids, sample_body, tenant_routes


def tenant_tables() -> list[type[TenantTable]]:
    from core import piccolo_conf

    tables = []
    for config in piccolo_conf.APP_REGISTRY.app_configs.values():
        tables += [t for t in config.table_classes if issubclass(t, TenantTable)]
    return tables


async def ids_of(tenant_id: uuid.UUID) -> dict[str, list[uuid.UUID]]:
    """A few row ids of every tenant-owned table of one tenant."""
    found = {}
    with unscoped():
        for table in tenant_tables():
            rows = await table.select(table._meta.primary_key).where(table.tenant_id == tenant_id).limit(3)
            if rows:
                found[table._meta.tablename] = [r[table._meta.primary_key._meta.name] for r in rows]
    return found


async def audit_count(tenant_id: uuid.UUID) -> int:
    with unscoped():
        return await AuditEvent.count().where(AuditEvent.tenant_id == tenant_id)


def is_problem(response: Any) -> bool:
    return response.headers.get("content-type", "").startswith("application/problem+json")


async def request(client: Any, method: str, url: str, headers: dict[str, str], body: Any = None) -> Any:
    if method in ("POST", "PUT", "PATCH"):
        return await client.request(method, url, headers=headers, json=body if body is not None else {})
    return await client.request(method, url, headers=headers)


async def populate(client: Any, app: Any, tenant: Any, system: Any = None) -> None:
    """Fill every module's tables: the demo hooks, then every create route with a sample body."""
    system = system or get_plugin_system()
    ctx = await tenant.ctx()
    await system.collect("isogov_seed_demo", modules=system.module_names(), ctx=ctx, agencies=dict(tenant.agencies))
    routes = [r for r in tenant_routes(app) if r.method == "POST" and not r.params and r.json_struct() is not None]
    table_ids = await ids_of(tenant.id)
    for _ in range(2):  # a second pass for creates that name rows another create makes (a note about a person)
        failed = []
        for route in routes:
            struct = route.json_struct()
            users = {"viewer": tenant.users["viewer"]}
            body = route.handler.opt.get("walk_body") or sample_body(struct, tenant.agencies["D1"],
                                                                     known_ids(struct, table_ids, users))
            response = await client.post(fill_path(route, tenant.code, {}, []), headers=tenant.headers(), json=body)
            if response.status_code == 201:
                table_ids = await ids_of(tenant.id)
            else:
                failed.append(route)
        routes = failed


@pytest.fixture(scope="module")
async def pair(client: Any, app: Any, make_tenant: Any) -> tuple[Any, Any, dict, dict]:
    a, b = await make_tenant(), await make_tenant()
    for tenant in (a, b):
        await populate(client, app, tenant)
    return a, b, await ids_of(a.id), await ids_of(b.id)


def own_id_for(param: str, tenant: Any, ids: dict[str, list[uuid.UUID]]) -> Any:
    stem = param.removesuffix("_id")
    if stem == "agency":
        return tenant.agencies["D1"]
    if stem == "user":
        return tenant.users["viewer"]
    for table, values in ids.items():
        if stem and stem in table:
            return values[0]
    return uuid.uuid4()


def test_walker_sees_core_and_plugin_routes(app: Any) -> None:
    names = {r.name for r in tenant_routes(app)}
    assert "GET /api/v1/tenants/{tenant_code:str}/agencies" in names
    assert "PATCH /api/v1/tenants/{tenant_code:str}/agencies/{agency_id:uuid}" in names
    assert "DELETE /api/v1/tenants/{tenant_code:str}/example/notes/{note_id:uuid}" in names
    assert "PATCH /api/v1/tenants/{tenant_code:str}/people/{person_id:uuid}" in names
    for module in get_plugin_system().module_names():
        if get_plugin_system().modules[module].route_handlers:
            assert any(f"/{{tenant_code:str}}/{module}/" in n for n in names), f"no routes walked for {module}"


async def test_both_tenants_have_rows_in_every_populated_table(pair: Any) -> None:
    a, b, ids_a, ids_b = pair
    assert {"agency", "app_user", "example_note", "person"} <= set(ids_b)
    assert set(ids_a) == set(ids_b)
    from tests.example_plugin.tables import ExampleNote

    with unscoped():  # a create naming another table's row (a note about a person) got a real id of that table
        assert await ExampleNote.count().where((ExampleNote.tenant_id == b.id) & ExampleNote.person_id.is_not_null())
    assert not set(map(str, sum(ids_a.values(), []))) & set(map(str, sum(ids_b.values(), [])))


async def foreign_urls(client: Any, app: Any, a: Any, b: Any, ids_a: dict, ids_b: dict, modules: list[str]) -> list[str]:
    before = await audit_count(b.id)
    failures = []
    for route in tenant_routes(app):
        path_ids = {name: own_id_for(name, b, ids_b) for name, kind in route.params if kind == "uuid"}
        url = fill_path(route, b.code, path_ids, modules)
        struct = route.json_struct()
        body = sample_body(struct, b.agencies["D1"]) if struct else None
        for role in ("tenant_admin", "viewer", "agency_officer"):
            response = await request(client, route.method, url, a.headers(role), body)
            if response.status_code != 404 or not is_problem(response):
                failures.append(f"{route.name} as A's {role}: {response.status_code} {response.text[:120]}")
    if await audit_count(b.id) != before:
        failures.append("B's audit trail changed")
    return failures


async def test_foreign_tenant_urls_are_404(client: Any, app: Any, pair: Any) -> None:
    a, b, ids_a, ids_b = pair
    failures = await foreign_urls(client, app, a, b, ids_a, ids_b, get_plugin_system().module_names())
    assert not failures, "\n".join(failures)


async def foreign_ids_in_urls(client: Any, app: Any, a: Any, b: Any, ids_a: dict, ids_b: dict, modules: list[str]) -> list[str]:
    before = (await audit_count(a.id), await audit_count(b.id))
    failures, tried = [], 0
    for route in tenant_routes(app):
        uuid_params = [name for name, kind in route.params if kind == "uuid"]
        if not uuid_params:
            continue
        struct = route.json_struct()
        body = route.handler.opt.get("walk_body") or (sample_body(struct, a.agencies["D2"]) if struct else None)
        for table, values in ids_b.items():
            url = fill_path(route, a.code, {name: values[0] for name in uuid_params}, [])
            response = await request(client, route.method, url, a.headers("tenant_admin"), body)
            tried += 1
            if response.status_code != 404 or not is_problem(response):
                failures.append(f"{route.name} with B's {table} id: {response.status_code} {response.text[:120]}")
    if not tried:
        failures.append('no route was tried')
    if (await audit_count(a.id), await audit_count(b.id)) != before:
        failures.append('the audit trail changed')
    return failures


async def test_foreign_ids_in_own_urls_are_404(client: Any, app: Any, pair: Any) -> None:
    a, b, ids_a, ids_b = pair
    failures = await foreign_ids_in_urls(client, app, a, b, ids_a, ids_b, get_plugin_system().module_names())
    assert not failures, "\n".join(failures)


async def smuggled_ids(client: Any, app: Any, a: Any, b: Any, ids_a: dict, ids_b: dict, modules: list[str]) -> list[str]:
    before = (await audit_count(a.id), await audit_count(b.id))
    failures, tried = [], 0
    for route in tenant_routes(app):
        struct = route.json_struct()
        if route.method not in ("POST", "PUT", "PATCH") or struct is None:
            continue
        skip = set(route.handler.opt.get("walk_skip_body_ids", ()))
        fields = [f for f in id_fields(struct) if f not in skip]
        if not fields:
            continue
        path_ids = {name: own_id_for(name, a, ids_a) for name, kind in route.params if kind == "uuid"}
        url = fill_path(route, a.code, path_ids, [])
        for table, values in ids_b.items():
            body = route.handler.opt.get("walk_body") or sample_body(struct, a.agencies["D2"])
            body = {**body, **{f: ([str(values[0])] if isinstance(body.get(f), list) else str(values[0]))
                                for f in fields}}
            response = await request(client, route.method, url, a.headers("tenant_admin"), body)
            tried += 1
            if response.status_code != 404 or not is_problem(response):
                failures.append(f"{route.name} with B's {table} id in {fields}: "
                                f"{response.status_code} {response.text[:160]}")
    if not tried:
        failures.append('no route was tried')
    if (await audit_count(a.id), await audit_count(b.id)) != before:
        failures.append('the audit trail changed')
    return failures


async def test_foreign_ids_smuggled_in_bodies_are_404(client: Any, app: Any, pair: Any) -> None:
    a, b, ids_a, ids_b = pair
    failures = await smuggled_ids(client, app, a, b, ids_a, ids_b, get_plugin_system().module_names())
    assert not failures, "\n".join(failures)


async def viewer_writes(client: Any, app: Any, a: Any, b: Any, ids_a: dict, ids_b: dict, modules: list[str]) -> list[str]:
    before = await audit_count(a.id)
    failures = []
    for route in tenant_routes(app):
        if route.method == "GET":
            continue
        path_ids = {name: own_id_for(name, a, ids_a) for name, kind in route.params if kind == "uuid"}
        url = fill_path(route, a.code, path_ids, modules)
        struct = route.json_struct()
        body = sample_body(struct, a.agencies["D1"]) if struct else None
        response = await request(client, route.method, url, a.headers("viewer"), body)
        if response.status_code != 403 or not is_problem(response):
            failures.append(f"{route.name}: {response.status_code} {response.text[:120]}")
    if await audit_count(a.id) != before:
        failures.append("A's audit trail changed")
    return failures


async def test_viewer_cannot_write_anywhere(client: Any, app: Any, pair: Any) -> None:
    a, b, ids_a, ids_b = pair
    failures = await viewer_writes(client, app, a, b, ids_a, ids_b, get_plugin_system().module_names())
    assert not failures, "\n".join(failures)


async def test_national_reviewer_sees_no_tenant_rows(client: Any, app: Any, pair: Any, platform_users: Any) -> None:
    a, _, ids_a, _ = pair
    failures = []
    for route in tenant_routes(app):
        path_ids = {name: own_id_for(name, a, ids_a) for name, kind in route.params if kind == "uuid"}
        url = fill_path(route, a.code, path_ids, get_plugin_system().module_names())
        response = await request(client, route.method, url, platform_users["national_reviewer"])
        if response.status_code != 404:
            failures.append(f"{route.name}: {response.status_code}")
    assert not failures, "\n".join(failures)


async def test_every_non_public_route_needs_a_token(client: Any, app: Any, pair: Any) -> None:
    a, _, _, _ = pair
    public = {"/health", "/ready", "/metrics", "/api/v1/auth/login",  # /metrics: counts only, no tenant data
              "/api/v1/auth/password-reset", "/api/v1/auth/password-reset/confirm"}
    failures = []
    for route in all_routes(app):
        if route.path in public or route.path.startswith("/schema"):
            continue
        url = fill_path(route, a.code, {}, get_plugin_system().module_names())
        for headers in ({}, {"Authorization": "Bearer not-a-token"}):
            response = await request(client, route.method, url, headers)
            if response.status_code != 401 or not is_problem(response):
                failures.append(f"{route.name} {headers}: {response.status_code}")
    assert not failures, "\n".join(failures)


async def test_disabled_module_routes_answer_404_naming_the_module(client: Any, app: Any, make_tenant: Any) -> None:
    system = get_plugin_system()
    for module in system.module_names():
        routes = [r for r in tenant_routes(app) if r.module == module]
        if not routes:
            continue
        dependants = [m for m in system.module_names() if module in system.modules[m].info.depends_on]
        t = await make_tenant(modules=[m for m in system.module_names() if m != module and m not in dependants])
        for route in routes:
            url = fill_path(route, t.code, {}, [])
            response = await request(client, route.method, url, t.headers("tenant_admin"))
            assert response.status_code == 404, route.name
            assert module in response.json()["detail"], route.name


async def walk_isolation(client: Any, app: Any, make_tenant: Any, system: Any) -> list[str]:
    """The whole isolation walk for an app built from `system`: two populated provinces, every check."""
    modules = system.module_names()
    a, b = await make_tenant(modules=modules), await make_tenant(modules=modules)
    for tenant in (a, b):
        await populate(client, app, tenant, system)
    ids_a, ids_b = await ids_of(a.id), await ids_of(b.id)
    failures: list[str] = []
    for check in (foreign_urls, foreign_ids_in_urls, smuggled_ids, viewer_writes):
        failures += await check(client, app, a, b, ids_a, ids_b, modules)
    return failures
