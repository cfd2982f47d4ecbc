"""Purge, reconciliation, indicators and the hooks that hand the jobs to the workers, on both backends."""

from __future__ import annotations

import asyncio
import inspect
import os
import time
import uuid
from datetime import datetime, timedelta, timezone

from core.plugins import get_plugin_system
from core.audit.tables import AuditEvent
from core.tenancy import unscoped
from plugins.evidence.jobs import evidence_purge, evidence_reconcile
from plugins.evidence.storage import LocalStore, object_key
from plugins.evidence.tables import Evidence, EvidenceVersion
from plugins.evidence.tests.conftest import new_version, pdf_bytes, stored_keys, upload


def _later(**delta: float) -> datetime:
    return datetime.now(timezone.utc) + timedelta(**delta)


async def test_purge_removes_files_and_rows_after_the_tenant_retention(client, tenant, make_tenant, store):
    other = await make_tenant(modules=["evidence"])
    await client.patch(tenant.url("/evidence/settings"), json={"retention_days": 2}, headers=tenant.headers())
    gone = (await upload(client, tenant, data=pdf_bytes(seed=1))).json()
    await new_version(client, tenant, gone["id"], filename="v2.pdf", data=pdf_bytes(seed=2))
    kept = (await upload(client, tenant, data=pdf_bytes(seed=3))).json()
    other_deleted = (await upload(client, other, data=pdf_bytes(seed=4))).json()  # platform default: 90 days
    for t, item in ((tenant, gone), (other, other_deleted)):
        assert (await client.delete(t.url(f"/evidence/{item['id']}"), headers=t.headers())).status_code == 204
    ctx = {"evidence_store": store}

    early = await evidence_purge(ctx, now=_later(days=1))
    assert gone["id"] not in early["purged"]
    assert len(await stored_keys(store, tenant.id)) == 3

    result = await evidence_purge(ctx, now=_later(days=3))
    assert gone["id"] in result["purged"] and other_deleted["id"] not in result["purged"]
    assert result["failed"] == []
    with unscoped():
        assert await Evidence.count().where(Evidence.id == gone["id"]) == 0
        assert await EvidenceVersion.count().where(EvidenceVersion.evidence_id == gone["id"]) == 0
        assert await Evidence.count().where(Evidence.id == kept["id"]) == 1
        audit = await AuditEvent.select().where((AuditEvent.entity_id == gone["id"]) & (AuditEvent.action == "purge"))
    assert len(audit) == 1 and audit[0]["tenant_id"] == tenant.id
    assert [k.split("/")[1] for k in await stored_keys(store, tenant.id)] == [kept["id"]]
    assert len(await stored_keys(store, other.id)) == 1

    again = await evidence_purge(ctx, now=_later(days=3))  # idempotent
    assert gone["id"] not in again["purged"]
    late = await evidence_purge(ctx, now=_later(days=91))
    assert other_deleted["id"] in late["purged"]
    assert await stored_keys(store, other.id) == []
    got = await client.get(tenant.url(f"/evidence/{kept['id']}/content"), headers=tenant.headers(),
                           follow_redirects=False)
    assert got.status_code in (200, 302)


async def test_reconcile_removes_old_orphans_and_reports_missing_objects(client, tenant, store):
    ctx = {"evidence_store": store}
    kept = (await upload(client, tenant, data=pdf_bytes(seed=5))).json()
    lost = (await upload(client, tenant, data=pdf_bytes(seed=6))).json()
    with unscoped():
        lost_key = (await EvidenceVersion.select(EvidenceVersion.object_key)
                    .where(EvidenceVersion.evidence_id == lost["id"]).first())["object_key"]
    await store.delete(lost_key)  # the store lost a file a row points at

    orphan = object_key(tenant.id, uuid.uuid4(), uuid.uuid4())  # a file whose row was never written
    writer = store.writer(orphan, "application/pdf")
    await writer.write(pdf_bytes(seed=7))
    await writer.commit()
    if isinstance(store, LocalStore):  # and a temporary file left by a crashed upload
        folder = store.root / str(tenant.id) / str(uuid.uuid4())
        folder.mkdir(parents=True)
        temp = folder / f".{uuid.uuid4()}.{uuid.uuid4().hex}.part"
        temp.write_bytes(b"partial")
        old = time.time() - 7200
        os.utime(temp, (old, old))

    young = await evidence_reconcile(ctx)
    assert orphan in await stored_keys(store, tenant.id)  # younger than an hour: maybe an upload in flight
    assert orphan not in young["orphans_removed"]
    missing = [m for m in young["missing_objects"] if m["tenant_id"] == str(tenant.id)]
    assert missing == [{"tenant_id": str(tenant.id), "evidence_id": lost["id"], "version": 1,
                        "object_key": lost_key}]

    result = await evidence_reconcile(ctx, now=_later(hours=2))
    assert orphan in result["orphans_removed"]
    remaining = await stored_keys(store, tenant.id)
    assert orphan not in remaining
    assert [k.split("/")[1] for k in remaining] == [kept["id"]]
    if isinstance(store, LocalStore):
        assert not temp.exists() and not temp.parent.exists()
    assert lost_key in {m["object_key"] for m in result["missing_objects"]}
    with unscoped():  # reported, never changed
        assert await EvidenceVersion.count().where(EvidenceVersion.object_key == lost_key) == 1


async def test_indicators_count_files_and_bytes(client, tenant, store):
    first, second = pdf_bytes(1000, seed=1), pdf_bytes(2500, seed=2)
    a = (await upload(client, tenant, data=first)).json()
    await new_version(client, tenant, a["id"], filename="v2.pdf", data=second)
    b = (await upload(client, tenant, data=pdf_bytes(700, seed=3))).json()
    await client.delete(tenant.url(f"/evidence/{b['id']}"), headers=tenant.headers())
    year = datetime.now(timezone.utc).year
    info = (await tenant.ctx()).tenant
    indicators = await get_plugin_system().indicators({"evidence": [info]}, year)
    by_name = {i.name: i for i in indicators}
    assert {(i.module, i.tenant_id) for i in indicators} == {("evidence", info.id)}
    assert by_name["files"].value == 1
    assert by_name["files"].breakdown == {"versions": 3, "deleted_awaiting_purge": 1}
    assert by_name["bytes"].value == 1000 + 2500 + 700
    assert by_name["uploads"].value == 3
    past = await get_plugin_system().indicators({"evidence": [info]}, year - 1)
    assert {i.name: i.value for i in past}["uploads"] == 0


def test_jobs_and_crons_are_handed_to_the_workers():
    jobs = get_plugin_system().jobs()
    assert evidence_purge in jobs and evidence_reconcile in jobs
    assert all(inspect.iscoroutinefunction(job) for job in (evidence_purge, evidence_reconcile))
    names = {s.name: s for s in get_plugin_system().schedules()}
    assert {"evidence_purge", "evidence_reconcile"} <= set(names)
    assert (names["evidence_purge"].hour, names["evidence_purge"].minute) == (2, 30)
    assert names["evidence_purge"].module == "evidence" and not names["evidence_purge"].per_tenant


async def test_jobs_run_with_an_arq_like_ctx(client, tenant, store):
    """arq calls `job(ctx)` with its own dict; without `evidence_store` the configured store is used."""
    result = await asyncio.wait_for(evidence_reconcile({"job_id": "x", "job_try": 1, "evidence_store": store}), 60)
    assert set(result) >= {"orphans_removed", "missing_objects", "objects"}
    purge = await evidence_purge({"job_id": "y"})
    assert purge["failed"] == []


async def test_demo_seed_stores_one_file_once(client, tenant, store):
    for _ in range(2):
        await get_plugin_system().collect("isogov_seed_demo", modules=["evidence"], ctx=await tenant.ctx(),
                                          agencies=dict(tenant.agencies))
    listed = (await client.get(tenant.url("/evidence"), headers=tenant.headers("viewer"))).json()
    assert listed["total"] == 1
    item = listed["items"][0]
    assert item["content_type"] == "text/plain; charset=utf-8" and item["filename"] == "Kế hoạch kiểm tra ISO.txt"
    got = await client.get(tenant.url(f"/evidence/{item['id']}/content"), headers=tenant.headers(),
                           follow_redirects=False)
    assert got.status_code in (200, 302)
    assert len(await stored_keys(store, tenant.id)) == 1


async def test_reconcile_aborts_multipart_uploads_left_open(tenant, s3_server, s3_bucket):
    """A process killed mid-upload leaves an open S3 multipart upload: parts that use storage, no object."""
    from plugins.evidence.tests.conftest import make_s3_store, pending_multipart_uploads

    store = make_s3_store(s3_server, s3_bucket)
    key = object_key(tenant.id, uuid.uuid4(), uuid.uuid4())
    store.client._create_multipart_upload(s3_bucket, key, {})  # noqa: SLF001 (what a killed upload leaves)
    assert pending_multipart_uploads(store, key) == [key]
    # (moto reports every upload as initiated in 2010, so "too young to abort" cannot be shown against it)
    result = await evidence_reconcile({"evidence_store": store}, now=_later(hours=25))
    assert key in result["uploads_aborted"]
    assert pending_multipart_uploads(store, key) == []


async def test_reconcile_keeps_an_object_whose_row_is_written_while_it_lists(client, tenant, store):
    """Rows are read before the listing. An upload that ends meanwhile has an object the first read did not
    know; on S3 a multipart object's date is when its upload *started*, so a slow upload's object looks old."""
    ctx = {"evidence_store": store}
    created = (await upload(client, tenant, data=pdf_bytes(seed=11))).json()
    with unscoped():
        row = await EvidenceVersion.select().where(EvidenceVersion.evidence_id == created["id"]).first()
        await EvidenceVersion.delete().where(EvidenceVersion.id == row["id"])  # as if not yet recorded
    loop = asyncio.get_running_loop()
    original = store.list_objects

    async def recorded() -> None:
        with unscoped():
            await EvidenceVersion.insert(EvidenceVersion(**row))

    def listing():  # the upload records its row while the store is being listed
        found = original()
        asyncio.run_coroutine_threadsafe(recorded(), loop).result()
        return found

    store.list_objects = listing  # type: ignore[method-assign]
    try:
        result = await evidence_reconcile(ctx, now=_later(hours=2))
    finally:
        del store.list_objects
    assert row["object_key"] not in result["orphans_removed"]
    got = await client.get(tenant.url(f"/evidence/{created['id']}/content"), headers=tenant.headers(),
                           follow_redirects=False)
    assert got.status_code in (200, 302)
    assert row["object_key"] in await stored_keys(store, tenant.id)
