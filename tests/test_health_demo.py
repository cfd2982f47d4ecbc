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


async def test_demo_seed_creates_the_provinces_once_and_runs_the_real_2025_reform(client: Any) -> None:
    from core.agencies.tables import AgencyLink
    from core.plugins import get_plugin_system

    first = await seed_demo()
    assert set(first) <= {"lang-son", "bac-ninh", "hung-yen", "bac-giang", "thai-binh"}
    assert await seed_demo() == []  # idempotent
    rows = {r["code"]: r for r in await Tenant.select().where(Tenant.code.is_in(
        ["lang-son", "bac-ninh", "hung-yen", "bac-giang", "thai-binh"]))}
    assert {r["name"] for r in rows.values()} == {"Lạng Sơn", "Bắc Ninh", "Hưng Yên", "Bắc Giang", "Thái Bình"}
    # Bắc Giang and Thái Bình were merged by the real merge, and point to their successors
    assert rows["bac-giang"]["status"] == "merged" and rows["bac-giang"]["merged_into"] == rows["bac-ninh"]["id"]
    assert rows["thai-binh"]["status"] == "merged" and rows["thai-binh"]["merged_into"] == rows["hung-yen"]["id"]
    with unscoped():
        thai_binh = await Agency.select().where((Agency.tenant_id == rows["hung-yen"]["id"]) & Agency.code.like("TB%"))
        viet_yen = await Agency.select().where((Agency.tenant_id == rows["bac-ninh"]["id"]) & Agency.code.like("BG-VY-%"))
        bac_ninh = await Agency.select().where(Agency.tenant_id == rows["bac-ninh"]["id"])
        hung_yen = await Agency.select().where(Agency.tenant_id == rows["hung-yen"]["id"])
        links = await AgencyLink.select().where(AgencyLink.tenant_id == rows["bac-ninh"]["id"])
        left = await Agency.count().where(Agency.tenant_id.is_in([rows["bac-giang"]["id"], rows["thai-binh"]["id"]]))
    assert left == 0
    assert sum(1 for a in thai_binh if a["required"]) == 41
    assert all(a["valid_to"].isoformat() == "2025-07-01" for a in thai_binh)  # closed by the reform, kept
    assert len(viet_yen) == 19 and {"UBND thị trấn Bích Động", "UBND xã Ninh Sơn"} <= {a["name"] for a in viet_yen}
    # the reform's result is exactly the tree of today that the demo describes
    for code, found in (("bac-ninh", bac_ninh), ("hung-yen", hung_yen)):
        today = {(a.code, a.valid_from, a.valid_to) for a in get_plugin_system().demo_agencies(code)}
        assert {(a["code"], a["valid_from"], a["valid_to"]) for a in found} == today, code
    ward = next(a for a in bac_ninh if a["code"] == "BN-P-NENH")
    assert {a["code"] for a in bac_ninh if a["id"] in {link["predecessor_id"] for link in links
                                                      if link["successor_id"] == ward["id"]}} == {
        "BG-VY-NENH", "BG-VY-QUANGCHAU", "BG-VY-QUANGMINH", "BG-VY-NINHSON"}
    r = await client.post("/api/v1/auth/login", json={"email": "admin@lang-son.isogov.local", "password": DEMO_PASSWORD})
    assert r.status_code == 200
    token = {"Authorization": f"Bearer {r.json()['access_token']}"}
    found = (await client.get("/api/v1/tenants/lang-son/agencies?q=tai nguyen", headers=token)).json()["items"]
    assert [a["name"] for a in found] == ["Sở Tài nguyên và Môi trường"]
    assert (await client.get("/api/v1/tenants/bac-ninh/agencies", headers=token)).status_code == 404
    for email in ("admin@isogov.local", "national@isogov.local", "admin@bac-ninh.isogov.local",
                  "admin@hung-yen.isogov.local", "admin@bac-giang.isogov.local"):
        r = await client.post("/api/v1/auth/login", json={"email": email, "password": DEMO_PASSWORD})
        assert r.status_code == 200, email
    # indicators before and after the reform: 2024 as the provinces were, 2026 as they are
    national = await client.post("/api/v1/auth/login", json={"email": "national@isogov.local",
                                                            "password": DEMO_PASSWORD})
    reviewer = {"Authorization": f"Bearer {national.json()['access_token']}"}

    def announced(view: dict[str, Any], code: str) -> int:
        tenants = {t["code"]: t for t in view["tenants"]}
        return tenants[code]["indicators"]["certification"]["announced"]["value"] if code in tenants else -1

    y2024 = (await client.get("/api/v1/national/indicators?year=2024", headers=reviewer)).json()
    assert announced(y2024, "bac-giang") >= 19  # Việt Yên's communes, counted in Bắc Giang in 2024
    rolled = (await client.get("/api/v1/national/indicators?year=2024&rollup=true", headers=reviewer)).json()
    assert announced(rolled, "bac-giang") == -1
    assert announced(rolled, "bac-ninh") == announced(y2024, "bac-ninh") + announced(y2024, "bac-giang")
    y2026 = (await client.get("/api/v1/national/indicators?year=2026", headers=reviewer)).json()
    assert announced(y2026, "bac-giang") == -1  # today's provinces only
    assert announced(y2026, "bac-ninh") < announced(rolled, "bac-ninh")  # the communes closed in 2025
    moved = await client.post("/api/v1/auth/login", json={"email": "admin@bac-giang.isogov.local",
                                                         "password": DEMO_PASSWORD})
    me = (await client.get("/api/v1/me", headers={"Authorization": f"Bearer {moved.json()['access_token']}"})).json()
    assert me["tenant_code"] == "bac-ninh"  # Bắc Giang's officials now work in Bắc Ninh
