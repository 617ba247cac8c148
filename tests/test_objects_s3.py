"""The same store browsed and read on S3 (moto's server, real HTTP), in the real key layout:
listing is lazy and folder by folder, reading streams only what a page needs."""

import gzip
import random
from pathlib import Path

import boto3
import pytest
import urllib3.response
from apptest import errors
from s3kit import isolate_aws, moto_endpoint
from storefixture import ACCOUNT_A, ACCOUNT_B, T0, object_path
from test_objects import FOUR, build_tree
from test_page_records import records_app

from lib import objects
from lib.config import Settings
from lib.query import Scope
from lib.schema import DEFAULT_FORMAT
from lib.store.backends import LocalBackend

BUCKET = "central-flow-logs"
BIG_BUCKET = "big-flow-logs"  # the 100 MB object, apart from the tree other tests compare
EVERY_ACCOUNT = Scope(None)
PREFIX = "org"


@pytest.fixture(scope="module")
def endpoint():
    yield from moto_endpoint()


@pytest.fixture(autouse=True)
def aws_env(monkeypatch, tmp_path):
    isolate_aws(monkeypatch, tmp_path)
    objects.clear_caches()


def s3_client(endpoint):
    return boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                        aws_access_key_id="testing", aws_secret_access_key="testing")


@pytest.fixture(scope="module")
def bucket(endpoint, tmp_path_factory):
    """The tree of test_objects.py, uploaded under s3://BUCKET/PREFIX/ key for key."""
    root = tmp_path_factory.mktemp("tree")
    made = build_tree(root)
    client = s3_client(endpoint)
    client.create_bucket(Bucket=BUCKET)
    for path in root.rglob("*"):
        if path.is_file():
            client.put_object(Bucket=BUCKET, Key=f"{PREFIX}/{path.relative_to(root).as_posix()}",
                              Body=path.read_bytes())
    return root, made


def s3_store(endpoint, scope=EVERY_ACCOUNT, location=f"s3://{BUCKET}/{PREFIX}"
             ) -> objects.ObjectStore:
    objects.clear_caches()
    return objects.open_store(Settings(s3_location=location, athena_endpoint_url=endpoint), scope)


def walk(store) -> list[tuple]:
    """Everything the browser shows, level by level, in a comparable form."""
    out = []
    for account in store.accounts():
        for region in store.regions(account):
            for date in store.dates(region):
                for folder in store.hours(date) or [date]:
                    for o in store.objects(folder):
                        out.append((account.label, region.label, date.label, folder.label,
                                    o.name, o.size, o.delivered, o.flow_log_id))
    return out


def count_requests(store, operation: str) -> list[dict]:
    calls: list[dict] = []
    store._backend.client.meta.events.register(
        f"before-parameter-build.s3.{operation}", lambda params, **kw: calls.append(dict(params)))
    return calls


def test_s3_and_a_local_directory_browse_alike(endpoint, bucket):
    root, _ = bucket
    local = objects.open_store(Settings(data_dir=str(root)), Scope(None))
    listed = walk(s3_store(endpoint))
    assert listed == walk(local)
    assert {row[0] for row in listed} == {ACCOUNT_A, ACCOUNT_B}
    assert listed[0][:4] == (ACCOUNT_A, "us-east-1", "2026-09-22", "2026-09-22")
    assert any(row[3] == "01" for row in listed)  # the hourly Hive layout of account B


def test_listing_is_folder_by_folder_with_delimiter(endpoint, bucket):
    store = s3_store(endpoint)
    calls = count_requests(store, "ListObjectsV2")
    account = store.accounts()[0]
    region = store.regions(account)[0]
    dates = store.dates(region)
    assert store.hours(dates[0]) == []
    store.objects(dates[0])  # the day's listing above, reused
    # accounts, regions, the region's years, the year's months, the month's days, one day
    assert len(calls) == 1 + 1 + 1 + 1 + 1 + 1
    assert all(c["Delimiter"] == "/" for c in calls)
    assert calls[0]["Prefix"] == f"{PREFIX}/AWSLogs/"
    store.dates(region)  # a rerun of the page: listings are reused for a minute
    assert len(calls) == 6


def test_object_listing_is_paginated_and_stops_at_the_limit(endpoint, bucket):
    store = s3_store(endpoint)
    day = store.dates(store.regions(store.accounts()[0])[0])[1]
    calls = count_requests(store, "ListObjectsV2")
    store._backend.client.meta.events.register(  # pages of one object: lazy paging shows
        "before-parameter-build.s3.ListObjectsV2", lambda params, **kw: params.update(MaxKeys=1))
    assert len(store.objects(day, limit=2)) == 2
    assert len(calls) == 2  # two pages of one object each, not the whole folder
    assert len(store.objects(day, limit=100)) == 3 and len(calls) == 2 + 3


def test_reading_streams_records_like_a_local_file(endpoint, bucket):
    root, made = bucket
    store = s3_store(endpoint)
    by_name = {o.name: o for o in store.objects(store.dates(store.regions(
        store.accounts()[0])[0])[1])}
    page = store.read_page(by_name[made["four"].name])
    assert [r.record.get("dstport") for r in page.rows] == [443, 22, None, None]
    assert page.rows[1].raw.split()[3] == "198.51.100.7" and page.error is None
    assert page.bytes_read == made["four"].stat().st_size
    many = store.read_page(by_name[made["many"].name], 2, 50)
    assert many.first == 51 and many.rows[0].record["srcport"] == 1050 and many.more


def test_a_corrupt_gzip_object_on_s3(endpoint, bucket):
    _, made = bucket
    store = s3_store(endpoint)
    obj = next(o for o in store.objects(store.dates(store.regions(store.accounts()[0])[0])[1])
               if o.name == made["corrupt"].name)
    page = store.read_page(obj)
    assert len(page.rows) == 10 and "gzip" in page.error and "after line 11" in page.error


def test_a_vanished_object_and_a_missing_bucket_are_explained(endpoint, bucket):
    store = s3_store(endpoint)
    [obj] = store.objects(store.hours(store.dates(store.regions(store.accounts()[1])[0])[0])[0])
    gone = objects.StoredObject(obj.path.replace("1234abcd", "00000000"), ACCOUNT_B, "", None,
                                None, 0)
    page = store.read_page(gone)
    assert page.rows == [] and "no longer there" in page.error
    with pytest.raises(objects.StoreError, match="does not exist"):
        s3_store(endpoint, location="s3://no-such-bucket/x").accounts()


def test_parquet_on_s3_is_read_with_ranged_requests(endpoint, bucket):
    root, made = bucket
    store = s3_store(endpoint)
    region = store.regions(store.accounts()[0])[0]
    [obj] = [o for o in store.objects(store.dates(region)[0]) if o.name.endswith(".parquet")]
    gets = count_requests(store, "GetObject")
    page = store.read_page(obj, 3, 12)
    assert page.kind == "parquet" and page.error is None
    assert [r.record["srcport"] for r in page.rows] == list(range(2024, 2030))
    assert gets and all(g.get("Range", "").startswith("bytes=") for g in gets)


def test_scope_applies_to_s3_before_any_request(endpoint, bucket):
    store = s3_store(endpoint, Scope(frozenset({ACCOUNT_A})))
    assert [a.label for a in store.accounts()] == [ACCOUNT_A]
    b_object = objects.StoredObject(
        f"s3://{BUCKET}/{PREFIX}/AWSLogs/aws-account-id={ACCOUNT_B}/aws-service=vpcflowlogs/"
        "aws-region=ap-northeast-1/year=2026/month=09/day=21/hour=00/x.log.gz",
        ACCOUNT_A, "", None, None, 0)
    gets = count_requests(store, "GetObject")
    with pytest.raises(objects.OutOfScope):
        store.read_page(b_object)
    with pytest.raises(objects.OutOfScope):  # another bucket is not this store
        store.read_page(objects.StoredObject(
            f"s3://other/{PREFIX}/AWSLogs/{ACCOUNT_A}/x.log.gz", ACCOUNT_A, "", None, None, 0))
    assert gets == []


# --- a 100 MB object: only what the first page needs is fetched ----------------------------

def _big_object(target_bytes: int) -> bytes:
    """About target_bytes of gzip: one member of random (barely compressible) records,
    repeated. A reader that downloaded everything would fetch all of it."""
    rng = random.Random(7)
    lines = [" ".join(DEFAULT_FORMAT)]
    for _ in range(20_000):
        lines.append(" ".join(str(v) for v in (
            2, ACCOUNT_A, f"eni-{rng.getrandbits(68):017x}",
            f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(256)}",
            f"172.{rng.randrange(16, 32)}.{rng.randrange(256)}.{rng.randrange(256)}",
            rng.randrange(65536), rng.randrange(65536), 6, rng.randrange(10**6),
            rng.randrange(10**10), T0 + rng.randrange(600), T0 + 600,
            rng.choice(("ACCEPT", "REJECT")), "OK")))
    member = gzip.compress(("\n".join(lines) + "\n").encode(), compresslevel=1, mtime=0)
    return member * (target_bytes // len(member) + 1)


def test_a_100_mb_object_is_not_downloaded_to_show_its_first_page(endpoint, bucket,
                                                                   monkeypatch):
    body = _big_object(100 * 1024 * 1024)
    key = object_path(Path(PREFIX), ACCOUNT_A, "eu-west-1", T0 + 300, "fl-0eeeeeeeeeeeeeee1")
    client = s3_client(endpoint)
    client.create_bucket(Bucket=BIG_BUCKET)
    client.put_object(Bucket=BIG_BUCKET, Key=key.as_posix(), Body=body)
    store = s3_store(endpoint, location=f"s3://{BIG_BUCKET}/{PREFIX}")
    [account] = store.accounts()
    [region] = store.regions(account)
    [obj] = store.objects(store.dates(region)[0])
    assert obj.size == len(body) >= 100 * 1024 * 1024

    # Count every byte botocore takes from an HTTP response, whatever the code under test does.
    fetched = []
    original_read = urllib3.response.HTTPResponse.read

    def counting_read(self, *args, **kwargs):
        data = original_read(self, *args, **kwargs)
        fetched.append(len(data))
        return data

    monkeypatch.setattr(urllib3.response.HTTPResponse, "read", counting_read)
    page = store.read_page(obj, 1, 100)
    assert len(page.rows) == 100 and page.more and page.error is None
    assert page.rows[0].record["account-id"] == ACCOUNT_A
    assert sum(fetched) < 1024 * 1024, sum(fetched)  # under 1 % of the object
    assert page.bytes_read <= sum(fetched)


# --- the page on S3 --------------------------------------------------------------------------

def test_the_records_page_browses_s3(endpoint, bucket, monkeypatch, tmp_path):
    _, made = bucket
    monkeypatch.setenv("FLOWSCOPE_S3_LOCATION", f"s3://{BUCKET}/{PREFIX}")
    monkeypatch.setenv("FLOWSCOPE_S3_ENDPOINT_URL", endpoint)
    at = records_app(monkeypatch, tmp_path, rec_date="2026-09-21",
                     rec_object=made["four"].name).run()
    assert not at.exception and not errors(at)
    browse = at.tabs[0]
    assert browse.caption[0].value == f"Stored objects in s3://{BUCKET}/{PREFIX}"
    assert browse.selectbox(key="rec_account").options == [ACCOUNT_A, ACCOUNT_B]
    raw = browse.dataframe[0].value
    assert list(raw["raw"]) == [" ".join("-" if r.get(n) is None else str(r[n])
                                         for n in DEFAULT_FORMAT) for r in FOUR]
    assert any("fetched" in c.value for c in browse.caption)


# --- the sidebar's choices with Athena ------------------------------------------------------

def test_the_filter_choices_are_the_buckets_account_and_region_folders(endpoint, bucket):
    root, _ = bucket
    on_disk = objects.accounts_and_regions(objects.ObjectStore(LocalBackend(root),
                                                               EVERY_ACCOUNT))
    accounts, regions = objects.accounts_and_regions(s3_store(endpoint))
    assert (accounts, regions) == on_disk
    assert accounts == [ACCOUNT_A, ACCOUNT_B] and regions
    assert objects.accounts_and_regions(s3_store(endpoint, Scope(frozenset({ACCOUNT_B}))))[0] \
        == [ACCOUNT_B]  # within the user's scope only
    assert objects.accounts_and_regions(s3_store(endpoint), region_limit=0) == (accounts, [])


def test_the_sidebar_choices_come_from_the_bucket_and_survive_one_it_cannot_list(endpoint, bucket):
    import streamlit as st

    from lib import gui

    st.cache_data.clear()
    config = Settings(engine="athena", s3_location=f"s3://{BUCKET}/{PREFIX}",
                      s3_endpoint_url=endpoint)
    found = gui._bucket_accounts_and_regions(config.s3_location, "*", config, EVERY_ACCOUNT)
    assert found == objects.accounts_and_regions(s3_store(endpoint))
    missing = Settings(engine="athena", s3_location="s3://no-such-bucket/x",
                       s3_endpoint_url=endpoint)
    assert gui._bucket_accounts_and_regions(missing.s3_location, "*", missing,
                                            EVERY_ACCOUNT) == ([], [])
