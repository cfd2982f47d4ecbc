"""The outbox relay: committed outbox rows become arq jobs, under their deterministic job ids.

Safe to run in every worker at once and again and again: a row is marked relayed only after its job is queued,
and arq refuses a second job with an id that is still queued or running, so a row relayed twice (two relays,
or a relay killed before it marked the row) is one job; a job that runs twice anyway finds its delivery done.
On PostgreSQL concurrent relays also skip each other's rows (FOR UPDATE SKIP LOCKED).

In-app deliveries travel together: the relay turns up to `INBOX_JOB_SIZE` of one pass's in-app delivery rows into
one `core:deliver_in_app` job, whose id is made of its delivery ids (the same rows relayed again make the same
job, which arq refuses while it waits or runs). The inbox needs no job id to be exactly-once: each delivery is
written only while `pending`, and the inbox's unique key (notification, user) makes a second write a no-op, so
two jobs holding one delivery (two relays on SQLite reading the same rows, a sweep) still show it once. Email
and plugin jobs stay one job per row: an email sent twice cannot be taken back.

The sweep is the second line: Redis is a transport, the database the record. A delivery still pending long
after it was due (its job was lost with an unpersisted Redis, or expired after a day in a stopped queue) is
queued again under the same job id. Relayed outbox rows are deleted after a week.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
import weakref
from datetime import datetime, timedelta, timezone
from typing import Any

import msgspec
import structlog
from arq.connections import ArqRedis
from arq.constants import in_progress_key_prefix, job_key_prefix, result_key_prefix
from arq.jobs import serialize_job
from arq.utils import timestamp_ms

from core.db import is_sqlite
from core.notifications.services import deliver_job_id
from core.notifications.tables import NotificationDelivery, OutboxMessage
from core.tenancy import unscoped
from core.notifications.states import DELIVER_IN_APP_JOB, DELIVER_JOB, PENDING
from workers.config import WorkerConfig
from workers.db import write_transaction

log = structlog.get_logger("isogov.relay")

BATCH = 500
INBOX_JOB_SIZE = 100  # in-app deliveries per `core:deliver_in_app` job
SWEEP_EVERY_S = 60.0
OUTBOX_RETENTION = timedelta(days=7)


def _now() -> datetime:
    return datetime.now(timezone.utc)


# One round trip queues a whole batch, with arq's own job format and keys, and the same rules `enqueue_job` plus
# the outbox's add to it, atomically per job (Redis runs a script alone). For each job, KEYS are its job key,
# result key and in-progress key (after the queue, KEYS[1]); ARGV its id, its serialized job and "1" when a
# running run must make the row wait (a plugin job), after the score and the expiry in ms (ARGV[1], ARGV[2]).
# The answer per job: 1 queued now, 2 already queued (or running, for a delivery: nothing to add), 0 wait.
_ENQUEUE_LUA = """
local queue, score, px = KEYS[1], ARGV[1], ARGV[2]
local out = {}
for i = 1, (#KEYS - 1) / 3 do
  local job_key, result_key, running_key = KEYS[3 * i - 1], KEYS[3 * i], KEYS[3 * i + 1]
  if redis.call('EXISTS', job_key) == 1 then
    if ARGV[3 * i + 2] == '1' and redis.call('EXISTS', running_key) == 1 then out[i] = 0 else out[i] = 2 end
  else
    redis.call('DEL', result_key)
    redis.call('PSETEX', job_key, px, ARGV[3 * i + 1])
    redis.call('ZADD', queue, score, ARGV[3 * i])
    out[i] = 1
  end
end
return out
"""
_SCRIPTS: "weakref.WeakKeyDictionary[ArqRedis, Any]" = weakref.WeakKeyDictionary()
ENQUEUE_CHUNK = 500  # jobs per script call: a short script, a bounded request


async def _enqueue_all(redis: ArqRedis, queue: str, jobs: list[tuple[str, str, dict[str, Any]]]) -> list[bool]:
    """Queue (name, job id, kwargs) jobs under their ids; for each, whether its row is handled (False: it must
    wait for a later pass).

    A job id already queued is skipped: that job has not started, so it will see this row's change. A plugin job
    that is *running* may have read the state before this row's transaction committed: the row waits until that
    run is over, then queues the job again. (Deliveries need no second run: they act on their row's status.)
    arq also refuses an id whose finished run's result it still keeps (plugin jobs keep theirs an hour): that
    run came before this row was written, so the result is dropped and the job queued again.
    """
    script = _SCRIPTS.get(redis)
    if script is None:
        script = _SCRIPTS[redis] = redis.register_script(_ENQUEUE_LUA)
    done: list[bool] = []
    for start in range(0, len(jobs), ENQUEUE_CHUNK):
        chunk = jobs[start:start + ENQUEUE_CHUNK]
        now_ms = timestamp_ms()
        keys: list[str] = [queue]
        args: list[Any] = [now_ms, redis.expires_extra_ms]
        for name, job_id, kwargs in chunk:
            keys += [job_key_prefix + job_id, result_key_prefix + job_id, in_progress_key_prefix + job_id]
            args += [job_id, serialize_job(name, (), kwargs, None, now_ms, serializer=redis.job_serializer),
                     "0" if name.startswith("core:") else "1"]
        answers = await script(keys=keys, args=args)
        done += [int(a) != 0 for a in answers]
    return done


def _payload(value: Any) -> dict[str, Any]:
    if isinstance(value, (str, bytes)):
        value = msgspec.json.decode(value or "{}")
    return dict(value or {})


def inbox_job_id(delivery_ids: list[str]) -> str:
    """The id of the `core:deliver_in_app` job of these deliveries: the same set, the same id."""
    digest = hashlib.sha256("\n".join(sorted(delivery_ids)).encode()).hexdigest()[:32]
    return f"deliver:in_app:{digest}"


def _jobs(rows: list[dict[str, Any]]) -> tuple[list[tuple[str, str, dict[str, Any]]], list[list[Any]]]:
    """The jobs of outbox rows, and for each job the ids of the rows it carries: a job per row, except in-app
    deliveries, `INBOX_JOB_SIZE` to a job."""
    jobs: list[tuple[str, str, dict[str, Any]]] = []
    carried: list[list[Any]] = []
    in_app: list[tuple[Any, str]] = []
    for row in rows:
        payload = _payload(row["payload"])
        if row["job_name"] == DELIVER_JOB and payload.get("channel") == "in_app" and payload.get("delivery_id"):
            in_app.append((row["id"], str(payload["delivery_id"])))
        else:
            jobs.append((row["job_name"], row["job_id"], payload))
            carried.append([row["id"]])
    for start in range(0, len(in_app), INBOX_JOB_SIZE):
        group = in_app[start:start + INBOX_JOB_SIZE]
        delivery_ids = list(dict.fromkeys(d for _, d in group))
        jobs.append((DELIVER_IN_APP_JOB, inbox_job_id(delivery_ids), {"delivery_ids": delivery_ids}))
        carried.append([row_id for row_id, _ in group])
    return jobs, carried


async def _relay_batch(redis: ArqRedis, config: WorkerConfig, limit: int, lock: bool) -> int:
    query = OutboxMessage.select(OutboxMessage.id, OutboxMessage.job_name, OutboxMessage.job_id,
                                 OutboxMessage.payload).where(OutboxMessage.relayed_at.is_null()) \
        .order_by(OutboxMessage.created_at, OutboxMessage.id).limit(limit)
    if lock:
        query = query.lock_rows("UPDATE", skip_locked=True)
    rows = await query
    if not rows:
        return 0
    jobs, carried = _jobs(rows)
    done = await _enqueue_all(redis, config.queue, jobs)
    relayed = [row_id for row_ids, ok in zip(carried, done) if ok for row_id in row_ids]
    if relayed:
        async with write_transaction():
            await OutboxMessage.update({OutboxMessage.relayed_at: _now()}).where(OutboxMessage.id.is_in(relayed))
    return len(relayed)


async def relay_once(redis: ArqRedis, config: WorkerConfig, limit: int = BATCH) -> int:
    """Queue up to `limit` committed outbox rows not yet relayed; returns how many were (rows waiting for a
    running job to finish are not counted)."""
    with unscoped():
        if is_sqlite():  # no row locks; never hold SQLite's write lock while talking to Redis
            return await _relay_batch(redis, config, limit, lock=False)
        async with write_transaction():
            return await _relay_batch(redis, config, limit, lock=True)


async def relay_all(redis: ArqRedis, config: WorkerConfig, limit: int = BATCH) -> int:
    """Relay until the outbox is empty; returns how many rows were relayed."""
    total = 0
    while True:
        count = await relay_once(redis, config, limit)
        total += count
        if count < limit:
            return total


async def sweep_once(redis: ArqRedis, config: WorkerConfig, limit: int = 1000) -> int:
    """Queue again deliveries pending long after they were due; delete relayed outbox rows older than a week."""
    now = _now()
    cutoff = now - timedelta(seconds=config.redeliver_after)
    with unscoped():
        rows = await NotificationDelivery.select(
            NotificationDelivery.id, NotificationDelivery.notification_id, NotificationDelivery.channel,
            NotificationDelivery.user_id,
        ).where((NotificationDelivery.status == PENDING) & (NotificationDelivery.next_attempt_at < cutoff)) \
            .order_by(NotificationDelivery.next_attempt_at).limit(limit)
        if rows:
            await _enqueue_all(redis, config.queue, [
                (DELIVER_JOB, deliver_job_id(r["notification_id"], r["channel"], r["user_id"]),
                 {"delivery_id": str(r["id"]), "channel": r["channel"]}) for r in rows])
            async with write_transaction():
                await NotificationDelivery.update({NotificationDelivery.next_attempt_at: now}).where(
                    NotificationDelivery.id.is_in([r["id"] for r in rows]) & (NotificationDelivery.status == PENDING))
            log.warning("pending deliveries queued again", count=len(rows))
        async with write_transaction():
            await OutboxMessage.delete().where(
                OutboxMessage.relayed_at.is_not_null() & (OutboxMessage.relayed_at < now - OUTBOX_RETENTION))
    return len(rows)


async def run_relay(redis: ArqRedis, config: WorkerConfig, stop: asyncio.Event | None = None) -> None:
    """The relay loop (inside every worker, or alone with `isogov relay`): relay, sweep now and then, sleep."""
    stop = stop or asyncio.Event()
    last_sweep = 0.0
    log.info("relay started", queue=config.queue)
    while not stop.is_set():
        busy = False
        try:
            busy = await relay_once(redis, config) >= BATCH
            if time.monotonic() - last_sweep >= SWEEP_EVERY_S:
                last_sweep = time.monotonic()
                await sweep_once(redis, config)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("relay iteration failed; trying again")
            busy = False
        if not busy:
            try:
                await asyncio.wait_for(stop.wait(), timeout=max(config.relay_interval, 0.01))
            except asyncio.TimeoutError:
                pass
    log.info("relay stopped")
