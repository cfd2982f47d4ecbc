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


# The one reader of environment settings, for core, workers and plugins: a bad value stops start-up with a
# ConfigurationError naming the variable.

def env_str(name: str, default: str | None = None) -> str | None:
    """The variable stripped of spaces; `default` when unset or empty."""
    return os.environ.get(name, "").strip() or default


def env_csv(name: str) -> tuple[str, ...] | None:
    """A comma-separated list; None when unset or empty."""
    raw = env_str(name)
    if raw is None:
        return None
    return tuple(part.strip() for part in raw.split(",") if part.strip())


def env_int(name: str, default: int, low: int | None = None, high: int | None = None) -> int:
    raw = env_str(name)
    try:
        value = int(raw) if raw is not None else default
    except ValueError as exc:
        raise ConfigurationError(f"{name} must be a whole number, got {raw!r}") from exc
    if (low is not None and value < low) or (high is not None and value > high):
        raise ConfigurationError(f"{name} must be between {low} and {high}, got {value}")
    return value


def env_float(name: str, default: float, low: float = 0.0) -> float:
    raw = env_str(name)
    try:
        value = float(raw) if raw is not None else default
    except ValueError as exc:
        raise ConfigurationError(f"{name} must be a number, got {raw!r}") from exc
    if value < low:
        raise ConfigurationError(f"{name} must not be less than {low}, got {value}")
    return value


def env_flag(name: str, default: bool | None) -> bool | None:
    """1/true/yes/on or 0/false/no/off; `default` (which may be None: "not said") when unset."""
    raw = (env_str(name) or "").lower()
    if not raw:
        return default
    if raw in {"1", "true", "yes", "on"}:
        return True
    if raw in {"0", "false", "no", "off"}:
        return False
    raise ConfigurationError(f"{name} must be 1 or 0, got {raw!r}")


def _proxies(name: str) -> tuple[str, ...]:
    import ipaddress

    found = []
    for part in env_csv(name) or ():
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
    env = (env_str("ISOGOV_ENV") or "embedded").lower()
    if env not in {"embedded", "production"}:
        raise ConfigurationError(f"ISOGOV_ENV must be 'embedded' or 'production', got {env!r}")
    var_dir = Path(env_str("ISOGOV_VAR_DIR", "var")).resolve()
    database_url = env_str("DATABASE_URL", "")
    if not database_url:
        if env == "production":
            raise ConfigurationError("DATABASE_URL is not set; production needs postgres://user:pass@host/db")
        database_url = f"sqlite:///{var_dir / 'isogov.sqlite3'}"
    if not database_url.startswith(("sqlite:///", "postgres://", "postgresql://")):
        raise ConfigurationError("DATABASE_URL must start with sqlite:/// or postgres://")
    redis_url = env_str("REDIS_URL")
    return Settings(
        env=env,
        var_dir=var_dir,
        database_url=database_url,
        redis_url=redis_url,
        secret_key=_secret_key(env, var_dir),
        token_ttl_seconds=env_int("ISOGOV_TOKEN_TTL_SECONDS", 3600),
        max_body_bytes=env_int("ISOGOV_MAX_BODY_BYTES", 1024 * 1024),
        login_max_failures=env_int("ISOGOV_LOGIN_MAX_FAILURES", 5),
        login_max_failures_per_address=env_int("ISOGOV_LOGIN_MAX_FAILURES_PER_ADDRESS", 20),
        login_window_seconds=env_int("ISOGOV_LOGIN_WINDOW_SECONDS", 900),
        login_delay_max_seconds=env_int("ISOGOV_LOGIN_DELAY_MAX_SECONDS", 30),
        trusted_proxies=_proxies("ISOGOV_TRUSTED_PROXIES"),
        plugins_allow=env_csv("ISOGOV_PLUGINS"),
        extra_plugins=env_csv("ISOGOV_EXTRA_PLUGINS") or (),
        log_level=(env_str("ISOGOV_LOG_LEVEL") or "INFO").upper(),
        log_json=bool(env_flag("ISOGOV_LOG_JSON", env == "production")),
        password_hash=env_str("ISOGOV_PASSWORD_HASH", "strong"),
        host=env_str("ISOGOV_HOST", "127.0.0.1"),
        port=env_int("ISOGOV_PORT", 8000),
    )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()


def reset_settings() -> None:
    """Forget the cached settings (tests change the environment)."""
    get_settings.cache_clear()
