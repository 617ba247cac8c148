"""The Athena engine's behaviour against the local moto server (tests/fake_athena.py):
caching in two layers, progress, cancellation, timeouts, the scan ceiling, failures and
throttling, and the Search page unchanged when the engine setting changes."""

import boto3
import pytest
from fake_athena import shared_fake
from pyathena.util import RetryConfig
from storefixture import ACCOUNT_A, ACCOUNT_B, T0

from lib.engines import EngineError, get_engine, result_cache
from lib.engines.athena import AthenaEngine
from lib.filters import parse_filters
from lib.query import ALL_ACCOUNTS, Query, Scope

WINDOW = parse_filters({"start": str(T0), "end": str(T0 + 2 * 86400)})
FAST_RETRY = RetryConfig(attempt=3, multiplier=0.01, max_delay=0.05)


class Superseded(BaseException):
    """What Streamlit raises inside a running script when the user changes a widget."""


@pytest.fixture(scope="module")
def fake():
    return shared_fake()


@pytest.fixture(autouse=True)
def athena_env(fake, monkeypatch):
    for key, value in fake.environment_variables().items():
        monkeypatch.setenv(key, value)
    fake.reset()


def engine(fake, **settings) -> AthenaEngine:
    return AthenaEngine(fake.settings(**settings), poll_interval=0.01, retry=FAST_RETRY,
                        sdk_attempts=1)


def state_in_athena(fake, query_id: str) -> str:
    client = boto3.client("athena", region_name=fake.region, endpoint_url=fake.endpoint)
    return client.get_query_execution(QueryExecutionId=query_id)["QueryExecution"]["Status"][
        "State"]


# --- the two cache layers ------------------------------------------------------------------

def test_second_identical_query_makes_no_start_call(fake):
    settings = fake.settings(athena_cache_ttl_s=300)
    result_cache(settings).clear()
    query = Query("top-talkers", WINDOW, scope=ALL_ACCOUNTS)
    first = get_engine(settings).run(query)
    second = get_engine(settings).run(query)
    assert fake.started() == 1
    assert second.cache_hit and not first.cache_hit
    assert second.rows() == first.rows() and first.rows()
    assert second.sql == first.sql
    # refresh: asked again, and Athena's own reuse is not requested either
    third = get_engine(settings).run(query, refresh=True)
    assert fake.started() == 2 and not third.cache_hit
    assert fake.executions[third.query_id].reuse == {}


def test_cached_results_are_not_shared_across_scopes(fake):
    settings = fake.settings(athena_cache_ttl_s=300)
    result_cache(settings).clear()
    mine = get_engine(settings).run(Query("search", WINDOW, scope=Scope(frozenset({ACCOUNT_A}))))
    theirs = get_engine(settings).run(Query("search", WINDOW,
                                            scope=Scope(frozenset({ACCOUNT_B}))))
    assert fake.started() == 2 and not theirs.cache_hit
    assert {r["log_account"] for r in mine.rows()} == {ACCOUNT_A}
    assert {r["log_account"] for r in theirs.rows()} == {ACCOUNT_B}


def test_athena_result_reuse_is_the_second_layer(fake):
    settings = fake.settings(athena_cache_ttl_s=300, athena_result_reuse_minutes=15)
    # A window no other test asks for: the shared fake reuses any earlier identical SQL,
    # and this test needs the first run to be a real scan.
    unique = WINDOW.with_(end=WINDOW.end - 7)
    query = Query("summary", unique, scope=Scope(frozenset({ACCOUNT_B})))
    result_cache(settings).clear()
    first = get_engine(settings).run(query)
    assert fake.executions[first.query_id].reuse == {
        "ResultReuseByAgeConfiguration": {"Enabled": True, "MaxAgeInMinutes": 15}}
    result_cache(settings).clear()  # e.g. another replica of the app: its memory is empty
    second = get_engine(settings).run(query)
    assert fake.started() == 2 and not second.cache_hit
    assert second.reused_result and second.scanned_bytes == 0 and second.cost_usd == 0
    assert second.rows() == first.rows() and first.scanned_bytes > 0


# --- progress, cancellation, limits ----------------------------------------------------------

def test_progress_shows_state_elapsed_scanned_and_cost(fake):
    seen = []
    with fake.slow(polls=2):
        result = engine(fake).run(Query("search", WINDOW, scope=ALL_ACCOUNTS), progress=seen.append, refresh=True)
    states = [p.state for p in seen]
    assert states[0] == "QUEUED" and "RUNNING" in states and states[-1] == "SUCCEEDED"
    assert [p.elapsed_s for p in seen] == sorted(p.elapsed_s for p in seen)
    assert seen[-1].scanned_bytes == result.scanned_bytes > 0
    assert seen[-1].cost_usd == result.cost_usd > 0
    assert all(p.query_id == result.query_id for p in seen)
    assert "Athena: running" in next(p for p in seen if p.state == "RUNNING").describe()


def test_a_superseded_query_is_cancelled(fake):
    started = []

    def give_up(progress):
        started.append(progress.query_id)
        if progress.state == "RUNNING":
            raise Superseded

    with fake.slow(polls=3), pytest.raises(Superseded):
        engine(fake).run(Query("search", WINDOW, scope=ALL_ACCOUNTS), progress=give_up, refresh=True)
    assert fake.calls["StopQueryExecution"] == 1
    assert state_in_athena(fake, started[-1]) == "CANCELLED"


def test_a_query_running_too_long_is_cancelled(fake):
    with fake.slow(polls=10 ** 6), pytest.raises(EngineError, match="longer than 1 s"):
        engine(fake, athena_timeout_s=1).run(Query("search", WINDOW, scope=ALL_ACCOUNTS), refresh=True)
    assert fake.calls["StopQueryExecution"] == 1


def test_the_bytes_scanned_ceiling_stops_the_query(fake):
    with fake.slow(polls=3), pytest.raises(EngineError, match="athena_bytes_scanned_limit"):
        engine(fake, athena_bytes_scanned_limit=100).run(Query("search", WINDOW, scope=ALL_ACCOUNTS), refresh=True)
    query_id = list(fake.executions)[-1]  # the one just started
    assert fake.calls["StopQueryExecution"] == 1
    assert state_in_athena(fake, query_id) == "CANCELLED"


# --- failures ---------------------------------------------------------------------------------

def test_a_failed_query_shows_athenas_reason(fake):
    reason = "HIVE_BAD_DATA: Error parsing field value 'x' for field 5: For input string: \"x\""
    fake.fail_next_query(reason)
    with pytest.raises(EngineError) as failure:
        engine(fake).run(Query("search", WINDOW, scope=ALL_ACCOUNTS), refresh=True)
    assert str(failure.value) == f"Athena could not run the query: {reason}"


def test_a_missing_table_fails_with_athenas_words(fake):
    with pytest.raises(EngineError, match="Athena could not run the query: TABLE_NOT_FOUND"):
        engine(fake, athena_table="no_such_table").run(Query("search", WINDOW, scope=ALL_ACCOUNTS))


def test_throttled_calls_are_retried_with_backoff(fake):
    fake.fail_calls("TooManyRequestsException", "Rate exceeded", times=2)
    result = engine(fake).run(Query("timeline", WINDOW, scope=ALL_ACCOUNTS), refresh=True)
    assert fake.started() == 3 and result.rows()


def test_throttling_that_persists_becomes_a_clear_message(fake):
    fake.fail_calls("TooManyRequestsException", "Rate exceeded", times=5)
    with pytest.raises(EngineError, match="Athena is throttling requests.*Wait a minute"):
        engine(fake).run(Query("timeline", WINDOW, scope=ALL_ACCOUNTS), refresh=True)
    assert fake.started() == FAST_RETRY.attempt


def test_missing_permissions_name_the_readme(fake):
    fake.fail_calls("AccessDeniedException", "User: arn:aws:iam::123456789012:user/app is not "
                    "authorized to perform: athena:StartQueryExecution", times=1)
    with pytest.raises(EngineError, match="refused access.*athena:StartQueryExecution.*README"):
        engine(fake).run(Query("timeline", WINDOW, scope=ALL_ACCOUNTS), refresh=True)
    assert fake.started() == 1  # not retried: waiting does not grant permissions


# --- the pages do not change with the engine ---------------------------------------------------

@pytest.mark.parametrize("page", [None, "pages/traffic.py"])  # None: Search, the start page
def test_switching_the_engine_changes_nothing_in_the_page(fake, monkeypatch, page):
    from apptest import app

    shown = {}
    for name in ("duckdb", "athena"):
        at = app(monkeypatch, fake.store_root, start=str(T0), end=str(T0 + 2 * 86400))
        monkeypatch.setenv("FLOWSCOPE_ENGINE", name)
        for key, value in fake.settings().__dict__.items():
            if key.startswith("athena_"):
                monkeypatch.setenv(f"FLOWSCOPE_{key.upper()}", str(value))
        at.run()
        if page:  # AppTest opens another page of an st.navigation app after a first run
            at.switch_page(page).run()
        assert not at.exception and not at.error
        shown[name] = ([frame.value.to_dict("records") for frame in at.dataframe],
                       [(m.label, m.value, m.delta) for m in at.metric],
                       [c.value for c in at.code])  # the SQL shown, per engine
    (duck_frames, duck_metrics, duck_sql), (athena_frames, athena_metrics, athena_sql) = (
        shown["duckdb"], shown["athena"])
    assert athena_frames == duck_frames and any(duck_frames)
    assert athena_metrics == duck_metrics
    assert len(athena_sql) == len(duck_sql) > 0
    assert all('"log_day" BETWEEN' in sql for sql in athena_sql)


# --- giving up stops the query; a throttled poll is retried ---------------------------------

def test_a_failed_poll_stops_the_query(fake):
    """Polling that fails past every retry: the query must not keep running (and billing)."""
    with fake.slow(polls=2):
        fake.fail_polls("ThrottlingException", "Rate exceeded", times=50)
        with pytest.raises(EngineError, match="stopped in Athena"):
            engine(fake).run(Query("search", WINDOW, scope=ALL_ACCOUNTS), refresh=True)
        stops = fake.calls["StopQueryExecution"]
        fake.reset()  # polls answer again: look at the query's state
    query_id = list(fake.executions)[-1]
    assert stops == 1
    assert state_in_athena(fake, query_id) == "CANCELLED"


def test_a_throttled_status_poll_is_retried_by_the_production_settings(fake):
    """The app's own retry settings (not the tests' fast ones): two throttled
    GetQueryExecution calls are waited out and the query's answer arrives."""
    fake.fail_polls("ThrottlingException", "Rate exceeded", times=2)
    production = AthenaEngine(fake.settings(), poll_interval=0.01)
    result = production.run(Query("timeline", WINDOW, scope=ALL_ACCOUNTS), refresh=True)
    assert result.rows() and fake.calls["GetQueryExecution"] >= 3
    assert fake.calls["StopQueryExecution"] == 0


# --- the late-delivery margin, through Athena ------------------------------------------------

def test_records_filed_in_the_next_days_folder_are_found():
    """A record started at 23:58 and delivered after midnight lies in the next day's folder:
    a range ending before midnight still reads that folder (late_margin_s)."""
    fake = shared_fake()
    window = parse_filters({"start": str(T0 + 86400 - 600), "end": str(T0 + 86400 - 60)})
    query = Query("search", window, scope=Scope(frozenset({ACCOUNT_B})))
    found = engine(fake).run(query, refresh=True)
    assert [r["dstaddr"] for r in found.rows()] == ["172.16.9.9"]
    assert "BETWEEN '2026/09/21' AND '2026/09/22'" in found.sql
    blind = engine(fake, late_margin_s=0).run(query, refresh=True)
    assert blind.rows() == []  # what a margin-less partition choice would miss
