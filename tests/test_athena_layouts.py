"""Every field order read right: `lib.cli ddl` without accounts or regions lists the bucket,
reads a header per flow log and declares one table per field order plus a view uniting
them; the app warns about a flow log that no table reads in its own order."""

import threading
import time

import boto3
import pytest
from fake_athena import build_store, shared_fake
from storefixture import ACCOUNT_A, ACCOUNT_B, T0, V5_FORMAT, record, write_object
from streamlit.testing.v1 import AppTest

from lib import cli
from lib.athena_ddl import layout_warnings
from lib.engines.athena import AthenaEngine
from lib.engines.duckdb_engine import DuckDBEngine
from lib.filters import parse_filters
from lib.query import ALL_ACCOUNTS, KIND_BUILDERS, Query, Scope

# A custom order of the newest fields, reject-reason included, in yet another order.
V8_FORMAT = ["version", "interface-id", "account-id", "action", "srcaddr", "srcport",
             "dstaddr", "dstport", "protocol", "bytes", "packets", "start", "end",
             "flow-direction", "reject-reason", "log-status"]
WINDOW = {"start": str(T0), "end": str(T0 + 2 * 86400)}
FILTER_SETS = [
    ("everything", {}, ALL_ACCOUNTS),
    ("ipv4-cidr-port", {"src": "10.0.0.0/8", "dst_port": "443,22"}, ALL_ACCOUNTS),
    ("ipv6-cidr", {"dst": "2001:db8::/32"}, ALL_ACCOUNTS),
    ("rejects", {"action": "REJECT"}, ALL_ACCOUNTS),
    ("one-account", {}, Scope(frozenset({ACCOUNT_A}))),
]


def mixed_store(root):
    """The fixture store, and in its busiest folder (account A, us-east-1) two more flow
    logs with other field orders: a v5 custom order (IPv6 and IPv4) and a v8 order."""
    build_store(root)
    v5 = dict(version=5, vpc_id="vpc-0a1b2c3d", subnet_id="subnet-0a1b2c3d",
              instance_id="i-0a1b2c3d4e5f60009", region="us-east-1", az_id="use1-az1")
    write_object(root, [
        record("2001:db8::77", "2001:db8:0:2::5", 52000 + n, 443, start=T0 + 900 + 30 * n,
               flow_direction="egress", eni="eni-0a1b2c3d4e5f60009", bytes_=7000 + n, **v5)
        for n in range(4)] + [
        record("10.0.9.9", "10.0.1.9", 41000, 22, start=T0 + 950, action="REJECT",
               flow_direction="ingress", eni="eni-0a1b2c3d4e5f60009", **v5)],
        flow_log="fl-0c00000000000000a", fmt=V5_FORMAT)
    write_object(root, [
        record("10.0.7.7", "10.0.0.5", 42000 + n, 443, start=T0 + 1200 + 60 * n, version=8,
               flow_direction="ingress", reject_reason="BPA" if n == 2 else None,
               action="REJECT" if n == 2 else "ACCEPT", eni="eni-0a1b2c3d4e5f60008")
        for n in range(3)], flow_log="fl-0d00000000000000b", fmt=V8_FORMAT)
    return root


@pytest.fixture(scope="module")
def fake():
    return shared_fake()


@pytest.fixture(scope="module")
def bucket(fake, tmp_path_factory):
    """The mixed store in moto's S3, and its DuckDB engine."""
    root = mixed_store(tmp_path_factory.mktemp("mixed-orders"))
    location = fake.upload_store(root, "mixed-orders")
    return root, location


@pytest.fixture(autouse=True)
def aws(fake, monkeypatch):
    for key, value in fake.environment_variables().items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("FLOWSCOPE_CONFIG", "/nonexistent")


def ddl(capsys, fake, location, *options) -> list[str]:
    code = cli.main(["ddl", "--location", location, "--s3-endpoint-url", fake.endpoint,
                     *options])
    out, err = capsys.readouterr()
    assert code == cli.EXIT_OK, err
    return [s.strip() for s in out.split(";\n\n") if s.strip().rstrip(";")]


def declare(fake, statements) -> None:
    for statement in statements:
        fake.execute(statement.rstrip(";"))


def answers(engine, kinds_and_filters):
    return [engine.run(Query(kind, parse_filters({**WINDOW, **raw}), scope=scope)).rows()
            for kind, raw, scope in kinds_and_filters]


CASES = [(kind, raw, scope) for kind in KIND_BUILDERS for _, raw, scope in FILTER_SETS]


def test_the_ddl_finds_every_field_order_and_declares_a_table_for_each(capsys, fake, bucket):
    _, location = bucket
    statements = ddl(capsys, fake, location, "--database", "orders", "--table", "flows")
    creates = [s for s in statements if s.startswith("CREATE EXTERNAL TABLE")]
    assert len(creates) == 3  # default, v5 custom, v8 custom
    view = statements[-1]
    assert view.startswith('CREATE OR REPLACE VIEW "orders"."flows"')
    assert "fl-0c00000000000000a" in view and "fl-0d00000000000000b" in view
    assert f"'projection.log_account.values' = '{ACCOUNT_A},{ACCOUNT_B}'" in creates[0]


def test_a_mixed_order_bucket_answers_as_duckdb_does_for_every_kind(capsys, fake, bucket):
    root, location = bucket
    declare(fake, ddl(capsys, fake, location, "--database", "mixed", "--table", "flows"))
    athena = AthenaEngine(fake.settings(athena_database="mixed", athena_table="flows"),
                          poll_interval=0.01)
    duck = DuckDBEngine(str(root))
    expected = answers(duck, CASES)
    assert answers(athena, CASES) == expected
    assert all(expected[n] for n, (_, raw, scope) in enumerate(CASES)
               if not raw and scope is ALL_ACCOUNTS)


def test_one_table_for_a_mixed_folder_gives_wrong_answers(capsys, fake, bucket):
    """What one text table (the DDL before this) does to the same bucket: the trap."""
    root, location = bucket
    declare(fake, ddl(capsys, fake, location, "--database", "single", "--table", "flows",
                      "--accounts", f"{ACCOUNT_A},{ACCOUNT_B}",
                      "--regions", "us-east-1,eu-west-1,ap-northeast-1"))
    athena = AthenaEngine(fake.settings(athena_database="single", athena_table="flows"),
                          poll_interval=0.01)
    wrong = [n for n, (got, expected) in enumerate(zip(
        answers(athena, CASES), answers(DuckDBEngine(str(root)), CASES), strict=True))
        if got != expected]
    assert len(wrong) >= len(CASES) // 2


def test_the_app_check_names_the_folder_the_flow_log_and_the_fix(capsys, fake, bucket):
    _, location = bucket
    declare(fake, ddl(capsys, fake, location, "--database", "checked", "--table", "flows",
                      "--accounts", f"{ACCOUNT_A},{ACCOUNT_B}",
                      "--regions", "us-east-1,eu-west-1,ap-northeast-1"))
    settings = fake.settings(athena_database="checked", athena_table="flows",
                             s3_location=location, s3_endpoint_url=fake.endpoint)
    warnings = layout_warnings(settings)
    named = {w.split()[2] for w in warnings}
    assert named == {"fl-0c00000000000000a", "fl-0d00000000000000b", "fl-0fedcba9876543210"}
    first = next(w for w in warnings if "fl-0c00000000000000a" in w)
    assert f"{location}/AWSLogs/{ACCOUNT_A}/vpcflowlogs/us-east-1/" in first
    assert f"python -m lib.cli ddl --location {location}" in first
    # The tables the discovering DDL declares leave nothing to warn about.
    declare(fake, ddl(capsys, fake, location, "--database", "checked2", "--table", "flows"))
    assert layout_warnings(fake.settings(athena_database="checked2", athena_table="flows",
                                         s3_location=location,
                                         s3_endpoint_url=fake.endpoint)) == []


def test_the_start_page_shows_the_warning(fake, bucket, monkeypatch):
    from apptest import app

    _, location = bucket
    at = app(monkeypatch, "/nonexistent", start=WINDOW["start"], end=WINDOW["end"])
    athena_env(monkeypatch, fake.settings(athena_database="checked", athena_table="flows",
                                          s3_location=location, s3_endpoint_url=fake.endpoint))
    shown = " ".join(w.value for w in shown_after_check(at))
    assert "fl-0c00000000000000a" in shown and "lib.cli ddl" in shown


def shown_after_check(at, runs: int = 60):
    """The page's warnings once the background check has ended (it may take a few runs).
    Each look is a new session's first run: AppTest drops the frame's elements (drawn
    before st.navigation) from its tree on a session's later runs."""
    for _ in range(runs):
        fresh = AppTest.from_file(at._script_path, default_timeout=60)
        fresh.session_state["start"], fresh.session_state["end"] = WINDOW["start"], WINDOW["end"]
        fresh.run(timeout=60)
        if not any("Checking in the background" in c.value for c in fresh.caption):
            return fresh.warning
        time.sleep(0.5)
    raise AssertionError("the layout check never ended")


def athena_env(monkeypatch, settings):
    for key, value in settings.__dict__.items():
        if key.startswith(("athena_", "s3_")) or key == "engine":
            monkeypatch.setenv(f"FLOWSCOPE_{key.upper()}", str(value))


def test_a_slow_bucket_check_does_not_hold_the_page(fake, bucket, monkeypatch):
    """A large bucket's listing takes long: the page draws at once, says the check runs,
    and shows its warning on a later run (before, the first run waited for the check)."""
    from apptest import app

    from lib import athena_ddl

    release = threading.Event()

    def slow_check(settings):
        release.wait(120)
        return ["A flow log in s3://slow-bucket/x is read with the wrong field order."]

    monkeypatch.setattr(athena_ddl, "layout_warnings", slow_check)
    _, location = bucket
    at = app(monkeypatch, "/nonexistent", start=WINDOW["start"], end=WINDOW["end"])
    athena_env(monkeypatch, fake.settings(athena_database="slowcheck", athena_table="flows",
                                          s3_location=location, s3_endpoint_url=fake.endpoint))
    try:
        at.run(timeout=20)
        assert not at.exception
        assert any("Checking in the background" in c.value for c in at.caption)
        assert not any("wrong field order" in w.value for w in at.warning)
    finally:
        release.set()
    shown = " ".join(w.value for w in shown_after_check(at))
    assert "s3://slow-bucket/x" in shown


def test_an_unreadable_catalog_is_said_not_hidden(fake, bucket):
    _, location = bucket
    settings = fake.settings(athena_database="nowhere", athena_table="flows",
                             s3_location=location, s3_endpoint_url=fake.endpoint)
    (warning,) = layout_warnings(settings)
    assert warning.startswith("Could not check") and "lib.cli ddl" in warning


def test_without_athena_or_a_bucket_nothing_is_checked(fake):
    assert layout_warnings(fake.settings()) == []  # no s3_location
    assert layout_warnings(fake.settings(engine="duckdb", s3_location="s3://x-bucket/p")) == []


def test_glue_tables_keep_the_columns_in_the_files_order(fake):
    glue = boto3.client("glue", region_name=fake.region, endpoint_url=fake.endpoint)
    table = glue.get_table(DatabaseName=fake.database, Name=f"{fake.table}_2")["Table"]
    names = [c["Name"] for c in table["StorageDescriptor"]["Columns"]]
    assert names[:3] == ["version", "srcaddr", "dstaddr"]  # the v5 custom order
