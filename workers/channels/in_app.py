"""The in-app inbox: one inbox item per (notification, user), whatever happens to the worker.

`deliver_in_app(ids)` writes, in one transaction, the inbox items of the pending in-app deliveries among `ids`
and marks them sent (the unique key (notification, user) of the inbox makes a second write a no-op). The
`InboxWriter` of a worker process groups the deliveries its concurrent jobs hand it: while one transaction runs,
the next ones gather, and go together in the following one. On SQLite, where writers queue anyway, this turns
twenty one-row transactions into one; on PostgreSQL it saves round trips. A batch that fails is tried again one
delivery at a time, so one bad row cannot fail its neighbours.
"""

from __future__ import annotations

import asyncio
import uuid
import weakref
from datetime import datetime, timezone
from typing import Any

import structlog

from core.notifications.tables import InboxItem, NotificationDelivery
from core.users.tables import User
from core.tenancy import unscoped
from core.notifications.states import PENDING, SENT
from workers.db import write_transaction

log = structlog.get_logger("isogov.inbox")

OTHER = "other"  # the delivery is not an in-app one: the caller delivers it by its own channel
SKIP_REASON = "the recipient is no longer an active user of this tenant"


async def deliver_in_app(ids: list[uuid.UUID]) -> dict[uuid.UUID, str]:
    """Deliver the pending in-app deliveries among `ids` in one transaction.

    Returns an outcome per id: sent, noop (not pending any more, or unknown), skipped (recipient deactivated or
    gone; recorded on the delivery), or `OTHER` (not an in-app delivery).
    """
    now = datetime.now(timezone.utc)
    outcome: dict[uuid.UUID, str] = {i: "noop" for i in ids}
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

    def __init__(self, max_batch: int = 200) -> None:
        self.max_batch = max_batch
        self._queue: list[tuple[uuid.UUID, asyncio.Future[str]]] = []
        self._task: asyncio.Task[None] | None = None

    async def submit(self, delivery_id: uuid.UUID) -> str:
        """Deliver one in-app delivery with whatever else is waiting; its outcome as in `deliver_in_app`."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[str] = loop.create_future()
        self._queue.append((delivery_id, future))
        if self._task is None or self._task.done():
            self._task = loop.create_task(self._run())
        return await future

    async def _run(self) -> None:
        while self._queue:
            batch, self._queue = self._queue[:self.max_batch], self._queue[self.max_batch:]
            live = [(i, f) for i, f in batch if not f.done()]  # a cancelled job has left
            if live:
                await self._flush(live)

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
        """Wait for the batch in flight (worker shutdown)."""
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
