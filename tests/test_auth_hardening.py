"""Sign-in and tokens as an attacker probes them (issue 17): tokens stop at a password change, only `Bearer`,
lockout without denial of service, X-Forwarded-For only from trusted proxies, argon2 off the event loop, no
account enumeration through user creation; self-service password change and the one-time reset link."""

from __future__ import annotations

import re
import threading
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from core.settings import get_settings
from core.tenancy import unscoped
from core.users.tables import LoginFailure


async def login(client: Any, email: str, password: str, address: str | None = None) -> Any:
    return await client.post("/api/v1/auth/login", json={"email": email, "password": password})


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_tokens_stop_when_an_admin_resets_the_password(client: Any, make_tenant: Any) -> None:
    t = await make_tenant()
    token = (await login(client, t.emails["viewer"], "password-123")).json()["access_token"]
    assert (await client.get("/api/v1/me", headers=bearer(token))).status_code == 200
    r = await client.patch(t.url(f"/users/{t.users['viewer']}"), headers=t.headers(), json={"password": "moi-mat-khau-1"})
    assert r.status_code == 200, r.text
    assert (await client.get("/api/v1/me", headers=bearer(token))).status_code == 401
    assert (await client.get("/api/v1/me", headers=t.headers("viewer"))).status_code == 401  # the fixture's too
    fresh = (await login(client, t.emails["viewer"], "moi-mat-khau-1")).json()["access_token"]
    assert (await client.get("/api/v1/me", headers=bearer(fresh))).status_code == 200


async def test_change_own_password(client: Any, make_tenant: Any) -> None:
    t = await make_tenant()
    old = (await login(client, t.emails["inspector"], "password-123")).json()["access_token"]
    r = await client.post("/api/v1/me/password", headers=bearer(old),
                          json={"old_password": "wrong-one", "new_password": "mat-khau-moi-2"})
    assert r.status_code == 400 and r.json()["field"] == "old_password", r.text
    r = await client.post("/api/v1/me/password", headers=bearer(old),
                          json={"old_password": "password-123", "new_password": "short"})
    assert r.status_code == 400 and r.json()["field"] == "new_password", r.text
    r = await client.post("/api/v1/me/password", json={"old_password": "password-123", "new_password": "x" * 9})
    assert r.status_code == 401
    r = await client.post("/api/v1/me/password", headers=bearer(old),
                          json={"old_password": "password-123", "new_password": "mat-khau-moi-2"})
    assert r.status_code == 200, r.text
    new = r.json()["access_token"]
    assert (await client.get("/api/v1/me", headers=bearer(old))).status_code == 401
    assert (await client.get("/api/v1/me", headers=bearer(new))).status_code == 200
    assert (await login(client, t.emails["inspector"], "password-123")).status_code == 401
    assert (await login(client, t.emails["inspector"], "mat-khau-moi-2")).status_code == 200
    audit = (await client.get(t.url(f"/audit-events?entity_id={t.users['inspector']}"), headers=t.headers())).json()
    assert "password_change" in {e["action"] for e in audit["items"]}
    assert "mat-khau-moi-2" not in str(audit)


async def _mailed_secret(monkeypatch: Any, user_id: Any) -> str:
    """Run the reset job as a worker would and read the link's secret out of the mail it sends."""
    from workers import password_reset
    from workers.config import get_worker_config

    sent: list[Any] = []

    async def capture(message: Any, config: Any) -> None:
        sent.append(message)

    monkeypatch.setattr(password_reset, "send_message", capture)
    assert await password_reset.send_password_reset({"config": get_worker_config()}, str(user_id)) is True
    body = sent[-1].get_content()
    return re.search(r"reset-password\?token=([A-Za-z0-9_\-]+)", body).group(1)


async def test_password_reset_by_one_time_link(client: Any, make_tenant: Any, monkeypatch: Any) -> None:
    from core.auth.passwords import RESET_JOB
    from core.notifications.tables import OutboxMessage
    from core.users.tables import PasswordReset

    t = await make_tenant()
    old = (await login(client, t.emails["viewer"], "password-123")).json()["access_token"]
    known = await client.post("/api/v1/auth/password-reset", json={"email": t.emails["viewer"].upper()})
    unknown = await client.post("/api/v1/auth/password-reset", json={"email": f"ghost-{uuid.uuid4().hex}@x.test"})
    assert known.status_code == unknown.status_code == 202 and known.json() == unknown.json()  # no enumeration
    with unscoped():
        queued = await OutboxMessage.select(OutboxMessage.payload).where(OutboxMessage.job_name == RESET_JOB)
    assert any(str(t.users["viewer"]) in str(q["payload"]) for q in queued)

    secret = await _mailed_secret(monkeypatch, t.users["viewer"])
    with unscoped():
        stored = await PasswordReset.select(PasswordReset.token_hash).where(PasswordReset.user_id == t.users["viewer"])
    assert stored and all(secret not in s["token_hash"] for s in stored)  # only the hash is kept
    r = await client.post("/api/v1/auth/password-reset/confirm", json={"token": "nope", "new_password": "mat-khau-3"})
    assert r.status_code == 400 and r.json()["field"] == "token"
    r = await client.post("/api/v1/auth/password-reset/confirm", json={"token": secret, "new_password": "mat-khau-3x"})
    assert r.status_code == 200, r.text
    assert (await client.get("/api/v1/me", headers=bearer(old))).status_code == 401
    assert (await login(client, t.emails["viewer"], "mat-khau-3x")).status_code == 200
    r = await client.post("/api/v1/auth/password-reset/confirm", json={"token": secret, "new_password": "mat-khau-4x"})
    assert r.status_code == 400, r.text  # single use

    expired = await _mailed_secret(monkeypatch, t.users["viewer"])
    await PasswordReset.update({PasswordReset.expires_at: datetime.now(timezone.utc) - timedelta(seconds=1)}).where(
        PasswordReset.user_id == t.users["viewer"])
    r = await client.post("/api/v1/auth/password-reset/confirm", json={"token": expired, "new_password": "mat-khau-5x"})
    assert r.status_code == 400, r.text

    first = await _mailed_secret(monkeypatch, t.users["viewer"])
    await _mailed_secret(monkeypatch, t.users["viewer"])  # a newer link voids the older one
    r = await client.post("/api/v1/auth/password-reset/confirm", json={"token": first, "new_password": "mat-khau-6x"})
    assert r.status_code == 400, r.text


async def test_password_reset_requests_are_rate_limited(client: Any, make_tenant: Any) -> None:
    from core.auth.passwords import RESET_JOB, RESETS_PER_ACCOUNT, RESETS_PER_ADDRESS
    from core.notifications.tables import OutboxMessage

    t = await make_tenant()
    await LoginFailure.delete().where(LoginFailure.key == "reset-address:127.0.0.1")  # earlier tests' requests
    with unscoped():
        before = await OutboxMessage.count().where(OutboxMessage.job_name == RESET_JOB)
    codes = []
    for _ in range(RESETS_PER_ADDRESS + 1):
        r = await client.post("/api/v1/auth/password-reset", json={"email": t.emails["tenant_admin"]})
        codes.append(r.status_code)
    assert codes[:RESETS_PER_ADDRESS] == [202] * RESETS_PER_ADDRESS and codes[-1] == 429
    with unscoped():
        after = await OutboxMessage.count().where(OutboxMessage.job_name == RESET_JOB)
    assert after - before == RESETS_PER_ACCOUNT  # the account is mailed at most this often per window
    await LoginFailure.delete().where(LoginFailure.key == "reset-address:127.0.0.1")


async def test_only_the_bearer_scheme_is_accepted(client: Any, make_tenant: Any) -> None:
    t = await make_tenant()
    token = t.tokens["viewer"]
    for header in (f"Basic {token}", f"Token {token}", token, f"Bearer{token}", "Bearer "):
        r = await client.get("/api/v1/me", headers={"Authorization": header})
        assert r.status_code == 401, header
    assert (await client.get("/api/v1/me", headers={"Authorization": f"bearer {token}"})).status_code == 200


async def test_failed_sign_ins_slow_the_account_but_do_not_lock_its_owner_out(client: Any, make_tenant: Any) -> None:
    """An attacker at one address fails five times: that address is refused for the account; the owner at another
    address gets in once the account's short delay has passed (no 15-minute lock)."""
    from core.auth import account_delay, authenticate
    from core.errors import TooManyRequests, Unauthorized

    settings = get_settings()
    t = await make_tenant()
    email = t.emails["viewer"]
    for _ in range(settings.login_max_failures):
        with pytest.raises(Unauthorized):
            await authenticate(email, "guess", "203.0.113.66", settings)
    with pytest.raises(TooManyRequests) as refused:  # the account waits its delay after the last failure
        await authenticate(email, "password-123", "198.51.100.7", settings)
    assert 1 <= int(refused.value.headers["Retry-After"]) <= settings.login_delay_max_seconds
    # the delay has passed (failures moved back in time instead of sleeping)
    past = datetime.now(timezone.utc) - timedelta(seconds=settings.login_delay_max_seconds + 1)
    await LoginFailure.update({LoginFailure.at: past}).where(LoginFailure.key.like(f"%{email}%"))
    with pytest.raises(TooManyRequests):  # the attacker's address stays refused for this account
        await authenticate(email, "password-123", "203.0.113.66", settings)
    assert await authenticate(email, "password-123", "198.51.100.7", settings) == t.users["viewer"]
    assert account_delay(settings.login_max_failures - 1, settings) == 0
    assert account_delay(settings.login_max_failures + 3, settings) == 8
    assert account_delay(10_000, settings) == settings.login_delay_max_seconds


async def test_x_forwarded_for_only_from_trusted_proxies(client: Any, make_tenant: Any, monkeypatch: Any) -> None:
    from dataclasses import replace

    from litestar.testing import RequestFactory

    from core.auth import client_address

    settings = get_settings()
    assert settings.trusted_proxies == ()  # the default trusts no proxy
    factory = RequestFactory(server="10.9.9.9")
    request = factory.get("/", headers={"X-Forwarded-For": "203.0.113.5"})
    request.scope["client"] = ("10.9.9.9", 4000)
    peer = request.client.host
    assert client_address(request, settings) == peer
    proxied = replace(settings, trusted_proxies=("10.0.0.0/8", f"{peer}/32"))
    assert client_address(request, proxied) == "203.0.113.5"
    spoofed = factory.get("/", headers={"X-Forwarded-For": "1.2.3.4, 203.0.113.9, 10.1.2.3"})
    spoofed.scope["client"] = ("10.9.9.9", 4000)
    assert client_address(spoofed, proxied) == "203.0.113.9"  # the nearest untrusted hop, not the client's claim
    # uvicorn must not rewrite the peer from the header itself
    import uvicorn

    from core import cli

    seen: dict[str, Any] = {}
    monkeypatch.setattr(uvicorn, "run", lambda *a, **kw: seen.update(kw))
    cli.serve("127.0.0.1", 8999)
    assert seen["proxy_headers"] is False


async def test_argon2_runs_off_the_event_loop(client: Any, make_tenant: Any, monkeypatch: Any) -> None:
    import core.auth as auth

    t = await make_tenant()
    threads: list[int] = []
    real = auth.verify_password

    def spy(password_hash: str, password: str) -> bool:
        threads.append(threading.get_ident())
        return real(password_hash, password)

    monkeypatch.setattr(auth, "verify_password", spy)
    assert (await login(client, t.emails["viewer"], "password-123")).status_code == 200
    assert threads and threading.get_ident() not in threads


async def test_creating_a_user_does_not_reveal_accounts_of_other_provinces(client: Any, make_tenant: Any,
                                                                           platform_users: Any) -> None:
    a, b = await make_tenant(), await make_tenant()
    body = {"full_name": "Người mới", "role": "viewer", "password": "password-123"}
    elsewhere = await client.post(a.url("/users"), headers=a.headers(), json={**body, "email": b.emails["viewer"]})
    here = await client.post(a.url("/users"), headers=a.headers(), json={**body, "email": a.emails["viewer"]})
    assert elsewhere.status_code == here.status_code == 409
    assert elsewhere.json()["detail"] == here.json()["detail"]
    assert b.emails["viewer"] not in elsewhere.text and b.code not in elsewhere.text
