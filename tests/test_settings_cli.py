"""Configuration from the environment, and the operators' CLI."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from core.settings import ConfigurationError, load_settings


def test_production_without_a_secret_key_stops_with_a_clear_message(monkeypatch: Any, tmp_path: Path) -> None:
    monkeypatch.setenv("ISOGOV_ENV", "production")
    monkeypatch.delenv("ISOGOV_SECRET_KEY", raising=False)
    monkeypatch.setenv("DATABASE_URL", "postgres://postgres@127.0.0.1/x")
    with pytest.raises(ConfigurationError, match="ISOGOV_SECRET_KEY is not set"):
        load_settings()
    monkeypatch.setenv("ISOGOV_SECRET_KEY", "short")
    with pytest.raises(ConfigurationError, match="at least 32"):
        load_settings()
    monkeypatch.setenv("ISOGOV_SECRET_KEY", "k" * 40)
    monkeypatch.delenv("DATABASE_URL")
    with pytest.raises(ConfigurationError, match="DATABASE_URL"):
        load_settings()


def test_embedded_default_generates_and_keeps_a_secret(monkeypatch: Any, tmp_path: Path) -> None:
    monkeypatch.setenv("ISOGOV_ENV", "embedded")
    monkeypatch.delenv("ISOGOV_SECRET_KEY")
    monkeypatch.delenv("DATABASE_URL")
    monkeypatch.setenv("ISOGOV_VAR_DIR", str(tmp_path))
    first = load_settings()
    assert len(first.secret_key) >= 32 and (tmp_path / "secret_key").exists()
    assert oct((tmp_path / "secret_key").stat().st_mode & 0o777) == "0o600"
    assert load_settings().secret_key == first.secret_key
    assert first.database_url == f"sqlite:///{tmp_path / 'isogov.sqlite3'}"


@pytest.mark.parametrize("name,value,message", [
    ("ISOGOV_ENV", "staging", "ISOGOV_ENV"),
    ("ISOGOV_TOKEN_TTL_SECONDS", "soon", "whole number"),
    ("DATABASE_URL", "mysql://x", "DATABASE_URL"),
])
def test_bad_settings_are_named(monkeypatch: Any, name: str, value: str, message: str) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigurationError, match=message):
        load_settings()


def cli(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "core.cli", *args], capture_output=True, text=True, timeout=120,
                          env={**os.environ, **env})


def test_cli_operates_tenants_modules_and_users(make_tenant: Any) -> None:
    code = f"cli-{os.getpid()}"
    r = cli("create-tenant", code, "Tỉnh Dòng Lệnh", "--module", "example")
    assert r.returncode == 0 and f"tenant {code} created" in r.stdout, r.stderr
    r = cli("create-tenant", code, "Again")
    assert r.returncode == 1 and "already exists" in r.stderr
    r = cli("create-tenant", "Bad Code", "X")
    assert r.returncode == 1 and "invalid tenant" in r.stderr
    r = cli("module", "disable", code, "example")
    assert r.returncode == 0 and "disabled" in r.stdout
    r = cli("module", "enable", code, "nope")
    assert r.returncode == 1 and "no module named 'nope'" in r.stderr
    r = cli("create-user", f"admin@{code}.test", "--role", "tenant_admin", "--full-name", "Quản trị", "--tenant", code,
            ISOGOV_NEW_USER_PASSWORD="mat-khau-cli-1")
    assert r.returncode == 0, r.stderr
    r = cli("create-user", f"o@{code}.test", "--role", "agency_officer", "--full-name", "O", "--tenant", code,
            "--agency", "NOPE", ISOGOV_NEW_USER_PASSWORD="mat-khau-cli-1")
    assert r.returncode == 1 and "no agency" in r.stderr
    r = cli("create-user", f"ops-{os.getpid()}@platform.test", "--role", "platform_admin", "--full-name", "Ops",
            ISOGOV_NEW_USER_PASSWORD="mat-khau-cli-1")
    assert r.returncode == 0, r.stderr
    r = cli("migrate")
    assert r.returncode == 0 and "up to date" in r.stdout


def test_cli_reports_configuration_errors() -> None:
    r = cli("migrate", ISOGOV_ENV="production", ISOGOV_SECRET_KEY="")
    assert r.returncode == 1 and "ISOGOV_SECRET_KEY" in r.stderr and "Traceback" not in r.stderr


async def test_cli_finds_the_agency_code_in_any_case(make_tenant: Any) -> None:
    t = await make_tenant()
    r = cli("create-user", f"officer2@{t.code}.test", "--role", "agency_officer", "--full-name", "Cán bộ", "--tenant",
            t.code, "--agency", "d1u", ISOGOV_NEW_USER_PASSWORD="mat-khau-cli-1")
    assert r.returncode == 0, r.stderr
    from core.users.tables import User

    ctx = await t.ctx()
    row = await ctx.scope(User).select(User.agency_id).where(User.email == f"officer2@{t.code}.test").first()
    assert row["agency_id"] == t.agencies["D1U"]


def test_cli_logs_at_the_configured_level() -> None:
    """Issue 17: `isogov dev` printed thousands of `[debug] audit` lines while seeding at level INFO."""
    code = f"cli-log-{os.getpid()}"
    r = cli("create-tenant", code, "Tỉnh Nhật Ký", "--module", "example", ISOGOV_LOG_LEVEL="INFO",
            ISOGOV_LOG_JSON="0")
    assert r.returncode == 0, r.stderr
    assert "debug" not in (r.stdout + r.stderr).lower(), (r.stdout + r.stderr)[:500]
