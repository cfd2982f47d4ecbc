"""The province's annual ISO report (Decision 19 Art. 12.6) and its immutable snapshots.

Both tables are tenant-owned (reached through `ctx.scope`, every write audited). `province_id` is the province
the report is *of*: it equals `tenant_id` until a merger moves the rows to the successor province, after which
the report stays the merged province's (national reviewers still read it by the old province's code).
"""

from __future__ import annotations

from piccolo.columns import UUID, Integer, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow

from core.tenancy.base import TenantTable


class AnnualReport(TenantTable, tablename="national_annual_report"):
    """One province's report for one year: its state, its assessment and the snapshot under review."""

    id = UUID(primary_key=True)
    tenant_id = UUID(index=True)
    province_id = UUID(index=True)
    key = Varchar(length=80, unique=True)  # "<province_id>:<year>": one report per province and year
    year = Integer(index=True)
    state = Varchar(length=20, default="draft")  # draft | submitted | returned | accepted
    number = Varchar(length=60, default="")  # số/ký hiệu, e.g. "125/BC-UBND"
    place = Varchar(length=100, default="")  # địa danh, e.g. "Lạng Sơn"
    results = Text(default="")  # kết quả đạt được
    issues = Text(default="")  # tồn tại, hạn chế
    proposals = Text(default="")  # kiến nghị, đề xuất
    snapshot_id = UUID(null=True, default=None)
    version = Integer(default=0)  # how many times it was submitted
    submitted_at = Timestamptz(null=True, default=None)
    reviewed_at = Timestamptz(null=True, default=None)
    reason = Text(default="")  # the last return or unlock reason
    history = Text(default="[]")  # JSON list of {at, action, by, reason, version}: roles only, no names
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())


class ReportSnapshot(TenantTable, tablename="national_report_snapshot"):
    """The figures and assessment as submitted: canonical JSON and its SHA-256. Written once, never updated."""

    id = UUID(primary_key=True)
    tenant_id = UUID(index=True)
    province_id = UUID(index=True)
    report_id = UUID(index=True)
    key = Varchar(length=90, unique=True)  # "<province_id>:<year>:<version>": one snapshot per submission
    year = Integer()
    version = Integer()
    content = Text()
    sha256 = Varchar(length=64)
    created_at = Timestamptz(default=TimestamptzNow())
