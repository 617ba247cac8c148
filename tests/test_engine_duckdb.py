"""The embedded engine on hand-made stores: answers counted by hand."""

import pytest
from storefixture import ACCOUNT_A, ACCOUNT_B, T0, V5_FORMAT, record, write_object

from lib.engines.duckdb_engine import DuckDBEngine
from lib.filters import parse_filters
from lib.query import ALL_ACCOUNTS, Query, Scope


@pytest.fixture
def store(tmp_path):
    write_object(tmp_path, [
        record("10.0.0.5", "10.0.1.9", 40001, 443, start=T0 + 100, bytes_=5_000_000_000),
        record("10.0.1.9", "10.0.0.5", 443, 40001, start=T0 + 100, bytes_=2000),
        record("198.51.100.7", "10.0.0.5", 51515, 22, start=T0 + 200, action="REJECT"),
        record(None, None, None, None, proto=None, start=T0 + 300, packets=None, bytes_=None,
               action=None, status="NODATA"),
    ])
    # A record just before midnight, delivered after it: it sits in the next day's folder.
    write_object(tmp_path, [record("10.0.0.5", "10.0.1.9", 40002, 443, start=T0 + 86400 - 120)])
    write_object(tmp_path, [
        record("2001:db8::10", "2001:db8:0:1::20", 50000, 443, start=T0 + 400, version=5,
               region="eu-west-1", flow_direction="egress", tcp_flags=2),
    ], account=ACCOUNT_B, region="eu-west-1", flow_log="fl-0fedcba9876543210", fmt=V5_FORMAT)
    return tmp_path


def run(store, scope=ALL_ACCOUNTS, kind="search", **raw):
    raw.setdefault("start", str(T0))
    raw.setdefault("end", str(T0 + 2 * 86400))
    return DuckDBEngine(str(store)).run(Query(kind, parse_filters(raw), scope=scope))


def test_search_returns_every_record_newest_first(store):
    rows = run(store).records()
    assert [r["start"] for r in rows] == sorted((r["start"] for r in rows), reverse=True)
    assert len(rows) == 6
    assert rows[0]["start"] == T0 + 86400 - 120  # found in the next day's folder


def test_types_are_kept(store):
    rows = run(store, dst="10.0.1.9", dst_port="443").records()
    big = [r for r in rows if r["srcport"] == 40001][0]
    assert big["bytes"] == 5_000_000_000
    assert big["account-id"] == ACCOUNT_A and big["log_account"] == ACCOUNT_A


def test_time_range_is_half_open(store):
    rows = run(store, start=str(T0 + 100), end=str(T0 + 200)).records()
    assert {r["start"] for r in rows} == {T0 + 100}


def test_ipv4_cidr_and_ports(store):
    rows = run(store, src="10.0.0.0/24", dst_port="400-500,22").records()
    assert {(r["srcaddr"], r["dstport"]) for r in rows} == {("10.0.0.5", 443)}


def test_ipv6_cidr(store):
    rows = run(store, dst="2001:db8::/48").records()
    assert [r["dstaddr"] for r in rows] == ["2001:db8:0:1::20"]
    assert rows[0]["flow-direction"] == "egress" and rows[0]["tcp-flags"] == 2


def test_region_and_account_filters_use_the_folder(store):
    assert {r["log_region"] for r in run(store, region="eu-west-1").records()} == {"eu-west-1"}
    assert {r["log_account"] for r in run(store, account=ACCOUNT_B).records()} == {ACCOUNT_B}


def test_scope_limits_every_query(store):
    scope = Scope(frozenset({ACCOUNT_B}))
    assert {r["log_account"] for r in run(store, scope=scope).records()} == {ACCOUNT_B}
    # Asking for an account outside the scope returns nothing from it.
    assert run(store, scope=scope, account=ACCOUNT_A).records() == []


def test_action_filter(store):
    rows = run(store, action="REJECT").records()
    assert [r["srcaddr"] for r in rows] == ["198.51.100.7"]


def test_top_talkers_by_bytes(store):
    result = run(store, kind="top-talkers")
    rows = result.rows()
    assert rows[0] == {"srcaddr": "10.0.0.5", "dstaddr": "10.0.1.9", "bytes": 5_000_001_000,
                       "packets": 20, "flows": 2}
    assert all(r["srcaddr"] is not None for r in rows)


def test_timeline_buckets(store):
    rows = DuckDBEngine(str(store)).run(Query(
        "timeline", parse_filters({"start": str(T0), "end": str(T0 + 3600)}), bucket=300, scope=ALL_ACCOUNTS)).rows()
    assert {(r["bucket_start"], r["action"]): r["flows"] for r in rows} == {
        (T0, "ACCEPT"): 2, (T0 + 300, "ACCEPT"): 1, (T0, "REJECT"): 1}


def test_corrupt_object_is_skipped_and_named(store):
    bad = write_object(store, [record("10.9.9.9", "10.0.0.5", 1, 2, start=T0 + 500)],
                       flow_log="fl-0bad0000000000000")
    bad.write_bytes(bad.read_bytes()[:20])
    result = run(store)
    assert len(result.records()) == 6
    assert any(bad.name in s for s in result.skipped)


def test_only_overlapping_day_folders_are_read(store):
    engine = DuckDBEngine(str(store))
    query = Query("search", parse_filters({"start": str(T0 + 3 * 86400),
                                           "end": str(T0 + 4 * 86400)}), scope=ALL_ACCOUNTS)
    assert engine.objects(query) == []
    assert engine.run(query).records() == []
