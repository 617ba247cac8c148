"""The Traffic page's query kinds on a hand-made store: every number counted by hand.

The store (two hours from T0, and the two hours before for the previous period):

* ENI A (10.0.0.5) and ENI B (10.0.1.9) both log one conversation 10.0.0.5 -> 10.0.1.9:5432
  (request 5,000 B / 10 packets, response 20,000 B / 20 packets, both at T0+100);
* 198.51.100.7 rejected on 10.0.0.5 ports 22 (T0+200) and 23 (T0+260); 203.0.113.9 on
  10.0.1.9 port 22 (T0+3900, the second hour);
* a scanner 192.0.2.66 rejected on 10.0.0.5 ports 1-20 (T0+600..619, 44 B, 1 packet each);
* ENI B's responses from 10.0.1.9:5432 to 20 clients 198.18.0.1-20 (ports 40001-40020)
  rejected by a network ACL (T0+1200..1219, 60 B, 1 packet each): not a scan;
* ENI C (v5 format with flow-direction, instance and VPC) 10.0.2.7 -> 192.0.2.200:443,
  300 B / 3 packets at T0+130, egress;
* a NODATA record (no traffic), and in the previous period 10.0.0.5 -> 10.0.1.9 (10,000 B,
  10 packets) and a reject of 198.51.100.7 on port 22 (40 B, 1 packet).
"""

import json

import pytest
import sqlglot
from sqlglot import exp
from storefixture import T0, V5_FORMAT, record, write_object

from lib.cli import main
from lib.engines.duckdb_engine import DuckDBEngine
from lib.filters import parse_filters
from lib.query import ALL_ACCOUNTS, KIND_BUILDERS, Query, QueryError, Target, render

ENI_A, ENI_B, ENI_C = "eni-0a1b2c3d4e5f60001", "eni-0a1b2c3d4e5f60002", "eni-0a1b2c3d4e5f60003"
INSTANCE_C, VPC_C = "i-0123456789abcdef0", "vpc-0a1b2c3d"
WINDOW = {"start": str(T0), "end": str(T0 + 7200)}
TRAFFIC_KINDS = ("summary", "rejected-ports", "rejected-heatmap", "scans", "labels")


def write_traffic_store(root):
    conversation = [
        record("10.0.0.5", "10.0.1.9", 40001, 5432, start=T0 + 100, packets=10, bytes_=5000),
        record("10.0.1.9", "10.0.0.5", 5432, 40001, start=T0 + 100, packets=20, bytes_=20000),
    ]
    write_object(root, [
        *[{**r, "interface-id": ENI_A} for r in conversation],
        record("198.51.100.7", "10.0.0.5", 50000, 22, start=T0 + 200, packets=1, bytes_=40,
               action="REJECT", eni=ENI_A),
        record("198.51.100.7", "10.0.0.5", 50001, 23, start=T0 + 260, packets=1, bytes_=40,
               action="REJECT", eni=ENI_A),
        *[record("192.0.2.66", "10.0.0.5", 55555, port, start=T0 + 599 + port, packets=1,
                 bytes_=44, action="REJECT", eni=ENI_A) for port in range(1, 21)],
        record(None, None, None, None, proto=None, start=T0 + 300, packets=None, bytes_=None,
               action=None, status="NODATA", eni=ENI_A),
        *[{**r, "interface-id": ENI_B} for r in conversation],
        *[record("10.0.1.9", f"198.18.0.{i}", 5432, 40000 + i, start=T0 + 1199 + i, packets=1,
                 bytes_=60, action="REJECT", eni=ENI_B) for i in range(1, 21)],
    ])
    # delivered an hour later, in its own object (as AWS delivers every 5 minutes)
    write_object(root, [record("203.0.113.9", "10.0.1.9", 41000, 22, start=T0 + 3900,
                               packets=1, bytes_=40, action="REJECT", eni=ENI_B)])
    write_object(root, [
        record("10.0.2.7", "192.0.2.200", 45000, 443, start=T0 + 130, packets=3, bytes_=300,
               eni=ENI_C, version=5, instance_id=INSTANCE_C, vpc_id=VPC_C,
               flow_direction="egress", subnet_id="subnet-0a1b2c3d"),
    ], flow_log="fl-0fedcba9876543210", fmt=V5_FORMAT)
    write_object(root, [
        record("10.0.0.5", "10.0.1.9", 40002, 5432, start=T0 - 1000, packets=10, bytes_=10000,
               eni=ENI_A),
        record("198.51.100.7", "10.0.0.5", 50002, 22, start=T0 - 900, packets=1, bytes_=40,
               action="REJECT", eni=ENI_A),
    ], flow_log="fl-0aaaabbbbccccdddd")
    return root


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    return write_traffic_store(tmp_path_factory.mktemp("traffic"))


@pytest.fixture(scope="module")
def engine(store):
    return DuckDBEngine(str(store))


def rows(engine, kind, raw=None, **options):
    return engine.run(Query(kind, parse_filters({**WINDOW, **(raw or {})}), **options, scope=ALL_ACCOUNTS)).rows()


def test_summary_counts_flows_not_nodata(engine):
    assert rows(engine, "summary") == [{
        "bytes": 52_500, "packets": 106, "flows": 48, "sources": 6, "destinations": 23,
        "rejects": 43}]
    previous = {"start": str(T0 - 7200), "end": str(T0)}
    assert rows(engine, "summary", previous) == [{
        "bytes": 10_040, "packets": 11, "flows": 2, "sources": 2, "destinations": 2,
        "rejects": 1}]


def test_summary_of_nothing_is_zeros(engine):
    empty = {"start": str(T0 + 86400), "end": str(T0 + 90000)}
    assert rows(engine, "summary", empty) == [{
        "bytes": 0, "packets": 0, "flows": 0, "sources": 0, "destinations": 0, "rejects": 0}]


def test_top_talkers_ties_are_broken_by_address(engine):
    by_flows = rows(engine, "top-talkers", group="src", measure="flows", top=10)
    assert [(r["srcaddr"], r["flows"]) for r in by_flows] == [
        ("10.0.1.9", 22), ("192.0.2.66", 20), ("10.0.0.5", 2), ("198.51.100.7", 2),
        ("10.0.2.7", 1), ("203.0.113.9", 1)]
    assert by_flows[0] == {"srcaddr": "10.0.1.9", "bytes": 41_200, "packets": 60, "flows": 22}


def test_rejected_ports_rank_by_measure_then_port(engine):
    ports = rows(engine, "rejected-ports", measure="flows", top=4)
    assert [(r["dstport"], r["protocol"], r["flows"]) for r in ports] == [
        (22, 6, 2), (1, 6, 1), (2, 6, 1), (3, 6, 1)]
    assert ports[0] == {"dstport": 22, "protocol": 6, "bytes": 80, "packets": 2,
                        "flows": 2, "sources": 2, "destinations": 2}


def test_rejected_heatmap_counts_utc_hours_of_the_top_ports(engine):
    cells = rows(engine, "rejected-heatmap", top=2)
    assert [(r["port_rank"], r["dstport"], r["hour"], r["flows"], r["port_flows"])
            for r in cells] == [(1, 22, 0, 1, 2), (1, 22, 1, 1, 2), (2, 1, 0, 1, 1)]


def test_scans_find_the_scanner_not_the_server_whose_responses_were_dropped(engine):
    assert rows(engine, "scans") == [{
        "srcaddr": "192.0.2.66", "max_ports": 20, "max_hosts": 1, "scan_hours": 1, "flows": 20,
        "first_start": T0 + 600, "last_start": T0 + 619}]


def test_scans_need_the_threshold_within_one_hour(engine):
    # the first 10 minutes hold only 19 of the scanner's 20 ports
    assert rows(engine, "scans", {"end": str(T0 + 619)}) == []


def test_labels_name_each_interface_by_its_own_address(engine):
    labels = {r["address"]: r for r in rows(engine, "labels")}
    assert {a: r["interface_id"] for a, r in labels.items()} == {
        "10.0.0.5": ENI_A, "10.0.1.9": ENI_B, "10.0.2.7": ENI_C}
    assert labels["10.0.2.7"]["instance_id"] == INSTANCE_C
    assert labels["10.0.2.7"]["vpc_id"] == VPC_C
    assert labels["10.0.0.5"]["flows"] == 24  # every record of ENI A has its address


def test_labels_of_listed_addresses_read_only_their_records(engine):
    listed = rows(engine, "labels", addresses=("10.0.0.5", "192.0.2.66", "10.0.2.7"))
    assert [(r["address"], r["interface_id"], r["flows"]) for r in listed] == [
        ("10.0.0.5", ENI_A, 24), ("10.0.2.7", ENI_C, 1)]  # the scanner owns no interface
    with pytest.raises(QueryError):
        Query("labels", parse_filters(WINDOW), addresses=("10.0.0.5') OR ('1'='1",), scope=ALL_ACCOUNTS)


def test_an_interface_with_one_peer_and_no_direction_is_left_unlabelled(tmp_path):
    write_object(tmp_path, [record("10.9.0.1", "10.9.0.2", 40000, 443, start=T0 + 10),
                            record("10.9.0.2", "10.9.0.1", 443, 40000, start=T0 + 10)])
    assert DuckDBEngine(str(tmp_path)).run(Query("labels", parse_filters(WINDOW), scope=ALL_ACCOUNTS)).rows() == []


def test_timeline_puts_a_flow_in_the_bucket_of_its_start(engine):
    timeline = rows(engine, "timeline", bucket=3600)
    assert [(r["bucket_start"], r["action"], r["flows"], r["bytes"]) for r in timeline] == [
        (T0, "ACCEPT", 5, 50_300), (T0, "REJECT", 42, 2_160), (T0 + 3600, "REJECT", 1, 40)]


def test_scope_limits_every_traffic_kind(engine):
    from lib.query import Scope

    nobody = Scope(frozenset({"999999999999"}))
    for kind in ("rejected-ports", "rejected-heatmap", "scans", "labels"):
        assert engine.run(Query(kind, parse_filters(WINDOW), scope=nobody)).rows() == []
    summary = engine.run(Query("summary", parse_filters(WINDOW), scope=nobody)).rows()
    assert summary[0]["flows"] == 0


TARGETS = [Target("duckdb", exp.Table(this=exp.to_identifier("src"))),
           Target("athena", exp.Table(this=exp.to_identifier("vpc_flow_logs")))]


@pytest.mark.parametrize("target", TARGETS, ids=lambda t: t.dialect)
@pytest.mark.parametrize("kind", TRAFFIC_KINDS)
def test_sql_parses_in_both_dialects_without_date_functions(kind, target):
    query = Query(kind, parse_filters({**WINDOW, "src": "10.0.0.0/8", "dst_port": "22,443"}), scope=ALL_ACCOUNTS)
    sql = render(query, target)
    tree = sqlglot.parse_one(sql, read=target.dialect)
    assert tree is not None
    functions = {type(node).__name__ for node in tree.find_all(exp.Func)}
    assert not functions & {"TimeToStr", "UnixToTime", "Hour", "Extract", "DateTrunc",
                            "TimestampTrunc", "StrToTime"}, functions


def test_hour_of_day_is_integer_arithmetic_in_athena():
    query = Query("rejected-heatmap", parse_filters(WINDOW), scope=ALL_ACCOUNTS)
    sql = render(query, TARGETS[1])
    assert '"start" % 86400' in sql and "DOUBLE) / 3600" in sql  # truncated, cast to BIGINT


def test_every_traffic_kind_is_registered():
    assert set(TRAFFIC_KINDS) <= set(KIND_BUILDERS)


def test_options_outside_the_fixed_lists_are_refused():
    with pytest.raises(QueryError):
        Query("rejected-ports", parse_filters(WINDOW), measure="bytes; DROP TABLE x", scope=ALL_ACCOUNTS)
    with pytest.raises(QueryError):
        Query("scans", parse_filters(WINDOW), top=0, scope=ALL_ACCOUNTS)


def cli(capsys, store, *args):
    """The command line in this process (the same entry point as `python -m lib.cli`)."""
    code = main([*args, "--data", str(store), "--engine", "duckdb", "--start", WINDOW["start"],
                 "--end", WINDOW["end"]])
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_top_talkers_and_timeline_keep_their_contract(capsys, store):
    code, out, err = cli(capsys, store, "query", "--kind", "top-talkers", "--group", "dst",
                         "--by", "packets", "--top", "2")
    assert code == 0, err
    assert json.loads(out) == [
        {"dstaddr": "10.0.0.5", "bytes": 40_960, "packets": 62, "flows": 24},
        {"dstaddr": "10.0.1.9", "bytes": 10_040, "packets": 21, "flows": 3}]
    code, out, err = cli(capsys, store, "query", "--kind", "timeline", "--bucket", "3600")
    assert code == 0, err
    assert json.loads(out)[-1] == {"bucket_start": T0 + 3600, "action": "REJECT", "flows": 1,
                                   "bytes": 40, "packets": 1}


def test_cli_runs_the_traffic_kinds(capsys, store):
    code, out, err = cli(capsys, store, "query", "--kind", "rejected-ports", "--by", "flows",
                         "--top", "1")
    assert code == 0, err
    assert json.loads(out) == [{"dstport": 22, "protocol": 6, "bytes": 80, "packets": 2,
                                "flows": 2, "sources": 2, "destinations": 2}]
    code, out, err = cli(capsys, store, "sql", "--kind", "scans")
    assert code == 0, err
    assert "GREATEST" in out.upper() and "HAVING" in out.upper()
    code, _, err = cli(capsys, store, "query", "--kind", "scans", "--by", "nonsense")
    assert code == 2 and "measure" in err
