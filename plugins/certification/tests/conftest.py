"""Fixtures of the certification tests: a province with the module enabled and small HTTP helpers."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

MODULE = "certification"


class Api:
    """Thin helpers over the test client for one test province."""

    def __init__(self, client: Any, tenant: Any) -> None:
        self.client = client
        self.t = tenant

    def path(self, path: str) -> str:
        return self.t.url(f"/{MODULE}{path}")

    async def get(self, path: str, role: str = "tenant_admin", **params: Any) -> Any:
        return await self.client.get(self.path(path), headers=self.t.headers(role), params=params)

    async def post(self, path: str, body: Any, role: str = "tenant_admin") -> Any:
        return await self.client.post(self.path(path), headers=self.t.headers(role), json=body)

    async def event(self, agency: str, kind: str, on: date | str, role: str = "tenant_admin", **fields: Any) -> Any:
        body = {"kind": kind, "occurred_on": on.isoformat() if isinstance(on, date) else on, **fields}
        return await self.post(f"/agencies/{self.t.agencies[agency]}/events", body, role)

    async def ok(self, agency: str, kind: str, on: date | str, **fields: Any) -> dict[str, Any]:
        response = await self.event(agency, kind, on, **fields)
        assert response.status_code == 201, response.text
        return response.json()

    async def announce_ready(self, agency: str, year: int = 2019, scope: list[str] | None = None) -> dict[str, Any]:
        """Build, apply, audit, review and confirm: everything an announcement needs. Returns the last result."""
        await self.ok(agency, "build_started", date(year, 1, 10), scope=scope or ["Đăng ký khai sinh", "Đăng ký kết hôn"])
        await self.ok(agency, "apply_started", date(year, 3, 1))
        await self.ok(agency, "internal_audit", date(year, 6, 3), result="Phù hợp", nonconformities=2)
        await self.ok(agency, "management_review", date(year, 6, 17))
        return await self.ok(agency, "head_confirmed", date(year, 6, 24), confirmed_by="Giám đốc Sở")

    async def announced(self, agency: str, year: int = 2019, scope: list[str] | None = None) -> dict[str, Any]:
        await self.announce_ready(agency, year, scope)
        return await self.ok(agency, "announced", date(year, 7, 1), decision_number="12/QĐ-STP", signer="Giám đốc Sở")


@pytest.fixture
async def tenant(make_tenant: Any) -> Any:
    return await make_tenant(modules=[MODULE])


@pytest.fixture
async def api(client: Any, tenant: Any) -> Api:
    return Api(client, tenant)


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
