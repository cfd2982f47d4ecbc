"""Queue a background job from business code, atomically with the business change (the transactional outbox).

    from core.notifications.outbox import enqueue

    async with transaction():
        row = await ctx.scope(Plan).update(plan_id, {...})
        await enqueue(ctx, "recompute_plan_totals", key=str(plan_id), plan_id=str(plan_id))

The job (a function the plugin returns from `isogov_jobs`) is queued by the relay in `workers/` after the
transaction commits, under the deterministic job id `<job_name>:<tenant_id>:<key>`: while one such job is queued
(not started yet), another with the same key is not added; a row written while one runs is queued again once
that run is over (the run may have read the state from before the row's transaction). Keyword arguments must be
JSON values, their names neither "function" nor starting with "_" (the queue takes those for itself). Jobs may
still run more than once; make them idempotent. Notifications have their own call: `core.notifications.notify.notify`.
"""

from __future__ import annotations

from typing import Any

from core.db import transaction
from core.notifications.services import outbox_row
from core.notifications.tables import OutboxMessage
from core.tenancy import unscoped
from core.tenancy.context import TenantContext


async def enqueue(ctx: TenantContext, job_name: str, *, key: str, **kwargs: Any) -> str:
    """Write an outbox row in the current transaction; returns the job id it will be queued under."""
    taken = sorted(name for name in kwargs if name.startswith("_") or name == "function")
    if taken:  # arq's enqueue_job takes these itself: the relay could never queue such a row
        raise ValueError(f"job {job_name!r}: keyword argument {taken[0]!r} is reserved by the queue "
                         "(no leading underscore, not 'function')")
    job_id = f"{job_name}:{ctx.tenant.id}:{key}"
    async with transaction():
        with unscoped():
            await OutboxMessage.insert(outbox_row(ctx.tenant.id, job_name, job_id, kwargs))
    return job_id
