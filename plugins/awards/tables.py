"""Tables of the awards module. All are tenant-owned and reached only through ctx.scope(...).

- `AwardForm`: a form of award the province gives or proposes (Giấy khen, Bằng khen của Chủ tịch UBND tỉnh, ...),
  its level, whom it is for and the criteria (codes, see eligibility.py) a proposal must meet.
- `AwardMovement`: an emulation movement (phong trào thi đua) with its year, period and criteria (text).
- `AwardProposal`: a proposal for a collective (an agency) or an individual (a person of the people directory),
  with a snapshot of the awardee's name, agency and position at the time; its status, the overrides of unmet
  criteria (each with a written reason), the council's votes and, once a decision is issued, the decision.
- `AwardMeeting`: a council meeting (Hội đồng Thi đua – Khen thưởng): date, members, agenda, results.
- `AwardDecision`: an award decision (number, date, signer, form) and, through proposals.decision_id, its awardees.
- `AwardSettings`: one row per tenant: the council's approval threshold and the names used on documents.
"""

from piccolo.columns import JSON, UUID, Boolean, Date, Integer, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow

from core.tenancy import TenantTable


class AwardForm(TenantTable, tablename="awards_form"):
    id = UUID(primary_key=True)
    tenant_id = UUID(index=True)
    code = Varchar(length=60)
    code_key = Varchar(length=120, unique=True)  # "<tenant_id>:<code>": one code per province
    name = Varchar(length=255)
    name_folded = Varchar(length=255, index=True)
    level = Varchar(length=20)  # department | province | ministry | national
    issuer = Varchar(length=255, default="")  # who grants it: "Chủ tịch UBND tỉnh", "Bộ trưởng Bộ KH&CN", ...
    for_collective = Boolean(default=True)
    for_individual = Boolean(default=True)
    criteria = JSON(default="[]")  # criterion codes, e.g. "qms_announced_no_overdue", "consecutive_years:giay_khen:2"
    active = Boolean(default=True)
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())


class AwardMovement(TenantTable, tablename="awards_movement"):
    id = UUID(primary_key=True)
    tenant_id = UUID(index=True)
    year = Integer(index=True)
    name = Varchar(length=500)
    name_folded = Varchar(length=500, index=True)
    period_from = Date()
    period_to = Date()
    criteria = JSON(default="[]")  # the movement's criteria as text (tiêu chí thi đua)
    description = Text(default="")
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())


class AwardProposal(TenantTable, tablename="awards_proposal"):
    id = UUID(primary_key=True)
    tenant_id = UUID(index=True)
    year = Integer(index=True)
    movement_id = UUID(null=True, default=None, index=True)
    form_id = UUID(index=True)
    subject = Varchar(length=12)  # collective | individual
    agency_id = UUID(index=True)  # the collective, or the individual's agency at the time
    person_id = UUID(null=True, default=None, index=True)
    awardee_name = Varchar(length=255)  # snapshot: the agency's or the person's name at the time
    awardee_name_folded = Varchar(length=255, index=True)
    agency_name = Varchar(length=255)  # snapshot
    agency_level = Varchar(length=20)  # snapshot, for the indicators' breakdown
    position = Varchar(length=200, default="")  # snapshot (individuals)
    achievement = Text()
    evidence = JSON(default="[]")  # references to the documents that support the achievement
    status = Varchar(length=12, index=True, default="draft")  # draft submitted reviewed approved raised rejected
    status_reason = Text(null=True, default=None)  # the rejection reason / where it was raised
    raised_to = Varchar(length=255, null=True, default=None)
    overrides = JSON(default="{}")  # criterion -> {"reason", "by", "at"}
    eligibility = JSON(default="[]")  # the criteria as judged when submitted
    proposer_agency_id = UUID(null=True, default=None)
    proposed_by = Varchar(length=254)
    proposed_by_user_id = UUID(null=True, default=None)  # a user of this tenant, notified of status changes
    submitted_at = Timestamptz(null=True, default=None)
    reviewed_at = Timestamptz(null=True, default=None)
    review_note = Text(null=True, default=None)
    meeting_id = UUID(null=True, default=None, index=True)
    votes_for = Integer(null=True, default=None)
    votes_against = Integer(null=True, default=None)
    decided_at = Timestamptz(null=True, default=None)
    decision_id = UUID(null=True, default=None, index=True)
    decision_number = Varchar(length=100, null=True, default=None)  # snapshot once the decision is issued
    awarded_on = Date(null=True, default=None, index=True)  # the issued decision's date: the award history
    awarded_year = Integer(null=True, default=None, index=True)
    locked = Boolean(default=False)
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())


class AwardMeeting(TenantTable, tablename="awards_meeting"):
    id = UUID(primary_key=True)
    tenant_id = UUID(index=True)
    held_on = Date(index=True)
    place = Varchar(length=255, default="")
    members = JSON(default="[]")  # [{"full_name", "position", "user_id"}]
    member_count = Integer()
    status = Varchar(length=12, default="scheduled")  # scheduled | held
    threshold_percent = Integer(null=True, default=None)  # the province setting used when results were recorded
    note = Text(default="")
    results_at = Timestamptz(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())


class AwardDecision(TenantTable, tablename="awards_decision"):
    id = UUID(primary_key=True)
    tenant_id = UUID(index=True)
    number = Varchar(length=100)
    number_key = Varchar(length=200, unique=True)  # "<tenant_id>:<year>:<folded number>"
    decided_on = Date(index=True)
    year = Integer(index=True)
    issuer = Varchar(length=255)  # "UBND tỉnh Lạng Sơn"
    signer = Varchar(length=200)
    signer_title = Varchar(length=200)
    form_id = UUID(index=True)
    movement_id = UUID(null=True, default=None)
    title = Text(default="")
    status = Varchar(length=10, default="draft")  # draft | issued
    issued_at = Timestamptz(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())


class AwardSettings(TenantTable, tablename="awards_settings"):
    id = UUID(primary_key=True)
    tenant_id = UUID(unique=True)
    approval_threshold_percent = Integer(default=50)  # approved when votes for are MORE than this share of members
    issuer = Varchar(length=255, default="")  # "UBND tỉnh Lạng Sơn" (default: "UBND <tenant name>")
    place_name = Varchar(length=100, default="")  # địa danh on documents (default: the tenant's name)
    signer_title = Varchar(length=200, default="CHỦ TỊCH")
    updated_at = Timestamptz(default=TimestamptzNow())
