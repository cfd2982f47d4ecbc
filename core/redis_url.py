"""The forms of `REDIS_URL`, and the one way core opens a Redis client from it (`open_redis`) (workers build arq's settings from
`parse`). Two forms:

    redis://[[user]:password@]host:6379/0      (rediss:// for TLS) one Redis, or a proxy that follows the master
    redis+sentinel://[[user]:password@]sentinel-1:26379,sentinel-2:26379/<master name>/0
                                               Redis with Sentinel: the client asks the sentinels for the current
                                               master (the password is the master's; sentinels without one)
"""

from __future__ import annotations

from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, AsyncIterator
from urllib.parse import unquote

from core.settings import ConfigurationError

SENTINEL_SCHEMES = ("redis+sentinel", "rediss+sentinel")


@dataclass(frozen=True)
class SentinelTarget:
    sentinels: tuple[tuple[str, int], ...]
    master: str
    db: int
    username: str | None
    password: str | None
    ssl: bool


def is_sentinel(url: str) -> bool:
    return url.split("://", 1)[0] in SENTINEL_SCHEMES


def parse_sentinel(url: str) -> SentinelTarget:
    """The parts of a `redis+sentinel://` URL; a clear ConfigurationError naming REDIS_URL when it is malformed."""
    scheme, _, rest = url.partition("://")
    if scheme not in SENTINEL_SCHEMES:
        raise ConfigurationError(f"REDIS_URL: not a Sentinel URL (want {SENTINEL_SCHEMES[0]}://...)")
    netloc, _, path = rest.partition("/")
    userinfo, _, hosts = netloc.rpartition("@")
    username, _, password = userinfo.partition(":") if userinfo else ("", "", "")
    sentinels = []
    for item in hosts.split(","):
        host, _, port = item.strip().rpartition(":")
        if not host or not port.isdigit():
            raise ConfigurationError(f"REDIS_URL: each sentinel must be host:port, got {item.strip()!r}")
        sentinels.append((host, int(port)))
    parts = [p for p in path.split("?", 1)[0].split("/") if p]
    if not parts or len(parts) > 2 or (len(parts) == 2 and not parts[1].isdigit()):
        raise ConfigurationError("REDIS_URL: a Sentinel URL ends with /<master name>[/<db>], "
                                 "e.g. redis+sentinel://sentinel:26379/mymaster/0")
    return SentinelTarget(sentinels=tuple(sentinels), master=unquote(parts[0]), db=int(parts[1]) if len(parts) == 2 else 0,
                          username=unquote(username) or None, password=unquote(password) or None,
                          ssl=scheme.startswith("rediss"))


@asynccontextmanager
async def open_redis(url: str, **options: Any) -> AsyncIterator[Any]:
    """A `redis.asyncio.Redis` for `url` (either form), closed (with its sentinel connections) on exit; `options` are
    connection options such as timeouts."""
    from redis.asyncio import Redis

    if not is_sentinel(url):
        client = Redis.from_url(url, **options)
        try:
            yield client
        finally:
            await client.aclose()
        return
    from redis.asyncio.sentinel import Sentinel

    target = parse_sentinel(url)
    sentinel = Sentinel(list(target.sentinels), **{k: v for k, v in options.items() if k.startswith("socket_")})
    client = sentinel.master_for(target.master, db=target.db, username=target.username, password=target.password,
                                 ssl=target.ssl, **options)
    try:
        yield client
    finally:
        await client.aclose()
        for connection in sentinel.sentinels:
            await connection.aclose()
