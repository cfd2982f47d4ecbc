"""The national dashboard (every province's figures by level and the national totals, through the modules'
indicators hook) vs one raw SQL aggregation of the same figures.

Seeds a fresh PostgreSQL database with bulk SQL: --provinces provinces × --agencies agencies each (levels mixed,
two thirds required), the certification module on for all of them and no QMS records, so its figures are the
required agencies by level and zeros; the raw SQL computes those same counts in one GROUP BY. Runs the dashboard
in-process (no HTTP) --rounds times and the SQL as often, checks both give the same numbers, prints both times
and the ratio (goal ≤ 1.5×). Bounded: a fixed number of rounds; the database is dropped at the end.

    .venv/bin/python bench/national_dashboard.py --provinces 34 --agencies 3000 --rounds 3
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
import uuid
from datetime import date
from pathlib import Path

import asyncpg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
PG = dict(host="127.0.0.1", port=5432, user="postgres")
LEVELS = ("province", "department", "district", "office", "commune", "unit")
RAW = """
SELECT tenant_id, level, count(*) AS n FROM agency
WHERE required AND valid_from <= $1 AND (valid_to IS NULL OR valid_to > $1)
GROUP BY tenant_id, level
"""


async def seed(db: str, provinces: int, agencies: int) -> None:
    conn = await asyncpg.connect(database=db, **PG)
    try:
        tenants = [(uuid.uuid4(), f"p{i:02d}", f"Tỉnh Đo {i:02d}") for i in range(provinces)]
        await conn.executemany("INSERT INTO tenant (id, code, name, name_folded, status, created_at) "
                               "VALUES ($1, $2, $3, $3, 'active', now())", tenants)
        await conn.executemany(
            "INSERT INTO tenant_module (id, key, tenant_id, module, enabled, updated_at) "
            "VALUES ($1, $2, $3, 'certification', true, now())",
            [(uuid.uuid4(), f"{tid}:certification", tid) for tid, _, _ in tenants])
        for tid, _, _ in tenants:
            await conn.copy_records_to_table("agency", columns=(
                "id", "tenant_id", "code", "code_key", "name", "name_folded", "level", "required", "valid_from"),
                records=[(uuid.uuid4(), tid, f"A{i}", f"{tid}:a{i}", f"Cơ quan {i}", f"co quan {i}",
                          LEVELS[i % len(LEVELS)], i % 3 != 0, date(2015, 1, 1)) for i in range(agencies)])
        await conn.execute("ANALYZE")
    finally:
        await conn.close()


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--provinces", type=int, default=34)
    parser.add_argument("--agencies", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    db = f"isogov_bench_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(database="postgres", **PG)
    await admin.execute(f'CREATE DATABASE "{db}"')
    os.environ.update({"DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{db}", "REDIS_URL": "",
                       "ISOGOV_VAR_DIR": tempfile.mkdtemp(), "ISOGOV_LOG_LEVEL": "WARNING",
                       "ISOGOV_DB_POOL_SIZE": "4"})
    try:
        from piccolo.apps.migrations.commands.forwards import run_forwards

        from core import db as core_db
        from core.national.dashboard import dashboard
        from core.plugins import get_plugin_system

        result = await run_forwards(app_name="all")
        assert result.success, result.message
        await seed(db, args.provinces, args.agencies)
        await core_db.start()
        system = get_plugin_system()
        year = date.today().year
        view = await dashboard(system, year)  # warm up
        started = time.perf_counter()
        for _ in range(args.rounds):
            view = await dashboard(system, year)
        dash_seconds = (time.perf_counter() - started) / args.rounds
        from core.tenancy import TenantInfo
        from core.tenancy.tables import Tenant

        infos = [TenantInfo(id=t["id"], code=t["code"], name=t["name"], status=t["status"])
                 for t in await Tenant.select(Tenant.id, Tenant.code, Tenant.name, Tenant.status)]
        started = time.perf_counter()
        for _ in range(args.rounds):
            await system.indicators({"certification": infos}, year)
        hook_seconds = (time.perf_counter() - started) / args.rounds
        await core_db.stop()

        conn = await asyncpg.connect(database=db, **PG)
        await conn.fetch(RAW, date(year, 12, 31))
        started = time.perf_counter()
        for _ in range(args.rounds):
            rows = await conn.fetch(RAW, min(date.today(), date(year, 12, 31)))
        raw_seconds = (time.perf_counter() - started) / args.rounds
        await conn.close()

        raw: dict[str, dict[str, int]] = {}
        codes = {p["code"] for p in view["provinces"]}
        assert len(codes) == args.provinces, len(codes)
        for row in rows:
            raw.setdefault(str(row["tenant_id"]), {})[row["level"]] = row["n"]
        required = view["totals"]["certification"]["required"]
        assert required["value"] == sum(n for levels in raw.values() for n in levels.values()), (required, raw)
        for level in LEVELS:
            assert required["breakdown"].get(level, 0) == sum(v.get(level, 0) for v in raw.values()), level
        print(f"provinces={args.provinces} agencies/province={args.agencies} rounds={args.rounds}")
        print(f"national dashboard (indicators hook, reports, totals): {dash_seconds * 1000:9.1f} ms")
        print(f"  of which the modules' indicators hooks:             {hook_seconds * 1000:9.1f} ms")
        print(f"raw SQL (one GROUP BY of the same counts):            {raw_seconds * 1000:9.1f} ms")
        print(f"ratio dashboard/raw: {dash_seconds / raw_seconds:.2f}x (goal <= 1.5x)")
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
        await admin.close()


if __name__ == "__main__":
    asyncio.run(main())
