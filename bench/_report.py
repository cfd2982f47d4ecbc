"""How a bench script reports a measured pair, so `bench/run_all.py` can print one table of every script.

A script calls `emit(...)` once per pair (our path, its baseline). The row goes to the JSON-lines file named by
ISOGOV_BENCH_OUT when run_all started the script, and is printed as a table line either way. `ratio` is always
"ours relative to the baseline, higher is better": a rate ratio for throughputs, baseline time / our time for
latencies. `goal` is the aim (e.g. ">= 0.85"), checked and marked in the table.
"""

from __future__ import annotations

import json
import os
from typing import Any

HEADER = ("| bench | db | ours | baseline | ours | baseline | ratio | goal | ours p50/p99 ms | base p50/p99 ms |\n"
          "|---|---|---|---|---:|---:|---:|---|---:|---:|")


def _fmt(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value:,.0f}" if value >= 100 else f"{value:.1f}" if value >= 10 else f"{value:.2f}"


def met(ratio: float, goal: str | None) -> bool | None:
    if not goal:
        return None
    op, _, number = goal.partition(" ")
    bound = float(number.rstrip("×x"))
    return ratio >= bound if op == ">=" else ratio <= bound


def line(row: dict[str, Any]) -> str:
    ok = met(row["ratio"], row.get("goal"))
    goal = "" if ok is None else f"{row['goal']} {'✓' if ok else '✗'}"
    lat = lambda p50, p99: "–" if p50 is None else f"{p50:.1f} / {p99:.1f}"  # noqa: E731
    return (f"| {row['name']} | {row['db']} | {row['ours_label']} | {row['base_label']} | "
            f"{_fmt(row['ours'])} {row['unit']} | {_fmt(row['base'])} {row['unit']} | {row['ratio']:.2f} | {goal} | "
            f"{lat(row.get('ours_p50'), row.get('ours_p99'))} | {lat(row.get('base_p50'), row.get('base_p99'))} |")


def emit(name: str, db: str, *, ours_label: str, base_label: str, ours: float, base: float, unit: str,
         ratio: float | None = None, goal: str | None = None, ours_p50: float | None = None,
         ours_p99: float | None = None, base_p50: float | None = None, base_p99: float | None = None,
         note: str = "") -> dict[str, Any]:
    row = {"name": name, "db": db, "ours_label": ours_label, "base_label": base_label, "ours": ours, "base": base,
           "unit": unit, "ratio": ratio if ratio is not None else ours / base, "goal": goal, "ours_p50": ours_p50,
           "ours_p99": ours_p99, "base_p50": base_p50, "base_p99": base_p99, "note": note}
    out = os.environ.get("ISOGOV_BENCH_OUT")
    if out:
        with open(out, "a", encoding="utf-8") as f:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    print(line(row), flush=True)
    return row
