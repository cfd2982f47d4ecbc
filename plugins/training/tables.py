"""Tables of the training module. All are tenant-owned and reached only through ctx.scope(...).

Unique keys embed what makes a row unique across the whole database ("<tenant_id>:<code>", "<session_id>:<person_id>",
"<counter_id>:<number>"), so two concurrent writers cannot both win and a tenant merge moves rows without clashes.
Nothing here is deleted: sessions are cancelled, registrations withdrawn, certificates revoked.
"""

from piccolo.columns import JSON, UUID, Boolean, Date, Integer, Real, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow

from core.tenancy import TenantTable


class TrainingKind(TenantTable, tablename="training_kind"):
    """A kind of training in the province's catalogue (awareness, internal auditor, ...) and its rules."""

    id = UUID(primary_key=True)
    tenant_id = UUID(index=True)
    code = Varchar(length=50)
    code_key = Varchar(length=120, unique=True)  # "<tenant_id>:<lower(code)>"
    name = Varchar(length=255)
    name_folded = Varchar(length=255, index=True)
    description = Text(default="")
    attendance_threshold = Integer(default=80)  # percent of the session's days attended
    has_exam = Boolean(default=False)
    pass_score = Real(null=True, default=None)  # on a 10-point scale, when the kind has an exam
    gives_certificate = Boolean(default=True)
    validity_months = Integer(null=True, default=None)  # None: the certificate does not expire
    certificate_symbol = Varchar(length=30, default="CN-TĐC")
    internal_auditor = Boolean(default=False)  # its valid certificate qualifies the holder as internal auditor
    active = Boolean(default=True)
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())


class TrainingSession(TenantTable, tablename="training_session"):
    """One training session (hội nghị, lớp tập huấn): planned → open → held → closed, or cancelled."""

    id = UUID(primary_key=True)
    tenant_id = UUID(index=True)
    kind_id = UUID(index=True)
    title = Varchar(length=500)
    title_folded = Varchar(length=500, index=True)
    starts_on = Date()
    ends_on = Date()
    year = Integer(index=True)  # starts_on's year
    place = Varchar(length=500, default="")
    locality_ids = JSON(default="[]")  # one district, or a set of communes
    locality_label = Varchar(length=255, default="")
    organiser_agency_id = UUID(null=True, default=None)
    organiser = Varchar(length=255, default="")
    trainer_ids = JSON(default="[]")  # people (core.people) who teach
    capacity = Integer()
    registration_closes_on = Date(null=True, default=None)
    status = Varchar(length=20, default="planned", index=True)
    status_reason = Text(null=True, default=None)
    status_changed_on = Date(null=True, default=None)
    held_on = Date(null=True, default=None)
    closed_on = Date(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())


class TrainingInvitation(TenantTable, tablename="training_invitation"):
    """An agency invited to a session, with how many people it may send (quota 0: invitation withdrawn)."""

    id = UUID(primary_key=True)
    tenant_id = UUID(index=True)
    session_id = UUID(index=True)
    agency_id = UUID(index=True)
    key = Varchar(length=80, unique=True)  # "<session_id>:<agency_id>"
    quota = Integer()
    invited_on = Date()
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())


class TrainingRegistration(TenantTable, tablename="training_registration"):
    """A person registered for a session, with a snapshot of name, agency and position at registration,
    the days attended and the exam score."""

    id = UUID(primary_key=True)
    tenant_id = UUID(index=True)
    session_id = UUID(index=True)
    person_id = UUID(index=True)
    key = Varchar(length=80, unique=True)  # "<session_id>:<person_id>"
    agency_id = UUID(null=True, default=None, index=True)
    full_name = Varchar(length=200)
    position = Varchar(length=200, default="")
    status = Varchar(length=20, default="registered", index=True)  # registered | withdrawn
    source = Varchar(length=20, default="manual")  # manual | import | seed
    registered_on = Date()
    attended_days = JSON(default="[]")  # ISO dates
    attended_count = Integer(default=0)
    score = Real(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())


class TrainingCertificate(TenantTable, tablename="training_certificate"):
    """A certificate issued at the close of a session: numbered per province and year, never deleted."""

    id = UUID(primary_key=True)
    tenant_id = UUID(index=True)
    registration_id = UUID(unique=True)
    session_id = UUID(index=True)
    kind_id = UUID(index=True)
    person_id = UUID(index=True)
    agency_id = UUID(null=True, default=None, index=True)
    full_name = Varchar(length=200)
    position = Varchar(length=200, default="")
    counter_id = UUID()
    number = Integer()
    year = Integer(index=True)
    number_text = Varchar(length=60)  # "15/2021/CN-TĐC"
    number_key = Varchar(length=80, unique=True)  # "<counter_id>:<number>"
    issued_on = Date()
    expires_on = Date(null=True, default=None)
    internal_auditor = Boolean(default=False)
    status = Varchar(length=20, default="valid", index=True)  # valid | revoked
    revoked_on = Date(null=True, default=None)
    revoked_reason = Text(null=True, default=None)
    revoked_by = Varchar(length=254, null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())


class TrainingCounter(TenantTable, tablename="training_counter"):
    """The certificate numbering sequence of one province and year; locked while a number is taken."""

    id = UUID(primary_key=True)
    tenant_id = UUID(index=True)
    key = Varchar(length=120, unique=True)  # "<tenant_id>:<year>" (merged-in sequences: "...:from:<code>")
    year = Integer()
    last_number = Integer(default=0)
    merged_from = Varchar(length=63, null=True, default=None)
    updated_at = Timestamptz(default=TimestamptzNow())


TABLES = (TrainingSession, TrainingKind, TrainingInvitation, TrainingRegistration, TrainingCertificate,
          TrainingCounter)
