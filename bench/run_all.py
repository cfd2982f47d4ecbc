"""`make bench`: runs every benchmark script in bench/ and prints ONE table of every measured pair.

Each script reports its pairs through bench/_report.py (`emit`), into the JSON-lines file named by
ISOGOV_BENCH_OUT; a script that reports nothing that way still runs, and its last output lines are shown. The
table is printed and written to bench/results.md, followed by bench/notes.md (conditions, analysis and earlier
runs) and bench/profile.md (the profiler's top entries before and after), both kept by hand. Scripts run one after the other, each bounded by its own request counts and by
a deadline here.

    .venv/bin/python bench/run_all.py [--quick] [--only NAME]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _report import HEADER, line, met  # noqa: E402

DEADLINE = 3600  # seconds for one script run
# The runs of a script (argument lists); a script not named here runs once without arguments.
RUNS: dict[str, list[list[str]]] = {
    "http_paths.py": [["--db", "postgres", "--rls", "-n", "1500", "--rounds", "3"],
                      ["--db", "postgres", "-n", "1500", "--rounds", "3"], ["--db", "sqlite"],
                      ["--db", "postgres", "--server", "granian", "--only", "agencies list", "--only", "create"]],
    "notifications.py": [["--db", "postgres", "--rounds", "3"], ["--db", "sqlite"]],
    "evidence_upload.py": [["--size-mb", "1024", "--rounds", "5"]],  # best of 5 (moto's own time swings)
}
QUICK: dict[str, list[list[str]]] = {
    "http_paths.py": [["--db", "postgres", "-n", "300", "--rounds", "1"], ["--db", "sqlite", "-n", "300", "--rounds", "1"]],
    "notifications.py": [["--db", "postgres", "-n", "2000"], ["--db", "sqlite", "-n", "2000"]],
    "evidence_upload.py": [["--size-mb", "128"]],
}
NOT_SCRIPTS = {"run_all.py", "bare_app.py"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller counts (a smoke run, not figures)")
    parser.add_argument("--only", action="append", default=[], help="run only scripts whose name has this")
    args = parser.parse_args()
    scripts = [s for s in sorted(HERE.glob("*.py")) if s.name not in NOT_SCRIPTS and not s.name.startswith("_")]
    if args.only:
        scripts = [s for s in scripts if any(word in s.name for word in args.only)]
    out = Path(tempfile.mkstemp(prefix="isogov-bench-", suffix=".jsonl")[1])
    failed, silent = [], []
    started = time.monotonic()
    try:
        for script in scripts:
            runs = (QUICK if args.quick else {}).get(script.name) or RUNS.get(script.name) or [[]]
            for run_args in runs:
                title = " ".join([script.name, *run_args])
                print(f"== {title}", flush=True)
                before = out.stat().st_size
                env = {**os.environ, "ISOGOV_BENCH_OUT": str(out)}
                try:
                    proc = subprocess.run([sys.executable, str(script), *run_args], cwd=HERE.parent, env=env,
                                          timeout=DEADLINE, capture_output=True, text=True)
                    output, code = proc.stdout + proc.stderr, proc.returncode
                except subprocess.TimeoutExpired as exc:
                    output, code = f"{exc.stdout or ''}{exc.stderr or ''}\ntimed out after {DEADLINE} s", 1
                if code != 0:
                    failed.append(title)
                    print("\n".join(output.splitlines()[-25:]), flush=True)
                elif out.stat().st_size == before:
                    silent.append(title)
                    print("\n".join(output.splitlines()[-12:]), flush=True)
        rows = [json.loads(x) for x in out.read_text(encoding="utf-8").splitlines() if x.strip()]
    finally:
        out.unlink(missing_ok=True)

    table = "\n".join([HEADER, *(line(r) for r in rows)])
    print("\n" + table)
    missed = [r for r in rows if met(r["ratio"], r.get("goal")) is False]
    summary = (f"{len(rows)} pairs, {sum(1 for r in rows if r.get('goal'))} with a goal, {len(missed)} below it; "
               f"{time.monotonic() - started:.0f} s")
    print(summary)
    notes = [f"- {r['name']} ({r['db']}): {r['note']}" for r in rows if r.get("note")]
    load = os.getloadavg()
    md = [
        "# Benchmark results",
        "",
        f"Written by `make bench` (bench/run_all.py{' --quick' if args.quick else ''}) on "
        f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC; {os.cpu_count()} cores, load average "
        f"{load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} at the end, Python {platform.python_version()}.",
        "",
        "Every pair ran in the same run under the same load: our path, then its baseline, alternating rounds "
        "of a bounded number of requests over 16 keep-alive connections on 127.0.0.1 (bench/_load.py); each "
        "side's best round. `ratio` is ours relative to the baseline (higher is better; for latencies and "
        "memory the baseline over ours). Baselines: bench/bare_app.py (bare Litestar, pyjwt, one user+tenant "
        "query, hand-written SQL, same HTTP server), arq no-op jobs on the same Redis, the bare minio client.",
        "",
        table,
        "",
        summary,
    ]
    if notes:
        md += ["", *notes]
    if failed or silent:
        md += ["", *(f"- failed: {t}" for t in failed), *(f"- reported no pair: {t}" for t in silent)]
    for kept in ("notes.md", "profile.md"):  # kept by hand: conditions and analysis, the profiler's entries
        if (HERE / kept).exists():
            md += ["", (HERE / kept).read_text(encoding="utf-8").strip()]
    (HERE / "results.md").write_text("\n".join(md) + "\n", encoding="utf-8")
    print(f"written: {HERE / 'results.md'}")
    if failed:
        sys.exit(f"failed: {', '.join(failed)}")


if __name__ == "__main__":
    main()
