"""Notifications delivered per second through the whole path, against arq's own no-op job rate.

    .venv/bin/python bench/notifications.py [--db sqlite|postgres] [-n 10000] [--rounds 2]

1. Baseline: one arq worker process with a no-op job; N jobs are queued with arq's `enqueue_job` while it runs;
   the clock stops when the queue is empty (arq removes a job from the queue after it finished).
2. isogov: one `isogov worker` process (arq worker + outbox relay) on the same Redis, with the same max_jobs and
   poll delay. N notifications to one user (in-app channel) are written with `core.notifications.notify` in one transaction;
   the clock starts at its commit and stops when the N inbox items exist: outbox -> relay -> worker -> inbox.

The baseline runs one arq job per no-op; isogov's relay puts up to `workers.relay.INBOX_JOB_SIZE` (100) in-app
deliveries in one `core:deliver_in_app` job (emails and plugin jobs stay one job each), so the ratio compares
notifications delivered with bare arq jobs run, the figure of the goal. With --rounds, baseline and isogov rounds
alternate (the machine may be shared) and the best of each is reported, with every round's rate and ratio, and the worker process's CPU
seconds per job (from /proc), the steadier figure on a loaded machine. Both rates and their ratio are printed,
and the cost of writing the notifications (the business side) apart. On PostgreSQL the app connects as the
runtime role under row-level security, as in production (migrations as the owner role), like the tests.
ISOGOV_BENCH_PROFILE=<dir> runs the worker under pyinstrument and writes worker.txt and notify.txt there.
The bench uses its own database (a temporary SQLite file, or a PostgreSQL database it creates and drops) and its
own queue names on the Redis of REDIS_URL (default redis://127.0.0.1:6379/0); it deletes nothing else.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from _pg import BenchDatabase  # noqa: E402
MAX_JOBS = 20
KIND = "national.report_submitted"  # a kind core declares
POLL_DELAY = 0.01


def _configure(db: str, tmp: str) -> str | None:
    """Point this process (and the workers it starts) at a fresh database before core is imported."""
    pg_name = None
    os.environ.update({
        "ISOGOV_ENV": "embedded", "ISOGOV_VAR_DIR": tmp, "ISOGOV_PASSWORD_HASH": "fast",
        "ISOGOV_SECRET_KEY": "bench-secret-key-" + "x" * 32, "ISOGOV_LOG_LEVEL": "WARNING",
        "REDIS_URL": os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0",
        "ISOGOV_QUEUE": f"isogov-bench-{os.getpid()}-{uuid.uuid4().hex[:6]}",
        "ISOGOV_WORKER_MAX_JOBS": str(MAX_JOBS), "ISOGOV_WORKER_POLL_DELAY": str(POLL_DELAY),
        "ISOGOV_RELAY_INTERVAL": "0.05", "ISOGOV_SMTP_HOST": "", "PICCOLO_CONF": "core.piccolo_conf",
        "PYTHONPATH": str(ROOT),
    })
    if db == "postgres":  # as the tests and production: the owner migrates, row-level security binds the app
        pg_name = asyncio.run(BenchDatabase.create(f"isogov_bench_{os.getpid()}")).name
    else:
        os.environ["DATABASE_URL"] = f"sqlite:///{tmp}/bench.sqlite3"
    return pg_name


def _drop_pg(name: str) -> None:
    asyncio.run(BenchDatabase(name).drop())


async def _noop(ctx: dict) -> None:
    return None


def noop_worker(queue: str) -> None:
    """The baseline worker process: arq with a job that does nothing, same max_jobs and poll delay."""
    from arq.connections import RedisSettings
    from arq.worker import Worker, func

    Worker(functions=[func(_noop, name="noop", keep_result=0)], queue_name=queue, max_jobs=MAX_JOBS,
           poll_delay=POLL_DELAY, keep_result=0, redis_settings=RedisSettings.from_dsn(os.environ["REDIS_URL"]),
           health_check_interval=1).run()


def _spawn(args: list[str], log: Path) -> subprocess.Popen:
    with open(log, "ab") as out:
        return subprocess.Popen([sys.executable, *args], cwd=ROOT, env=os.environ.copy(), stdout=out,
                                stderr=subprocess.STDOUT)


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=180 if os.environ.get("ISOGOV_BENCH_PROFILE") else 20)  # a profiler writes its report
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


def _cpu(proc: subprocess.Popen) -> float:
    """CPU seconds (user + system) the process has used so far (Linux /proc)."""
    try:
        fields = Path(f"/proc/{proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _wait(predicate, timeout: float, what: str, proc: subprocess.Popen, log: Path, every: float = 0.01) -> None:
    deadline = time.perf_counter() + timeout
    while not await predicate():
        if proc.poll() is not None:
            raise RuntimeError(f"worker exited ({proc.returncode}) waiting for {what}:\n{log.read_text()[-2000:]}")
        if time.perf_counter() > deadline:
            raise RuntimeError(f"timed out waiting for {what}:\n{log.read_text()[-2000:]}")
        await asyncio.sleep(every)


async def baseline(n: int, log: Path) -> tuple[float, float]:
    """One round of the baseline: (jobs/s, worker CPU seconds)."""
    from arq.connections import RedisSettings, create_pool

    queue = f"{os.environ['ISOGOV_QUEUE']}-noop"
    redis = await create_pool(RedisSettings.from_dsn(os.environ["REDIS_URL"]), default_queue_name=queue)
    proc = _spawn([str(Path(__file__).resolve()), "--noop-worker", queue], log)
    try:
        await _wait(lambda: redis.exists(f"{queue}:health-check"), 60, "the no-op worker", proc, log)
        run = uuid.uuid4().hex[:8]
        cpu0 = _cpu(proc)
        started = time.perf_counter()
        for start in range(0, n, 50):  # arq's enqueue_job, 50 at a time
            await asyncio.gather(*(redis.enqueue_job("noop", _job_id=f"bench-noop:{run}:{i}")
                                   for i in range(start, min(n, start + 50))))

        async def done() -> bool:
            return await redis.zcard(queue) == 0

        await _wait(done, 600, "the no-op jobs", proc, log, every=0.005)
        elapsed = time.perf_counter() - started
        return n / elapsed, _cpu(proc) - cpu0
    finally:
        _stop(proc)
        await redis.delete(queue, f"{queue}:health-check")
        await redis.aclose()


class Isogov:
    """Our side: a province with one inspector who wants in-app notifications only, and `isogov worker` rounds."""

    async def setup(self) -> None:
        from core import db
        from core.logging import configure_logging
        from core.notifications.tables import NotificationPreference
        from core.settings import get_settings
        from core.tenancy import Actor
        from core.tenancy.rls import migrate
        from core.users.services import add_user
        from tenants import service
        from workers.config import get_worker_config
        from workers.queue import connect

        configure_logging(get_settings())
        await migrate()  # as the owner, then row-level security (PostgreSQL); the app runs as the runtime role
        await db.start()
        self.config = get_worker_config()
        self.redis = await connect(self.config)
        await service.create_tenant("bench", "Tỉnh Đo Lường", [], Actor.system("bench"))
        self.ctx = await service.system_ctx("bench", "bench")
        self.user = await add_user(self.ctx, email="inspector@bench.test", full_name="Thanh tra", role="inspector",
                                   agency_id=None, password_hash="x")
        await self.ctx.scope(NotificationPreference).insert({
            "user_id": self.user["id"], "kind": "*", "key": f"{self.user['id']}:*", "in_app": True, "email": "off"})

    async def close(self) -> None:
        from core import db
        from workers.queue import health_check_key

        await self.redis.delete(self.config.queue, health_check_key(self.config.queue))
        await self.redis.aclose()
        await db.stop()

    async def inbox(self) -> int:
        from core.notifications.tables import InboxItem
        from core.tenancy import unscoped

        with unscoped():
            return await InboxItem.count().where(InboxItem.user_id == self.user["id"])

    async def round(self, n: int, log: Path, latency: bool) -> tuple[float, float, float, list[float]]:
        """(notifications/s delivered, notify() writes/s, worker CPU seconds, single-notification latencies)."""
        from core.db import transaction
        from core.notifications.notify import notify
        from workers.queue import health_check_key

        profile_dir = os.environ.get("ISOGOV_BENCH_PROFILE")  # a directory: pyinstrument reports of both sides
        worker_args = ["-m", "workers", "worker"]
        if profile_dir:
            worker_args = ["-m", "pyinstrument", "--show-all", "-r", "text", "-o", f"{profile_dir}/worker.txt",
                           *worker_args]
        proc = _spawn(worker_args, log)
        try:
            await _wait(lambda: self.redis.exists(health_check_key(self.config.queue)), 60, "the isogov worker",
                        proc, log)
            latencies = []  # one notification at a time on an idle worker: commit -> visible in the inbox
            for i in range(20 if latency else 0):
                before = await self.inbox()
                t0 = time.perf_counter()
                await notify(self.ctx, kind=KIND, title=f"Đơn lẻ {i}", recipients=[self.user["id"]])

                async def arrived() -> bool:
                    return await self.inbox() > before

                await _wait(arrived, 30, "a single notification", proc, log, every=0.002)
                latencies.append(time.perf_counter() - t0)
            base = await self.inbox()

            profiler = None
            if profile_dir:
                from pyinstrument import Profiler

                profiler = Profiler(async_mode="disabled")
                profiler.start()
            written = time.perf_counter()
            async with transaction():
                for i in range(n):
                    await notify(self.ctx, kind=KIND, title=f"Thông báo {i}", recipients=[self.user["id"]])
            committed = time.perf_counter()
            cpu0 = _cpu(proc)
            if profiler is not None:
                profiler.stop()
                Path(profile_dir, "notify.txt").write_text(profiler.output_text(show_all=False))

            async def all_delivered() -> bool:
                return await self.inbox() >= base + n

            await _wait(all_delivered, 1200, "the batch", proc, log, every=0.05)
            delivered = time.perf_counter()
            cpu = _cpu(proc) - cpu0
            assert await self.inbox() == base + n
            return n / (delivered - committed), n / (committed - written), cpu, sorted(latencies)
        finally:
            _stop(proc)


async def measure(n: int, rounds: int, log: Path) -> dict[str, list]:
    ours = Isogov()
    await ours.setup()
    out: dict[str, list] = {"arq": [], "arq_cpu": [], "isogov": [], "write": [], "isogov_cpu": [], "latencies": [],
                            "load": []}
    try:
        for r in range(rounds):  # alternate, so both sides meet the same load on a shared machine
            rate, cpu = await baseline(n, log)
            out["arq"].append(rate)
            out["arq_cpu"].append(cpu)
            rate, write, cpu, latencies = await ours.round(n, log, latency=r == 0)
            out["isogov"].append(rate)
            out["write"].append(write)
            out["isogov_cpu"].append(cpu)
            out["latencies"] += latencies
            out["load"].append(os.getloadavg()[0])
    finally:
        await ours.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("-n", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=1, help="rounds of each side, alternating; the best is reported")
    parser.add_argument("--noop-worker", metavar="QUEUE", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.noop_worker:
        noop_worker(args.noop_worker)
        return
    tmp = tempfile.mkdtemp(prefix="isogov-bench-")
    pg_name = _configure(args.db, tmp)
    sys.path.insert(0, str(ROOT))
    log = Path(tmp) / "workers.log"
    try:
        out = asyncio.run(measure(args.n, args.rounds, log))
    finally:
        if pg_name:
            _drop_pg(pg_name)
        shutil.rmtree(tmp, ignore_errors=True)
    from workers.relay import INBOX_JOB_SIZE  # once the environment is set
    arq_rate, ours, write_rate = max(out["arq"]), max(out["isogov"]), max(out["write"])
    latencies = sorted(out["latencies"])
    p50 = latencies[len(latencies) // 2] * 1000
    rates = lambda values: ", ".join(f"{v:.0f}" for v in values)  # noqa: E731
    print(f"notifications bench: {args.n} jobs, one worker (max_jobs={MAX_JOBS}, poll_delay={POLL_DELAY}s), "
          f"database {args.db}, Redis {os.environ['REDIS_URL']}, {args.rounds} round(s), best reported")
    print(f"  arq no-op jobs (enqueue + run)               : {arq_rate:9.0f} jobs/s  (rounds: {rates(out['arq'])})")
    print(f"  isogov outbox -> relay -> worker -> inbox    : {ours:9.0f} notifications/s  "
          f"(rounds: {rates(out['isogov'])}; in-app deliveries {INBOX_JOB_SIZE} to an arq job)")
    print(f"  ratio isogov / arq no-op                     : {ours / arq_rate:9.2f}  (per round: "
          + ", ".join(f"{o / a:.2f}" for o, a in zip(out["isogov"], out["arq"])) + ")")
    print(f"  writing them (notify(), one transaction)     : {write_rate:9.0f} notifications/s  "
          f"(rounds: {rates(out['write'])})")
    for name, per in (("arq", "arq no-op job"), ("isogov", "isogov notification")):
        cpus = out[f"{name}_cpu"]
        print(f"  worker process CPU per {per:20}  : "
              + ", ".join(f"{1000 * c / args.n:.3f}" for c in cpus) + " ms")
    print("  ratio by worker CPU (arq / isogov)           : "
          + ", ".join(f"{a / o:.2f}" for a, o in zip(out["arq_cpu"], out["isogov_cpu"]) if o) + " by round")
    print("  load average (1 min) after each round pair   : " + ", ".join(f"{v:.2f}" for v in out["load"]))
    print(f"  one notification, commit -> inbox (idle)     : p50 {p50:.0f} ms, max {latencies[-1] * 1000:.0f} ms "
          f"(relay polls every 50 ms here)")
    sys.path.insert(0, str(ROOT / "bench"))
    from _report import emit

    emit(f"notifications outbox → inbox ({args.n:,})", args.db, ours_label="outbox→relay→worker→inbox",
         base_label="arq no-op jobs", ours=ours, base=arq_rate, unit="/s",
         goal=">= 0.6" if args.db == "postgres" else None, ours_p50=p50, ours_p99=latencies[-1] * 1000,
         note="latency: one notification on an idle worker, commit → inbox")
    emit("notify() writes (one transaction)", args.db, ours_label="core.notifications.notify",
         base_label="arq no-op rate", ours=write_rate, base=arq_rate, unit="/s")


if __name__ == "__main__":
    main()
