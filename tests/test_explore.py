"""Explore's query kind `group` (issue 19): validation, hand-counted answers on a small
store, the columnar cache and rollups against raw reads, and the command line's JSON."""

import json

import pytest
import sqlglot
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from storefixture import ACCOUNT_A, ACCOUNT_B, T0, record, write_object
from test_fuzz_filters import INJECTIONS, comments, literals, names_in

from lib import cli, columnar, explore, rollups, schema
from lib.engines.duckdb_engine import DuckDBEngine
from lib.filters import parse_filters
from lib.iputil import network_bounds
from lib.query import ALL_ACCOUNTS, MAX_LIMIT, QueryError, Scope, Target, build, render
from lib.querycore import Query

WINDOW = {"start": str(T0), "end": str(T0 + 86400)}
FILTERS = parse_filters(WINDOW, 31)
V6_SRC = "2001:db8::10"


def write_explore_store(root):
    """Nine records one can count by hand (and a NODATA record that is no flow)."""
    write_object(root, [
        record("10.0.0.5", "10.0.1.9", 40001, 443, start=T0 + 100, bytes_=1000),
        record("10.0.0.6", "10.0.1.9", 40002, 443, start=T0 + 200, bytes_=2000),
        record("10.0.0.5", "10.0.1.9", 40003, 443, start=T0 + 3700, bytes_=500),
        record("198.51.100.7", "10.0.0.5", 51515, 22, start=T0 + 300, bytes_=40,
               action="REJECT"),
        record("198.51.100.8", "10.0.0.5", 51516, 22, start=T0 + 400, bytes_=60),
        record(V6_SRC, "2001:db8::20", 50000, 443, start=T0 + 500, bytes_=300),
        record(None, None, None, None, proto=None, start=T0 + 600, packets=None,
               bytes_=None, action=None, status="NODATA"),
    ])
    write_object(root, [
        record("172.16.0.10", "172.16.5.20", 45000, 8080, start=T0 + 800, bytes_=700,
               account=ACCOUNT_B, eni="eni-0b1b2c3d4e5f60001"),
        record("172.16.0.11", "172.16.5.20", 45001, 8080, start=T0 + 900, bytes_=50,
               account=ACCOUNT_B, eni="eni-0b1b2c3d4e5f60001", action="REJECT"),
    ], account=ACCOUNT_B, region="eu-west-1", flow_log="fl-0b23456789abcdef0")
    return root


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    return write_explore_store(tmp_path_factory.mktemp("explore"))


@pytest.fixture(scope="module")
def engine(store):
    return DuckDBEngine(str(store))


def grouped(engine, fields, measure="flows", top=20, scope=ALL_ACCOUNTS, conditions=None,
            filters=FILTERS):
    query = explore.group_query(filters, scope, fields, measure, top,
                                explore.parse_conditions(conditions or {}))
    return explore.records(engine.run(query).rows(), query)


# --- hand-counted answers --------------------------------------------------------------------

def test_port_and_action_flows_largest_first_ties_by_value(engine):
    assert grouped(engine, "dstport,action") == [
        {"dstport": 443, "action": "ACCEPT", "flows": 4},
        {"dstport": 22, "action": "ACCEPT", "flows": 1},
        {"dstport": 22, "action": "REJECT", "flows": 1},
        {"dstport": 8080, "action": "ACCEPT", "flows": 1},
        {"dstport": 8080, "action": "REJECT", "flows": 1},
    ]


def test_top_n_keeps_the_largest(engine):
    assert grouped(engine, "dstport,action", top=2) == [
        {"dstport": 443, "action": "ACCEPT", "flows": 4},
        {"dstport": 22, "action": "ACCEPT", "flows": 1},
    ]


def test_ipv4_prefixes_and_ipv6_48s_and_32s(engine):
    assert grouped(engine, "srcaddr/24", "bytes") == [
        {"srcaddr/24": "10.0.0.0/24", "bytes": 3500},
        {"srcaddr/24": "172.16.0.0/24", "bytes": 750},
        {"srcaddr/24": "2001:db8::/48", "bytes": 300},
        {"srcaddr/24": "198.51.100.0/24", "bytes": 100},
    ]
    assert grouped(engine, "dstaddr/16", "packets") == [
        {"dstaddr/16": "10.0.0.0/16", "packets": 50},
        {"dstaddr/16": "172.16.0.0/16", "packets": 20},
        {"dstaddr/16": "2001:db8::/32", "packets": 10},
    ]


IPV6_GROUPS = st.lists(st.one_of(st.just(0), st.integers(0, 15), st.integers(0, 0xFFFF)),
                       min_size=8, max_size=8)


@settings(max_examples=300, deadline=None)
@given(groups=IPV6_GROUPS, bits=st.sampled_from([24, 16]))
def test_ipv6_prefixes_are_pythons(groups, bits):
    """The SQL's /48 and /32 of any IPv6 address (zero runs anywhere, compressed as AWS
    writes addresses) is the network Python's ipaddress writes."""
    import ipaddress

    import duckdb
    import pyarrow as pa
    from sqlglot import exp

    from lib.query import prefix_of

    address = str(ipaddress.IPv6Address(int("".join(f"{g:04x}" for g in groups), 16)))
    db = duckdb.connect()
    db.register("addresses", pa.table({"a": [address]}))
    sql = exp.select(prefix_of("a", bits)).from_("addresses").sql(dialect="duckdb")
    got = db.execute(sql).fetchone()[0]
    length = 48 if bits == 24 else 32
    assert got == str(ipaddress.ip_network(f"{address}/{length}", strict=False))


def test_reject_rate_ties_by_flows_then_value(engine):
    assert grouped(engine, "dstport", "reject-rate") == [
        {"dstport": 22, "reject-rate": 0.5},
        {"dstport": 8080, "reject-rate": 0.5},
        {"dstport": 443, "reject-rate": 0.0},
    ]


def test_distinct_sources_and_destinations(engine):
    assert grouped(engine, "dstport", "sources") == [
        {"dstport": 443, "sources": 3}, {"dstport": 22, "sources": 2},
        {"dstport": 8080, "sources": 2}]
    assert grouped(engine, "account", "destinations") == [
        {"account": ACCOUNT_A, "destinations": 3}, {"account": ACCOUNT_B, "destinations": 1}]


def test_hour_and_day_are_utc_epoch_buckets(engine):
    assert grouped(engine, "hour") == [{"hour": T0, "flows": 7}, {"hour": T0 + 3600, "flows": 1}]
    assert grouped(engine, "day,region") == [
        {"day": T0, "region": "us-east-1", "flows": 6},
        {"day": T0, "region": "eu-west-1", "flows": 2}]


def test_three_fields(engine):
    rows = grouped(engine, "account,region,protocol", "bytes")
    assert rows == [{"account": ACCOUNT_A, "region": "us-east-1", "protocol": 6, "bytes": 3900},
                    {"account": ACCOUNT_B, "region": "eu-west-1", "protocol": 6, "bytes": 750}]


def test_conditions_narrow_the_groups(engine):
    assert grouped(engine, "srcaddr", conditions={"dstport": "22"}) == [
        {"srcaddr": "198.51.100.7", "flows": 1}, {"srcaddr": "198.51.100.8", "flows": 1}]
    assert grouped(engine, "dstport", conditions={"srcaddr": "10.0.0.0/8"}) == [
        {"dstport": 443, "flows": 3}]
    assert grouped(engine, "srcaddr", conditions={"srcaddr/24": "2001:db8::/32"}) == [
        {"srcaddr": V6_SRC, "flows": 1}]
    assert grouped(engine, "account", conditions={"action": "reject"}) == [
        {"account": ACCOUNT_A, "flows": 1}, {"account": ACCOUNT_B, "flows": 1}]
    assert grouped(engine, "dstport", conditions={"hour": str(T0 + 3900)}) == [
        {"dstport": 443, "flows": 1}]
    assert grouped(engine, "dstport", conditions={"dstport": "1-100", "protocol": "tcp",
                                                  "region": "us-east-1"}) == [
        {"dstport": 22, "flows": 2}]


def test_the_sidebar_filters_apply(engine):
    narrowed = parse_filters({**WINDOW, "action": "REJECT"}, 31)
    assert grouped(engine, "dstport", filters=narrowed) == [
        {"dstport": 22, "flows": 1}, {"dstport": 8080, "flows": 1}]


def test_the_account_scope_applies(engine):
    only_b = Scope(frozenset({ACCOUNT_B}))
    assert grouped(engine, "account,dstport", scope=only_b) == [
        {"account": ACCOUNT_B, "dstport": 8080, "flows": 2}]
    asked_a = parse_filters({**WINDOW, "account": ACCOUNT_A}, 31)
    assert grouped(engine, "account", scope=only_b, filters=asked_a) == []
    nobody = Scope(frozenset())
    assert grouped(engine, "account", scope=nobody) == []
    sql = render(explore.group_query(FILTERS, only_b, "dstport"), Target("athena", _table()))
    assert f"\"log_account\" IN ('{ACCOUNT_B}')" in sql


def _table():
    from sqlglot import exp

    return exp.to_table("flows_source")


# --- validation: nothing but the fixed lists and typed values reach the SQL -------------------

@pytest.mark.parametrize("fields", [
    "", "dstport,srcport,protocol,action", "dstport,dstport", "bytes", "start",
    'dstport") FROM flows; DROP TABLE flows; --', "dstport;1=1", "srcaddr/8", "ecs-task-id",
    "DSTPORT OR 1=1",
])
def test_bad_fields_are_refused(fields):
    with pytest.raises(QueryError):
        explore.group_query(FILTERS, ALL_ACCOUNTS, fields)


@pytest.mark.parametrize("measure", ["avg", "bytes; DROP TABLE flows", "", "count(*)"])
def test_bad_measures_are_refused(measure):
    with pytest.raises(QueryError):
        explore.group_query(FILTERS, ALL_ACCOUNTS, "dstport", measure)


@pytest.mark.parametrize("top", [0, -1, MAX_LIMIT + 1, True, "10"])
def test_top_is_bounded(top):
    with pytest.raises(QueryError):
        explore.group_query(FILTERS, ALL_ACCOUNTS, "dstport", top=top)
    assert explore.group_query(FILTERS, ALL_ACCOUNTS, "dstport", top=MAX_LIMIT).limit == MAX_LIMIT


@pytest.mark.parametrize("field, text", [
    ("srcaddr", "10.0.0.0/8' OR '1'='1"), ("srcaddr/24", "10.0.0.999"),
    ("srcaddr", "fe80::1%eth0"), ("dstport", "443; DROP TABLE flows"), ("dstport", "70000"),
    ("dstport", "４４３"), ("protocol", "tcp' --"), ("protocol", "300"),
    ("interface-id", "eni-0a1b' OR 1=1"), ("vpc-id", "vpc-zz"), ("account", "12345"),
    ("account", "０１２３４５６７８９０１"), ("region", "us-east-1'"), ("action", "DROP"),
    ("flow-direction", "sideways"), ("tcp-flags", "256"), ("traffic-path", "9"),
    ("traffic-path", "1 OR 1"), ("pkt-dst-aws-service", "S3' OR '1'='1"),
    ("hour", "yesterday"), ("day", "1999-01-01"), ("nosuchfield", "1"),
])
def test_bad_conditions_are_refused_with_the_field_named(field, text):
    with pytest.raises(explore.InvalidConditions) as refused:
        explore.parse_conditions({field: text})
    assert list(refused.value.errors) == [field]


def test_conditions_are_typed():
    conditions = explore.parse_conditions({
        "dstport": "443,8000-8080", "protocol": "udp", "action": "accept",
        "flow-direction": "EGRESS", "pkt-dst-aws-service": "s3", "account": ACCOUNT_A,
        "srcaddr": "10.0.0.5", "tcp-flags": "2,18", "day": str(T0 + 5000), "vpc-id": "",
    })
    by_field = {c.field: c for c in conditions}
    assert by_field["dstport"].ranges == ((443, 443), (8000, 8080))
    assert by_field["protocol"].values == (17,)
    assert by_field["action"].values == ("ACCEPT",)
    assert by_field["flow-direction"].values == ("egress",)
    assert by_field["pkt-dst-aws-service"].values == ("S3",)
    assert by_field["tcp-flags"].values == (2, 18)
    assert by_field["day"].ranges == ((T0, T0 + 86400),)
    assert str(by_field["srcaddr"].network) == "10.0.0.5/32"
    assert "vpc-id" not in by_field  # an empty box is no condition


def test_the_query_object_refuses_untyped_options():
    with pytest.raises(QueryError):
        explore.GroupQuery("group", FILTERS, scope=ALL_ACCOUNTS, fields=("dstport", "x"))
    with pytest.raises(QueryError):
        explore.GroupQuery("group", FILTERS, scope=ALL_ACCOUNTS, fields=["dstport"])
    with pytest.raises(QueryError):
        explore.GroupQuery("group", FILTERS, scope=ALL_ACCOUNTS, value="flows) --")
    with pytest.raises(QueryError):
        explore.GroupQuery("group", FILTERS, scope=ALL_ACCOUNTS, conditions=("1=1",))
    with pytest.raises(QueryError):
        explore.Condition("dstport", values=("443 OR 1=1",))  # a port needs ranges
    with pytest.raises(QueryError):
        explore.Condition("action", values=(object(),))
    with pytest.raises(QueryError):  # a network on a text field would be silently unused
        explore.Condition("action", network=parse_filters({**WINDOW, "src": "10.0.0.0/8"},
                                                          31).src, values=("ACCEPT",))
    with pytest.raises(QueryError):  # the scope is required, as for every kind
        explore.GroupQuery("group", FILTERS, scope=None)


def test_user_values_reach_the_sql_only_as_literals():
    """A hostile-looking but valid value (an AWS service name) is one string literal."""
    from sqlglot import exp

    query = explore.group_query(FILTERS, ALL_ACCOUNTS, "pkt-dst-aws-service", "bytes",
                                conditions=explore.parse_conditions(
                                    {"pkt-dst-aws-service": "DROP_TABLE"}))
    for dialect in ("duckdb", "athena"):
        sql = render(query, Target(dialect, _table()))
        parsed = sqlglot.parse_one(sql, read="trino" if dialect == "athena" else dialect)
        strings = {s.this for s in parsed.find_all(exp.Literal) if s.is_string}
        assert "DROP_TABLE" in strings
        assert len(sqlglot.parse(sql, read="trino" if dialect == "athena" else dialect)) == 1


def test_a_plain_query_of_kind_group_has_defaults():
    """The engines' generic tests build every kind as a plain Query."""
    query = Query("group", FILTERS, scope=ALL_ACCOUNTS, measure="packets")
    fields, measure, conditions = explore.options(query)
    assert [f.name for f in fields] == list(explore.DEFAULT_FIELDS)
    assert measure == "packets" and conditions == ()
    assert build(query, Target("duckdb", _table())) is not None


# --- the columnar cache and its rollups give the raw answer ------------------------------------

CACHED_CASES = [("dstport,action", "flows"), ("srcaddr/24", "bytes"), ("hour,action", "packets"),
                ("account,region", "sources"), ("dstaddr", "destinations"),
                ("day,dstport", "reject-rate"), ("srcaddr/16,dstaddr/24", "flows")]


@pytest.fixture(scope="module")
def cached_engines(store, tmp_path_factory):
    cache = tmp_path_factory.mktemp("explore-cache")
    columnar.build_cache(str(store), cache)
    return (DuckDBEngine(str(store), columnar_dir=str(cache), rollups=False),
            DuckDBEngine(str(store), columnar_dir=str(cache)))


@pytest.mark.parametrize("fields, measure", CACHED_CASES)
def test_cache_and_rollups_give_the_raw_answer(engine, cached_engines, fields, measure):
    records_engine, rollup_engine = cached_engines
    query = explore.group_query(FILTERS, ALL_ACCOUNTS, fields, measure)
    expected = engine.run(query).rows()
    assert expected
    assert records_engine.run(query).rows() == expected
    assert rollup_engine.run(query).rows() == expected
    assert records_engine.route(query) == "columnar"


def test_a_rollup_answers_where_it_is_exact():
    """Grouping by the rollups' own dimensions may read them; ports never can."""
    by_action = explore.group_query(FILTERS, ALL_ACCOUNTS, "account,action", "bytes")
    by_port = explore.group_query(FILTERS, ALL_ACCOUNTS, "dstport", "bytes")
    assert rollups.route(by_action) is not None
    assert rollups.route(by_port) is None


# --- the command line --------------------------------------------------------------------------

def run_cli(capsys, store, *argv):
    code = cli.main(["query", "--kind", "group", "--data", str(store), "--engine", "duckdb",
                     "--start", WINDOW["start"], "--end", WINDOW["end"], *argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_cli_prints_rows_keyed_by_aws_names(capsys, store):
    code, out, _ = run_cli(capsys, store, "--by", "dstport,action", "--measure", "flows",
                           "--top", "2", "--format", "json")
    assert code == 0
    assert json.loads(out) == [{"dstport": 443, "action": "ACCEPT", "flows": 4},
                               {"dstport": 22, "action": "ACCEPT", "flows": 1}]
    code, out, _ = run_cli(capsys, store, "--by", "pkt_dst_aws_service,srcaddr/24",
                           "--measure", "reject-rate")
    rows = json.loads(out)
    assert code == 0 and set(rows[0]) == {"pkt-dst-aws-service", "srcaddr/24", "reject-rate"}
    assert rows[0]["reject-rate"] == 0.5  # 198.51.100.0/24: one of two flows rejected


def test_cli_csv(capsys, store):
    code, out, _ = run_cli(capsys, store, "--by", "hour", "--format", "csv")
    assert code == 0
    assert out.splitlines() == ["hour,flows", f"{T0},7", f"{T0 + 3600},1"]


@pytest.mark.parametrize("argv, message", [
    (["--by", "dstport;drop"], "not a field to group by"),
    (["--by", "dstport", "--measure", "avg"], "not a measure"),
    ([], "needs --by"),
    (["--by", "a,b,c,d"], "not a field"),
    (["--by", "dstport,srcport,protocol,action"], "1 to 3 fields"),
    (["--by", "dstport", "--top", "0"], "top must be"),
])
def test_cli_refuses_bad_options(capsys, store, argv, message):
    code, out, err = run_cli(capsys, store, *argv)
    assert code == cli.EXIT_USAGE and out == ""
    assert message in err


def test_measure_belongs_to_group(capsys, store):
    code = cli.main(["query", "--kind", "top-talkers", "--data", str(store), "--start",
                     WINDOW["start"], "--end", WINDOW["end"], "--measure", "flows"])
    assert code == cli.EXIT_USAGE
    assert "--measure" in capsys.readouterr().err


# --- drill-down: a row becomes Search filters ---------------------------------------------------

def test_a_row_drills_into_its_values_within_the_sidebar_and_the_conditions():
    sidebar = parse_filters({**WINDOW, "src": "10.0.0.0/8", "dst_port": "1-1000",
                             "protocol": "tcp,udp"}, 31)
    query = explore.group_query(sidebar, ALL_ACCOUNTS, "srcaddr/24,hour", conditions=(
        explore.parse_conditions({"dstport": "443,8000-9000", "protocol": "udp,icmp",
                                  "account": ACCOUNT_A})))
    row = {"srcaddr_24": "10.0.1.0/24", "hour_start": T0 + 3600, "flows": 3}
    assert explore.unfilterable(query, row) == []
    assert explore.drill(sidebar, query, row) == {
        "start": str(T0 + 3600), "end": str(T0 + 7200), "account": ACCOUNT_A,
        "src": "10.0.1.0/24", "dst_port": "443", "protocol": "17"}


def test_a_narrower_sidebar_network_is_kept():
    sidebar = parse_filters({**WINDOW, "dst": "10.0.1.9"}, 31)
    query = explore.group_query(sidebar, ALL_ACCOUNTS, "dstaddr/16")
    assert explore.drill(sidebar, query, {"dstaddr_16": "10.0.0.0/16"})["dst"] == "10.0.1.9/32"


def test_what_search_cannot_filter_on_is_named():
    query = explore.group_query(FILTERS, ALL_ACCOUNTS, "vpc-id,tcp-flags", conditions=(
        explore.parse_conditions({"flow-direction": "egress"})))
    assert explore.unfilterable(query, {"vpc_id": None, "tcp_flags": 2}) == [
        "vpc-id", "tcp-flags", "flow-direction"]
    assert explore.unfilterable(query, {"vpc_id": "vpc-0a1b2c3d", "tcp_flags": 2}) == [
        "tcp-flags", "flow-direction"]
    assert explore.drill(FILTERS, query, {"vpc_id": "vpc-0a1b2c3d", "tcp_flags": 2}) == {
        **WINDOW, "vpc": "vpc-0a1b2c3d"}


# --- fuzzed conditions: refused, or carried only as typed literals ------------------------------

FUZZ_TARGETS = {"duckdb": Target("duckdb", _table()), "athena": Target("athena", _table())}


def allowed_names() -> set[str]:
    """The schema's names, the logical table and the aliases of every field and measure."""
    return ({f.column for f in schema.FIELDS} | {schema.LOG_ACCOUNT, schema.LOG_REGION,
                                                 "src_key", "dst_key", "flows", "flows_source"}
            | {f.alias for f in explore.EXPLORE_FIELDS} | set(explore.GROUP_MEASURES.values()))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(field=st.sampled_from(explore.FIELD_NAMES),
       text=st.one_of(st.text(max_size=60), st.sampled_from(INJECTIONS)))
def test_fuzzed_conditions_are_refused_or_typed(field, text):
    try:
        conditions = explore.parse_conditions({field: text})
    except explore.InvalidConditions as refused:
        assert list(refused.errors) == [field]
        return
    query = explore.group_query(FILTERS, ALL_ACCOUNTS, [field], conditions=conditions)
    bare = explore.group_query(FILTERS, ALL_ACCOUNTS, [field])
    for dialect, target in FUZZ_TARGETS.items():
        read = "trino" if dialect == "athena" else dialect
        statements = sqlglot.parse(render(query, target), read=read)
        assert len(statements) == 1 and not comments(statements[0])
        assert names_in(statements[0]) <= allowed_names() | {"IPADDRESS"}
        added = literals(statements[0]) - literals(sqlglot.parse_one(render(bare, target), read=read))
        typed = {str(v) for c in conditions for v in c.values} | {
            str(n) for c in conditions for r in c.ranges for n in r}
        for c in conditions:
            if c.network is not None:
                typed |= {str(c.network.network_address), str(c.network.broadcast_address),
                          *network_bounds(c.network)}
        assert {value for _, value in added} <= typed, added
