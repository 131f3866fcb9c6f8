"""The bench's table, its comparison with the issue's targets, and the files it writes."""
from __future__ import annotations

import json
import math
import re
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bench.run import EngineRun, Row

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
README = HERE / "README.md"
START, END = "<!-- bench-results:start -->", "<!-- bench-results:end -->"

COLUMNS = ("scenario", "engine", "w", "c", "requests", "rps", "p50 ms", "p95 ms", "p99 ms", "vs ceiling", "correctness", "note")


def _fmt(v: Any, spec: str = "") -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return ""
    return format(v, spec) if spec else str(v)


def cells(r: "Row") -> list[str]:
    return [r.scenario, r.engine, _fmt(r.workers), _fmt(r.concurrency), _fmt(r.requests, ","), _fmt(r.rps, ",.0f"),
            _fmt(r.p50, ".2f"), _fmt(r.p95, ".2f"), _fmt(r.p99, ".2f"),
            _ratio(r), r.correctness, r.note]


def _ratio(r: "Row") -> str:
    if r.ratio is None:
        return ""
    # The bare ceiling's column says how many times the Piccolo ceiling it serves.
    return f"{r.ratio:.1f}x (b)" if r.scenario.startswith("ceiling (a)") else f"{r.ratio:.0%}"


def line(r: "Row") -> str:
    c = cells(r)
    return "  " + " | ".join(x for x in c if x)


def table(rows: list["Row"]) -> str:
    data = [list(COLUMNS)] + [cells(r) for r in rows]
    widths = [max(len(row[i]) for row in data) for i in range(len(COLUMNS))]
    out = []
    for n, row in enumerate(data):
        out.append("  ".join(x.ljust(w) if i in (0, 1, 10, 11) else x.rjust(w) for i, (x, w) in enumerate(zip(row, widths))).rstrip())
        if n == 0:
            out.append("  ".join("-" * w for w in widths))
    return "\n".join(out)


def markdown(rows: list["Row"]) -> str:
    out = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    for r in rows:
        out.append("| " + " | ".join(x.replace("|", "\\|") for x in cells(r)) + " |")
    return "\n".join(out)


def _find(rows: list["Row"], engine: str, prefix: str, workers: int | None = None, c: int | None = None) -> "Row | None":
    for r in rows:
        if r.engine == engine and r.scenario.startswith(prefix) and (workers is None or r.workers == workers) \
                and (c is None or r.concurrency == c):
            return r
    return None


def _mark(ok: bool | None) -> str:
    return "n/a " if ok is None else ("met " if ok else "MISSED")


def targets(runs: list["EngineRun"], rows: list["Row"]) -> list[str]:
    """The issue's targets, each with the measured figure (timings are reported, never failed)."""
    out = ["targets (issue 8):"]
    for run in runs:
        e = run.engine
        scan8 = _find(rows, e, "scan: first scan", 1, 8)
        if scan8 and scan8.ratio is not None:
            want = 0.90 if e == "postgres" else 0.50
            ok = scan8.ratio >= want and (e != "postgres" or scan8.p99 < 10)
            extra = f", p99 {scan8.p99:.1f} ms (target < 10 ms)" if e == "postgres" else ""
            out.append(f"  [{_mark(ok)}] {e}: scan c=8, 1 worker: {scan8.ratio:.1%} of ceiling (b) (target >= {want:.0%}){extra}")
        rush = _find(rows, e, "RSVP rush")
        if rush and rush.ratio is not None:
            out.append(f"  [{_mark(rush.ratio >= 0.75)}] {e}: RSVP rush c=32: {rush.ratio:.1%} of ceiling (b) (target >= 75%)")
        b = _find(rows, e, "offline batch (")
        if b and b.seconds is not None:
            out.append(f"  [{_mark(b.seconds < 1.0)}] {e}: offline batch of {b.scenario.split('(')[1].split()[0]} scans: "
                       f"{b.seconds * 1000:.0f} ms (target < 1 s)")
        cold, rebuilt, cond = _find(rows, e, "feed", c=None), None, None
        for r in rows:
            if r.engine == e and r.scenario.startswith("feed"):
                if r.scenario.endswith(": cold"):
                    cold = r
                elif r.scenario.endswith(": rebuilt"):
                    rebuilt = r
                elif r.scenario.endswith("304"):
                    cond = r
        if cold is not None and cold.p50 is None:
            out.append(f"  [n/a ] {e}: feed: {cold.correctness}")
        elif cold is not None:
            out.append(f"  [{_mark(cold.p50 < 150)}] {e}: {cold.scenario}: {cold.p50:.0f} ms (target < 150 ms)"
                       + (f"; rebuilt p50 {rebuilt.p50:.0f} ms" if rebuilt else ""))
            if cond is not None and rebuilt is not None:
                out.append(f"  [{_mark(cond.p50 < rebuilt.p50 / 5)}] {e}: feed 304 p50 {cond.p50:.1f} ms vs rebuild {rebuilt.p50:.0f} ms "
                           "(target: the 304 does not rebuild)")
        pack = _find(rows, e, "scanner pack")
        if pack is not None and pack.extra.get("gzip_bytes"):
            kb = pack.extra["gzip_bytes"] / 1024
            out.append(f"  [{_mark(kb < 400)}] {e}: {pack.scenario}: {kb:,.0f} KB gzipped (target < 400 KB), built in {pack.p50:.0f} ms")
        elif pack is not None:
            out.append(f"  [n/a ] {e}: scanner pack: {pack.correctness}")
        mem = [r for r in rows if r.engine == e and r.scenario == "worker resident memory"]
        if mem:
            worst = max(m for r in mem for m in r.extra.get("rss_mb", [0]))
            out.append(f"  [{_mark(worst < 150)}] {e}: worker resident memory after the run: {worst:.0f} MB at most (target < 150 MB)")
        for c in (8, 32):
            one, two = _find(rows, e, "scan: first scan", 1, c), _find(rows, e, "scan: first scan", 2, c)
            if one and two and one.rps:
                f = two.rps / one.rps
                out.append(f"  [{_mark(f >= 1.3)}] {e}: 2 workers vs 1 on the scan at c={c}: {f:.2f}x (target >= 1.3x); "
                           f"ceiling (b) itself: {_scale(rows, e, c)}")
    return out


def _scale(rows: list["Row"], e: str, c: int) -> str:
    one, two = _find(rows, e, "ceiling (b)", 1, c), _find(rows, e, "ceiling (b)", 2, c)
    return f"{two.rps / one.rps:.2f}x" if one and two and one.rps else "?"


def save(runs: list["EngineRun"], rows: list["Row"], facts: dict, started: datetime, elapsed: float, args: Any,
         summary: list[str]) -> list[Path]:
    from dataclasses import asdict

    RESULTS.mkdir(parents=True, exist_ok=True)
    day = started.strftime("%Y-%m-%d")
    command = "python -m bench" + (" --quick" if args.quick else "") + (
        f" --engines {','.join(args.engines)}" if args.engines != ["sqlite", "postgres"] else "")
    written = []
    qr_rows = [r for r in rows if r.engine == "-"]
    for run in runs:
        doc = {
            "date": started.isoformat(timespec="seconds"), "command": command, "engine": run.engine,
            "machine": {**facts, **run.facts}, "whole_run_seconds": round(elapsed, 1),
            "rows": [asdict(r) for r in run.rows + qr_rows],
            "statement_counts": run.stmt, "targets": [s for s in summary if f"] {run.engine}:" in s],
            "profiles": run.profiles,
        }
        path = RESULTS / f"{day}-{run.engine}.json"
        path.write_text(json.dumps(doc, indent=1, default=str) + "\n")
        written.append(path)
    png = RESULTS / "latency.png"
    if plot(rows, png, f"{day}, {facts['cores']} cores, {command}"):
        written.append(png)
    _readme(rows, facts, day, command, elapsed, summary, runs)
    written.append(README)
    return written


def _readme(rows, facts, day, command, elapsed, summary, runs) -> None:
    stmt = []
    for run in runs:
        if run.stmt:
            for key in ("scan", "rescan", "rsvp_confirmed", "rsvp_waitlisted", "feed_304"):
                v = run.stmt.get(key)
                if v:
                    stmt.append(f"| {run.engine} | {key} | {v['statements']} | {v['sql']} | {v['control']} | "
                                f"{v['connections'] if run.engine == 'sqlite' else ''} |")
    body = "\n".join([
        START,
        f"### {day}: `{command}`",
        "",
        f"{facts['cores']} cores ({facts['cpu']}), Python {facts['python']}, "
        + ", ".join(f"{run.engine}: {run.facts.get('engine_version', '?').split(' on ')[0]}" for run in runs)
        + f", litestar {facts['litestar']}, piccolo {facts['piccolo']}, uvicorn {facts['uvicorn']}; "
        f"load average at start {facts['load_average_at_start']}; whole run {elapsed:.0f} s; planner at {facts['git_commit']}"
        + (" with uncommitted changes" if facts.get("planner_tree_dirty") else "") + ".",
        "",
        markdown(rows),
        "",
        "```",
        *summary,
        "```",
        "",
        "Statements per request (at the driver; BEGIN/COMMIT count, and on SQLite Piccolo's `PRAGMA foreign_keys` before each statement):",
        "",
        "| engine | request | statements | SQL | control | SQLite connections opened |",
        "|---|---|---|---|---|---|",
        *stmt,
        "",
        "![latency percentiles](results/latency.png)",
        END,
    ])
    text = README.read_text() if README.exists() else ""
    if START in text and END in text:
        text = re.sub(re.escape(START) + ".*?" + re.escape(END), lambda m: body, text, flags=re.S)
    else:
        text = text.rstrip() + "\n\n## Latest results\n\n" + body + "\n"
    README.write_text(text)


def plot(rows: list["Row"], path: Path, title: str) -> bool:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed: no plot (pip install '.[bench]')")
        return False
    engines = [e for e in dict.fromkeys(r.engine for r in rows) if e != "-"]
    groups = {e: [r for r in rows if r.p50 is not None and r.engine in (e, "-")] for e in engines}
    if not any(groups.values()):
        return False
    height = max(len(g) for g in groups.values()) * 0.32 + 1.5
    fig, axes = plt.subplots(1, len(engines), figsize=(8 * len(engines), height), squeeze=False)
    for ax, e in zip(axes[0], engines):
        g = groups[e]
        labels = [f"{r.scenario}" + (f" w{r.workers}" if r.workers else "") + (f" c{r.concurrency}" if r.concurrency else "") for r in g]
        y = range(len(g))
        h = 0.27
        for k, (name, color) in enumerate((("p50", "#4c72b0"), ("p95", "#dd8452"), ("p99", "#c44e52"))):
            ax.barh([i + (k - 1) * h for i in y], [max(getattr(r, name), 0.01) for r in g], height=h, label=name, color=color)
        ax.set_yticks(list(y))
        ax.set_yticklabels(labels, fontsize=7)
        ax.invert_yaxis()
        ax.set_xscale("log")
        ax.set_xlabel("latency, ms (log scale)")
        ax.set_title(e)
        ax.grid(axis="x", which="both", alpha=0.3)
        ax.legend(loc="lower right", fontsize=8)
    fig.suptitle(f"planner bench: latency percentiles per scenario ({title})", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True
