"""The only place that opens a connection to the queue (arq on Redis). Everything arq stays inside `workers/`."""

from __future__ import annotations

import socket

from arq.connections import ArqRedis, RedisSettings, create_pool

from core.redis_url import is_sentinel, parse_sentinel
from core.settings import ConfigurationError
from workers.config import WorkerConfig


def redis_settings(config: WorkerConfig) -> RedisSettings:
    if not config.redis_url:
        raise ConfigurationError("REDIS_URL is not set: the worker, the scheduler and the relay need the queue "
                                 "(`isogov dev` starts an embedded Redis and sets it)")
    if is_sentinel(config.redis_url):
        target = parse_sentinel(config.redis_url)
        return RedisSettings(host=list(target.sentinels), sentinel=True, sentinel_master=target.master,
                             database=target.db, username=target.username, password=target.password, ssl=target.ssl)
    return RedisSettings.from_dsn(config.redis_url)


async def connect(config: WorkerConfig) -> ArqRedis:
    """A connection pool to the queue; arq's `enqueue_job` on it puts jobs on `config.queue` by default."""
    return await create_pool(redis_settings(config), default_queue_name=config.queue)


def health_check_key(queue: str) -> str:
    """Each host (a pod in Kubernetes) beats under its own key, so `--check` as a liveness probe tests that pod."""
    return f"{queue}:health-check:{socket.gethostname()}"
