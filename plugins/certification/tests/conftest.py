"""Fixtures of the certification tests: a province with the module enabled and small HTTP helpers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest

from core.testing import seed_demo_agencies
from plugins.certification import demo

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


# Lạng Sơn's recent demo events are dated relative to the seeding day; the tests seed on a fixed past day.
SEED_DAY = min(date(2025, 12, 1), date.today())


@dataclass
class Seeded:
    api: Api
    ids: dict[str, Any]

    def id(self, code: str) -> str:
        return str(self.ids[code])


async def _seeded(client: Any, make_tenant: Any, province: str) -> Seeded:
    t = await make_tenant(modules=["certification"])
    ctx = await t.ctx()
    ids = await seed_demo_agencies(ctx, province)
    await demo.seed(ctx, ids, today=SEED_DAY)  # called directly: an error fails the test instead of being logged
    return Seeded(Api(client, t), ids)


@pytest.fixture(scope="session")
async def lang_son(client: Any, make_tenant: Any) -> Seeded:
    return await _seeded(client, make_tenant, "lang-son")


@pytest.fixture(scope="session")
async def bac_ninh(client: Any, make_tenant: Any) -> Seeded:
    return await _seeded(client, make_tenant, "bac-ninh")


@pytest.fixture(scope="session")
async def hung_yen(client: Any, make_tenant: Any) -> Seeded:
    return await _seeded(client, make_tenant, "hung-yen")
