"""The embedded engine: DuckDB over gzip text objects in the S3 key layout, read in place.

The source of the logical ``flows`` table is built per query from the key layout: only
the objects whose account, region, day folder and delivery time can hold records of the
query's range are read. Objects are grouped by (account, region, field order); each group
is read into an Arrow table of text columns (lib/rawread.py: much cheaper per object than
DuckDB's read_csv) registered as ``raw_<n>``, and typed by name in SQL, so files with
different formats are read by name, not by position.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from functools import cache, lru_cache

import duckdb
import sqlglot
from sqlglot import exp

from lib import schema
from lib.engines import EngineError, Result
from lib.iputil import duckdb_key_sql
from lib.query import Query, Target, render
from lib.rawread import ObjectCache, ReadReport, read_objects
from lib.store import StoredObject, list_objects

Group = tuple[str, str, tuple[str, ...]]  # account, region, header
ADDRESS_KEYS = {"src_key": "srcaddr", "dst_key": "dstaddr"}  # key column -> address column
ALL_KEYS = tuple(ADDRESS_KEYS)


class DuckDBEngine:
    name = "duckdb"

    def __init__(self, root: str, late_margin_s: int = 3600):
        self.root = root
        self.late_margin_s = late_margin_s
        self._db: duckdb.DuckDBPyConnection | None = None
        self._lock = threading.Lock()
        self._headers: dict[tuple[str, str | None], tuple[str, ...] | None] = {}
        self._objects = ObjectCache()

    # --- connection ----------------------------------------------------------------------
    def _cursor(self) -> duckdb.DuckDBPyConnection:
        """A cursor of one shared in-memory database; cursors are safe across threads."""
        with self._lock:
            if self._db is None:
                self._db = duckdb.connect(":memory:")
                self._db.execute("SET TimeZone = 'UTC'")
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
        return self.render(query, list(self.groups(self.objects(query), [])))

    # --- running -------------------------------------------------------------------------
    def run(self, query: Query) -> Result:
        began = time.perf_counter()
        skipped: list[str] = []
        objects = self.objects(query)
        groups = self.groups(objects, skipped)
        report = ReadReport()
        tables = {group: read_objects(members, group[2], self._objects, report)
                  for group, members in groups.items()}
        readable = [group for group, table in tables.items() if table is not None]
        sql = self.render(query, readable)
        cursor = self._cursor()
        try:
            for index, group in enumerate(readable):
                cursor.register(f"raw_{index}", tables[group])
            table = cursor.sql(sql).to_arrow_table()
        except duckdb.Error as error:
            raise EngineError(f"The query failed: {error}") from error
        finally:
            cursor.close()
        skipped += report.unreadable
        if report.malformed_lines:
            skipped.append(f"{report.malformed_lines} malformed line(s) with the wrong number "
                           "of fields")
        return Result(table=table, sql=sql, engine=self.name,
                      elapsed_s=time.perf_counter() - began, skipped=skipped,
                      objects=len(objects))


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
