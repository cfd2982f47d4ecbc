"""The national dashboard (every province's figures by level and the national totals, through the modules' indicators
hook) vs one raw SQL aggregation of the same figures.

Seeds a fresh PostgreSQL database with bulk SQL (COPY): --provinces provinces × --agencies agencies each (levels
mixed, two thirds required, 2 % closed in 2025) with every installed module on (the others than certification with
no rows of their own: their indicators hooks' fixed cost is in the dashboard's time; --only-certification switches
on that module only) and a QMS record for ~85 % of the agencies: statuses not_started / building / applying /
announced (and a few suspended / withdrawn), TCVN ISO 9001:2008 or :2015, due dates of internal audits, management
reviews and legal updates some of them past, re-announcements pending, announcements (some re-announcements in this
year, some in earlier years), the last event in the past; half the provinces have a conversion deadline that has
passed, a quarter one to come.

The raw SQL is one statement (agency LEFT JOIN record LEFT JOIN settings, GROUP BY tenant and level) that computes
the certification figures the dashboard shows (required, building, applying, announced, re-announced in the year,
on the 2015 version, overdue) for the running year. Both run like production: migrated as the owner of the tables
with row-level security on, and read as the runtime role that owns nothing (the dashboard on the explicit platform
path, the raw SQL in a transaction with the same platform flag). The dashboard runs in-process (no HTTP). Rounds
alternate (dashboard, then raw SQL); each side's best round is reported, the machine being shared. The raw SQL is
also timed as a superuser (no row-level security), for reference. Every figure and every level breakdown of every
province is checked equal between the two. Bounded: a fixed number of rounds; the database is dropped at the end.

    .venv/bin/python bench/national_dashboard.py --provinces 34 --agencies 3000 --rounds 3
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from datetime import date, timedelta
from pathlib import Path

import asyncpg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from _pg import PG, RUNTIME_ROLE, BenchDatabase  # noqa: E402
from _report import emit  # noqa: E402

LEVELS = ("province", "department", "district", "office", "commune", "unit")
FIGURES = ("required", "building", "applying", "announced", "reannounced", "on_2015_version", "overdue")

# $1 the reference day (today for the running year), $2 the year's first day, $3 the year as text.
RAW = """
SELECT a.tenant_id, a.level,
  count(*) FILTER (WHERE a.required) AS required,
  count(*) FILTER (WHERE r.status = 'building') AS building,
  count(*) FILTER (WHERE r.status = 'applying') AS applying,
  count(*) FILTER (WHERE r.status = 'announced') AS announced,
  count(*) FILTER (WHERE r.announced_on >= $2 AND EXISTS (
      SELECT 1 FROM json_array_elements(r.announcements) e
      WHERE (e->>'reannouncement')::boolean AND left(e->>'on', 4) = $3)) AS reannounced,
  count(*) FILTER (WHERE r.standard_version = '2015'
                   AND r.status IN ('building', 'applying', 'announced', 'suspended')) AS on_2015_version,
  count(*) FILTER (WHERE (r.status IN ('applying', 'announced') AND (r.internal_audit_due_on < $1
                          OR r.management_review_due_on < $1 OR r.legal_update_due_on < $1))
                      OR (r.status = 'announced' AND r.reannouncement_due AND r.reannouncement_due_since IS NOT NULL)
                      OR (r.standard_version = '2008' AND r.status IN ('building', 'applying', 'announced')
                          AND s.conversion_deadline < $1)) AS overdue
FROM agency a
LEFT JOIN cert_qms_record r ON r.agency_id = a.id
LEFT JOIN cert_settings s ON s.tenant_id = a.tenant_id
WHERE a.valid_from <= $1 AND (a.valid_to IS NULL OR a.valid_to > $1)
  AND a.tenant_id IN (SELECT tenant_id FROM tenant_module WHERE module = 'certification' AND enabled)
GROUP BY a.tenant_id, a.level
"""

RECORD_COLUMNS = (
    "id", "tenant_id", "agency_id", "status", "status_since", "standard_version", "building_started_on",
    "applying_started_on", "scope", "scope_count", "announcement_number", "announced_on", "announcements",
    "reannouncement_due", "reannouncement_due_since", "reannouncement_reason", "last_internal_audit_on",
    "last_management_review_on", "head_confirmed_on", "pending_legal_changes", "internal_audit_due_on",
    "management_review_due_on", "legal_update_due_on", "last_event_on", "event_count")


def _day(rng: random.Random, first: date, last: date) -> date:
    return first + timedelta(days=rng.randint(0, max(0, (last - first).days)))


def _record(rng: random.Random, tid: uuid.UUID, aid: uuid.UUID, today: date) -> tuple | None:
    """One agency's QMS record with a plausible derived state (as rules.replay would have written it)."""
    roll = rng.random()
    if roll < 0.15:
        return None  # no record: not started
    status = ("not_started" if roll < 0.22 else "building" if roll < 0.35 else "applying" if roll < 0.52
              else "announced" if roll < 0.90 else "suspended" if roll < 0.95 else "withdrawn")
    empty = (uuid.uuid4(), tid, aid, "not_started", None, None, None, None, "[]", 0, None, None, "[]", False, None,
             None, None, None, None, "[]", None, None, None, None, 0)
    if status == "not_started":
        return empty
    year = today.year
    version = "2008" if rng.random() < 0.25 else "2015"
    built = _day(rng, date(2016, 1, 1), date(year - 2, 6, 30))
    applying = built + timedelta(days=rng.randint(60, 300)) if status != "building" else None
    scope = [f"TTHC {n}" for n in range(rng.randint(3, 12))]
    audit = review = confirmed = None
    announcements: list[dict] = []
    announced_on = number = None
    reann_due = False
    reann_since = reason = None
    pending: list[dict] = []
    audit_due = review_due = legal_due = None
    last = applying or built
    if status in ("announced", "suspended", "withdrawn"):
        # announced once, some re-announced later (this year or an earlier one)
        first_on = applying + timedelta(days=rng.randint(90, 400))
        announcements.append({"event_id": str(uuid.uuid4()), "on": first_on.isoformat(), "number": "1/QĐ-UBND",
                              "signer": "Chủ tịch", "version": version, "scope_count": len(scope),
                              "reannouncement": False, "reason": None})
        reroll = rng.random()
        if reroll < 0.25:
            again = (_day(rng, date(year, 1, 1), today - timedelta(days=1)) if reroll < 0.10
                     else _day(rng, first_on + timedelta(days=30), date(year - 1, 12, 31)))
            if again > first_on:
                announcements.append({"event_id": str(uuid.uuid4()), "on": again.isoformat(),
                                      "number": "2/QĐ-UBND", "signer": "Chủ tịch", "version": version,
                                      "scope_count": len(scope), "reannouncement": True,
                                      "reason": "scope_changed"})
        announced_on = date.fromisoformat(announcements[-1]["on"])
        number = announcements[-1]["number"]
        last = max(last, announced_on or last)
    if status in ("applying", "announced", "suspended"):
        audit = _day(rng, max(applying, today - timedelta(days=700)), today - timedelta(days=1))
        review = _day(rng, max(applying, today - timedelta(days=700)), today - timedelta(days=1))
        confirmed = max(audit, review)
        last = max(last, audit, review)
        if status != "suspended":
            audit_due = audit.replace(year=audit.year + 1) if (audit.month, audit.day) != (2, 29) else \
                date(audit.year + 1, 2, 28)
            review_due = review.replace(year=review.year + 1) if (review.month, review.day) != (2, 29) else \
                date(review.year + 1, 2, 28)
            if rng.random() < 0.1:
                noted = _day(rng, today - timedelta(days=200), today - timedelta(days=1))
                legal_due = noted + timedelta(days=91)
                pending = [{"event_id": str(uuid.uuid4()), "document": "Thông tư 26/2024/TT-BKHCN",
                            "noted_on": noted.isoformat(), "due_on": legal_due.isoformat()}]
                last = max(last, noted)
    if status == "announced" and rng.random() < 0.08:
        reann_due, reann_since, reason = True, _day(rng, (announced_on or last), today - timedelta(days=1)), \
            "scope_changed"
        last = max(last, reann_since)
    since = {"building": built, "applying": applying, "announced": announced_on}.get(status) or last
    if status in ("suspended", "withdrawn"):
        since = last = _day(rng, last, today - timedelta(days=1))
    last = min(last, today - timedelta(days=1))
    return (uuid.uuid4(), tid, aid, status, since, version, built, applying, json.dumps(scope, ensure_ascii=False),
            len(scope), number, announced_on, json.dumps(announcements, ensure_ascii=False), reann_due,
            reann_since, reason, audit, review, confirmed, json.dumps(pending, ensure_ascii=False), audit_due,
            review_due, legal_due, last, rng.randint(3, 20))


async def seed(db: str, provinces: int, agencies: int, today: date, modules: list[str]) -> None:
    conn = await asyncpg.connect(database=db, **PG)  # the superuser: COPY under row-level security
    rng = random.Random(13)
    try:
        tenants = [(uuid.uuid4(), f"p{i:02d}", f"Tỉnh Đo {i:02d}") for i in range(provinces)]
        await conn.executemany("INSERT INTO tenant (id, code, name, name_folded, status, created_at) "
                               "VALUES ($1, $2, $3, $3, 'active', now())", tenants)
        await conn.executemany(
            "INSERT INTO tenant_module (id, key, tenant_id, module, enabled, updated_at) "
            "VALUES ($1, $2, $3, $4, true, now())",
            [(uuid.uuid4(), f"{tid}:{module}", tid, module) for tid, _, _ in tenants for module in modules])
        deadlines = [(uuid.uuid4(), tid, date(2024, 12, 31) if i % 2 == 0 else today + timedelta(days=200))
                     for i, (tid, _, _) in enumerate(tenants) if i % 4 != 3]
        await conn.executemany("INSERT INTO cert_settings (id, tenant_id, conversion_deadline, updated_at) "
                               "VALUES ($1, $2, $3, now())", deadlines)
        for tid, _, _ in tenants:
            rows = [(uuid.uuid4(), tid, f"A{i}", f"{tid}:a{i}", f"Cơ quan {i}", f"co quan {i}",
                     LEVELS[i % len(LEVELS)], i % 3 != 0, date(2015, 1, 1),
                     date(2025, 7, 1) if i % 50 == 7 else None) for i in range(agencies)]
            await conn.copy_records_to_table("agency", columns=(
                "id", "tenant_id", "code", "code_key", "name", "name_folded", "level", "required", "valid_from",
                "valid_to"), records=rows)
            records = [r for r in (_record(rng, tid, row[0], today) for row in rows) if r is not None]
            await conn.copy_records_to_table("cert_qms_record", columns=RECORD_COLUMNS, records=records)
        await conn.execute("ANALYZE")
    finally:
        await conn.close()


def raw_figures(rows: list[asyncpg.Record]) -> dict[uuid.UUID, dict[str, dict[str, int]]]:
    """tenant id -> figure -> level -> count (levels with 0 left out)."""
    out: dict[uuid.UUID, dict[str, dict[str, int]]] = {}
    for row in rows:
        figures = out.setdefault(row["tenant_id"], {name: {} for name in FIGURES})
        for name in FIGURES:
            if row[name]:
                figures[name][row["level"]] = row[name]
    return out


def check_equal(view: dict, codes: dict[str, uuid.UUID], raw: dict[uuid.UUID, dict[str, dict[str, int]]]) -> int:
    """Every certification figure of every province and of the national totals, value and each level, equal to
    the raw SQL's. Returns how many numbers were compared."""
    compared = 0
    totals: dict[str, dict[str, int]] = {name: {} for name in FIGURES}
    assert {codes[p["code"]] for p in view["provinces"]} == set(raw), "provinces differ"
    for province in view["provinces"]:
        mine = province["figures"]["certification"]
        theirs = raw[codes[province["code"]]]
        for name in FIGURES:
            breakdown = {lv: n for lv, n in mine[name]["breakdown"].items() if n}
            assert breakdown == theirs[name], (province["code"], name, breakdown, theirs[name])
            assert mine[name]["value"] == sum(theirs[name].values()), (province["code"], name)
            for lv, n in theirs[name].items():
                totals[name][lv] = totals[name].get(lv, 0) + n
            compared += 1 + len(LEVELS)
    for name in FIGURES:
        figure = view["totals"]["certification"][name]
        assert {lv: n for lv, n in figure["breakdown"].items() if n} == totals[name], ("totals", name)
        assert figure["value"] == sum(totals[name].values()), ("totals", name)
        compared += 1 + len(LEVELS)
    return compared


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--provinces", type=int, default=34)
    parser.add_argument("--agencies", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--only-certification", dest="all_modules", action="store_false",
                        help="switch on the certification module only (default: every installed module, the others "
                             "with no rows of their own: their hooks' fixed cost is measured too)")
    parser.add_argument("--profile", metavar="HTML", help="also profile one dashboard run (pyinstrument) into HTML")
    args = parser.parse_args()
    bench_db = await BenchDatabase.create()  # DATABASE_URL (runtime role) and ISOGOV_MIGRATE_DATABASE_URL (owner)
    db = bench_db.name
    os.environ.update({"REDIS_URL": "",
                       "ISOGOV_VAR_DIR": tempfile.mkdtemp(), "ISOGOV_LOG_LEVEL": "WARNING",
                       "ISOGOV_DB_POOL_SIZE": "4"})
    try:
        from core import db as core_db
        from core.national.dashboard import dashboard
        from core.plugins import get_plugin_system
        from core.tenancy.rls import migrate

        today = date.today()
        year = today.year
        await migrate()  # as the owner, row-level security applied; the runtime role owns nothing
        started = time.perf_counter()
        system = get_plugin_system()
        modules = system.module_names() if args.all_modules else ["certification"]
        await seed(db, args.provinces, args.agencies, today, modules)
        seeded = time.perf_counter() - started
        await core_db.start()
        conn = await asyncpg.connect(database=db, **{**PG, "user": RUNTIME_ROLE})

        async def raw_sql() -> list[asyncpg.Record]:
            async with conn.transaction():
                await conn.execute("SELECT set_config('app.platform', 'on', true)")
                return await conn.fetch(RAW, today, date(year, 1, 1), str(year))

        view = await dashboard(system, year)  # warm up both
        rows = await raw_sql()
        ours, base = [], []
        for _ in range(args.rounds):
            started = time.perf_counter()
            view = await dashboard(system, year)
            ours.append(time.perf_counter() - started)
            started = time.perf_counter()
            rows = await raw_sql()
            base.append(time.perf_counter() - started)
        owner = await asyncpg.connect(database=db, **PG)  # the superuser: no row-level security
        await owner.fetch(RAW, today, date(year, 1, 1), str(year))
        unprotected = []
        for _ in range(args.rounds):
            started = time.perf_counter()
            await owner.fetch(RAW, today, date(year, 1, 1), str(year))
            unprotected.append(time.perf_counter() - started)
        await owner.close()
        if args.profile:
            from pyinstrument import Profiler

            with Profiler(async_mode="enabled") as profiler:
                await dashboard(system, year)
            Path(args.profile).write_text(profiler.output_html(), encoding="utf-8")
            print(profiler.output_text(unicode=True, color=False, show_all=False))
        await conn.close()
        await core_db.stop()

        codes = {}
        admin_db = await asyncpg.connect(database=db, **PG)
        try:
            codes = {r["code"]: r["id"] for r in await admin_db.fetch("SELECT id, code FROM tenant")}
            records = await admin_db.fetchval("SELECT count(*) FROM cert_qms_record")
        finally:
            await admin_db.close()
        compared = check_equal(view, codes, raw_figures(rows))
        dash_ms, raw_ms = min(ours) * 1000, min(base) * 1000
        load = os.getloadavg()
        print(f"provinces={args.provinces} agencies/province={args.agencies} QMS records={records} "
              f"rounds={args.rounds} (seeded in {seeded:.1f} s); {compared} numbers checked equal")
        print(f"national dashboard (indicators hook, reports, totals): best {dash_ms:8.1f} ms, "
              f"median {statistics.median(ours) * 1000:8.1f} ms")
        print(f"raw SQL (one GROUP BY of the same figures):            best {raw_ms:8.1f} ms, "
              f"median {statistics.median(base) * 1000:8.1f} ms")
        print(f"raw SQL as a superuser, no row-level security:      best {min(unprotected) * 1000:8.1f} ms "
              "(for reference)")
        print(f"modules on: {', '.join(modules)}")
        print(f"ratio dashboard/raw: {dash_ms / raw_ms:.2f}x (goal <= 1.5x); load average "
              f"{load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f}")
        emit(f"national dashboard {args.provinces}×{args.agencies}", "postgres", ours_label="isogov dashboard",
             base_label="one raw SQL GROUP BY", ours=dash_ms, base=raw_ms, unit="ms", ratio=raw_ms / dash_ms,
             goal=">= 0.667", note=f"certification figures of {args.provinces} provinces × {args.agencies} agencies "
             f"({records} QMS records; modules on: {', '.join(modules)}), best of {args.rounds} rounds; dashboard/raw "
             f"= {dash_ms / raw_ms:.2f}× (goal ≤ 1.5×); the raw SQL as a superuser (no row-level security) "
             f"{min(unprotected) * 1000:.0f} ms")
    finally:
        await bench_db.drop()


if __name__ == "__main__":
    asyncio.run(main())
