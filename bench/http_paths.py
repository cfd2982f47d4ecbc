"""The hot HTTP paths of the API against a bare Litestar + driver app, under the same concurrent load.

    .venv/bin/python bench/http_paths.py [--db postgres|sqlite] [--server uvicorn|granian] [-n 1500] [-c 16] [--rls]

Sets up its own database (a PostgreSQL database it creates and drops, or a temporary SQLite file), seeds a
province of 2,000 agencies (with users and evidence) and two provinces of 300 and 3,000 agencies with QMS
records, then starts two servers on 127.0.0.1, one worker process each, with the same HTTP server: `isogov api`
and `bench/bare_app.py` (pyjwt + one user/tenant query + hand-written SQL). Each pair is measured in rounds,
ours then the baseline, each round `-n` requests over `-c` keep-alive connections (bench/_load.py); the best
round of each side is reported (the machine is shared: the best round is the least disturbed). Every process it
starts is stopped by its pid; the load is bounded by count and deadline.

`--rls` (PostgreSQL): as production runs, through bench/_pg.py: the owner role migrates with row-level security,
both apps connect as the runtime role (no superuser, no BYPASSRLS), so every statement carries its tenant: the API
through its engine, the baseline in one transaction per request (`set_config('app.tenant_id', $1, true)`).
Without it both apps connect as the superuser (the policies do not apply).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from _load import LoadResult, run_load  # noqa: E402
from _report import emit  # noqa: E402

PG = {"host": os.environ.get("ISOGOV_TEST_PG_HOST", "127.0.0.1"),
      "port": int(os.environ.get("ISOGOV_TEST_PG_PORT", "5432")),
      "user": os.environ.get("ISOGOV_TEST_PG_USER", "postgres")}
PASSWORD = "bench-pass-1"
NAMES = ["Sở Giao thông Vận tải", "UBND xã Đồng Đăng", "Phòng Tư pháp", "Sở Tài chính", "UBND phường Tam Thanh"]
LEVELS = ["department", "district", "office", "commune", "unit"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def configure(db: str, tmp: str, rls: bool = False) -> object:
    os.environ.update({
        "ISOGOV_ENV": "embedded", "ISOGOV_VAR_DIR": tmp, "ISOGOV_PASSWORD_HASH": "fast",
        "ISOGOV_SECRET_KEY": "bench-secret-key-" + "x" * 32, "ISOGOV_LOG_LEVEL": "WARNING", "REDIS_URL": "",
        "PICCOLO_CONF": "core.piccolo_conf", "ISOGOV_DB_POOL_SIZE": "10", "ISOGOV_EVIDENCE_BACKEND": "local",
        "ISOGOV_EVIDENCE_DIR": f"{tmp}/evidence", "PYTHONPATH": str(ROOT),
    })
    os.environ.pop("ISOGOV_PLUGINS", None)
    if db == "sqlite":
        os.environ["DATABASE_URL"] = f"sqlite:///{tmp}/bench.sqlite3"
        return None
    if rls:
        from _pg import BenchDatabase

        os.environ["ISOGOV_BENCH_RLS"] = "1"  # the baseline: one transaction per request carrying the tenant
        return asyncio.run(BenchDatabase.create())  # DATABASE_URL: the runtime role; the owner migrates
    import asyncpg

    name = f"isogov_bench_{os.getpid()}_{uuid.uuid4().hex[:6]}"

    async def create() -> None:
        conn = await asyncpg.connect(database="postgres", **PG)
        try:
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()

    asyncio.run(create())
    os.environ["DATABASE_URL"] = f"postgres://{PG['user']}@{PG['host']}:{PG['port']}/{name}"
    return name


def drop_pg(name: str) -> None:
    import asyncpg

    async def drop() -> None:
        conn = await asyncpg.connect(database="postgres", **PG)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()

    asyncio.run(drop())


async def seed(rls: bool = False) -> None:
    """Three provinces: `bench` (2,000 agencies, 150 users, 400 evidence), `b300` and `b3000` (QMS records)."""
    from piccolo.apps.migrations.commands.forwards import run_forwards

    from core import db
    from core.agencies.tables import Agency
    from core.auth import hash_password
    from core.tenancy import Actor, unscoped
    from core.text import fold
    from core.users.services import add_user
    from core.users.tables import User
    from plugins.certification.tables import QmsRecord
    from plugins.evidence.tables import Evidence
    from tenants import service

    if rls:  # as the owner, then the policies; the seed below runs as the runtime role on the platform path
        from core.tenancy.rls import migrate

        await migrate()
    else:
        result = await run_forwards(app_name="all")
        assert result.success, result.message
    await db.start()
    today = date.today()
    try:
        for code, agencies in (("bench", 2000), ("b300", 300), ("b3000", 3000)):
            await service.create_tenant(code, f"Tỉnh {code}", ["certification", "evidence"], Actor.system("bench"))
            ctx = await service.system_ctx(code, "bench")
            await add_user(ctx, email=f"admin@{code}.test", full_name="Quản trị", role="tenant_admin",
                           agency_id=None, password_hash=hash_password(PASSWORD))
            tid = ctx.tenant.id
            rows = []
            for i in range(agencies):
                name = f"{NAMES[i % len(NAMES)]} {i}"
                rows.append(Agency(id=uuid.uuid4(), tenant_id=tid, code=f"A{i}", code_key=f"{tid}:a{i}", name=name,
                                   name_folded=fold(name), level=LEVELS[i % len(LEVELS)], required=i % 3 == 0,
                                   valid_from=date(2020, 1, 1)))
            with unscoped():
                for start in range(0, len(rows), 500):
                    await Agency.insert(*rows[start:start + 500])
            if code == "bench":
                users = [User(id=uuid.uuid4(), tenant_id=tid, email=f"u{i:03d}@bench.test",
                              full_name=f"Cán bộ {i}", full_name_folded=fold(f"Cán bộ {i}"), role="viewer",
                              password_hash="x", active=True) for i in range(150)]
                files = [Evidence(id=uuid.uuid4(), tenant_id=tid, title=f"Biên bản {i}",
                                  search_folded=fold(f"Biên bản {i} bb{i}.pdf"), filename=f"bb{i}.pdf",
                                  content_type="application/pdf", size=1000 + i, sha256="0" * 64,
                                  uploaded_by_name="bench") for i in range(400)]
                with unscoped():
                    await User.insert(*users)
                    await Evidence.insert(*files)
                continue
            records = []
            for i, agency in enumerate(rows):
                kind = i % 5
                if kind == 0:
                    continue  # no record: not started
                status = ("building", "applying", "announced", "announced")[kind - 1]
                records.append(QmsRecord(
                    id=uuid.uuid4(), tenant_id=tid, agency_id=agency.id, status=status,
                    status_since=date(2024, 1, 1), standard_version="2015" if status == "announced" else None,
                    announced_on=date(2024, 3, 1) if status == "announced" else None,
                    announcement_number=f"{i}/QĐ-BENCH" if status == "announced" else None,
                    internal_audit_due_on=today - timedelta(days=10) if kind == 2 else today + timedelta(days=200),
                    management_review_due_on=today + timedelta(days=200),
                    reannouncement_due=kind == 4, reannouncement_due_since=date(2025, 1, 1) if kind == 4 else None,
                    reannouncement_reason="scope_changed" if kind == 4 else None,
                    last_event_on=date(2024, 3, 1), event_count=3))
            with unscoped():
                for start in range(0, len(records), 500):
                    await QmsRecord.insert(*records[start:start + 500])
        if not db.is_sqlite():  # statistics, as a database in use has them (autovacuum): both apps plan with them
            import asyncpg
            from urllib.parse import urlparse

            admin = await asyncpg.connect(database=urlparse(os.environ["DATABASE_URL"]).path.lstrip("/"), **PG)
            try:
                await admin.execute("ANALYZE")
            finally:
                await admin.close()
    finally:
        await db.stop()


def start_server(target: list[str], port: int, log: Path, server: str) -> subprocess.Popen:
    env = {**os.environ, "ISOGOV_PORT": str(port), "ISOGOV_SERVER": server}
    with open(log, "ab") as out:
        return subprocess.Popen([sys.executable, *target], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)


def bare_command(server: str, port: int) -> list[str]:
    if server == "granian":
        return ["-m", "granian", "--interface", "asgi", "--factory", "--host", "127.0.0.1", "--port", str(port),
                "--workers", "1", "--log-level", "warning", "bench.bare_app:create_app"]
    return ["-m", "uvicorn", "--factory", "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning",
            "--no-access-log", "bench.bare_app:create_app"]


def stop(proc: subprocess.Popen | None) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=5)


async def wait_up(port: int, proc: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 300  # a loaded machine imports slowly
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server on {port} exited:\n{log.read_text()[-3000:]}")
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            return
        except OSError:
            await asyncio.sleep(0.1)
    raise RuntimeError(f"server on {port} did not start:\n{log.read_text()[-3000:]}")


async def login(port: int, code: str) -> str:
    body = json.dumps({"email": f"admin@{code}.test", "password": PASSWORD}).encode()
    holder: dict[str, str] = {}
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                 f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
    from _load import _read_response

    status, data = await _read_response(reader)
    writer.close()
    if status not in (200, 201):
        raise RuntimeError(f"login {code}: {status} {data[:300]!r}")
    holder["token"] = json.loads(data)["access_token"]
    return holder["token"]


async def get_json(port: int, path: str, headers: dict[str, str]) -> object:
    from _load import _encode, _read_response

    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(_encode(("GET", path, headers, b""), f"127.0.0.1:{port}"))
        status, data = await _read_response(reader)
    finally:
        writer.close()
    if status != 200:
        raise RuntimeError(f"GET {path} on {port}: {status} {data[:300]!r}")
    return json.loads(data)


async def same_answers(ours_port: int, base_port: int, headers: dict[str, str]) -> None:
    """The baseline must answer what the API answers: the same rows in the same order, the same totals."""
    for path in ("/agencies", "/users", "/evidence"):
        for query in ("?limit=50&offset=0", "?limit=50&offset=120"):
            url = f"/api/v1/tenants/bench{path}{query}"
            ours, base = await get_json(ours_port, url, headers), await get_json(base_port, url, headers)
            mine = [(i["id"], i.get("code") or i.get("email") or i.get("title")) for i in ours["items"]]
            theirs = [(i["id"], i.get("code") or i.get("email") or i.get("title")) for i in base["items"]]
            if mine != theirs or ours["total"] != base["total"] or set(ours["items"][0]) != set(base["items"][0]):
                raise RuntimeError(f"the baseline answers {url} differently: {theirs[:3]} / {base['total']} vs "
                                   f"{mine[:3]} / {ours['total']}; fields {sorted(set(base['items'][0]) ^ set(ours['items'][0]))}")
    print("baseline answers checked: the same rows, order, totals and fields as the API", flush=True)


ONLY: list[str] = []
SERVER: list[str] = ["uvicorn"]
PIDS: dict[int, int] = {}  # port -> server process id, for the CPU each request costs


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process so far (/proc; Linux)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def measure(name: str, db: str, ours_port: int, base_port: int, make, n: int, c: int, rounds: int,
                  goal: str | None, unit: str = "req/s") -> tuple[LoadResult, LoadResult] | None:
    """Warm both up, then alternate rounds (ours, baseline); keep each side's best round."""
    if ONLY and not any(word in name for word in ONLY):
        return None
    await run_load(ours_port, make("ours", -1), max(50, n // 10), c)
    await run_load(base_port, make("base", -1), max(50, n // 10), c)
    best: dict[str, LoadResult] = {}
    cpu: dict[str, list[float]] = {"ours": [], "base": []}
    for r in range(rounds):
        for side, port in (("ours", ours_port), ("base", base_port)):
            before = cpu_seconds(PIDS[port]) if port in PIDS else float("nan")
            result = await run_load(port, make(side, r), n, c)
            cpu[side].append((cpu_seconds(PIDS[port]) - before) / n * 1000 if port in PIDS else float("nan"))
            if side not in best or result.rate > best[side].rate:
                best[side] = result
    ours, base = best["ours"], best["base"]
    # the server's own CPU per request (least of the rounds): steadier than rates on a shared machine
    ours_cpu, base_cpu = min(cpu["ours"]), min(cpu["base"])
    note = (f"server CPU per request (least of the rounds): ours {ours_cpu:.2f} ms, baseline {base_cpu:.2f} ms, "
            f"baseline/ours {base_cpu / ours_cpu:.2f}") if PIDS else ""
    if note:
        print(f"  {note}", flush=True)
    emit(f"{name} [{SERVER[0]}]", db, ours_label="isogov API", base_label="bare Litestar + SQL", ours=ours.rate, base=base.rate,
         unit=unit, goal=goal, ours_p50=ours.pct(0.5), ours_p99=ours.pct(0.99), base_p50=base.pct(0.5),
         base_p99=base.pct(0.99), note=note)
    return ours, base


async def run(args: argparse.Namespace, ours_port: int, base_port: int) -> None:
    tokens = {code: await login(ours_port, code) for code in ("bench", "b300", "b3000")}
    auth = {code: {"Authorization": f"Bearer {t}"} for code, t in tokens.items()}
    offsets = [0, 50, 500, 1200, 1950]

    def getter(path: str, code: str, paged: bool = True, size: int = 299):
        """Pages of 50 at offsets spread over the list, every page full (`size`: rows in the list)."""
        def make(side: str, round_: int):
            def request(i: int):
                query = f"?limit=50&offset={offsets[i % len(offsets)] % (size - 49)}" if paged else ""
                return "GET", f"/api/v1/tenants/{code}{path}{query}", auth[code], b""
            return request
        return make

    def creator(side: str, round_: int):
        run_id = uuid.uuid4().hex[:6]

        def request(i: int):
            body = json.dumps({"code": f"{side[0]}{run_id}{i}", "name": f"Phòng Bench {i}",
                               "level": "office"}).encode()
            return "POST", "/api/v1/tenants/bench/agencies", {**auth["bench"], "Content-Type": "application/json"}, body
        return request

    await same_answers(ours_port, base_port, auth["bench"])
    n, c, rounds, db = args.n, args.c, args.rounds, args.db
    # the goals hold for what `isogov api` serves with by default (uvicorn); the granian rows compare servers
    pg = db == "postgres" and SERVER[0].startswith("uvicorn")
    await measure("agencies list (50 of 2,000)", db, ours_port, base_port, getter("/agencies", "bench", size=2000), n, c,
                  rounds, ">= 0.85" if pg else None)
    await measure("users list (50 of 151)", db, ours_port, base_port, getter("/users", "bench", size=151), n, c, rounds,
                  ">= 0.85" if pg else None)
    await measure("evidence list (50 of 400)", db, ours_port, base_port, getter("/evidence", "bench", size=400), n, c, rounds,
                  ">= 0.85" if pg else None)
    await measure("create agency + audit row", db, ours_port, base_port, creator, max(200, n // 3), c, rounds,
                  ">= 0.7" if pg else None)
    pages = {}
    for code, size in (("b300", 300), ("b3000", 3000)):
        ours = await measure(f"certification board page ({size:,} agencies)", db, ours_port, base_port,
                                   getter("/certification/board", code), n, c, rounds,
                                   ">= 0.33" if pg and size == 3000 else None)
        pages[size] = ours[0] if ours else None
        await measure(f"certification board summary ({size:,} agencies)", db, ours_port, base_port,
                      getter("/certification/board/summary", code, paged=False), max(200, n // 3), c, rounds,
                      ">= 0.33" if pg and size == 3000 else None)
    if not pages[300] or not pages[3000]:
        return
    emit("board page: cost at 3,000 vs 300 agencies", db, ours_label="isogov 3,000", base_label="isogov 300",
         ours=pages[3000].rate, base=pages[300].rate, unit="req/s", goal=">= 0.8" if pg else None,
         ours_p50=pages[3000].pct(0.5), ours_p99=pages[3000].pct(0.99), base_p50=pages[300].pct(0.5),
         base_p99=pages[300].pct(0.99))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="postgres")
    parser.add_argument("--server", choices=["uvicorn", "granian"], default=None,
                        help="HTTP server of both apps (default: what `isogov api` uses)")
    parser.add_argument("-n", type=int, default=600, help="requests per round (default 600)")
    parser.add_argument("-c", type=int, default=16, help="concurrent connections (default 16)")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--profile", metavar="HTML", help="run `isogov api` under pyinstrument, write HTML/text")
    parser.add_argument("--only", action="append", default=[], help="measure only pairs whose name has this")
    parser.add_argument("--rls", action="store_true", help="PostgreSQL: both apps as the runtime role under "
                        "row-level security (owner migrates), as production")
    args = parser.parse_args()
    if args.rls and args.db != "postgres":
        parser.error("--rls needs --db postgres")
    ONLY.extend(args.only)
    server = args.server or os.environ.get("ISOGOV_SERVER") or "uvicorn"
    SERVER[0] = server + (", rls" if args.rls else "")
    tmp = tempfile.mkdtemp(prefix="isogov-bench-http-")
    pg_name = configure(args.db, tmp, args.rls)
    procs: list[subprocess.Popen] = []
    log = Path(tmp) / "servers.log"
    try:
        asyncio.run(seed(args.rls))
        ours_port, base_port = free_port(), free_port()
        ours_cmd = ["-m", "core.cli", "api"]
        if args.profile:
            ours_cmd = ["bench/_profiled_api.py", args.profile]
        procs.append(start_server(ours_cmd, ours_port, log, server))
        procs.append(start_server(bare_command(server, base_port), base_port, log, server))
        if server == "uvicorn":  # one process each (granian serves from child processes)
            PIDS.update({ours_port: procs[0].pid, base_port: procs[1].pid})

        async def go() -> None:
            await wait_up(ours_port, procs[0], log)
            await wait_up(base_port, procs[1], log)
            await run(args, ours_port, base_port)

        print(f"http paths: database {args.db}{' as the runtime role under row-level security' if args.rls else ''}, "
              f"server {server} (one worker each), {args.n} requests per round "
              f"over {args.c} connections, best of {args.rounds} rounds", flush=True)
        asyncio.run(go())
    finally:
        for proc in procs:
            stop(proc)
        if isinstance(pg_name, str):
            drop_pg(pg_name)
        elif pg_name is not None:  # a BenchDatabase
            asyncio.run(pg_name.drop())
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
