"""lib.cost: every charge class gives exactly the bytes issue 16's rules say, on both engines,
through the command line; the account scope; the savings; the prices setting."""

from __future__ import annotations

import json

import pytest
from costfixture import EXPECTED_A, EXPECTED_B, PAIRS_A, SAVINGS_A, VPC_A, WINDOW, build_cost_store
from fake_athena import fake_over
from storefixture import ACCOUNT_A, ACCOUNT_B

from lib import cli, cost
from lib.config import load_settings
from lib.engines.athena import AthenaEngine
from lib.engines.duckdb_engine import DuckDBEngine
from lib.filters import parse_filters
from lib.query import ALL_ACCOUNTS, Query, QueryError, Scope

FILTERS = parse_filters(WINDOW)
RANGE = ["--start", WINDOW["start"], "--end", WINDOW["end"]]


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    return build_cost_store(tmp_path_factory.mktemp("cost"))


@pytest.fixture(scope="module")
def fake(store):
    """The shared fake Athena, over the cost store for this module (then back to its own)."""
    yield from fake_over(store)


@pytest.fixture
def athena_env(fake, monkeypatch):
    fake.use_in_app(monkeypatch, {
        "FLOWSCOPE_CONFIG": "/nonexistent", "FLOWSCOPE_ATHENA_CACHE_TTL_S": "0",
        "FLOWSCOPE_ATHENA_RESULT_REUSE_MINUTES": "0", "FLOWSCOPE_AUDIT_FILE": "/dev/null"})
    fake.reset()


@pytest.fixture(autouse=True)
def no_config(monkeypatch):
    monkeypatch.setenv("FLOWSCOPE_CONFIG", "/nonexistent")
    monkeypatch.setenv("FLOWSCOPE_AUDIT_FILE", "/dev/null")
    monkeypatch.delenv("FLOWSCOPE_PRICES", raising=False)


def run_cli(capsys, *args) -> tuple[int, list[dict] | str, str]:
    code = cli.main(["query", *args, "--format", "json"])
    out, err = capsys.readouterr()
    return code, (json.loads(out) if code == cli.EXIT_OK else out), err


def by_class(rows) -> dict[str, int]:
    return {row["class"]: row["bytes"] for row in rows}


def expected_usd(nbytes: int, price: float) -> float:
    return round(nbytes / 2**30 * price, 6)


# --- the classes, on each engine ---------------------------------------------------------

@pytest.mark.parametrize("engine", ["duckdb", "athena"])
def test_every_class_gives_the_bytes_of_the_rules(engine, store, capsys, request):
    if engine == "athena":
        request.getfixturevalue("athena_env")
    code, rows, err = run_cli(capsys, "--kind", "cost", "--data", str(store), "--engine", engine,
                              "--account", ACCOUNT_A, *RANGE)
    assert code == cli.EXIT_OK, err
    assert by_class(rows) == EXPECTED_A
    assert set(by_class(rows)) == set(cost.CLASSES)
    for row in rows:
        assert set(row) == {"class", "bytes", "usd"}
        assert row["usd"] == pytest.approx(expected_usd(row["bytes"],
                                                        cost.DEFAULT_PRICES[row["class"]]))
    # dearest first
    assert [row["usd"] for row in rows] == sorted((row["usd"] for row in rows), reverse=True)


@pytest.mark.parametrize("engine", ["duckdb", "athena"])
def test_savings_what_ifs(engine, store, capsys, request):
    if engine == "athena":
        request.getfixturevalue("athena_env")
    code, rows, err = run_cli(capsys, "--kind", "cost-savings", "--data", str(store),
                              "--engine", engine, "--account", ACCOUNT_A, *RANGE)
    assert code == cli.EXIT_OK, err
    per_month = 730 * 3600 / 86400
    endpoints = {(r["change"], r["service"]): r for r in rows if r["change"] != "co-locate"}
    assert {k: r["bytes"] for k, r in endpoints.items()} == SAVINGS_A
    assert all(r["vpc"] == VPC_A for r in rows)
    s3 = endpoints[("gateway-endpoint", "S3")]
    assert s3["usd_saved"] == pytest.approx(expected_usd(s3["bytes"], 0.045 * per_month))
    ec2 = endpoints[("interface-endpoint", "EC2")]  # NAT's $0.045 less the endpoint's $0.01
    assert ec2["usd_saved"] == pytest.approx(expected_usd(ec2["bytes"], 0.035 * per_month))
    pairs = {(r["address_a"], r["address_b"]): r["bytes"] for r in rows
             if r["change"] == "co-locate"}
    assert pairs == PAIRS_A
    assert set(rows[0]) == {"change", "vpc", "service", "address_a", "address_b", "bytes",
                            "usd_saved"}


def test_both_engines_agree_on_every_group(store, fake, athena_env):
    duck = DuckDBEngine(str(store))
    athena = AthenaEngine(fake.settings(athena_cache_ttl_s=0), poll_interval=0.01)
    queries = [cost.cost_query(FILTERS, ALL_ACCOUNTS, group=g, top=3, bucket=3600)
               for g in cost.COST_GROUPS] + [cost.savings_query(FILTERS, ALL_ACCOUNTS, top=2)]
    for query in queries:
        expected, got = duck.run(query), athena.run(query)
        assert got.rows() == expected.rows() and expected.rows(), query.cost_group
        assert got.table.schema.types == expected.table.schema.types


def test_the_single_scan_form_gives_the_same_answers_on_both_engines(store, fake, athena_env):
    duck = DuckDBEngine(str(store))
    athena = AthenaEngine(fake.settings(athena_cache_ttl_s=0), poll_interval=0.01)
    for group in ("class", "pair", "time", "log"):
        joined = cost.cost_query(FILTERS, ALL_ACCOUNTS, group=group, top=3, bucket=3600)
        once = cost.cost_query(FILTERS, ALL_ACCOUNTS, group=group, top=3, bucket=3600,
                               single_scan=True)
        expected = duck.run(joined).rows()
        assert expected and duck.run(once).rows() == expected == athena.run(once).rows()
    joined, once = (cost.savings_query(FILTERS, ALL_ACCOUNTS, single_scan=flag)
                    for flag in (False, True))
    assert duck.run(once).rows() == duck.run(joined).rows() == athena.run(once).rows()


def table_reads(sql_text: str, dialect: str) -> dict[str, int]:
    """How often the statement reads each table or CTE (Trino evaluates each read anew)."""
    import sqlglot
    from sqlglot import exp

    reads: dict[str, int] = {}
    for table in sqlglot.parse_one(sql_text, read=dialect).find_all(exp.Table):
        reads[table.name] = reads.get(table.name, 0) + 1
    return reads


def test_for_athena_the_table_is_read_once(fake):
    from lib.engines.athena import athena_target
    from lib.query import render

    settings = fake.settings()
    assert cost.single_scan_for(settings) and not cost.single_scan_for(load_settings())
    for query in (cost.cost_query(FILTERS, ALL_ACCOUNTS, group="pair", single_scan=True),
                  cost.savings_query(FILTERS, ALL_ACCOUNTS, single_scan=True)):
        reads = table_reads(render(query, athena_target(settings)), "athena")
        assert reads == {settings.athena_table: 1, "flows": 1}  # no other step read twice
    joined = render(cost.cost_query(FILTERS, ALL_ACCOUNTS), athena_target(settings))
    assert table_reads(joined, "athena")["records"] == 3  # why Athena gets the other form


def test_groups_keep_the_top_of_each_class(store):
    duck = DuckDBEngine(str(store))
    rows = duck.run(cost.cost_query(FILTERS, ALL_ACCOUNTS, group="pair", top=1)).rows()
    assert sorted(r["class"] for r in rows) == sorted(cost.CLASSES)  # one per class
    nat = next(r for r in rows if r["class"] == "nat-gateway")
    assert (nat["srcaddr"], nat["dstaddr"], nat["bytes"]) == ("52.216.1.1", "10.0.1.10",
                                                              7_000_000)
    services = duck.run(cost.cost_query(FILTERS, ALL_ACCOUNTS, group="service", top=5)).rows()
    assert {(r["class"], r["service"]): r["bytes"] for r in services
            if r["class"] == "nat-gateway"} == {("nat-gateway", "S3"): 7_400_000,
                                                ("nat-gateway", "EC2"): 150_000,
                                                ("nat-gateway", None): 32_000}
    times = duck.run(cost.cost_query(FILTERS, ALL_ACCOUNTS, group="time", bucket=3600)).rows()
    assert {r["bucket_start"] for r in times} == {int(WINDOW["start"]) + 3600}


# --- the account scope ---------------------------------------------------------------------

def test_a_scoped_user_sees_only_the_costs_of_their_accounts(store):
    duck = DuckDBEngine(str(store))
    only_b = duck.run(cost.cost_query(FILTERS, Scope(frozenset({ACCOUNT_B})))).rows()
    assert by_class(only_b) == EXPECTED_B
    only_a = duck.run(cost.cost_query(FILTERS, Scope(frozenset({ACCOUNT_A})))).rows()
    assert by_class(only_a) == EXPECTED_A
    # asking for account A while scoped to B shows nothing of A
    asked = FILTERS.with_(accounts=(ACCOUNT_A,))
    assert duck.run(cost.cost_query(asked, Scope(frozenset({ACCOUNT_B})))).rows() == []
    savings = duck.run(cost.savings_query(FILTERS, Scope(frozenset({ACCOUNT_B})))).rows()
    assert savings == []


def test_plain_query_of_a_cost_kind_uses_class_and_default_prices(store):
    rows = DuckDBEngine(str(store)).run(Query("cost", FILTERS.with_(accounts=(ACCOUNT_A,)), scope=ALL_ACCOUNTS))
    assert by_class(rows.rows()) == EXPECTED_A


def test_cost_query_checks_its_options():
    with pytest.raises(QueryError):
        cost.CostQuery("cost", FILTERS, cost_group="nope", scope=ALL_ACCOUNTS)
    with pytest.raises(QueryError):
        cost.CostQuery("search", FILTERS, scope=ALL_ACCOUNTS)


def test_bad_group_is_a_usage_error(store, capsys):
    code, _, err = run_cli(capsys, "--kind", "cost", "--group", "everything", "--data",
                           str(store), *RANGE)
    assert code == cli.EXIT_USAGE and "group must be one of" in err


# --- prices ------------------------------------------------------------------------------------

def test_prices_setting_from_toml(tmp_path, monkeypatch, store, capsys):
    config = tmp_path / "flowscope.toml"
    config.write_text('[prices]\ntaken = "2026-11-30"\n[prices.us-east-1]\n'
                      '"nat-gateway" = 0.1\n[prices.eu-west-1]\n"internet-egress" = 0.5\n')
    monkeypatch.setenv("FLOWSCOPE_CONFIG", str(config))
    prices = cost.prices_from(load_settings())
    assert prices.taken == "2026-11-30"
    assert prices.price("nat-gateway", "us-east-1") == 0.1
    assert prices.price("nat-gateway", "ap-northeast-1") == 0.1  # unlisted: the default region
    assert prices.price("internet-egress", "eu-west-1") == 0.5
    assert prices.price("internet-egress", "us-east-1") == 0.09
    hash(load_settings())  # Settings stay hashable (engines and caches key on them)
    code, rows, err = run_cli(capsys, "--kind", "cost", "--data", str(store), "--account",
                              ACCOUNT_A, *RANGE)
    assert code == cli.EXIT_OK, err
    nat = next(r for r in rows if r["class"] == "nat-gateway")
    assert nat["usd"] == pytest.approx(expected_usd(EXPECTED_A["nat-gateway"], 0.1))


@pytest.mark.parametrize("raw,words", [
    ('{"us-east-1": {"nat-gateway": "cheap"}}', "not a price"),
    ('{"us-east-1": {"nat": 0.1}}', "unknown"),
    ('{"taken": "last week"}', "not a date"),
    ('{"us-east-1": 0.1}', "expected a table"),
    ("[1, 2]", "expected a table"),
])
def test_bad_prices_are_named(raw, words, monkeypatch, store, capsys):
    monkeypatch.setenv("FLOWSCOPE_PRICES", raw)
    with pytest.raises(ValueError, match=words):
        cost.prices_from(load_settings())
    code, _, err = run_cli(capsys, "--kind", "cost", "--data", str(store), *RANGE)
    assert code == cli.EXIT_USAGE and "prices" in err


# --- the page's frames and charts ----------------------------------------------------------

def test_frames_and_charts(store):
    import altair as alt

    from lib import charts

    duck = DuckDBEngine(str(store))
    rows = duck.run(cost.cost_query(FILTERS, ALL_ACCOUNTS)).rows()
    frame = cost.classes_frame(rows, "en")
    assert list(frame["class"]) == [r["class"] for r in rows]  # dearest first, all classes
    chart = charts.cost_classes(frame)
    assert isinstance(chart, alt.Chart) and chart.to_dict()["encoding"]["x"]["field"] == "usd"
    trend_rows = duck.run(cost.cost_query(FILTERS, ALL_ACCOUNTS, group="time",
                                          bucket=3600)).rows()
    trend = cost.trend_frame(trend_rows, "Asia/Tokyo", "ja")
    assert set(trend["class"]) == {"nat-gateway", "cross-az", "internet-egress", "inter-region",
                                   "transit-gateway"}  # charged classes only
    assert trend["when"].iloc[0].endswith("JST")
    spec = charts.cost_trend(trend, "JST", "1 hour").to_dict()
    assert spec["params"][0]["select"]["fields"] == ["bucket_start"]
    assert cost.trend_drill(FILTERS, 3600, {"bucket_start": int(WINDOW["start"]) + 3600}) == {
        "start": str(int(WINDOW["start"]) + 3600), "end": str(int(WINDOW["start"]) + 7200)}
    logs = duck.run(cost.cost_query(FILTERS, ALL_ACCOUNTS, group="log")).rows()
    assert cost.unknown_lines(logs, "en") == [
        f"account {ACCOUNT_A}, region us-east-1, VPC not in the format: 0.00 GiB"]
