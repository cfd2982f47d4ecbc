"""Health, readiness, and the demo provinces of DOMAIN.md."""

from __future__ import annotations

from typing import Any

from core.settings import get_settings, reset_settings
from core.agencies.tables import Agency
from core.tenancy.tables import Tenant
from core.users.tables import User
from core.tenancy import unscoped
from tenants.demo import DEMO_PASSWORD, seed_demo


async def test_health_and_ready(client: Any) -> None:
    assert (await client.get("/health")).json() == {"status": "ok"}
    r = await client.get("/ready")
    assert r.status_code == 200 and r.json()["checks"] == {"database": "ok", "redis": "ok"}


async def test_ready_is_503_when_redis_does_not_answer(client: Any, monkeypatch: Any) -> None:
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:1/0")
    reset_settings()
    try:
        r = await client.get("/ready")
        assert r.status_code == 503 and "redis" in r.json()["detail"]
        assert r.headers["content-type"].startswith("application/problem+json")
    finally:
        monkeypatch.undo()
        reset_settings()
    assert get_settings().redis_url != "redis://127.0.0.1:1/0"


async def test_openapi_is_served_with_summaries(client: Any) -> None:
    spec = (await client.get("/schema/openapi.json")).json()
    missing = [f"{m.upper()} {p}" for p, ops in spec["paths"].items() for m, op in ops.items() if not op.get("summary")]
    assert not missing, missing
    assert "/api/v1/tenants/{tenant_code}/agencies" in spec["paths"]


async def test_demo_seed_creates_the_three_provinces_once(client: Any) -> None:
    first = await seed_demo()
    assert set(first) <= {"lang-son", "bac-ninh", "hung-yen"}
    assert await seed_demo() == []  # idempotent
    rows = {r["code"]: r for r in await Tenant.select().where(Tenant.code.is_in(["lang-son", "bac-ninh", "hung-yen"]))}
    assert {r["name"] for r in rows.values()} == {"Lạng Sơn", "Bắc Ninh", "Hưng Yên"}
    with unscoped():
        thai_binh = await Agency.select().where((Agency.tenant_id == rows["hung-yen"]["id"]) & Agency.code.like("TB%"))
        viet_yen = await Agency.select().where((Agency.tenant_id == rows["bac-ninh"]["id"]) & Agency.code.like("BG-VY-%"))
    assert sum(1 for a in thai_binh if a["required"]) == 41
    assert all(a["valid_to"].isoformat() == "2025-07-01" for a in thai_binh)
    assert len(viet_yen) == 19 and {"UBND thị trấn Bích Động", "UBND xã Ninh Sơn"} <= {a["name"] for a in viet_yen}
    r = await client.post("/api/v1/auth/login", json={"email": "admin@lang-son.isogov.local", "password": DEMO_PASSWORD})
    assert r.status_code == 200
    token = {"Authorization": f"Bearer {r.json()['access_token']}"}
    found = (await client.get("/api/v1/tenants/lang-son/agencies?q=tai nguyen", headers=token)).json()["items"]
    assert [a["name"] for a in found] == ["Sở Tài nguyên và Môi trường"]
    assert (await client.get("/api/v1/tenants/bac-ninh/agencies", headers=token)).status_code == 404
    for email in ("admin@isogov.local", "national@isogov.local", "admin@bac-ninh.isogov.local", "admin@hung-yen.isogov.local"):
        r = await client.post("/api/v1/auth/login", json={"email": email, "password": DEMO_PASSWORD})
        assert r.status_code == 200, email
    with unscoped():
        assert await User.count().where(User.email.like("%@isogov.local")) == 2
