"""The in-app inbox: one inbox item per (notification, user), whatever happens to the worker."""

from __future__ import annotations

import uuid
from datetime import datetime, timezone

from core.notifications.tables import InboxItem
from core.tenancy import unscoped
from workers.channels import DeliveryItem
from workers.config import WorkerConfig


class InAppChannel:
    name = "in_app"
    transactional = True

    async def send(self, item: DeliveryItem, config: WorkerConfig) -> None:
        """Insert the inbox item (dated when the notification was made, so the inbox keeps its order whatever the
        order of delivery); a second run finds the unique key taken and adds nothing."""
        note, user = item.notification, item.user
        with unscoped():
            await InboxItem.insert(InboxItem(
                id=uuid.uuid4(), tenant_id=item.delivery["tenant_id"], user_id=user["id"],
                notification_id=note["id"], key=f"{note['id']}:{user['id']}",
                created_at=note.get("created_at") or datetime.now(timezone.utc), read_at=None,
            )).on_conflict(target=InboxItem.key, action="DO NOTHING")
