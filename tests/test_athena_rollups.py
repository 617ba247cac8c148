"""Athena rollups built by Athena: `lib.cli athena rollup` writes each closed day with INSERT
INTO … SELECT (a rebuilt day replaces the old one), `lib.cli ddl` declares the table, and
the Traffic page's one query reads built days from it and the rest from the records, with
the same answers."""

from datetime import date

import pytest
from fake_athena import LOGS_BUCKET, athena_sql, shared_fake
from sqlglot import exp
from storefixture import ACCOUNT_B, T0

from lib import cli, traffic
from lib.athena_rollups import DONE_MARKER, Plan, create_rollup_sql, plan
from lib.engines.athena import AthenaEngine
from lib.engines.duckdb_engine import DuckDBEngine
from lib.filters import parse_filters
from lib.query import ALL_ACCOUNTS, Scope

LOCATION = f"s3://{LOGS_BUCKET}/rollups-test/"
DAY = 86400
DAY0, DAY1 = date(2026, 9, 21), date(2026, 9, 22)


@pytest.fixture(scope="module")
def fake():
    return shared_fake()


@pytest.fixture
def settings(fake, monkeypatch):
    for key, value in fake.environment_variables().items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("FLOWSCOPE_CONFIG", "/nonexistent")
    config = fake.settings(athena_rollup_location=LOCATION, athena_result_reuse_minutes=0)
    for key, value in config.__dict__.items():
        if key.startswith("athena_") or key in ("engine", "late_margin_s"):
            monkeypatch.setenv(f"FLOWSCOPE_{key.upper()}", str(value))
    fake.reset()
    return config


@pytest.fixture
def built(fake, settings, capsys):
    fake.clear_prefix(LOCATION)
    fake.execute(create_rollup_sql(settings))
    assert rollup(capsys, "--since", "2026-09-20", "--until", "2026-09-23") == cli.EXIT_OK
    return settings


def shown(result) -> dict:
    """What the page shows: each section's rows, with that section's columns."""
    return {name: part.rows() for name, part in traffic.split_traffic(result).items()}


def rollup(capsys, *argv) -> int:
    code = cli.main(["athena", "rollup", *argv])
    capsys.readouterr()
    return code


def stored_keys(fake) -> list[str]:
    return sorted(key for key, *_ in fake._stored(LOCATION))


def rollup_records(fake) -> int:
    rollup = exp.table_(f"{fake.table}_rollup", db=fake.database, quoted=True)
    rows, _ = fake.execute(athena_sql("SELECT SUM(records) AS n FROM rollup",
                                      tables={"rollup": rollup}))
    return rows.column("n").to_pylist()[0]


def test_each_closed_day_is_one_insert_and_a_rerun_replaces_it(fake, built, capsys):
    keys = stored_keys(fake)
    marked = {k.split("/")[-2] for k in keys if k.endswith(DONE_MARKER)}
    written = {k.split("/")[-2] for k in keys if k.endswith(".parquet")}
    assert marked == {f"day=2026-09-{d}" for d in (20, 21, 22, 23)}
    assert written == {"day=2026-09-21", "day=2026-09-22"}  # the days holding records
    raw, _ = fake.execute(athena_sql(
        "SELECT COUNT(*) AS n FROM records WHERE start >= :lo AND start < :hi",
        tables={"records": exp.table_(fake.table, db=fake.database, quoted=True)},
        lo=T0 - DAY, hi=T0 + 3 * DAY))
    assert rollup_records(fake) == raw.column("n").to_pylist()[0]
    inserts = [e.sql for e in fake.executions.values() if e.sql.startswith("INSERT INTO")]
    assert len(inserts) == 4  # one per day 20-23 September
    assert rollup(capsys, "--since", "2026-09-21", "--until", "2026-09-21") == cli.EXIT_OK
    assert rollup_records(fake) == raw.column("n").to_pylist()[0]  # replaced, not doubled
    assert len(stored_keys(fake)) == len(keys)


def test_only_missing_builds_nothing_twice(fake, built, capsys):
    before = fake.started()
    assert rollup(capsys, "--since", "2026-09-20", "--until", "2026-09-23",
                  "--only-missing") == cli.EXIT_OK
    assert fake.started() == before


def test_ddl_declares_the_rollup_table(capsys):
    code = cli.main(["ddl", "--location", "s3://central-logs/org", "--accounts",
                     ACCOUNT_B, "--regions", "us-east-1", "--rollup-location",
                     "s3://central-logs/rollups", "--table", "vpc"])
    out, _ = capsys.readouterr()
    assert code == cli.EXIT_OK
    rollup_ddl = out.split(";\n\n")[-1]
    assert "CREATE EXTERNAL TABLE IF NOT EXISTS `default`.`vpc_rollup`" in rollup_ddl
    assert "PARTITIONED BY (`day` string)" in rollup_ddl and "STORED AS PARQUET" in rollup_ddl
    assert "LOCATION 's3://central-logs/rollups/'" in rollup_ddl


WEEK = 7 * DAY  # hourly timeline bars: ranges the rollup serves (shorter ones read records)
WINDOWS = [
    {"start": str(T0 - 3 * DAY), "end": str(T0 - 3 * DAY + WEEK)},
    {"start": str(T0 - 3 * DAY + 1234), "end": str(T0 + 4 * DAY + 4321)},  # partial hours
    {"start": str(T0 - DAY), "end": str(T0 + 6 * DAY), "src": "10.0.0.0/8"},
    {"start": str(T0 - DAY), "end": str(T0 + 6 * DAY), "action": "REJECT"},
    {"start": str(T0 - DAY), "end": str(T0 + 6 * DAY), "dst": "2001:db8::/32"},
]


@pytest.mark.parametrize("raw", WINDOWS)
@pytest.mark.parametrize("scope", [ALL_ACCOUNTS, Scope(frozenset({ACCOUNT_B}))])
def test_the_traffic_view_over_rollups_answers_as_the_records(fake, built, raw, scope):
    query = traffic.traffic_query(parse_filters(raw), scope, "bytes", 10)
    assert query.bucket % 3600 == 0
    got = AthenaEngine(built, poll_interval=0.01).run(query, refresh=True)
    assert f'"{fake.table}_rollup"' in got.sql
    assert shown(got) == shown(DuckDBEngine(str(fake.store_root)).run(query))
    assert shown(got) == shown(AthenaEngine(fake.settings(), poll_interval=0.01).run(
        query, refresh=True))  # the records alone
    assert any(shown(got).values())


def test_short_ranges_read_the_records(fake, built):
    query = traffic.traffic_query(parse_filters({"start": str(T0), "end": str(T0 + DAY)}),
                                  ALL_ACCOUNTS, "bytes", 10)
    got = AthenaEngine(built, poll_interval=0.01).run(query, refresh=True)
    assert "_rollup" not in got.sql  # 5-minute bars: finer than the rollup's hours
    assert shown(got) == shown(DuckDBEngine(str(fake.store_root)).run(query))


def test_a_day_not_built_is_read_from_the_records(fake, built, capsys):
    fake.s3().delete_object(Bucket=LOGS_BUCKET,
                            Key=f"rollups-test/day={DAY1.isoformat()}/{DONE_MARKER}")
    athena = AthenaEngine(built, poll_interval=0.01)
    athena.coverage().ttl_s = 0
    query = traffic.traffic_query(parse_filters({"start": str(T0 - 3 * DAY),
                                                 "end": str(T0 + 4 * DAY)}),
                                  ALL_ACCOUNTS, "flows", 5)
    got = athena.run(query, refresh=True)
    assert "'2026-09-22'" not in got.sql and f'"{fake.table}_rollup"' in got.sql
    assert shown(got) == shown(DuckDBEngine(str(fake.store_root)).run(query))


def test_filters_outside_the_rollup_read_the_records(fake, built):
    athena = AthenaEngine(built, poll_interval=0.01)
    query = traffic.traffic_query(parse_filters({"start": str(T0 - 3 * DAY),
                                                 "end": str(T0 + 4 * DAY), "dst_port": "443"}),
                                  ALL_ACCOUNTS, "bytes", 10)
    got = athena.run(query, refresh=True)
    assert "_rollup" not in got.sql
    assert shown(got) == shown(DuckDBEngine(str(fake.store_root)).run(query))


def test_the_plan_cuts_whole_hours_of_built_days():
    days = frozenset({DAY0})
    assert plan(T0 + 1800, T0 + 3 * 3600, days) == Plan(
        rollup=[(T0 + 3600, T0 + 3 * 3600)], raw=[(T0 + 1800, T0 + 3600)])
    assert plan(T0 + DAY - 3600, T0 + DAY + 600, days) == Plan(
        rollup=[(T0 + DAY - 3600, T0 + DAY)], raw=[(T0 + DAY, T0 + DAY + 600)])
    assert plan(T0, T0 + 3600, frozenset()) == Plan(rollup=[], raw=[(T0, T0 + 3600)])


@pytest.mark.parametrize("raw", WINDOWS[:3])
def test_labels_over_rollups_answer_as_the_records(fake, built, raw):
    filters = parse_filters(raw)
    addresses = ("10.0.0.5", "10.0.1.9", "172.16.0.10", "2001:db8::10", "203.0.113.9")
    query = traffic.labels_query(filters, ALL_ACCOUNTS, addresses)
    got = AthenaEngine(built, poll_interval=0.01).run(query, refresh=True)
    assert f'"{fake.table}_rollup"' in got.sql
    expected = DuckDBEngine(str(fake.store_root)).run(query).rows()
    assert got.rows() == expected and expected


def test_a_whole_traffic_view_over_rollups_is_three_queries(fake, built):
    athena = AthenaEngine(built, poll_interval=0.01)
    filters = parse_filters(WINDOWS[0])
    queries = traffic.view_queries(filters, ALL_ACCOUNTS, "bytes", 10, bundled=True)
    found = traffic.sections({k: athena.run(q, refresh=True) for k, q in queries.items()})
    labels = traffic.labels_query(filters, ALL_ACCOUNTS, traffic.addresses_in(
        *[found[s].rows() for s in ("talkers-src", "talkers-dst", "talkers-pair")]))
    athena.run(labels, refresh=True)
    ran = [e for e in fake.executions.values() if not e.sql.startswith(("INSERT", "CREATE"))]
    current, previous, labelled = ran[-3:]
    assert "_rollup" in current.sql and "_rollup" in labelled.sql
    assert "_rollup" not in previous.sql  # its days (before 20 September) are not built
    duck = DuckDBEngine(str(fake.store_root))
    separate = traffic.view_queries(filters, ALL_ACCOUNTS, "bytes", 10, bundled=False)
    for key, query in separate.items():
        assert found[key].rows() == duck.run(query).rows(), key
