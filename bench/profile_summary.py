"""Summarise a py-spy raw profile (`python -m bench --profile DIR` writes them): where the worker's CPU went.

    python -m bench.profile_summary DIR/postgres-scan-w1-c8.txt [--top 25]

Prints the share of samples per area (the planner's code, Piccolo, asyncpg/aiosqlite, Litestar, msgspec,
uvicorn/uvloop, the mail worker, ...), the functions with the most samples inclusive, and self.
"""
from __future__ import annotations

import argparse
import re
from collections import Counter

AREAS = [
    ("mail worker", re.compile(r"planner/mail/")),
    ("planner: tickets", re.compile(r"planner/tickets/")),
    ("planner: rsvps", re.compile(r"planner/rsvps/")),
    ("planner: accounts (token)", re.compile(r"planner/(accounts|web_common)")),
    ("planner: other", re.compile(r"planner/")),
    ("piccolo", re.compile(r"piccolo/")),
    ("asyncpg", re.compile(r"asyncpg/")),
    ("aiosqlite/sqlite3", re.compile(r"aiosqlite/|sqlite3")),
    ("msgspec", re.compile(r"msgspec")),
    ("litestar", re.compile(r"litestar/")),
    ("uvicorn/httptools", re.compile(r"uvicorn/|httptools")),
    ("asyncio/uvloop", re.compile(r"asyncio/|uvloop")),
]


def load(path: str) -> list[tuple[list[str], int]]:
    out = []
    for line in open(path, encoding="utf-8", errors="replace"):
        line = line.rstrip("\n")
        if not line:
            continue
        stack, _, n = line.rpartition(" ")
        out.append((stack.split(";"), int(n)))
    return out


def area(frame: str) -> str:
    for name, rx in AREAS:
        if rx.search(frame):
            return name
    return "other"


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("path")
    p.add_argument("--top", type=int, default=25)
    a = p.parse_args()
    stacks = load(a.path)
    total = sum(n for _, n in stacks)
    by_area: Counter = Counter()
    inclusive: Counter = Counter()
    self_: Counter = Counter()
    for frames, n in stacks:
        # The innermost frame that belongs to a named area says who is spending the time.
        owner = next((area(f) for f in reversed(frames) if area(f) != "other"), "other")
        # Time under the planner's own functions is the planner's, whatever library they call.
        planner = [f for f in frames if "planner/" in f]
        if planner and owner not in ("mail worker",) and "planner/mail/" in " ".join(frames):
            owner = "mail worker"
        by_area[owner] += n
        for f in set(frames):
            inclusive[f] += n
        self_[frames[-1]] += n
    print(f"{total} samples in {a.path}")
    print("\nby area (innermost named frame):")
    for k, v in by_area.most_common():
        print(f"  {v / total:6.1%}  {k}")
    print(f"\ntop {a.top} inclusive:")
    for f, v in inclusive.most_common(a.top):
        print(f"  {v / total:6.1%}  {f[:150]}")
    print(f"\ntop {a.top} self:")
    for f, v in self_.most_common(a.top):
        print(f"  {v / total:6.1%}  {f[:150]}")


if __name__ == "__main__":
    main()
