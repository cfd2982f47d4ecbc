"""Jobs of the evidence plugin: plain async functions `job(ctx, ...)` (arq's signature), idempotent.

- `evidence_purge`: remove the objects and rows of evidence deleted longer ago than its tenant's retention.
- `evidence_reconcile`: remove orphan objects (no row, older than an hour) and S3 multipart uploads open for
  more than a day (a process killed mid-upload), and report rows whose object is missing from the store.

Both run across tenants (platform housekeeping), so they query with `unscoped()` on purpose. `ctx` may carry
`evidence_store` (a `storage.Store`) to use instead of the configured one.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import defaultdict
from datetime import datetime, timedelta, timezone
from typing import Any

import structlog

from core.audit import record
from core.contracts import Schedule
from core.db import transaction
from core.tenancy.tables import Tenant
from core.tenancy import TenantInfo, unscoped
from core.tenancy.context import TenantContext, system_context
from plugins.evidence.settings import get_evidence_settings
from plugins.evidence.storage import LocalStore, Store, get_store, parse_key
from plugins.evidence.tables import Evidence, EvidenceSettingsRow, EvidenceVersion

log = structlog.get_logger("isogov.evidence.jobs")

ORPHAN_AGE_SECONDS = 3600
OPEN_UPLOAD_AGE_SECONDS = 24 * 3600  # a slow upload of a large file may well take more than an hour


def _store(ctx: dict[str, Any] | None) -> Store:
    return (ctx or {}).get("evidence_store") or get_store()


async def _tenant_contexts(tenant_ids: set[uuid.UUID]) -> dict[uuid.UUID, TenantContext]:
    if not tenant_ids:
        return {}
    rows = await Tenant.select(Tenant.id, Tenant.code, Tenant.name, Tenant.status).where(Tenant.id.is_in(list(tenant_ids)))
    return {row["id"]: system_context(TenantInfo(**row), "evidence-purge") for row in rows}


async def evidence_purge(ctx: dict[str, Any] | None = None, *, now: datetime | None = None) -> dict[str, Any]:
    """Purge evidence soft-deleted before its tenant's retention; returns what was purged and what failed."""
    store = _store(ctx)
    now = now or datetime.now(timezone.utc)
    default_days = get_evidence_settings().retention_days
    with unscoped():
        deleted = await Evidence.select(Evidence.id, Evidence.tenant_id, Evidence.deleted_at).where(
            Evidence.deleted_at.is_not_null())
        tenant_ids = {row["tenant_id"] for row in deleted}
        own = await EvidenceSettingsRow.select(EvidenceSettingsRow.tenant_id, EvidenceSettingsRow.retention_days) \
            .where(EvidenceSettingsRow.tenant_id.is_in(list(tenant_ids))) if tenant_ids else []
    days = {row["tenant_id"]: row["retention_days"] for row in own if row["retention_days"] is not None}
    contexts = await _tenant_contexts(tenant_ids)
    purged: list[str] = []
    failed: list[str] = []
    for row in deleted:
        if row["deleted_at"] > now - timedelta(days=days.get(row["tenant_id"], default_days)):
            continue
        try:
            await _purge_one(store, row["id"], row["tenant_id"], contexts.get(row["tenant_id"]))
            purged.append(str(row["id"]))
        except Exception:
            log.exception("could not purge evidence; the next run retries", evidence_id=str(row["id"]))
            failed.append(str(row["id"]))
    if purged or failed:
        log.info("evidence purged", purged=len(purged), failed=len(failed))
    return {"purged": purged, "failed": failed}


async def _purge_one(store: Store, evidence_id: uuid.UUID, tenant_id: uuid.UUID, ctx: TenantContext | None) -> None:
    """Objects first, rows second: a crash in between leaves rows that the next run purges again."""
    with unscoped():
        versions = await EvidenceVersion.select().where(EvidenceVersion.evidence_id == evidence_id)
    for version in versions:
        await store.delete(version["object_key"])
    async with transaction():
        with unscoped():
            before = await Evidence.select().where(Evidence.id == evidence_id).first()
            if before is None:
                return
            await EvidenceVersion.delete().where(EvidenceVersion.evidence_id == evidence_id)
            await Evidence.delete().where(Evidence.id == evidence_id)
        before["versions"] = [{k: v[k] for k in ("version", "object_key", "sha256", "size")} for v in versions]
        await record(ctx, action="purge", entity="evidence", entity_id=evidence_id, before=before, after=None,
                     tenant_id=tenant_id)


async def evidence_reconcile(ctx: dict[str, Any] | None = None, *, orphan_age_seconds: int = ORPHAN_AGE_SECONDS,
                             open_upload_age_seconds: int = OPEN_UPLOAD_AGE_SECONDS,
                             now: datetime | None = None) -> dict[str, Any]:
    """Compare the store with the version rows.

    Objects without a row that are older than `orphan_age_seconds` (left by a crash mid-upload) are removed;
    S3 multipart uploads opened more than `open_upload_age_seconds` ago are aborted (their parts use storage but
    never become an object). Rows whose object is missing are reported (logged as errors and returned), never
    changed. Objects whose name is not an evidence key are reported as `foreign` and left alone.
    """
    store = _store(ctx)
    now = now or datetime.now(timezone.utc)
    cutoff = now - timedelta(seconds=orphan_age_seconds)
    with unscoped():  # rows first; an old-looking object without a row is looked up again before removal
        rows = await EvidenceVersion.select(EvidenceVersion.tenant_id, EvidenceVersion.evidence_id,
                                            EvidenceVersion.version, EvidenceVersion.object_key)
    objects = await asyncio.to_thread(store.list_objects)
    known = {row["object_key"] for row in rows}
    present = {obj.key for obj in objects if not obj.temporary}
    removed: list[str] = []
    foreign: list[str] = []
    for obj in objects:
        if obj.key in known:
            continue
        if obj.temporary and not isinstance(store, LocalStore):
            foreign.append(obj.key)
            continue
        if obj.modified > cutoff:
            continue
        if obj.temporary:
            await asyncio.to_thread(store.remove_temporary, obj.key)  # type: ignore[attr-defined]
        else:
            # its row may have been written after the rows were read (an object's date is not always when it
            # was completed: S3 dates a multipart object by the start of its upload): look again, just before
            with unscoped():
                if await EvidenceVersion.exists().where(EvidenceVersion.object_key == obj.key):
                    continue
            await store.delete(obj.key)
        removed.append(obj.key)
        log.warning("orphan evidence object removed", key=obj.key, size=obj.size)
    aborted: list[str] = []
    for upload in await asyncio.to_thread(store.list_incomplete_uploads):
        if upload.initiated > now - timedelta(seconds=open_upload_age_seconds) or parse_key(upload.key) is None:
            continue
        try:
            await asyncio.to_thread(store.abort_incomplete_upload, upload)
        except Exception:
            log.exception("could not abort an open multipart upload", key=upload.key)
            continue
        aborted.append(upload.key)
        log.warning("open multipart upload aborted", key=upload.key, initiated=upload.initiated.isoformat())
    missing: list[dict[str, Any]] = []
    for row in rows:
        if row["object_key"] in present:
            continue
        if await store.exists(row["object_key"]):  # written after the listing
            continue
        with unscoped():
            if not await EvidenceVersion.exists().where(EvidenceVersion.object_key == row["object_key"]):
                continue  # purged meanwhile
        item = {"tenant_id": str(row["tenant_id"]), "evidence_id": str(row["evidence_id"]),
                "version": row["version"], "object_key": row["object_key"]}
        missing.append(item)
        log.error("evidence object missing from the store", **item)
    by_tenant: dict[str, int] = defaultdict(int)
    for item in missing:
        by_tenant[item["tenant_id"]] += 1
    log.info("evidence reconciled", objects=len(objects), rows=len(rows), orphans_removed=len(removed),
             uploads_aborted=len(aborted), missing=len(missing), foreign=len(foreign))
    return {"objects": len(objects), "rows": len(rows), "orphans_removed": removed, "uploads_aborted": aborted,
            "missing_objects": missing, "missing_by_tenant": dict(by_tenant), "foreign": foreign}


def schedules() -> list[Schedule]:
    async def purge(ctx: Any) -> Any:
        return await evidence_purge(None)

    async def reconcile(ctx: Any) -> Any:
        return await evidence_reconcile(None)

    return [
        Schedule(name="evidence_purge", func=purge, hour=2, minute=30),
        Schedule(name="evidence_reconcile", func=reconcile, hour=3, minute=30),
    ]
