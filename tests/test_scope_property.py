"""Account scope as a property: whatever filters or URL a user sends, no row from an account
outside their scope comes back, on both engines and in the Records page's store browsing.

Three checks per random query:
- rows that name their account (``log_account``) name only accounts in scope;
- every ``bytes`` value decomposes into per-account parts (each account's records carry a
  different power of 1000 as their byte count), and the parts of other accounts are zero;
- the scoped query returns exactly what the unscoped query returns when its account filter
  is cut down to the scope by hand (so the scope hides nothing it should show, either).
"""

from __future__ import annotations

from dataclasses import replace

import pytest
from apptest import ROOT, app
from authkit import ACCOUNT_C, ACCOUNTS, WINDOW, shown_sources, write_access, write_store
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from storefixture import ACCOUNT_A, ACCOUNT_B, T0, record, write_object

from lib import objects
from lib.config import Settings
from lib.engines.duckdb_engine import DuckDBEngine
from lib.filters import InvalidFilters, parse_filters
from lib.query import ALL_ACCOUNTS, KIND_BUILDERS, Query, Scope

STRANGER = "999999999999"  # an account nobody stores
WEIGHT = {ACCOUNT_A: 1, ACCOUNT_B: 1000, ACCOUNT_C: 1_000_000}
REGIONS = ("us-east-1", "eu-west-1")
PROPERTY = settings(max_examples=40, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture,
                                           HealthCheck.too_slow])


def weighted_store(root):
    """Per account and region: a handful of records on both sides of several filters, each
    with the account's weight as its byte count (under 1000 records per account)."""
    for index, account in enumerate(ACCOUNTS, start=1):
        for region in REGIONS:
            records = [record(f"10.{index}.0.{n}", f"10.9.{n % 2}.{index}", 40000 + n,
                              (443, 22, 53)[n % 3], proto=(6, 17)[n % 2],
                              start=T0 + 600 * n + index, account=account,
                              action=("ACCEPT", "REJECT")[n % 2], bytes_=WEIGHT[account])
                       for n in range(6)]
            write_object(root, records, account=account, region=region)
    return root


@pytest.fixture(scope="module")
def weighted(tmp_path_factory):
    return weighted_store(tmp_path_factory.mktemp("scope-store"))


@pytest.fixture(scope="module")
def duck(weighted):
    return DuckDBEngine(str(weighted))


def one_of(*values):
    return st.sampled_from(values)


ACCOUNT_CHOICES = ACCOUNTS + (STRANGER,)
scopes = st.one_of(st.just(ALL_ACCOUNTS),
                   st.frozensets(st.sampled_from(ACCOUNT_CHOICES)).map(Scope))
# Raw values as a URL or the sidebar carries them (comma-separated text), not typed objects.
raw_filters = st.fixed_dictionaries({
    "start": st.integers(-1200, 3600).map(lambda d: str(T0 + d)),
    "end": st.integers(600, 4 * 3600).map(lambda d: str(T0 + d)),
    "account": st.lists(st.sampled_from(ACCOUNT_CHOICES), max_size=3).map(",".join),
    "region": one_of("", *REGIONS, ",".join(REGIONS), "ap-northeast-1"),
    "src": one_of("", "10.1.0.0/16", "10.2.0.3", "10.0.0.0/8", "0.0.0.0/0", "2001:db8::/32"),
    "dst": one_of("", "10.9.0.0/24", "10.9.1.3", "10.9.0.0/16"),
    "dst_port": one_of("", "443", "1-1024", "22,53", "8080"),
    "protocol": one_of("", "tcp", "udp", "6,17"),
    "action": one_of("", "ACCEPT", "REJECT"),
})
kinds = st.sampled_from(sorted(KIND_BUILDERS))


def _query(kind, raw, scope) -> Query:
    try:
        filters = parse_filters(raw)
    except InvalidFilters:
        assume(False)  # e.g. an end before the start: nothing runs at all
    return Query(kind, filters, scope=scope)


def _unscoped_equivalent(query: Query) -> Query:
    """The same query without a scope, its account filter cut to the scope by hand."""
    accounts = query.accounts
    if accounts is None:
        return replace(query, scope=ALL_ACCOUNTS)
    return replace(query, scope=ALL_ACCOUNTS,
                   filters=query.filters.with_(accounts=tuple(accounts) or (STRANGER,)))


def assert_nothing_outside(result, scope: Scope) -> None:
    rows = result.rows()
    for row in rows:
        if "log_account" in row:
            assert scope.allows(row["log_account"]), row
        if isinstance(row.get("bytes"), int):
            for account, weight in WEIGHT.items():
                part = row["bytes"] // weight % 1000
                assert part == 0 or scope.allows(account), (account, row)


@PROPERTY
@given(kind=kinds, raw=raw_filters, scope=scopes)
def test_duckdb_returns_nothing_outside_the_scope(duck, kind, raw, scope):
    engine = duck
    query = _query(kind, raw, scope)
    result = engine.run(query)
    assert_nothing_outside(result, scope)
    assert result.rows() == engine.run(_unscoped_equivalent(query)).rows()


def test_the_weights_do_catch_a_leak(duck):
    """The check itself: an unscoped query over every account fails it."""
    result = duck.run(Query("summary", parse_filters(WINDOW), scope=ALL_ACCOUNTS))
    with pytest.raises(AssertionError):
        assert_nothing_outside(result, Scope(frozenset({ACCOUNT_A})))


# --- Athena, through the fake that executes its SQL (tests/fake_athena.py) ---------------

@pytest.fixture(scope="module")
def athena():
    from fake_athena import shared_fake

    from lib.engines.athena import AthenaEngine

    fake = shared_fake()
    with fake.environment():
        fake.reset()
        yield AthenaEngine(fake.settings(), poll_interval=0.01), DuckDBEngine(
            str(fake.store_root))


# Times 7 seconds past a minute: no other test's statement is the same text, so these
# never turn another test's first query on the shared fake into a reused result.
ATHENA_WINDOW = st.fixed_dictionaries({
    "start": st.integers(0, 1439).map(lambda m: str(T0 + 60 * m + 7)),
    "end": st.integers(1440, 2879).map(lambda m: str(T0 + 60 * m + 7)),
    "account": st.lists(st.sampled_from((ACCOUNT_A, ACCOUNT_B, STRANGER)), max_size=2
                        ).map(",".join),
    "dst_port": one_of("", "443", "1-1024"),
    "action": one_of("", "REJECT"),
})


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(kind=kinds, raw=ATHENA_WINDOW,
       scope=st.sampled_from([ALL_ACCOUNTS, Scope(frozenset()), Scope(frozenset({ACCOUNT_A})),
                              Scope(frozenset({ACCOUNT_B})), Scope(frozenset({STRANGER}))]))
def test_athena_returns_nothing_outside_the_scope(athena, kind, raw, scope):
    engine, duck = athena
    query = _query(kind, raw, scope)
    result = engine.run(query, refresh=True)
    for row in result.rows():
        assert "log_account" not in row or scope.allows(row["log_account"]), row
    assert result.rows() == duck.run(query).rows()  # the same as the embedded engine
    assert result.rows() == engine.run(_unscoped_equivalent(query), refresh=True).rows()


# --- the pages: a URL naming another account -------------------------------------------

def test_a_url_naming_another_account_shows_nothing_from_it(monkeypatch, tmp_path):
    access = write_access(tmp_path / "access.yaml", 'users:\n  local: ["012345678901"]\n')
    at = app(monkeypatch, write_store(tmp_path / "store"))
    monkeypatch.setenv("FLOWSCOPE_ACCESS_FILE", str(access))
    at.query_params.update({**WINDOW, "account": f"{ACCOUNT_B},{ACCOUNT_C}"})
    at.run()
    assert shown_sources(at) == set()
    assert any(ACCOUNT_B in w.value and ACCOUNT_C in w.value for w in at.warning)
    assert at.session_state["scope"] == Scope(frozenset({ACCOUNT_A}))


def test_a_page_run_without_the_gate_runs_no_query(monkeypatch, tmp_path):
    """A page script opened on its own (not through app.py) sees no account."""
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("FLOWSCOPE_DATA_DIR", str(write_store(tmp_path / "store")))
    page = AppTest.from_file(str(ROOT / "pages" / "search.py"), default_timeout=30)
    for key, value in WINDOW.items():
        page.session_state[key] = value
    page.run()
    assert not page.dataframe and any("Sign in first" in w.value for w in page.warning)


# --- the Records page's store browsing ---------------------------------------------------

@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(scope=scopes)
def test_store_browsing_lists_and_reads_only_accounts_in_scope(weighted, scope):
    everything = objects.open_store(Settings(data_dir=str(weighted)), ALL_ACCOUNTS)
    store = objects.open_store(Settings(data_dir=str(weighted)), scope)
    assert {f.account for f in store.accounts()} == {
        a for a in ACCOUNTS if scope.allows(a)}
    for folder in everything.accounts():
        region = everything.regions(folder)[0]
        day = everything.dates(region)[0]
        stored = everything.objects(day)[0]
        disguised = replace(stored, account=next(iter(scope.accounts or {ACCOUNT_A}),
                                                 ACCOUNT_A))
        if scope.allows(folder.account):
            assert store.read_page(stored).rows
            continue
        for call, argument in ((store.regions, folder), (store.dates, region),
                               (store.hours, day), (store.objects, day),
                               (store.read_page, stored), (store.read_page, disguised)):
            with pytest.raises(objects.OutOfScope):
                call(argument)
