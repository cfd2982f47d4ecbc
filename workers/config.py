"""Configuration of the background side, read from the environment once. Defaults suit the embedded install.

| variable | default | meaning |
|---|---|---|
| REDIS_URL | (embedded: started by `isogov dev`) | `redis://host:port/db` of the queue; the worker needs it |
| ISOGOV_QUEUE | isogov | arq queue name; the scheduler uses `<queue>:scheduler` for its own cron jobs |
| ISOGOV_SMTP_HOST | (none: mail is written to the log) | SMTP server for email notifications |
| ISOGOV_SMTP_PORT | 587 | SMTP port (465 means implicit TLS) |
| ISOGOV_SMTP_USER / ISOGOV_SMTP_PASSWORD | (none) | SMTP login, when the server needs one |
| ISOGOV_SMTP_FROM | isogov@localhost | sender address of every mail |
| ISOGOV_SMTP_STARTTLS | (auto: when the server offers it) | `1` to require STARTTLS, `0` to never use it |
| ISOGOV_PUBLIC_URL | (none) | base URL put in front of links in mails, e.g. `https://iso.example.gov.vn` |
| ISOGOV_TIMEZONE | Asia/Ho_Chi_Minh | the day of reminders and the hour of the cron jobs are in this zone |
| ISOGOV_REMINDER_HOUR | 7 | hour (0-23) of the daily reminder scan; the digest goes out 30 minutes later |
| ISOGOV_DELIVERY_MAX_ATTEMPTS | 5 | attempts of one delivery before it is marked failed (tenant admins see it) |
| ISOGOV_DELIVERY_BACKOFF_SECONDS | 30 | first retry delay; doubles each attempt, capped at 1 hour |
| ISOGOV_JOB_TIMEOUT | 60 | longest run of one job in seconds; a job of a killed worker is run again this + 10 s later |
| ISOGOV_WORKER_MAX_JOBS | 20 | jobs one worker runs at a time |
| ISOGOV_WORKER_POLL_DELAY | 0.05 | seconds between two looks at the queue |
| ISOGOV_RELAY_INTERVAL | 0.5 | seconds between two looks at the outbox when it was empty |
| ISOGOV_SCAN_AT_START | (unset) | `1`: the scheduler scans reminders at start-up whatever the hour (`isogov dev` sets it) |
| ISOGOV_REDELIVER_AFTER | 600 | a delivery still pending this many seconds after it was due is queued again (lost Redis) |
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from datetime import timedelta, timezone, tzinfo
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from core.settings import ConfigurationError, get_settings


def _int(name: str, default: int, low: int | None = None, high: int | None = None) -> int:
    raw = os.environ.get(name, "").strip()
    try:
        value = int(raw) if raw else default
    except ValueError as exc:
        raise ConfigurationError(f"{name} must be a whole number, got {raw!r}") from exc
    if (low is not None and value < low) or (high is not None and value > high):
        raise ConfigurationError(f"{name} must be between {low} and {high}, got {value}")
    return value


def _float(name: str, default: float) -> float:
    raw = os.environ.get(name, "").strip()
    try:
        value = float(raw) if raw else default
    except ValueError as exc:
        raise ConfigurationError(f"{name} must be a number, got {raw!r}") from exc
    if value < 0:
        raise ConfigurationError(f"{name} must not be negative, got {value}")
    return value


def _tristate(name: str) -> bool | None:
    raw = os.environ.get(name, "").strip().lower()
    if not raw:
        return None
    if raw in {"1", "true", "yes", "on"}:
        return True
    if raw in {"0", "false", "no", "off"}:
        return False
    raise ConfigurationError(f"{name} must be 1 or 0, got {raw!r}")


def _zone(name: str) -> tzinfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        if name == "Asia/Ho_Chi_Minh":  # a slim image without tzdata: Vietnam has kept UTC+7 since 1975
            return timezone(timedelta(hours=7), "ICT")
        raise ConfigurationError(f"ISOGOV_TIMEZONE {name!r} is not a known time zone") from exc


@dataclass(frozen=True)
class WorkerConfig:
    redis_url: str | None
    queue: str
    smtp_host: str | None
    smtp_port: int
    smtp_user: str | None
    smtp_password: str | None
    smtp_from: str
    smtp_starttls: bool | None
    public_url: str
    timezone: Any
    reminder_hour: int
    max_attempts: int
    backoff_seconds: float
    job_timeout: int
    max_jobs: int
    poll_delay: float
    relay_interval: float
    redeliver_after: float
    scan_at_start: bool = False

    @property
    def scheduler_queue(self) -> str:
        return f"{self.queue}:scheduler"

    def with_(self, **changes: Any) -> "WorkerConfig":
        return replace(self, **changes)

    def backoff(self, attempt: int) -> float:
        """Delay before the next try after `attempt` failed ones: base, 2 x base, 4 x base, ... at most 1 hour."""
        return min(self.backoff_seconds * (2 ** max(0, attempt - 1)), 3600.0)


def load_worker_config() -> WorkerConfig:
    return WorkerConfig(
        redis_url=get_settings().redis_url,
        queue=os.environ.get("ISOGOV_QUEUE", "").strip() or "isogov",
        smtp_host=os.environ.get("ISOGOV_SMTP_HOST", "").strip() or None,
        smtp_port=_int("ISOGOV_SMTP_PORT", 587, 1, 65535),
        smtp_user=os.environ.get("ISOGOV_SMTP_USER", "").strip() or None,
        smtp_password=os.environ.get("ISOGOV_SMTP_PASSWORD") or None,
        smtp_from=os.environ.get("ISOGOV_SMTP_FROM", "").strip() or "isogov@localhost",
        smtp_starttls=_tristate("ISOGOV_SMTP_STARTTLS"),
        public_url=os.environ.get("ISOGOV_PUBLIC_URL", "").strip().rstrip("/"),
        timezone=_zone(os.environ.get("ISOGOV_TIMEZONE", "").strip() or "Asia/Ho_Chi_Minh"),
        reminder_hour=_int("ISOGOV_REMINDER_HOUR", 7, 0, 23),
        max_attempts=_int("ISOGOV_DELIVERY_MAX_ATTEMPTS", 5, 1, 100),
        backoff_seconds=_float("ISOGOV_DELIVERY_BACKOFF_SECONDS", 30.0),
        job_timeout=_int("ISOGOV_JOB_TIMEOUT", 60, 1, 86400),
        max_jobs=_int("ISOGOV_WORKER_MAX_JOBS", 20, 1, 10000),
        poll_delay=_float("ISOGOV_WORKER_POLL_DELAY", 0.05),
        relay_interval=_float("ISOGOV_RELAY_INTERVAL", 0.5),
        redeliver_after=_float("ISOGOV_REDELIVER_AFTER", 600.0),
        scan_at_start=os.environ.get("ISOGOV_SCAN_AT_START", "") == "1",
    )


@lru_cache(maxsize=1)
def get_worker_config() -> WorkerConfig:
    return load_worker_config()
