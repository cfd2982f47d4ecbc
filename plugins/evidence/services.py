"""Queries and rules of the evidence plugin: targets, limits, metadata rows, versions, soft delete. No HTTP."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Sequence

import structlog
from piccolo.query.functions.aggregate import Count, Sum

from core.contracts import EvidenceTarget, Indicator
from core.db import transaction
from core.errors import BadRequest, Forbidden, NotFound, ProblemError
from core.tenancy.guards import module_enabled
from core.plugins import get_plugin_system
from core.tenancy.context import TenantContext
from core.text import fold, like_pattern
from plugins.evidence import NAME
from plugins.evidence.intake import StoredFile
from plugins.evidence.settings import get_evidence_settings
from plugins.evidence.tables import Evidence, EvidenceSettingsRow, EvidenceVersion

log = structlog.get_logger("isogov.evidence")

TITLE_MAX = 500
TEXT_FIELDS = {"title": TITLE_MAX, "target_type": 63, "target_id": 100}
VERSION_FIELDS: dict[str, int] = {}


def _now() -> datetime:
    return datetime.now(timezone.utc)


# --- per-tenant settings ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Limits:
    max_upload_bytes: int
    retention_days: int
    default_max_upload_bytes: int
    default_retention_days: int
    max_upload_bytes_ceiling: int


async def limits(ctx: TenantContext) -> Limits:
    settings = get_evidence_settings()
    row = await ctx.scope(EvidenceSettingsRow).select().first()
    own_max = row["max_upload_bytes"] if row else None
    own_retention = row["retention_days"] if row else None
    return Limits(
        max_upload_bytes=min(own_max if own_max is not None else settings.max_bytes, settings.max_bytes_ceiling),
        retention_days=own_retention if own_retention is not None else settings.retention_days,
        default_max_upload_bytes=settings.max_bytes,
        default_retention_days=settings.retention_days,
        max_upload_bytes_ceiling=settings.max_bytes_ceiling,
    )


async def update_limits(ctx: TenantContext, changes: dict[str, Any]) -> Limits:
    """Set the tenant's own values (None restores the platform default)."""
    ceiling = get_evidence_settings().max_bytes_ceiling
    value = changes.get("max_upload_bytes")
    if value is not None and value > ceiling:
        raise BadRequest(f"max_upload_bytes may be at most {ceiling} on this platform", field="max_upload_bytes")
    if changes:
        scope = ctx.scope(EvidenceSettingsRow)
        row = await scope.select().first()
        if row is None:
            await scope.insert(changes)
        else:
            await scope.update(row["id"], changes)
    return await limits(ctx)


# --- targets ---------------------------------------------------------------------------------------------------


def declared_targets() -> dict[str, EvidenceTarget]:
    """Every entity type any installed plugin accepts attachments on (the registry built at start-up)."""
    return get_plugin_system().evidence_targets()


async def check_target(ctx: TenantContext, target_type: str, target_id: str, *, write: bool) -> EvidenceTarget:
    """400 for a type no plugin enabled for this tenant declares; the owning plugin's 404 / 403 otherwise."""
    target = declared_targets().get(target_type)
    if target is None or not await module_enabled(ctx.tenant.id, target.module):
        known = [t for t, v in sorted(declared_targets().items()) if await module_enabled(ctx.tenant.id, v.module)]
        raise BadRequest(f"unknown target_type {target_type!r}; this tenant accepts: {', '.join(known) or 'none'}",
                         field="target_type")
    try:
        await target.check(ctx, target_id, write)
    except NotFound as exc:
        raise NotFound(exc.detail, field="target_id") from None
    except Forbidden as exc:
        raise Forbidden(exc.detail, field="target_id") from None
    except ProblemError:
        raise
    except Exception:
        log.exception("evidence target check failed", target_type=target_type, module=target.module)
        raise NotFound(f"{target.title} {target_id} cannot be checked now", field="target_id") from None
    return target


@dataclass(frozen=True)
class NewEvidence:
    title: str
    target_type: str | None
    target_id: str | None


async def validate_fields(ctx: TenantContext, fields: dict[str, str], *, partial: bool = False) -> NewEvidence:
    """Check the text fields of an upload. `partial`: only what has arrived so far (title may follow)."""
    title = " ".join((fields.get("title") or "").split())
    if not title and not (partial and "title" not in fields):
        raise BadRequest("the field `title` is required", field="title")
    if len(title) > TITLE_MAX:
        raise BadRequest(f"the title is longer than {TITLE_MAX} characters", field="title")
    target_type = (fields.get("target_type") or "").strip() or None
    target_id = (fields.get("target_id") or "").strip() or None
    if target_type and not target_id and not (partial and "target_id" not in fields):
        raise BadRequest("`target_id` is required with `target_type`", field="target_id")
    if target_id and not target_type and not (partial and "target_type" not in fields):
        raise BadRequest("`target_type` is required with `target_id`", field="target_type")
    if target_type and target_id:
        await check_target(ctx, target_type, target_id, write=True)
    return NewEvidence(title=title, target_type=target_type, target_id=target_id)


async def ensure_readable(ctx: TenantContext, row: dict[str, Any]) -> None:
    """The owning plugin may forbid reading a record's evidence; a record since removed does not hide it."""
    if not row["target_type"]:
        return
    target = declared_targets().get(row["target_type"])
    if target is None or not await module_enabled(ctx.tenant.id, target.module):
        return
    try:
        await target.check(ctx, row["target_id"], False)
    except NotFound:
        return
    except Forbidden as exc:
        raise Forbidden(exc.detail) from None


async def ensure_version_writable(ctx: TenantContext, row: dict[str, Any]) -> None:
    """Who may add a version: as for attaching to the record; untargeted evidence: agency officers only their own."""
    if row["target_type"]:
        await check_target(ctx, row["target_type"], row["target_id"], write=True)
    elif ctx.is_agency_bound and row["created_by"] != ctx.actor.id:
        raise Forbidden("an agency officer may add versions only to evidence it uploaded itself")


# --- rows --------------------------------------------------------------------------------------------------------


def _uploader(ctx: TenantContext) -> dict[str, Any]:
    return {"uploaded_by": ctx.actor.id, "uploaded_by_name": (ctx.actor.full_name or ctx.actor.email)[:254]}


def _file_values(stored: StoredFile) -> dict[str, Any]:
    return {"filename": stored.filename, "content_type": stored.content_type, "size": stored.size,
            "sha256": stored.sha256}


async def get(ctx: TenantContext, evidence_id: Any) -> dict[str, Any]:
    return await ctx.scope(Evidence).get(evidence_id, label="evidence")


async def record_new(ctx: TenantContext, *, evidence_id: uuid.UUID, version_id: uuid.UUID, new: NewEvidence,
                     stored: StoredFile) -> dict[str, Any]:
    """Write the rows of a new piece of evidence whose file (version 1) is completely stored."""
    now = _now()
    async with transaction():
        await ctx.scope(Evidence).insert({
            "id": evidence_id, "title": new.title, "search_folded": fold(f"{new.title} {stored.filename}")[:1000],
            "target_type": new.target_type, "target_id": new.target_id, "version": 1, **_file_values(stored),
            **_uploader(ctx), "created_by": ctx.actor.id, "created_at": now, "updated_at": now,
        })
        await ctx.scope(EvidenceVersion).insert({
            "id": version_id, "evidence_id": evidence_id, "version": 1, "version_key": f"{evidence_id}:1",
            "object_key": stored.key, **_file_values(stored), **_uploader(ctx), "created_at": now,
        })
        row = await get(ctx, evidence_id)  # read inside: once the commit returns, nothing can fail any more
    return row


async def record_version(ctx: TenantContext, *, evidence_id: uuid.UUID, version_id: uuid.UUID,
                         stored: StoredFile) -> dict[str, Any]:
    """Record a completely stored file as the next version; concurrent uploads get consecutive numbers."""
    for attempt in range(6):
        number: int | None = None
        try:
            async with transaction():
                current = await get(ctx, evidence_id)
                number = current["version"] + 1
                now = _now()
                await ctx.scope(EvidenceVersion).insert({
                    "id": version_id, "evidence_id": evidence_id, "version": number,
                    "version_key": f"{evidence_id}:{number}", "object_key": stored.key, **_file_values(stored),
                    **_uploader(ctx), "created_at": now,
                }, action="create")
                await ctx.scope(Evidence).update(evidence_id, {
                    "version": number, **_file_values(stored), **_uploader(ctx), "updated_at": now,
                    "search_folded": fold(f"{current['title']} {stored.filename}")[:1000],
                }, action="new_version")
                row = await get(ctx, evidence_id)
            return row
        except ProblemError:
            raise
        except Exception:
            taken = number is not None and await ctx.scope(EvidenceVersion).count().where(
                EvidenceVersion.version_key == f"{evidence_id}:{number}") > 0
            if attempt == 5 or not taken:
                raise
            log.info("version number taken by a concurrent upload; retrying", evidence_id=str(evidence_id))
    raise AssertionError("unreachable")


async def list_evidence(ctx: TenantContext, *, target_type: str | None, target_id: str | None, q: str | None,
                        limit: int, offset: int, into: type | None = None) -> tuple[list[Any], int]:
    """A page of the tenant's evidence, newest first (as dicts, or as `into`: see `Scope.page`)."""
    parts: list[tuple[str, str]] = []
    if target_type or target_id:
        if not (target_type and target_id):
            missing = "target_id" if target_type else "target_type"
            raise BadRequest("filter by `target_type` and `target_id` together", field=missing)
        target = await check_target(ctx, target_type, target_id, write=False)
        parts = await target.parts(ctx, target_id) if target.parts is not None else []
    if q and "\x00" in q:
        raise BadRequest("the search text contains a NUL character", field="q")
    conditions = []
    if target_type and target_id:
        condition = (Evidence.target_type == target_type) & (Evidence.target_id == target_id)
        for part_type, part_ids in _group(parts).items():  # files of the entity's parts (a record's events)
            condition = condition | ((Evidence.target_type == part_type) & Evidence.target_id.is_in(part_ids))
        conditions.append(condition)
    if q:
        conditions.append(Evidence.search_folded.like(like_pattern(q)))
    return await ctx.scope(Evidence).page(*conditions, order_by=((Evidence.created_at, False),), limit=limit,
                                          offset=offset, into=into)


def _group(pairs: list[tuple[str, str]]) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = {}
    for kind, ident in pairs:
        grouped.setdefault(kind, []).append(str(ident))
    return grouped


async def list_versions(ctx: TenantContext, evidence_id: uuid.UUID, *, limit: int, offset: int
                        ) -> tuple[list[dict[str, Any]], int]:
    await get(ctx, evidence_id)
    scope = ctx.scope(EvidenceVersion)
    condition = EvidenceVersion.evidence_id == evidence_id
    rows = await scope.select().where(condition).order_by(EvidenceVersion.version, ascending=False) \
        .limit(limit).offset(offset)
    return rows, await scope.count().where(condition)


async def get_version(ctx: TenantContext, evidence_id: uuid.UUID, version: int | None = None) -> dict[str, Any]:
    """A version of a visible piece of evidence (the current one when `version` is None)."""
    row = await get(ctx, evidence_id)
    number = row["version"] if version is None else version
    if not 1 <= number <= 2**31 - 1:  # outside the column's integers (PostgreSQL would refuse the query)
        raise NotFound(f"evidence {evidence_id} has no version {number}")
    found = await ctx.scope(EvidenceVersion).select().where(
        (EvidenceVersion.evidence_id == row["id"]) & (EvidenceVersion.version == number)).first()
    if found is None:
        raise NotFound(f"evidence {evidence_id} has no version {number}")
    if not found["object_key"].startswith(f"{ctx.tenant.id}/"):  # keys are per tenant; never serve another's
        raise NotFound(f"evidence {evidence_id} has no version {number}")
    return found


TAKE_BACK_HOURS = 24


async def soft_delete(ctx: TenantContext, evidence_id: uuid.UUID) -> None:
    """Tenant admins delete any evidence; anyone who may upload takes back a file they uploaded themself (every
    version theirs) within TAKE_BACK_HOURS of its first upload — a mistake, not a record to rewrite later."""
    if not ctx.has("evidence.delete"):
        row = await get(ctx, evidence_id)
        created = row["created_at"] if row["created_at"].tzinfo else row["created_at"].replace(tzinfo=timezone.utc)
        own = row["created_by"] == ctx.actor.id and row["uploaded_by"] == ctx.actor.id
        if not own:
            raise Forbidden("only a tenant admin may delete evidence someone else uploaded")
        if _now() - created > timedelta(hours=TAKE_BACK_HOURS):
            raise Forbidden(f"your own upload can be taken back within {TAKE_BACK_HOURS} hours; after that ask a "
                            "tenant admin")
    await ctx.scope(Evidence).soft_delete(evidence_id)


async def add_file(ctx: TenantContext, *, title: str, filename: str, data: bytes,
                   target_type: str | None = None, target_id: str | None = None) -> dict[str, Any]:
    """Store and record a file the server holds (demo data): the same type, size and target rules as an upload."""
    from plugins.evidence.intake import store_bytes
    from plugins.evidence.storage import get_store, object_key

    fields = {"title": title, **({"target_type": target_type, "target_id": target_id} if target_type else {})}
    new = await validate_fields(ctx, fields)
    evidence_id, version_id = uuid.uuid4(), uuid.uuid4()
    upload = await store_bytes(store=get_store(), key=object_key(ctx.tenant.id, evidence_id, version_id),
                               filename=filename, data=data, max_bytes=(await limits(ctx)).max_upload_bytes)
    try:
        return await record_new(ctx, evidence_id=evidence_id, version_id=version_id, new=new, stored=upload.file)
    except BaseException:
        await upload.discard()
        raise


DEMO_TITLE = "Kế hoạch kiểm tra việc áp dụng, duy trì HTQLCL theo TCVN ISO 9001:2015"


async def seed_demo(ctx: TenantContext) -> None:
    """A small text file per demo province (once): the yearly inspection plan's summary."""
    if await ctx.scope(Evidence).count(include_deleted=True).where(Evidence.title == DEMO_TITLE) > 0:
        return
    text = (f"{ctx.tenant.name}\n{DEMO_TITLE}\n\n"
            "Căn cứ Thông tư 26/2014/TT-BKHCN và Quyết định 19/2014/QĐ-TTg, Chi cục Tiêu chuẩn Đo lường Chất lượng "
            "kiểm tra hồ sơ tất cả cơ quan thuộc phạm vi bắt buộc và kiểm tra tại chỗ ít nhất một phần ba số cơ quan.\n")
    await add_file(ctx, title=DEMO_TITLE, filename="Kế hoạch kiểm tra ISO.txt", data=text.encode("utf-8"))


# --- indicators -----------------------------------------------------------------------------------------------


async def indicators(reader: Any, tenants: Sequence[Any], year: int) -> list[Indicator]:
    """Files stored (with versions and deleted files awaiting purge), bytes stored and uploads in `year`, per
    tenant: four grouped queries for all the tenants (`reader`, a core.tenancy.TenantsReader)."""
    def by_tenant(rows: list[dict[str, Any]], *names: str) -> dict[Any, dict[str, Any]]:
        return {r["tenant_id"]: {n: int(r[n] or 0) for n in names} for r in rows}

    files = by_tenant(await reader.scope(Evidence).select(Evidence.tenant_id, Count(alias="n")).group_by(
        Evidence.tenant_id), "n")
    deleted = by_tenant(await reader.scope(Evidence).select(
        Evidence.tenant_id, Count(alias="n"), include_deleted=True).where(Evidence.deleted_at.is_not_null()).group_by(
        Evidence.tenant_id), "n")
    totals = by_tenant(await reader.scope(EvidenceVersion).select(
        EvidenceVersion.tenant_id, Count(EvidenceVersion.id, alias="versions"),
        Sum(EvidenceVersion.size, alias="bytes")).group_by(EvidenceVersion.tenant_id), "versions", "bytes")
    start = datetime(year, 1, 1, tzinfo=timezone.utc)
    end = datetime(year + 1, 1, 1, tzinfo=timezone.utc)
    uploads = by_tenant(await reader.scope(EvidenceVersion).select(EvidenceVersion.tenant_id, Count(alias="n")).where(
        (EvidenceVersion.created_at >= start) & (EvidenceVersion.created_at < end)).group_by(
        EvidenceVersion.tenant_id), "n")
    out = []
    for tenant in tenants:
        t, none = tenant.id, {"n": 0, "versions": 0, "bytes": 0}
        out += [
            Indicator(module=NAME, name="files", value=files.get(t, none)["n"], label_vi="Số tệp minh chứng đang lưu",
                      label_en="Evidence files stored", tenant_id=t,
                      breakdown={"versions": totals.get(t, none)["versions"],
                                 "deleted_awaiting_purge": deleted.get(t, none)["n"]}),
            Indicator(module=NAME, name="bytes", value=totals.get(t, none)["bytes"],
                      label_vi="Dung lượng minh chứng (byte)", label_en="Bytes of evidence stored", tenant_id=t),
            Indicator(module=NAME, name="uploads", value=uploads.get(t, none)["n"],
                      label_vi=f"Số lần tải lên trong năm {year}", label_en=f"Uploads in {year}", tenant_id=t),
        ]
    return out
