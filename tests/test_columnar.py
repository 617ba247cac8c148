"""The columnar cache: the same answers as the raw files, incremental, fresh, robust."""

import gzip
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from storefixture import T0, record, write_object

from lib import columnar, columnar_build, rollups
from lib.config import load_settings
from lib.engines.duckdb_engine import DuckDBEngine
from lib.filters import parse_filters
from lib.generator import generate
from lib.query import ALL_ACCOUNTS, KIND_BUILDERS, Query, Scope

END = T0 + 3 * 3600  # data: the 6 hours before, in two day folders per account and region
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    store = tmp_path_factory.mktemp("store")
    summary = generate(store, records=3000, days=0.25, seed=3, end=END)
    return store, summary


@pytest.fixture
def store(generated, tmp_path):
    """A private copy of the generated store, and a cache directory for it."""
    source, summary = generated
    copy = tmp_path / "store"
    shutil.copytree(source, copy)
    return copy, tmp_path / "cache", summary


def engines(root, cache):
    return DuckDBEngine(str(root)), DuckDBEngine(str(root), columnar_dir=str(cache))


def filter_sets(summary):
    start, end = summary.start, summary.end
    return [
        {"start": str(start + 1234), "end": str(end - 777)},  # not aligned to any slot
        {"start": str(end - 3600), "end": str(end), "dst": "10.0.0.0/8", "dst_port": "443"},
        {"start": str(start), "end": str(end), "account": summary.accounts[1],
         "region": "eu-west-1", "protocol": "tcp", "src": "10.0.0.0/8"},
    ]


def assert_same_answers(raw, cached, summary, kinds=tuple(KIND_BUILDERS), scope=None):
    for raw_filters in filter_sets(summary):
        filters = parse_filters(raw_filters)
        for kind in kinds:
            query = Query(kind, filters, top=15, limit=300, scope=scope or ALL_ACCOUNTS)
            expected, got = raw.run(query), cached.run(query)
            assert got.table.equals(expected.table), (kind, raw_filters, cached.route(query))


def test_every_kind_gives_the_raw_answer(store):
    root, cache, summary = store
    report = columnar.build_cache(str(root), cache)
    assert report.records == summary.records
    assert report.objects == summary.objects and not report.skipped
    raw, cached = engines(root, cache)
    assert cached.route(Query("search", parse_filters(filter_sets(summary)[0]), scope=ALL_ACCOUNTS)) == "columnar"
    assert_same_answers(raw, cached, summary)
    assert_same_answers(raw, cached, summary, kinds=("search", "top-talkers"),
                        scope=Scope(frozenset(summary.accounts[:2])))


def test_files_are_sorted_and_keyed(store):
    root, cache, _ = store
    columnar.build_cache(str(root), cache)
    manifest = columnar.read_manifest(cache)
    segment = next(iter(manifest["folders"].values()))["segments"][0]
    table = pq.read_table(cache / segment["file"])
    assert table.column_names == list(columnar.RECORD_COLUMNS)
    rows = [r for r in table.to_pylist() if r["action"] == "ACCEPT"]
    assert [r["start"] for r in rows] == sorted(r["start"] for r in rows)
    from lib.iputil import address_key

    assert all(r["src_key"] == address_key(r["srcaddr"]) for r in rows[:200])
    metadata = pq.read_metadata(cache / segment["file"])
    assert metadata.row_group(0).column(table.column_names.index("start")).statistics.has_min_max


def test_only_new_objects_are_converted(store):
    root, cache, summary = store
    columnar.build_cache(str(root), cache)
    again = columnar.build_cache(str(root), cache)
    assert (again.objects, again.records) == (0, 0)
    existing = write_object(root, [record("10.9.0.1", "10.9.0.2", 1000, 443, start=END - 900)],
                            flow_log="fl-0aaaaaaaaaaaaaaa1")  # into a folder already converted
    fresh = write_object(root, [record("10.9.0.3", "10.9.0.4", 1000, 443, start=END + 86400)],
                         flow_log="fl-0aaaaaaaaaaaaaaa1")  # a new day folder
    report = columnar.build_cache(str(root), cache)
    assert (report.objects, report.records) == (2, 2)
    status = columnar.status(str(root), cache)
    assert status["objects"] == summary.objects + 2 and status["pending_objects"] == 0
    assert existing.parent != fresh.parent


def test_many_small_additions_are_merged(store, monkeypatch):
    root, cache, _ = store
    columnar.build_cache(str(root), cache)
    monkeypatch.setattr(columnar_build, "MAX_SEGMENTS", 2)
    for minute in range(4):
        write_object(root, [record("10.9.0.1", "10.9.0.2", 1000 + minute, 443,
                                   start=END - 3000 + 60 * minute)],
                     flow_log=f"fl-0aaaaaaaaaaaaaa{minute}f")
        columnar.build_cache(str(root), cache)
    folder = columnar.Folder("012345678901", "us-east-1", ("2026", "09", "21"))
    entry = columnar.read_manifest(cache)["folders"][folder.rel]
    assert len(entry["segments"]) <= 2 and entry["records"] == 4
    raw, cached = engines(root, cache)
    query = Query("search", parse_filters({"start": str(END - 3600), "end": str(END),
                                           "src": "10.9.0.1"}), scope=ALL_ACCOUNTS)
    assert cached.run(query).table.equals(raw.run(query).table)
    assert len(raw.run(query).rows()) == 4


def test_new_objects_are_seen_before_the_next_build(store):
    root, cache, summary = store
    columnar.build_cache(str(root), cache)
    raw, cached = engines(root, cache)
    write_object(root, [record("10.7.7.7", "10.0.0.9", 40000, 22, start=END - 600)],
                 flow_log="fl-0bbbbbbbbbbbbbbb1")
    query = Query("search", parse_filters({"start": str(END - 3600), "end": str(END),
                                           "src": "10.7.7.7"}), scope=ALL_ACCOUNTS)
    assert cached.route(query) == "columnar"
    assert [r["srcaddr"] for r in cached.run(query).rows()] == ["10.7.7.7"]
    total = Query("top-talkers", parse_filters({"start": str(summary.start), "end": str(END)}), scope=ALL_ACCOUNTS)
    assert cached.route(total) == "rollup:pairs"  # rollup rows + the raw remainder
    assert cached.run(total).table.equals(raw.run(total).table)


def test_changed_object_reads_raw_until_rebuilt(store):
    root, cache, summary = store
    columnar.build_cache(str(root), cache)
    raw, cached = engines(root, cache)
    query = Query("search", parse_filters({"start": str(summary.start), "end": str(END)}),
                  limit=5000, scope=ALL_ACCOUNTS)
    # An object the cache holds is replaced (one more line): the cache is stale there.
    victim = max(root.rglob("*.log.gz"), key=lambda p: p.stat().st_size)
    lines = gzip.decompress(victim.read_bytes()).decode().splitlines()
    replacement = victim.with_name(".replacement")
    replacement.write_bytes(gzip.compress(("\n".join(lines + lines[-1:]) + "\n").encode()))
    os.replace(replacement, victim)
    assert cached.route(query) == "raw"
    assert cached.run(query).table.equals(raw.run(query).table)
    columnar.build_cache(str(root), cache)
    assert cached.route(query) == "columnar"
    assert cached.run(query).table.equals(raw.run(query).table)


def test_corrupt_object_is_skipped_and_reported(store):
    root, cache, summary = store
    bad = write_object(root, [record("10.5.5.5", "10.0.0.9", 1, 2, start=END - 1200)],
                       flow_log="fl-0ccccccccccccccc1")
    good_bytes = bad.read_bytes()
    bad.write_bytes(good_bytes[:25])
    report = columnar.build_cache(str(root), cache)
    assert [s for s in report.skipped if bad.name in s]
    assert report.objects == summary.objects
    assert any(bad.name in s for s in columnar.status(str(root), cache)["skipped"])
    raw, cached = engines(root, cache)
    query = Query("search", parse_filters({"start": str(END - 3600), "end": str(END)}), scope=ALL_ACCOUNTS)
    result = cached.run(query)
    assert any(bad.name in s for s in result.skipped)
    assert result.table.equals(raw.run(query).table)
    bad.write_bytes(good_bytes)  # repaired (another size): converted by the next build
    assert columnar.build_cache(str(root), cache).objects == 1
    assert "10.5.5.5" in {r["srcaddr"] for r in cached.run(query).rows()}


def _committed_objects(cache: Path) -> int:
    manifest = columnar.read_manifest(cache)
    return 0 if manifest is None else sum(f["objects"] for f in manifest["folders"].values())


def kill_a_build_part_way(data: str, cache: Path, env: dict[str, str]) -> int:
    """Start `lib.cli cache build` (slowed down) in a process of its own, kill it once it has
    committed something; the objects it had converted by then."""
    process = subprocess.Popen(
        [sys.executable, "-m", "lib.cli", "cache", "build", "--data", data,
         "--throttle", "0.15", "--workers", "1"],
        cwd=ROOT, env={**os.environ, **env}, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while _committed_objects(cache) == 0 and process.poll() is None \
            and time.monotonic() < deadline:
        time.sleep(0.02)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    return _committed_objects(cache)


def test_killed_build_leaves_a_usable_cache_and_resumes(store):
    root, _, summary = store
    home = root.parent / "home"
    env = {"FLOWSCOPE_CACHE_DIR": str(home), "FLOWSCOPE_CONFIG": "/nonexistent"}
    cache = columnar.cache_dir_for(load_settings(env), str(root))
    converted = kill_a_build_part_way(str(root), cache, env)
    assert 0 < converted < summary.objects  # killed part way
    manifest = columnar.read_manifest(cache)
    for entry in manifest["folders"].values():  # every file the manifest names is whole
        for name in columnar.folder_files(entry):
            if name.endswith(".parquet"):
                pq.read_metadata(cache / name)
            else:
                json.loads((cache / name).read_text())
    raw, cached = engines(root, cache)
    query = Query("top-talkers", parse_filters({"start": str(summary.start), "end": str(END)}), scope=ALL_ACCOUNTS)
    assert cached.run(query).table.equals(raw.run(query).table)  # the rest is read raw
    report = columnar.build_cache(str(root), cache)
    assert report.objects == summary.objects - converted
    assert columnar.status(str(root), cache)["pending_objects"] == 0
    named = {n for e in columnar.read_manifest(cache)["folders"].values()
             for n in columnar.folder_files(e)}
    named |= rollups.current_cost_files(columnar.read_manifest(cache))  # the classified days
    on_disk = {str(p.relative_to(cache)) for p in cache.rglob("*")
               if p.is_file() and p.name not in ("manifest.json", "build.lock")}
    assert on_disk == named  # the killed build's unfinished files are gone
    assert_same_answers(raw, cached, summary, kinds=("search", "timeline"))


def test_cli_cache_build_and_status(store, capsys, monkeypatch):
    from lib.cli import main

    root, _, summary = store
    monkeypatch.setenv("FLOWSCOPE_CACHE_DIR", str(root.parent / "home"))
    assert main(["cache", "status", "--data", str(root)]) == 0
    assert json.loads(capsys.readouterr().out)["pending_objects"] == summary.objects
    assert main(["cache", "build", "--data", str(root)]) == 0
    assert json.loads(capsys.readouterr().out)["records"] == summary.records
    assert main(["cache", "status", "--data", str(root)]) == 0
    status = json.loads(capsys.readouterr().out)
    assert (status["records"], status["pending_objects"]) == (summary.records, 0)


def test_get_engine_uses_the_cache_of_its_data_dir(store, monkeypatch):
    from lib.engines import get_engine

    root, _, summary = store
    settings = load_settings({"FLOWSCOPE_DATA_DIR": str(root),
                              "FLOWSCOPE_CACHE_DIR": str(root.parent / "home"),
                              "FLOWSCOPE_CONFIG": "/nonexistent"})
    query = Query("timeline", parse_filters({"start": str(summary.start), "end": str(END)}), scope=ALL_ACCOUNTS)
    assert get_engine(settings).route(query) == "raw"
    columnar.build_cache(str(root), columnar.cache_dir_for(settings, str(root)))
    assert get_engine(settings).route(query) == "rollup:actions"
