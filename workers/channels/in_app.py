"""The in-app inbox: one inbox item per (notification, user), whatever happens to the worker.

`deliver_in_app(ids)` writes, in one transaction, the inbox items of the pending in-app deliveries among `ids`
and marks them sent (the unique key (notification, user) of the inbox makes a second write a no-op). The
`InboxWriter` of a worker process groups the deliveries its concurrent jobs hand it: while one transaction runs,
the next ones gather, and go together in the following one. On SQLite, where writers queue anyway, this turns
twenty one-row transactions into one. On PostgreSQL a batch is one statement, sent on a connection the writer
holds while deliveries keep coming (`workers.db.platform_session`): one round trip per batch. A batch that fails
is tried again one delivery at a time, so one bad row cannot fail its neighbours.
"""

from __future__ import annotations

import asyncio
import re
import uuid
import weakref
from datetime import datetime, timezone
from typing import Any

import structlog

from core.db import fetch, is_sqlite
from core.notifications.tables import InboxItem, NotificationDelivery
from core.users.tables import User
from core.tenancy import unscoped
from core.notifications.states import PENDING, SENT
from workers.db import platform_session, session_fetch, write_transaction

log = structlog.get_logger("isogov.inbox")

OTHER = "other"  # the delivery is not an in-app one: the caller delivers it by its own channel
SKIP_REASON = "the recipient is no longer an active user of this tenant"


# PostgreSQL: the whole batch in one statement, the same steps as the SQLite path below: read the deliveries with
# their recipients, write the inbox items of the pending in-app ones whose recipient is an active user of the
# delivery's tenant (the unique key makes a second write a no-op), mark those sent and the others skipped, each
# only while still pending. One statement is one transaction: all of it or nothing.
_DELIVER_SQL = """
WITH d AS (
    SELECT d.id, d.tenant_id, d.notification_id, d.user_id, d.created_at, d.channel, d.status,
           COALESCE(u.active AND u.tenant_id = d.tenant_id, false) AS ok
    FROM notification_delivery d LEFT JOIN app_user u ON u.id = d.user_id
    WHERE d.id = ANY($1::uuid[])
), todo AS (
    SELECT * FROM d WHERE channel = 'in_app' AND status = 'pending'
), ins AS (
    INSERT INTO inbox_item (id, tenant_id, user_id, notification_id, key, created_at, read_at)
    SELECT gen_random_uuid(), tenant_id, user_id, notification_id, notification_id::text || ':' || user_id::text,
           created_at, NULL
    FROM todo WHERE ok
    ON CONFLICT (key) DO NOTHING
), upd AS (
    UPDATE notification_delivery nd SET
        status = CASE WHEN todo.ok THEN 'sent' ELSE 'skipped' END,
        sent_at = CASE WHEN todo.ok THEN $2 ELSE nd.sent_at END,
        attempts = CASE WHEN todo.ok THEN nd.attempts + 1 ELSE nd.attempts END,
        last_error = CASE WHEN todo.ok THEN nd.last_error ELSE $3 END,
        updated_at = $2
    FROM todo WHERE nd.id = todo.id AND nd.status = 'pending'
    RETURNING nd.id, nd.status
)
SELECT d.id, d.channel, upd.status AS done FROM d LEFT JOIN upd ON upd.id = d.id
"""
SESSION_REASON = "workers.inbox"
_PARAMS = [int(n) - 1 for n in re.findall(r"\$(\d+)", _DELIVER_SQL)]
_DELIVER_SQL_POSITIONAL = re.sub(r"\$\d+", "{}", _DELIVER_SQL)  # for core.db.fetch (no pool: one at a time)


async def deliver_in_app(ids: list[uuid.UUID]) -> dict[uuid.UUID, str]:
    """Deliver the pending in-app deliveries among `ids` in one transaction.

    Returns an outcome per id: sent, noop (not pending any more, or unknown), skipped (recipient deactivated or
    gone; recorded on the delivery), or `OTHER` (not an in-app delivery).
    """
    now = datetime.now(timezone.utc)
    outcome: dict[uuid.UUID, str] = {i: "noop" for i in ids}
    if not is_sqlite():
        args = (list(ids), now, SKIP_REASON)
        rows = await session_fetch(_DELIVER_SQL, *args)
        if rows is None:  # not on the writer's session (called on its own, or no pool): on the platform path
            with unscoped():
                rows = await fetch(_DELIVER_SQL_POSITIONAL, *[args[i] for i in _PARAMS])
        for row in rows:
            if row["channel"] != "in_app":
                outcome[row["id"]] = OTHER
            elif row["done"] in (SENT, "skipped"):
                outcome[row["id"]] = row["done"]
        return outcome
    async with write_transaction():
        with unscoped():
            rows = await NotificationDelivery.select(
                NotificationDelivery.id, NotificationDelivery.tenant_id, NotificationDelivery.notification_id,
                NotificationDelivery.user_id, NotificationDelivery.channel, NotificationDelivery.status,
                NotificationDelivery.created_at,
            ).where(NotificationDelivery.id.is_in(ids))
            todo = []
            for row in rows:
                if row["channel"] != "in_app":
                    outcome[row["id"]] = OTHER
                elif row["status"] == "pending":
                    todo.append(row)
            if not todo:
                return outcome
            users = {u["id"]: u for u in await User.select(User.id, User.tenant_id, User.active).where(
                User.id.is_in(list({r["user_id"] for r in todo})))}
            send, skip = [], []
            for row in todo:
                user = users.get(row["user_id"])
                ok = user is not None and user["active"] and user["tenant_id"] == row["tenant_id"]
                (send if ok else skip).append(row)
            if send:
                # dated when the notification was made (notify stamps it and its deliveries with one time), so
                # the inbox keeps its order whatever the order of delivery
                await InboxItem.insert(*[InboxItem(
                    id=uuid.uuid4(), tenant_id=r["tenant_id"], user_id=r["user_id"],
                    notification_id=r["notification_id"], key=f"{r['notification_id']}:{r['user_id']}",
                    created_at=r["created_at"], read_at=None,
                ) for r in send]).on_conflict(target=InboxItem.key, action="DO NOTHING")
                await NotificationDelivery.update({
                    NotificationDelivery.status: SENT, NotificationDelivery.sent_at: now,
                    NotificationDelivery.updated_at: now,
                    NotificationDelivery.attempts: NotificationDelivery.attempts + 1,
                }).where(NotificationDelivery.id.is_in([r["id"] for r in send])
                         & (NotificationDelivery.status == PENDING))
                outcome.update({r["id"]: "sent" for r in send})
            if skip:
                await NotificationDelivery.update({
                    NotificationDelivery.status: "skipped", NotificationDelivery.last_error: SKIP_REASON,
                    NotificationDelivery.updated_at: now,
                }).where(NotificationDelivery.id.is_in([r["id"] for r in skip])
                         & (NotificationDelivery.status == PENDING))
                outcome.update({r["id"]: "skipped" for r in skip})
    return outcome


class InboxWriter:
    """Group commit of in-app deliveries for one event loop (one worker process)."""

    def __init__(self, max_batch: int = 200, linger: float = 0.5) -> None:
        self.max_batch = max_batch
        self.linger = linger  # PostgreSQL: how long the connection is kept once no delivery waits
        self._queue: list[tuple[uuid.UUID, asyncio.Future[str]]] = []
        self._task: asyncio.Task[None] | None = None
        self._more = asyncio.Event()
        self._closing = False

    async def submit(self, delivery_id: uuid.UUID) -> str:
        """Deliver one in-app delivery with whatever else is waiting; its outcome as in `deliver_in_app`."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[str] = loop.create_future()
        self._queue.append((delivery_id, future))
        self._closing = False
        self._more.set()
        if self._task is None or self._task.done():
            self._task = loop.create_task(self._run())
        return await future

    async def _run(self) -> None:
        while self._queue:
            try:  # PostgreSQL: one connection held while deliveries keep coming, one round trip per batch
                async with platform_session(SESSION_REASON) as session:
                    while session is None or not session.is_closed():
                        if not self._queue:  # keep the connection a moment for the next jobs' deliveries
                            if session is None or self._closing or not await self._wait_for_more():
                                break
                            continue
                        batch, self._queue = self._queue[:self.max_batch], self._queue[self.max_batch:]
                        live = [(i, f) for i, f in batch if not f.done()]  # a cancelled job has left
                        if live:
                            await self._flush(live)
            except Exception as exc:  # no connection to be had: the waiting jobs fail (and are retried)
                waiting, self._queue = self._queue, []
                for _, future in waiting:
                    _settle(future, exception=exc)

    async def _wait_for_more(self) -> bool:
        self._more.clear()
        try:
            await asyncio.wait_for(self._more.wait(), self.linger)
        except asyncio.TimeoutError:
            return False
        return not self._closing

    async def _flush(self, live: list[tuple[uuid.UUID, asyncio.Future[str]]]) -> None:
        try:
            outcomes = await deliver_in_app(list(dict.fromkeys(i for i, _ in live)))
        except Exception as exc:
            if len(live) == 1:
                _settle(live[0][1], exception=exc)
                return
            log.warning("a batch of in-app deliveries failed; trying them one by one", size=len(live), error=str(exc))
            for item in live:
                await self._flush([item])
            return
        for delivery_id, future in live:
            _settle(future, result=outcomes.get(delivery_id, "noop"))

    async def close(self) -> None:
        """Wait for the batch in flight and give the connection back (worker shutdown)."""
        self._closing = True
        self._more.set()
        if self._task is not None and not self._task.done():
            await asyncio.wait({self._task}, timeout=10)


def _settle(future: asyncio.Future[Any], *, result: Any = None, exception: BaseException | None = None) -> None:
    if future.done():
        return
    if exception is not None:
        future.set_exception(exception)
    else:
        future.set_result(result)


_writers: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, InboxWriter]" = weakref.WeakKeyDictionary()


def inbox_writer() -> InboxWriter:
    """The inbox writer of the running event loop."""
    loop = asyncio.get_running_loop()
    writer = _writers.get(loop)
    if writer is None:
        writer = _writers[loop] = InboxWriter()
    return writer
