"""Benchmark of the Traffic page's aggregations (a script, not a test).

    python bench/traffic.py [--records 10000000] [--days 7] [--runs 5] [--json FILE]
    python bench/traffic.py --data DIR --start ISO --end ISO

Without --data it makes (once) a demo set with ``python -m lib.cli demo`` under
~/.cache/flowscope/bench-traffic-<records>-<days>d (10M records take a few minutes and
about 250 MB; nothing is written into the repository). Every aggregation the page runs is
run once to warm up (its time is reported as "first"), then --runs times over the whole
range through the embedded engine the page uses, bypassing the result cache (a repeated
query would otherwise be answered from memory); the table shows the median, fastest and
slowest, and the process's peak memory.

--mode columnar (default, as configured out of the box): the local columnar cache, built
first with ``python -m lib.cli cache build`` when objects are not converted yet;
--mode raw: DuckDB straight over the gzip objects (columnar_cache off).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from lib import traffic  # noqa: E402
from lib.config import load_settings  # noqa: E402
from lib.engines import get_engine  # noqa: E402
from lib.filters import parse_filters  # noqa: E402
from lib.query import ALL_ACCOUNTS  # noqa: E402

DEMO_END = "2026-11-20T00:00Z"  # fixed, so a second run reuses the same files
SUMMARY_FILE = "bench-summary.json"


def demo_set(records: int, days: float) -> tuple[Path, dict]:
    folder = Path.home() / ".cache" / "flowscope" / f"bench-traffic-{records}-{days:g}d"
    summary = folder / SUMMARY_FILE
    if not summary.exists():
        print(f"generating {records:,} records over {days:g} days into {folder} …",
              file=sys.stderr)
        done = subprocess.run(
            [sys.executable, "-m", "lib.cli", "demo", "--out", str(folder), "--records",
             str(records), "--days", str(days), "--end", DEMO_END],
            cwd=ROOT, check=True, stdout=subprocess.PIPE, text=True)
        summary.write_text(done.stdout)
    return folder, json.loads(summary.read_text())


def aggregations(filters, top: int = 10) -> list[tuple[str, object]]:
    """The page's queries over `filters`, in page order (default measure: bytes); labels
    are asked for the addresses the talker queries return, as the page does."""
    scope, rejected = ALL_ACCOUNTS, traffic.rejected_only(filters)
    talkers = [(f"top_{traffic.GROUP_TITLES[g].lower()}", traffic.talkers_query(
        filters, scope, g, "bytes", top)) for g in traffic.GROUP_TITLES]
    talkers.append(("rejected_sources", traffic.talkers_query(rejected, scope, "src", "bytes",
                                                              top)))
    return [
        ("summary", traffic.summary_query(filters, scope)),
        *talkers,
        ("labels", "labels"),  # made from the talkers' results (see main)
        ("timeline", traffic.timeline_query(filters, scope)),
        ("rejected_ports", traffic.rejected_ports_query(filters, scope, "bytes", top)),
        ("rejected_heatmap", traffic.heatmap_query(filters, scope, top)),
        ("scans", traffic.scans_query(filters, scope, top)),
    ]


def build_columnar(folder: Path) -> None:
    status = subprocess.run([sys.executable, "-m", "lib.cli", "cache", "status", "--data",
                             str(folder)], cwd=ROOT, check=True, stdout=subprocess.PIPE,
                            text=True)
    if json.loads(status.stdout)["pending_objects"]:
        print("building the columnar cache …", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "lib.cli", "cache", "build", "--data",
                        str(folder)], cwd=ROOT, check=True, stdout=subprocess.DEVNULL)


def timed(engine, query) -> tuple[float, list[dict]]:
    began = time.perf_counter()
    result = engine.run(query)
    return time.perf_counter() - began, result.rows()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", help="a store in the S3 layout (default: a generated demo set)")
    parser.add_argument("--start", help="with --data: range start (ISO 8601 or epoch)")
    parser.add_argument("--end", help="with --data: range end")
    parser.add_argument("--records", type=int, default=10_000_000)
    parser.add_argument("--days", type=float, default=7)
    parser.add_argument("--runs", type=int, default=5, help="timed runs per aggregation (≥5)")
    parser.add_argument("--mode", choices=["columnar", "raw"], default="columnar")
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args(argv)
    if args.data:
        if not (args.start and args.end):
            parser.error("--data needs --start and --end")
        folder, start, end, records = Path(args.data), args.start, args.end, None
    else:
        folder, summary = demo_set(args.records, args.days)
        start, end, records = str(summary["start"]), str(summary["end"]), summary["records"]
    filters = parse_filters({"start": start, "end": end})
    if args.mode == "columnar":
        build_columnar(folder)
    settings = replace(load_settings(), engine="duckdb", data_dir=str(folder),
                       columnar_cache=args.mode == "columnar")
    engine = get_engine(settings)
    engine = getattr(engine, "engine", engine)  # the engine itself, not its result cache
    print(f"store {folder} · {records or '?'} records · range {start} - {end} · "
          f"mode {args.mode} · {os.cpu_count()} CPUs · {args.runs} runs", file=sys.stderr)
    results = []
    print(f"{'aggregation':<18} {'rows':>6} {'first s':>8} {'median s':>9} {'min s':>7} "
          f"{'max s':>7}")
    shown: list[dict] = []
    for name, query in aggregations(filters):
        if query == "labels":
            query = traffic.labels_query(filters, ALL_ACCOUNTS, traffic.addresses_in(shown))
        first, rows = timed(engine, query)
        if query.kind == "top-talkers":
            shown += rows
        times = [timed(engine, query)[0] for _ in range(max(args.runs, 1))]
        row = {"name": name, "kind": query.kind, "mode": args.mode, "rows": len(rows),
               "first_s": round(first, 4),
               "median_s": round(statistics.median(times), 4), "min_s": round(min(times), 4),
               "max_s": round(max(times), 4), "runs": len(times), "records": records}
        results.append(row)
        print(f"{name:<18} {len(rows):>6} {first:>8.3f} {row['median_s']:>9.3f} "
              f"{row['min_s']:>7.3f} {row['max_s']:>7.3f}", flush=True)
    total = sum(r["median_s"] for r in results)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{'all (sum of medians)':<34} {total:>9.3f}   peak RSS {peak_mb:,.0f} MB")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
