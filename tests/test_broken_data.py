"""Broken data: a store with damaged objects still answers from its good data, and the
result (and the Search page) names what was skipped.

One store holds good objects in three formats (v2 default, the v5 custom order, a v8 order
with fields newer than the schema knows) in one account's day folder, next to a truncated gzip
object, a zero-byte object, binary garbage (with and without the gzip magic bytes) and an
object whose lines have too few or too many fields.
"""

from __future__ import annotations

import gzip
import random

import pytest
from apptest import app, errors
from storefixture import ACCOUNT_A, ACCOUNT_B, T0, V5_FORMAT, object_path, record, write_object

from lib.engines.duckdb_engine import DuckDBEngine
from lib.filters import parse_filters
from lib.generator import V8_FORMAT
from lib.query import ALL_ACCOUNTS, Query
from lib.schema import DEFAULT_FORMAT

WINDOW = {"start": str(T0), "end": str(T0 + 3600)}
DELIVERED = T0 + 1500  # every object in the same 5-minute slot and day folder
NEWER_FORMAT = (*V8_FORMAT, "resource-id", "encryption-status")  # unknown names pass through

GOOD_V2 = [record("10.0.0.5", "10.0.1.9", 40001, 443, start=T0 + 100, bytes_=1000),
           record("10.0.1.9", "10.0.0.5", 443, 40001, start=T0 + 160, bytes_=5000)]
GOOD_V5 = [record("10.0.2.7", "10.0.3.8", 50000, 5432, start=T0 + 200, bytes_=700,
                  tcp_flags=3, flow_direction="egress", traffic_path=1, type="IPv4")]
GOOD_NEWER = [record("198.51.100.7", "10.0.0.5", 51515, 22, start=T0 + 300, bytes_=40,
                     action="REJECT", account=ACCOUNT_B, reject_reason="BPA",
                     resource_id="vpc-0a1b2c3d", encryption_status=0)]
GOOD_IN_BAD_LINES = [record("10.0.4.4", "10.0.5.5", 33333, 80, start=T0 + 400, bytes_=10)]
GOOD_SOURCES = {"10.0.0.5", "10.0.1.9", "10.0.2.7", "198.51.100.7", "10.0.4.4"}


def put(root, name: str, data: bytes, account: str = ACCOUNT_A):
    path = object_path(root, account, "us-east-1", DELIVERED, f"fl-{name}", suffix="bad0")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def text_object(fmt, records, extra_lines=()) -> bytes:
    lines = [" ".join(fmt)]
    lines += [" ".join("-" if r.get(n) is None else str(r[n]) for n in fmt) for r in records]
    return gzip.compress(("\n".join([*lines, *extra_lines]) + "\n").encode(), mtime=0)


@pytest.fixture
def store(tmp_path):
    write_object(tmp_path, GOOD_V2, delivered=DELIVERED, flow_log="fl-0000000000000002")
    write_object(tmp_path, GOOD_V5, delivered=DELIVERED, flow_log="fl-0000000000000005",
                 fmt=V5_FORMAT)
    write_object(tmp_path, GOOD_NEWER, delivered=DELIVERED,
                 flow_log="fl-0000000000000009", fmt=NEWER_FORMAT)
    whole = text_object(DEFAULT_FORMAT, [record("10.9.9.9", "10.9.9.8", 1, 2, start=T0 + 50)
                                         for _ in range(200)])
    garbage = random.Random(7).randbytes(4096)
    bad = {
        "truncated": put(tmp_path, "000000000000000a", whole[: len(whole) // 2]),
        "empty": put(tmp_path, "000000000000000b", b""),
        "garbage": put(tmp_path, "000000000000000c", garbage),
        "gzip-garbage": put(tmp_path, "000000000000000d", b"\x1f\x8b\x08\x00" + garbage),
    }
    wrong_counts = text_object(DEFAULT_FORMAT, GOOD_IN_BAD_LINES, extra_lines=[
        "2 012345678901 eni-0a1b2c3d4e5f60001 10.0.6.6 10.0.7.7",  # too few fields
        "2 012345678901 eni-0a1b2c3d4e5f60001 10.0.6.6 10.0.7.7 1 2 6 1 1 "
        f"{T0 + 500} {T0 + 560} ACCEPT OK extra fields here",  # too many
    ])
    put(tmp_path, "000000000000000e", wrong_counts)
    return tmp_path, bad


def run(root, kind="search", **raw):
    query = Query(kind, parse_filters({**WINDOW, **raw}), scope=ALL_ACCOUNTS)
    return DuckDBEngine(str(root)).run(query)


def test_search_answers_from_the_good_objects_and_names_the_bad(store):
    root, bad = store
    result = run(root)
    assert {r["srcaddr"] for r in result.rows()} == GOOD_SOURCES
    assert len(result.rows()) == 5
    skipped = "\n".join(result.skipped)
    for path in bad.values():
        assert path.name in skipped, (path.name, result.skipped)
    assert "malformed" in skipped and "2 malformed line" in skipped


def test_each_format_is_read_by_name(store):
    root, _ = store
    rows = {r["srcaddr"]: r for r in run(root).rows()}
    assert rows["10.0.2.7"]["dstport"] == 5432 and rows["10.0.2.7"]["tcp_flags"] == 3
    assert rows["10.0.2.7"]["flow_direction"] == "egress"
    newer = rows["198.51.100.7"]
    assert newer["reject_reason"] == "BPA" and newer["account_id"] == ACCOUNT_B
    assert {r["log_account"] for r in rows.values()} == {ACCOUNT_A}  # all in one folder
    assert newer["action"] == "REJECT" and newer["bytes"] == 40
    assert rows["10.0.0.5"]["tcp_flags"] is None  # the v2 default format has none


def test_aggregations_count_only_good_records(store):
    root, _ = store
    result = run(root, "top-talkers")
    assert sum(r["bytes"] for r in result.rows()) == 1000 + 5000 + 700 + 40 + 10
    timeline = run(root, "timeline").rows()
    assert sum(r["flows"] for r in timeline) == 5
    assert {r["action"] for r in timeline} == {"ACCEPT", "REJECT"}
    assert result.skipped


def test_a_filter_reaches_records_of_every_format(store):
    root, _ = store
    assert [r["srcaddr"] for r in run(root, dst_port="22").rows()] == ["198.51.100.7"]
    assert [r["srcaddr"] for r in run(root, dst="10.0.3.0/24").rows()] == ["10.0.2.7"]


def test_the_search_page_names_what_was_skipped(monkeypatch, store):
    root, bad = store
    at = app(monkeypatch, root, **WINDOW).run()
    assert not at.exception and not errors(at)
    assert len(at.dataframe[0].value) == 5
    warning = "\n".join(w.value for w in at.warning)
    assert "could not be read and were skipped" in warning
    for path in bad.values():
        assert path.name in warning


def test_a_store_of_only_broken_objects_answers_empty(tmp_path):
    put(tmp_path, "000000000000000b", b"")
    put(tmp_path, "000000000000000c", b"\x00\xff" * 100)
    result = run(tmp_path)
    assert result.rows() == [] and len(result.skipped) == 2
