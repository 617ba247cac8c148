"""Rollups: used only when they answer a query exactly, and then the records' answer."""

import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlglot import exp
from storefixture import T0, record, write_object

from lib import columnar, rollups
from lib.engines.duckdb_engine import DuckDBEngine
from lib.filters import parse_filters
from lib.generator import generate
from lib.query import ALL_ACCOUNTS, KIND_BUILDERS, Query, col, lit, measures

END = T0 + 3 * 3600
START = END - 6 * 3600
GRAINS = (86400, 3600, 300)


@pytest.fixture(scope="module")
def cached_store(tmp_path_factory):
    store = tmp_path_factory.mktemp("store")
    generate(store, records=3000, days=0.25, seed=11, end=END)
    cache = tmp_path_factory.mktemp("cache")
    columnar.build_cache(str(store), cache)
    return store, cache


@pytest.fixture(scope="module")
def trio(cached_store):
    """The same store read raw, from the cached records, and with rollups (one engine each
    for the module, so raw objects are parsed once)."""
    store, cache = cached_store
    return (DuckDBEngine(str(store)),
            DuckDBEngine(str(store), columnar_dir=str(cache), rollups=False),
            DuckDBEngine(str(store), columnar_dir=str(cache)))


def query(kind="top-talkers", **raw):
    raw.setdefault("start", str(START))
    raw.setdefault("end", str(END))
    options = {k: raw.pop(k) for k in ("group", "bucket", "measure") if k in raw}
    return Query(kind, parse_filters(raw), **options, scope=ALL_ACCOUNTS)


def family(q):
    chosen = rollups.route(q)
    return chosen and chosen.rollup.name


@given(st.integers(0, 10**9), st.integers(1, 9 * 86400))
def test_pieces_cover_the_range_exactly(start, length):
    pieces = rollups.pieces(start, start + length, GRAINS)
    assert pieces[0][1] == start and pieces[-1][2] == start + length
    for (_, _, hi), (_, lo, _) in zip(pieces, pieces[1:], strict=False):
        assert hi == lo  # contiguous, no overlap
    for grain, lo, hi in pieces:
        assert lo < hi
        if grain is None:
            assert hi - lo < 300 or (lo % 300 and hi - lo < 600)
        else:
            assert lo % grain == 0 and hi % grain == 0


def test_routes_follow_the_columns_a_query_reads():
    assert family(query("top-talkers", group="pair")) == "pairs"
    assert family(query("top-talkers", group="src", measure="flows", dst="10.0.0.0/8")) == "pairs"
    assert family(query("top-talkers", dst_port="443")) is None  # no ports in "pairs"
    assert family(query("timeline")) == "actions"
    assert family(query("timeline", protocol="udp", action="REJECT")) == "actions"
    assert family(query("timeline", src="10.1.0.0/16")) == "pairs"
    assert family(query("timeline", eni="eni-0123456789abcdef0")) is None
    assert family(query("summary")) == "pairs"
    for kind in ("search", "check", "rejected-ports", "scans", "labels"):
        assert family(query(kind)) is None, kind


def test_grains_must_keep_buckets_whole():
    by_source = {"src": "10.0.0.0/8"}  # read from "pairs": days and 5 minutes
    assert rollups.route(query("timeline", bucket=86400, **by_source)).grains == (86400, 300)
    assert rollups.route(query("timeline", bucket=3600, **by_source)).grains == (300,)
    assert rollups.route(query("timeline", bucket=60, **by_source)) is None  # finer than a slot
    assert rollups.route(query("timeline", bucket=450)) is None  # 300 does not divide it


def _kind(monkeypatch, name, build):
    monkeypatch.setitem(KIND_BUILDERS, name, build)
    return name


def test_aggregates_that_sums_cannot_give_stay_on_records(monkeypatch):
    avg = _kind(monkeypatch, "t-avg", lambda q, s: s.select(exp.func("AVG", col("bytes"))))
    count_column = _kind(monkeypatch, "t-count", lambda q, s: s.select(
        exp.func("COUNT", col("srcaddr"))))
    first = _kind(monkeypatch, "t-first", lambda q, s: s.select(
        col("srcaddr"), exp.func("MIN", col("start"))).group_by(col("srcaddr")))
    doubled = _kind(monkeypatch, "t-doubled", lambda q, s: s.select(
        exp.func("SUM", exp.Mul(this=col("bytes"), expression=lit(2)))))
    rows = _kind(monkeypatch, "t-rows", lambda q, s: s.select(col("srcaddr")))
    late = _kind(monkeypatch, "t-late", lambda q, s: s.select(*measures()).where(
        col("start") >= lit(START + 10)))
    for kind in (avg, count_column, first, doubled, rows, late):
        assert family(query(kind)) is None, kind


def _weighted(q, s):
    """A kind another engineer might add: rejects per source, by SUM(CASE ...)."""
    rejected = exp.Case().when(col("action").eq(lit("REJECT")), lit(1)).else_(lit(0))
    return (s.select(col("srcaddr"), exp.cast(exp.func("SUM", rejected), "BIGINT").as_("rejects"),
                     exp.cast(exp.func("COUNT", exp.Distinct(expressions=[col("dstaddr")])),
                              "BIGINT").as_("peers"), *measures())
            .group_by(col("srcaddr")).order_by(exp.Ordered(this=col("srcaddr"), nulls_first=False)))


def _hours(q, s):
    hour = exp.IntDiv(this=exp.Mod(this=col("start"), expression=lit(86400)), expression=lit(3600))
    return (s.select(hour.as_("hour"), exp.cast(exp.func("COUNT", exp.Star()), "BIGINT").as_("n"),
                     exp.func("MAX", col("protocol")).as_("top_protocol"))
            .group_by(hour).order_by(exp.Ordered(this=col("hour"))))


def _aligned(q, s):
    return s.select(*measures()).where(col("start") >= lit(START + 3600))


def test_new_kinds_are_judged_by_their_sql_and_answer_the_same(monkeypatch, trio):
    _, records, rolled = trio
    weighted = _kind(monkeypatch, "t-weighted", _weighted)
    hours = _kind(monkeypatch, "t-hours", _hours)
    aligned = _kind(monkeypatch, "t-aligned", _aligned)
    assert family(query(weighted)) == "pairs"
    assert family(query(hours)) == "actions"
    assert family(query(aligned)) == "actions"
    for kind in (weighted, hours, aligned):
        for start, end in ((START, END), (START + 1234, END - 4321)):
            q = query(kind, start=str(start), end=str(end))
            assert rolled.route(q).startswith("rollup:")
            expected = records.run(q).table
            assert expected.num_rows and rolled.run(q).table.equals(expected), kind


ROUTED = [
    dict(kind="top-talkers", group="pair"),
    dict(kind="top-talkers", group="dst", measure="packets", src="10.0.0.0/8"),
    dict(kind="top-talkers", group="src", measure="flows", action="REJECT"),
    dict(kind="timeline", bucket=300),
    dict(kind="timeline", bucket=3600, action="REJECT", protocol="tcp"),
    dict(kind="timeline", bucket=300, dst="2600::/8"),
    dict(kind="summary"),
]


@pytest.mark.parametrize("shape", ROUTED, ids=lambda s: "-".join(map(str, s.values())))
def test_rollup_answers_equal_the_records(trio, shape):
    raw, records, rolled = trio
    ranges = [(START + 61, END - 7), (START + 3600, START + 3 * 3600), (START + 299, START + 301)]
    for start, end in ranges:
        q = query(**{**shape, "start": str(start), "end": str(end)})
        assert rolled.route(q).startswith("rollup:")
        expected = raw.run(q).table
        assert records.run(q).table.equals(expected)
        assert rolled.run(q).table.equals(expected), (shape, start, end)


def test_objects_newer_than_the_rollups_count(tmp_path):
    root, cache = tmp_path / "store", tmp_path / "cache"
    write_object(root, [record("10.0.0.1", "10.0.0.2", 1000, 443, start=T0 + 100, bytes_=10),
                        record("10.0.0.1", "10.0.0.2", 1001, 443, start=T0 + 7000, bytes_=20)])
    columnar.build_cache(str(root), cache)
    write_object(root, [record("10.0.0.1", "10.0.0.2", 1002, 443, start=T0 + 3700, bytes_=40)],
                 flow_log="fl-0ffffffffffffffff")
    engine = DuckDBEngine(str(root), columnar_dir=str(cache))
    q = query("top-talkers", start=str(T0), end=str(T0 + 86400))
    assert engine.route(q) == "rollup:pairs"
    assert engine.run(q).rows() == [{"srcaddr": "10.0.0.1", "dstaddr": "10.0.0.2", "bytes": 70,
                                     "packets": 30, "flows": 3}]


def test_rollup_tables_sum_to_their_records():
    records = pa.table({
        "log_account": ["012345678901"] * 4, "log_region": ["us-east-1"] * 4,
        "srcaddr": ["10.0.0.1", "10.0.0.1", "10.0.0.1", None],
        "dstaddr": ["10.0.0.2", "10.0.0.2", "10.0.0.2", None],
        "src_key": ["a", "a", "a", None], "dst_key": ["b", "b", "b", None],
        "action": ["ACCEPT", "ACCEPT", "ACCEPT", None], "protocol": [6, 6, 6, None],
        "start": [T0 + 10, T0 + 299, T0 + 300, T0 + 5], "bytes": [1, 2, 4, None],
        "packets": [1, 1, 1, None]}).cast(pa.schema([
            *[pa.field(n, pa.string()) for n in ("log_account", "log_region", "srcaddr",
                                                 "dstaddr", "src_key", "dst_key", "action")],
            pa.field("protocol", pa.int32()), pa.field("start", pa.int64()),
            pa.field("bytes", pa.int64()), pa.field("packets", pa.int64())]))
    tables = rollups.compute(records)
    five = tables["pairs-300"].to_pylist()
    assert [(r["start"], r["bytes"], r["rollup_flows"]) for r in five] == [
        (T0, 3, 2), (T0 + 300, 4, 1), (T0, None, 1)]  # NULL action last, like records
    day = tables["pairs-86400"].to_pylist()
    assert [(r["start"], r["bytes"], r["rollup_flows"]) for r in day] == [
        (T0, 7, 3), (T0, None, 1)]
    assert sum(r["rollup_flows"] for r in tables["actions-300"].to_pylist()) == 4
