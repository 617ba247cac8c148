"""The Athena side without a network: its SQL, partition predicates, DDL, CLI and the cache."""

from datetime import date

import pytest
import sqlglot
from sqlglot import exp
from storefixture import ACCOUNT_A, ACCOUNT_B, T0, record, write_object

from lib import cli, schema
from lib.athena_ddl import create_table_sql
from lib.cache import ResultCache
from lib.config import Settings
from lib.engines import get_engine, result_cache
from lib.engines.athena import AthenaEngine, delivery_days, scan_cost
from lib.filters import Filters, parse_filters
from lib.query import ALL_ACCOUNTS, KIND_BUILDERS, Query, QueryError, Scope

SETTINGS = Settings(engine="athena", athena_database="flowlogs", athena_table="vpc",
                    late_margin_s=3600)
DAY = 86400


def athena_sql(kind="search", settings=SETTINGS, scope=ALL_ACCOUNTS, **raw):
    raw.setdefault("start", str(T0 + 3600))
    raw.setdefault("end", str(T0 + 7200))
    return AthenaEngine(settings).sql(Query(kind, parse_filters(raw), scope=scope))


def where_terms(sql: str) -> list[str]:
    """The conjuncts of the WHERE that reads the table, as Athena SQL."""
    tree = sqlglot.parse_one(sql, read="athena")
    select = next(s for s in tree.find_all(exp.Select)
                  if s.args.get("from_") and s.args["from_"].this.name == "flows")
    return [c.sql(dialect="athena") for c in conjuncts(select.args["where"].this)]


def conjuncts(node: exp.Expression) -> list[exp.Expression]:
    node = node.unnest()
    if isinstance(node, exp.And):
        return conjuncts(node.left) + conjuncts(node.right)
    return [node]


@pytest.mark.parametrize("kind", list(KIND_BUILDERS))
def test_every_kind_parses_in_athena_and_carries_its_partitions(kind):
    sql = athena_sql(kind, src="10.0.0.0/8", dst="2001:db8::/32", dst_port="443,8000-8080",
                     protocol="tcp", action="REJECT", account=ACCOUNT_A, region="us-east-1")
    tree = sqlglot.parse_one(sql, read="athena")
    tables = {t.sql(dialect="athena") for t in tree.find_all(exp.Table)}
    assert tables - {'"flows"'} == {'"flowlogs"."vpc"'}  # "flows" is the CTE over the table
    terms = " AND ".join(where_terms(sql))
    assert "\"log_day\" BETWEEN '2026/09/21' AND '2026/09/21'" in terms
    assert f"\"log_account\" IN ('{ACCOUNT_A}')" in terms  # partition column: prunes
    assert "\"log_region\" IN ('us-east-1')" in terms


def test_day_partitions_keep_the_late_arrival_margin():
    # 23:00-24:00 on day 0: records may be delivered (and filed) on day 1.
    assert delivery_days(T0 + 23 * 3600, T0 + DAY, 3600) == [date(2026, 9, 21),
                                                             date(2026, 9, 22)]
    # Midday: one day folder.
    assert delivery_days(T0 + 12 * 3600, T0 + 13 * 3600, 3600) == [date(2026, 9, 21)]
    # Just after midnight: an object delivered up to 5 minutes early lies in day -1.
    assert delivery_days(T0 + 60, T0 + 120, 3600)[0] == date(2026, 9, 20)


def test_parquet_layout_names_each_month_exactly():
    settings = Settings(engine="athena", athena_layout="parquet", late_margin_s=3600)
    start = T0 + 9 * DAY + 12 * 3600  # 2026-09-30 12:00
    terms = where_terms(athena_sql(settings=settings, start=str(start),
                                   end=str(start + DAY)))
    day_term = next(t for t in terms if '"year"' in t)
    assert day_term == ("(\"year\" = '2026' AND \"month\" = '09' AND \"day\" IN ('30')) OR "
                        "(\"year\" = '2026' AND \"month\" = '10' AND \"day\" IN ('01'))")


def test_a_query_without_a_time_bound_is_refused():
    with pytest.raises(QueryError, match="time range"):
        Query("search", Filters(start=None, end=None), scope=ALL_ACCOUNTS)
    with pytest.raises(QueryError, match="time range"):
        delivery_days(None, T0, 3600)


def test_unknown_layout_is_refused():
    with pytest.raises(Exception, match="athena_layout"):
        AthenaEngine(Settings(engine="athena", athena_layout="orc"))


def test_scan_cost_follows_athenas_billing():
    assert scan_cost(None, 5.0) is None
    assert scan_cost(0, 5.0) == 0.0  # a reused result scans nothing
    assert scan_cost(1, 5.0) == pytest.approx(10 / 1024 ** 2 * 5.0)  # 10 MB minimum
    assert scan_cost(1024 ** 4, 5.0) == pytest.approx(5.0)


# --- the command line --------------------------------------------------------------------

def run_cli(capsys, *argv):
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_sql_for_athena_needs_no_network(capsys, monkeypatch):
    def no_network(self):
        raise AssertionError("sql must not connect")

    monkeypatch.setattr(AthenaEngine, "connection", no_network)
    monkeypatch.setenv("FLOWSCOPE_ATHENA_DATABASE", "flowlogs")
    code, out, _ = run_cli(capsys, "sql", "--engine", "athena", "--kind", "top-talkers",
                           "--start", "2026-09-21T10:00Z", "--end", "2026-09-21T11:00Z",
                           "--dst", "10.0.0.0/8", "--account", ACCOUNT_B)
    assert code == cli.EXIT_OK
    sql = out.strip()
    assert sqlglot.parse_one(sql, read="athena") is not None
    terms = where_terms(sql)
    assert "\"log_day\" BETWEEN '2026/09/21' AND '2026/09/21'" in terms
    assert f"\"log_account\" IN ('{ACCOUNT_B}')" in terms
    assert ("TRY_CAST(\"dstaddr\" AS IPADDRESS) BETWEEN CAST('10.0.0.0' AS IPADDRESS) AND "
            "CAST('10.255.255.255' AS IPADDRESS)") in terms


def test_cli_sql_with_invalid_options_prints_no_sql(capsys):
    code, out, err = run_cli(capsys, "sql", "--engine", "athena", "--dst", "10.0.0.0/33")
    assert code == cli.EXIT_USAGE and out == "" and "--dst" in err


def test_cli_ddl_text_layout(capsys):
    code, out, _ = run_cli(capsys, "ddl", "--location", "s3://central-logs/org/",
                           "--accounts", f"{ACCOUNT_A},{ACCOUNT_B}", "--regions", "us-east-1",
                           "--regions", "eu-west-1", "--since", "2026-01-15",
                           "--database", "flowlogs", "--table", "vpc")
    assert code == cli.EXIT_OK
    create = sqlglot.parse_one(out.strip().rstrip(";"), read="athena")
    assert isinstance(create, exp.Create)
    names = [c.name for c in create.find_all(exp.ColumnDef)]
    assert names[:len(schema.FIELDS)] == [f.column for f in schema.FIELDS]  # v2-v8, in order
    assert names[len(schema.FIELDS):] == ["log_account", "log_region", "log_day"]
    assert ("'storage.location.template' = 's3://central-logs/org/AWSLogs/${log_account}/"
            "vpcflowlogs/${log_region}/${log_day}'") in out
    assert f"'projection.log_account.values' = '{ACCOUNT_A},{ACCOUNT_B}'" in out
    assert "'projection.log_region.values' = 'eu-west-1,us-east-1'" in out
    assert "'projection.log_day.format' = 'yyyy/MM/dd'" in out
    assert "'projection.log_day.range' = '2026/01/15,NOW'" in out
    assert "'serialization.null.format' = '-'" in out and "'skip.header.line.count' = '1'" in out


def test_ddl_text_columns_follow_the_flow_logs_field_order():
    sql = create_table_sql("s3://bucket/p", [ACCOUNT_A], ["us-east-1"], date(2026, 1, 1),
                           fields=("version", "srcaddr", "dstaddr", "action", "new-field"))
    names = [c.name for c in sqlglot.parse_one(sql, read="athena").find_all(exp.ColumnDef)]
    assert names[:5] == ["version", "srcaddr", "dstaddr", "action", "new_field"]
    assert set(names) >= {f.column for f in schema.FIELDS}


def test_cli_ddl_parquet_layout(capsys):
    code, out, _ = run_cli(capsys, "ddl", "--location", "s3://central-logs", "--accounts",
                           ACCOUNT_A, "--regions", "us-east-1", "--format", "parquet")
    assert code == cli.EXIT_OK
    create = sqlglot.parse_one(out.strip().rstrip(";"), read="athena")
    names = [c.name for c in create.find_all(exp.ColumnDef)]
    assert names[-5:] == ["log_account", "log_region", "year", "month", "day"]
    assert "STORED AS PARQUET" in out and "`protocol` bigint" in out
    assert ("s3://central-logs/AWSLogs/aws-account-id=${log_account}/aws-service=vpcflowlogs/"
            "aws-region=${log_region}/year=${year}/month=${month}/day=${day}") in out


@pytest.mark.parametrize("argv,complaint", [
    (["--location", "http://x/y", "--accounts", ACCOUNT_A, "--regions", "us-east-1"], "S3"),
    (["--location", "s3://bucket", "--accounts", "12345", "--regions", "us-east-1"], "12345"),
    (["--location", "s3://bucket", "--accounts", ACCOUNT_A, "--regions", "mars-1"], "mars-1"),
    (["--location", "s3://bucket", "--accounts", ACCOUNT_A], "at least one"),
    (["--location", "s3://bucket'; DROP", "--accounts", ACCOUNT_A, "--regions", "us-east-1"],
     "S3"),
    (["--location", "s3://bucket", "--accounts", ACCOUNT_A, "--regions", "us-east-1",
      "--since", "yesterday"], "--since"),
    (["--location", "s3://bucket", "--accounts", ACCOUNT_A, "--regions", "us-east-1",
      "--table", "x; drop"], "table"),
])
def test_cli_ddl_refuses_bad_input(capsys, argv, complaint):
    code, out, err = run_cli(capsys, "ddl", *argv)
    assert code == cli.EXIT_USAGE and out == "" and complaint in err


# --- the result cache --------------------------------------------------------------------

class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def test_cache_entries_expire_after_the_ttl():
    clock = Clock()
    cache = ResultCache(ttl_s=10, size_of=len, clock=clock)
    cache.put("k", "value")
    clock.now = 9.9
    assert cache.get("k") == "value"
    clock.now = 10.0
    assert cache.get("k") is None and len(cache) == 0


def test_cache_is_bounded_by_entries_and_bytes_least_recently_used_first():
    cache = ResultCache(ttl_s=60, size_of=len, max_entries=2, max_bytes=10)
    cache.put("a", "1234")
    cache.put("b", "1234")
    cache.get("a")  # b is now the least recently used
    cache.put("c", "12")
    assert (cache.get("a"), cache.get("b"), cache.get("c")) == ("1234", None, "12")
    cache.put("d", "123456789")  # 9 bytes: a and c must go
    assert len(cache) == 1 and cache.nbytes == 9
    cache.put("huge", "x" * 11)  # larger than the whole cache: not kept, nothing evicted
    assert cache.get("huge") is None and cache.get("d") == "123456789"


def test_a_zero_ttl_disables_the_cache():
    cache = ResultCache(ttl_s=0, size_of=len)
    cache.put("k", "v")
    assert cache.get("k") is None


@pytest.fixture
def small_store(tmp_path):
    write_object(tmp_path, [record("10.0.0.5", "10.0.1.9", 40001, 443, start=T0 + 100)])
    write_object(tmp_path, [record("10.0.0.6", "10.0.1.9", 40002, 443, start=T0 + 200,
                                   account=ACCOUNT_B)], account=ACCOUNT_B)
    return tmp_path


def test_repeated_query_is_answered_from_memory_for_the_same_scope_only(small_store):
    settings = Settings(engine="duckdb", data_dir=str(small_store))
    result_cache(settings).clear()
    window = parse_filters({"start": str(T0), "end": str(T0 + DAY)})
    everyone, only_b = Query("search", window, scope=ALL_ACCOUNTS), Query("search", window,
                                                      scope=Scope(frozenset({ACCOUNT_B})))
    first = get_engine(settings).run(everyone)
    again = get_engine(settings).run(everyone)  # another engine object, same configuration
    assert not first.cache_hit and again.cache_hit
    assert again.rows() == first.rows() and len(first.rows()) == 2
    scoped = get_engine(settings).run(only_b)
    assert not scoped.cache_hit
    assert [r["log_account"] for r in scoped.rows()] == [ACCOUNT_B]
    refreshed = get_engine(settings).run(everyone, refresh=True)
    assert not refreshed.cache_hit and refreshed.rows() == first.rows()


def test_ddl_numeric_column_types_hold_every_value_aws_writes():
    """Counters overflow 32 bits (a 5 GB flow), epochs are 64-bit, ports and protocol fit
    in int; a Parquet column must be at least as wide as AWS's delivered INT32/INT64."""
    from lib.athena_ddl import columns

    text = dict(columns("text"))
    assert {c: text[c] for c in ("packets", "bytes", "start", "end")} == dict.fromkeys(
        ("packets", "bytes", "start", "end"), "bigint")
    assert {c: text[c] for c in ("version", "srcport", "dstport", "protocol", "tcp_flags",
                                 "traffic_path")} == dict.fromkeys(
        ("version", "srcport", "dstport", "protocol", "tcp_flags", "traffic_path"), "int")
    parquet = dict(columns("parquet"))
    width = {"int": 32, "bigint": 64}
    delivered = {f.column: 64 if f.type == "bigint" else 32 for f in schema.FIELDS
                 if f.is_number}
    assert all(width[parquet[c]] >= bits for c, bits in delivered.items())
    assert all(parquet[f.column] == "string" for f in schema.FIELDS if not f.is_number)
