"""Faults: Athena failing, throttling, running too long or being cancelled, as the Search page
meets them (AppTest, FLOWSCOPE_ENGINE=athena against the local fake in tests/fake_athena.py).

Each fault must end as one clear message on the page (no traceback), and the app must stay
usable: the next run in the same process, with the same engine and connection (Streamlit's
resource cache is kept), shows the records.
"""

from __future__ import annotations

import functools
import threading
import time

import boto3
import pytest
import streamlit as st
from apptest import ROOT
from fake_athena import shared_fake
from pyathena.util import RetryConfig
from storefixture import T0
from streamlit.testing.v1 import AppTest

from lib.engines.athena import AthenaEngine

WINDOW = {"start": str(T0), "end": str(T0 + 2 * 86400)}
# The app's own back-off waits seconds between throttled calls; the same logic, shorter.
FAST = {"poll_interval": 0.05, "retry": RetryConfig(
    exceptions=("ThrottlingException", "TooManyRequestsException"), attempt=3,
    multiplier=0.01, max_delay=0.05), "sdk_attempts": 1}


@pytest.fixture(scope="module")
def fake():
    return shared_fake()


@pytest.fixture
def athena_app(fake, monkeypatch):
    """A factory of fresh AppTests of app.py on the Athena engine; caches cleared once, at
    the start, so later AppTests in the test share the engine (and its connection)."""
    fake.use_in_app(monkeypatch, {
        "FLOWSCOPE_ENGINE": "athena", "FLOWSCOPE_AUTH_MODE": "none",
        "FLOWSCOPE_DATA_DIR": str(fake.store_root), "FLOWSCOPE_CONFIG": "/nonexistent",
        "FLOWSCOPE_ATHENA_CACHE_TTL_S": "0", "FLOWSCOPE_ATHENA_RESULT_REUSE_MINUTES": "0",
        "FLOWSCOPE_AUDIT_FILE": "/dev/null"})
    monkeypatch.setattr(AthenaEngine, "__init__",
                        functools.partialmethod(AthenaEngine.__init__, **FAST))
    fake.reset()
    st.cache_data.clear()
    st.cache_resource.clear()

    def make(**state) -> AppTest:
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
        for key, value in {**WINDOW, **state}.items():
            at.session_state[key] = value
        return at

    yield make
    st.cache_resource.clear()


def errors(at) -> list[str]:
    return [e.value for e in at.error]


def assert_usable(athena_app) -> None:
    """The next run answers: the records are shown, no error."""
    at = athena_app().run()
    assert not at.exception and not errors(at), errors(at)
    assert len(at.dataframe[0].value) > 0


def assert_one_clear_message(at, words: str) -> None:
    assert not at.exception, at.exception  # no traceback on the page
    shown = errors(at)
    assert len(shown) == 1 and words in shown[0], shown
    assert not at.dataframe  # no records were shown


def test_a_failed_query_shows_athenas_reason_and_the_app_stays_usable(fake, athena_app):
    reason = "HIVE_BAD_DATA: Error parsing field value '-x' for field 8: For input string"
    fake.fail_next_query(reason)
    at = athena_app().run()
    assert_one_clear_message(at, f"Athena could not run the query: {reason}")
    assert_usable(athena_app)


def test_a_throttled_start_is_retried_and_answers(fake, athena_app):
    fake.fail_calls("TooManyRequestsException", "Rate exceeded", times=2)
    assert_usable(athena_app)
    assert fake.started() == 3


def test_throttling_that_persists_becomes_a_clear_message(fake, athena_app):
    fake.fail_calls("ThrottlingException", "Rate exceeded", times=FAST["retry"].attempt)
    at = athena_app().run()
    assert_one_clear_message(at, "Athena is throttling requests (ThrottlingException")
    assert "Wait a minute" in errors(at)[0]
    assert_usable(athena_app)


def test_a_query_slower_than_the_timeout_is_cancelled(fake, athena_app, monkeypatch):
    monkeypatch.setenv("FLOWSCOPE_ATHENA_TIMEOUT_S", "1")
    with fake.slow(polls=10 ** 6):
        at = athena_app().run()
    assert_one_clear_message(at, "took longer than 1 s and was cancelled")
    assert fake.calls["StopQueryExecution"] == 1
    query_id = list(fake.executions)[-1]
    assert state_in_athena(fake, query_id) == "CANCELLED"  # no longer costs money
    assert_usable(athena_app)


def test_a_query_cancelled_in_athena_says_so(fake, athena_app):
    """Someone (or a workgroup limit) stops the query in Athena while the page waits."""
    stopper = threading.Thread(target=cancel_next_query, args=(fake, set(fake.executions)),
                               daemon=True)
    with fake.slow(polls=200):
        stopper.start()
        at = athena_app().run()
    stopper.join(10)
    assert_one_clear_message(at, "The query was cancelled in Athena before it finished.")
    assert_usable(athena_app)


# --- helpers ---------------------------------------------------------------------------------

def athena_client(fake):
    return boto3.client("athena", region_name=fake.region, endpoint_url=fake.endpoint)


def state_in_athena(fake, query_id: str) -> str:
    return athena_client(fake).get_query_execution(QueryExecutionId=query_id)[
        "QueryExecution"]["Status"]["State"]


def cancel_next_query(fake, before: set[str], timeout_s: float = 30) -> None:
    """Stop the first query started after `before` was taken, as the console would."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        started = [q for q in list(fake.executions) if q not in before]
        if started:
            athena_client(fake).stop_query_execution(QueryExecutionId=started[0])
            return
        time.sleep(0.02)
