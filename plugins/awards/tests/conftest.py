"""Fixtures of the awards tests: a province with the module on, HTTP helpers and fake fact-answering modules."""

from __future__ import annotations

from typing import Any

import pytest

MODULE = "awards"


class Api:
    """Thin helpers over the test client for one test province."""

    def __init__(self, client: Any, tenant: Any) -> None:
        self.client = client
        self.t = tenant

    def path(self, path: str) -> str:
        return self.t.url(f"/{MODULE}{path}")

    async def get(self, path: str, role: str = "tenant_admin", **params: Any) -> Any:
        return await self.client.get(self.path(path), headers=self.t.headers(role), params=params)

    async def post(self, path: str, body: Any = None, role: str = "tenant_admin") -> Any:
        return await self.client.post(self.path(path), headers=self.t.headers(role), json=body or {})

    async def patch(self, path: str, body: Any, role: str = "tenant_admin") -> Any:
        return await self.client.patch(self.path(path), headers=self.t.headers(role), json=body)

    async def ok(self, method: str, path: str, body: Any = None, role: str = "tenant_admin",
                 status: int | None = None) -> Any:
        r = await (self.post(path, body, role) if method == "post" else self.patch(path, body, role))
        assert r.status_code == (status or (201 if method == "post" else 200)), r.text
        return r.json()

    async def forms(self) -> dict[str, Any]:
        r = await self.post("/forms/defaults")
        assert r.status_code == 200, r.text
        return {f["code"]: f for f in r.json()}

    async def person(self, agency: str = "D1", name: str = "Nguyễn Thị Hoa", position: str = "Thư ký ISO") -> str:
        from core.people.tables import Person
        from core.text import fold

        ctx = await self.t.ctx()
        row = await ctx.scope(Person).insert({"full_name": name, "full_name_folded": fold(name), "position": position,
                                              "agency_id": self.t.agencies[agency]})
        return str(row["id"])

    async def proposal(self, form: dict[str, Any], *, agency: str | None = "D1", person: str | None = None,
                       year: int = 2024, role: str = "tenant_admin", **extra: Any) -> dict[str, Any]:
        body: dict[str, Any] = {"form_id": form["id"], "year": year,
                                "achievement": "Hoàn thành xuất sắc nhiệm vụ duy trì HTQLCL", **extra}
        if person:
            body.update(subject="individual", person_id=person)
        else:
            body.update(subject="collective", agency_id=str(self.t.agencies[agency]))
        return await self.ok("post", "/proposals", body, role)

    async def override_all(self, proposal: dict[str, Any], reason: str = "Có văn bản xác nhận kèm theo",
                           role: str = "tenant_admin") -> dict[str, Any]:
        for c in proposal["eligibility"]["criteria"]:
            if c["status"] != "met" and not c["overridden"]:
                proposal = await self.ok("post", f"/proposals/{proposal['id']}/overrides",
                                         {"criterion": c["code"], "reason": reason}, role, status=200)
        return proposal

    async def reviewed(self, form: dict[str, Any], **kw: Any) -> dict[str, Any]:
        p = await self.override_all(await self.proposal(form, **kw))
        await self.ok("post", f"/proposals/{p['id']}/submit", status=200)
        return await self.ok("post", f"/proposals/{p['id']}/review", {"note": "Đủ hồ sơ"}, status=200)

    async def meeting(self, ids: list[str], members: int = 5, **extra: Any) -> dict[str, Any]:
        body = {"held_on": "2024-12-10", "members": [{"full_name": f"Thành viên {i}", "position": "ủy viên"}
                                                     for i in range(members)], "proposal_ids": ids, **extra}
        return await self.ok("post", "/meetings", body)


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
