"""Design review (issue 20), "Scope required": a query cannot be made without an account
scope, and ``gui.run_query`` takes the scope from the signed-in session itself, so a page that
forgets it (or hands over a wider one) fails closed: an error or nothing, never every
account. Security review point 5: one user's concurrent queries are bounded."""

from __future__ import annotations

import threading
import time

import pytest
import streamlit as st
from authkit import ACCOUNT_C, write_store
from storefixture import ACCOUNT_A, ACCOUNT_B, T0
from streamlit.testing.v1 import AppTest

from lib import auth, gui
from lib.access import Grant
from lib.filters import parse_filters
from lib.query import ALL_ACCOUNTS, Query, QueryError, Scope

WINDOW = {"start": str(T0), "end": str(T0 + 3600)}
SOURCES = {ACCOUNT_A: "10.1.0.5", ACCOUNT_B: "10.2.0.5", ACCOUNT_C: "10.3.0.5"}


def test_a_query_cannot_be_made_without_a_scope():
    filters = parse_filters(WINDOW)
    with pytest.raises(TypeError, match="scope"):
        Query("search", filters)  # no default of every account
    with pytest.raises(QueryError, match="scope"):
        Query("search", filters, scope=None)
    with pytest.raises(QueryError, match="scope"):
        Query("search", filters, scope=frozenset({ACCOUNT_A}))
    assert Query("search", filters, scope=ALL_ACCOUNTS).accounts is None  # explicit: fine


def test_narrowing_never_widens():
    a, ab = Scope(frozenset({ACCOUNT_A})), Scope(frozenset({ACCOUNT_A, ACCOUNT_B}))
    assert a.narrowed_to(ALL_ACCOUNTS) == a and ALL_ACCOUNTS.narrowed_to(a) == a
    assert ab.narrowed_to(Scope(frozenset({ACCOUNT_B, ACCOUNT_C}))) == Scope(frozenset({ACCOUNT_B}))
    assert Scope(frozenset()).narrowed_to(ALL_ACCOUNTS) == Scope(frozenset())


# --- pages that get the scope wrong ------------------------------------------------------------

def page_with_all_accounts(start: str, end: str) -> None:
    """A page that passes the command line's every-account scope instead of the user's."""
    import streamlit as st

    from lib import gui
    from lib.filters import parse_filters
    from lib.query import ALL_ACCOUNTS, Query

    result = gui.run_query(Query("search", parse_filters({"start": start, "end": end}),
                           scope=ALL_ACCOUNTS))
    if result is not None:
        st.dataframe({"srcaddr": [r["srcaddr"] for r in result.rows()]})


def page_without_a_scope(start: str, end: str) -> None:
    """A page that forgot the scope altogether."""
    import streamlit as st

    from lib import gui
    from lib.filters import parse_filters
    from lib.query import Query

    result = gui.run_query(Query("search", parse_filters({"start": start, "end": end})))
    st.dataframe({"srcaddr": [r["srcaddr"] for r in result.rows()]})


@pytest.fixture
def store(tmp_path, monkeypatch):
    root = write_store(tmp_path / "store")
    monkeypatch.setenv("FLOWSCOPE_DATA_DIR", str(root))
    monkeypatch.setenv("FLOWSCOPE_ENGINE", "duckdb")
    monkeypatch.setenv("FLOWSCOPE_AUTH_MODE", "none")
    monkeypatch.setenv("FLOWSCOPE_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("FLOWSCOPE_AUDIT_FILE", str(tmp_path / "audit.jsonl"))
    st.cache_data.clear()
    st.cache_resource.clear()
    return root


def signed_in(page, scope: Scope | None, name: str = "bob") -> AppTest:
    """The page run as a user who passed the gate with `scope` (None: no scope in the
    session, as on a page run without the gate)."""
    at = AppTest.from_function(page, kwargs=WINDOW, default_timeout=30)
    at.session_state[auth.USER_KEY] = auth.User(name, name, (), "password",
                                                Grant(scope or Scope(frozenset())))
    if scope is not None:
        at.session_state["scope"] = scope
    return at.run()


def shown(at) -> set[str]:
    return set(at.dataframe[0].value["srcaddr"]) if at.dataframe else set()


def test_a_page_passing_every_account_still_sees_only_the_session_scope(store):
    at = signed_in(page_with_all_accounts, Scope(frozenset({ACCOUNT_A})))
    assert not at.exception
    assert shown(at) == {SOURCES[ACCOUNT_A]}


def test_the_same_page_for_an_unrestricted_session_sees_everything(store):
    """The control: the store does hold the other accounts' records."""
    at = signed_in(page_with_all_accounts, ALL_ACCOUNTS, name="alice")
    assert shown(at) == set(SOURCES.values())


def test_a_session_without_a_scope_sees_nothing(store):
    at = signed_in(page_with_all_accounts, None)
    assert not at.exception
    assert shown(at) == set()


@pytest.fixture
def error_details():
    """The exception's own message (.streamlit/config.toml redacts it for visitors)."""
    from streamlit import config

    before = config.get_option("client.showErrorDetails")
    config.set_option("client.showErrorDetails", "full")
    yield
    config.set_option("client.showErrorDetails", before)


def test_a_page_that_omits_the_scope_fails_closed(store, error_details):
    at = signed_in(page_without_a_scope, Scope(frozenset({ACCOUNT_A})))
    assert at.exception  # the page stops at its own mistake
    assert "scope" in at.exception[0].value
    assert not at.dataframe  # and shows no record at all


# --- concurrent queries per user -------------------------------------------------------------

def test_user_slots_bound_each_user_separately():
    slots = gui.UserSlots()
    with slots.take("alice", 2), slots.take("alice", 2):
        with pytest.raises(gui.TooManyQueries, match="max_concurrent_queries_per_user"), \
                slots.take("alice", 2):
            pass
        with slots.take("bob", 2):  # another user is not held up
            assert slots.running("bob") == 1
        assert slots.running("alice") == 2
    assert slots.running("alice") == 0
    with slots.take("alice", 2):  # freed again
        pass
    with slots.take("carol", 0), slots.take("carol", 0), slots.take("carol", 0):
        assert slots.running("carol") == 3  # 0: no limit


def test_user_slots_hold_under_real_concurrency():
    """Eight threads of one user at once, limit 2: exactly two run, six are refused."""
    slots, limit = gui.UserSlots(), 2
    start, release = threading.Barrier(8), threading.Event()
    outcome, lock = [], threading.Lock()

    def worker():
        start.wait()
        try:
            with slots.take("alice", limit):
                with lock:
                    outcome.append("ran")
                release.wait(5)
        except gui.TooManyQueries:
            with lock:
                outcome.append("refused")

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for _ in range(500):  # until the six refusals are in (the two runners are waiting)
        with lock:
            if outcome.count("refused") == 6:
                break
        time.sleep(0.01)
    release.set()
    for thread in threads:
        thread.join(5)
    assert sorted(outcome) == ["ran"] * 2 + ["refused"] * 6
    assert slots.running("alice") == 0


def test_a_page_over_the_limit_says_so_and_runs_nothing(store, monkeypatch):
    monkeypatch.setenv("FLOWSCOPE_MAX_CONCURRENT_QUERIES_PER_USER", "2")
    scope = Scope(frozenset({ACCOUNT_A}))
    with gui.QUERY_SLOTS.take("bob", 2), gui.QUERY_SLOTS.take("bob", 2):  # two other tabs
        busy = signed_in(page_with_all_accounts, scope)
        other_user = signed_in(page_with_all_accounts, scope, name="dave")
    assert not busy.exception and not busy.dataframe
    assert "max_concurrent_queries_per_user" in busy.warning[0].value
    assert shown(other_user) == {SOURCES[ACCOUNT_A]}
    assert shown(signed_in(page_with_all_accounts, scope)) == {SOURCES[ACCOUNT_A]}  # freed
