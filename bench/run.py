"""Benchmark of the embedded engine: columnar cache and rollups against raw gzip files.

    python bench/run.py [--records N] [--days D] [--runs R] [--json FILE]

Not a test. Generates a dataset with the project's generator (default 10M records over 7
days) under FLOWSCOPE_BENCH_DIR (default /tmp/flowscope-bench, outside the repository; an
existing set of the same size is reused), builds the columnar cache, and prints median times
(R runs after one warm-up) and peak memory for each measurement beside the same query on the
raw gzip files through the engine's raw path (day folders pruned by the key layout; its
parsed-object memory cache is switched off so every run reads the files), as a ratio.

The generator holds a whole set in memory (about 4.5 GB per 10M records), so sets larger
than 10M are made in 10M parts with seeds 1, 2, ... and the same end, one process each.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import time
import zlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

BENCH_DIR = Path(os.environ.get("FLOWSCOPE_BENCH_DIR", "/tmp/flowscope-bench"))
END = "2026-11-26T00:00Z"
PART = 10_000_000  # records per generator process
MARKER = ".bench-dataset.json"


# --- measuring ----------------------------------------------------------------------------

def peak_rss_mb() -> float:
    """This process's peak resident memory (each measurement runs in its own process)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class BenchmarkError(RuntimeError):
    """A measurement whose answer is wrong: its time would mean nothing."""


def expect(condition, message: str) -> None:
    if not condition:
        raise BenchmarkError(message)


def timed(run, runs: int, warmups: int = 1) -> tuple[float, list[float]]:
    """Median wall time of ``runs`` calls after ``warmups`` untimed ones."""
    for _ in range(warmups):
        run()
    times = []
    for _ in range(runs):
        began = time.perf_counter()
        run()
        times.append(time.perf_counter() - began)
    return statistics.median(times), times


# --- the dataset -----------------------------------------------------------------------------

def dataset(records: int, days: float) -> Path:
    folder = BENCH_DIR / f"data-{records}" if days == 7 else BENCH_DIR / f"data-{records}-{days}d"
    marker = folder / MARKER
    if marker.is_file():
        return folder
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    partial = folder.with_name(folder.name + ".tmp")
    shutil.rmtree(partial, ignore_errors=True)
    parts = [PART] * (records // PART) + ([records % PART] if records % PART else [])
    began = time.perf_counter()
    for seed, size in enumerate(parts, start=1):
        print(f"generating part {seed}/{len(parts)}: {size:,} records", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "lib.cli", "demo", "--out", str(partial),
                        "--records", str(size), "--days", str(days), "--seed", str(seed),
                        "--end", END], cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    (partial / MARKER).write_text(json.dumps({
        "records": records, "days": days, "end": END, "seeds": len(parts),
        "generated_s": round(time.perf_counter() - began, 1)}))
    partial.rename(folder)
    return folder


def raw_objects(root: Path) -> list[str]:
    return [str(p) for p in sorted((root / "AWSLogs").rglob("*.log.gz"))]


def decompress_all(paths: list[str], workers: int) -> int:
    """Plain decompression of every object (the build's baseline): record lines read."""
    def lines(path: str) -> int:
        with open(path, "rb") as handle:
            return zlib.decompress(handle.read(), 31).count(b"\n") - 1  # minus the header

    with ThreadPoolExecutor(workers) as pool:
        return sum(pool.map(lines, paths, chunksize=64))


# --- the measurements ------------------------------------------------------------------------

def queries(info: dict) -> dict:
    from lib.filters import parse_filters
    from lib.query import ALL_ACCOUNTS, Query

    end = info["end"]
    week = {"start": str(end - 7 * 86400), "end": str(end)}
    hour_end = end - 2 * 86400 - 11 * 3600  # an ordinary hour, two days back
    hour = {"start": str(hour_end - 3600), "end": str(hour_end)}
    return {
        "search": Query("search", parse_filters({**hour, "dst": info["search_cidr"],
                                                 "dst_port": "443"}), limit=1000, scope=ALL_ACCOUNTS),
        "top_pairs_7d": Query("top-talkers", parse_filters(week), group="pair",
                              measure="bytes", top=10, scope=ALL_ACCOUNTS),
        "rejected_timeline_7d": Query("timeline", parse_filters({**week, "action": "REJECT"}),
                                      bucket=300, scope=ALL_ACCOUNTS),
        "rejected_ports_7d": Query("rejected-ports", parse_filters(week), top=10, scope=ALL_ACCOUNTS),
    }


def search_cidr(root: Path) -> str:
    """The /24 of the first private address that receives port 443 in the data."""
    for path in sorted((root / "AWSLogs").rglob("*.log.gz")):
        lines = zlib.decompress(Path(path).read_bytes(), 31).decode().splitlines()
        header = lines[0].split()
        dst = header.index("dstaddr")
        port = header.index("dstport")
        for line in lines[1:]:
            values = line.split()
            if values[port] == "443" and values[dst].startswith("10."):
                a, b, c, _ = values[dst].split(".")
                return f"{a}.{b}.{c}.0/24"
    return "10.0.0.0/8"


def bench_build(root: Path, cache: Path, runs: int, workers: int, records: int) -> dict:
    from lib import columnar

    times, cpu = [], []
    for _ in range(runs):
        shutil.rmtree(cache, ignore_errors=True)
        began, used = time.perf_counter(), cpu_seconds()
        report = columnar.build_cache(str(root), cache, workers=workers)
        times.append(time.perf_counter() - began)
        cpu.append(cpu_seconds() - used)
        expect(report.records == records, f"built {report.records} records, not {records}")
    median = statistics.median(times)
    # CPU time beside wall time: on a shared machine the wall time also measures the others.
    return {"name": "build", "median_s": round(median, 3), "peak_rss_mb": round(peak_rss_mb()),
            "records": records, "runs": runs, "times_s": [round(t, 3) for t in times],
            "cpu_s": round(statistics.median(cpu), 3), "loadavg": os.getloadavg()[0],
            "route": f"{records / median / 1e6:.2f}M records/s"}


def cpu_seconds() -> float:
    """User and system CPU time of this process (every thread)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def bench_decompression(root: Path, runs: int, workers: int, records: int) -> dict:
    paths = raw_objects(root)
    median, _ = timed(lambda: decompress_all(paths, workers), runs)
    return {"median_s": round(median, 3), "peak_rss_mb": round(peak_rss_mb()),
            "route": f"plain decompression {records / median / 1e6:.2f}M records/s"}


def _engine(root: Path, cache: Path, side: str):
    from lib.engines.duckdb_engine import DuckDBEngine
    from lib.store.reading import ObjectCache

    if side == "cache":
        return DuckDBEngine(str(root), columnar_dir=str(cache))
    raw = DuckDBEngine(str(root))
    raw._objects = ObjectCache(max_bytes=0)  # every baseline run reads the gzip files
    return raw


def bench_query(root: Path, cache: Path, name: str, side: str, runs: int, info: dict) -> dict:
    query = queries(info)[name]
    engine = _engine(root, cache, side)
    # One raw run (large sets) is not preceded by a warm-up: it would double a long wait.
    median, times = timed(lambda: engine.run(query), runs, warmups=int(side == "cache" or runs > 1))
    row = {"median_s": round(median, 4), "peak_rss_mb": round(peak_rss_mb()),
           "route": engine.route(query), "rows": engine.run(query).table.num_rows}
    if side == "raw":  # the same answer both ways (after the peak was read)
        expect(_engine(root, cache, "cache").run(query).table.equals(engine.run(query).table),
               f"{name}: the cache and the raw files answer differently")
    return row


def bench_repeat(root: Path, runs: int, info: dict) -> dict:
    """What the app runs: the configured engine behind the result cache (lib/cache.py)."""
    from dataclasses import replace

    from lib.config import load_settings
    from lib.engines import get_engine

    query = queries(info)["top_pairs_7d"]
    front = get_engine(replace(load_settings(), data_dir=str(root), engine="duckdb",
                               columnar_cache=True, athena_cache_ttl_s=300))
    median, _ = timed(lambda: front.run(query), runs)
    expect(front.run(query).cache_hit, "the page's repeated query missed the result cache")
    return {"median_s": round(median, 6), "peak_rss_mb": round(peak_rss_mb()),
            "route": "top_pairs_7d again: result cache (lib/cache.py)"}


def bench_search_page(root: Path, side: str, runs: int, info: dict) -> dict:
    """Click to results: AppTest runs of app.py on the Search page for the 1-hour search (a
    fresh AppTest per run, with the filters a click in the sidebar leaves in the session)."""
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    search = queries(info)["search"]
    os.environ.update({"FLOWSCOPE_DATA_DIR": str(root), "FLOWSCOPE_ENGINE": "duckdb",
                       "FLOWSCOPE_AUTH_MODE": "none",
                       "FLOWSCOPE_COLUMNAR_CACHE": "true" if side == "cache" else "false",
                       "FLOWSCOPE_ATHENA_CACHE_TTL_S": "0"})  # every run queries

    def run():
        st.cache_data.clear()
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=600)
        for key, value in {"start": str(search.filters.start), "end": str(search.filters.end),
                           "dst": info["search_cidr"], "dst_port": "443"}.items():
            at.session_state[key] = value
        at.run()
        expect(not at.exception and at.dataframe, f"the Search page failed: {at.exception}")

    median, _ = timed(run, runs)
    return {"median_s": round(median, 3), "peak_rss_mb": round(peak_rss_mb()),
            "route": "AppTest run of app.py, Search page"}


def item(args, root: Path, cache: Path, info: dict) -> dict:
    """One measurement, in this process (so its peak memory is its own)."""
    if args.item == "build":
        return bench_build(root, cache, args.build_runs, args.workers, args.records)
    if args.item == "decompression":
        return bench_decompression(root, args.baseline_runs, args.workers, args.records)
    if args.item == "cached_repeat":
        return bench_repeat(root, args.runs, info)
    if args.item == "search_page":
        return bench_search_page(root, args.side, args.runs if args.side == "cache"
                                 else args.baseline_runs, info)
    return bench_query(root, cache, args.item, args.side,
                       args.runs if args.side == "cache" else args.baseline_runs, info)


def measure(args, name: str, side: str = "cache") -> dict:
    command = [sys.executable, str(Path(__file__).resolve()), "--item", name, "--side", side,
               "--records", str(args.records), "--days", str(args.days), "--runs", str(args.runs),
               "--baseline-runs", str(args.baseline_runs), "--build-runs", str(args.build_runs),
               "--workers", str(args.workers)]
    print(f"measuring {name} ({side})", file=sys.stderr)
    done = subprocess.run(command, cwd=ROOT, check=True, capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def row(args, name: str, cache_side: dict, raw_side: dict) -> dict:
    return {"name": name, "median_s": cache_side["median_s"],
            "baseline_median_s": raw_side["median_s"], "peak_rss_mb": cache_side["peak_rss_mb"],
            "records": args.records, "baseline_peak_rss_mb": raw_side["peak_rss_mb"],
            "route": cache_side["route"], "baseline": raw_side["route"]}


# --- report ------------------------------------------------------------------------------

def machine() -> dict:
    import duckdb
    import pyarrow

    def sh(command: str) -> str:
        # Fixed commands (a pipe among them) describing the machine; no input reaches them.
        return subprocess.run(command, shell=True, capture_output=True,  # noqa: S602
                              text=True).stdout.strip()

    return {"nproc": sh("nproc"), "free -h": sh("free -h"), "python": platform.python_version(),
            "duckdb": duckdb.__version__, "pyarrow": pyarrow.__version__,
            "loadavg": os.getloadavg(), "cpu": sh("lscpu | grep 'Model name'")}


def print_table(rows: list[dict]) -> None:
    print(f"{'name':22} {'median':>10} {'raw gzip':>10} {'speed-up':>9} {'peak RSS':>9}  how")
    for r in rows:
        base = r["baseline_median_s"]
        ratio = (f"{base / r['median_s']:>8.1f}x" if base and r["median_s"] else f"{'-':>9}")
        shown = f"{base:>9.3f}s" if base is not None else f"{'-':>10}"
        print(f"{r['name']:22} {r['median_s']:>9.4f}s {shown} {ratio} "
              f"{r['peak_rss_mb']:>6} MB  {r['route']} | {r['baseline']}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=10_000_000)
    parser.add_argument("--days", type=float, default=7)
    parser.add_argument("--runs", type=int, default=5, help="timed runs per query (median)")
    parser.add_argument("--baseline-runs", type=int, default=5)
    parser.add_argument("--build-runs", type=int, default=None,
                        help="timed cache builds (default 3; 1 above 20M records)")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--skip-page", action="store_true", help="no Search page timing")
    parser.add_argument("--skip-baseline", action="store_true",
                        help="no raw gzip baselines (they take minutes each at 100M records)")
    parser.add_argument("--json", help="write the results to this file")
    parser.add_argument("--item", help=argparse.SUPPRESS)  # one measurement (a subprocess)
    parser.add_argument("--side", default="cache", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.build_runs = args.build_runs or (3 if args.records <= 20_000_000 else 1)
    os.chdir(ROOT)
    root = dataset(args.records, args.days)
    # The cache lives where the app's engine looks for it (Settings.cache_dir), so the
    # Search page measurement reads the same files.
    os.environ["FLOWSCOPE_CACHE_DIR"] = str(BENCH_DIR / "home")
    os.environ["FLOWSCOPE_CONFIG"] = "/nonexistent"
    from lib import columnar
    from lib.config import load_settings
    from lib.generator import epoch_of

    cache = columnar.cache_dir_for(load_settings(), str(root))
    info = {"end": epoch_of(END), "search_cidr": search_cidr(root)}
    if args.item:
        print(json.dumps(item(args, root, cache, info)))
        return 0
    env = machine()
    print(f"dataset {root} ({args.records:,} records); machine: {env['nproc']} cores, "
          f"load {env['loadavg']}", file=sys.stderr)
    def baseline(name: str, side: str = "raw") -> dict:
        if args.skip_baseline:
            return {"median_s": None, "peak_rss_mb": None, "route": "not measured"}
        return measure(args, name, side)

    rows = [row(args, "build", measure(args, "build"), baseline("decompression", "cache"))]
    for name in queries(info):
        rows.append(row(args, name, measure(args, name), baseline(name)))
    top = next(r for r in rows if r["name"] == "top_pairs_7d")
    repeat = measure(args, "cached_repeat")
    rows.append(row(args, "cached_repeat", repeat, {"median_s": top["baseline_median_s"],
                                                   "peak_rss_mb": top["baseline_peak_rss_mb"],
                                                   "route": top["baseline"]}))
    if not args.skip_page:
        rows.append(row(args, "search_page", measure(args, "search_page"),
                        baseline("search_page")))
    env["loadavg_end"] = os.getloadavg()
    print_table(rows)
    print(json.dumps(env, indent=1), file=sys.stderr)
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
