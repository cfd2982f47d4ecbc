"""The S3 store's streaming writer against a real S3 server: object sizes around the part size, and a failing part."""

from __future__ import annotations

import asyncio
import hashlib
import uuid

import pytest

from plugins.evidence import storage
from plugins.evidence.storage import StorageError, object_key
from plugins.evidence.tests.conftest import PART_SIZE, make_s3_store, pending_multipart_uploads

MB = 1024 * 1024


def _bytes(size: int) -> bytes:
    block = hashlib.sha256(str(size).encode()).digest() * (MB // 32)
    return (block * (size // len(block) + 1))[:size]


async def _write(store: storage.S3Store, key: str, data: bytes) -> storage.ObjectWriter:
    writer = store.writer(key, "application/pdf")
    for start in range(0, len(data), 300_000):  # chunks that do not divide the part size
        await writer.write(data[start:start + 300_000])
    return writer


def _read(store: storage.S3Store, key: str) -> bytes:
    response = store.client.get_object(store.bucket, key)
    try:
        return response.read()
    finally:
        response.close()
        response.release_conn()


@pytest.mark.parametrize("size", [1, PART_SIZE - 1, PART_SIZE, PART_SIZE + 1, 3 * PART_SIZE + 12345])
@pytest.mark.parametrize("calls", ["multipart", "minio put_object"])
async def test_every_size_is_stored_whole(s3_server, s3_bucket, monkeypatch, size, calls):
    if calls != "multipart":  # a minio without the multipart calls: its own streaming put
        monkeypatch.setattr(storage, "_MULTIPART_CALLS", ("_no_such_call",))
    store = make_s3_store(s3_server, s3_bucket)
    key = object_key(uuid.uuid4(), uuid.uuid4(), uuid.uuid4())
    data = _bytes(size)
    writer = await _write(store, key, data)
    await writer.commit()
    assert hashlib.sha256(await asyncio.to_thread(_read, store, key)).hexdigest() == hashlib.sha256(data).hexdigest()
    stat = await asyncio.to_thread(store.client.stat_object, store.bucket, key)
    assert stat.content_type == "application/pdf"
    assert await asyncio.to_thread(pending_multipart_uploads, store, key) == []
    await writer.abort()
    assert not await store.exists(key)


async def test_a_failing_part_aborts_the_multipart_upload(s3_server, s3_bucket, monkeypatch):
    store = make_s3_store(s3_server, s3_bucket)
    upload_part = store.client._upload_part

    def failing(bucket, key, data, headers, upload_id, number):
        if number == 2:
            raise OSError("the store went away")
        return upload_part(bucket, key, data, headers, upload_id, number)

    monkeypatch.setattr(store.client, "_upload_part", failing)
    key = object_key(uuid.uuid4(), uuid.uuid4(), uuid.uuid4())
    writer = store.writer(key, "application/pdf")
    data = _bytes(4 * PART_SIZE)
    # the failure surfaces on a later write or on the commit, whichever comes first
    with pytest.raises(StorageError, match="went away|stopped accepting"):
        for start in range(0, len(data), 300_000):
            await writer.write(data[start:start + 300_000])
        await writer.commit()
    await writer.abort()
    assert await asyncio.to_thread(pending_multipart_uploads, store, key) == []
    assert not await store.exists(key)
