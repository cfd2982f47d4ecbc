"""The national view reads every province's aggregates through the indicators hook; no tenant rows."""

from __future__ import annotations

from typing import Any


async def test_national_view_aggregates_enabled_modules(client: Any, make_tenant: Any, platform_users: Any) -> None:
    # only the example module enabled, so the figures do not depend on which other plugins are installed
    a, b = await make_tenant(modules=["example"]), await make_tenant(modules=["example"])
    off = await make_tenant(modules=[])
    for t, n in ((a, 2), (b, 3), (off, 0)):
        for i in range(n):
            await client.post(t.url("/example/notes"), headers=t.headers(),
                              json={"agency_id": str(t.agencies["D1"]), "title": f"ghi chú {i}"})
    r = await client.get("/api/v1/national/indicators?year=2026", headers=platform_users["national_reviewer"])
    assert r.status_code == 200, r.text
    view = r.json()
    by_code = {t["code"]: t for t in view["tenants"]}
    notes = by_code[a.code]["indicators"]["example"]["notes"]
    assert notes == {"value": 2, "label_vi": "Số ghi chú", "label_en": "Notes", "unit": "note", "breakdown": {}}
    assert by_code[b.code]["indicators"]["example"]["notes"]["value"] == 3
    assert "example" not in by_code[off.code]["indicators"]
    assert view["totals"]["example"]["notes"]["value"] >= 5
    assert view["totals"]["example"]["notes"]["label_vi"] == "Số ghi chú"
    assert '"agencies"' not in r.text and "email" not in r.text  # no list of agencies (figures may name them)


async def test_national_view_is_for_national_roles_only(client: Any, make_tenant: Any, platform_users: Any) -> None:
    t = await make_tenant()
    assert (await client.get("/api/v1/national/indicators", headers=t.headers())).status_code == 403
    assert (await client.get("/api/v1/national/indicators", headers=platform_users["platform_admin"])).status_code == 200
    assert (await client.get("/api/v1/national/indicators?year=1900",
                             headers=platform_users["national_reviewer"])).status_code == 400


async def test_national_year_defaults_to_today_and_refuses_the_future(client: Any, platform_users: Any) -> None:
    from datetime import date

    headers = platform_users["national_reviewer"]
    r = await client.get("/api/v1/national/indicators", headers=headers)
    assert r.status_code == 200 and r.json()["year"] == date.today().year
    r = await client.get(f"/api/v1/national/indicators?year={date.today().year + 1}", headers=headers)
    assert r.status_code == 400 and "future" in r.json()["detail"]
