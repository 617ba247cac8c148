"""S3 as the embedded engine's source (issue 15): data_dir = s3://BUCKET/PREFIX on moto's
server (real HTTP) gives the same answers as a local copy, raw and through the columnar
cache built straight from the bucket; a new day costs one listing; a build resumes after a
kill; raw reads beside the cache are bounded and say so."""

from __future__ import annotations

import json
from dataclasses import replace

import boto3
import pytest
from s3kit import isolate_aws, moto_endpoint
from storefixture import record, write_object
from test_columnar import END, assert_same_answers, filter_sets, kill_a_build_part_way

from lib import columnar
from lib.config import Settings
from lib.engines.duckdb_engine import DuckDBEngine
from lib.filters import parse_filters
from lib.generator import generate
from lib.query import ALL_ACCOUNTS, Query
from lib.store import backends

BUCKET, PREFIX = "org-flow-logs", "central"
LOCATION = f"s3://{BUCKET}/{PREFIX}"


@pytest.fixture(scope="module")
def endpoint():
    yield from moto_endpoint()


@pytest.fixture(autouse=True)
def aws_env(monkeypatch, tmp_path):
    isolate_aws(monkeypatch, tmp_path)
    backends.clear_caches()


def upload(endpoint, root, bucket=BUCKET):
    client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
    if bucket not in [b["Name"] for b in client.list_buckets()["Buckets"]]:
        client.create_bucket(Bucket=bucket)
    for path in sorted(root.rglob("*.log.gz")):
        client.put_object(Bucket=bucket, Key=f"{PREFIX}/{path.relative_to(root).as_posix()}",
                          Body=path.read_bytes())


@pytest.fixture
def bucket(endpoint, tmp_path):
    """A generated store on disk, and the same objects in a bucket of their own."""
    local = tmp_path / "local"
    summary = generate(local, records=3000, days=0.25, seed=3, end=END)
    name = f"flow-logs-{tmp_path.name.lower().replace('_', '-')}"[:60]
    upload(endpoint, local, name)
    settings = Settings(data_dir=f"s3://{name}/{PREFIX}", s3_endpoint_url=endpoint,
                        cache_dir=str(tmp_path / "home"), raw_read_max_objects=100_000)
    return local, settings, summary


def test_raw_queries_over_s3_equal_the_local_copy(bucket):
    local, settings, summary = bucket
    on_s3 = DuckDBEngine(settings.data_dir, settings=settings)
    assert_same_answers(DuckDBEngine(str(local)), on_s3, summary)


def test_the_cache_is_built_from_the_bucket_and_answers_the_same(bucket):
    local, settings, summary = bucket
    cache = columnar.cache_dir_for(settings, settings.data_dir)
    report = columnar.build_cache(settings.data_dir, cache, settings=settings)
    assert (report.objects, report.records) == (summary.objects, summary.records)
    cached = DuckDBEngine(settings.data_dir, columnar_dir=str(cache), settings=settings)
    query = Query("search", parse_filters(filter_sets(summary)[0]), scope=ALL_ACCOUNTS)
    assert cached.route(query) == "columnar"
    assert_same_answers(DuckDBEngine(str(local)), cached, summary)
    status = columnar.status(settings.data_dir, cache, settings)
    assert status["pending_objects"] == 0 and status["data_dir"] == settings.data_dir


def listed_prefixes(monkeypatch) -> list[str]:
    seen = []
    original = backends.S3Backend._list

    def counting(self, parts, limit):
        seen.append("/".join(parts))
        return original(self, parts, limit)

    monkeypatch.setattr(backends.S3Backend, "_list", counting)
    return seen


def day_listings(prefixes: list[str]) -> list[str]:
    return [p for p in prefixes if p.count("/") == 6]  # AWSLogs/a/vpcflowlogs/r/yyyy/mm/dd


def test_a_new_day_costs_one_listing(bucket, endpoint, monkeypatch, tmp_path):
    local, settings, summary = bucket
    cache = tmp_path / "cache"
    prefixes = listed_prefixes(monkeypatch)
    columnar.build_cache(settings.data_dir, cache, settings=settings)
    assert len(day_listings(prefixes)) == len(columnar.read_manifest(cache)["folders"])
    backends.clear_caches()
    prefixes.clear()
    assert columnar.build_cache(settings.data_dir, cache, settings=settings).objects == 0
    assert day_listings(prefixes) == []  # settled days are not listed again
    later = END + 5 * 86400
    new = write_object(local / "new", [record("10.1.2.3", "10.3.2.1", 1234, 443, start=later)])
    upload(endpoint, local / "new", settings.data_dir.split("/")[2])
    backends.clear_caches()
    prefixes.clear()
    report = columnar.build_cache(settings.data_dir, cache, settings=settings)
    assert (report.objects, report.records) == (1, 1)
    assert day_listings(prefixes) == ["/".join(new.relative_to(local / "new").parts[:-1])]


def test_raw_reads_from_s3_are_bounded_and_say_so(bucket):
    _, settings, summary = bucket
    bounded = replace(settings, raw_read_max_objects=2)
    engine = DuckDBEngine(settings.data_dir, settings=bounded)
    result = engine.run(Query("search", parse_filters(
        {"start": str(summary.start), "end": str(summary.end)}), scope=ALL_ACCOUNTS))
    assert result.objects == 2
    assert any("raw_read_max_objects" in s for s in result.skipped)


def test_cli_query_and_cache_build_take_an_s3_location(bucket, capsys, monkeypatch):
    from lib.cli import main

    local, settings, summary = bucket
    monkeypatch.setenv("FLOWSCOPE_S3_ENDPOINT_URL", settings.s3_endpoint_url)
    monkeypatch.setenv("FLOWSCOPE_CACHE_DIR", settings.cache_dir)
    monkeypatch.setenv("FLOWSCOPE_RAW_READ_MAX_OBJECTS", "100000")
    monkeypatch.setenv("FLOWSCOPE_CONFIG", "/nonexistent")
    window = ["--start", str(summary.start), "--end", str(summary.end)]
    answers = []
    for data in (str(local), settings.data_dir):
        assert main(["query", "--kind", "top-talkers", "--data", data, *window]) == 0
        answers.append(json.loads(capsys.readouterr().out))
    assert answers[0] == answers[1] and answers[0]
    assert main(["cache", "build", "--data", settings.data_dir]) == 0
    out = capsys.readouterr()
    assert json.loads(out.out)["records"] == summary.records
    assert "records" in out.err  # the progress line
    assert main(["query", "--kind", "top-talkers", "--data", settings.data_dir, *window]) == 0
    assert json.loads(capsys.readouterr().out) == answers[0]


def test_a_killed_build_from_s3_resumes(bucket):
    local, settings, summary = bucket
    env = {"FLOWSCOPE_CACHE_DIR": settings.cache_dir, "FLOWSCOPE_CONFIG": "/none",
           "FLOWSCOPE_S3_ENDPOINT_URL": settings.s3_endpoint_url}
    cache = columnar.cache_dir_for(settings, settings.data_dir)
    converted = kill_a_build_part_way(settings.data_dir, cache, env)
    assert 0 < converted < summary.objects  # killed part way
    report = columnar.build_cache(settings.data_dir, cache, settings=settings)
    assert report.objects == summary.objects - converted
    cached = DuckDBEngine(settings.data_dir, columnar_dir=str(cache), settings=settings)
    assert_same_answers(DuckDBEngine(str(local)), cached, summary, kinds=("search", "timeline"))


def test_a_bucket_that_cannot_be_listed_is_a_clear_engine_error(endpoint):
    from lib.engines import EngineError

    settings = Settings(data_dir="s3://no-such-bucket/x", s3_endpoint_url=endpoint)
    engine = DuckDBEngine(settings.data_dir, settings=settings)
    with pytest.raises(EngineError, match="the bucket does not exist"):
        engine.run(Query("search", parse_filters({"start": str(END - 3600), "end": str(END)}),
                         scope=ALL_ACCOUNTS))


def test_objects_newer_than_the_cache_are_read_raw_within_the_bound(tmp_path):
    write_object(tmp_path, [record("10.0.0.1", "10.0.0.2", 1, 443, start=END - 3000)])
    cache = tmp_path / "cache"
    columnar.build_cache(str(tmp_path), cache)
    for n in range(3):  # delivered after the build: not in the cache yet
        write_object(tmp_path, [record(f"10.0.9.{n}", "10.0.0.2", 1, 443, start=END - 2000)],
                     flow_log=f"fl-00000000000000a{n}", delivered=END - 1200 + 300 * n)
    settings = Settings(data_dir=str(tmp_path), raw_read_max_objects=2)
    engine = DuckDBEngine(str(tmp_path), columnar_dir=str(cache), settings=settings)
    result = engine.run(Query("search", parse_filters(
        {"start": str(END - 3600), "end": str(END)}), scope=ALL_ACCOUNTS))
    assert result.objects == 2  # the two newest of the three
    assert {r["srcaddr"] for r in result.records()} == {"10.0.0.1", "10.0.9.1", "10.0.9.2"}
    assert any("1 object(s)" in s and "raw_read_max_objects" in s for s in result.skipped)
