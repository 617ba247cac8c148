"""The fake Athena fails where Athena fails: text tables read by position, Parquet read from
real Parquet files by name, IPADDRESS and contains() as Trino runs them, and the bytes
scanned counted from the partitions a statement really selects."""

import ipaddress
from datetime import date

import pytest
from fake_athena import AthenaFailure, athena_sql, shared_fake, statement
from sqlglot import exp
from storefixture import ACCOUNT_A, ACCOUNT_B, T0, V5_FORMAT, record, write_object

from lib.athena_ddl import create_table_sql


@pytest.fixture(scope="module")
def fake():
    return shared_fake()


@pytest.fixture(scope="module")
def mixed_folder(fake, tmp_path_factory):
    """One folder, two flow logs: the default format and a custom v5 order (IPv6)."""
    root = tmp_path_factory.mktemp("mixed")
    write_object(root, [record("10.0.0.5", "10.0.1.9", 40000, 443, start=T0 + 100)],
                 flow_log="fl-00000000000000001")
    write_object(root, [record("2001:db8::10", "2001:db8::20", 50000, 443, start=T0 + 200,
                               version=5, vpc_id="vpc-01")],
                 flow_log="fl-00000000000000002", fmt=V5_FORMAT)
    location = fake.upload_store(root, "fake-mixed")
    return root, location


def test_a_text_table_reads_fields_by_position_not_by_header(fake, mixed_folder):
    """The trap: one table in AWS's order over a folder that also holds a custom order."""
    _, location = mixed_folder
    fake.execute(create_table_sql(location, [ACCOUNT_A], ["us-east-1"], date(2026, 1, 1),
                                  database="fakecheck", table="by_position"))
    rows, _ = fake.execute('SELECT account_id, srcaddr FROM "fakecheck"."by_position" '
                           "ORDER BY srcaddr")
    accounts = rows.column("account_id").to_pylist()
    assert ACCOUNT_A in accounts  # the default-format object reads right...
    # ...the v5 object's second field (its source address) lands in account_id.
    assert "2001:db8::10" in accounts
    assert "2001:db8::10" not in rows.column("srcaddr").to_pylist()


def test_a_table_in_the_files_order_reads_them_right(fake, mixed_folder):
    _, location = mixed_folder
    fake.execute(create_table_sql(location, [ACCOUNT_A], ["us-east-1"], date(2026, 1, 1),
                                  database="fakecheck", table="v5_order",
                                  fields=tuple(V5_FORMAT)))
    rows, _ = fake.execute('SELECT srcaddr, vpc_id FROM "fakecheck"."v5_order" '
                           "WHERE version = 5")
    assert rows.to_pylist() == [{"srcaddr": "2001:db8::10", "vpc_id": "vpc-01"}]


def test_path_is_each_rows_object(fake, mixed_folder):
    _, location = mixed_folder
    rows, _ = fake.execute('SELECT DISTINCT "$path" AS p FROM "fakecheck"."v5_order"')
    paths = sorted(rows.column("p").to_pylist())
    assert len(paths) == 2 and all(p.startswith(location + "/AWSLogs/") for p in paths)
    assert "_fl-00000000000000002_" in paths[1]


# --- Parquet ------------------------------------------------------------------------------

def test_the_parquet_layout_is_real_parquet_in_awss_schema(fake):
    import pyarrow.parquet as pq

    files = fake.files(fake.tables[(fake.database, fake.parquet_table)])
    assert files and all(f.s3path.endswith(".log.parquet") for f in files)
    assert all("/aws-service=vpcflowlogs/" in f.s3path for f in files)
    delivered = pq.read_schema(files[0].local)
    assert str(delivered.field("srcport").type) == "int32"
    assert str(delivered.field("bytes").type) == "int64"
    assert "account_id" in delivered.names  # AWS's Parquet names are the SQL names


def test_a_parquet_column_narrower_than_the_files_fails_as_in_athena(fake):
    sql = create_table_sql(
        fake.tables[(fake.database, fake.parquet_table)].location.rstrip("/")
        .removesuffix("/AWSLogs"), [ACCOUNT_A], ["us-east-1"], date(2026, 1, 1),
        layout="parquet", database="fakecheck", table="narrow")
    fake.execute(sql.replace("`bytes` bigint", "`bytes` int"))
    with pytest.raises(AthenaFailure, match="HIVE_BAD_DATA: Field bytes's type INT64"):
        fake.execute('SELECT sum(bytes) FROM "fakecheck"."narrow"')


# --- IPADDRESS and contains ------------------------------------------------------------------

def in_window(condition: str, **values) -> str:
    """count(*) of the table's records in the window meeting a condition (a template)."""
    return athena_sql('SELECT count(*) AS n FROM "flowscope"."vpc_flow_logs" WHERE '
                      "start >= :lo AND start < :hi AND :condition", lo=T0, hi=T0 + 2 * 86400,
                      condition=statement(condition, read="athena", **values))


def test_contains_throws_before_trino_427_on_a_dual_stack_table(fake):
    sql = in_window("contains('10.0.0.0/8', TRY_CAST(srcaddr AS IPADDRESS))")
    with pytest.raises(AthenaFailure, match="IP address version should be the same"):
        fake.execute(sql)
    fake.trino_version = 427
    try:
        rows, _ = fake.execute(sql)
    finally:
        fake.trino_version = 426
    assert rows.column("n").to_pylist()[0] > 0


def test_an_ipaddress_range_works_on_every_version(fake):
    def count(low, high):
        rows, _ = fake.execute(in_window(
            "TRY_CAST(srcaddr AS IPADDRESS) BETWEEN CAST(:low AS IPADDRESS) AND "
            "CAST(:high AS IPADDRESS)", low=str(low), high=str(high)))
        return rows.column("n").to_pylist()[0]

    v6 = ipaddress.ip_network("2001:db8::/32")
    assert count(v6.network_address, v6.broadcast_address) == 4  # the IPv6 records only
    assert count("10.0.0.0", "10.255.255.255") > 0
    assert count("2001:db8::10", "2001:db8::10") == 3
    with pytest.raises(AthenaFailure, match="INVALID_CAST_ARGUMENT"):
        fake.execute("SELECT CAST('not-an-address' AS IPADDRESS) AS a "
                     'FROM "flowscope"."vpc_flow_logs" LIMIT 1')


# --- bytes scanned: the partitions the statement selects ------------------------------------

def sizes(fake, **wanted) -> int:
    """Bytes of the fixture's text objects in the folders wanted (account, day)."""
    total = 0
    for path in fake.store_root.rglob("*.log.gz"):
        account, day = path.parts[-7], "/".join(path.parts[-4:-1])
        if (account, day) in wanted["folders"]:
            total += path.stat().st_size
    return total


def test_partition_terms_inside_parentheses_and_ors_prune(fake):
    sql = athena_sql('WITH flows AS (SELECT * FROM "flowscope"."vpc_flow_logs") '
                     "SELECT count(*) AS n FROM flows WHERE "
                     "((log_account = :a AND log_day = '2026/09/21' AND srcport > 0) OR "
                     "(log_account = :b AND log_day = '2026/09/22'))", a=ACCOUNT_A, b=ACCOUNT_B)
    _, scanned = fake.execute(sql)
    expected = sizes(fake, folders={(ACCOUNT_A, "2026/09/21"), (ACCOUNT_B, "2026/09/22")})
    assert 0 < scanned == expected < sizes(fake, folders={
        (a, d) for a in (ACCOUNT_A, ACCOUNT_B) for d in ("2026/09/21", "2026/09/22")})


def test_partition_terms_in_a_subquery_prune_and_other_terms_do_not(fake):
    _, scanned = fake.execute(athena_sql(
        'SELECT count(*) FROM (SELECT * FROM "flowscope"."vpc_flow_logs" WHERE log_account IN '
        "(:b) AND NOT (log_day = '2026/09/21')) AS t WHERE action = 'ACCEPT'", b=ACCOUNT_B))
    assert scanned == sizes(fake, folders={(ACCOUNT_B, "2026/09/22")}) > 0
    _, everything = fake.execute(athena_sql(
        'SELECT count(*) FROM "flowscope"."vpc_flow_logs" WHERE action = \'ACCEPT\' OR '
        "log_account = :b", b=ACCOUNT_B))
    assert everything == sum(p.stat().st_size for p in fake.store_root.rglob("*.log.gz"))


@pytest.mark.parametrize("layout", ["text", "parquet"])
def test_the_ddls_types_read_a_5_gb_flow_in_both_layouts(fake, layout):
    table = fake.settings(athena_layout=layout).athena_table
    rows, _ = fake.execute(athena_sql("SELECT max(bytes) AS most FROM layout_table", tables={
        "layout_table": exp.table_(table, db=fake.database, quoted=True)}))
    assert rows.to_pylist()[0]["most"] == 5_000_000_000  # NULL through an int column
