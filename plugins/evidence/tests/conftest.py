"""Fixtures of the evidence tests: both backends (a local folder and a real S3 server on loopback), a live
uvicorn server for interrupted uploads, and helpers that build multipart bodies byte by byte."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import io
import socket
import uuid
import zipfile
from dataclasses import dataclass
from typing import Any, AsyncIterator, Iterator

import httpx
import pytest

from plugins.evidence.storage import LocalStore, S3Store, Store, use_store

S3_KEYS = {"access_key": "testing-access", "secret_key": "testing-secret"}
PART_SIZE = 5 * 1024 * 1024  # S3's smallest part: big uploads in the tests really go multipart


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def s3_server() -> Iterator[str]:
    """A real S3 server (moto in server mode) on a free loopback port, for the whole session."""
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"127.0.0.1:{port}"
    finally:
        server.stop()


@pytest.fixture(scope="session")
def s3_bucket(s3_server: str) -> str:
    from minio import Minio

    bucket = f"isogov-evidence-{uuid.uuid4().hex[:8]}"
    Minio(s3_server, secure=False, region="us-east-1", **S3_KEYS).make_bucket(bucket)
    return bucket


def make_s3_store(endpoint: str, bucket: str, *, presign: bool = True) -> S3Store:
    return S3Store(endpoint=endpoint, bucket=bucket, secure=False, region="us-east-1", part_size=PART_SIZE,
                   presign=presign, presign_seconds=120, **S3_KEYS)


@pytest.fixture(params=["local", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Any) -> Iterator[Store]:
    """The store the app uses during one test: every test taking it runs once per backend."""
    if request.param == "local":
        chosen: Store = LocalStore(tmp_path / "evidence")
    else:
        chosen = make_s3_store(request.getfixturevalue("s3_server"), request.getfixturevalue("s3_bucket"))
    use_store(chosen)
    try:
        yield chosen
    finally:
        use_store(None)


@pytest.fixture
async def tenant(make_tenant: Any) -> Any:
    return await make_tenant(modules=["evidence", "example"])


# --- a live server: the test client buffers request bodies, a real socket does not -----------------------------


@pytest.fixture(scope="session")
async def live_url(app: Any, client: Any) -> AsyncIterator[str]:
    """The same app served by uvicorn on a loopback port, in the test session's event loop."""
    import uvicorn

    class QuietServer(uvicorn.Server):
        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:  # leave pytest's signal handlers alone
            yield

    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    port = sock.getsockname()[1]
    server = QuietServer(uvicorn.Config(app, lifespan="off", log_level="warning", access_log=False))
    task = asyncio.ensure_future(server.serve(sockets=[sock]))
    for _ in range(500):
        if server.started:
            break
        await asyncio.sleep(0.01)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    await task
    sock.close()


# --- bodies ---------------------------------------------------------------------------------------------------


@dataclass
class Body:
    content: bytes
    content_type: str


def multipart_body(fields: dict[str, str] | None = None, file: tuple[str, bytes, str] | None = None, *,
                   file_first: bool = False, raw_disposition: str | None = None) -> Body:
    """A multipart/form-data body; the file name is sent as raw UTF-8, as browsers do."""
    boundary = f"----isogov{uuid.uuid4().hex}"
    parts: list[bytes] = []
    for name, value in (fields or {}).items():
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
                     + value.encode("utf-8") + b"\r\n")
    if file is not None:
        filename, data, claimed = file
        disposition = raw_disposition or f'form-data; name="file"; filename="{filename}"'
        part = (f"--{boundary}\r\nContent-Disposition: {disposition}\r\nContent-Type: {claimed}\r\n\r\n"
                .encode("utf-8") + data + b"\r\n")
        if file_first:
            parts.insert(0, part)
        else:
            parts.append(part)
    return Body(b"".join(parts) + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}")


def pdf_bytes(size: int = 4000, seed: int = 1) -> bytes:
    """A PDF-signed blob of `size` bytes (content after the header is pseudo-random)."""
    head = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"
    block = hashlib.sha256(str(seed).encode()).digest() * 2048
    out = bytearray(head)
    while len(out) < size:
        out += block
    return bytes(out[:size])


PNG_BYTES = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4"
             b"\x89\x00\x00\x00\rIDATx\x9cc\xf8\xff\xff?\x00\x05\xfe\x02\xfe\xa7\x35\x81\x84\x00\x00\x00\x00IEND"
             b"\xaeB`\x82")
EXE_BYTES = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 48 + b"PE\x00\x00" + b"\x00" * 400


def docx_bytes(text: str = "Biên bản kiểm tra") -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types/>')
        archive.writestr("_rels/.rels", "<Relationships/>")
        archive.writestr("word/document.xml", f"<w:document><w:t>{text}</w:t></w:document>")
    return buffer.getvalue()


def zip_bytes(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


async def upload(client: Any, tenant: Any, *, title: str = "Quyết định công bố", filename: str = "quyet-dinh.pdf",
                 data: bytes | None = None, claimed: str = "application/pdf", role: str = "tenant_admin",
                 extra: dict[str, str] | None = None, path: str = "/evidence") -> httpx.Response:
    fields = {"title": title, **(extra or {})}
    body = multipart_body(fields, (filename, pdf_bytes() if data is None else data, claimed))
    return await client.post(tenant.url(path), content=body.content,
                             headers={**tenant.headers(role), "Content-Type": body.content_type})


async def new_version(client: Any, tenant: Any, evidence_id: Any, *, filename: str, data: bytes,
                      claimed: str = "application/octet-stream", role: str = "tenant_admin") -> httpx.Response:
    body = multipart_body({}, (filename, data, claimed))
    return await client.post(tenant.url(f"/evidence/{evidence_id}/versions"), content=body.content,
                             headers={**tenant.headers(role), "Content-Type": body.content_type})


@dataclass
class Download:
    status: int
    headers: httpx.Headers
    content: bytes
    redirected: bool


async def download(client: Any, url: str, headers: dict[str, str]) -> Download:
    """GET a content route; a redirect to a presigned URL is followed with a real HTTP client."""
    response = await client.get(url, headers=headers, follow_redirects=False)
    if response.status_code in (302, 303, 307):
        location = response.headers["location"]
        assert location.startswith("http://127.0.0.1:"), location
        async with httpx.AsyncClient() as real:
            fetched = await real.get(location)
        return Download(fetched.status_code, fetched.headers, fetched.content, True)
    return Download(response.status_code, response.headers, response.content, False)


async def stored_keys(store: Store, tenant_id: Any = None) -> list[str]:
    """Every object (and local temporary file) of the store, optionally of one tenant."""
    objects = await asyncio.to_thread(store.list_objects)
    keys = [obj.key for obj in objects]
    if tenant_id is not None:
        keys = [key for key in keys if key.startswith(f"{tenant_id}/")]
    return keys


def pending_multipart_uploads(store: Store, prefix: str) -> list[str]:
    """In-progress S3 multipart uploads under a prefix (the minio client has no public call for this)."""
    if not isinstance(store, S3Store):
        return []
    result = store.client._list_multipart_uploads(store.bucket, prefix=prefix)  # noqa: SLF001
    return [upload.object_name for upload in result.uploads]
