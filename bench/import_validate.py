"""Validation and ordering of an agency import of MAX_ROWS rows chained parent to child (the worst tree), and the
read of the same file as CSV through the shared row reader. Prints seconds; fails above --max-seconds (default 5).

    .venv/bin/python bench/import_validate.py
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.agencies.importing import MAX_ROWS, Row, _validate, insert_order, read_table  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--max-seconds", type=float, default=5.0)
    args = parser.parse_args()
    csv_text = "code,name,level,parent_code\n" + "".join(
        f"C{i},Phòng {i},unit,{f'C{i - 1}' if i else ''}\n" for i in range(MAX_ROWS))
    started = time.perf_counter()
    rows = read_table("deep.csv", csv_text.encode())
    read = time.perf_counter() - started
    rows = [Row(line=r.line, values=r.values) for r in rows]
    started = time.perf_counter()
    assert _validate(rows, {}) == []
    insert_order(rows)
    validated = time.perf_counter() - started
    print(f"read {MAX_ROWS} rows: {read:.2f} s; validate and order a {MAX_ROWS}-deep chain: {validated:.2f} s")
    if read + validated > args.max_seconds:
        sys.exit(f"slower than {args.max_seconds} s")


if __name__ == "__main__":
    main()
