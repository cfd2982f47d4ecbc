"""Receiving one upload: a multipart/form-data body parsed as it arrives, its file part streamed to the store.

Nothing is buffered whole, in memory or on disk: the body's chunks go through an incremental parser
(`multipart.PushMultipartParser`); the file's first bytes decide its type (415 before anything is stored);
the rest is hashed (SHA-256), counted against the tenant's limit (413) and handed to the store's writer; its
last `TAIL_BYTES` are kept (references to the chunks, no copy) so a PDF, JPEG or PNG is checked for a hidden
archive without reading the stored object back (only ZIP and OLE2 containers are).
Any failure — a bad body, a disallowed type, the limit, the client going away, the store failing — removes
what was written and raises a problem error. The caller writes the metadata row and calls `Upload.discard()`
if that fails, so an upload is either fully stored and recorded, or leaves nothing.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import unicodedata
from collections import deque
from dataclasses import dataclass, field
from typing import AsyncIterator, Awaitable, Callable
from urllib.parse import unquote

import multipart
import structlog

from core.errors import BadRequest, PayloadTooLarge, ProblemError, UnsupportedMediaType
from plugins.evidence.sniff import (HEAD_BYTES, TAIL_BYTES, TEXT, NotAllowed, Sniffed, TextValidator, check_container,
                                   check_tail, sniff_head)
from plugins.evidence.storage import ObjectWriter, StorageError, Store

log = structlog.get_logger("isogov.evidence.intake")

FILE_FIELD = "file"
FORM_OVERHEAD = 64 * 1024  # multipart framing and text fields allowed on top of the file's own limit
MAX_FILENAME = 255


class StoreUnavailable(ProblemError):
    status_code = 503


class UploadInterrupted(BadRequest):
    """The client stopped sending before the body was complete."""


@dataclass
class StoredFile:
    key: str
    filename: str
    content_type: str
    size: int
    sha256: str


@dataclass
class Upload:
    fields: dict[str, str]
    file: StoredFile
    _writer: ObjectWriter = field(repr=False)

    async def discard(self) -> None:
        """Remove the stored object (the metadata could not be written)."""
        await _shielded(self._writer.abort())


async def _shielded(coro: Awaitable[None]) -> None:
    """Run a clean-up to its end even if the request task is being cancelled."""
    task = asyncio.ensure_future(coro)
    try:
        await asyncio.shield(task)
    except asyncio.CancelledError:
        await task
        raise


def boundary_of(content_type: str | None) -> str:
    media, options = multipart.parse_options_header(content_type or "")
    if media != "multipart/form-data":
        raise UnsupportedMediaType("send the upload as multipart/form-data with the fields `file`, `title`, ...")
    boundary = options.get("boundary", "")
    if not boundary or len(boundary) > 200:
        raise BadRequest("the multipart/form-data Content-Type has no usable boundary")
    return boundary


def clean_filename(raw: str | None) -> str:
    """The user's file name as a label only: NFC, no folders, no control characters, at most 255 characters."""
    name = unicodedata.normalize("NFC", raw or "")
    name = re.split(r"[\\/]", name)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C").strip()
    if name in {"", ".", ".."}:
        return "tep-tin"
    if len(name) > MAX_FILENAME:
        stem, dot, ext = name.rpartition(".")
        if dot and 0 < len(ext) <= 16:
            name = stem[:MAX_FILENAME - len(ext) - 1] + "." + ext
        else:
            name = name[:MAX_FILENAME]
    return name


_FILENAME_STAR = re.compile(r"filename\*\s*=\s*([^;]+)", re.IGNORECASE)


def _segment_filename(segment: multipart.MultipartSegment) -> str | None:
    """`filename`, or the RFC 5987 `filename*` some clients send for non-ASCII names."""
    header = segment.header("Content-Disposition", "") or ""
    match = _FILENAME_STAR.search(header)
    if match:
        value = match.group(1).strip().strip('"')
        charset, _, rest = value.partition("'")
        _lang, _, encoded = rest.partition("'")
        try:
            return unquote(encoded, encoding=charset or "utf-8", errors="strict")
        except (LookupError, UnicodeDecodeError):
            raise BadRequest("the file name in filename* cannot be decoded", field=FILE_FIELD) from None
    return segment.filename


class _FilePart:
    """The file part in flight: head buffer, type, hash, size, the store's writer."""

    def __init__(self, store: Store, key: str, filename: str, max_bytes: int) -> None:
        self.store, self.key, self.filename, self.max_bytes = store, key, filename, max_bytes
        self.head = bytearray()
        self.sniffed: Sniffed | None = None
        self.text: TextValidator | None = None
        self.writer: ObjectWriter | None = None
        self.hash = hashlib.sha256()
        self.size = 0
        self.complete = False
        self._tail: deque[bytes] = deque()  # the last chunks, at least TAIL_BYTES of them (no copies)
        self._tail_bytes = 0

    async def feed(self, data: bytes) -> None:
        self.size += len(data)
        if self.size > self.max_bytes:
            raise PayloadTooLarge(f"the file is larger than this tenant's limit of {_human(self.max_bytes)}",
                                  field=FILE_FIELD, limit_bytes=self.max_bytes)
        self.hash.update(data)
        self._tail.append(data)
        self._tail_bytes += len(data)
        while self._tail_bytes - len(self._tail[0]) >= TAIL_BYTES:
            self._tail_bytes -= len(self._tail.popleft())
        if self.writer is None:
            self.head += data
            if len(self.head) >= HEAD_BYTES:
                await self._start(complete=False)
            return
        if self.text is not None:
            self.text.feed(data)
        await self.writer.write(data)

    async def _start(self, *, complete: bool) -> None:
        head = bytes(self.head)
        self.head = bytearray()
        self.sniffed = sniff_head(head, self.filename, complete=complete)
        if self.sniffed.kind == TEXT:
            self.text = TextValidator(self.sniffed.encoding or "utf-8")
            self.text.feed(head)
        self.writer = self.store.writer(self.key, self.sniffed.content_type)
        await self.writer.write(head)

    async def finish(self) -> StoredFile:
        if self.size == 0:
            raise BadRequest("the file is empty", field=FILE_FIELD)
        if self.writer is None:
            await self._start(complete=True)
        assert self.writer is not None and self.sniffed is not None
        if self.text is not None:
            self.text.feed(b"", final=True)
        content_type: str | None = self.sniffed.content_type
        if self.sniffed.needs_complete_check:
            # PDF, JPEG, PNG: checked on the tail kept while streaming, before the object is complete; containers
            # (ZIP, OLE2) are read back from the store once it is
            content_type = check_tail(self.sniffed, self.size, b"".join(self._tail)[-TAIL_BYTES:])
        self._tail.clear()
        await self.writer.commit()
        if content_type is None:
            content_type = await asyncio.to_thread(self._check_container)
        self.complete = True
        return StoredFile(key=self.key, filename=self.filename, content_type=content_type, size=self.size,
                          sha256=self.hash.hexdigest())

    def _check_container(self) -> str:
        assert self.sniffed is not None
        try:
            with self.store.open_seekable(self.key) as handle:
                return check_container(self.sniffed, handle)
        except NotAllowed:
            raise
        except Exception as exc:
            raise StorageError(f"the stored file cannot be read back: {exc}") from exc

    async def abort(self) -> None:
        if self.writer is not None:
            await _shielded(self.writer.abort())


async def store_bytes(*, store: Store, key: str, filename: str, data: bytes, max_bytes: int) -> Upload:
    """Store bytes the server already holds (demo data, imports) through the same checks as an upload."""
    part = _FilePart(store, key, clean_filename(filename), max_bytes)
    try:
        for start in range(0, len(data), 256 * 1024):
            await part.feed(data[start:start + 256 * 1024])
        file = await part.finish()
    except NotAllowed as exc:
        await part.abort()
        raise UnsupportedMediaType(str(exc), field=FILE_FIELD) from None
    except BaseException:
        await part.abort()
        raise
    return Upload(fields={}, file=file, _writer=part.writer)  # type: ignore[arg-type]


def _human(n: int) -> str:
    for unit, size in (("GB", 1024 ** 3), ("MB", 1024 ** 2), ("KB", 1024)):
        if n >= size:
            return f"{n / size:.4g} {unit} ({n} bytes)"
    return f"{n} bytes"


async def receive(*, content_type: str | None, content_length: int | None, body: AsyncIterator[bytes],
                  store: Store, key: str, max_bytes: int, text_fields: dict[str, int],
                  before_file: Callable[[dict[str, str]], Awaitable[None]] | None = None) -> Upload:
    """Parse a multipart body whose one file part goes to `store` under `key`; return the fields and the file.

    `text_fields` maps the allowed text fields to their longest length in characters (any other field is a
    400 naming it). `before_file(fields)` runs when the file part starts, with the text fields seen so far, so
    bad input is refused before a byte is stored.
    """
    boundary = boundary_of(content_type)
    if content_length is not None and content_length > max_bytes + FORM_OVERHEAD:
        raise PayloadTooLarge(f"the upload is larger than this tenant's limit of {_human(max_bytes)}",
                              field=FILE_FIELD, limit_bytes=max_bytes)
    parser = multipart.PushMultipartParser(boundary, max_header_size=4096, max_header_count=8,
                                           max_segment_count=len(text_fields) + 2, strict=False)
    fields: dict[str, str] = {}
    part: _FilePart | None = None
    current: str | None = None  # the field being read
    text = bytearray()
    received = 0
    try:
        try:
            async for chunk in body:
                if not chunk:
                    continue
                received += len(chunk)
                if received > max_bytes + FORM_OVERHEAD:
                    raise PayloadTooLarge(f"the upload is larger than this tenant's limit of {_human(max_bytes)}",
                                          field=FILE_FIELD, limit_bytes=max_bytes)
                for event in parser.parse(chunk):
                    if isinstance(event, multipart.MultipartSegment):
                        current = event.name or ""
                        if current == FILE_FIELD:
                            if part is not None:
                                raise BadRequest("send exactly one file", field=FILE_FIELD)
                            filename = _segment_filename(event)
                            if filename is None:
                                raise BadRequest("the field `file` must be a file", field=FILE_FIELD)
                            if before_file is not None:
                                await before_file(dict(fields))
                            part = _FilePart(store, key, clean_filename(filename), max_bytes)
                        elif current in text_fields:
                            if current in fields or event.filename is not None:
                                raise BadRequest(f"the field `{current}` must be sent once, as text", field=current)
                            text = bytearray()
                        else:
                            raise BadRequest(f"unknown field `{current}`", field=current or None)
                    elif event is None:
                        if current == FILE_FIELD:
                            assert part is not None
                            file = await part.finish()
                        elif current is not None:
                            try:
                                value = text.decode("utf-8")
                            except UnicodeDecodeError:
                                raise BadRequest(f"the field `{current}` is not valid UTF-8 text", field=current) \
                                    from None
                            if "\x00" in value:  # PostgreSQL cannot store it: a 500 otherwise
                                raise BadRequest(f"the field `{current}` contains a NUL character", field=current)
                            fields[current] = unicodedata.normalize("NFC", value)
                        current = None
                    elif current == FILE_FIELD:
                        assert part is not None
                        await part.feed(bytes(event))
                    else:
                        text += event
                        if len(text) > 4 * text_fields[current or ""]:
                            raise BadRequest(f"the field `{current}` is too long", field=current)
        except ProblemError:
            raise
        except multipart.MultipartError as exc:
            raise BadRequest(f"the multipart body is malformed: {exc}") from None
        except (NotAllowed, StorageError):
            raise
        except Exception as exc:  # reading the body failed: the client went away or sent garbage framing
            raise UploadInterrupted(f"the upload was interrupted before it was complete ({exc})") from exc
        try:
            parser.close()
        except multipart.MultipartError:
            raise UploadInterrupted("the upload ended before the multipart body was complete") from None
        if part is None or not part.complete:
            raise BadRequest("the field `file` is required", field=FILE_FIELD)
        for name, value in fields.items():
            if len(value) > text_fields[name]:
                raise BadRequest(f"the field `{name}` is longer than {text_fields[name]} characters", field=name)
        return Upload(fields=fields, file=file, _writer=part.writer)  # type: ignore[arg-type]
    except NotAllowed as exc:
        if part is not None:
            await part.abort()
        raise UnsupportedMediaType(f"{exc}; allowed are PDF, JPEG, PNG, plain text, Office documents and ZIP "
                                   "archives of those", field=FILE_FIELD) from None
    except StorageError as exc:
        if part is not None:
            await part.abort()
        log.error("evidence store failed during an upload", key=key, error=str(exc))
        raise StoreUnavailable("the file store is unavailable; nothing was stored, try again later") from None
    except BaseException:
        if part is not None:
            await part.abort()
        raise
