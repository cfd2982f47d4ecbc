"""Delivery channels: how one delivery (a notification for one user) reaches the user.

- `in_app` (`workers.channels.in_app`): the inbox item is written in the same transaction that marks the delivery
  sent, so a crash between the two cannot show a notification twice. Deliveries arriving together are written
  together (group commit).
- `email` (`workers.channels.email`): SMTP; raises on failure (the caller retries with backoff and marks the
  delivery failed after the last attempt), `PermanentFailure` when retrying cannot help (marked failed at once).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

CHANNELS = ("in_app", "email")


class PermanentFailure(Exception):
    """The channel was told the delivery can never succeed (e.g. the mail server refused the address with a 5xx
    answer): the delivery is marked failed at once instead of being retried."""


@dataclass(frozen=True)
class DeliveryItem:
    """What a message-sending channel needs: the delivery row, the notification, the recipient, the tenant."""

    delivery: dict[str, Any]
    notification: dict[str, Any]
    user: dict[str, Any]
    tenant: dict[str, Any]
