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
        if params:
            return await self.client.get(self.path(path), headers=self.t.headers(role), params=params)
        return await self.client.get(self.path(path), headers=self.t.headers(role))

    async def post(self, path: str, body: Any = None, role: str = "tenant_admin") -> Any:
        return await self.client.post(self.path(path), headers=self.t.headers(role), json=body)

    async def patch(self, path: str, body: Any, role: str = "tenant_admin") -> Any:
        return await self.client.patch(self.path(path), headers=self.t.headers(role), json=body)

    async def delete(self, path: str, role: str = "tenant_admin") -> Any:
        return await self.client.delete(self.path(path), headers=self.t.headers(role))

    async def ok(self, method: str, path: str, body: Any = None, role: str = "tenant_admin") -> Any:
        if method in ("get", "delete"):
            response = await getattr(self, method)(path, role=role)
        else:
            response = await getattr(self, method)(path, body, role)
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
    # training off: with it on, its facts decide team eligibility (Art. 40); tests that need it enable it
    from core.plugins import get_plugin_system

    return await make_tenant(modules=[m for m in get_plugin_system().module_names() if m != "training"])


@pytest.fixture
def api(client: Any, tenant: Any) -> Api:
    return Api(client, tenant)


async def make_person(t: Any, name: str, agency: str | None = None, position: str = "Chuyên viên",
                      user_id: Any = None) -> str:
    from core.people.tables import Person
    from core.text import fold

    ctx = await t.ctx()
    row = await ctx.scope(Person).insert({"full_name": name, "full_name_folded": fold(name), "position": position,
                                          "agency_id": t.agencies[agency] if agency else None, "user_id": user_id})
    return str(row["id"])


async def notifications(t: Any, kind: str) -> list[dict[str, Any]]:
    from core.notifications.tables import Notification

    ctx = await t.ctx()
    return await ctx.scope(Notification).select().where(Notification.kind == kind)


async def signed_record(api: Any, agency: str = "D1", day: str = "2024-04-02", findings: tuple = (("TC5", "minor"),),
                        sign_on: str | None = None) -> dict[str, Any]:
    """A team, an on-site visit, a record with findings, signed on `sign_on` (default the visit day)."""
    team = await api.ok("post", "/teams", {"year": int(day[:4]), "decision_number": "02/QĐ-BCĐISO",
                                           "decision_date": f"{day[:4]}-03-07", "issuer": "BCĐ ISO tỉnh"})
    head = await make_person(api.t, f"Trưởng đoàn {agency} {day}", "P", "Phó Giám đốc")
    await api.ok("post", f"/teams/{team['id']}/members", {"person_id": head, "role": "head"})
    visit = await api.ok("post", "/visits", {"agency_id": api.agency(agency), "form": "on_site", "scheduled_on": day,
                                             "team_id": team["id"]})
    record = await api.ok("post", "/records", {"visit_id": visit["id"], "number": "01/BB-ĐKT"})
    for code, severity in findings:
        await api.ok("post", f"/records/{record['id']}/findings", {"item_code": code, "severity": severity,
                                                                   "text": f"Tồn tại ở mục {code}"})
    return await api.ok("post", f"/records/{record['id']}/sign", {"signed_on": sign_on or day,
                                                                  "head_signer": "Trần Quốc Anh",
                                                                  "agency_signer": "Giám đốc Sở"})
