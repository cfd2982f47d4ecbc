"""Delivery channels. A channel turns one delivery (a notification for one user) into something the user sees.

`send(item, config)` raises on failure (the caller retries with backoff and marks the delivery failed after the
last attempt; `PermanentFailure` marks it failed at once). A channel whose effect is a database write (`transactional = True`) runs inside the transaction
that marks the delivery sent, so a crash between the two cannot show the notification twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from workers.config import WorkerConfig


class PermanentFailure(Exception):
    """The channel was told the delivery can never succeed (e.g. the mail server refused the address with a 5xx
    answer): the delivery is marked failed at once instead of being retried."""


@dataclass(frozen=True)
class DeliveryItem:
    delivery: dict[str, Any]
    notification: dict[str, Any]
    user: dict[str, Any]
    tenant: dict[str, Any]


class Channel(Protocol):
    name: str
    transactional: bool

    async def send(self, item: DeliveryItem, config: WorkerConfig) -> None: ...


def get_channel(name: str) -> Channel:
    from workers.channels.email import EmailChannel
    from workers.channels.in_app import InAppChannel

    channels: dict[str, Channel] = {"in_app": InAppChannel(), "email": EmailChannel()}
    try:
        return channels[name]
    except KeyError:
        raise LookupError(f"no delivery channel named {name!r}") from None
