"""The command line pages on a search too (issue 19, point 2): a full page names on stderr
the option for the next one (``more: --before CURSOR``); the pages together are the unlimited
search; a cursor it did not print, or on another kind, is refused (exit 2) and runs nothing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from storefixture import T0
from test_search_paging import write_store

from lib.query import SearchCursor, cursor_from_token, cursor_token

ROOT = Path(__file__).resolve().parent.parent
WINDOW = ["--start", str(T0), "--end", str(T0 + 2 * 86400)]


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cli-pages")
    write_store(folder / "store")
    return folder


def cli(store, *args: str) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("FLOWSCOPE_")}
    environment.update({"FLOWSCOPE_DATA_DIR": str(store / "store"), "FLOWSCOPE_ENGINE": "duckdb",
                        "FLOWSCOPE_CACHE_DIR": str(store / "cache"),
                        "FLOWSCOPE_COLUMNAR_CACHE": "false",
                        "FLOWSCOPE_AUDIT_FILE": str(store / "audit.jsonl"),
                        "FLOWSCOPE_CONFIG": str(store / "none.toml")})
    return subprocess.run([sys.executable, "-m", "lib.cli", *args], cwd=ROOT, env=environment,
                          capture_output=True, text=True, timeout=120, check=False)


def next_option(stderr: str) -> list[str]:
    lines = [line for line in stderr.splitlines() if line.startswith("more: ")]
    return lines[0].removeprefix("more: ").split() if lines else []


def test_pages_through_the_command_line_are_the_whole_search(store):
    whole = json.loads(cli(store, "query", *WINDOW, "--limit", "1000").stdout)
    pages, option = [], []
    while True:
        done = cli(store, "query", *WINDOW, "--limit", "25", *option)
        assert done.returncode == 0, done.stderr
        pages.append(json.loads(done.stdout))
        option = next_option(done.stderr)
        if not option:
            break
        assert option[0] == "--before"
    assert [len(p) for p in pages[:-1]] == [25] * (len(pages) - 1) and len(pages) > 2
    assert [r for page in pages for r in page] == whole


@pytest.mark.parametrize("before, says", [
    ("not-a-cursor", "--before: not a cursor"),
    (cursor_token(SearchCursor((T0,))), "--before: a search cursor has"),
    (cursor_token(SearchCursor(("'; DROP TABLE flows; --",) + (None,) * 12)), "start must be"),
])
def test_a_cursor_it_did_not_print_is_refused(store, before, says):
    done = cli(store, "query", *WINDOW, "--before", before)
    assert done.returncode == 2 and says in done.stderr, done.stderr
    assert done.stdout == ""


def test_only_a_search_pages_on(store):
    done = cli(store, "query", "--kind", "summary", *WINDOW,
               "--before", cursor_token(SearchCursor((T0,))))
    assert done.returncode == 2 and "--kind search" in done.stderr


def test_the_sql_of_a_later_page_names_the_cursor_as_literals(store):
    first = cli(store, "query", *WINDOW, "--limit", "5")
    option = next_option(first.stderr)
    done = cli(store, "sql", "--engine", "athena", *WINDOW, "--limit", "5", *option)
    assert done.returncode == 0, done.stderr
    assert "OFFSET" in done.stdout and "LIMIT 5" in done.stdout


def test_a_token_keeps_every_value():
    cursor = SearchCursor((T0, "012345678901", None, "eni-0a", "2001:db8::1", 443, -1), 3)
    assert cursor_from_token(cursor_token(cursor)) == cursor
    assert cursor_token(cursor).isascii() and " " not in cursor_token(cursor)
