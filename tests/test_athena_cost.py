"""Cost you can see: each page view sums its Athena queries' data scanned and dollars, a
cached answer says it cost nothing now, and a per-user daily scan budget refuses new scans
with a clear message."""

from dataclasses import replace

import pyarrow as pa
import pytest
from fake_athena import shared_fake
from storefixture import T0

from lib.engines import EngineError, Result
from lib.engines.athena import ScanBudget, view_cost

WINDOW = {"start": str(T0), "end": str(T0 + 2 * 86400)}


def result(scanned, cost, **extra) -> Result:
    return Result(table=pa.table({}), sql="", engine="athena", elapsed_s=0.1,
                  scanned_bytes=scanned, cost_usd=cost, **extra)


def test_a_view_sums_its_queries():
    line = view_cost([result(30_000_000, 0.0002), result(12_000_000, 0.0001), None])
    assert line == "This view: 2 Athena queries · 42.0 MB scanned · $0.0003"


def test_cached_answers_cost_nothing_now():
    fresh = result(5_000_000_000, 0.0227)
    line = view_cost([fresh, replace(fresh, cache_hit=True),
                      result(0, 0.0, reused_result=True)])
    assert line.startswith("This view: 3 Athena queries · 5.00 GB scanned · $0.0227")
    assert "2 answered from a cache or a stored result: nothing scanned for them now" in line
    assert view_cost([replace(fresh, engine="duckdb")]) is None


def test_the_daily_budget_refuses_new_scans_once_spent():
    class Config:
        engine, athena_user_daily_bytes = "athena", 100_000_000

    budget = ScanBudget()
    budget.check(Config, "ann")
    budget.spend("ann", result(60_000_000, 0.0))
    budget.spend("ann", replace(result(90_000_000, 0.0), cache_hit=True))  # not a scan
    budget.check(Config, "ann")
    budget.spend("ann", result(50_000_000, 0.0))
    with pytest.raises(EngineError, match="110.0 MB today.*athena_user_daily_bytes"):
        budget.check(Config, "ann")
    budget.check(Config, "bob")  # per user


@pytest.fixture
def athena_app(monkeypatch):
    from apptest import app

    fake = shared_fake()

    def make(**settings):
        at = app(monkeypatch, fake.store_root, start=WINDOW["start"], end=WINDOW["end"])
        for key, value in fake.settings(**settings).__dict__.items():
            if key.startswith("athena_") or key == "engine":
                monkeypatch.setenv(f"FLOWSCOPE_{key.upper()}", str(value))
        for key, value in fake.environment_variables().items():
            monkeypatch.setenv(key, value)
        return at

    fake.reset()
    return make


def sidebar_captions(at) -> str:
    """The page's captions (the view's cost is the one starting 'This view:')."""
    return " ".join(c.value for c in at.caption if c.value.startswith("This view:"))


def test_the_traffic_page_shows_the_views_cost_and_then_that_the_cache_cost_nothing(
        athena_app):
    from lib.engines import result_cache

    at = athena_app(athena_cache_ttl_s=300, athena_result_reuse_minutes=0)
    result_cache(shared_fake().settings(athena_cache_ttl_s=300,
                                        athena_result_reuse_minutes=0)).clear()
    at.run(timeout=60)
    at.switch_page("pages/traffic.py").run(timeout=60)
    assert not at.exception and not at.error
    first = sidebar_captions(at)
    assert first.startswith("This view: 3 Athena queries · ") and " scanned · $" in first
    assert "$0.0000" not in first and "answered from a cache" not in first
    at.run(timeout=60)  # the same view again: every answer from the cache
    again = sidebar_captions(at)
    assert "answered from a cache or a stored result: nothing scanned for them now" in again
    assert "0.0 MB scanned · $0.0000" in again
    # The per-query lines sit in the one "Numbers and SQL" box (issue 19.12).
    assert any("from cache: nothing scanned now, $0" in m.value.replace("\\", "") for m in at.markdown)


def test_a_user_past_the_daily_budget_is_told_and_nothing_runs(athena_app):
    fake = shared_fake()
    at = athena_app(athena_cache_ttl_s=0, athena_user_daily_bytes=1)
    at.run(timeout=60)  # Search: its query scans more than 1 byte
    before = fake.started()
    at.run(timeout=60)
    assert fake.started() == before
    assert any("daily budget per user" in e.value and "athena_user_daily_bytes" in e.value
               for e in at.error)
