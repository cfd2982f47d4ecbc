"""`isogov dev` owns its children and the scheduler is single by a lock in Redis; the embedded scheduler scans
reminders at start-up (issue 17)."""

from __future__ import annotations

import os
import select
import subprocess
import sys
from typing import Any

import click
import pytest

from workers import scheduler_lock
from workers.settings import scheduler_settings


async def test_a_second_scheduler_is_refused_by_the_lock(redis: Any, wconfig: Any) -> None:
    first = scheduler_settings(wconfig, manage_db=False, redis_pool=redis)
    second = scheduler_settings(wconfig, manage_db=False, redis_pool=redis)
    ctx1: dict[str, Any] = {"redis": redis}
    await first["on_startup"](ctx1)
    try:
        with pytest.raises(scheduler_lock.SchedulerAlreadyRunning, match="exactly one scheduler"):
            await second["on_startup"]({"redis": redis})
        assert await scheduler_lock.renew(redis, wconfig.queue, ctx1["scheduler_lock"])
    finally:
        await first["on_shutdown"](ctx1)
    assert not await redis.exists(scheduler_lock.lock_key(wconfig.queue))  # released on a clean stop
    ctx3: dict[str, Any] = {"redis": redis}
    await second["on_startup"](ctx3)
    await second["on_shutdown"](ctx3)


async def test_the_embedded_scheduler_scans_reminders_at_start_up(redis: Any, wconfig: Any, make_tenant: Any,
                                                                  monkeypatch: Any) -> None:
    from workers import settings as wsettings
    from workers.reminders import today

    t = await make_tenant(modules=["example"])
    monkeypatch.setattr(wsettings, "_past_reminder_hour", lambda config: False)  # before the hour, any day
    job_id = f"reminders:{t.id}:{today(wconfig).isoformat()}"
    quiet = scheduler_settings(wconfig, manage_db=False, redis_pool=redis)
    ctx: dict[str, Any] = {"redis": redis}
    await quiet["on_startup"](ctx)
    await quiet["on_shutdown"](ctx)
    assert not await redis.exists(f"arq:job:{job_id}")
    dev = scheduler_settings(wconfig.with_(scan_at_start=True), manage_db=False, redis_pool=redis)
    ctx = {"redis": redis}
    await dev["on_startup"](ctx)
    await dev["on_shutdown"](ctx)
    assert await redis.exists(f"arq:job:{job_id}")
    await redis.delete(f"arq:job:{job_id}")


def test_dev_children_die_with_it() -> None:
    """The mechanism `isogov dev` starts its worker, scheduler and Redis with: kill the parent (SIGKILL, no clean-up)
    and the child goes too. The child holds the only write end of a pipe: EOF on it means it is gone."""
    read_end, write_end = os.pipe()
    code = ("import os, subprocess, sys\n"
            "from core.embedded import die_with_parent\n"
            f"child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(120)'], pass_fds=({write_end},),"
            " preexec_fn=die_with_parent)\n"
            f"os.close({write_end})\n"
            "print(child.pid, flush=True)\n"
            "sys.stdin.read()\n")
    parent = subprocess.Popen([sys.executable, "-c", code], pass_fds=(write_end,), stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    os.close(write_end)
    try:
        child_pid = int(parent.stdout.readline())
        assert child_pid > 0
        parent.kill()
        parent.wait(timeout=10)
        ready, _, _ = select.select([read_end], [], [], 20)
        assert ready and os.read(read_end, 1) == b"", "the child outlived its parent"
    finally:
        os.close(read_end)
        if parent.poll() is None:
            parent.kill()


def test_dev_starts_its_children_owned_and_the_scheduler_scanning(monkeypatch: Any) -> None:
    from core.embedded import die_with_parent
    from workers import cli

    started: list[dict[str, Any]] = []

    class FakePopen:
        def __init__(self, args: list[str], **kwargs: Any) -> None:
            started.append({"args": args, **kwargs})
            self.pid = 1

    monkeypatch.setattr(cli.subprocess, "Popen", FakePopen)
    cli.start_background()
    assert [s["args"][-1] for s in started] == ["worker", "scheduler"]
    assert all(s["preexec_fn"] is die_with_parent for s in started)
    assert started[1]["env"]["ISOGOV_SCAN_AT_START"] == "1"
    assert started[0]["env"].get("ISOGOV_SCAN_AT_START") != "1"  # only the scheduler scans at start-up


def test_a_restart_refuses_a_running_dev_and_stops_what_a_killed_one_left(tmp_path: Any) -> None:
    from workers.cli import clear_leftovers, write_pid_file

    pid_file = tmp_path / "dev.pid"
    running_dev = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)", "isogov", "dev"])
    leftover = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)", "-m", "workers", "worker"])
    unrelated = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    try:
        pid_file.write_text(f"{running_dev.pid}\n{leftover.pid}\n")
        with pytest.raises(click.ClickException, match="already runs"):
            clear_leftovers(pid_file)
        running_dev.kill()
        running_dev.wait(timeout=10)
        pid_file.write_text(f"{running_dev.pid}\n{leftover.pid}\n{unrelated.pid}\n")
        assert clear_leftovers(pid_file) == [leftover.pid]  # the unrelated process is never touched
        assert leftover.wait(timeout=20) is not None
        assert unrelated.poll() is None and not pid_file.exists()
        write_pid_file(pid_file, [42])
        assert pid_file.read_text().split() == [str(os.getpid()), "42"]
    finally:
        for proc in (running_dev, leftover, unrelated):
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=10)
