"""Tables of the evidence plugin. Every one is tenant-owned and reached through `ctx.scope(...)`."""

from __future__ import annotations

from piccolo.columns import UUID, BigInt, Integer, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow

from core.tenancy import TenantTable


class Evidence(TenantTable, tablename="evidence"):
    """One piece of evidence; its current version's file facts are copied here for listing and search.

    `target_type` / `target_id` name the record it is attached to (an entity type some plugin declares through
    `isogov_evidence_targets`), or are null for evidence kept on its own. Deleting is soft (`deleted_at`).
    """

    id = UUID(primary_key=True)
    tenant_id = UUID(index=True)
    title = Varchar(length=500)
    search_folded = Varchar(length=1000)  # fold(title + filename), for accent-insensitive `q`
    target_type = Varchar(length=63, null=True, default=None, index=True)
    target_id = Varchar(length=100, null=True, default=None, index=True)
    version = Integer(default=1)  # the current (latest) version number
    filename = Varchar(length=255)
    content_type = Varchar(length=150)
    size = BigInt(default=0)
    sha256 = Varchar(length=64)
    uploaded_by = UUID(null=True, default=None)  # who uploaded the current version
    uploaded_by_name = Varchar(length=254, default="")
    created_by = UUID(null=True, default=None)  # who uploaded the first version
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())
    deleted_at = Timestamptz(null=True, default=None, index=True)


class EvidenceVersion(TenantTable, tablename="evidence_version"):
    """One stored file of a piece of evidence. Written only once its object is complete; never changed.

    `object_key` is `<tenant_id>/<evidence_id>/<id>` (server-generated). `version_key` is
    "<evidence_id>:<version>" so two uploads can never record the same version number.
    """

    id = UUID(primary_key=True)
    tenant_id = UUID(index=True)
    evidence_id = UUID(index=True)
    version = Integer()
    version_key = Varchar(length=80, unique=True)
    object_key = Varchar(length=120, unique=True)
    filename = Varchar(length=255)
    content_type = Varchar(length=150)
    size = BigInt()
    sha256 = Varchar(length=64)
    uploaded_by = UUID(null=True, default=None)
    uploaded_by_name = Varchar(length=254, default="")
    created_at = Timestamptz(default=TimestamptzNow())


class EvidenceSettingsRow(TenantTable, tablename="evidence_settings"):
    """A tenant's own values; a null column means the platform default (environment) applies."""

    id = UUID(primary_key=True)
    tenant_id = UUID(unique=True)
    max_upload_bytes = BigInt(null=True, default=None)
    retention_days = Integer(null=True, default=None)
    updated_at = Timestamptz(default=TimestamptzNow())
