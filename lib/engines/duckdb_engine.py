"""The embedded engine: DuckDB over gzip text objects in the S3 key layout, read in place.

The source of the logical ``flows`` table is built per query from the key layout: only
the objects whose account, region, day folder and delivery time can hold records of the
query's range are read. Objects are grouped by (account, region, field order), one
``read_csv`` per group with explicit column types (account IDs stay text, byte counts
BIGINT), so files with different formats are read by name, not by position.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict

import duckdb
from sqlglot import exp

from lib import schema
from lib.engines import EngineError, Result
from lib.iputil import duckdb_key_sql
from lib.query import Query, Target, render
from lib.store import StoredObject, list_objects

MAX_BAD_OBJECTS = 50  # corrupt objects skipped in one query before giving up


class DuckDBEngine:
    name = "duckdb"

    def __init__(self, root: str, late_margin_s: int = 3600):
        self.root = root
        self.late_margin_s = late_margin_s
        self._db: duckdb.DuckDBPyConnection | None = None
        self._lock = threading.Lock()
        self._headers: dict[tuple[str, str | None], tuple[str, ...] | None] = {}
        self._bad: dict[str, str] = {}  # path -> reason, remembered across queries

    # --- connection ----------------------------------------------------------------------
    def _cursor(self) -> duckdb.DuckDBPyConnection:
        """A cursor of one shared in-memory database; cursors are safe across threads."""
        with self._lock:
            if self._db is None:
                self._db = duckdb.connect(":memory:")
                self._db.execute("SET TimeZone = 'UTC'")
            return self._db.cursor()

    # --- the source of `flows` ----------------------------------------------------------
    def objects(self, query: Query) -> list[StoredObject]:
        f = query.filters
        return [o for o in list_objects(self.root, f.start, f.end, query.accounts,
                                        f.regions or None, self.late_margin_s)
                if o.path not in self._bad and not o.path.endswith(".parquet")]

    def _header(self, obj: StoredObject) -> tuple[str, ...] | None:
        """The object's field names. A flow log's format is fixed when it is created, so
        one header per flow log serves all its objects; unknown names are read each.
        Raises FlowLogReadError for an unreadable object."""
        from lib.parser import read_header

        key = (obj.path, None) if obj.flow_log_id is None else (obj.account, obj.flow_log_id)
        if key not in self._headers:
            self._headers[key] = read_header(obj.path)
        return self._headers[key]

    def _readable(self, objects: list[StoredObject], skipped: list[str]) -> list[StoredObject]:
        """Objects whose header can be read; the others are remembered and reported."""
        from lib.parser import FlowLogReadError

        readable = []
        for obj in objects:
            try:
                header = self._header(obj)
            except FlowLogReadError as error:
                self._bad[obj.path] = str(error)
                skipped.append(f"{obj.path}: {error.reason}")
                continue
            if header is None:
                skipped.append(f"{obj.path}: no header line naming the fields")
                continue
            readable.append(obj)
        return readable

    def source(self, objects: list[StoredObject]) -> exp.Expression:
        groups: dict[tuple[str, str, tuple[str, ...]], list[str]] = defaultdict(list)
        for obj in objects:
            groups[(obj.account, obj.region, self._header(obj))].append(obj.path)
        selects = [_group_select(a, r, h, paths) for (a, r, h), paths in sorted(groups.items())]
        if not selects:
            selects = [_empty_select()]
        union = selects[0]
        for select in selects[1:]:
            union = exp.union(union, select, distinct=False)
        keys = exp.select(
            exp.Star(),
            _parse(duckdb_key_sql('"srcaddr"')).as_("src_key"),
            _parse(duckdb_key_sql('"dstaddr"')).as_("dst_key"),
        ).from_(exp.Subquery(this=union, alias=exp.TableAlias(this=exp.to_identifier("raw"))))
        return keys

    def target(self, query: Query, objects: list[StoredObject] | None = None) -> Target:
        if objects is None:
            objects = self._readable(self.objects(query), [])
        return Target("duckdb", self.source(objects))

    def sql(self, query: Query) -> str:
        return render(query, self.target(query))

    # --- running -------------------------------------------------------------------------
    def run(self, query: Query) -> Result:
        began = time.perf_counter()
        skipped: list[str] = []
        objects = self._readable(self.objects(query), skipped)
        for _ in range(MAX_BAD_OBJECTS + 1):
            sql = render(query, self.target(query, objects))
            try:
                table = self._cursor().sql(sql).to_arrow_table()
            except duckdb.IOException as error:
                bad = _object_named_in(str(error), objects)
                if bad is None:
                    raise EngineError(f"Reading the flow logs failed: {error}") from error
                self._bad[bad.path] = str(error)
                skipped.append(f"{bad.path}: {_reason(error)}")
                objects = [o for o in objects if o.path != bad.path]
                continue
            except duckdb.Error as error:
                raise EngineError(f"The query failed: {error}") from error
            return Result(table=table, sql=sql, engine=self.name,
                          elapsed_s=time.perf_counter() - began, skipped=skipped,
                          objects=len(objects))
        raise EngineError(f"More than {MAX_BAD_OBJECTS} unreadable objects; first: {skipped[:3]}")


def _parse(sql: str) -> exp.Expression:
    import sqlglot

    return sqlglot.parse_one(sql, read="duckdb")


def _object_named_in(message: str, objects: list[StoredObject]) -> StoredObject | None:
    for obj in objects:
        if obj.path in message:
            return obj
    return None


def _reason(error: Exception) -> str:
    text = str(error).removeprefix("IO Error: ")
    return text.split(":")[0].strip() or text


def _csv_columns(header: tuple[str, ...]) -> exp.Expression:
    """read_csv's `columns` struct: every header name with its SQL type, in file order."""
    return exp.Struct(expressions=[
        exp.PropertyEQ(this=exp.Literal.string(name),
                       expression=exp.Literal.string(schema.sql_type(schema.field_for(name))))
        for name in header])


def _group_select(account: str, region: str, header: tuple[str, ...], paths: list[str]
                  ) -> exp.Select:
    read = exp.func(
        "read_csv",
        exp.Array(expressions=[exp.Literal.string(p) for p in paths]),
        exp.PropertyEQ(this=exp.var("delim"), expression=exp.Literal.string(" ")),
        exp.PropertyEQ(this=exp.var("header"), expression=exp.true()),
        exp.PropertyEQ(this=exp.var("nullstr"), expression=exp.Literal.string("-")),
        exp.PropertyEQ(this=exp.var("auto_detect"), expression=exp.false()),
        # Malformed lines (repeated headers, wrong field counts) are skipped here; the
        # Records page and `decode` show them line by line.
        exp.PropertyEQ(this=exp.var("ignore_errors"), expression=exp.true()),
        exp.PropertyEQ(this=exp.var("columns"), expression=_csv_columns(header)),
    )
    present = set(header)
    projections = [exp.Literal.string(account).as_(schema.LOG_ACCOUNT),
                   exp.Literal.string(region).as_(schema.LOG_REGION)]
    for f in schema.FIELDS:
        value = (exp.column(f.name, quoted=True) if f.name in present
                 else exp.cast(exp.null(), schema.sql_type(f)))
        projections.append(value.as_(f.column))
    return exp.select(*projections).from_(read)


def _empty_select() -> exp.Select:
    projections = [exp.cast(exp.null(), "VARCHAR").as_(schema.LOG_ACCOUNT),
                   exp.cast(exp.null(), "VARCHAR").as_(schema.LOG_REGION)]
    projections += [exp.cast(exp.null(), schema.sql_type(f)).as_(f.column) for f in schema.FIELDS]
    return exp.select(*projections).where(exp.false())
