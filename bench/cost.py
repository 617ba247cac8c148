"""Benchmark of the Cost page's queries (a script, not a test).

    FLOWSCOPE_CACHE_DIR=DIR python bench/cost.py --data /tmp/flowscope-bench/data-10000000 \
        --start 2026-11-19T00:00Z --end 2026-11-26T00:00Z [--runs 3] [--now ISO] [--json FILE]

Every query the Cost page runs for one view (lib/cost.py; the drivers table's default
grouping, pairs), through the embedded engine the page uses (columnar cache, built first
when objects are pending), bypassing the result cache: once to warm up ("first"), then
--runs times. Each query says what answered it (rollup `cost` or the records). The page's
"month to date" is the month of --now (default: --end), as if the page were opened then.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.traffic import build_columnar  # noqa: E402
from lib import cost  # noqa: E402
from lib.config import load_settings  # noqa: E402
from lib.engines import get_engine  # noqa: E402
from lib.filters import parse_filters  # noqa: E402
from lib.query import ALL_ACCOUNTS  # noqa: E402


def page_queries(filters, now: int, top: int = 10) -> list[tuple[str, object]]:
    """The page's queries for one view, in page order (pages/cost.py)."""
    scope = ALL_ACCOUNTS
    bucket = cost.trend_bucket(filters.end - filters.start)
    return [
        ("month_to_date", cost.cost_query(cost.month_to_date(filters, now), scope)),
        ("period", cost.cost_query(filters, scope)),
        ("trend", cost.cost_query(filters, scope, group="time", bucket=bucket)),
        ("drivers_pair", cost.cost_query(filters, scope, group="pair", top=top)),
        ("savings", cost.savings_query(filters, scope, top=top)),
        ("unknown_logs", cost.cost_query(filters, scope, group="log", top=50)),
    ]


def timed(engine, query) -> tuple[float, list[dict], float]:
    """Wall seconds, rows, and CPU seconds of the process (DuckDB's threads included: on a
    shared machine the CPU time says what the query costs, the wall time what it waited)."""
    began, cpu = time.perf_counter(), time.process_time()
    result = engine.run(query)
    return time.perf_counter() - began, result.rows(), time.process_time() - cpu


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="a store in the S3 layout")
    parser.add_argument("--start", required=True, help="range start (ISO 8601 or epoch)")
    parser.add_argument("--end", required=True, help="range end")
    parser.add_argument("--now", help="the page's 'now' for month to date (default: --end)")
    parser.add_argument("--runs", type=int, default=3, help="timed runs per query")
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args(argv)
    filters = parse_filters({"start": args.start, "end": args.end})
    now = parse_filters({"start": args.start, "end": args.now}).end if args.now else filters.end
    folder = Path(args.data)
    build_columnar(folder)
    settings = replace(load_settings(), engine="duckdb", data_dir=str(folder),
                       columnar_cache=True)
    engine = get_engine(settings)
    engine = getattr(engine, "engine", engine)  # the engine itself, not its result cache
    print(f"store {folder} · range {args.start} - {args.end} · {os.cpu_count()} CPUs · "
          f"{args.runs} runs · load {os.getloadavg()[0]:.2f}", file=sys.stderr)
    print(f"{'query':<16} {'rows':>6} {'first s':>8} {'median s':>9} {'min s':>7} {'max s':>7} "
          f"{'cpu s':>7}  answered from")
    results = []
    for name, query in page_queries(filters, now):
        first, rows, _ = timed(engine, query)
        runs = [timed(engine, query) for _ in range(max(args.runs, 1))]
        times, cpu = [r[0] for r in runs], [r[2] for r in runs]
        row = {"name": name, "kind": query.kind, "group": query.cost_group, "rows": len(rows),
               "route": engine.route(query), "first_s": round(first, 4),
               "median_s": round(statistics.median(times), 4), "min_s": round(min(times), 4),
               "max_s": round(max(times), 4), "cpu_median_s": round(statistics.median(cpu), 4),
               "runs": len(times)}
        results.append(row)
        print(f"{name:<16} {len(rows):>6} {first:>8.3f} {row['median_s']:>9.3f} "
              f"{row['min_s']:>7.3f} {row['max_s']:>7.3f} {row['cpu_median_s']:>7.3f}  "
              f"{row['route']}", flush=True)
    total = sum(r["median_s"] for r in results)
    cpu_total = sum(r["cpu_median_s"] for r in results)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{'page (sum of medians)':<32} {total:>9.3f} {'':>15} {cpu_total:>7.3f}  "
          f"peak RSS {peak_mb:,.0f} MB · load {os.getloadavg()[0]:.2f}")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
