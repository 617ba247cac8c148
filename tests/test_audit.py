"""The audit trail: one JSON line per query (pages and CLI), whole lines under concurrency,
nothing secret, and no results when the trail cannot be written."""

import json
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from apptest import app
from authkit import WINDOW, audit_lines, write_store
from storefixture import T0

from lib import audit
from lib.config import Settings
from lib.engines import EngineError
from lib.filters import parse_filters
from lib.query import Query, Scope

ROOT = Path(__file__).resolve().parent.parent
FIELDS = {"time", "event", "user", "page", "kind", "filters", "scope", "engine", "sql_sha256",
          "rows", "scanned_bytes", "cache_hit", "duration_s", "outcome"}


@pytest.fixture
def store(tmp_path):
    return write_store(tmp_path / "store")


def test_each_page_run_appends_one_line_per_query(monkeypatch, store, tmp_path):
    trail = tmp_path / "audit.jsonl"
    for dst in ("10.9.0.1", "10.9.0.0/24"):  # two page runs, each with its own filters
        at = app(monkeypatch, store, dst=dst, dst_port="443", **WINDOW)
        monkeypatch.setenv("FLOWSCOPE_AUDIT_FILE", str(trail))
        at.run()
        assert not at.exception
    lines = audit_lines(trail)
    assert len(lines) == 2
    first = lines[0]
    assert set(first) == FIELDS
    assert (first["user"], first["page"], first["kind"], first["engine"], first["rows"],
            first["outcome"], first["scope"]) == ("local", "Search", "search", "duckdb", 3, "ok",
                                                  "*")
    assert first["filters"] == {"start": str(T0), "end": str(T0 + 3600), "dst": "10.9.0.1/32",
                                "dst_port": "443"}
    assert len(first["sql_sha256"]) == 64 and lines[1]["filters"]["dst"] == "10.9.0.0/24"


def test_the_cli_audits_its_queries(store, tmp_path):
    trail = tmp_path / "audit.jsonl"
    result = subprocess.run(
        [sys.executable, "-m", "lib.cli", "query", "--data", str(store), "--engine", "duckdb",
         "--start", str(T0), "--end", str(T0 + 3600), "--account", "012345678901"],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
        env={**__import__("os").environ, "FLOWSCOPE_AUDIT_FILE": str(trail)})
    assert result.returncode == 0, result.stderr
    (line,) = audit_lines(trail)
    assert line["page"] == "cli" and line["user"].startswith("cli:") and line["rows"] == 1
    assert line["filters"]["account"] == "012345678901"


def _query() -> Query:
    return Query("search", parse_filters({"start": str(T0), "end": str(T0 + 60)}),
                 scope=Scope(frozenset({"012345678901"})))


def test_a_failed_query_is_audited_and_the_error_kept(tmp_path):
    settings = Settings(audit_file=str(tmp_path / "audit.jsonl"))

    def failing(query):
        raise EngineError("Athena said no")

    with pytest.raises(EngineError):
        audit.run_audited(settings, "alice", "Search", _query(), failing)
    (line,) = audit_lines(tmp_path / "audit.jsonl")
    assert (line["outcome"], line["error"], line["rows"], line["scope"]) == (
        "error", "Athena said no", None, "012345678901")


def _append_many(path: str, writer: int, count: int) -> None:
    settings = Settings(audit_file=path)
    for n in range(count):
        audit.append(settings, {"event": "test", "writer": writer, "n": n, "pad": "x" * 3000})


def test_concurrent_writers_never_interleave_lines(tmp_path):
    path = str(tmp_path / "audit.jsonl")
    script = ("import sys\nfrom lib import audit\nfrom lib.config import Settings\n"
              "for n in range(50):\n"
              "    audit.append(Settings(audit_file=sys.argv[1]),\n"
              "                 {'event': 'test', 'writer': int(sys.argv[2]), 'n': n,"
              " 'pad': 'x' * 3000})\n")
    processes = [subprocess.Popen([sys.executable, "-c", script, path, str(10 + w)], cwd=ROOT)
                 for w in range(2)]
    threads = [threading.Thread(target=_append_many, args=(path, w, 50)) for w in range(4)]
    for thread in threads:
        thread.start()
    for worker in threads:
        worker.join(timeout=120)
    assert [p.wait(timeout=120) for p in processes] == [0, 0]
    records = [json.loads(line) for line in Path(path).read_text().splitlines()]  # all whole
    assert len(records) == 300
    assert {(r["writer"], r["n"]) for r in records} == {
        (w, n) for w in (0, 1, 2, 3, 10, 11) for n in range(50)}


def test_results_are_withheld_when_the_trail_cannot_be_written(monkeypatch, store, tmp_path):
    blocked = tmp_path / "not-a-file"
    blocked.mkdir()  # a directory where the file should be
    at = app(monkeypatch, store, **WINDOW)
    monkeypatch.setenv("FLOWSCOPE_AUDIT_FILE", str(blocked))
    at.run()
    assert any("audit trail" in e.value and "withheld" in e.value for e in at.error)
    assert not at.dataframe


def test_signin_lines_carry_no_secret(tmp_path):
    settings = Settings(audit_file=str(tmp_path / "audit.jsonl"))
    audit.signin(settings, "alb", None, "failed", "the identity token has expired")
    (line,) = audit_lines(tmp_path / "audit.jsonl")
    assert set(line) == {"time", "event", "mode", "user", "outcome", "reason"}


# --- issue 21: a stream of its own, forgery-proof lines, every read audited ---------------

@pytest.mark.parametrize("text", ['x\n{"event": "query", "user": "alice"}', "x\r\ny",
                                  "x\u2028y", "x\u0085y", "x\u2029y"])
def test_no_value_can_start_a_line_of_its_own(tmp_path, text):
    trail = tmp_path / "audit.jsonl"
    audit.signin(Settings(audit_file=str(trail)), "password", text, "failed", reason=text)
    raw = trail.read_bytes()
    assert raw.count(b"\n") == 1 and raw.isascii()
    assert len(raw.decode().splitlines()) == 1  # str.splitlines breaks on U+2028 and U+0085
    (line,) = audit_lines(trail)
    assert line["user"] == text and line["reason"] == text


def test_the_trail_refuses_to_share_the_processes_log_stream(tmp_path):
    script = ("import sys; from lib import audit; from lib.config import Settings\n"
              "try:\n"
              "    audit.signin(Settings(audit_file='/dev/stdout'), 'password', 'a', 'ok')\n"
              "except audit.AuditError as error:\n"
              "    print('refused:', error, file=sys.stderr)\n")
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True,
                            text=True, timeout=60)
    assert result.stdout == ""  # nothing written where libraries log
    assert "refused:" in result.stderr and "own" in result.stderr


def test_records_page_reads_are_audited(monkeypatch, tmp_path):
    from test_objects import build_tree

    from lib import objects

    root = tmp_path / "tree"
    made = build_tree(root)
    trail = tmp_path / "audit.jsonl"
    objects.clear_caches()
    at = app(monkeypatch, root, rec_date="2026-09-21", rec_object=made["four"].name)
    monkeypatch.setenv("FLOWSCOPE_AUDIT_FILE", str(trail))
    at.run()
    at.switch_page("pages/records.py").run()
    assert not at.exception
    reads = [e for e in audit_lines(trail) if e["event"] == "read"]
    # page: the title app.py's navigation recorded (AppTest's switch_page keeps the first)
    assert [(e["user"], e["page_number"], e["rows"], e["outcome"]) for e in reads] == [
        ("local", 1, 4, "ok")]
    assert reads[0]["object"].endswith(made["four"].name)


def test_the_cli_check_is_audited(store, tmp_path):
    trail = tmp_path / "audit.jsonl"
    result = subprocess.run(
        [sys.executable, "-m", "lib.cli", "check", "--data", str(store), "--src", "10.1.0.5",
         "--dst", "10.9.0.1", "--dst-port", "443", "--start", str(T0), "--end",
         str(T0 + 3600)],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
        env={**__import__("os").environ, "FLOWSCOPE_AUDIT_FILE": str(trail)})
    assert result.returncode == 0, result.stderr
    # the check's query, then the ones telling whether its logs were complete (issue 22)
    line, *context = audit_lines(trail)
    assert [c["kind"] for c in context] == ["log-gaps", "health", "owners"]
    assert all(c["page"] == "cli" and c["user"] == line["user"] for c in context)
    assert (line["event"], line["page"], line["kind"]) == ("query", "cli", "check")
    assert line["user"].startswith("cli:") and line["filters"]["src"].startswith("10.1.0.5")
