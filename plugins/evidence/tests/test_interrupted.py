"""Uploads that fail half-way leave no row and no object: real sockets against a live uvicorn server (the test
client would buffer the whole body first), on both backends."""

from __future__ import annotations

import asyncio
from typing import Any, AsyncIterator, Awaitable, Callable
from urllib.parse import urlparse

import httpx
import pytest

from core.tenancy import unscoped
from plugins.evidence.storage import LocalStore, S3Store, use_store
from plugins.evidence.tables import Evidence, EvidenceVersion
from plugins.evidence.tests.conftest import (
    make_s3_store, multipart_body, pdf_bytes, pending_multipart_uploads, stored_keys, upload,
)

MB = 1024 * 1024
WAIT = 60.0  # an upper bound for the server to react; never an expectation of speed


async def _eventually(check: Callable[[], Awaitable[bool]], what: str) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT
    while not await check():
        if loop.time() > deadline:
            raise AssertionError(f"gave up waiting: {what}")
        await asyncio.sleep(0.05)


async def _in_flight(store: Any, tenant_id: Any) -> bool:
    """The server has begun writing this tenant's upload to the store."""
    if isinstance(store, S3Store):
        return bool(await asyncio.to_thread(pending_multipart_uploads, store, f"{tenant_id}/"))
    return bool(await stored_keys(store, tenant_id))


async def _nothing_left(store: Any, tenant: Any) -> bool:
    with unscoped():
        rows = await Evidence.count().where(Evidence.tenant_id == tenant.id)
    pending = await asyncio.to_thread(pending_multipart_uploads, store, f"{tenant.id}/")
    return rows == 0 and not pending and await stored_keys(store, tenant.id) == []


async def _paced(data: bytes, stop_at: int, before_stop: Callable[[], Awaitable[None]]) -> AsyncIterator[bytes]:
    view = memoryview(data)
    sent = 0
    while sent < stop_at:
        chunk = bytes(view[sent:min(sent + 256 * 1024, stop_at)])
        sent += len(chunk)
        yield chunk
    await before_stop()


class ClientGaveUp(Exception):
    pass


async def test_client_stream_raising_mid_body_leaves_nothing(live_url, tenant, store):
    body = multipart_body({"title": "Biên bản bị ngắt"}, ("lon.pdf", pdf_bytes(14 * MB), "application/pdf"))

    async def content() -> AsyncIterator[bytes]:
        async def wait_then_fail() -> None:
            await _eventually(lambda: _in_flight(store, tenant.id), "the upload reaching the store")
            raise ClientGaveUp()

        async for chunk in _paced(body.content, 12 * MB, wait_then_fail):
            yield chunk

    async with httpx.AsyncClient(base_url=live_url, timeout=WAIT) as real:
        with pytest.raises((ClientGaveUp, httpx.HTTPError)):
            await real.post(tenant.url("/evidence"), content=content(),
                            headers={**tenant.headers(), "Content-Type": body.content_type,
                                     "Content-Length": str(len(body.content))})
    await _eventually(lambda: _nothing_left(store, tenant), "the server to remove the partial upload")


async def test_connection_closed_before_content_length_leaves_nothing(live_url, tenant, store):
    body = multipart_body({"title": "Thân bị cắt"}, ("lon.pdf", pdf_bytes(14 * MB), "application/pdf"))
    url = urlparse(live_url)
    reader, writer = await asyncio.open_connection(url.hostname, url.port)
    head = (f"POST {tenant.url('/evidence')} HTTP/1.1\r\nHost: {url.netloc}\r\n"
            f"Authorization: {tenant.headers()['Authorization']}\r\nContent-Type: {body.content_type}\r\n"
            f"Content-Length: {len(body.content)}\r\n\r\n").encode()
    writer.write(head)
    cut = 12 * MB
    for start in range(0, cut, 256 * 1024):
        writer.write(body.content[start:min(start + 256 * 1024, cut)])
        await writer.drain()
    await _eventually(lambda: _in_flight(store, tenant.id), "the upload reaching the store")
    writer.close()  # the client goes away with 2 MB still owed
    await writer.wait_closed()
    await _eventually(lambda: _nothing_left(store, tenant), "the server to remove the partial upload")


async def test_chunked_upload_over_the_limit_stops_and_leaves_nothing(live_url, client, tenant, store):
    await client.patch(tenant.url("/evidence/settings"), json={"max_upload_bytes": 6 * MB}, headers=tenant.headers())
    body = multipart_body({"title": "Quá lớn"}, ("lon.pdf", pdf_bytes(9 * MB), "application/pdf"))

    async def content() -> AsyncIterator[bytes]:  # no Content-Length: the limit is found while streaming
        for start in range(0, len(body.content), 256 * 1024):
            yield body.content[start:start + 256 * 1024]

    async with httpx.AsyncClient(base_url=live_url, timeout=WAIT) as real:
        try:
            response = await real.post(tenant.url("/evidence"), content=content(),
                                       headers={**tenant.headers(), "Content-Type": body.content_type})
        except httpx.HTTPError:  # the server may close while the client still writes: also a refusal
            response = None
    if response is not None:
        assert response.status_code == 413, response.text
        assert response.headers["content-type"].startswith("application/problem+json")
    await _eventually(lambda: _nothing_left(store, tenant), "nothing stored")


async def test_row_that_cannot_be_written_takes_its_object_along(live_url, client, tenant, store):
    """A new version whose evidence is deleted while the file streams: 404, and the new object is removed."""
    created = (await upload(client, tenant, data=pdf_bytes(seed=1))).json()
    body = multipart_body({}, ("v2.pdf", pdf_bytes(9 * MB, seed=2), "application/pdf"))
    released = asyncio.Event()

    async def content() -> AsyncIterator[bytes]:
        async def pause() -> None:
            await released.wait()

        async for chunk in _paced(body.content, len(body.content) - 1000, pause):
            yield chunk
        yield body.content[-1000:]

    async def delete_meanwhile() -> None:
        def two_objects() -> Awaitable[bool]:
            async def check() -> bool:
                keys = await stored_keys(store, tenant.id)
                pending = await asyncio.to_thread(pending_multipart_uploads, store, f"{tenant.id}/")
                return len(keys) + len(pending) >= 2
            return check()

        await _eventually(two_objects, "the new version reaching the store")
        response = await client.delete(tenant.url(f"/evidence/{created['id']}"), headers=tenant.headers())
        assert response.status_code == 204
        released.set()

    async with httpx.AsyncClient(base_url=live_url, timeout=WAIT) as real:
        deleter = asyncio.ensure_future(delete_meanwhile())
        response = await real.post(tenant.url(f"/evidence/{created['id']}/versions"), content=content(),
                                   headers={**tenant.headers(), "Content-Type": body.content_type,
                                            "Content-Length": str(len(body.content))})
        await deleter
    assert response.status_code == 404, response.text
    with unscoped():
        versions = await EvidenceVersion.select(EvidenceVersion.object_key).where(
            EvidenceVersion.evidence_id == created["id"])
    assert len(versions) == 1
    await _eventually(lambda: _keys_are(store, tenant.id, [versions[0]["object_key"]]), "only version 1 stored")


async def _keys_are(store: Any, tenant_id: Any, expected: list[str]) -> bool:
    pending = await asyncio.to_thread(pending_multipart_uploads, store, f"{tenant_id}/")
    return not pending and await stored_keys(store, tenant_id) == expected


@pytest.mark.parametrize("backend", ["local", "s3"])
async def test_a_failing_store_is_503_and_records_nothing(client, tenant, tmp_path, s3_server, backend):
    if backend == "local":
        blocker = tmp_path / "not-a-folder"
        blocker.write_bytes(b"")
        broken: Any = LocalStore(blocker)
    else:
        broken = make_s3_store(s3_server, "no-such-bucket-here")
    use_store(broken)
    try:
        response = await upload(client, tenant, data=pdf_bytes(200_000))
    finally:
        use_store(None)
    assert response.status_code == 503, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    with unscoped():
        assert await Evidence.count().where(Evidence.tenant_id == tenant.id) == 0
