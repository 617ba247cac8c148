"""bench/load.py --protocol: simulated sessions that speak Streamlit's WebSocket protocol.

The load benchmark's numbers are only worth something if its sessions really do what a
person does: these tests run two of them against `streamlit run app.py` on a small demo set
and check, from the audit trail, that the typed port reached the queries and that every
view drew its result. Not a timing test."""

from __future__ import annotations

import asyncio
import json
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "tests" / "browser"))

import load  # noqa: E402  (bench/load.py)
from browserkit import build_cache, make_demo, start_server  # noqa: E402
from protocol import ProtocolSession, ViewFailed  # noqa: E402


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    base = tmp_path_factory.mktemp("protocol")
    summary = make_demo(base / "data", records=3000, seed=5)
    env = load.server_env(base / "data", base / "cache")
    env["FLOWSCOPE_AUDIT_FILE"] = str(base / "audit.jsonl")
    build_cache(base / "data", env)
    running = start_server(env, base / "streamlit.log")
    yield running, {"start": summary["start"], "end": summary["end"]}, base / "audit.jsonl"
    running.stop()


def run(coroutine):
    """asyncio.run in a thread of its own: the browser tests' Playwright (sync API) may hold
    a running event loop in this process's main thread."""
    with ThreadPoolExecutor(1) as thread:
        return thread.submit(asyncio.run, coroutine).result()


def audited(audit: Path) -> list[dict]:
    return [json.loads(line) for line in audit.read_text().splitlines()]


def test_two_sessions_search_open_traffic_and_go_back(server):
    running, window, audit = server
    views, _ = run(load.run_protocol_load(running.url, window, sessions=2, rounds=1))
    rows = {row["view"]: row for row in load.protocol_table(views, 2)}
    assert {name: (row["views"], row["failed"]) for name, row in rows.items()} == {
        "open": (2, 0), "search": (2, 0), "traffic": (2, 0), "back": (2, 0)}
    # The port each session typed reached the Search and Traffic queries of that session.
    typed = {str(load.random.Random(n).sample(load.PORTS, k=2)[1]) for n in range(2)}
    searched = {e["filters"].get("dst_port") for e in audited(audit)
                if e["event"] == "query" and e["kind"] == "search"}
    traffic = {e["filters"].get("dst_port") for e in audited(audit)
               if e["event"] == "query" and e["page"] == "Traffic"}
    assert typed <= searched and typed <= traffic


def test_an_unknown_widget_or_page_fails_the_view(server):
    running, window, _ = server

    async def visit():
        async with ProtocolSession(running.url, timeout_s=60) as visitor:
            opened = await visitor.open("", **window)
            assert "dataframe" in opened.elements and "search" in visitor.pages
            with pytest.raises(ViewFailed, match="matched 0 widgets"):
                await visitor.type_into("no_such_field", "1")
            with pytest.raises(ViewFailed, match="no page 'nowhere'"):
                await visitor.go_to("nowhere")

    run(visit())
