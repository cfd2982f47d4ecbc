"""A flat view of a pyinstrument session (bench/_profiled_api.py writes `<profile>.pyisession`): seconds by
function, self and total (a function counted once per sample however deep it recurses), idle loop excluded.

    .venv/bin/python bench/_profile_flat.py /tmp/profile.txt.pyisession [--top 40] [--match core/]
"""

from __future__ import annotations

import argparse
from collections import Counter

from pyinstrument.session import Session


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("session")
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--match", default="", help="only functions whose file path contains this")
    args = parser.parse_args()
    session = Session.load(args.session)
    self_t: Counter[str] = Counter()
    total_t: Counter[str] = Counter()
    busy = idle = 0.0
    for stack, seconds in ((f[0], f[1]) for f in session.frame_records):
        names = [frame.split("\x00")[0] + " " + frame.split("\x00")[1].rsplit("/", 2)[-1]
                 if "\x00" in frame else frame for frame in stack]
        leaf = names[-1]
        if leaf.startswith(("select ", "run runners.py", "run_until_complete ", "run_forever ")):
            idle += seconds  # the event loop itself: waiting for I/O, and uvloop's own C work (no Python frame)
            continue
        busy += seconds
        self_t[leaf] += seconds
        for name in set(names):
            total_t[name] += seconds
    print(f"seconds in Python frames: {busy:.2f}; in the event loop itself (waiting, uvloop's C work): {idle:.2f}")
    print("\n-- total (inclusive)")
    for name, s in total_t.most_common():
        if args.match in name:
            print(f"{s:8.2f}  {name}")
            args.top -= 1
            if args.top <= 0:
                break
    print("\n-- self")
    for name, s in self_t.most_common(30):
        print(f"{s:8.2f}  {name}")


if __name__ == "__main__":
    main()
