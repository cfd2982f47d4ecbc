"""Agency search through the whole API (auth, tenancy guard, scoped query, JSON) vs the same SQL on raw asyncpg.

Starts the API with uvicorn in a subprocess on 127.0.0.1 against a fresh PostgreSQL database, seeds one province
with --agencies agencies, then runs --requests sequential searches each way and prints both rates and the ratio
(API rate / raw rate). Bounded: a fixed number of requests, a deadline, and every process it starts is stopped by pid.

    .venv/bin/python bench/agencies_list.py --agencies 2000 --requests 300
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import asyncpg
import httpx

ROOT = Path(__file__).resolve().parent.parent
PG = dict(host="127.0.0.1", port=5432, user="postgres")
QUERIES = ["so", "giao thong", "ubnd xa", "phong", "tu phap"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--agencies", type=int, default=2000)
    parser.add_argument("--requests", type=int, default=300)
    args = parser.parse_args()
    db = f"isogov_bench_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(database="postgres", **PG)
    await admin.execute(f'CREATE DATABASE "{db}"')
    port = free_port()
    env = {**os.environ, "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{db}", "ISOGOV_VAR_DIR": tempfile.mkdtemp(),
           "ISOGOV_PORT": str(port), "ISOGOV_LOG_LEVEL": "WARNING", "ISOGOV_PASSWORD_HASH": "fast", "REDIS_URL": "",
           "ISOGOV_DB_POOL_SIZE": "4"}
    python = sys.executable
    proc = None
    try:
        subprocess.run([python, "-m", "core.cli", "migrate"], env=env, cwd=ROOT, check=True, capture_output=True)
        code = "bench"
        subprocess.run([python, "-m", "core.cli", "create-tenant", code, "Tỉnh Đo Hiệu Năng"], env=env, cwd=ROOT,
                       check=True, capture_output=True)
        subprocess.run([python, "-m", "core.cli", "create-user", "admin@bench.test", "--role", "tenant_admin",
                        "--full-name", "Bench", "--tenant", code], env={**env, "ISOGOV_NEW_USER_PASSWORD": "bench-pass-1"},
                       cwd=ROOT, check=True, capture_output=True)
        conn = await asyncpg.connect(database=db, **PG)
        tenant_id = await conn.fetchval("SELECT id FROM tenant WHERE code=$1", code)
        names = ["Sở Giao thông Vận tải", "UBND xã Đồng Đăng", "Phòng Tư pháp", "Sở Tài chính", "UBND phường Tam Thanh"]
        rows = []
        for i in range(args.agencies):
            name = f"{names[i % len(names)]} {i}"
            from core.text import fold

            rows.append((uuid.uuid4(), tenant_id, f"A{i}", f"{tenant_id}:a{i}", name, fold(name), "department"))
        await conn.executemany(
            "INSERT INTO agency (id, tenant_id, code, code_key, name, name_folded, level, required, valid_from) "
            "VALUES ($1,$2,$3,$4,$5,$6,$7,false,'2020-01-01')", rows)
        proc = subprocess.Popen([python, "-m", "core.cli", "api"], env=env, cwd=ROOT, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        base = f"http://127.0.0.1:{port}"
        async with httpx.AsyncClient(base_url=base, timeout=10) as client:
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                try:
                    if (await client.get("/health")).status_code == 200:
                        break
                except httpx.HTTPError:
                    await asyncio.sleep(0.1)
            token = (await client.post("/api/v1/auth/login", json={"email": "admin@bench.test",
                                                                   "password": "bench-pass-1"})).json()["access_token"]
            headers = {"Authorization": f"Bearer {token}"}
            for q in QUERIES:  # warm up
                assert (await client.get(f"/api/v1/tenants/{code}/agencies", params={"q": q}, headers=headers)).status_code == 200
            started = time.perf_counter()
            for i in range(args.requests):
                r = await client.get(f"/api/v1/tenants/{code}/agencies", params={"q": QUERIES[i % len(QUERIES)]},
                                     headers=headers)
                assert r.status_code == 200
            api_seconds = time.perf_counter() - started

        sql = ("SELECT * FROM agency WHERE tenant_id=$1 AND (name_folded LIKE $2 OR code_key LIKE $2) "
               "ORDER BY level, name_folded LIMIT 50")
        count_sql = "SELECT count(*) FROM agency WHERE tenant_id=$1 AND (name_folded LIKE $2 OR code_key LIKE $2)"
        started = time.perf_counter()
        for i in range(args.requests):
            pattern = f"%{QUERIES[i % len(QUERIES)]}%"
            await conn.fetch(sql, tenant_id, pattern)
            await conn.fetchval(count_sql, tenant_id, pattern)
        raw_seconds = time.perf_counter() - started
        await conn.close()
        api_rate, raw_rate = args.requests / api_seconds, args.requests / raw_seconds
        print(f"agencies={args.agencies} requests={args.requests}")
        print(f"API (HTTP, auth, guard, scoped query, JSON): {api_rate:8.1f} searches/s")
        print(f"raw asyncpg (same SQL, no HTTP):             {raw_rate:8.1f} searches/s")
        print(f"ratio API/raw: {api_rate / raw_rate:.3f}")
    finally:
        if proc is not None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
        await admin.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
        await admin.close()


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    asyncio.run(main())
