"""Fixtures of the inspections tests: a test province with every installed module and small HTTP helpers."""

from __future__ import annotations

from typing import Any

import pytest

MODULE = "inspections"


class Api:
    def __init__(self, client: Any, tenant: Any) -> None:
        self.client = client
        self.t = tenant

    def path(self, path: str) -> str:
        return self.t.url(f"/{MODULE}{path}")

    async def get(self, path: str, role: str = "tenant_admin", **params: Any) -> Any:
        return await self.client.get(self.path(path), headers=self.t.headers(role), params=params)

    async def post(self, path: str, body: Any = None, role: str = "tenant_admin") -> Any:
        return await self.client.post(self.path(path), headers=self.t.headers(role), json=body)

    async def patch(self, path: str, body: Any, role: str = "tenant_admin") -> Any:
        return await self.client.patch(self.path(path), headers=self.t.headers(role), json=body)

    async def delete(self, path: str, role: str = "tenant_admin") -> Any:
        return await self.client.delete(self.path(path), headers=self.t.headers(role))

    async def ok(self, method: str, path: str, body: Any = None, role: str = "tenant_admin") -> Any:
        response = await getattr(self, method)(path, body, role) if method != "get" else await self.get(path, role)
        assert response.status_code in (200, 201, 204), f"{method} {path}: {response.status_code} {response.text}"
        return response.json() if response.content else None

    def agency(self, short: str) -> str:
        return str(self.t.agencies[short])

    async def approved_plan(self, year: int = 2024, on_site: tuple[str, ...] = ("D1",)) -> dict[str, Any]:
        lines = [{"agency_id": self.agency(a), "form": "on_site" if a in on_site else "documents"}
                 for a in ("P", "D1", "D2")]
        plan = await self.ok("post", "/plans", {"year": year, "lines": lines})
        await self.ok("post", f"/plans/{plan['id']}/submit")
        return await self.ok("post", f"/plans/{plan['id']}/approve", {
            "decision_number": "329/QĐ-UBND", "decision_date": f"{year}-02-16", "decision_signer": "Chủ tịch UBND tỉnh"})


@pytest.fixture
async def tenant(make_tenant: Any) -> Any:
    return await make_tenant()


@pytest.fixture
def api(client: Any, tenant: Any) -> Api:
    return Api(client, tenant)
