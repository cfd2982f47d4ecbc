"""`isogov api` under pyinstrument: serves until SIGTERM/SIGINT, then writes the text profile to argv[1]."""

from __future__ import annotations

import os
import signal
import sys

from pyinstrument import Profiler

from core.cli import serve
from core.settings import get_settings

if __name__ == "__main__":
    # uvicorn re-raises the signal after its graceful shutdown: make that an exit, so `finally` writes
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    profiler = Profiler(interval=0.0005, async_mode="disabled")
    profiler.start()
    try:
        serve("127.0.0.1", get_settings().port, os.environ.get("ISOGOV_SERVER"))
    finally:
        profiler.stop()
        profiler.last_session.save(sys.argv[1] + ".pyisession")  # for bench/_profile_flat.py
        with open(sys.argv[1], "w", encoding="utf-8") as out:
            out.write(profiler.output_text(unicode=True, color=False, show_all=False))
