"""Tables of the inspections module; all tenant-owned and reached only through ctx.scope(...).

Unique keys that embed the tenant (`plan_key`, `template_key`) and per-tenant rows (`InspectionSettings`) are
fixed by the tenant-merge hook. Keys made of global UUIDs (`line_key`, `member_key`) never clash across tenants.
"""

from piccolo.columns import JSON, UUID, BigInt, Boolean, Date, Integer, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow

from core.tenancy import TenantTable


class InspectionSettings(TenantTable, tablename="inspection_settings"):
    id = UUID(primary_key=True)
    tenant_id = UUID(unique=True)
    on_site_share_num = Integer(default=1)  # the on-site share of required agencies: num/den, rounded up
    on_site_share_den = Integer(default=3)
    remind_days_before = Integer(default=7)
    inspecting_unit = Varchar(length=255, default="Chi cục Tiêu chuẩn Đo lường Chất lượng")
    updated_at = Timestamptz(default=TimestamptzNow())


class InspectionPlan(TenantTable, tablename="inspection_plan"):
    """One revision of a year's plan (Mẫu 19). Approved revisions are superseded, never edited."""

    id = UUID(primary_key=True)
    tenant_id = UUID(index=True)
    year = Integer(index=True)
    revision = Integer(default=1)
    plan_key = Varchar(length=80, unique=True)  # "<tenant_id>:<year>:<revision>"
    status = Varchar(length=20, default="draft", index=True)
    title = Varchar(length=500)
    note = Text(null=True, default=None)
    on_site_share_num = Integer(default=1)
    on_site_share_den = Integer(default=3)
    decision_number = Varchar(length=100, null=True, default=None)
    decision_date = Date(null=True, default=None)
    decision_signer = Varchar(length=200, null=True, default=None)
    revises_id = UUID(null=True, default=None)
    revision_reason = Text(null=True, default=None)
    history = JSON(default="[]")  # [{at, action, by, note}]
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())


class InspectionPlanLine(TenantTable, tablename="inspection_plan_line"):
    id = UUID(primary_key=True)
    tenant_id = UUID(index=True)
    plan_id = UUID(index=True)
    agency_id = UUID(index=True)
    line_key = Varchar(length=80, unique=True)  # "<plan_id>:<agency_id>"
    form = Varchar(length=20)  # on_site | documents
    inspecting_unit = Varchar(length=255, default="")
    cooperating_units = JSON(default="[]")
    expected_month = Integer(null=True, default=None)
    expected_from = Date(null=True, default=None)
    expected_to = Date(null=True, default=None)
    budget_vnd = BigInt(default=0)
    team_label = Varchar(length=100, null=True, default=None)
    risk_score = Integer(null=True, default=None)
    reasons = JSON(default="[]")
    note = Text(null=True, default=None)


class InspectionTeam(TenantTable, tablename="inspection_team"):
    """A team decision (Mẫu 20 QĐKT)."""

    id = UUID(primary_key=True)
    tenant_id = UUID(index=True)
    year = Integer(index=True)
    plan_id = UUID(null=True, default=None)
    decision_number = Varchar(length=100)
    decision_date = Date()
    issuer = Varchar(length=255)
    signer = Varchar(length=200, default="")
    title = Varchar(length=500, default="")
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())


class InspectionTeamMember(TenantTable, tablename="inspection_team_member"):
    """A member with a snapshot of the person as they were named in the decision."""

    id = UUID(primary_key=True)
    tenant_id = UUID(index=True)
    team_id = UUID(index=True)
    person_id = UUID(index=True)
    member_key = Varchar(length=80, unique=True)  # "<team_id>:<person_id>"
    role = Varchar(length=20)  # head | deputy | member | secretary
    full_name = Varchar(length=200)
    agency_id = UUID(null=True, default=None)
    agency_name = Varchar(length=255, default="")
    position = Varchar(length=200, default="")
    eligibility = Varchar(length=20, default="unknown")  # eligible | unknown | not_required
    eligibility_note = Text(default="")


class InspectionVisit(TenantTable, tablename="inspection_visit"):
    id = UUID(primary_key=True)
    tenant_id = UUID(index=True)
    year = Integer(index=True)
    plan_id = UUID(null=True, default=None)
    team_id = UUID(null=True, default=None, index=True)
    agency_id = UUID(index=True)
    form = Varchar(length=20)
    scheduled_on = Date(index=True)  # the visit day (on site) or the day the agency's report is due (documents)
    status = Varchar(length=20, default="scheduled")  # scheduled | done | cancelled
    history = JSON(default="[]")
    note = Text(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())


class InspectionChecklistTemplate(TenantTable, tablename="inspection_checklist_template"):
    id = UUID(primary_key=True)
    tenant_id = UUID(index=True)
    version = Integer()
    template_key = Varchar(length=80, unique=True)  # "<tenant_id>:<version>"
    title = Varchar(length=500)
    items = JSON(default="[]")
    created_at = Timestamptz(default=TimestamptzNow())


class InspectionRecord(TenantTable, tablename="inspection_record"):
    """A record (Mẫu 21 BBKT). Signed records are locked; an amendment is a new record."""

    id = UUID(primary_key=True)
    tenant_id = UUID(index=True)
    visit_id = UUID(index=True)
    agency_id = UUID(index=True)
    year = Integer(index=True)
    form = Varchar(length=20)
    number = Varchar(length=100, null=True, default=None)
    inspected_on = Date()
    template_version = Integer(default=0)
    checklist = JSON(default="[]")
    conclusion = Text(default="")
    result = Varchar(length=30, null=True, default=None)
    status = Varchar(length=20, default="draft", index=True)  # draft | signed | superseded
    signed_on = Date(null=True, default=None)
    head_signer = Varchar(length=200, null=True, default=None)
    agency_signer = Varchar(length=200, null=True, default=None)
    amends_id = UUID(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())


class InspectionFinding(TenantTable, tablename="inspection_finding"):
    """A vấn đề tồn tại tied to a checklist item."""

    id = UUID(primary_key=True)
    tenant_id = UUID(index=True)
    record_id = UUID(index=True)
    agency_id = UUID(index=True)
    item_code = Varchar(length=20)
    severity = Varchar(length=20)  # minor | major | observation
    text = Text()
    status = Varchar(length=20, default="draft", index=True)
    due_on = Date(null=True, default=None)
    closed_on = Date(null=True, default=None)
    carried_from_id = UUID(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())


class InspectionCorrectiveAction(TenantTable, tablename="inspection_corrective_action"):
    id = UUID(primary_key=True)
    tenant_id = UUID(index=True)
    finding_id = UUID(index=True)
    agency_id = UUID(index=True)
    reported_on = Date()
    description = Text()
    on_time = Boolean(default=True)  # True when reported on or before the finding's due date
    status = Varchar(length=20, default="reported")  # reported | accepted | not_accepted | deferred
    decided_on = Date(null=True, default=None)
    decided_by = Varchar(length=254, null=True, default=None)
    decision_reason = Text(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())


TABLES = (InspectionSettings, InspectionPlan, InspectionPlanLine, InspectionTeam, InspectionTeamMember,
          InspectionVisit, InspectionChecklistTemplate, InspectionRecord, InspectionFinding,
          InspectionCorrectiveAction)
