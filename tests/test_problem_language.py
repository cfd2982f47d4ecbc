"""Problem details speak the user's language (issue 17): Vietnamese for officials by default or by Accept-Language,
English on request; enum errors list the allowed values; a pattern error never shows a regular expression."""

from __future__ import annotations

from typing import Any


async def test_officials_read_problems_in_vietnamese_and_english_on_request(client: Any, make_tenant: Any) -> None:
    t = await make_tenant()
    body = {"code": "X1", "name": "Sở", "level": "galaxy"}
    r = await client.post(t.url("/agencies"), headers=t.headers(), json=body)
    assert r.status_code == 400 and r.json()["field"] == "level", r.text
    detail = r.json()["detail"]
    assert detail.startswith("Dữ liệu không hợp lệ (trường `level`)"), detail
    assert "province, department, district, office, commune, unit" in detail, detail  # the allowed values
    r = await client.post(t.url("/agencies"), headers={**t.headers(), "Accept-Language": "en-US,en;q=0.9"}, json=body)
    detail = r.json()["detail"]
    assert detail.startswith("Invalid input (field `level`)") and "allowed: province" in detail, detail
    r = await client.get(t.url("/agencies?level=galaxy"), headers={**t.headers(), "Accept-Language": "en"})
    assert "allowed: province" in r.json()["detail"], r.text
    r = await client.get(t.url("/no-such-thing"), headers=t.headers())
    assert r.status_code == 404 and r.json()["detail"].startswith("Không tìm thấy"), r.text
    r = await client.post(t.url("/agencies"), headers={**t.headers(), "Accept-Language": "fr, vi;q=0.5, en;q=0.4"},
                          json={**body, "zz": 1})
    assert "Dữ liệu không hợp lệ" in r.json()["detail"], r.text


async def test_platform_users_default_to_english_and_patterns_are_explained(client: Any,
                                                                           platform_users: Any) -> None:
    admin = platform_users["platform_admin"]
    r = await client.post("/api/v1/tenants", headers=admin, json={"code": "BAD CODE", "name": "Tỉnh"})
    assert r.status_code == 400 and r.json()["field"] == "code", r.text
    detail = r.json()["detail"]
    assert "regex" not in detail and "^[a-z" not in detail and "lang-son" in detail, detail
    assert detail.startswith("Invalid input"), detail
    r = await client.post("/api/v1/tenants", headers={**admin, "Accept-Language": "vi"},
                          json={"code": "BAD CODE", "name": "Tỉnh"})
    assert "chữ thường không dấu" in r.json()["detail"] and "regex" not in r.text, r.text
