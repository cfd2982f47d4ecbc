"""Process entry points of the background side, as click commands the `isogov` CLI mounts:

    isogov worker      an arq worker with the outbox relay (any number of replicas); `--check` for probes
    isogov scheduler   the cron jobs: daily reminder scan and digest, plugins' cron jobs (exactly one replica)
    isogov relay       the outbox relay alone (optional: every worker runs one); `--once` drains and exits

`python -m workers <command>` runs the same commands.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import click
import structlog

from core.logging import configure_logging
from core.cli import migrate_all, run, serve
from core.embedded import die_with_parent
from core.settings import get_settings, reset_settings

log = structlog.get_logger("isogov.worker")


def _banner(kind: str) -> None:
    from workers.config import get_worker_config

    config = get_worker_config()
    if not config.smtp_host:
        log.warning("ISOGOV_SMTP_HOST is not set: email notifications are written to the log, not sent")
    log.info(f"{kind} starting", queue=config.queue if kind != "scheduler" else config.scheduler_queue)


def run_worker(**overrides) -> None:  # type: ignore[no-untyped-def]
    """Run an arq worker (with the relay) until SIGINT/SIGTERM."""
    from workers.settings import make_worker

    configure_logging(get_settings())
    _banner("worker")
    make_worker(**overrides).run()


def run_scheduler(**overrides) -> None:  # type: ignore[no-untyped-def]
    """Run the single cron process until SIGINT/SIGTERM."""
    from workers.settings import make_scheduler

    configure_logging(get_settings())
    _banner("scheduler")
    make_scheduler(**overrides).run()


async def relay_forever(once: bool = False) -> int:
    from core import db
    from workers.config import get_worker_config
    from workers.queue import connect
    from workers.relay import relay_all, run_relay, sweep_once

    config = get_worker_config()
    await db.start()
    redis = await connect(config)
    try:
        if once:
            count = await relay_all(redis, config)
            await sweep_once(redis, config)
            return count
        await run_relay(redis, config)
        return 0
    finally:
        await redis.aclose()
        await db.stop()


def run_relay(once: bool = False) -> int:
    configure_logging(get_settings())
    if not once:
        _banner("relay")
    try:
        return asyncio.run(relay_forever(once))
    except KeyboardInterrupt:
        return 0


def check(scheduler: bool = False) -> int:
    """0 when the worker (or the scheduler) on this host (pod) reported itself alive in the last minute, else 1."""
    from arq.worker import async_check_health

    from workers.config import get_worker_config
    from workers.queue import health_check_key, redis_settings

    config = get_worker_config()
    queue = config.scheduler_queue if scheduler else config.queue
    return asyncio.run(async_check_health(redis_settings(config), health_check_key(queue), queue))


@click.command("worker")
@click.option("--check", "check_only", is_flag=True, help="Exit 0 if a worker of this queue is alive, else 1.")
def worker_command(check_only: bool) -> None:
    """Run a worker: delivers notifications and runs plugin jobs; relays the outbox."""
    if check_only:
        raise SystemExit(check())
    run_worker()


@click.command("scheduler")
@click.option("--check", "check_only", is_flag=True, help="Exit 0 if the scheduler is alive, else 1.")
def scheduler_command(check_only: bool) -> None:
    """Run the scheduler (cron jobs). Run exactly one."""
    if check_only:
        raise SystemExit(check(scheduler=True))
    run_scheduler()


@click.command("relay")
@click.option("--once", is_flag=True, help="Relay what the outbox holds now, then exit.")
def relay_command(once: bool) -> None:
    """Run the outbox relay alone (every worker already runs one)."""
    count = run_relay(once)
    if once:
        click.echo(f"relayed {count} outbox rows")


@click.command("dev", help="Start everything on the embedded default: migrate, seed the demo, embedded Redis, a worker, the "
                   "scheduler, the API.")
def dev() -> None:
    from core import embedded
    from tenants.demo import DEMO_PASSWORD, demo_logins, seed_demo as seed

    settings = get_settings()
    if settings.is_production:
        raise click.ClickException("`isogov dev` is for the embedded default; use `isogov api` in production")
    pid_file = settings.var_dir / "dev.pid"
    clear_leftovers(pid_file)  # refuses a running `isogov dev`, stops what a killed one left
    redis_proc = None
    if not settings.redis_url:
        redis_proc = embedded.start_redis(settings.var_dir, embedded.embedded_redis_port())
        os.environ["REDIS_URL"] = f"redis://127.0.0.1:{embedded.embedded_redis_port()}/0"
        reset_settings()
        settings = get_settings()
    background: list = []
    try:
        run(migrate_all)
        created = run(seed)
        background = start_background()  # a worker (with the outbox relay) and the scheduler, on the same Redis
        write_pid_file(pid_file, [p.pid for p in background] + ([redis_proc.pid] if redis_proc else []))
        base = f"http://{settings.host}:{settings.port}"
        lines = [
            "",
            "isogov is starting on the embedded default",
            f"  database : {settings.database_url}",
            f"  redis    : {settings.redis_url}",
            f"  workers  : 1 worker + the scheduler (pids {', '.join(str(p.pid) for p in background)}); "
            "email is written to the log unless ISOGOV_SMTP_HOST is set",
            f"  API      : {base}/api/v1",
            f"  OpenAPI  : {base}/schema  (JSON: {base}/schema/openapi.json)",
            f"  health   : {base}/health   ready: {base}/ready",
            f"  demo provinces {'created' if created else 'kept'}: lang-son, bac-ninh, hung-yen",
            f"  demo logins (password {DEMO_PASSWORD!r}):",
            *[f"    {email:<36} {role}" for email, role in demo_logins()],
            "  stop with Ctrl+C",
            "",
        ]
        click.echo("\n".join(lines))
        sys.stdout.flush()
        serve(settings.host, settings.port)
    finally:
        stop_background(background)
        embedded.stop(redis_proc)
        pid_file.unlink(missing_ok=True)


COMMANDS = [worker_command, scheduler_command, relay_command, dev]


@click.group()
def main() -> None:
    """isogov background processes."""


for _command in COMMANDS:
    main.add_command(_command)


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def write_pid_file(path: Path, children: list[int]) -> None:
    """`<dev pid>` then the pids of its children, one a line, so that a restart finds what a killed run left."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(str(p) for p in [os.getpid(), *children]) + "\n", encoding="utf-8")


def clear_leftovers(path: Path) -> list[int]:
    """Before `isogov dev` starts: refuse when the `isogov dev` of the pid file still runs; otherwise stop the
    children it recorded that still run (a worker, the scheduler or Redis of a killed run — each checked by its
    command line, so a reused pid is never touched). Returns the pids stopped."""
    if not path.exists():
        return []
    pids = [int(x) for x in path.read_text(encoding="utf-8").split() if x.isdigit()]
    if not pids:
        path.unlink(missing_ok=True)
        return []
    owner, children = pids[0], pids[1:]
    if owner != os.getpid() and _alive(owner) and "isogov" in _cmdline(owner):
        raise click.ClickException(f"`isogov dev` already runs (pid {owner}); stop it first (Ctrl+C or "
                                   f"`kill {owner}`), or delete {path} if that is another program")
    stopped = []
    for pid in children:
        line = _cmdline(pid)
        if _alive(pid) and ("workers" in line or "redis-server" in line):
            os.kill(pid, signal.SIGTERM)
            stopped.append(pid)
    if stopped:
        log.warning("stopped processes a previous `isogov dev` left running", pids=stopped)
    path.unlink(missing_ok=True)
    return stopped


def spawn(command: str, **env: str) -> "subprocess.Popen[bytes]":
    """Start `python -m workers <command>` with this process's environment (used by `isogov dev`); the child dies
    with this process."""
    return subprocess.Popen([sys.executable, "-m", "workers", command], env={**os.environ, **env},
                            preexec_fn=die_with_parent)


def start_background() -> "list[subprocess.Popen[bytes]]":
    """A worker and the scheduler beside the API, as `isogov dev` runs them (the scheduler scans reminders at
    start-up, so the demo's inbox fills at once)."""
    return [spawn("worker"), spawn("scheduler", ISOGOV_SCAN_AT_START="1")]


def stop_background(procs: "list[subprocess.Popen[bytes]]", timeout: float = 15) -> None:
    """SIGTERM each process started by `start_background` (arq lets running jobs finish or re-queues them)."""
    for proc in procs:
        if proc.poll() is None:
            proc.terminate()
    for proc in procs:
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
