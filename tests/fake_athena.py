"""A local Athena that really executes SQL: moto's server, its Athena backend hooked to DuckDB.

moto answers the Athena API but runs no SQL. Here its responses are wrapped so that
StartQueryExecution runs the received statement on DuckDB over the same fixture files the
embedded engine reads, and writes the answer where pyathena looks for it: Athena-shaped
CSV (header, every value quoted, NULL empty) at the execution's OutputLocation in moto's
S3, plus the column types through GetQueryResults. The translation is sqlglot's
athena -> duckdb, with Athena's IP test ``contains('<cidr>', TRY_CAST(x AS IPADDRESS))``
mapped to the address-key range test of lib/iputil.py.

The table ``database.table`` is a DuckDB view over the store with the partition columns
of lib/athena_ddl.py taken from each object's path: ``log_account``, ``log_region``,
``log_day`` ('yyyy/MM/dd', text layout) and ``year``/``month``/``day`` (parquet layout).
Fields are matched by header name (Athena's text tables match by position: the DDL's
``--fields`` keeps that in line; not modelled here). DataScannedInBytes is the size of
the objects in the partitions the statement's partition predicates select, so a test
can see partition pruning at work.

Test switches: ``slow(polls)`` (queries pass through QUEUED and RUNNING, moto's state
manager), ``fail_calls(code, message, times)`` (throttling, access denied: the next
StartQueryExecution calls fail), ``fail_next_query(reason)`` (ends FAILED with Athena's
reason); StopQueryExecution cancels. Result reuse is honoured for an identical statement
within its MaxAgeInMinutes (moto itself ignores it).
"""

from __future__ import annotations

import contextlib
import gzip
import ipaddress
import json
import logging
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pyarrow as pa
import sqlglot
from sqlglot import exp

from lib import schema
from lib.config import Settings
from lib.iputil import duckdb_key_sql, network_bounds
from lib.store import OBJECT_NAME

PARTITION_COLUMNS = frozenset({"log_account", "log_region", "log_day", "year", "month", "day"})
ATHENA_TYPE_NAMES = {pa.int8(): "tinyint", pa.int16(): "smallint", pa.int32(): "integer",
                     pa.int64(): "bigint", pa.string(): "varchar", pa.large_string(): "varchar",
                     pa.bool_(): "boolean", pa.float64(): "double", pa.float32(): "real"}


@dataclass
class FakeExecution:
    sql: str
    duckdb_sql: str = ""
    scanned: int = 0
    reason: str | None = None  # why it FAILED
    reuse: dict = field(default_factory=dict)  # the request's ResultReuseConfiguration
    reused: bool = False
    finished: float = 0.0


class FakeAthena:
    def __init__(self, database: str = "flowscope", table: str = "vpc_flow_logs",
                 results_bucket: str = "flowscope-results", region: str = "us-east-1"):
        self.database, self.table = database, table
        self.results_bucket, self.region = results_bucket, region
        self.calls: Counter[str] = Counter()
        self.executions: dict[str, FakeExecution] = {}
        self._failures: list[tuple[str, str]] = []
        self._next_reason: str | None = None
        self._db = duckdb.connect(":memory:")
        self._db.execute("SET TimeZone = 'UTC'")
        self._lock = threading.Lock()
        self._server = None
        self._originals: dict[str, object] = {}

    # --- life cycle ----------------------------------------------------------------------
    def start(self) -> FakeAthena:
        from moto.server import ThreadedMotoServer

        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # a line per request
        self._hook()
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self._server.start()
        host, port = self._server.get_host_and_port()
        self.endpoint = f"http://{host}:{port}"
        with self.environment():
            import boto3

            boto3.client("s3", region_name=self.region, endpoint_url=self.endpoint
                         ).create_bucket(Bucket=self.results_bucket)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None
        self._unhook()
        self._db.close()

    def environment_variables(self) -> dict[str, str]:
        """What a process needs to reach the fake: pyathena's S3 client (the result reader)
        takes its endpoint only from AWS_ENDPOINT_URL."""
        return {"AWS_ENDPOINT_URL": self.endpoint, "AWS_ACCESS_KEY_ID": "testing",
                "AWS_SECRET_ACCESS_KEY": "testing", "AWS_SESSION_TOKEN": "testing",
                "AWS_DEFAULT_REGION": self.region, "AWS_EC2_METADATA_DISABLED": "true",
                "AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null"}

    @contextlib.contextmanager
    def environment(self):
        import os

        saved = {k: os.environ.get(k) for k in self.environment_variables()}
        os.environ.update(self.environment_variables())
        try:
            yield
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value

    def settings(self, **overrides) -> Settings:
        values = dict(engine="athena", athena_region=self.region, athena_workgroup="primary",
                      athena_database=self.database, athena_table=self.table,
                      athena_output_location=f"s3://{self.results_bucket}/results/",
                      athena_endpoint_url=self.endpoint, late_margin_s=3600)
        values.update(overrides)
        return Settings(**values)

    def reset(self) -> None:
        """Forget calls and switches (the store stays)."""
        from moto.moto_api import state_manager

        state_manager.unset_transition("athena::execution")
        with self._lock:
            self.calls.clear()
            self._failures.clear()
            self._next_reason = None

    # --- test switches -------------------------------------------------------------------
    @contextlib.contextmanager
    def slow(self, polls: int):
        """Each state (QUEUED, RUNNING) lasts ``polls`` GetQueryExecution calls."""
        from moto.moto_api import state_manager

        state_manager.set_transition("athena::execution",
                                     {"progression": "manual", "times": polls})
        try:
            yield
        finally:
            state_manager.unset_transition("athena::execution")

    def fail_calls(self, code: str, message: str, times: int = 1) -> None:
        with self._lock:
            self._failures.extend([(code, message)] * times)

    def fail_next_query(self, reason: str) -> None:
        self._next_reason = reason

    def started(self) -> int:
        return self.calls["StartQueryExecution"]

    # --- the store as a table ------------------------------------------------------------
    def load_store(self, root: str | Path) -> None:
        """(Re)build the table over every object under root/AWSLogs."""
        groups: dict[tuple, list[str]] = defaultdict(list)
        objects = []
        for path in sorted(Path(root).glob("AWSLogs/*/vpcflowlogs/*/*/*/*/*")):
            if not OBJECT_NAME.match(path.name):
                continue
            account, _, region, year, month, day = path.parts[-7:-1]
            with gzip.open(path, "rt") as text:
                header = tuple(text.readline().split())
            groups[(account, region, year, month, day, header)].append(str(path))
            objects.append((str(path), path.stat().st_size, account, region,
                            f"{year}/{month}/{day}", year, month, day))
        selects = [_group_sql(key, paths) for key, paths in sorted(groups.items())]
        with self._lock:
            db = self._db
            db.execute(f'CREATE SCHEMA IF NOT EXISTS "{self.database}"')
            db.execute(f'CREATE OR REPLACE VIEW "{self.database}"."{self.table}" AS '
                       + " UNION ALL ".join(selects or [_empty_sql()]))
            db.execute("CREATE OR REPLACE TABLE objects (path VARCHAR, size BIGINT, log_account"
                       " VARCHAR, log_region VARCHAR, log_day VARCHAR, year VARCHAR, month "
                       "VARCHAR, day VARCHAR)")
            if objects:
                db.executemany("INSERT INTO objects VALUES (?, ?, ?, ?, ?, ?, ?, ?)", objects)

    def run_sql(self, sql: str) -> tuple[pa.Table, str, int]:
        """(result, the DuckDB SQL, bytes in the partitions read) for an Athena statement."""
        tree = sqlglot.parse_one(sql, read="athena").transform(_cidr_to_key)
        duck_sql = tree.sql(dialect="duckdb")
        with self._lock:
            cursor = self._db.cursor()
            try:
                table = cursor.sql(duck_sql).to_arrow_table()
                scanned = cursor.execute("SELECT COALESCE(SUM(size), 0) FROM objects WHERE "
                                         + _partition_filter(tree)).fetchone()[0]
            finally:
                cursor.close()
        return table, duck_sql, int(scanned)

    # --- the hooks into moto -------------------------------------------------------------
    def _hook(self) -> None:
        from moto.athena.responses import AthenaResponse

        fake = self
        originals = {name: getattr(AthenaResponse, name) for name in (
            "start_query_execution", "get_query_execution", "stop_query_execution")}
        self._originals = originals

        def start_query_execution(response):
            fake.calls["StartQueryExecution"] += 1
            with fake._lock:
                failure = fake._failures.pop(0) if fake._failures else None
            if failure is not None:
                code, message = failure
                return json.dumps({"__type": code, "Message": message}), {"status": 400}
            answer = originals["start_query_execution"](response)
            if isinstance(answer, tuple):
                return answer
            query_id = json.loads(answer)["QueryExecutionId"]
            fake._execute(response.athena_backend, query_id,
                          response._get_param("ResultReuseConfiguration") or {})
            return answer

        def get_query_execution(response):
            fake.calls["GetQueryExecution"] += 1
            body = json.loads(originals["get_query_execution"](response))
            fake._describe(body["QueryExecution"])
            return json.dumps(body)

        def stop_query_execution(response):
            fake.calls["StopQueryExecution"] += 1
            return originals["stop_query_execution"](response)

        AthenaResponse.start_query_execution = start_query_execution
        AthenaResponse.get_query_execution = get_query_execution
        AthenaResponse.stop_query_execution = stop_query_execution

    def _unhook(self) -> None:
        from moto.athena.responses import AthenaResponse

        for name, original in self._originals.items():
            setattr(AthenaResponse, name, original)

    def _execute(self, backend, query_id: str, reuse: dict) -> None:
        execution = backend.executions[query_id]
        record = FakeExecution(sql=execution.query, reuse=reuse)
        self.executions[query_id] = record
        reason, self._next_reason = self._next_reason, None
        previous = self._reusable(record)
        try:
            if reason is not None:
                raise duckdb.Error(reason)
            table, record.duckdb_sql, record.scanned = self.run_sql(execution.query)
        except (duckdb.Error, sqlglot.errors.SqlglotError) as error:
            record.reason = reason or _athena_reason(error)
            execution.status = "FAILED"
            return
        if previous is not None:
            record.reused, record.scanned = True, 0
        record.finished = time.time()
        _store_result(backend, query_id, table)

    def _reusable(self, record: FakeExecution) -> FakeExecution | None:
        by_age = record.reuse.get("ResultReuseByAgeConfiguration", {})
        if not by_age.get("Enabled"):
            return None
        oldest = time.time() - 60 * by_age.get("MaxAgeInMinutes", 60)
        return next((e for e in self.executions.values() if e is not record and e.sql == record.sql
                     and e.reason is None and e.finished >= oldest and e.finished), None)

    def _describe(self, execution: dict) -> None:
        """Add what moto leaves out: the failure reason, data scanned, result reuse."""
        record = self.executions.get(execution["QueryExecutionId"])
        if record is None:
            return
        status = execution["Status"]
        if status["State"] == "FAILED":
            status["StateChangeReason"] = record.reason
        elif status["State"] == "CANCELLED":
            status["StateChangeReason"] = "Query cancelled by user"
        statistics = execution.setdefault("Statistics", {})
        statistics["DataScannedInBytes"] = 0 if status["State"] == "QUEUED" else record.scanned
        statistics["ResultReuseInformation"] = {"ReusedPreviousResult": record.reused}
        if record.reuse:
            execution["ResultReuseConfiguration"] = record.reuse


# --- the table's SQL --------------------------------------------------------------------

def _group_sql(key: tuple, paths: list[str]) -> str:
    """One read per (partition, header): text columns typed as Athena's SerDe does (a value
    that is not a number becomes NULL), missing fields NULL."""
    account, region, year, month, day, header = key
    columns = "{" + ", ".join(f"'{name}': 'VARCHAR'" for name in header) + "}"
    read = (f"read_csv([{', '.join(repr(p) for p in paths)}], delim=' ', header=true, "
            f"nullstr='-', auto_detect=false, ignore_errors=true, columns={columns})")
    present = set(header)
    values = [f"'{account}' AS log_account", f"'{region}' AS log_region",
              f"'{year}/{month}/{day}' AS log_day", f"'{year}' AS year", f"'{month}' AS month",
              f"'{day}' AS day"]
    for f in schema.FIELDS:
        sql_type = schema.sql_type(f)
        value = (f'TRY_CAST("{f.name}" AS {sql_type})' if f.name in present
                 else f"CAST(NULL AS {sql_type})")
        values.append(f'{value} AS "{f.column}"')
    return f"SELECT {', '.join(values)} FROM {read}"


def _empty_sql() -> str:
    values = [f"CAST(NULL AS VARCHAR) AS {c}" for c in (
        "log_account", "log_region", "log_day", "year", "month", "day")]
    values += [f'CAST(NULL AS {schema.sql_type(f)}) AS "{f.column}"' for f in schema.FIELDS]
    return f"SELECT {', '.join(values)} WHERE false"


def _cidr_to_key(node: exp.Expression) -> exp.Expression:
    """contains('<cidr>', TRY_CAST(x AS IPADDRESS)) -> key(x) BETWEEN low AND high."""
    if not isinstance(node, exp.ArrayContains | exp.Anonymous):
        return node
    if isinstance(node, exp.Anonymous):
        if node.name.lower() != "contains" or len(node.expressions) != 2:
            return node
        cidr, address = node.expressions
    else:
        cidr, address = node.this, node.expression
    if not (isinstance(cidr, exp.Literal) and isinstance(address, exp.TryCast | exp.Cast)
            and address.to.this == exp.DataType.Type.IPADDRESS):
        return node
    low, high = network_bounds(ipaddress.ip_network(cidr.this, strict=False))
    key = sqlglot.parse_one(duckdb_key_sql(address.this.sql(dialect="duckdb")), read="duckdb")
    return exp.Between(this=key, low=exp.Literal.string(low), high=exp.Literal.string(high))


def _partition_filter(tree: exp.Expression) -> str:
    """SQL over `objects` selecting the partitions the statement reads: per SELECT over the
    table (or the `flows` CTE that wraps it: Trino pushes predicates into it), the AND of its
    WHERE conjuncts that name only partition columns (or nothing: TRUE/FALSE)."""
    terms = []
    for select in tree.find_all(exp.Select):
        where = select.args.get("where")
        source = select.args.get("from_")
        if (source is None or not isinstance(source.this, exp.Table)
                or isinstance(select.parent, exp.CTE)):
            continue
        conjuncts = list(where.this.flatten()) if where is not None and isinstance(
            where.this, exp.And) else ([where.this] if where is not None else [])
        kept = [c for c in conjuncts
                if all(column.name in PARTITION_COLUMNS for column in c.find_all(exp.Column))]
        terms.append("(" + (" AND ".join(c.sql(dialect="duckdb") for c in kept) or "TRUE") + ")")
    return " OR ".join(terms) or "TRUE"


def _athena_reason(error: Exception) -> str:
    message = str(error)
    if "does not exist" in message and "Table" in message:
        return f"TABLE_NOT_FOUND: {message.splitlines()[0]}"
    return f"GENERIC_USER_ERROR: {message.splitlines()[0]}"


# --- the result, as Athena writes it -----------------------------------------------------

def _csv_value(value) -> str:
    if value is None:
        return ""
    text = ("true" if value else "false") if isinstance(value, bool) else str(value)
    return '"' + text.replace('"', '""') + '"'


def _store_result(backend, query_id: str, table: pa.Table) -> None:
    from moto.athena.models import QueryResults
    from moto.s3.models import s3_backends
    from moto.s3.utils import bucket_and_name_from_url

    names = table.column_names
    lines = [",".join(_csv_value(n) for n in names)]
    lines += [",".join(_csv_value(row[n]) for n in names) for row in table.to_pylist()]
    types = [ATHENA_TYPE_NAMES.get(t, "varchar") for t in table.schema.types]
    column_info = [{"CatalogName": "hive", "SchemaName": "", "TableName": "", "Name": n,
                    "Label": n, "Type": t, "Precision": 0, "Scale": 0, "Nullable": "UNKNOWN",
                    "CaseSensitive": t == "varchar"} for n, t in zip(names, types, strict=True)]
    header = {"Data": [{"VarCharValue": n} for n in names]}
    backend.query_results[query_id] = QueryResults(rows=[header], column_info=column_info)
    location = backend.executions[query_id].config["OutputLocation"]
    bucket, key = bucket_and_name_from_url(location)
    s3_backends[backend.account_id][backend.partition].put_object(
        bucket_name=bucket, key_name=key, value=("\n".join(lines) + "\n").encode())


# --- the fixture store and one server per test process ---------------------------------

def build_store(root: Path) -> Path:
    """A small store (about 70 records, 8 objects) that every query kind finds rows in:
    two accounts (one with a leading zero), three regions, the default and a v5 format,
    IPv4 and IPv6, TCP/UDP/ICMP, ACCEPT/REJECT, NODATA, a port scan, a 5 GB flow and a
    record filed in the next day's folder (delivered after midnight)."""
    from storefixture import ACCOUNT_B, T0, V5_FORMAT, record, write_object

    db = "eni-0a1b2c3d4e5f60002"  # the web server's own records use the default interface
    web_records = []
    for n in range(6):
        start = T0 + 600 + 300 * n
        web_records += [
            record("10.0.0.5", "10.0.1.9", 40000 + n, 443, start=start, bytes_=1000 * (n + 1),
                   packets=n + 2),
            record("10.0.1.9", "10.0.0.5", 443, 40000 + n, start=start, bytes_=9000 + n,
                   packets=n + 3, eni=db),
        ]
    web_records += [
        record("10.0.0.5", "10.0.1.9", 40100, 443, start=T0 + 100, bytes_=5_000_000_000),
        record("198.51.100.7", "10.0.0.5", 51515, 22, start=T0 + 200, action="REJECT"),
        record("10.0.0.5", "10.0.0.2", 53000, 53, proto=17, start=T0 + 250, bytes_=80),
        record("10.0.0.5", "10.0.1.9", 0, 0, proto=1, start=T0 + 260, bytes_=84),
        record(None, None, None, None, proto=None, start=T0 + 300, packets=None, bytes_=None,
               action=None, status="NODATA"),
    ]
    write_object(root, web_records)
    scan = [record("203.0.113.9", "10.0.0.5", 60000, port, start=T0 + 3600 + 10 * port,
                   action="REJECT", packets=1, bytes_=40) for port in range(1, 25)]
    write_object(root, scan, flow_log="fl-0123456789abcdef1")
    v5 = dict(version=5, vpc_id="vpc-0a1b2c3d", subnet_id="subnet-0a1b2c3d",
              instance_id="i-0a1b2c3d4e5f60001", region="eu-west-1", az_id="euw1-az1")
    write_object(root, [
        record("2001:db8::10", "2001:db8:0:1::20", 50000 + n, 443, start=T0 + 400 + 60 * n,
               flow_direction="egress", tcp_flags=2, eni="eni-0a1b2c3d4e5f60003", **v5)
        for n in range(3)] + [
        record("2001:db8:0:1::20", "2001:db8::10", 443, 50000, start=T0 + 420,
               flow_direction="ingress", tcp_flags=18, eni="eni-0a1b2c3d4e5f60003", **v5),
        record("10.1.2.3", "10.1.4.5", 33000, 5432, start=T0 + 500, flow_direction="egress",
               tcp_flags=3, action="REJECT", eni="eni-0a1b2c3d4e5f60004", **v5),
        # through a NAT gateway to S3 (path 1): a charge the cost kinds find
        record("10.1.2.3", "52.216.1.1", 33001, 443, start=T0 + 510, flow_direction="egress",
               traffic_path=1, pkt_dst_aws_service="S3", eni="eni-0a1b2c3d4e5f60004", **v5),
    ], region="eu-west-1", flow_log="fl-0fedcba9876543210", fmt=V5_FORMAT)
    for day in range(2):
        write_object(root, [
            record("172.16.0.10", "172.16.5.20", 45000 + n, 8080, account=ACCOUNT_B,
                   start=T0 + day * 86400 + 7200 + 900 * n, bytes_=500 + n,
                   eni="eni-0b1b2c3d4e5f60001") for n in range(4)
        ], account=ACCOUNT_B, flow_log="fl-0b23456789abcdef0")
    # Started before midnight, delivered after it: filed in the next day's folder.
    write_object(root, [record("172.16.0.10", "172.16.9.9", 45999, 443, account=ACCOUNT_B,
                               start=T0 + 86400 - 120, eni="eni-0b1b2c3d4e5f60001")],
                 account=ACCOUNT_B, flow_log="fl-0b23456789abcdef1")
    write_object(root, [record("192.168.1.1", "192.168.1.2", 1234, 3389, account=ACCOUNT_B,
                               start=T0 + 5000, action="REJECT", eni="eni-0b1b2c3d4e5f60002")],
                 account=ACCOUNT_B, region="ap-northeast-1", flow_log="fl-0b23456789abcdef2")
    return root


_SHARED: FakeAthena | None = None


def shared_fake() -> FakeAthena:
    """The process's fake over the fixture store, started on first use (one moto server per
    test session, not per test); ``store_root`` is the store both engines read."""
    global _SHARED
    if _SHARED is None:
        import atexit
        import shutil
        import tempfile

        root = Path(tempfile.mkdtemp(prefix="flowscope-athena-"))
        atexit.register(shutil.rmtree, root, ignore_errors=True)
        fake = FakeAthena().start()
        atexit.register(fake.stop)
        fake.load_store(build_store(root))
        fake.store_root = root
        _SHARED = fake
    return _SHARED

