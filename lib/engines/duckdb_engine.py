"""The embedded engine: DuckDB over gzip text objects in the S3 key layout, read in place.

The source of the logical ``flows`` table is built per query from the key layout: only
the objects whose account, region, day folder and delivery time can hold records of the
query's range are read. Objects are grouped by (account, region, field order); each group
is read into an Arrow table of text columns (lib/rawread.py: much cheaper per object than
DuckDB's read_csv) registered as ``raw_<n>``, and typed by name in SQL, so files with
different formats are read by name, not by position.

With a columnar cache (lib/columnar.py, ``columnar_dir``) the source is instead the cache's
Parquet files for the query's folders, UNION ALL the objects not converted yet (read raw as
above), and aggregate queries a rollup can answer exactly read the rollup (lib/rollups.py).
The raw path stays: it is the fallback when there is no cache or the cache disagrees with
the store, and the baseline the benchmark compares with.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from functools import cache, lru_cache
from typing import TYPE_CHECKING

import duckdb
import sqlglot
from sqlglot import exp

from lib import schema
from lib.engines import EngineError, Result
from lib.iputil import duckdb_key_sql
from lib.query import Query, Target, render
from lib.rawread import ObjectCache, ReadReport, read_objects
from lib.store import StoredObject, list_objects

if TYPE_CHECKING:
    import pyarrow as pa

    from lib.columnar import View

Group = tuple[str, str, tuple[str, ...]]  # account, region, header
ADDRESS_KEYS = {"src_key": "srcaddr", "dst_key": "dstaddr"}  # key column -> address column
ALL_KEYS = tuple(ADDRESS_KEYS)


class DuckDBEngine:
    name = "duckdb"

    def __init__(self, root: str, late_margin_s: int = 3600, columnar_dir: str | None = None,
                 rollups: bool = True):
        from lib.columnar import ColumnarCache

        self.root = root
        self.late_margin_s = late_margin_s
        self._db: duckdb.DuckDBPyConnection | None = None
        self._lock = threading.Lock()
        self._headers: dict[tuple[str, str | None], tuple[str, ...] | None] = {}
        self._objects = ObjectCache()
        self.columnar = ColumnarCache(columnar_dir, root) if columnar_dir else None
        self.use_rollups = rollups

    # --- connection ----------------------------------------------------------------------
    def _cursor(self) -> duckdb.DuckDBPyConnection:
        """A cursor of one shared in-memory database; cursors are safe across threads."""
        with self._lock:
            if self._db is None:
                self._db = duckdb.connect(":memory:")
                self._db.execute("SET TimeZone = 'UTC'")
                # The cache's files are read again and again: keep their footers in memory.
                self._db.execute("SET parquet_metadata_cache = true")
            return self._db.cursor()

    # --- which objects, in which groups ----------------------------------------------------
    def objects(self, query: Query) -> list[StoredObject]:
        f = query.filters
        return [o for o in list_objects(self.root, f.start, f.end, query.accounts,
                                        f.regions or None, self.late_margin_s)
                if not o.path.endswith(".parquet")]

    def _header(self, obj: StoredObject) -> tuple[str, ...] | None:
        """The object's field names. A flow log's format is fixed when it is created, so
        one header per flow log serves all its objects; unknown names are read each.
        Raises FlowLogReadError for an unreadable object."""
        from lib.parser import read_header

        key = (obj.path, None) if obj.flow_log_id is None else (obj.account, obj.flow_log_id)
        if key not in self._headers:
            self._headers[key] = read_header(obj.path)
        return self._headers[key]

    def groups(self, objects: list[StoredObject], skipped: list[str]
               ) -> dict[Group, list[StoredObject]]:
        """Objects by (account, region, header); unreadable ones are reported in skipped."""
        from lib.parser import FlowLogReadError

        groups: dict[Group, list[StoredObject]] = defaultdict(list)
        for obj in objects:
            try:
                header = self._header(obj)
            except FlowLogReadError as error:
                skipped.append(f"{obj.path}: {error.reason}")
                continue
            if header is None:
                skipped.append(f"{obj.path}: no header line naming the fields")
                continue
            groups[(obj.account, obj.region, header)].append(obj)
        return dict(sorted(groups.items()))

    def target(self, groups: list[Group], keys: tuple[str, ...] = ALL_KEYS) -> Target:
        # The source depends only on the groups, which repeat from query to query: its SQL
        # is rendered once and kept (rendering it costs more than most queries).
        return Target("duckdb", exp.Var(this=source_sql(tuple(groups), keys)))

    def render(self, query: Query, groups: list[Group]) -> str:
        """The query's SQL; address keys are computed only when a CIDR test needs them
        (DuckDB parses and binds the long key expression even when nothing reads it)."""
        probe = render(query, self.target(groups, keys=()))
        keys = tuple(k for k in ADDRESS_KEYS if f'"{k}"' in probe)
        return probe if not keys else render(query, self.target(groups, keys))

    def sql(self, query: Query) -> str:
        view = self._view(query)
        if view is not None:
            return self._cached_sql(query, view, list(self.groups(view.remainder, [])))
        return self.render(query, list(self.groups(self.objects(query), [])))

    # --- the columnar cache ----------------------------------------------------------------
    def _view(self, query: Query) -> View | None:
        """The cache's share of the query, or None: no cache, or it disagrees with the store."""
        if self.columnar is None:
            return None
        f = query.filters
        return self.columnar.view(f.start, f.end, query.accounts, f.regions or None,
                                  self.late_margin_s)

    def route(self, query: Query) -> str:
        """Where a query is answered: raw | columnar | rollup:<family>."""
        if self._view(query) is None:
            return "raw"
        chosen = _route(query) if self.use_rollups else None
        return f"rollup:{chosen.rollup.name}" if chosen else "columnar"

    def _cached_sql(self, query: Query, view: View, remainder: list[Group]) -> str:
        from lib import rollups

        records = _parquet(view.records) if view.records else None
        raw = source_sql(tuple(remainder)) if remainder else None
        chosen = _route(query) if self.use_rollups else None
        if chosen is not None:
            tables = {name: _parquet(files) for name, files in view.rollups.items() if files}
            return rollups.render(chosen, rollups.source_sql(chosen, query, tables, records, raw))
        columns = ", ".join(f'"{c}"' for c in _record_columns())
        parts = [f"SELECT {columns} FROM {records}"] if records else []
        if raw is not None:
            parts.append(f'SELECT {columns} FROM ({raw}) AS "remainder"')
        source = " UNION ALL ".join(parts) or _empty_source()
        return _template(query).replace(rollups.SOURCE, source, 1)

    # --- running -------------------------------------------------------------------------
    def run(self, query: Query) -> Result:
        began = time.perf_counter()
        view = self._view(query)
        if view is None:
            return self._run(query, self.objects(query), [],
                             lambda groups: self.render(query, groups), began)
        try:
            return self._run_view(query, view, began)
        except duckdb.IOException as error:
            # A build merged segments after the manifest was read and its grace period
            # passed: read the new manifest, once.
            view = self._view(query)
            if view is None:
                raise EngineError(f"The query failed: {error}") from error
            return self._run_view(query, view, began)

    def _run_view(self, query: Query, view: View, began: float) -> Result:
        return self._run(query, view.remainder, list(view.skipped),
                         lambda groups: self._cached_sql(query, view, groups), began,
                         view.malformed_lines, passthrough=(duckdb.IOException,))

    def _run(self, query: Query, objects: list[StoredObject], skipped: list[str], make_sql,
             began: float, malformed: int = 0, passthrough=()) -> Result:
        groups = self.groups(objects, skipped)
        report = ReadReport()
        tables = {group: read_objects(members, group[2], self._objects, report)
                  for group, members in groups.items()}
        readable = [group for group, table in tables.items() if table is not None]
        sql = make_sql(readable)
        cursor = self._cursor()
        try:
            for index, group in enumerate(readable):
                cursor.register(f"raw_{index}", tables[group])
            table = cursor.sql(sql).to_arrow_table()
        except passthrough:
            raise
        except duckdb.Error as error:
            raise EngineError(f"The query failed: {error}") from error
        finally:
            cursor.close()
        skipped += report.unreadable
        malformed += report.malformed_lines
        if malformed:
            skipped.append(f"{malformed} malformed line(s) with the wrong number of fields")
        return Result(table=table, sql=sql, engine=self.name,
                      elapsed_s=time.perf_counter() - began, skipped=skipped,
                      objects=len(objects))


@lru_cache(maxsize=1024)
def _template(query: Query) -> str:
    """The query's SQL with a placeholder for the source of `flows` (rendering the query
    costs more than running it on the cache, and repeats with every new file list)."""
    from lib.rollups import SOURCE

    return render(query, Target("duckdb", exp.Var(this=SOURCE)))


@lru_cache(maxsize=1)
def _empty_source() -> str:
    """No records: the typed columns and NULL keys (the key expression costs binding time)."""
    keys = ", ".join(f'CAST(NULL AS VARCHAR) AS "{k}"' for k in ADDRESS_KEYS)
    return f'SELECT *, {keys} FROM ({source_sql((), keys=())}) AS "raw"'


@lru_cache(maxsize=1024)
def _route(query: Query):
    from lib import rollups

    return rollups.route(query)


def _record_columns() -> tuple[str, ...]:
    from lib.columnar import RECORD_COLUMNS

    return RECORD_COLUMNS


def _parquet(files: list[str]) -> str:
    paths = ", ".join("'" + f.replace("'", "''") + "'" for f in files)
    return f"read_parquet([{paths}])"


# --- typed records of raw text, shared with the columnar cache's build -----------------

_local = threading.local()


def local_connection() -> duckdb.DuckDBPyConnection:
    """This thread's own single-threaded in-memory database (build work runs in threads)."""
    con = getattr(_local, "con", None)
    if con is None:
        con = _local.con = duckdb.connect(":memory:")
        con.execute("SET threads = 1")
        con.execute("SET TimeZone = 'UTC'")
    return con


def typed_records(account: str, region: str, texts: list[tuple[tuple[str, ...], pa.Table]]
                  ) -> pa.Table:
    """Text columns of one account and region (one table per header) -> the logical `flows`
    columns without address keys, typed exactly as queries type them; rows without a start
    (no query can match them) are left out."""
    con = local_connection()
    names = [f"raw_{index}" for index in range(len(texts))]
    try:
        for name, (_, table) in zip(names, texts, strict=True):
            con.register(name, table)
        union = source_sql(tuple((account, region, header) for header, _ in texts), keys=())
        return con.sql(f'SELECT * FROM ({union}) AS "typed" WHERE "start" IS NOT NULL'
                       ).to_arrow_table()
    finally:
        for name in names:
            con.unregister(name)


@cache
def _key_expression(column: str) -> exp.Expression:
    return sqlglot.parse_one(duckdb_key_sql(f'"{column}"'), read="duckdb")


def _typed(name: str) -> exp.Expression:
    """A text column typed by the schema; a stray value becomes NULL, never an error."""
    value = exp.column(name, quoted=True)
    field = schema.field_for(name)
    if not field.is_number:
        return value
    return exp.TryCast(this=value, to=exp.DataType.build(schema.sql_type(field)))


def _group_select(index: int, group: Group) -> exp.Select:
    account, region, header = group
    present = set(header)
    projections = [exp.Literal.string(account).as_(schema.LOG_ACCOUNT),
                   exp.Literal.string(region).as_(schema.LOG_REGION)]
    for f in schema.FIELDS:
        value = _typed(f.name) if f.name in present else exp.cast(exp.null(), schema.sql_type(f))
        projections.append(value.as_(f.column))
    return exp.select(*projections).from_(exp.to_identifier(f"raw_{index}"))


def _empty_select() -> exp.Select:
    projections = [exp.cast(exp.null(), "VARCHAR").as_(schema.LOG_ACCOUNT),
                   exp.cast(exp.null(), "VARCHAR").as_(schema.LOG_REGION)]
    projections += [exp.cast(exp.null(), schema.sql_type(f)).as_(f.column) for f in schema.FIELDS]
    return exp.select(*projections).where(exp.false())


@lru_cache(maxsize=256)
def source_sql(groups: tuple[Group, ...], keys: tuple[str, ...] = ALL_KEYS) -> str:
    return source_for(list(groups), keys).sql(dialect="duckdb", identify=True)


def source_for(groups: list[Group], keys: tuple[str, ...] = ALL_KEYS) -> exp.Expression:
    """The logical `flows` columns over the registered raw_<n> tables, plus address keys."""
    selects = [_group_select(i, g) for i, g in enumerate(groups)] or [_empty_select()]
    union = selects[0]
    for select in selects[1:]:
        union = exp.union(union, select, distinct=False, copy=False)
    if not keys:
        return union
    return exp.select(
        exp.Star(), *[_key_expression(ADDRESS_KEYS[k]).as_(k) for k in keys],
    ).from_(exp.Subquery(this=union, alias=exp.TableAlias(this=exp.to_identifier("raw"))))
