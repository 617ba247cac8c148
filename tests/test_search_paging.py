"""Search pages on past its first page (issue 19, point 2): keyset on the search's whole
order, newest first. Pages put together are the unlimited search's rows: no duplicate, no
gap, ties on start (and on most other fields), records identical in every field and NULLs
in the tie-breakers included; the fake Athena gives the same pages as DuckDB."""

from dataclasses import replace

import pytest
from fake_athena import fake_over
from storefixture import ACCOUNT_B, T0, V5_FORMAT, record, write_object

from lib import columnar
from lib.engines.athena import AthenaEngine
from lib.engines.duckdb_engine import DuckDBEngine
from lib.filters import parse_filters
from lib.query import (
    ALL_ACCOUNTS,
    MAX_LIMIT,
    SEARCH_KEY,
    Query,
    QueryError,
    SearchCursor,
    next_cursor,
    search_after,
    search_key,
)

WINDOW = {"start": str(T0), "end": str(T0 + 2 * 86400)}  # two day folders


def tied_records(start: int) -> list[dict]:
    """Records sharing one start: most differ only far down the order."""
    return [
        record("10.0.0.5", "10.0.1.9", 40001, 443, start=start),
        record("10.0.0.5", "10.0.1.9", 40001, 443, start=start, bytes_=2000),  # bytes only
        record("10.0.0.5", "10.0.1.9", 40001, 443, start=start, packets=11),
        record("10.0.0.5", "10.0.1.9", 40002, 443, start=start),
        record("10.0.1.9", "10.0.0.5", 443, 40001, start=start, eni="eni-0a1b2c3d4e5f60002"),
        record("10.0.0.5", "10.0.1.9", 40001, 443, start=start, action="REJECT"),
        record(None, None, None, None, proto=None, start=start, packets=None, bytes_=None,
               action=None, status="NODATA"),  # NULL in most of the key
    ]


def write_store(root):
    """About 80 records in 5 starts; some identical (two objects hold the same ones); a v5
    object whose records differ from the v2 ones only in fields after SEARCH_ORDER."""
    records = [r for n in range(5) for r in tied_records(T0 + 60 * n)]
    write_object(root, records)
    write_object(root, records[:10], flow_log="fl-0duplicate00000001")  # identical records
    write_object(root, [record("10.0.0.5", "10.0.1.9", 40001, 443, start=T0 + 60 * n,
                               tcp_flags=flags, vpc_id="vpc-0a", region="us-east-1")
                        for n in range(5) for flags in (2, 18)], fmt=V5_FORMAT,
                 flow_log="fl-0v5format00000001")
    write_object(root, tied_records(T0 + 120), account=ACCOUNT_B, region="eu-west-1")
    write_object(root, tied_records(T0 + 86400 + 300))  # the next day's folder
    return root


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    return write_store(tmp_path_factory.mktemp("paging"))


def search(limit, after=None, gap_records=True):
    """A page as the Search page asks for it (its range cut at the cursor)."""
    return search_after(Query("search", parse_filters(WINDOW), scope=ALL_ACCOUNTS, limit=limit,
                              gap_records=gap_records), after)


def pages(engine, size, gap_records=True):
    """Every page of `size` rows, in order, each one query after the previous page's cursor."""
    out, cursor = [], None
    while True:
        rows = engine.run(search(size, cursor, gap_records)).rows()
        if not rows:
            return out
        out.append(rows)
        cursor = next_cursor(rows, cursor)


def everything(engine, gap_records=True):
    return engine.run(search(MAX_LIMIT, gap_records=gap_records)).rows()


def test_the_store_has_ties_identical_records_and_nulls(store):
    rows = everything(DuckDBEngine(str(store)))
    keys = [search_key(r) for r in rows]
    assert len(rows) > 60
    assert len(set(keys)) < len(keys)  # tied on the whole cursor key
    assert len({tuple(r.values()) for r in rows}) < len(rows)  # identical records
    assert max(sum(1 for r in rows if r["start"] == s) for s in {r["start"] for r in rows}) > 10
    assert any(r["srcaddr"] is None for r in rows) and any(r["tcp_flags"] for r in rows)


@pytest.mark.parametrize("size", [1, 2, 3, 7, 10, 64])
def test_pages_together_are_the_unlimited_search(store, size):
    engine = DuckDBEngine(str(store))
    whole = everything(engine)
    got = pages(engine, size)
    assert [len(p) for p in got[:-1]] == [size] * (len(got) - 1)  # full pages until the last
    assert [row for page in got for row in page] == whole


def test_page_two_follows_page_one_without_gap_or_repeat(store):
    """The brief's case: page 1 + page 2 = the first 2 x N rows of an unlimited query."""
    engine, size = DuckDBEngine(str(store)), 9
    first = engine.run(search(size)).rows()
    second = engine.run(search(size, next_cursor(first))).rows()
    assert first + second == everything(engine)[:2 * size]


def test_pages_leave_out_gap_records_when_asked(store):
    engine = DuckDBEngine(str(store))
    whole = everything(engine, gap_records=False)
    assert whole and all(r["log_status"] != "NODATA" for r in whole)
    assert [r for page in pages(engine, 4, gap_records=False) for r in page] == whole


def test_pages_on_the_columnar_cache(store, tmp_path):
    cache = tmp_path / "columnar"
    columnar.build_cache(str(store), str(cache))
    cached = DuckDBEngine(str(store), columnar_dir=str(cache))
    assert [r for page in pages(cached, 6) for r in page] == everything(DuckDBEngine(str(store)))


@pytest.fixture(scope="module")
def fake(store):
    yield from fake_over(store)


@pytest.fixture(scope="module")
def athena(fake):
    with pytest.MonkeyPatch.context() as monkeypatch:
        for key, value in fake.environment_variables().items():
            monkeypatch.setenv(key, value)
        fake.reset()
        yield AthenaEngine(fake.settings(), poll_interval=0.01)


def test_athena_gives_the_same_pages(store, athena):
    duck, size = DuckDBEngine(str(store)), 8
    first = duck.run(search(size)).rows()
    assert athena.run(search(size)).rows() == first
    cursor = next_cursor(first)
    second = athena.run(search(size, cursor))
    assert second.rows() == duck.run(search(size, cursor)).rows()
    assert first + second.rows() == everything(duck)[:2 * size]
    assert " OFFSET " in second.sql  # the identical rows already shown are skipped in SQL


def test_a_later_page_reads_only_the_day_folders_that_can_hold_it(store, athena):
    """The range is cut after the cursor's start: a page of the first day's records scans
    that day's objects only, not the newer day's too (Athena bills what it scans)."""
    whole = everything(DuckDBEngine(str(store)))
    newest_day = sum(1 for r in whole if r["start"] >= T0 + 86400)
    cursor = next_cursor(whole[:newest_day + 1])  # a row of the first day
    query = search(10, cursor)
    assert query.filters.end == cursor.key[0] + 1
    first = athena.run(search(10), refresh=True)
    later = athena.run(query, refresh=True)
    assert later.rows() == whole[newest_day + 1:newest_day + 11]
    assert 0 < later.scanned_bytes < first.scanned_bytes


def test_the_cut_range_changes_no_row(store):
    engine = DuckDBEngine(str(store))
    uncut = Query("search", parse_filters(WINDOW), scope=ALL_ACCOUNTS, limit=MAX_LIMIT)
    for n in (1, 9, 30, 60):
        cursor = next_cursor(everything(engine)[:n])
        cut = search_after(uncut, cursor)
        assert cut.filters.end < uncut.filters.end
        assert engine.run(cut).rows() == engine.run(replace(uncut, after=cursor)).rows()


def test_athena_pages_through_rows_tied_on_the_whole_cursor_key(store, athena):
    """A page boundary between two rows equal on SEARCH_ORDER (the cursor's `shown` is 2)."""
    duck = DuckDBEngine(str(store))
    whole = everything(duck)
    cut = next(n for n in range(1, len(whole)) if search_key(whole[n - 1]) == search_key(
        whole[n]) and (n < 2 or search_key(whole[n - 2]) != search_key(whole[n - 1])))
    cursor = next_cursor(whole[:cut + 1])
    assert cursor.shown == 2
    assert athena.run(search(5, cursor)).rows() == whole[cut + 1:cut + 6]


# --- the cursor --------------------------------------------------------------------------

def test_next_cursor_counts_identical_rows_across_pages():
    row = {c: None for c in SEARCH_KEY} | {"start": T0, "srcaddr": "10.0.0.5"}
    other = row | {"srcaddr": "10.0.0.6"}
    assert next_cursor([]) is None
    first = next_cursor([other, row, row])
    assert first.key == search_key(row) and first.shown == 2
    assert next_cursor([row], first).shown == 3  # the same record again on the next page
    assert next_cursor([row, other], first).shown == 1


def cursor_of(**values):
    row = dict.fromkeys(SEARCH_KEY) | {"start": T0 + 60, "srcaddr": "10.0.0.5"} | values
    return SearchCursor(search_key(row))


@pytest.mark.parametrize("key, shown", [
    ((T0, True), 1),  # a bool is not a number
    ((T0, 1.5), 1),
    ([T0], 1),  # not a tuple
    ((T0,), 0),
    ((T0,), "1"),
])
def test_a_cursor_holds_only_typed_values(key, shown):
    with pytest.raises(QueryError):
        SearchCursor(key, shown)


@pytest.mark.parametrize("cursor", [
    SearchCursor((T0,)),  # too short
    cursor_of(start=str(T0)),  # text for a number
    cursor_of(srcaddr=5),  # a number for a text
])
def test_a_cursor_must_fit_the_search_key(store, cursor):
    with pytest.raises(QueryError):
        DuckDBEngine(str(store)).run(search(5, cursor))


def test_only_a_search_takes_a_cursor():
    with pytest.raises(QueryError):
        Query("summary", parse_filters(WINDOW), scope=ALL_ACCOUNTS, after=cursor_of())


def test_cursor_text_reaches_the_sql_only_as_a_literal(store):
    """A crafted value in a cursor is a value compared, never SQL."""
    crafted = cursor_of(srcaddr="x' OR '1'='1", log_account="1'; DROP TABLE flows; --")
    engine = DuckDBEngine(str(store))
    rows = engine.run(search(MAX_LIMIT, crafted)).rows()
    assert all(r["start"] <= T0 + 60 for r in rows)  # still the rows after the cursor
    assert "'x'' OR ''1''=''1'" in engine.sql(search(5, crafted))
