"""The cache build converts a folder in bounded chunks: its memory does not grow with the
folder, and the chunked files give the raw path's answers."""

import json
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from storefixture import T0, record, write_object

from lib import columnar
from lib.engines.duckdb_engine import DuckDBEngine
from lib.filters import parse_filters
from lib.query import ALL_ACCOUNTS, Query

ROOT = Path(__file__).resolve().parent.parent
OBJECTS, PER_OBJECT = 12, 12_000  # one day folder, about 12 MB of text

# Builds the cache in a fresh process and reports the Arrow memory pool's peak (where the
# parsed columns live), so other tests' allocations do not count.
BUILD = """
import json, sys
import pyarrow as pa
from lib import columnar, columnar_convert
columnar_convert.CHUNK_BYTES = int(sys.argv[3])
report = columnar.build_cache(sys.argv[1], sys.argv[2], workers=1)
print(json.dumps({"records": report.records, "peak": pa.default_memory_pool().max_memory()}))
"""


@pytest.fixture(scope="module")
def big_folder(tmp_path_factory):
    root = tmp_path_factory.mktemp("big")
    for n in range(OBJECTS):
        records = [record(f"10.{n}.{i // 250 % 250}.{i % 250}", f"172.16.{i % 200}.{n}",
                          1024 + i % 50_000, 443 if i % 3 else 22, start=T0 + n * 300 + i % 300,
                          bytes_=100 + i, action="REJECT" if i % 7 == 0 else "ACCEPT")
                   for i in range(PER_OBJECT)]
        write_object(root, records, flow_log=f"fl-0{n:016x}")
    return root


def _build(root: Path, cache: Path, chunk_bytes: int) -> dict:
    done = subprocess.run([sys.executable, "-c", BUILD, str(root), str(cache), str(chunk_bytes)],
                          cwd=ROOT, check=True, capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_a_large_folder_is_built_in_bounded_memory(big_folder, tmp_path):
    whole = _build(big_folder, tmp_path / "whole", 1 << 40)
    chunked = _build(big_folder, tmp_path / "chunked", 1 << 20)
    assert whole["records"] == chunked["records"] == OBJECTS * PER_OBJECT
    assert chunked["peak"] < whole["peak"] / 4, (chunked, whole)


def test_chunked_files_are_sorted_per_row_group_and_give_the_raw_answers(big_folder, tmp_path):
    cache = tmp_path / "cache"
    assert _build(big_folder, cache, 1 << 20)["records"] == OBJECTS * PER_OBJECT
    (entry,) = columnar.read_manifest(cache)["folders"].values()
    (segment,) = entry["segments"]
    source = pq.ParquetFile(cache / segment["file"])
    assert source.num_row_groups > OBJECTS * PER_OBJECT // 16_384  # several chunks' groups
    order = {"ACCEPT": 0, "REJECT": 1}
    for index in range(source.num_row_groups):
        rows = source.read_row_group(index, columns=["action", "start"]).to_pylist()
        keys = [(order[r["action"]], r["start"]) for r in rows]
        assert keys == sorted(keys)
    raw, cached = DuckDBEngine(str(big_folder)), DuckDBEngine(str(big_folder), columnar_dir=str(cache))
    window = {"start": str(T0), "end": str(T0 + 86400)}
    for kind, extra in (("top-talkers", {}), ("timeline", {"action": "REJECT"}),
                        ("search", {"dst": "172.16.5.0/24", "dst_port": "22"})):
        query = Query(kind, parse_filters({**window, **extra}), top=10, limit=500,
                      scope=ALL_ACCOUNTS)
        assert cached.route(query) != "raw"
        assert cached.run(query).table.equals(raw.run(query).table), kind
