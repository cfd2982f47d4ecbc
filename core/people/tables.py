"""The people directory: officials of a province who are not necessarily users (training participants,
inspection team members, individual awardees). Closed, never deleted; personal data never leaves the tenant."""

from __future__ import annotations

from piccolo.columns import UUID, Date, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow

from core.tenancy.base import TenantTable


class Person(TenantTable, tablename="person"):
    personal_columns = ("full_name", "full_name_folded", "position", "email", "phone")  # never across tenants

    id = UUID(primary_key=True)
    tenant_id = UUID(index=True)
    full_name = Varchar(length=200)
    full_name_folded = Varchar(length=200, index=True)
    agency_id = UUID(null=True, default=None, index=True)
    position = Varchar(length=200, default="")
    email = Varchar(length=254, null=True, default=None)
    phone = Varchar(length=30, null=True, default=None)
    user_id = UUID(null=True, default=None, index=True)  # unique: migration person_user_id_unique
    closed_on = Date(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())
