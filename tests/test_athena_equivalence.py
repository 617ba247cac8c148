"""The same queries on both engines give the same answers.

Every query kind in lib.query.KIND_BUILDERS (the registry, so kinds added later are covered)
runs with a set of filters on the embedded DuckDB engine and on the Athena engine, the
latter through the real pyathena cursor against a local moto server that executes the
Athena SQL on the same files (tests/fake_athena.py). Rows, column names and types must match.
"""

import pytest
from fake_athena import shared_fake
from storefixture import ACCOUNT_A, ACCOUNT_B, T0

from lib.engines.athena import AthenaEngine, delivery_days
from lib.engines.duckdb_engine import DuckDBEngine
from lib.filters import parse_filters
from lib.query import ALL_ACCOUNTS, KIND_BUILDERS, Query, Scope

WINDOW = {"start": str(T0), "end": str(T0 + 2 * 86400)}
ONLY_B = Scope(frozenset({ACCOUNT_B}))

# (name, raw filters, scope): run with every kind.
FILTER_SETS = [
    ("everything", {}, ALL_ACCOUNTS),
    ("ipv4-cidr-port-list", {"src": "10.0.0.0/16", "dst_port": "443,22,53"}, ALL_ACCOUNTS),
    ("ipv6-cidr", {"dst": "2001:db8::/32", "protocol": "tcp"}, ALL_ACCOUNTS),
    ("rejects-port-range", {"action": "REJECT", "dst_port": "1-1024"}, ALL_ACCOUNTS),
    ("scope-b", {}, ONLY_B),
]
# More filters, on the kind that returns every matching record.
SEARCH_SETS = [
    ("ipv6-address", {"src": "2001:db8::10"}, ALL_ACCOUNTS),
    ("ipv4-address", {"dst": "10.0.1.9", "protocol": "icmp,tcp"}, ALL_ACCOUNTS),
    ("udp-accept", {"protocol": "udp", "action": "ACCEPT"}, ALL_ACCOUNTS),
    ("src-port-range", {"src_port": "40000-40003,443"}, ALL_ACCOUNTS),
    ("account-and-regions", {"account": ACCOUNT_A, "region": "eu-west-1,ap-northeast-1"},
     ALL_ACCOUNTS),
    ("scope-without-asked-account", {"account": ACCOUNT_A}, ONLY_B),
    ("interface", {"eni": "eni-0a1b2c3d4e5f60003"}, ALL_ACCOUNTS),
    ("across-midnight", {"start": str(T0 + 86400 - 600), "end": str(T0 + 86400 + 600)},
     ALL_ACCOUNTS),
]
# Options of kinds that have them.
OPTION_CASES = [
    ("top-talkers", {"group": "src", "measure": "packets"}),
    ("top-talkers", {"group": "dst", "measure": "flows", "top": 3}),
    ("timeline", {"bucket": 3600}),
    ("search", {"limit": 5}),
    ("search", {"gap_records": False}),
]

CASES = ([pytest.param(kind, raw, scope, {}, id=f"{kind}-{name}")
          for kind in KIND_BUILDERS for name, raw, scope in FILTER_SETS]
         + [pytest.param("search", raw, scope, {}, id=f"search-{name}")
            for name, raw, scope in SEARCH_SETS]
         + [pytest.param(kind, {}, ALL_ACCOUNTS, options, id=f"{kind}-{options}")
            for kind, options in OPTION_CASES])


@pytest.fixture(scope="module")
def fake():
    return shared_fake()


@pytest.fixture(scope="module")
def engines(fake):
    """One engine of each kind for the module (the store is only read): connections, headers
    and clients are made once."""
    with pytest.MonkeyPatch.context() as monkeypatch:
        for key, value in fake.environment_variables().items():
            monkeypatch.setenv(key, value)
        fake.reset()
        yield (DuckDBEngine(str(fake.store_root)),
               AthenaEngine(fake.settings(), poll_interval=0.01))


@pytest.mark.parametrize("kind,raw,scope,options", CASES)
def test_both_engines_give_the_same_answer(engines, fake, kind, raw, scope, options):
    duck, athena = engines
    query = Query(kind, parse_filters({**WINDOW, **raw}), scope=scope, **options)
    expected = duck.run(query)
    got = athena.run(query)
    assert got.table.column_names == expected.table.column_names
    assert got.rows() == expected.rows()
    assert [f.type for f in got.table.schema] == [f.type for f in expected.table.schema]
    # What Athena received is what the engine shows, partition predicates included.
    execution = fake.executions[got.query_id]
    assert execution.sql == got.sql and '"log_day" BETWEEN' in got.sql
    if not raw and scope is ALL_ACCOUNTS:  # the store has something for every kind
        assert expected.rows(), f"extend tests/fake_athena.build_store so {kind} finds rows"


def test_partition_predicates_reduce_the_data_scanned(engines, fake):
    _, athena = engines
    # refresh: no Athena result reuse (a reused result scans nothing)
    whole = athena.run(Query("search", parse_filters(WINDOW), scope=ALL_ACCOUNTS), refresh=True)
    one_account_one_day = athena.run(Query("search", parse_filters(
        {"start": str(T0 + 86400), "end": str(T0 + 86400 + 3600), "account": ACCOUNT_B,
         "region": "us-east-1"}), scope=ALL_ACCOUNTS), refresh=True)
    assert 0 < one_account_one_day.scanned_bytes < whole.scanned_bytes / 3
    assert whole.scanned_bytes == sum(p.stat().st_size
                                      for p in fake.store_root.rglob("*.log.gz"))


def test_parquet_layout_predicates_select_the_same_days(fake, engines):
    """The Hive-style year/month/day terms pick the same partitions as log_day."""
    query = Query("search", parse_filters({"start": str(T0 + 86400 - 600),
                                           "end": str(T0 + 86400 + 600)}), scope=ALL_ACCOUNTS)
    text = AthenaEngine(fake.settings(), poll_interval=0.01).run(query, refresh=True)
    parquet = AthenaEngine(fake.settings(athena_layout="parquet"), poll_interval=0.01
                           ).run(query, refresh=True)
    assert '"year" = ' in parquet.sql and '"day" IN (' in parquet.sql
    assert parquet.rows() == text.rows() and parquet.rows()
    # The same day folders: every object of those days, in each layout's own files.
    days = {f"{d:%Y/%m/%d}" for d in delivery_days(query.filters.start, query.filters.end, 3600)}
    assert text.scanned_bytes == sum(
        p.stat().st_size for p in fake.store_root.rglob("*.log.gz")
        if "/".join(p.parts[-4:-1]) in days)
    parquet_files = fake.files(fake.tables[(fake.database, fake.parquet_table)])
    assert parquet.scanned_bytes == sum(
        f.size for f in parquet_files
        if f"{f.values['year']}/{f.values['month']}/{f.values['day']}" in days) > 0
