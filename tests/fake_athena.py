"""A local Athena that really executes SQL: moto's server, its Athena backend hooked to DuckDB.

moto answers the Athena API but runs no SQL. Here its responses are wrapped so that
StartQueryExecution runs the received statement on DuckDB, and writes the answer where
pyathena looks for it: Athena-shaped CSV (header, every value quoted, NULL empty) at the
execution's OutputLocation in moto's S3, plus the column types through GetQueryResults.

Where it matters, it fails where Athena fails:

- Tables are made by the DDL Athena would receive (``CREATE EXTERNAL TABLE``, ``CREATE
  [OR REPLACE] VIEW``, ``DROP``), run as queries or through ``execute``; their data is
  what lies in moto's S3 under the table's location (``storage.location.template`` of
  partition projection, or Hive ``name=value`` folders), nothing else.
- Text tables (LazySimpleSerDe) read BY POSITION: the n-th field of a line is the n-th
  declared column whatever the file's header says (``skip.header.line.count`` skips it),
  ``serialization.null.format`` reads as NULL, a number column that does not parse is
  NULL, fields beyond the declared columns are dropped and missing ones NULL. So a table
  whose column order is not the files' gives wrong answers, as Athena does.
- Parquet tables read real Parquet files by column name; a file column wider than the
  declared type fails the query (HIVE_BAD_DATA), as Athena does.
- ``"$path"`` is each row's object (s3://bucket/key).
- IPADDRESS is a type: ``CAST(x AS IPADDRESS)`` fails on a non-address, ``TRY_CAST`` gives
  NULL, values compare as Trino's (IPv4 as IPv4-mapped IPv6); ``contains(cidr, address)``
  is a function, which before Trino 427 (``trino_version``, default 426) throws "IP
  address version should be the same" when the versions differ. The statement itself is
  not rewritten: only the type and the function are implemented, as DuckDB macros/UDFs.
- DataScannedInBytes is the size of the objects in the partitions the statement selects:
  per table read (through views, CTEs, subqueries and UNIONs), the predicates on partition
  columns anywhere in the WHERE clauses on the way (inside parentheses, ORs and NOTs too;
  other predicates count as "maybe"), evaluated against each object's partition values.

Test switches: ``slow(polls)`` (queries pass through QUEUED and RUNNING, moto's state
manager), ``fail_calls(code, message, times)`` (the next StartQueryExecution calls fail),
``fail_polls(code, message, times)`` (the next GetQueryExecution calls fail),
``fail_next_query(reason)`` (ends FAILED with Athena's reason); StopQueryExecution cancels.
Result reuse is honoured for an identical statement within its MaxAgeInMinutes (moto
itself ignores it).
"""

from __future__ import annotations

import contextlib
import gzip
import io
import ipaddress
import json
import logging
import re
import tempfile
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import sqlglot
from sqlglot import exp

from lib import schema
from lib.config import Settings
from lib.iputil import address_key, duckdb_key_sql
from lib.store import OBJECT_NAME

ATHENA_TYPE_NAMES = {pa.int8(): "tinyint", pa.int16(): "smallint", pa.int32(): "integer",
                     pa.int64(): "bigint", pa.string(): "varchar", pa.large_string(): "varchar",
                     pa.bool_(): "boolean", pa.float64(): "double", pa.float32(): "real"}
DUCK_TYPES = {"int": "INTEGER", "integer": "INTEGER", "bigint": "BIGINT", "smallint": "SMALLINT",
              "tinyint": "TINYINT", "string": "VARCHAR", "varchar": "VARCHAR",
              "double": "DOUBLE", "float": "FLOAT", "boolean": "BOOLEAN", "date": "DATE"}
# Parquet physical integer widths, to refuse a file column wider than the declared one.
INT_WIDTH = {"TINYINT": 8, "SMALLINT": 16, "INTEGER": 32, "BIGINT": 64}
LOGS_BUCKET = "flowscope-logs"
LOGS_PREFIX = "central"
MOTO_ACCOUNT = "123456789012"
LINE_DELIMITER = "\x1f"  # never in a flow log line: each line is read whole, then split


class AthenaFailure(Exception):
    """The query FAILED in Athena, with its reason."""


@dataclass
class FakeExecution:
    sql: str
    duckdb_sql: str = ""
    scanned: int = 0
    reason: str | None = None  # why it FAILED
    reuse: dict = field(default_factory=dict)  # the request's ResultReuseConfiguration
    reused: bool = False
    finished: float = 0.0


@dataclass
class TableDef:
    database: str
    name: str
    columns: list[tuple[str, str]]  # (name, DuckDB type), declared order
    partitions: list[tuple[str, str]]
    layout: str  # text | parquet
    location: str  # s3://bucket/prefix/
    properties: dict[str, str]
    serde: dict[str, str]

    @property
    def partition_names(self) -> list[str]:
        return [name for name, _ in self.partitions]


@dataclass
class StoredFile:
    s3path: str
    local: str
    size: int
    values: dict[str, str]  # partition column -> value


class FakeAthena:
    def __init__(self, database: str = "flowscope", table: str = "vpc_flow_logs",
                 results_bucket: str = "flowscope-results", region: str = "us-east-1",
                 trino_version: int = 426):
        self.database, self.table = database, table
        self.parquet_table = f"{table}_parquet"
        self.results_bucket, self.region = results_bucket, region
        self.trino_version = trino_version
        self.calls: Counter[str] = Counter()
        self.executions: dict[str, FakeExecution] = {}
        self.tables: dict[tuple[str, str], TableDef] = {}
        self.views: dict[tuple[str, str], str] = {}  # Athena SQL of the view's query
        self._failures: list[tuple[str, str]] = []
        self._poll_failures: list[tuple[str, str]] = []
        self._next_reason: str | None = None
        self._files = Path(tempfile.mkdtemp(prefix="fake-athena-s3-"))
        self._downloaded: dict[str, str] = {}  # local path -> etag
        self._schemas: dict[str, pa.Schema] = {}
        self._db = duckdb.connect(":memory:")
        self._db.execute("SET TimeZone = 'UTC'")
        self._functions(self._db)
        self._lock = threading.RLock()
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
        for bucket in (self.results_bucket, LOGS_BUCKET):
            self.s3().create_bucket(Bucket=bucket)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None
        self._unhook()
        self._db.close()
        import shutil

        shutil.rmtree(self._files, ignore_errors=True)

    def s3(self):
        import boto3

        with self.environment():
            return boto3.client("s3", region_name=self.region, endpoint_url=self.endpoint)

    def environment_variables(self) -> dict[str, str]:
        """What a process needs to reach the fake: pyathena's S3 client (the result reader)
        takes its endpoint only from AWS_ENDPOINT_URL."""
        return {"AWS_ENDPOINT_URL": self.endpoint, "AWS_ACCESS_KEY_ID": "testing",
                "AWS_SECRET_ACCESS_KEY": "testing", "AWS_SESSION_TOKEN": "testing",
                "AWS_DEFAULT_REGION": self.region, "AWS_EC2_METADATA_DISABLED": "true",
                "AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null"}

    def use_in_app(self, monkeypatch, settings: dict[str, str]) -> None:
        """Point the app (an AppTest, through its environment) at the fake: the AWS variables,
        every athena_* setting as FLOWSCOPE_*, then ``settings`` (FLOWSCOPE_* names; they win)."""
        env = dict(self.environment_variables())
        env.update({f"FLOWSCOPE_{key.upper()}": str(value)
                    for key, value in self.settings().__dict__.items() if key.startswith("athena_")})
        env.update(settings)
        for key, value in env.items():
            monkeypatch.setenv(key, value)

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
        layout = overrides.get("athena_layout", "text")
        values = dict(engine="athena", athena_region=self.region, athena_workgroup="primary",
                      athena_database=self.database,
                      athena_table=self.parquet_table if layout == "parquet" else self.table,
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
            self._poll_failures.clear()
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

    def fail_polls(self, code: str, message: str, times: int = 1) -> None:
        with self._lock:
            self._poll_failures.extend([(code, message)] * times)

    def fail_next_query(self, reason: str) -> None:
        self._next_reason = reason

    def started(self) -> int:
        return self.calls["StartQueryExecution"]

    def selects(self) -> int:
        """Queries started that read data (not DDL)."""
        return sum(1 for e in self.executions.values()
                   if not re.match(r"\s*(CREATE|DROP|ALTER)\b", e.sql, re.I))

    # --- the bucket ------------------------------------------------------------------------
    def upload_store(self, root: str | Path, prefix: str = LOGS_PREFIX,
                     bucket: str = LOGS_BUCKET) -> str:
        """Copy every object under root/AWSLogs into moto's S3; the location (s3://…)."""
        from moto.s3.models import s3_backends

        backend = s3_backends[MOTO_ACCOUNT]["aws"]
        root = Path(root)
        for path in sorted((root / "AWSLogs").rglob("*")):
            if path.is_file():
                key = f"{prefix}/{path.relative_to(root).as_posix()}"
                backend.put_object(bucket_name=bucket, key_name=key, value=path.read_bytes())
        return f"s3://{bucket}/{prefix}"

    def clear_prefix(self, location: str) -> None:
        from moto.s3.models import s3_backends

        bucket, prefix = _split_s3(location)
        backend = s3_backends[MOTO_ACCOUNT]["aws"]
        for key in [k for k in backend.get_bucket(bucket).keys if k.startswith(prefix)]:
            backend.delete_object(bucket, key)

    def _stored(self, location: str) -> list[tuple[str, bytes, int, str]]:
        """(key, value, size, etag) of every object under an s3:// location."""
        from moto.s3.models import s3_backends

        bucket, prefix = _split_s3(location)
        store = s3_backends[MOTO_ACCOUNT]["aws"].get_bucket(bucket)
        out = []
        for key, stored in store.keys.items():
            if key.startswith(prefix) and not key.endswith("/"):
                out.append((key, stored, stored.size, stored.etag))
        return out

    # --- loading a store: the DDL a deployment would run -------------------------------------
    def load_store(self, root: str | Path, prefix: str = LOGS_PREFIX,
                   parquet: bool = True) -> None:
        """Upload a local store and declare its tables as `lib.cli ddl` would: one text
        table per field order (plus the view uniting them) and the Parquet layout's table
        over a Parquet copy in AWS's delivered schema."""
        from lib.athena_ddl import create_statements, create_table_sql

        self.clear_prefix(f"s3://{LOGS_BUCKET}/{prefix}/")  # another store's objects go too
        location = self.upload_store(root, prefix)
        # Another store's tables go first, as an operator drops them (the DDL says IF NOT
        # EXISTS: over old tables it would keep reading the old store).
        with self._lock:
            for kind in (self.views, self.tables):
                for key in [k for k in kind if k[0] == self.database]:
                    del kind[key]
        sightings = local_sightings(root)
        statements = create_statements(location, sightings, _since(), self.database,
                                       self.table)
        if parquet:
            parquet_root = Path(tempfile.mkdtemp(prefix="fake-athena-parquet-"))
            write_parquet_store(root, parquet_root)
            self.clear_prefix(f"s3://{LOGS_BUCKET}/{prefix}-parquet/")
            parquet_location = self.upload_store(parquet_root, prefix + "-parquet")
            accounts = sorted({a for a, _ in sightings})
            regions = sorted({r for _, r in sightings})
            statements.append(create_table_sql(parquet_location, accounts, regions, _since(),
                                               "parquet", self.database, self.parquet_table))
        for statement in statements:
            self.execute(statement)

    # --- running a statement ---------------------------------------------------------------
    def execute(self, sql: str) -> tuple[pa.Table, int]:
        """Run one Athena statement: (its result, bytes scanned). Raises AthenaFailure."""
        table, _, scanned = self.run_sql(sql)
        return table, scanned

    def run_sql(self, sql: str) -> tuple[pa.Table, str, int]:
        """(result, the DuckDB SQL, bytes in the partitions read) for an Athena statement."""
        try:
            tree = sqlglot.parse_one(sql, read="athena")
        except sqlglot.errors.ParseError as error:
            raise AthenaFailure(f"SYNTAX_ERROR: {str(error).splitlines()[0]}") from None
        with self._lock:
            if isinstance(tree, exp.Create):
                return self._create(tree, sql), "", 0
            if isinstance(tree, exp.Drop):
                key = self._name(tree.this)
                self.tables.pop(key, None)
                self.views.pop(key, None)
                return pa.table({}), "", 0
            if isinstance(tree, exp.Insert):
                return self._insert(tree)
            return self._select(tree)

    def _select(self, tree: exp.Expression) -> tuple[pa.Table, str, int]:
        scans = self._scans(tree, [], {})
        cursor = self._db.cursor()
        try:
            # The partitions each table reference may read (Athena reads no other objects):
            # its view holds those objects only, and their bytes are the data scanned.
            selected: dict[tuple[str, str], dict[str, StoredFile]] = defaultdict(dict)
            scanned = 0
            for table_def, wheres in scans:
                files = self._selected(cursor, table_def, wheres)
                scanned += sum(f.size for f in files)
                selected[(table_def.database, table_def.name)].update(
                    {f.s3path: f for f in files})
            self._prepare(tree, {k: list(v.values()) for k, v in selected.items()})
            duck_sql = self._duckdb_sql(tree)
            table = cursor.sql(duck_sql).to_arrow_table()
        except duckdb.Error as error:
            raise AthenaFailure(_athena_reason(error)) from None
        finally:
            cursor.close()
        return table, duck_sql, scanned

    def _duckdb_sql(self, tree: exp.Expression) -> str:
        return self._duckdb_tree(tree).sql(dialect="duckdb")

    def _duckdb_tree(self, tree: exp.Expression) -> exp.Expression:
        return tree.copy().transform(_athena_functions)

    # --- DDL -------------------------------------------------------------------------------
    def _name(self, table: exp.Table) -> tuple[str, str]:
        return (table.db or self.database, table.name)

    def _create(self, tree: exp.Create, sql: str) -> pa.Table:
        kind = (tree.args.get("kind") or "").upper()
        if kind == "VIEW":
            key = self._name(tree.this)
            if key in self.tables:
                raise AthenaFailure(f"Table '{key[0]}.{key[1]}' already exists (not a view)")
            self.views[key] = tree.expression.sql(dialect="athena")
            self._scans(tree.expression, [], {})  # every table it names must exist
            self._catalog_view(key, self.views[key])
            return pa.table({})
        if kind != "TABLE":
            raise AthenaFailure(f"NOT_SUPPORTED: CREATE {kind}")
        schema_node = tree.this
        key = self._name(schema_node.this)
        if key in self.tables or key in self.views:
            if tree.args.get("exists"):
                return pa.table({})
            raise AthenaFailure(f"Table '{key[0]}.{key[1]}' already exists")
        self.tables[key] = _table_def(key, schema_node, tree.args.get("properties"))
        self._catalog_table(self.tables[key])
        return pa.table({})

    # --- the Glue catalog, as Athena's DDL leaves it ----------------------------------------
    def _glue(self):
        from moto.glue.models import glue_backends

        backend = glue_backends[MOTO_ACCOUNT][self.region]
        return backend

    def _catalog(self, database: str, name: str, table_input: dict) -> None:
        backend = self._glue()
        if database not in backend.databases:
            backend.create_database(database, {"Name": database})
        with contextlib.suppress(Exception):
            backend.delete_table(database, name)
        backend.create_table(database, name, table_input)

    def _catalog_table(self, table_def: TableDef) -> None:
        athena = {v: k for k, v in DUCK_TYPES.items() if k in ("int", "bigint", "string")}
        self._catalog(table_def.database, table_def.name, {
            "Name": table_def.name, "TableType": "EXTERNAL_TABLE",
            "Parameters": dict(table_def.properties),
            "PartitionKeys": [{"Name": n, "Type": athena.get(t, "string")}
                              for n, t in table_def.partitions],
            "StorageDescriptor": {"Location": table_def.location, "Columns": [
                {"Name": n, "Type": athena.get(t, "string")} for n, t in table_def.columns]}})

    def _catalog_view(self, key: tuple[str, str], sql: str) -> None:
        import base64

        encoded = base64.b64encode(json.dumps({"originalSql": sql}).encode()).decode()
        self._catalog(key[0], key[1], {
            "Name": key[1], "TableType": "VIRTUAL_VIEW", "Parameters": {"presto_view": "true"},
            "ViewOriginalText": f"/* Presto View: {encoded} */"})

    # --- INSERT INTO … SELECT: Parquet objects under the table's partitions -----------------
    def _insert(self, tree: exp.Insert) -> tuple[pa.Table, str, int]:
        target = tree.this.this if isinstance(tree.this, exp.Schema) else tree.this
        key = self._name(target)
        table_def = self.tables.get(key)
        if table_def is None:
            raise AthenaFailure(f"TABLE_NOT_FOUND: Table '{key[0]}.{key[1]}' does not exist")
        if table_def.layout != "parquet":
            raise AthenaFailure("NOT_SUPPORTED: INSERT INTO a text table")
        rows, duck_sql, scanned = self._select(tree.expression)
        names = [n for n, _ in table_def.columns] + table_def.partition_names
        if rows.num_columns != len(names):
            raise AthenaFailure(f"TYPE_MISMATCH: Insert query has {rows.num_columns} columns, "
                                f"table has {len(names)}")
        rows = rows.rename_columns(names)
        from moto.s3.models import s3_backends

        backend = s3_backends[MOTO_ACCOUNT]["aws"]
        bucket, prefix = _split_s3(table_def.location)
        partitions = defaultdict(list)
        for index, row in enumerate(rows.select(table_def.partition_names).to_pylist()):
            partitions[tuple(row.values())].append(index)
        stamp = f"{time.time_ns():x}"
        for values, indexes in partitions.items():
            part = rows.take(indexes).select([n for n, _ in table_def.columns])
            part = part.cast(pa.schema([pa.field(n, _arrow_type(t))
                                        for n, t in table_def.columns]))
            folder = "/".join(f"{n}={v}" for n, v in zip(table_def.partition_names, values,
                                                         strict=True))
            buffer = io.BytesIO()
            pq.write_table(part, buffer)
            backend.put_object(bucket_name=bucket,
                               key_name=f"{prefix}{folder}/{stamp}_0.parquet",
                               value=buffer.getvalue())
        return pa.table({"rows": [rows.num_rows]}), duck_sql, scanned

    # --- tables as DuckDB views over the objects in S3 ---------------------------------------
    def _prepare(self, tree: exp.Expression, files: dict | None = None) -> None:
        """(Re)create the DuckDB views of every table and view the statement reads (over
        ``files[table]`` when given: the objects of the partitions it selects)."""
        for key in self._names_read(tree, set()):
            if key in self.tables:
                self._table_view(self.tables[key], (files or {}).get(key))
        for key in self._names_read(tree, set()):
            if key in self.views:
                body = sqlglot.parse_one(self.views[key], read="athena")
                self._db.execute(f'CREATE SCHEMA IF NOT EXISTS "{key[0]}"')
                self._db.execute(f'CREATE OR REPLACE VIEW "{key[0]}"."{key[1]}" AS '
                                 + self._duckdb_sql(self._qualified(body)))

    def _qualified(self, tree: exp.Expression) -> exp.Expression:
        tree = tree.copy()
        for table in tree.find_all(exp.Table):
            if not table.db and (self.database, table.name) in {**self.tables, **self.views}:
                table.set("db", exp.to_identifier(self.database, quoted=True))
        return tree

    def _names_read(self, tree: exp.Expression, seen: set) -> list[tuple[str, str]]:
        """Every table or view the statement names, views' own tables first."""
        ctes = {c.alias for c in tree.find_all(exp.CTE)}
        out = []
        for table in tree.find_all(exp.Table):
            if not table.db and table.name in ctes:
                continue
            key = self._name(table)
            if key in seen:
                continue
            seen.add(key)
            if key in self.views:
                out += self._names_read(sqlglot.parse_one(self.views[key], read="athena"), seen)
            elif key not in self.tables:
                raise AthenaFailure(f"TABLE_NOT_FOUND: line 1:1: Table 'awsdatacatalog."
                                    f"{key[0]}.{key[1]}' does not exist")
            out.append(key)
        return out

    def files(self, table_def: TableDef) -> list[StoredFile]:
        """The table's objects with their partition values (the template, or Hive folders)."""
        pattern = _location_pattern(table_def)
        out = []
        for key, stored, size, etag in self._stored(table_def.location):
            s3path = f"s3://{_split_s3(table_def.location)[0]}/{key}"
            match = pattern.match(s3path)
            if match is None or size == 0 or key.rsplit("/", 1)[-1].startswith(("_", ".")):
                continue  # Hive (and Athena) skip hidden files such as _SUCCESS markers
            local = self._files / _split_s3(table_def.location)[0] / key
            if self._downloaded.get(str(local)) != etag:
                local.parent.mkdir(parents=True, exist_ok=True)
                local.write_bytes(stored.value)
                self._downloaded[str(local)] = etag
                self._schemas.pop(str(local), None)
            out.append(StoredFile(s3path, str(local), size, match.groupdict()))
        return out

    def _table_view(self, table_def: TableDef, files: list[StoredFile] | None = None) -> None:
        files = self.files(table_def) if files is None else sorted(files,
                                                                   key=lambda f: f.s3path)
        db = self._db
        name = exp.table_(table_def.name, db=table_def.database, quoted=True)
        db.execute(f'CREATE SCHEMA IF NOT EXISTS "{table_def.database}"')
        files_name = f"files_{table_def.database}_{table_def.name}"
        files_table = exp.table_(files_name, quoted=True)
        db.execute(f'CREATE OR REPLACE TABLE "{files_name}" (local VARCHAR, s3path VARCHAR, '
                   + ", ".join(f'"{n}" VARCHAR' for n in table_def.partition_names) + ")")
        if files:
            db.executemany(_insert_values(files_table, 2 + len(table_def.partitions)),
                           [[f.local, f.s3path, *[f.values[n] for n in table_def.partition_names]]
                            for f in files])
        partitions = [_typed(exp.column(n, table="p", quoted=True), t, n)
                      for n, t in table_def.partitions]
        if not files:
            values = [_typed(exp.null(), t, n) for n, t in table_def.columns + table_def.partitions]
            empty = exp.select(*values, _typed(exp.null(), "VARCHAR", "$path")).where(exp.false())
            db.execute(_create_view(name, empty))
            return
        paths = exp.Array(expressions=[exp.Literal.string(f.local) for f in files])
        if table_def.layout == "text":
            source, values = self._text_source(table_def, paths)
        else:
            source, values = self._parquet_source(table_def, files, paths)
        view = (exp.select(*values, *partitions,
                           exp.column("s3path", table="p").as_("$path", quoted=True))
                .from_(source)
                .join(files_table.as_("p"), on=exp.column("local", table="p").eq(
                    exp.column("filename", table="r"))))
        db.execute(_create_view(name, view))

    def _text_source(self, table_def: TableDef, paths: exp.Array
                     ) -> tuple[exp.Expression, list[exp.Expression]]:
        """LazySimpleSerDe: split on the delimiter, the n-th field is the n-th column."""
        delimiter = table_def.serde.get("field.delim", ",")
        null = table_def.serde.get("serialization.null.format", "\\N")
        skip = int(table_def.properties.get("skip.header.line.count", "0"))
        lines = statement(
            "SELECT string_split(line, :delimiter) AS fields, filename FROM read_csv(:paths, "
            "columns={'line': 'VARCHAR'}, header=false, delim=:lines, quote='', escape='', "
            "auto_detect=false, skip=:skip, filename=true, null_padding=true)",
            delimiter=exp.Literal.string(delimiter), paths=paths,
            lines=exp.Literal.string(LINE_DELIMITER), skip=exp.Literal.number(skip))
        source = exp.Subquery(this=lines, alias=exp.TableAlias(this=exp.to_identifier("r")))
        values = []
        for position, (column, duck_type) in enumerate(table_def.columns, start=1):
            def field_at(position=position):  # sqlglot counts from 0, DuckDB's SQL from 1
                return exp.Bracket(this=exp.column("fields", table="r"),
                                   expressions=[exp.Literal.number(position - 1)])
            raw = exp.Case().when(field_at().eq(exp.Literal.string(null)), exp.null()).else_(
                field_at())
            value = raw if duck_type == "VARCHAR" else exp.TryCast(
                this=raw, to=exp.DataType.build(duck_type, dialect="duckdb"))
            values.append(value.as_(column, quoted=True))
        return source, values

    def _parquet_source(self, table_def: TableDef, files: list[StoredFile], paths: exp.Array
                        ) -> tuple[exp.Expression, list[exp.Expression]]:
        """By column name (case-insensitive); a file column wider than declared fails."""
        present: dict[str, str] = {}
        for f in files:
            if f.local not in self._schemas:
                self._schemas[f.local] = pq.read_schema(f.local)
            for file_field in self._schemas[f.local]:
                present[file_field.name.lower()] = file_field.name
                declared = dict(table_def.columns).get(file_field.name.lower())
                _check_parquet_type(file_field, declared, f.s3path)
        source = statement("SELECT * FROM read_parquet(:paths, union_by_name=true, "
                            "filename=true) AS r", paths=paths).args["from_"].this
        values = []
        for column, duck_type in table_def.columns:
            if column in present:
                values.append(_typed(exp.column(present[column], table="r", quoted=True),
                                     duck_type, column))
            else:
                values.append(_typed(exp.null(), duck_type, column))
        return source, values

    # --- what a statement scans ---------------------------------------------------------------
    def _scans(self, node: exp.Expression, wheres: list[exp.Expression],
               ctes: dict[str, exp.Expression]) -> list[tuple[TableDef, list[exp.Expression]]]:
        """(table, the WHERE clauses on the way to it) for every table read."""
        if isinstance(node, exp.Subquery):
            return self._scans(node.this, wheres, ctes)
        if isinstance(node, exp.SetOperation):
            return (self._scans(node.left, wheres, ctes)
                    + self._scans(node.right, wheres, ctes))
        if not isinstance(node, exp.Select):
            return []
        local = dict(ctes)
        with_ = node.args.get("with_")
        for cte in (with_.expressions if with_ else []):
            local[cte.alias] = cte.this
        where = node.args.get("where")
        here = wheres + ([where.this] if where is not None else [])
        sources = []
        if node.args.get("from_") is not None:
            sources.append(node.args["from_"].this)
        sources += [join.this for join in node.args.get("joins") or []]
        out = []
        for source in sources:
            if isinstance(source, exp.Subquery):
                out += self._scans(source.this, here, local)
            elif isinstance(source, exp.Table):
                if not source.db and source.name in local:
                    out += self._scans(local[source.name], here, ctes)
                    continue
                key = self._name(source)
                if key in self.views:
                    out += self._scans(sqlglot.parse_one(self.views[key], read="athena"),
                                       here, {})
                elif key in self.tables:
                    out.append((self.tables[key], here))
                else:
                    raise AthenaFailure(f"TABLE_NOT_FOUND: line 1:1: Table 'awsdatacatalog."
                                        f"{key[0]}.{key[1]}' does not exist")
        return out

    def _selected(self, cursor, table_def: TableDef, wheres: list[exp.Expression]
                  ) -> list[StoredFile]:
        """The table's objects whose partitions the WHERE clauses may select."""
        names = set(table_def.partition_names)
        terms = [t for t in (_relaxed(w, names) for w in wheres) if t is not None]
        files = self.files(table_def)
        if not files or not terms:
            return files
        predicate = exp.and_(*[exp.Paren(this=self._duckdb_tree(t)) for t in terms])
        columns = [_typed(exp.column(n, quoted=True), t, n) for n, t in table_def.partitions]
        cursor.execute("CREATE OR REPLACE TEMP TABLE partition_values (n BIGINT, "
                       + ", ".join(f'"{n}" VARCHAR' for n in table_def.partition_names) + ")")
        cursor.executemany(_insert_values(exp.table_("partition_values"), 1 + len(names)),
                           [[i, *[f.values[n] for n in table_def.partition_names]]
                            for i, f in enumerate(files)])
        values = exp.select("n", *columns).from_("partition_values").subquery()
        chosen = cursor.execute(exp.select("n").from_(values).where(predicate).sql(
            dialect="duckdb")).fetchall()
        return [files[n] for (n,) in chosen]

    # --- Athena's functions and types ----------------------------------------------------------
    def _functions(self, db) -> None:
        db.execute("CREATE OR REPLACE MACRO ip_key(a) AS " + duckdb_key_sql("a"))
        db.create_function("athena_ipaddress", _ipaddress_cast, [duckdb.sqltypes.VARCHAR],
                           duckdb.sqltypes.VARCHAR, null_handling="special")
        db.create_function("athena_try_ipaddress", _ipaddress_try, [duckdb.sqltypes.VARCHAR],
                           duckdb.sqltypes.VARCHAR, null_handling="special")
        fake = self

        def contains(cidr, key):
            return _contains(cidr, key, fake.trino_version)

        db.create_function("athena_contains", contains, [duckdb.sqltypes.VARCHAR,
                                                         duckdb.sqltypes.VARCHAR],
                           duckdb.sqltypes.BOOLEAN, null_handling="special")

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
            with fake._lock:
                failure = fake._poll_failures.pop(0) if fake._poll_failures else None
            if failure is not None:
                code, message = failure
                return json.dumps({"__type": code, "Message": message}), {"status": 400}
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
                raise AthenaFailure(reason)
            table, record.duckdb_sql, record.scanned = self.run_sql(execution.query)
        except AthenaFailure as error:
            record.reason = str(error)
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
        return next((e for e in list(self.executions.values()) if e is not record
                     and e.sql == record.sql and e.reason is None and e.finished >= oldest
                     and e.finished), None)

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


# --- DDL parsing ------------------------------------------------------------------------

def _duck_type(data_type: exp.DataType) -> str:
    text = data_type.sql(dialect="athena").lower()
    return DUCK_TYPES.get(text, DUCK_TYPES.get(text.split("(")[0], "VARCHAR"))


def _table_def(key: tuple[str, str], schema_node: exp.Schema, properties) -> TableDef:
    columns = [(c.name.lower(), _duck_type(c.args["kind"])) for c in schema_node.expressions]
    partitions, layout, location, props, serde = [], "text", "", {}, {}
    for prop in properties.expressions if properties else []:
        if isinstance(prop, exp.PartitionedByProperty):
            partitions = [(c.name.lower(), _duck_type(c.args["kind"]))
                          for c in prop.this.expressions]
        elif isinstance(prop, exp.FileFormatProperty):
            layout = "parquet" if prop.this.name.upper() == "PARQUET" else "text"
        elif isinstance(prop, exp.LocationProperty):
            location = prop.this.this
        elif isinstance(prop, exp.RowFormatSerdeProperty):
            for item in prop.args["serde_properties"].expressions:
                serde[item.this.this] = item.args["value"].this
        elif isinstance(prop, exp.Property) and isinstance(prop.this, exp.Literal):
            props[prop.this.this] = prop.args["value"].this
    if not location.startswith("s3://"):
        raise AthenaFailure("A table needs an s3:// LOCATION")
    if not location.endswith("/"):
        location += "/"
    return TableDef(key[0], key[1], columns, partitions, layout, location, props, serde)


def _location_pattern(table_def: TableDef) -> re.Pattern:
    """A regex over s3 paths of the table's objects, capturing the partition values."""
    template = table_def.properties.get("storage.location.template")
    if template and table_def.properties.get("projection.enabled") == "true":
        parts = re.split(r"\$\{([a-z_]+)\}", template.rstrip("/"))
        pattern = ""
        for n, part in enumerate(parts):
            if n % 2 == 0:
                pattern += re.escape(part)
                continue
            date_format = table_def.properties.get(f"projection.{part}.format", "")
            segments = date_format.count("/")
            pattern += f"(?P<{part}>[^/]+" + "(?:/[^/]+)" * segments + ")"
        return re.compile(pattern + r"/(?:[^/]+/)*[^/]+$")
    hive = "".join(f"{re.escape(n)}=(?P<{n}>[^/]+)/" for n in table_def.partition_names)
    return re.compile(re.escape(table_def.location) + hive + r"[^/]+$")


def _check_parquet_type(file_field: pa.Field, declared: str | None, s3path: str) -> None:
    if declared is None:
        return
    file_type = file_field.type
    if pa.types.is_integer(file_type):
        width = file_type.bit_width
        if declared not in INT_WIDTH or INT_WIDTH[declared] < width:
            raise AthenaFailure(
                f"HIVE_BAD_DATA: Field {file_field.name}'s type INT{width} in parquet file "
                f"{s3path} is incompatible with type {declared.lower()} defined in table schema")
    elif pa.types.is_string(file_type) and declared != "VARCHAR":
        raise AthenaFailure(
            f"HIVE_BAD_DATA: Field {file_field.name}'s type BINARY in parquet file {s3path} "
            f"is incompatible with type {declared.lower()} defined in table schema")


def _arrow_type(duck_type: str) -> pa.DataType:
    return {"INTEGER": pa.int32(), "BIGINT": pa.int64(), "SMALLINT": pa.int16(),
            "TINYINT": pa.int8(), "DOUBLE": pa.float64(), "BOOLEAN": pa.bool_()}.get(
        duck_type, pa.string())


# --- IPADDRESS and contains -----------------------------------------------------------------

def _athena_functions(node: exp.Expression) -> exp.Expression:
    """Athena's IPADDRESS type and contains() as the fake's DuckDB functions (the statement's
    logic is unchanged: every comparison stays as it was written)."""
    if isinstance(node, exp.Cast | exp.TryCast) and node.to.this == exp.DataType.Type.IPADDRESS:
        safe = isinstance(node, exp.TryCast) or node.args.get("safe")
        return exp.Anonymous(this="athena_try_ipaddress" if safe else "athena_ipaddress",
                             expressions=[node.this])
    if isinstance(node, exp.ArrayContains) or (
            isinstance(node, exp.Anonymous) and node.name.lower() == "contains"):
        first, second = ((node.this, node.expression) if isinstance(node, exp.ArrayContains)
                         else node.expressions)
        second = second.transform(_athena_functions)
        if isinstance(second, exp.Anonymous) and second.name.startswith("athena_"):
            return exp.Anonymous(this="athena_contains", expressions=[first, second])
    return node


def _ipaddress_key(text: str) -> str:
    key = address_key(text)
    if key is None:
        raise ValueError(f"INVALID_CAST_ARGUMENT: Cannot cast value to IPADDRESS: {text}")
    return key


def _ipaddress_cast(text):
    return None if text is None else _ipaddress_key(text)


def _ipaddress_try(text):
    return None if text is None else address_key(text)


def _contains(cidr, key, trino_version: int):
    if cidr is None or key is None:
        return None
    network = ipaddress.ip_network(cidr, strict=False)
    address = ipaddress.ip_address(int(key, 16))
    is_v4 = address.ipv4_mapped is not None
    if trino_version < 427 and (network.version == 4) != is_v4:
        raise ValueError("INVALID_FUNCTION_ARGUMENT: IP address version should be the same")
    if network.version == 4:
        return is_v4 and address.ipv4_mapped in network
    return address in network


def _relaxed(node: exp.Expression, partitions: set[str]) -> exp.Expression | None:
    """A predicate over partition columns only that holds wherever ``node`` may hold (None:
    TRUE). Terms on other columns become "maybe"; NOT keeps only whole-partition terms."""
    while isinstance(node, exp.Paren):
        node = node.this
    if isinstance(node, exp.And):
        left, right = _relaxed(node.left, partitions), _relaxed(node.right, partitions)
        kept = [t for t in (left, right) if t is not None]
        return exp.and_(*kept) if kept else None
    if isinstance(node, exp.Or):
        left, right = _relaxed(node.left, partitions), _relaxed(node.right, partitions)
        return None if left is None or right is None else exp.or_(left, right)
    columns = list(node.find_all(exp.Column))
    if (columns and all(c.name in partitions for c in columns)
            and node.find(exp.Select) is None):
        return node.copy()
    if isinstance(node, exp.Boolean) and not node.this:
        return node.copy()  # FALSE: nothing
    return None


def _athena_reason(error: Exception) -> str:
    message = str(error)
    for code in ("INVALID_FUNCTION_ARGUMENT", "INVALID_CAST_ARGUMENT"):
        if code in message:
            return message[message.index(code):].splitlines()[0]
    if "does not exist" in message and "Table" in message:
        return f"TABLE_NOT_FOUND: {message.splitlines()[0]}"
    return f"GENERIC_USER_ERROR: {message.splitlines()[0]}"


def _split_s3(location: str) -> tuple[str, str]:
    bucket, _, prefix = location.removeprefix("s3://").partition("/")
    return bucket, prefix


def statement(template: str, read: str = "duckdb", tables: dict | None = None,
              **values) -> exp.Expression:
    """A constant SQL template with values (expressions, or ints and strings as literals) in
    place of its :name placeholders and tables in place of the tables ``tables`` names: SQL
    is built as an AST here too, never by splicing text."""
    tables = tables or {}
    values = {k: v if isinstance(v, exp.Expression) else exp.convert(v)
              for k, v in values.items()}

    def put(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Placeholder) and node.name in values:
            return values[node.name].copy()
        if isinstance(node, exp.Table) and not node.db and node.name in tables:
            table = tables[node.name].copy()
            if node.alias:
                table.set("alias", node.args["alias"].copy())
            return table
        return node

    return sqlglot.parse_one(template, read=read).transform(put)


def athena_sql(template: str, tables: dict | None = None, **values) -> str:
    """Athena SQL (see ``statement``), for a test to run on the fake."""
    return statement(template, read="athena", tables=tables, **values).sql(dialect="athena")


def _typed(value: exp.Expression, type_name: str, name: str) -> exp.Expression:
    """CAST(value AS type) AS "name"."""
    return exp.cast(value, exp.DataType.build(type_name, dialect="duckdb")).as_(name, quoted=True)


def _insert_values(table: exp.Table, width: int) -> str:
    """INSERT INTO table VALUES (?, ?, ...) for executemany."""
    row = exp.Tuple(expressions=[exp.Placeholder() for _ in range(width)])
    return exp.Insert(this=table, expression=exp.Values(expressions=[row])).sql(dialect="duckdb")


def _create_view(name: exp.Table, select: exp.Expression) -> str:
    return exp.Create(this=name, kind="VIEW", replace=True, expression=select).sql(
        dialect="duckdb")


def _since():
    from datetime import date

    return date(2020, 1, 1)


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


# --- stores: field orders seen, and the Parquet layout in AWS's delivered schema ------------

def _local_objects(root: Path):
    for path in sorted(Path(root).glob("AWSLogs/*/vpcflowlogs/*/*/*/*/*")):
        match = OBJECT_NAME.match(path.name)
        if match:
            yield path, match


def local_sightings(root: str | Path) -> dict[tuple[str, str], dict[str, tuple[str, ...]]]:
    """{(account, region): {flow log ID: its header}} of a local store."""
    found: dict[tuple[str, str], dict[str, tuple[str, ...]]] = defaultdict(dict)
    for path, match in _local_objects(Path(root)):
        with gzip.open(path, "rt") as text:
            header = tuple(text.readline().split())
        found[(match["account"], match["region"])][match["flow_log_id"]] = header
    return dict(found)


# The Parquet schema AWS delivers: the field's SQL name; INT32 for "int" fields, INT64 for
# "bigint" (packets, bytes, start, end), strings for the rest; only the format's fields.
PARQUET_DELIVERED = {"int": pa.int32(), "bigint": pa.int64(), "string": pa.string()}


def write_parquet_store(root: str | Path, out: str | Path) -> Path:
    """The text store as AWS delivers it in Parquet with Hive-compatible prefixes."""
    out = Path(out)
    for path, match in _local_objects(Path(root)):
        with gzip.open(path, "rt") as text:
            lines = text.read().splitlines()
        header = lines[0].split()
        fields = [schema.field_for(name) for name in header]
        rows = [line.split(" ") for line in lines[1:] if line.strip()]
        columns = {}
        for n, f in enumerate(fields):
            values = [None if row[n] == "-" else row[n] for row in rows]
            if f.is_number:
                values = [None if v is None else int(v) for v in values]
            columns[f.column] = pa.array(values, PARQUET_DELIVERED[f.type])
        year, month, day = path.parts[-4:-1]
        folder = (out / "AWSLogs" / f"aws-account-id={match['account']}" / "aws-service=vpcflowlogs"
                  / f"aws-region={match['region']}" / f"year={year}" / f"month={month}"
                  / f"day={day}")
        folder.mkdir(parents=True, exist_ok=True)
        pq.write_table(pa.table(columns),
                       folder / path.name.replace(".log.gz", ".log.parquet"))
    return out


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

        root = Path(tempfile.mkdtemp(prefix="flowscope-athena-"))
        atexit.register(shutil.rmtree, root, ignore_errors=True)
        fake = FakeAthena().start()
        atexit.register(fake.stop)
        fake.load_store(build_store(root))
        fake.store_root = root
        _SHARED = fake
    return _SHARED


def fake_over(store):
    """The shared fake over ``store`` while the caller's fixture lasts, then back over its own
    store (a module fixture's body: ``yield from fake_over(store)``)."""
    fake = shared_fake()
    fake.load_store(store)
    yield fake
    fake.load_store(fake.store_root)
