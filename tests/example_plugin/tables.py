from piccolo.columns import UUID, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow

from core.tenancy import TenantTable


class ExampleNote(TenantTable, tablename="example_note"):
    id = UUID(primary_key=True)
    tenant_id = UUID(index=True)
    agency_id = UUID(index=True)
    person_id = UUID(null=True, default=None, index=True)  # a person of core's directory (same tenant), or none
    title = Varchar(length=200)
    title_folded = Varchar(length=200)
    created_at = Timestamptz(default=TimestamptzNow())
    deleted_at = Timestamptz(null=True, default=None)
