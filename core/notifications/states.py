"""The states of a notification delivery and the names of the notification jobs, defined once for core and workers.

A delivery is `pending` (to be sent, now or at `next_attempt_at`), `digest` (an email waiting for the day's
digest), `sent`, or `failed` (gave up after the last attempt; tenant admins see it and may queue it again).
"""

PENDING = "pending"
DIGEST = "digest"
SENT = "sent"
FAILED = "failed"
DELIVERY_STATES = (PENDING, DIGEST, SENT, FAILED)

DELIVER_JOB = "core:deliver"
DELIVER_IN_APP_JOB = "core:deliver_in_app"  # the relay's grouping of in-app deliveries (workers/relay.py)
SEND_DIGEST_JOB = "core:send_digest"
SCAN_TENANT_JOB = "core:scan_tenant_reminders"
SCAN_REMINDERS_CRON = "core:scan_reminders"
DIGEST_CRON = "core:digest"
