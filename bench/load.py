"""Load: page latency with many people using one Flowscope server at once.

    python bench/load.py [--records N] [--days D] [--sessions 10,30] [--rounds R] [--json FILE]
    python bench/load.py --data DIR --start EPOCH --end EPOCH --sessions 1 --rounds 5
    python bench/load.py --protocol --data DIR --start EPOCH --end EPOCH --sessions 10,30,100 --json FILE

The second form times one person's clicks on an existing store (e.g. bench/run.py's 10M
set over one hour): its "search" row is the Search page's click-to-result time in a browser.

Not a test. Generates a demo set (default 50,000 records over one day) under
FLOWSCOPE_BENCH_DIR (default /tmp/flowscope-bench/load; reused when present), builds its
columnar cache, starts `streamlit run app.py` on 127.0.0.1 (no sign-in: loopback only), and
for each session count drives that many Chromium contexts at once (Playwright's async API,
Debian's Chromium). Every session opens a Search link, then repeats R rounds of: type a
destination port of its own into the sidebar (Search), open Traffic, go back to Search.

A page view's latency is the time from the click (or the navigation) until the server has
reported the run it caused finished (its script_finished message, counted in the page),
the page is drawn and its result is on screen. A view that takes over 120 s fails its
session; the script then saves the page's screenshot and its WebSocket messages, decoded
(failed-<sessions>-<n>.png/.txt under the bench folder). Each session uses its own ports,
so most queries are not answered from the result cache. The browser runs on the same machine as the server:
on 2 cores the numbers include Chromium's own rendering. Streamlit settings can be
varied through the environment, e.g. STREAMLIT_RUNNER_POST_SCRIPT_GC=false.

With --protocol no browser runs: each session speaks Streamlit's WebSocket protocol itself
(bench/protocol.py), so the numbers are the server's. A view then ends at the server's
script_finished for it and must have drawn its result (a table, or Traffic's charts).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import random
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "browser"))  # the browser tests' helpers
sys.path.insert(0, str(ROOT / "bench"))  # bench/protocol.py

from browserkit import (  # noqa: E402
    CHROMIUM,
    CHROMIUM_ARGS,
    COUNT_RUNS,
    DIAGNOSIS,
    RUN_DONE,
    SETTLED,
    VIEWPORT,
    build_cache,
    cli,
    page_url,
    start_server,
)

BENCH_DIR = Path(os.environ.get("FLOWSCOPE_BENCH_DIR", "/tmp/flowscope-bench")) / "load"
PORTS = (22, 25, 53, 80, 123, 389, 443, 445, 993, 1433, 3306, 3389, 5432, 5439, 6379, 8080,
         8443, 9090, 9200, 27017)
TIMEOUT_MS = 120_000
# Every change of the script state, with the page's clock: for a failed session's report.
STATE_LOG = """
window.__loadLog = [];
new MutationObserver((mutations) => {
  for (const m of mutations) window.__loadLog.push(
    [Math.round(performance.now()), m.oldValue, m.target.getAttribute('data-test-script-state')]);
}).observe(document, {attributes: true, subtree: true, attributeOldValue: true,
                      attributeFilter: ['data-test-script-state']});
"""


@dataclass
class View:
    sessions: int
    page: str  # open | search | traffic | back
    seconds: float


# --- data and server -------------------------------------------------------------------------

def dataset(records: int, days: float) -> tuple[Path, dict]:
    folder = BENCH_DIR / f"demo-{records}-{days:g}d"
    summary_file = folder / "summary.json"
    if not summary_file.exists():
        folder.mkdir(parents=True, exist_ok=True)
        summary = json.loads(cli("demo", "--out", str(folder), "--records", str(records),
                                 "--days", str(days), "--seed", "3"))
        summary_file.write_text(json.dumps(summary))
    return folder, json.loads(summary_file.read_text())


def server_env(data: Path, cache_dir: Path) -> dict[str, str]:
    return {"FLOWSCOPE_CONFIG": os.devnull, "FLOWSCOPE_DATA_DIR": str(data),
            "FLOWSCOPE_CACHE_DIR": str(cache_dir), "FLOWSCOPE_ENGINE": "duckdb",
            "FLOWSCOPE_AUTH_MODE": "none", "FLOWSCOPE_AUDIT_FILE": str(BENCH_DIR / "audit.jsonl")}


def describe(frame, incoming: int) -> str:
    """A WebSocket frame as its Streamlit message type (for a failed session's report)."""
    from streamlit.proto.BackMsg_pb2 import BackMsg
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

    data = frame if isinstance(frame, bytes) else frame.encode("latin-1")
    msg = ForwardMsg() if incoming else BackMsg()
    try:
        msg.ParseFromString(data)
    except Exception:  # noqa: BLE001
        return f"?{len(data)}"
    kind = msg.WhichOneof("type")
    extra = ""
    if kind == "script_finished":
        extra = f"={msg.script_finished}"
    elif kind == "delta":
        extra = f"@{list(msg.metadata.delta_path)}"
    elif kind == "rerun_script":
        rerun = msg.rerun_script
        extra = f"(page={rerun.page_script_hash[:6]}, {rerun.query_string[:60]})"
    elif kind == "new_session":
        extra = f"(page={msg.new_session.page_script_hash[:6]})"
    elif kind == "session_status_changed":
        extra = f"(running={msg.session_status_changed.script_is_running})"
    run = msg.metadata.run.script_run_id[:6] if incoming else ""
    return f"{kind}{extra}/{len(data)}" + (f" run={run}" if run else "")


# --- one session ---------------------------------------------------------------------------------

async def timed(page, action, ready, marks: list[float] | None = None) -> float:
    """Seconds from the action until its run has finished and `ready` is on screen.

    The page first settles (nothing redrawn for half a second): on a starved machine the
    browser may still be applying the last run (the URL-bound widgets are set from the
    address after it), and a key or click in that moment can be lost, as a person's can."""
    await page.wait_for_function(SETTLED, arg=500, timeout=TIMEOUT_MS, polling=100)
    before = await page.evaluate("window.__flowscopeRuns")
    began = time.perf_counter()
    if marks is not None:
        marks.append(began)
    await action()
    await page.wait_for_function(RUN_DONE, arg=before, timeout=TIMEOUT_MS)
    await ready.wait_for(timeout=TIMEOUT_MS)
    return time.perf_counter() - began


async def session(browser, base: str, window: dict, number: int, sessions: int, rounds: int,
                  views: list[View]) -> None:
    ports = random.Random(number).sample(PORTS, k=min(len(PORTS), rounds + 1))
    context = await browser.new_context(viewport=VIEWPORT)
    context.set_default_timeout(TIMEOUT_MS)
    await context.add_init_script(COUNT_RUNS)
    await context.add_init_script(STATE_LOG)
    page = await context.new_page()
    console: list[str] = []  # what the page logged, for a failed session's report
    page.on("console", lambda m: console.append(f"{m.type}: {m.text[:200]}")
            if m.type in ("error", "warning") else None)
    frames: list[tuple[float, str, bytes]] = []  # WebSocket messages, for a failed session
    page.on("websocket", lambda ws: (
        ws.on("framesent", lambda f: frames.append((time.perf_counter(), "sent", f))),
        ws.on("framereceived", lambda f: frames.append((time.perf_counter(), "recv", f))),
        ws.on("close", lambda _: frames.append((time.perf_counter(), "CLOSE", b""))),
        frames.append((time.perf_counter(), "OPEN", b""))))
    step = "open"
    marks = [time.perf_counter()]  # when each action began
    main = page.locator('[data-testid="stMain"]')
    side = page.locator('[data-testid="stSidebar"]')
    rows = main.get_by_text(" rows · ").first
    try:
        began = time.perf_counter()
        await page.goto(page_url(base, "", dst_port=ports[0], **window))
        await page.wait_for_function(RUN_DONE, arg=0, timeout=TIMEOUT_MS)
        await rows.wait_for(timeout=TIMEOUT_MS)
        views.append(View(sessions, "open", time.perf_counter() - began))
        box = side.get_by_label("Destination port(s)", exact=True)
        nav = side.locator('[data-testid="stSidebarNav"]')
        for round_ in range(1, rounds + 1):
            port = ports[round_]
            step = f"search {round_}"
            await page.wait_for_function(SETTLED, arg=500, timeout=TIMEOUT_MS, polling=100)
            await box.fill(str(port))
            views.append(View(sessions, "search", await timed(
                page, lambda: box.press("Enter"), rows, marks)))
            step = f"traffic {round_}"
            views.append(View(sessions, "traffic", await timed(
                page, nav.get_by_role("link", name="Traffic").click,
                main.locator('[data-testid="stVegaLiteChart"]').first, marks)))
            step = f"back {round_}"
            views.append(View(sessions, "back", await timed(
                page, nav.get_by_role("link", name="Search").click, rows, marks)))
    except Exception as error:  # noqa: BLE001 - one failed session is reported, not fatal
        views.append(View(sessions, "error", float("nan")))
        state = await page.evaluate(DIAGNOSIS)
        with contextlib.suppress(Exception):
            await page.screenshot(path=str(BENCH_DIR / f"failed-{sessions}-{number}.png"))
        box_value = None
        with contextlib.suppress(Exception):
            box_value = await side.get_by_label("Destination port(s)", exact=True).input_value(
                timeout=1000)
        transitions = await page.evaluate("window.__loadLog || []")
        (BENCH_DIR / f"failed-{sessions}-{number}.txt").write_text("\n".join(
            [f"{t - marks[0]:8.2f} {kind} {describe(data, kind == 'recv')}"
             for t, kind, data in frames]
            + [f"marks {[round(m - marks[0], 2) for m in marks]}", f"states {transitions}"]))
        print(f"session {number} of {sessions} failed at {step} (box {box_value!r}); its "
              f"WebSocket messages: failed-{sessions}-{number}.txt", file=sys.stderr)
        print(f"session {number} of {sessions} failed at {step}: {type(error).__name__}: "
              f"{str(error).splitlines()[0]}; page {state}; console {console[-5:]}",
              file=sys.stderr)
    finally:
        await context.close()


async def run_load(base: str, window: dict, sessions: int, rounds: int) -> tuple[list[View],
                                                                               float]:
    from playwright.async_api import async_playwright

    views: list[View] = []
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            began = time.perf_counter()
            await asyncio.gather(*(session(browser, base, window, n, sessions, rounds, views)
                                   for n in range(sessions)))
            return views, time.perf_counter() - began
        finally:
            await browser.close()


# --- many sessions without browsers (--protocol) -------------------------------------------------

# What each view must draw to count as answered (element types of Streamlit's protocol).
EXPECTED = {"open": "dataframe", "search": "dataframe", "traffic": "vega_lite_chart",
            "back": "dataframe"}


async def protocol_session(base: str, window: dict, number: int, sessions: int, rounds: int,
                           views: list[View]) -> None:
    """One simulated visitor (bench/protocol.py): the same clicks as ``session``."""
    from protocol import ProtocolSession

    ports = random.Random(number).sample(PORTS, k=min(len(PORTS), rounds + 1))
    step = "open"

    def record(name: str, result) -> None:
        if EXPECTED[name] not in result.elements:
            raise RuntimeError(f"{name} drew no {EXPECTED[name]}: {result.elements}")
        views.append(View(sessions, name, result.seconds))

    try:
        async with ProtocolSession(base, timeout_s=TIMEOUT_MS / 1000) as visitor:
            record("open", await visitor.open("", dst_port=ports[0], **window))
            for round_ in range(1, rounds + 1):
                step = f"search {round_}"
                record("search", await visitor.type_into("dst_port", str(ports[round_])))
                step = f"traffic {round_}"
                record("traffic", await visitor.go_to("traffic"))
                step = f"back {round_}"
                record("back", await visitor.go_to("search"))
    except Exception as error:  # noqa: BLE001 - one failed session is reported, not fatal
        views.append(View(sessions, f"error:{step.split()[0]}", float("nan")))
        print(f"session {number} of {sessions} failed at {step}: {type(error).__name__}: "
              f"{str(error)[:200]}", file=sys.stderr)


async def run_protocol_load(base: str, window: dict, sessions: int, rounds: int
                            ) -> tuple[list[View], float]:
    views: list[View] = []
    began = time.perf_counter()
    await asyncio.gather(*(protocol_session(base, window, n, sessions, rounds, views)
                           for n in range(sessions)))
    return views, time.perf_counter() - began


def protocol_table(views: list[View], sessions: int) -> list[dict]:
    """Rows of the issue's JSON: {"sessions", "view", "p50_s", "p95_s", "failed"}."""
    out = []
    for view in ("open", "search", "traffic", "back"):
        values = [v.seconds for v in views if v.sessions == sessions and v.page == view]
        failed = sum(1 for v in views if v.sessions == sessions and v.page == f"error:{view}")
        out.append({"sessions": sessions, "view": view, "views": len(values),
                    "p50_s": round(statistics.median(values), 3) if values else None,
                    "p95_s": round(percentile(values, 95), 3) if values else None,
                    "failed": failed})
    return out


# --- report --------------------------------------------------------------------------------------

def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))]


def table(views: list[View], sessions: int, wall_s: float) -> list[dict]:
    out = []
    failed = sum(1 for v in views if v.sessions == sessions and v.page == "error")
    for page in ("open", "search", "traffic", "back", "all"):
        values = [v.seconds for v in views if v.sessions == sessions and v.page != "error"
                  and (page == "all" or v.page == page)]
        if values:
            out.append({"sessions": sessions, "page": page, "views": len(values),
                        "p50_s": round(statistics.median(values), 3),
                        "p95_s": round(percentile(values, 95), 3),
                        "max_s": round(max(values), 3), "wall_s": round(wall_s, 1),
                        "failed_sessions": failed})
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=50_000)
    parser.add_argument("--days", type=float, default=1)
    parser.add_argument("--sessions", default="10,30", help="comma-separated session counts")
    parser.add_argument("--rounds", type=int, default=3, help="search/traffic/back rounds")
    parser.add_argument("--json", help="write the table here too")
    parser.add_argument("--protocol", action="store_true",
                        help="simulated sessions speaking Streamlit's WebSocket protocol "
                        "(bench/protocol.py) instead of Chromium: measures the server alone")
    parser.add_argument("--data", help="an existing store instead of a generated one (e.g. "
                        "bench/run.py's 10M set), with --start and --end (epoch seconds)")
    parser.add_argument("--start", type=int)
    parser.add_argument("--end", type=int)
    parser.add_argument("--cache-dir", default=str(BENCH_DIR / "cache"),
                        help="the app's cache folder (its columnar cache is reused)")
    args = parser.parse_args()

    if args.data:
        if args.start is None or args.end is None:
            parser.error("--data needs --start and --end")
        data = Path(args.data)
        summary = {"start": args.start, "end": args.end}
        args.records = sum(1 for _ in data.rglob("*.log.gz"))  # reported as objects
    else:
        data, summary = dataset(args.records, args.days)
    env = server_env(data, Path(args.cache_dir))
    build_cache(data, env)
    window = {"start": summary["start"], "end": summary["end"]}
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    server = start_server(env, BENCH_DIR / "streamlit.log")
    rows = []
    try:
        for sessions in (int(s) for s in args.sessions.split(",")):
            if args.protocol:
                views, wall = asyncio.run(run_protocol_load(server.url, window, sessions,
                                                            args.rounds))
                rows += protocol_table(views, sessions)
            else:
                views, wall = asyncio.run(run_load(server.url, window, sessions, args.rounds))
                rows += table(views, sessions, wall)
    finally:
        server.stop()
    streamlit_env = " ".join(f"{k}={v}" for k, v in sorted(os.environ.items())
                             if k.startswith("STREAMLIT_"))
    what = (f"{data} ({args.records:,} objects), window {args.start}–{args.end}" if args.data
            else f"{args.records:,} records over {args.days:g} day(s)")
    print(f"# {platform.node()} · {os.cpu_count()} cores · {what} · {args.rounds} rounds · load average {os.getloadavg()[0]:.1f}"
          + (f" · {streamlit_env}" if streamlit_env else ""))
    if args.protocol:
        print(f"{'sessions':>8} {'view':>8} {'views':>6} {'p50 s':>7} {'p95 s':>7} {'failed':>7}")
        for row in rows:
            print(f"{row['sessions']:>8} {row['view']:>8} {row['views']:>6} "
                  f"{row['p50_s'] or float('nan'):>7.2f} {row['p95_s'] or float('nan'):>7.2f} "
                  f"{row['failed']:>7}")
        if args.json:
            Path(args.json).write_text(json.dumps(rows, indent=1))
        return 0
    print(f"{'sessions':>8} {'page':>8} {'views':>6} {'p50 s':>7} {'p95 s':>7} {'max s':>7} "
          f"{'failed':>7}")
    for row in rows:
        print(f"{row['sessions']:>8} {row['page']:>8} {row['views']:>6} {row['p50_s']:>7.2f} "
              f"{row['p95_s']:>7.2f} {row['max_s']:>7.2f} {row['failed_sessions']:>7}")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
