"""Bad objects in the store (issue 21, point 10): a gzip bomb is refused with its reason and
memory stays bounded; a line over the cap is counted malformed without aborting a build or
flooding the Records page; a refused object is marked and not retried; symbolic links are
not followed out of the store."""

from __future__ import annotations

import gzip
import os
import tracemalloc
import zlib

import pytest
from storefixture import T0, object_path, record, write_object

from lib import columnar, objects
from lib.config import Settings
from lib.engines.duckdb_engine import DuckDBEngine
from lib.filters import parse_filters
from lib.query import ALL_ACCOUNTS, Query
from lib.schema import DEFAULT_FORMAT

WINDOW = {"start": str(T0), "end": str(T0 + 3600)}
DELIVERED = T0 + 1500
GOOD = [record("10.0.0.5", "10.0.1.9", 40001, 443, start=T0 + 100),
        record("10.0.1.9", "10.0.0.5", 443, 40001, start=T0 + 160)]
BOMB_TEXT = 300 << 20  # what the bomb inflates to: 300 MB of zeros from about 300 KB


def bomb() -> bytes:
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    chunk = bytes(1 << 20)
    parts = [packer.compress((" ".join(DEFAULT_FORMAT) + "\n").encode())]
    parts += [packer.compress(chunk) for _ in range(BOMB_TEXT >> 20)]
    return b"".join(parts) + packer.flush()


def put(root, flow_log: str, data: bytes):
    path = object_path(root, GOOD[0]["account-id"], "us-east-1", DELIVERED, flow_log)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def search(root, **options):
    return DuckDBEngine(str(root), **options).run(
        Query("search", parse_filters(WINDOW), scope=ALL_ACCOUNTS))


def sources(result) -> set[str]:
    return {r["srcaddr"] for r in result.records()}


def peak_mb(action) -> tuple[object, float]:
    tracemalloc.start()
    try:
        value = action()
        return value, tracemalloc.get_traced_memory()[1] / 1e6
    finally:
        tracemalloc.stop()


@pytest.fixture
def bombed(tmp_path):
    write_object(tmp_path, GOOD, delivered=DELIVERED)
    put(tmp_path, "fl-0000000000000b0b", bomb())
    return tmp_path


def test_a_gzip_bomb_is_refused_by_a_query_in_bounded_memory(bombed):
    result, peak = peak_mb(lambda: search(bombed))
    assert sources(result) == {"10.0.0.5", "10.0.1.9"}
    assert any("fl-0000000000000b0b" in s and "gzip bomb" in s for s in result.skipped)
    assert peak < 64, f"peak {peak:.0f} MB while refusing a {BOMB_TEXT >> 20} MB bomb"


def test_a_gzip_bomb_is_refused_by_the_build_and_not_retried(bombed, tmp_path_factory):
    cache = tmp_path_factory.mktemp("cache")
    report, peak = peak_mb(lambda: columnar.build_cache(str(bombed), cache))
    assert report.objects == 1 and report.records == 2
    assert any("gzip bomb" in s for s in report.skipped)
    assert peak < 96, f"peak {peak:.0f} MB"
    assert columnar.status(str(bombed), cache)["pending_objects"] == 0
    assert columnar.build_cache(str(bombed), cache).objects == 0  # marked: not read again


def test_the_size_cap_names_its_setting(tmp_path):
    write_object(tmp_path, GOOD, delivered=DELIVERED)
    settings = Settings(data_dir=str(tmp_path), object_max_bytes=100)
    result = search(tmp_path, settings=settings)
    assert result.records() == []
    assert any("object_max_bytes" in s for s in result.skipped)


def long_line_object(length: int) -> bytes:
    lines = [" ".join(DEFAULT_FORMAT),
             " ".join(str(GOOD[0][n]) for n in DEFAULT_FORMAT),
             "2 " + "x" * length,
             " ".join(str(GOOD[1][n]) for n in DEFAULT_FORMAT)]
    return gzip.compress(("\n".join(lines) + "\n").encode(), mtime=0)


def test_a_line_over_the_cap_is_malformed_and_the_build_goes_on(tmp_path, tmp_path_factory):
    put(tmp_path, "fl-00000000000001e5", long_line_object(2 << 20))  # past pyarrow's blocks
    cache = tmp_path_factory.mktemp("cache")
    report = columnar.build_cache(str(tmp_path), cache)
    assert report.records == 2 and report.malformed_lines == 1 and not report.skipped
    assert columnar.status(str(tmp_path), cache)["pending_objects"] == 0
    raw = search(tmp_path)
    assert sources(raw) == {"10.0.0.5", "10.0.1.9"}
    assert any("1 malformed line" in s for s in raw.skipped)


def test_records_page_reports_a_long_line_without_holding_it(tmp_path):
    path = put(tmp_path, "fl-00000000000001e5", long_line_object(20 << 20))
    objects.clear_caches()
    store = objects.open_store(Settings(data_dir=str(tmp_path)), ALL_ACCOUNTS)
    obj = next(o for o in _walk(store) if o.name == path.name)
    page, peak = peak_mb(lambda: store.read_page(obj, 1, 10))
    assert [r.line for r in page.rows] == [2, 3, 4] and page.error is None
    bad = page.rows[1]
    assert "longer than" in bad.record["_error"] and len(bad.raw) < 1000
    assert peak < 8, f"peak {peak:.0f} MB for a page holding a 20 MB line"


def _walk(store):
    for account in store.accounts():
        for region in store.regions(account):
            for date in store.dates(region):
                yield from store.objects(date)


def test_symbolic_links_are_not_followed_out_of_the_store(tmp_path):
    store, outside = tmp_path / "store", tmp_path / "outside"
    write_object(store, GOOD, delivered=DELIVERED)
    secret = write_object(outside, [record("10.66.6.6", "10.0.0.5", 1, 22, start=T0 + 200)],
                          delivered=DELIVERED, flow_log="fl-0000000000000666")
    link = put(store, "fl-0000000000000777", b"")
    link.unlink()
    link.symlink_to(secret)
    os.symlink(outside / "AWSLogs" / secret.parts[-8], store / "AWSLogs" / "111111111111")
    assert sources(search(store)) == {"10.0.0.5", "10.0.1.9"}
    cache = tmp_path / "cache"
    report = columnar.build_cache(str(store), cache)
    assert report.records == 2
    cached = DuckDBEngine(str(store), columnar_dir=str(cache)).run(
        Query("search", parse_filters(WINDOW), scope=ALL_ACCOUNTS))
    assert sources(cached) == {"10.0.0.5", "10.0.1.9"}
    with pytest.raises(PermissionError):
        objects.open_store(Settings(data_dir=str(store)), ALL_ACCOUNTS)._backend.open(str(link))


def test_a_line_over_the_cap_with_the_right_field_count_is_malformed(tmp_path):
    fields = [str(GOOD[0][n]) for n in DEFAULT_FORMAT]
    fields[DEFAULT_FORMAT.index("interface-id")] = "eni-" + "a" * 200_000
    lines = [" ".join(DEFAULT_FORMAT), " ".join(fields),
             " ".join(str(GOOD[1][n]) for n in DEFAULT_FORMAT)]
    put(tmp_path, "fl-00000000000001e6", gzip.compress(("\n".join(lines) + "\n").encode()))
    result = search(tmp_path)
    assert sources(result) == {"10.0.1.9"}
    assert any("1 malformed line" in s for s in result.skipped)
    report = columnar.build_cache(str(tmp_path), tmp_path / "cache")
    assert report.records == 1 and report.malformed_lines == 1
