"""Users, roles and sign-in: argon2 hashes, rate limits, deactivation, suspended provinces."""

from __future__ import annotations

from typing import Any

import pytest

from core.auth import authenticate
from core.errors import TooManyRequests, Unauthorized
from core.settings import get_settings
from core.users.tables import User
from core.tenancy import unscoped


async def login(client: Any, email: str, password: str) -> Any:
    return await client.post("/api/v1/auth/login", json={"email": email, "password": password})


async def test_login_me_and_bad_credentials(client: Any, make_tenant: Any) -> None:
    t = await make_tenant()
    r = await login(client, t.emails["inspector"], "password-123")
    assert r.status_code == 200
    token = r.json()
    assert token["token_type"] == "bearer" and token["expires_in"] == get_settings().token_ttl_seconds
    me = (await client.get("/api/v1/me", headers={"Authorization": f"Bearer {token['access_token']}"})).json()
    assert me["email"] == t.emails["inspector"] and me["role"] == "inspector" and me["tenant_code"] == t.code
    r = await login(client, t.emails["inspector"], "wrong-password")
    assert r.status_code == 401 and r.headers["content-type"].startswith("application/problem+json")
    assert (await login(client, "nobody@nowhere.test", "password-123")).status_code == 401
    r = await login(client, t.emails["inspector"].upper(), "password-123")
    assert r.status_code == 200  # emails are case-insensitive


async def test_passwords_are_argon2_hashes(make_tenant: Any) -> None:
    t = await make_tenant()
    with unscoped():
        row = await User.select(User.password_hash).where(User.id == t.users["viewer"]).first()
    assert row["password_hash"].startswith("$argon2id$") and "password-123" not in row["password_hash"]


async def test_login_rate_limited_per_account(client: Any, make_tenant: Any) -> None:
    t = await make_tenant()
    email = t.emails["viewer"]
    for _ in range(get_settings().login_max_failures):
        assert (await login(client, email, "wrong")).status_code == 401
    r = await login(client, email, "password-123")  # even the right password waits now
    assert r.status_code == 429 and "Retry-After" in r.headers
    assert (await login(client, t.emails["inspector"], "password-123")).status_code == 200  # others unaffected


async def test_login_rate_limited_per_address(make_tenant: Any) -> None:
    settings = get_settings()
    address = f"198.51.100.{id(settings) % 250}"
    for i in range(settings.login_max_failures_per_address):
        with pytest.raises(Unauthorized):
            await authenticate(f"ghost{i}@nowhere.test", "x", address, settings)
    t = await make_tenant()
    with pytest.raises(TooManyRequests):
        await authenticate(t.emails["viewer"], "password-123", address, settings)
    assert await authenticate(t.emails["viewer"], "password-123", "203.0.113.9", settings) == t.users["viewer"]


async def test_user_management(client: Any, make_tenant: Any) -> None:
    t = await make_tenant()
    body = {"email": "Thu.Ky@So-Tu-Phap.test", "full_name": "Nguyễn Thị Thu", "role": "agency_officer",
            "password": "mat-khau-dai", "agency_id": str(t.agencies["D2"])}
    r = await client.post(t.url("/users"), headers=t.headers(), json=body)
    assert r.status_code == 201, r.text
    user = r.json()
    assert user["email"] == "thu.ky@so-tu-phap.test" and "password" not in user and "password_hash" not in user
    assert (await client.post(t.url("/users"), headers=t.headers(), json=body)).status_code == 409
    assert (await login(client, "thu.ky@so-tu-phap.test", "mat-khau-dai")).status_code == 200
    found = (await client.get(t.url("/users?q=nguyen thi"), headers=t.headers())).json()
    assert [u["id"] for u in found["items"]] == [user["id"]]
    r = await client.patch(t.url(f"/users/{user['id']}"), headers=t.headers(), json={"role": "viewer", "agency_id": None})
    assert r.status_code == 200 and r.json()["role"] == "viewer"
    r = await client.patch(t.url(f"/users/{user['id']}"), headers=t.headers(), json={"active": False})
    assert r.status_code == 200 and r.json()["active"] is False
    assert (await login(client, "thu.ky@so-tu-phap.test", "mat-khau-dai")).status_code == 401


async def test_user_rules(client: Any, make_tenant: Any) -> None:
    t = await make_tenant()
    r = await client.post(t.url("/users"), headers=t.headers(), json={
        "email": "a@b.test", "full_name": "A", "role": "agency_officer", "password": "long-enough"})
    assert r.status_code == 400 and r.json()["field"] == "agency_id"
    r = await client.post(t.url("/users"), headers=t.headers(), json={
        "email": "a@b.test", "full_name": "A", "role": "platform_admin", "password": "long-enough"})
    assert r.status_code == 400 and r.json()["field"] == "role"
    r = await client.post(t.url("/users"), headers=t.headers(), json={
        "email": "a@b.test", "full_name": "A", "role": "viewer", "password": "short"})
    assert r.status_code == 400 and r.json()["field"] == "password"
    me = t.users["tenant_admin"]
    r = await client.patch(t.url(f"/users/{me}"), headers=t.headers(), json={"active": False})
    assert r.status_code == 409
    for role in ("inspector", "viewer", "agency_officer"):
        assert (await client.get(t.url("/users"), headers=t.headers(role))).status_code == 403


async def test_deactivated_user_token_stops_working(client: Any, make_tenant: Any) -> None:
    t = await make_tenant()
    assert (await client.get("/api/v1/me", headers=t.headers("viewer"))).status_code == 200
    await client.patch(t.url(f"/users/{t.users['viewer']}"), headers=t.headers(), json={"active": False})
    assert (await client.get("/api/v1/me", headers=t.headers("viewer"))).status_code == 401


async def test_tenants_create_list_suspend(client: Any, make_tenant: Any, platform_users: Any) -> None:
    admin = platform_users["platform_admin"]
    code = f"tinh-{__import__('uuid').uuid4().hex[:6]}"
    r = await client.post("/api/v1/tenants", headers=admin, json={"code": code, "name": "Tỉnh Mới", "modules": ["example"]})
    assert r.status_code == 201 and r.json()["modules"] == ["example"]
    assert (await client.post("/api/v1/tenants", headers=admin, json={"code": code, "name": "X"})).status_code == 409
    r = await client.post("/api/v1/tenants", headers=admin, json={"code": "Bad Code!", "name": "X"})
    assert r.status_code == 400 and r.json()["field"] == "code"
    r = await client.post("/api/v1/tenants", headers=admin, json={"code": "tinh-x", "name": "X", "modules": ["nope"]})
    assert r.status_code == 404
    codes = {t["code"] for t in (await client.get("/api/v1/tenants", headers=admin)).json()["items"]}
    assert code in codes
    t = await make_tenant()
    mine = (await client.get("/api/v1/tenants", headers=t.headers())).json()
    assert [x["code"] for x in mine["items"]] == [t.code]
    assert (await client.post("/api/v1/tenants", headers=t.headers(), json={"code": "nope", "name": "X"})).status_code == 403
    assert (await client.patch(t.url(""), headers=t.headers(), json={"status": "suspended"})).status_code == 403
    r = await client.patch(t.url(""), headers=admin, json={"status": "suspended"})
    assert r.status_code == 200 and r.json()["status"] == "suspended"
    assert (await client.get("/api/v1/me", headers=t.headers())).status_code == 401
    assert (await login(client, t.emails["viewer"], "password-123")).status_code == 403
    await client.patch(t.url(""), headers=admin, json={"status": "active"})
    assert (await client.get("/api/v1/me", headers=t.headers())).status_code == 200


async def test_modules_on_off_keeps_data(client: Any, make_tenant: Any) -> None:
    t = await make_tenant()
    note = await client.post(t.url("/example/notes"), headers=t.headers(),
                             json={"agency_id": str(t.agencies["D1"]), "title": "Giữ lại"})
    assert note.status_code == 201
    r = await client.put(t.url("/modules/example"), headers=t.headers(), json={"enabled": False})
    assert r.status_code == 200 and r.json()["enabled"] is False
    r = await client.get(t.url("/example/notes"), headers=t.headers())
    assert r.status_code == 404 and "'example'" in r.json()["detail"]
    modules = (await client.get(t.url("/modules"), headers=t.headers("viewer"))).json()
    assert {m["name"]: m["enabled"] for m in modules}["example"] is False
    assert (await client.put(t.url("/modules/example"), headers=t.headers("viewer"), json={"enabled": True})).status_code == 403
    assert (await client.put(t.url("/modules/nope"), headers=t.headers(), json={"enabled": True})).status_code == 404
    await client.put(t.url("/modules/example"), headers=t.headers(), json={"enabled": True})
    listed = (await client.get(t.url("/example/notes"), headers=t.headers())).json()
    assert [n["title"] for n in listed["items"]] == ["Giữ lại"]


async def test_platform_users_follow_the_rules_of_api_users(app: Any) -> None:
    """`isogov create-user` without --tenant makes the most powerful accounts: the same email, name and password
    rules as users created through the API (a one-letter password is refused), with the field named."""
    from core.errors import BadRequest
    from core.users.services import create_platform_user

    uid = __import__("uuid").uuid4().hex[:8]
    for email, full_name, password, field in [
        ("not-an-email", "Ops", "long-enough-1", "email"),
        (f"ops-{uid}@platform.test", "Ops", "x", "password"),
        (f"ops-{uid}@platform.test", "", "long-enough-1", "full_name"),
    ]:
        with pytest.raises(BadRequest) as caught:
            await create_platform_user(email, full_name, "platform_admin", password)
        assert caught.value.field == field
    with unscoped():
        assert not await User.exists().where(User.email.like(f"%{uid}%"))


async def test_a_verified_token_is_remembered_only_as_itself(client: Any, make_tenant: Any) -> None:
    """The process remembers tokens whose signature it checked; a token differing in any byte is checked again."""
    import base64
    import json as jsonlib

    t = await make_tenant()
    token = t.tokens["viewer"]
    for _ in range(2):
        assert (await client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})).status_code == 200
    head, payload, signature = token.split(".")
    claims = jsonlib.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["sub"] = str(t.users["tenant_admin"])  # another user, the signature of the viewer's token kept
    forged = base64.urlsafe_b64encode(jsonlib.dumps(claims).encode()).rstrip(b"=").decode()
    tampered = signature[:-2] + ("A" if signature[-2] != "A" else "B") + signature[-1]
    for bad in (f"{head}.{forged}.{signature}", f"{head}.{payload}.{tampered}"):
        assert (await client.get("/api/v1/me", headers={"Authorization": f"Bearer {bad}"})).status_code == 401
