"""Fixtures of the training tests: a province with the module on, HTTP helpers, and a session walked through its
states. Plugin tests import only core and the plugin itself."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

MODULE = "training"
TODAY = date.today()  # re-read before every test (below): the service takes the day at request time


@pytest.fixture(autouse=True)
def _today_of_this_test(request: pytest.FixtureRequest) -> None:
    """A suite that runs across midnight must not compare yesterday's date with today's: each test module's
    TODAY (imported from here) is set to the day the test starts."""
    global TODAY
    TODAY = date.today()
    if getattr(request.module, "TODAY", None) is not None:
        request.module.TODAY = TODAY


class Api:
    def __init__(self, client: Any, tenant: Any) -> None:
        self.client = client
        self.t = tenant

    def path(self, path: str) -> str:
        return self.t.url(f"/{MODULE}{path}")

    async def get(self, path: str, role: str = "tenant_admin", **params: Any) -> Any:
        return await self.client.get(self.path(path), headers=self.t.headers(role), params=params or None)

    async def post(self, path: str, body: Any = None, role: str = "tenant_admin", **params: Any) -> Any:
        return await self.client.post(self.path(path), headers=self.t.headers(role), json=body, params=params or None)

    async def patch(self, path: str, body: Any, role: str = "tenant_admin") -> Any:
        return await self.client.patch(self.path(path), headers=self.t.headers(role), json=body)

    async def ok(self, method: str, path: str, body: Any = None, role: str = "tenant_admin", status: int | None = None
                 ) -> Any:
        r = await getattr(self, method)(path, body, role) if method != "get" else await self.get(path, role)
        expected = status or {"post": (200, 201), "patch": (200,), "get": (200,)}[method]
        assert r.status_code in (expected if isinstance(expected, tuple) else (expected,)), r.text
        return r.json()

    async def kind(self, code: str) -> dict[str, Any]:
        kinds = await self.ok("get", "/kinds")
        return next(k for k in kinds if k["code"] == code)

    async def person(self, agency: str, name: str, position: str = "Chuyên viên", role: str = "tenant_admin"
                     ) -> dict[str, Any]:
        return await self.ok("post", "/people", {"full_name": name, "agency_id": str(self.t.agencies[agency]),
                                                 "position": position}, role)

    async def session(self, kind: str = "AWARENESS", starts_on: date | None = None, days: int = 1, **fields: Any
                      ) -> dict[str, Any]:
        k = await self.kind(kind)
        start = starts_on or TODAY + timedelta(days=10)
        body = {"kind_id": k["id"], "title": f"Tập huấn {kind}", "starts_on": start.isoformat(),
                "ends_on": (start + timedelta(days=days - 1)).isoformat(), "place": "Hội trường Sở KH&CN",
                "capacity": 30, **fields}
        return await self.ok("post", "/sessions", body)

    async def move(self, session_id: str, to: str, on: date | None = None, reason: str | None = None,
                   status: int = 200) -> Any:
        body: dict[str, Any] = {"to": to}
        if on:
            body["on"] = on.isoformat()
        if reason:
            body["reason"] = reason
        r = await self.post(f"/sessions/{session_id}/transitions", body)
        assert r.status_code == status, r.text
        return r.json()

    async def register(self, session_id: str, person_id: str, role: str = "tenant_admin", status: int = 201) -> Any:
        r = await self.post(f"/sessions/{session_id}/registrations", {"person_id": person_id}, role)
        assert r.status_code == status, r.text
        return r.json()

    async def past_session(self, kind: str = "AWARENESS", days: int = 2, start: date | None = None,
                           people: int = 3) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """A session in the past, opened and registered (registration dated by the service's `today`)."""
        from plugins.training import services

        start = start or TODAY - timedelta(days=30)
        s = await self.session(kind, starts_on=start, days=days)
        await self.move(s["id"], "open", on=start - timedelta(days=10))
        ctx = await self.t.ctx()
        regs = []
        for i in range(people):
            p = await self.person("D2", f"Người học {kind} {i} {s['id'][:6]}")
            regs.append(await services.register(ctx, s["id"], p["id"], None, today=start - timedelta(days=3)))
        return s, regs


def assert_problem(response: Any, status: int, field: str | None = None, contains: str | None = None) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json"), response.headers
    body = response.json()
    assert body["status"] == status and body["detail"]
    if field is not None:
        assert body.get("field") == field, body
    if contains is not None:
        assert contains in body["detail"], body
    return body


@pytest.fixture
async def tenant(make_tenant: Any) -> Any:
    return await make_tenant(modules=[MODULE])


@pytest.fixture
async def api(client: Any, tenant: Any) -> Api:
    return Api(client, tenant)
