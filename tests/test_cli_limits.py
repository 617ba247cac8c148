"""Security review points 1 and 5 through the command line and the validated filters: an
address with a zone ID and a time range over the maximum (or outside 2000..now+1 day) are
refused with exit 2 and a message naming the problem (and the setting), and nothing runs."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from storefixture import T0, record, write_object

from lib import timeutil
from lib.filters import InvalidFilters, parse_filters

ROOT = Path(__file__).resolve().parent.parent
DAY = 86400
WINDOW = ["--start", str(T0), "--end", str(T0 + 3600)]
CHECK = ["--src", "10.0.0.5", "--dst", "10.0.1.9", "--dst-port", "443"]


@pytest.fixture
def store(tmp_path):
    write_object(tmp_path / "store", [
        record("10.0.0.5", "10.0.1.9", 40001, 443, start=T0 + 100, eni="=HYPERLINK(1)"),
        record("10.0.1.9", "10.0.0.5", 443, 40001, start=T0 + 160),
    ])
    return tmp_path


def cli(store, *args: str, **env: str) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("FLOWSCOPE_")}
    environment.update({"FLOWSCOPE_DATA_DIR": str(store / "store"), "FLOWSCOPE_ENGINE": "duckdb",
                        "FLOWSCOPE_CACHE_DIR": str(store / "cache"),
                        "FLOWSCOPE_AUDIT_FILE": str(store / "audit.jsonl"),
                        "FLOWSCOPE_CONFIG": str(store / "none.toml"), **env})
    return subprocess.run([sys.executable, "-m", "lib.cli", *args], cwd=ROOT, env=environment,
                          capture_output=True, text=True, timeout=120, check=False)


@pytest.mark.parametrize("command, extra", [("query", []), ("check", CHECK[2:])])
@pytest.mark.parametrize("address", ["fe80::1%eth0", "fe80::1%[x](https://evil.example)",
                                     "fe80::%25lo/64"])
def test_an_address_with_a_zone_id_is_refused(store, command, extra, address):
    done = cli(store, command, *WINDOW, "--src", address, "--dst", "10.0.1.9", *extra)
    assert done.returncode == 2, done.stderr
    assert "--src" in done.stderr and "zone ID" in done.stderr
    assert done.stdout == ""  # nothing ran


@pytest.mark.parametrize("command, extra", [("query", []), ("check", CHECK)])
def test_a_range_over_the_maximum_is_refused_naming_the_setting(store, command, extra):
    done = cli(store, command, "--start", str(T0 - 40 * DAY), "--end", str(T0), *extra)
    assert done.returncode == 2, done.stderr
    assert "--end" in done.stderr and "max_range_days" in done.stderr
    assert "31 days" in done.stderr
    assert done.stdout == ""


@pytest.mark.parametrize("command, extra", [("query", []), ("check", CHECK)])
def test_the_maximum_is_a_setting(store, command, extra):
    done = cli(store, command, "--start", str(T0 - 40 * DAY), "--end", str(T0 + 3600), *extra,
               FLOWSCOPE_MAX_RANGE_DAYS="45")
    assert done.returncode == 0, done.stderr
    narrow = cli(store, command, "--start", str(T0 - 2 * DAY), "--end", str(T0 + 3600), *extra,
                 FLOWSCOPE_MAX_RANGE_DAYS="1")
    assert narrow.returncode == 2 and "at most 1 days" in narrow.stderr


@pytest.mark.parametrize("start, end", [("1999-12-31T23:00Z", "2000-01-01T01:00Z"),
                                        ("0", "3600"), (None, "2100-01-01T00:00Z")])
def test_times_outside_2000_to_tomorrow_are_refused(store, start, end):
    if start is None:  # a day before the far end: only the far end is wrong
        start = str(timeutil.parse_time(end) - DAY)
    done = cli(store, "query", "--start", start, "--end", end)
    assert done.returncode == 2, done.stderr
    assert "out of range" in done.stderr and "2000-01-01" in done.stderr


def test_the_command_line_csv_neutralises_formulas(store):
    done = cli(store, "query", *WINDOW, "--format", "csv")
    assert done.returncode == 0, done.stderr
    rows = list(csv.DictReader(io.StringIO(done.stdout, newline="")))
    assert sorted(r["interface-id"] for r in rows) == ["'=HYPERLINK(1)", "eni-0a1b2c3d4e5f60001"]
    assert {r["srcport"] for r in rows} == {"40001", "443"}
    as_json = json.loads(cli(store, "query", *WINDOW).stdout)  # JSON keeps the stored value
    assert "=HYPERLINK(1)" in {r["interface-id"] for r in as_json}


# --- the validated filters, where every path gets the bounds -----------------------------------

def test_filters_bound_the_range():
    assert parse_filters({"start": str(T0), "end": str(T0 + 31 * DAY)})  # exactly the maximum
    with pytest.raises(InvalidFilters) as invalid:
        parse_filters({"start": str(T0), "end": str(T0 + 31 * DAY + 1)})
    assert "max_range_days" in invalid.value.errors["end"]
    assert parse_filters({"start": str(T0), "end": str(T0 + 60 * DAY)}, max_range_days=60)


def test_the_setting_reaches_every_caller(monkeypatch):
    monkeypatch.setenv("FLOWSCOPE_MAX_RANGE_DAYS", "2")
    with pytest.raises(InvalidFilters, match="at most 2 days"):
        parse_filters({"start": str(T0), "end": str(T0 + 3 * DAY)})


def test_times_from_2000_to_a_day_from_now():
    now = timeutil.now()
    assert parse_filters({"start": str(now), "end": str(now + DAY - 60)})
    for start, end in (("946684799", "946690000"), (str(now + DAY + 60), str(now + DAY + 120))):
        with pytest.raises(InvalidFilters, match="out of range"):
            parse_filters({"start": start, "end": end})
