"""Tables of the certification module. All three are tenant-owned and reached only through ctx.scope(...).

- `QmsRecord`: one per agency. Every column except the ids and timestamps is *derived* from the agency's events
  by rules.replay() and rewritten in the same transaction as each new event; it exists for fast boards.
- `QmsEvent`: the append-only history. Rows are inserted, never updated or deleted; a wrong event is corrected
  by a `correction` event that references it.
- `CertificationSettings`: one row per tenant with province-level parameters (the 2008 → 2015 conversion
  deadline). No row means nothing is set.
"""

from piccolo.columns import JSON, UUID, Boolean, Date, Integer, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow

from core.tenancy import TenantTable


class QmsRecord(TenantTable, tablename="cert_qms_record"):
    id = UUID(primary_key=True)
    tenant_id = UUID(index=True)
    agency_id = UUID(unique=True)  # agency ids are globally unique UUIDs: one record per agency

    status = Varchar(length=20, default="not_started", index=True)
    status_since = Date(null=True, default=None)
    standard_version = Varchar(length=10, null=True, default=None)
    building_started_on = Date(null=True, default=None)
    applying_started_on = Date(null=True, default=None)
    converted_on = Date(null=True, default=None)

    scope = JSON(default="[]")  # the TTHC covered, as a list of names/codes
    scope_count = Integer(default=0)

    announcement_number = Varchar(length=100, null=True, default=None)
    announced_on = Date(null=True, default=None)
    announcement_signer = Varchar(length=200, null=True, default=None)
    announcements = JSON(default="[]")  # every effective announcement: on, number, signer, version, reannouncement
    reannouncement_due = Boolean(default=False)
    reannouncement_due_since = Date(null=True, default=None)
    reannouncement_reason = Varchar(length=30, null=True, default=None)

    last_internal_audit_on = Date(null=True, default=None)
    last_internal_audit_result = Varchar(length=500, null=True, default=None)
    last_internal_audit_nonconformities = Integer(null=True, default=None)
    last_management_review_on = Date(null=True, default=None)
    head_confirmed_on = Date(null=True, default=None)
    last_legal_update_on = Date(null=True, default=None)
    pending_legal_changes = JSON(default="[]")  # legal changes noted and not yet applied: event_id, document, dates

    internal_audit_due_on = Date(null=True, default=None)
    management_review_due_on = Date(null=True, default=None)
    legal_update_due_on = Date(null=True, default=None)

    recognition_kind = Varchar(length=20, null=True, default=None)
    recognition_number = Varchar(length=100, null=True, default=None)
    recognition_issuer = Varchar(length=255, null=True, default=None)
    recognition_date = Date(null=True, default=None)
    recognition_expires_on = Date(null=True, default=None)

    last_event_on = Date(null=True, default=None)
    event_count = Integer(default=0)

    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())


class QmsEvent(TenantTable, tablename="cert_qms_event"):
    id = UUID(primary_key=True)
    tenant_id = UUID(index=True)
    record_id = UUID(index=True)
    agency_id = UUID(index=True)
    seq = Integer()  # order of recording within the record (1, 2, ...); ties of occurred_on replay in this order
    seq_key = Varchar(length=60, unique=True)  # "<record_id>:<seq>": two concurrent writers cannot both win
    kind = Varchar(length=30, index=True)
    occurred_on = Date(index=True)
    note = Text(null=True, default=None)
    data = JSON(default="{}")  # the kind's own fields, as validated by schemas.py
    corrects_id = UUID(null=True, default=None, index=True)  # the event a `correction` corrects
    recorded_by_id = UUID(null=True, default=None)
    recorded_by = Varchar(length=254)
    recorded_at = Timestamptz(default=TimestamptzNow())


class CertificationSettings(TenantTable, tablename="cert_settings"):
    id = UUID(primary_key=True)
    tenant_id = UUID(unique=True)
    conversion_deadline = Date(null=True, default=None)
    conversion_deadline_reference = Varchar(length=255, null=True, default=None)
    updated_at = Timestamptz(default=TimestamptzNow())
