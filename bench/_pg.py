"""A throwaway PostgreSQL database for a bench, set up as production runs: created for the owner role, migrated
as the owner with row-level security applied, and used by the app as the runtime role that owns nothing.

    db = await BenchDatabase.create()        # sets DATABASE_URL / ISOGOV_MIGRATE_DATABASE_URL for this process
    ...                                      # core.tenancy.rls.migrate(), core.db.start(), the work to time
    await db.drop()                          # always, in a finally

Loopback only (ISOGOV_TEST_PG_HOST/PORT, default 127.0.0.1:5432); the roles are those of the test suite.
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass

import asyncpg

PG = {"host": os.environ.get("ISOGOV_TEST_PG_HOST", "127.0.0.1"),
      "port": int(os.environ.get("ISOGOV_TEST_PG_PORT", "5432")),
      "user": os.environ.get("ISOGOV_TEST_PG_USER", "postgres")}
OWNER_ROLE = os.environ.get("ISOGOV_TEST_PG_OWNER_ROLE", "isogov_owner")
RUNTIME_ROLE = os.environ.get("ISOGOV_TEST_PG_RUNTIME_ROLE", "isogov_app")


def ensure_role_sql(role: str) -> str:
    return (f"DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{role}') THEN "
            f"CREATE ROLE \"{role}\" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS; END IF; "
            f"EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$")


@dataclass
class BenchDatabase:
    name: str

    @property
    def where(self) -> str:
        return f"{PG['host']}:{PG['port']}/{self.name}"

    @property
    def runtime_url(self) -> str:
        return f"postgres://{RUNTIME_ROLE}@{self.where}"

    @property
    def owner_url(self) -> str:
        return f"postgres://{OWNER_ROLE}@{self.where}"

    @classmethod
    async def create(cls, prefix: str = "isogov_bench", set_env: bool = True) -> "BenchDatabase":
        db = cls(f"{prefix}_{uuid.uuid4().hex[:8]}")
        admin = await asyncpg.connect(database="postgres", **PG)
        try:
            for role in (OWNER_ROLE, RUNTIME_ROLE):
                await admin.execute(ensure_role_sql(role))
            await admin.execute(f'CREATE DATABASE "{db.name}" OWNER "{OWNER_ROLE}"')
        finally:
            await admin.close()
        if set_env:
            os.environ.update({"DATABASE_URL": db.runtime_url, "ISOGOV_MIGRATE_DATABASE_URL": db.owner_url})
        return db

    async def connect(self, role: str = RUNTIME_ROLE) -> asyncpg.Connection:
        """A direct connection (the superuser with role='postgres': no row-level security)."""
        return await asyncpg.connect(database=self.name, **{**PG, "user": role})

    async def drop(self) -> None:
        admin = await asyncpg.connect(database="postgres", **PG)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
        finally:
            await admin.close()
