"""The Traffic page in few queries: every section from one scan (the "traffic" kind), the
view's independent queries run at once, and a view given up on stops them all."""

import time

import pytest
from fake_athena import shared_fake
from storefixture import ACCOUNT_A, T0

from lib import traffic
from lib.engines.athena import AthenaEngine
from lib.engines.duckdb_engine import DuckDBEngine
from lib.filters import parse_filters
from lib.query import ALL_ACCOUNTS, Scope

WINDOW = {"start": str(T0), "end": str(T0 + 2 * 86400)}
FILTER_SETS = [
    ({}, ALL_ACCOUNTS),
    ({"src": "10.0.0.0/8"}, ALL_ACCOUNTS),
    ({"dst": "2001:db8::/32"}, ALL_ACCOUNTS),
    ({"action": "REJECT", "dst_port": "1-1024"}, ALL_ACCOUNTS),
    ({"protocol": "tcp", "start": str(T0 + 3000), "end": str(T0 + 7000)}, ALL_ACCOUNTS),
    ({}, Scope(frozenset({ACCOUNT_A}))),
]


@pytest.fixture(scope="module")
def fake():
    return shared_fake()


@pytest.fixture(scope="module")
def duck(fake):
    return DuckDBEngine(str(fake.store_root))


def by_kind(engine, filters, scope, measure, top):
    results = traffic.view_queries(filters, scope, measure, top, bundled=False)
    return {key: engine.run(query).rows() for key, query in results.items()}


@pytest.mark.parametrize("raw,scope", FILTER_SETS)
@pytest.mark.parametrize("measure,top", [("bytes", 10), ("flows", 3), ("packets", 1)])
def test_every_section_of_one_scan_equals_its_own_kind(duck, raw, scope, measure, top):
    filters = parse_filters({**WINDOW, **raw})
    separate = by_kind(duck, filters, scope, measure, top)
    bundled = traffic.view_queries(filters, scope, measure, top, bundled=True)
    found = traffic.sections({key: duck.run(q) for key, q in bundled.items()})
    for section, rows in separate.items():
        assert found[section].rows() == rows, section
    assert set(found) >= set(separate)


def athena_env(fake, monkeypatch):
    for key, value in fake.environment_variables().items():
        monkeypatch.setenv(key, value)
    fake.reset()


def test_the_bundle_through_athena_answers_as_duckdb(fake, duck, monkeypatch):
    athena_env(fake, monkeypatch)
    filters = parse_filters(WINDOW)
    queries = traffic.view_queries(filters, ALL_ACCOUNTS, "bytes", 10, bundled=True)
    athena = AthenaEngine(fake.settings(), poll_interval=0.01)
    got = traffic.sections({k: athena.run(q, refresh=True) for k, q in queries.items()})
    assert fake.started() == 2
    for section, rows in by_kind(duck, filters, ALL_ACCOUNTS, "bytes", 10).items():
        assert got[section].rows() == rows, section


def test_the_athena_traffic_page_runs_at_most_three_queries(fake, monkeypatch):
    from apptest import app

    at = app(monkeypatch, fake.store_root, start=WINDOW["start"], end=WINDOW["end"])
    for key, value in fake.settings(athena_cache_ttl_s=0,
                                    athena_result_reuse_minutes=0).__dict__.items():
        if key.startswith("athena_") or key == "engine":
            monkeypatch.setenv(f"FLOWSCOPE_{key.upper()}", str(value))
    athena_env(fake, monkeypatch)
    at.run(timeout=60)
    before = fake.started()
    at.switch_page("pages/traffic.py").run(timeout=60)
    assert not at.exception and not at.error
    assert 0 < fake.started() - before <= 3
    assert at.metric and any(len(frame.value) for frame in at.dataframe)


# --- at once, and stopped together -------------------------------------------------------

def test_independent_queries_run_side_by_side():
    started = []

    def run_one(key, query, cancelled):
        started.append(time.monotonic())
        time.sleep(0.3)
        return key * 2

    began = time.monotonic()
    out = traffic.run_concurrently(run_one, {"a": None, "b": None, "c": None, "d": None})
    assert out == {"a": "aa", "b": "bb", "c": "cc", "d": "dd"}
    assert time.monotonic() - began < 0.9  # four 0.3 s queries, not 1.2 s


def test_a_failure_is_returned_not_raised_and_others_still_answer():
    def run_one(key, query, cancelled):
        if key == "bad":
            raise ValueError("broken")
        return key

    out = traffic.run_concurrently(run_one, {"bad": None, "good": None})
    assert isinstance(out["bad"], ValueError) and out["good"] == "good"


class Rerun(BaseException):
    """What Streamlit raises in the script thread when the user changes a widget."""


def test_a_view_given_up_on_stops_every_running_athena_query(fake, monkeypatch):
    athena_env(fake, monkeypatch)
    engine = AthenaEngine(fake.settings(), poll_interval=0.01)
    queries = traffic.view_queries(parse_filters(WINDOW), ALL_ACCOUNTS, "bytes", 10,
                                   bundled=True)
    started = set()

    def run_one(key, query, cancelled):
        def progress(state):
            started.add(key)  # polled: its query is in Athena
            if cancelled.is_set():
                raise traffic.Superseded
        return engine.run(query, progress=progress, refresh=True)

    def tick():
        if started == set(queries):
            raise Rerun

    with fake.slow(polls=10 ** 6), pytest.raises(Rerun):
        traffic.run_concurrently(run_one, queries, tick=tick, interval_s=0.05)
    assert fake.calls["StopQueryExecution"] == len(queries) == 2
