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
| ISOGOV_REDELIVER_AFTER | 600 | a delivery still pending this many seconds after it was due is queued again (lost Redis) |
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import timedelta, timezone, tzinfo
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from core.settings import ConfigurationError, env_flag, env_float, env_int, env_str, get_settings


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
        queue=env_str("ISOGOV_QUEUE", "isogov"),
        smtp_host=env_str("ISOGOV_SMTP_HOST", None),
        smtp_port=env_int("ISOGOV_SMTP_PORT", 587, 1, 65535),
        smtp_user=env_str("ISOGOV_SMTP_USER", None),
        smtp_password=env_str("ISOGOV_SMTP_PASSWORD"),
        smtp_from=env_str("ISOGOV_SMTP_FROM", "isogov@localhost"),
        smtp_starttls=env_flag("ISOGOV_SMTP_STARTTLS", None),
        public_url=(env_str("ISOGOV_PUBLIC_URL") or "").rstrip("/"),
        timezone=_zone(env_str("ISOGOV_TIMEZONE", "Asia/Ho_Chi_Minh")),
        reminder_hour=env_int("ISOGOV_REMINDER_HOUR", 7, 0, 23),
        max_attempts=env_int("ISOGOV_DELIVERY_MAX_ATTEMPTS", 5, 1, 100),
        backoff_seconds=env_float("ISOGOV_DELIVERY_BACKOFF_SECONDS", 30.0),
        job_timeout=env_int("ISOGOV_JOB_TIMEOUT", 60, 1, 86400),
        max_jobs=env_int("ISOGOV_WORKER_MAX_JOBS", 20, 1, 10000),
        poll_delay=env_float("ISOGOV_WORKER_POLL_DELAY", 0.05),
        relay_interval=env_float("ISOGOV_RELAY_INTERVAL", 0.5),
        redeliver_after=env_float("ISOGOV_REDELIVER_AFTER", 600.0),
    )


@lru_cache(maxsize=1)
def get_worker_config() -> WorkerConfig:
    return load_worker_config()
