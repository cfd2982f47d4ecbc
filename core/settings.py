"""All configuration comes from environment variables, read once. Defaults are the embedded install.

| variable | default | meaning |
|---|---|---|
| ISOGOV_ENV | embedded | `embedded` (dev, demo, one machine) or `production` |
| ISOGOV_VAR_DIR | ./var | where the embedded install keeps its database, secret, files and Redis |
| DATABASE_URL | sqlite:///<var>/isogov.sqlite3 | `sqlite:///path` or `postgres://user:pass@host:port/db` |
| REDIS_URL | (embedded: started by `isogov dev`) | `redis://host:port/db`; empty means no Redis (ready skips it) |
| ISOGOV_SECRET_KEY | (embedded: generated under var/) | token signing key; required in production |
| ISOGOV_TOKEN_TTL_SECONDS | 3600 | lifetime of an access token |
| ISOGOV_MAX_BODY_BYTES | 1048576 | largest JSON body accepted (uploads set their own limits) |
| ISOGOV_LOGIN_MAX_FAILURES | 5 | failed logins per (account, address) in the window before 429; past it the account
  as a whole waits a growing delay between attempts |
| ISOGOV_LOGIN_DELAY_MAX_SECONDS | 30 | the longest delay an account waits between attempts |
| ISOGOV_TRUSTED_PROXIES | (none) | comma-separated addresses or networks of reverse proxies whose X-Forwarded-For is
  honoured |
| ISOGOV_LOGIN_MAX_FAILURES_PER_ADDRESS | 20 | failed logins per client address in the window before 429 |
| ISOGOV_LOGIN_WINDOW_SECONDS | 900 | the rate-limit window |
| ISOGOV_PLUGINS | (all installed) | comma-separated allow-list of plugin names |
| ISOGOV_EXTRA_PLUGINS | (none) | comma-separated module paths of extra plugins to register |
| ISOGOV_LOG_LEVEL | INFO | log level |
| ISOGOV_LOG_JSON | 1 in production | JSON log lines |
| ISOGOV_PASSWORD_HASH | strong | `fast` lowers argon2 cost (tests only) |
| ISOGOV_HOST / ISOGOV_PORT | 127.0.0.1 / 8000 | where `isogov api` and `isogov dev` listen |
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path


class ConfigurationError(RuntimeError):
    """Raised when the environment does not describe a runnable install; the message says what to set."""


def _csv(value: str | None) -> tuple[str, ...] | None:
    if value is None or not value.strip():
        return None
    return tuple(part.strip() for part in value.split(",") if part.strip())


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ConfigurationError(f"{name} must be a whole number, got {raw!r}") from exc


def _proxies(value: str | None) -> tuple[str, ...]:
    import ipaddress

    found = []
    for part in _csv(value) or ():
        try:
            found.append(str(ipaddress.ip_network(part, strict=False)))
        except ValueError as exc:
            raise ConfigurationError(f"ISOGOV_TRUSTED_PROXIES: {part!r} is not an address or network") from exc
    return tuple(found)


@dataclass(frozen=True)
class Settings:
    env: str
    var_dir: Path
    database_url: str
    redis_url: str | None
    secret_key: str
    token_ttl_seconds: int
    max_body_bytes: int
    login_max_failures: int
    login_max_failures_per_address: int
    login_window_seconds: int
    login_delay_max_seconds: int
    trusted_proxies: tuple[str, ...]
    plugins_allow: tuple[str, ...] | None
    extra_plugins: tuple[str, ...]
    log_level: str
    log_json: bool
    password_hash: str
    host: str
    port: int

    @property
    def is_production(self) -> bool:
        return self.env == "production"

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


def _secret_key(env: str, var_dir: Path) -> str:
    key = os.environ.get("ISOGOV_SECRET_KEY", "")
    if key:
        if len(key) < 32:
            raise ConfigurationError("ISOGOV_SECRET_KEY must be at least 32 characters long")
        return key
    if env == "production":
        raise ConfigurationError(
            "ISOGOV_SECRET_KEY is not set. A production start needs a token signing key of at least "
            "32 characters, e.g. `python -c 'import secrets; print(secrets.token_urlsafe(48))'`."
        )
    path = var_dir / "secret_key"
    if path.exists():
        return path.read_text(encoding="utf-8").strip()
    var_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    path.write_text(key + "\n", encoding="utf-8")
    path.chmod(0o600)
    return key


def load_settings() -> Settings:
    env = os.environ.get("ISOGOV_ENV", "embedded").strip().lower()
    if env not in {"embedded", "production"}:
        raise ConfigurationError(f"ISOGOV_ENV must be 'embedded' or 'production', got {env!r}")
    var_dir = Path(os.environ.get("ISOGOV_VAR_DIR", "var")).resolve()
    database_url = os.environ.get("DATABASE_URL", "").strip()
    if not database_url:
        if env == "production":
            raise ConfigurationError("DATABASE_URL is not set; production needs postgres://user:pass@host/db")
        database_url = f"sqlite:///{var_dir / 'isogov.sqlite3'}"
    if not database_url.startswith(("sqlite:///", "postgres://", "postgresql://")):
        raise ConfigurationError("DATABASE_URL must start with sqlite:/// or postgres://")
    redis_url = os.environ.get("REDIS_URL", "").strip() or None
    log_json_raw = os.environ.get("ISOGOV_LOG_JSON")
    return Settings(
        env=env,
        var_dir=var_dir,
        database_url=database_url,
        redis_url=redis_url,
        secret_key=_secret_key(env, var_dir),
        token_ttl_seconds=_int("ISOGOV_TOKEN_TTL_SECONDS", 3600),
        max_body_bytes=_int("ISOGOV_MAX_BODY_BYTES", 1024 * 1024),
        login_max_failures=_int("ISOGOV_LOGIN_MAX_FAILURES", 5),
        login_max_failures_per_address=_int("ISOGOV_LOGIN_MAX_FAILURES_PER_ADDRESS", 20),
        login_window_seconds=_int("ISOGOV_LOGIN_WINDOW_SECONDS", 900),
        login_delay_max_seconds=_int("ISOGOV_LOGIN_DELAY_MAX_SECONDS", 30),
        trusted_proxies=_proxies(os.environ.get("ISOGOV_TRUSTED_PROXIES")),
        plugins_allow=_csv(os.environ.get("ISOGOV_PLUGINS")),
        extra_plugins=_csv(os.environ.get("ISOGOV_EXTRA_PLUGINS")) or (),
        log_level=os.environ.get("ISOGOV_LOG_LEVEL", "INFO").upper(),
        log_json=(log_json_raw == "1") if log_json_raw is not None else env == "production",
        password_hash=os.environ.get("ISOGOV_PASSWORD_HASH", "strong"),
        host=os.environ.get("ISOGOV_HOST", "127.0.0.1"),
        port=_int("ISOGOV_PORT", 8000),
    )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()


def reset_settings() -> None:
    """Forget the cached settings (tests change the environment)."""
    get_settings.cache_clear()
