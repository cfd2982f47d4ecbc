"""`isogov api` under a profiler: serves until SIGTERM/SIGINT, then writes the profile to argv[1].

- `<name>.prof`: cProfile on CPU time (`time.process_time`): what the server's own CPU went into, waiting for the
  database or the network excluded (read it with `python -m pstats` or bench/_profile_flat.py);
- anything else: pyinstrument's text view (wall clock: a coroutine's wait is charged to the frame that resumes,
  so the driver's frames look heavier than they are), plus `<name>.pyisession` for bench/_profile_flat.py.
"""

from __future__ import annotations

import os
import signal
import sys
import time

from core.cli import serve
from core.settings import get_settings

if __name__ == "__main__":
    # uvicorn re-raises the signal after its graceful shutdown: make that an exit, so `finally` writes
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    target = sys.argv[1]
    if target.endswith(".prof"):
        import cProfile

        profile = cProfile.Profile(time.process_time)
        profile.enable()
        try:
            serve("127.0.0.1", get_settings().port, os.environ.get("ISOGOV_SERVER"))
        finally:
            profile.disable()
            profile.dump_stats(target)
        sys.exit(0)
    from pyinstrument import Profiler

    profiler = Profiler(interval=0.0005, async_mode="disabled")
    profiler.start()
    try:
        serve("127.0.0.1", get_settings().port, os.environ.get("ISOGOV_SERVER"))
    finally:
        profiler.stop()
        profiler.last_session.save(target + ".pyisession")  # for bench/_profile_flat.py
        with open(target, "w", encoding="utf-8") as out:
            out.write(profiler.output_text(unicode=True, color=False, show_all=False))
