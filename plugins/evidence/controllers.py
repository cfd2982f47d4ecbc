"""HTTP routes of the evidence plugin, mounted by core under `/api/v1/tenants/{tenant_code}/evidence/`.

Uploads read the raw request stream (no UploadFile, which would spool the whole body to a temporary file) and
hand it to `intake.receive`; the route allows a large body and the tenant's own limit is enforced on the way.
"""

from __future__ import annotations

import base64
import dataclasses
import re
import uuid
from typing import Any, AsyncIterator
from urllib.parse import quote

import msgspec
import structlog
from litestar import Controller, Request, Response, delete, get, patch, post
from litestar.exceptions import HTTPException
from litestar.openapi.spec import OpenAPIMediaType, OpenAPIType, Operation, RequestBody, Schema
from litestar.response import Redirect, Stream

from core.errors import NotFound, PayloadTooLarge
from core.schemas import Limit, Offset, Page, to_struct
from core.tenancy.context import TenantContext
from core.text import fold
from plugins.evidence import intake, services
from plugins.evidence.intake import FORM_OVERHEAD, StoreUnavailable
from plugins.evidence.schemas import EvidenceRead, SettingsRead, SettingsUpdate, VersionRead
from plugins.evidence.settings import get_evidence_settings
from plugins.evidence.storage import StorageError, get_store, object_key

log = structlog.get_logger("isogov.evidence")

UPLOAD_DESCRIPTION = (
    "multipart/form-data with the fields `file` (required, one file), `title` (required) and optionally "
    "`target_type` + `target_id` (a record some module accepts attachments on). The file's type is decided by "
    "its bytes: PDF, JPEG, PNG, plain text, Office documents, ZIP of those (415 otherwise); larger than the "
    "tenant's limit: 413."
)


def _form(with_fields: bool) -> RequestBody:
    properties = {"file": Schema(type=OpenAPIType.STRING, format="binary", description="the file (one)")}
    if with_fields:
        properties |= {
            "title": Schema(type=OpenAPIType.STRING, max_length=services.TITLE_MAX),
            "target_type": Schema(type=OpenAPIType.STRING, description="an entity type a module accepts files on"),
            "target_id": Schema(type=OpenAPIType.STRING, description="the id of that record"),
        }
    schema = Schema(type=OpenAPIType.OBJECT, properties=properties,
                    required=["file", "title"] if with_fields else ["file"])
    return RequestBody(content={"multipart/form-data": OpenAPIMediaType(schema=schema)}, required=True)


@dataclasses.dataclass
class UploadOperation(Operation):
    """Documents the multipart body the handler reads from the raw stream (it has no `data` parameter)."""

    def __post_init__(self) -> None:
        self.request_body = _form(with_fields=True)


@dataclasses.dataclass
class VersionOperation(Operation):
    def __post_init__(self) -> None:
        self.request_body = _form(with_fields=False)


def _request_ceiling() -> int:
    return get_evidence_settings().max_bytes_ceiling + FORM_OVERHEAD


def content_disposition(filename: str) -> str:
    """`attachment` with an ASCII fallback name and the exact UTF-8 name (RFC 6266 / RFC 5987)."""
    stem, dot, ext = filename.rpartition(".")
    ascii_name = fold(stem) + dot + fold(ext) if dot and stem else fold(filename)
    ascii_name = re.sub(r"[^A-Za-z0-9._()\- ]+", "_", ascii_name).strip(" ._") or "file"
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename, safe='')}"


async def _body(request: Request) -> AsyncIterator[bytes]:
    try:
        async for chunk in request.stream():
            yield chunk
    except HTTPException as exc:
        if exc.status_code == 413:
            raise PayloadTooLarge("the upload is larger than any tenant may store", field="file") from None
        raise


async def _receive(ctx: TenantContext, request: Request, key: str, text_fields: dict[str, int],
                   before_file: Any = None) -> intake.Upload:
    limits = await services.limits(ctx)
    return await intake.receive(
        content_type=request.headers.get("content-type"), content_length=request.content_length,
        body=_body(request), store=get_store(), key=key, max_bytes=limits.max_upload_bytes,
        text_fields=text_fields, before_file=before_file)


async def _download(ctx: TenantContext, version: dict[str, Any]) -> Response[Any]:
    store = get_store()
    disposition = content_disposition(version["filename"])
    headers = {
        "Content-Disposition": disposition,
        "Cache-Control": "private, no-store",
        "X-Content-Type-Options": "nosniff",
        "Repr-Digest": f"sha-256=:{base64.b64encode(bytes.fromhex(version['sha256'])).decode()}:",
        "ETag": f"\"{version['sha256']}\"",
    }
    try:
        url = await store.presigned_url(version["object_key"], disposition=disposition,
                                        content_type=version["content_type"])
        if url:
            return Redirect(url, status_code=302, headers={"Cache-Control": "no-store"})
        reader = store.iter_bytes(version["object_key"])
        first = await reader.__anext__()  # opens the object now, so a missing one is an error, not a cut response
    except StopAsyncIteration:
        first = b""
    except StorageError as exc:
        log.error("evidence object missing or unreadable", key=version["object_key"], error=str(exc))
        raise NotFound(f"the file of version {version['version']} is missing from the store; "
                       "the operators have been alerted") from None
    except Exception as exc:
        log.exception("evidence store failed", key=version["object_key"])
        raise StoreUnavailable("the file store is unavailable; try again later") from exc

    async def content() -> AsyncIterator[bytes]:
        try:
            if first:
                yield first
            async for chunk in reader:
                yield chunk
        finally:
            await reader.aclose()

    headers["Content-Length"] = str(version["size"])
    return Stream(content(), media_type=version["content_type"], headers=headers)


class EvidenceController(Controller):
    path = "/"

    @post("/", summary="Upload a file as new evidence", description=UPLOAD_DESCRIPTION, status_code=201,
          opt={"permission": "evidence.write"}, request_max_body_size=_request_ceiling(),
          operation_class=UploadOperation)
    async def upload(self, ctx: TenantContext, request: Request) -> EvidenceRead:
        evidence_id, version_id = uuid.uuid4(), uuid.uuid4()

        async def before_file(fields: dict[str, str]) -> None:
            await services.validate_fields(ctx, fields, partial=True)

        upload = await _receive(ctx, request, object_key(ctx.tenant.id, evidence_id, version_id),
                                services.TEXT_FIELDS, before_file)
        try:
            new = await services.validate_fields(ctx, upload.fields)
            row = await services.record_new(ctx, evidence_id=evidence_id, version_id=version_id, new=new,
                                            stored=upload.file)
        except BaseException:
            await upload.discard()
            raise
        log.info("evidence stored", evidence_id=str(evidence_id), version=1, size=upload.file.size,
                 content_type=upload.file.content_type)
        return to_struct(row, EvidenceRead)

    @get("/", summary="List evidence of the tenant, or of one record", opt={"permission": "evidence.read"})
    async def list_evidence(self, ctx: TenantContext, target_type: str | None = None, target_id: str | None = None,
                            q: str | None = None, limit: Limit = 50, offset: Offset = 0) -> Page[EvidenceRead]:
        items, total = await services.list_evidence(ctx, target_type=target_type, target_id=target_id, q=q,
                                                    limit=limit, offset=offset, into=EvidenceRead)
        return Page(items=items, total=total, limit=limit, offset=offset)

    @get("/settings", summary="The tenant's upload limit and retention of deleted files",
         opt={"permission": "evidence.read"})
    async def read_settings(self, ctx: TenantContext) -> SettingsRead:
        return to_struct(dataclasses.asdict(await services.limits(ctx)), SettingsRead)

    @patch("/settings", summary="Change the tenant's upload limit or retention (null: platform default)",
           opt={"permission": "evidence.manage"})
    async def update_settings(self, ctx: TenantContext, data: SettingsUpdate) -> SettingsRead:
        changes = {k: v for k, v in msgspec.structs.asdict(data).items() if v is not msgspec.UNSET}
        return to_struct(dataclasses.asdict(await services.update_limits(ctx, changes)), SettingsRead)

    @get("/{evidence_id:uuid}", summary="Read the metadata of a piece of evidence", opt={"permission": "evidence.read"})
    async def read(self, ctx: TenantContext, evidence_id: uuid.UUID) -> EvidenceRead:
        row = await services.get(ctx, evidence_id)
        await services.ensure_readable(ctx, row)
        return to_struct(row, EvidenceRead)

    @delete("/{evidence_id:uuid}", summary="Delete a piece of evidence (kept until the tenant's retention ends)",
            opt={"permission": "evidence.delete_own"})
    async def remove(self, ctx: TenantContext, evidence_id: uuid.UUID) -> None:
        await services.soft_delete(ctx, evidence_id)

    @get("/{evidence_id:uuid}/content", summary="Download the current version (may redirect to a short-lived URL)",
         opt={"permission": "evidence.read"})
    async def content(self, ctx: TenantContext, evidence_id: uuid.UUID) -> Response[Any]:
        row = await services.get(ctx, evidence_id)
        await services.ensure_readable(ctx, row)
        return await _download(ctx, await services.get_version(ctx, evidence_id))

    @get("/{evidence_id:uuid}/versions", summary="List the versions of a piece of evidence, newest first",
         opt={"permission": "evidence.read"})
    async def versions(self, ctx: TenantContext, evidence_id: uuid.UUID, limit: Limit = 50,
                       offset: Offset = 0) -> Page[VersionRead]:
        await services.ensure_readable(ctx, await services.get(ctx, evidence_id))
        rows, total = await services.list_versions(ctx, evidence_id, limit=limit, offset=offset)
        return Page(items=[to_struct(r, VersionRead) for r in rows], total=total, limit=limit, offset=offset)

    @post("/{evidence_id:uuid}/versions", summary="Upload a new version of a piece of evidence",
          description="multipart/form-data with the one field `file`; the same type and size rules as an upload.",
          status_code=201, opt={"permission": "evidence.write"}, request_max_body_size=_request_ceiling(),
          operation_class=VersionOperation)
    async def new_version(self, ctx: TenantContext, request: Request, evidence_id: uuid.UUID) -> EvidenceRead:
        current = await services.get(ctx, evidence_id)
        await services.ensure_version_writable(ctx, current)
        version_id = uuid.uuid4()
        upload = await _receive(ctx, request, object_key(ctx.tenant.id, current["id"], version_id),
                                services.VERSION_FIELDS)
        try:
            row = await services.record_version(ctx, evidence_id=current["id"], version_id=version_id,
                                                stored=upload.file)
        except BaseException:
            await upload.discard()
            raise
        log.info("evidence stored", evidence_id=str(current["id"]), version=row["version"], size=upload.file.size,
                 content_type=upload.file.content_type)
        return to_struct(row, EvidenceRead)

    @get("/{evidence_id:uuid}/versions/{version:int}", summary="Read the metadata of one version",
         opt={"permission": "evidence.read"})
    async def read_version(self, ctx: TenantContext, evidence_id: uuid.UUID, version: int) -> VersionRead:
        await services.ensure_readable(ctx, await services.get(ctx, evidence_id))
        return to_struct(await services.get_version(ctx, evidence_id, version), VersionRead)

    @get("/{evidence_id:uuid}/versions/{version:int}/content", summary="Download one version",
         opt={"permission": "evidence.read"})
    async def version_content(self, ctx: TenantContext, evidence_id: uuid.UUID, version: int) -> Response[Any]:
        await services.ensure_readable(ctx, await services.get(ctx, evidence_id))
        return await _download(ctx, await services.get_version(ctx, evidence_id, version))
