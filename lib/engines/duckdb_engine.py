"""The embedded engine: DuckDB over gzip text objects in the S3 key layout, read in place
(a local directory or an S3 bucket, through lib.store).

The source of the logical ``flows`` table is built per query from the key layout: only
the objects whose account, region, day folder and delivery time can hold records of the
query's range are read. Objects are read into Arrow tables of text columns and address keys
(lib/store/reading.py: much cheaper per object than DuckDB's read_csv), one per (account,
region, field order), registered as ``raw_<n>`` and typed by name in SQL
(lib/store/columns.py), so files with different formats are read by name, not by position.

With a columnar cache (lib/columnar.py, ``columnar_dir``) the source is instead the cache's
Parquet files for the query's folders, UNION ALL the objects not converted yet (read raw as
above, at most ``raw_read_max_objects`` / ``raw_read_max_bytes`` of them), and aggregate
queries a rollup can answer exactly read the rollup (lib/rollups.py). The raw path stays: it
is the fallback when there is no cache or the cache disagrees with the store, and the
baseline the benchmark compares with.
"""

from __future__ import annotations

import threading
import time
from functools import lru_cache

import duckdb
from sqlglot import exp

from lib import rollups
from lib.columnar import ColumnarCache, View
from lib.engines.base import EngineError, Result
from lib.query import Query, key_columns, logical, union_all, with_source
from lib.store import layout
from lib.store.backends import StoreError, is_s3, open_backend
from lib.store.columns import KEY_COLUMNS, RECORD_COLUMNS, Group, raw_source_for
from lib.store.layout import StoredObject
from lib.store.reading import Headers, Limits, ObjectCache, ReadReport, read_objects

RAW_MAX_OBJECTS = 2000
RAW_MAX_BYTES = 1 << 30


class DuckDBEngine:
    name = "duckdb"

    def __init__(self, root: str, late_margin_s: int = 3600, columnar_dir: str | None = None,
                 rollups: bool = True, settings=None):
        self.root = root
        self.late_margin_s = late_margin_s
        self.backend = open_backend(root, settings)
        self.limits = Limits.of(settings)
        # Raw reads beside the cache (and every raw read from S3) are bounded.
        self.raw_max_objects = getattr(settings, "raw_read_max_objects", RAW_MAX_OBJECTS)
        self.raw_max_bytes = getattr(settings, "raw_read_max_bytes", RAW_MAX_BYTES)
        self._db: duckdb.DuckDBPyConnection | None = None
        self._lock = threading.Lock()
        self._headers = Headers()
        self._objects = ObjectCache()
        self.columnar = ColumnarCache(columnar_dir, root, self.backend) if columnar_dir else None
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

    # --- which objects ---------------------------------------------------------------------
    def objects(self, query: Query) -> list[StoredObject]:
        f = query.filters
        return layout.list_objects(self.backend, f.start, f.end, query.accounts,
                                   f.regions or None, self.late_margin_s)

    def bounded(self, objects: list[StoredObject], skipped: list[str]) -> list[StoredObject]:
        """The newest objects within raw_read_max_objects and raw_read_max_bytes; a note
        in ``skipped`` says what the bound left out."""
        kept, size = [], 0
        for obj in sorted(objects, key=lambda o: (o.delivered or 0, o.path), reverse=True):
            if len(kept) >= self.raw_max_objects or size + obj.size > self.raw_max_bytes:
                break
            kept.append(obj)
            size += obj.size
        if len(kept) < len(objects):
            chosen = set(kept)
            left = [o for o in objects if o not in chosen]
            skipped.append(
                f"{len(left)} object(s) ({sum(o.size for o in left):,} bytes) not read: a query "
                f"reads at most {self.raw_max_objects:,} objects and {self.raw_max_bytes:,} "
                "bytes raw (settings raw_read_max_objects, raw_read_max_bytes); build the "
                "cache (python -m lib.cli cache build) to read them all")
        return sorted(kept, key=lambda o: o.path)

    def read(self, objects: list[StoredObject], skipped: list[str], report: ReadReport
             ) -> dict[Group, object]:
        """The objects' text tables by (account, region, header); unreadable ones named."""
        tables = read_objects(self.backend, objects, self._headers, self._objects, report,
                              self.limits)
        skipped += report.unreadable
        report.unreadable = []
        return tables

    def render(self, query: Query, groups: list[Group]) -> str:
        """The query's SQL over raw text tables of these groups (registered as raw_<n>)."""
        return _kept(raw_sql, query, tuple(groups))

    def sql(self, query: Query) -> str:
        view = self._view(query)
        if view is not None:
            groups = self.read(self.bounded(view.remainder, []), [], ReadReport())
            return self._cached_sql(query, view, list(groups))
        groups = self.read(self._raw_objects(query, []), [], ReadReport())
        return self.render(query, list(groups))

    def _raw_objects(self, query: Query, skipped: list[str]) -> list[StoredObject]:
        objects = self.objects(query)
        return self.bounded(objects, skipped) if is_s3(self.root) else objects

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
        plan = self._cost_plan(query, self._view(query))
        if plan is not None:
            return f"rollup:{plan.family}"
        chosen = _kept(_route, query) if self.use_rollups else None
        return f"rollup:{chosen.rollup.name}" if chosen else "columnar"

    def _cost_plan(self, query: Query, view: View) -> rollups.CostPlan | None:
        """The cost rollup's share of a cost query. The days objects not converted yet may
        hold records of are classified from the records (with those objects read raw)."""
        if not self.use_rollups or query.kind not in rollups.COST_KINDS:
            return None
        pending = rollups.pending_days([o.delivered for o in view.remainder], self.late_margin_s)
        if pending is None:
            return None
        return rollups.cost_plan(query, self.columnar.cache_dir, self.columnar.manifest(),
                                 self.late_margin_s, pending)

    def _cached_sql(self, query: Query, view: View, remainder: list[Group]) -> str:
        plan = self._cost_plan(query, view)
        if plan is not None:
            return _kept(cost_sql, query, plan, str(self.columnar.cache_dir), tuple(remainder))
        rollup_files = tuple(sorted((name, tuple(files)) for name, files in view.rollups.items()
                                    if files))
        return _kept(cached_sql, query, tuple(view.records), rollup_files, tuple(remainder),
                     self.use_rollups)

    # --- running -------------------------------------------------------------------------
    def run(self, query: Query, *, progress=None, refresh: bool = False) -> Result:
        """The query's answer. Nothing to report while it runs (``progress`` is not called)
        and no stored answer to skip (``refresh``): every run reads the store."""
        try:
            return self._answer(query)
        except StoreError as error:  # S3 cannot be listed or read: say why
            raise EngineError(str(error)) from error

    def _answer(self, query: Query) -> Result:
        began = time.perf_counter()
        view = self._view(query)
        if view is None:
            skipped: list[str] = []
            objects = self._raw_objects(query, skipped)
            return self._run(query, objects, skipped,
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
        skipped = list(view.skipped)
        return self._run(query, self.bounded(view.remainder, skipped), skipped,
                         lambda groups: self._cached_sql(query, view, groups), began,
                         view.malformed_lines, passthrough=(duckdb.IOException,))

    def _run(self, query: Query, objects: list[StoredObject], skipped: list[str], make_sql,
             began: float, malformed: int = 0, passthrough=()) -> Result:
        report = ReadReport()
        tables = self.read(objects, skipped, report)
        groups = list(tables)
        sql = make_sql(groups)
        cursor = self._cursor()
        try:
            for index, group in enumerate(groups):
                cursor.register(f"raw_{index}", tables[group])
            table = cursor.sql(sql).to_arrow_table()
        except passthrough:
            raise
        except duckdb.Error as error:
            raise EngineError(f"The query failed: {error}") from error
        finally:
            cursor.close()
        malformed += report.malformed_lines
        if malformed:
            skipped.append(f"{malformed} malformed line(s) with the wrong number of fields")
        return Result(table=table, sql=sql, engine=self.name,
                      elapsed_s=time.perf_counter() - began, skipped=skipped,
                      objects=len(objects))


# --- the SQL of a query over its source --------------------------------------------------
# The query is built once (lib.query.logical) and the source placed in a copy of its AST
# (lib.query.with_source). Rendering the whole statement costs more than running many
# queries on the cache, and repeats with the same query and files (a page rerun, a
# benchmark): the rendered SQL is kept per query and source. Few entries: a key holds the
# query's file lists.

def _kept(render_sql, *key) -> str:
    try:
        return render_sql(*key)
    except TypeError:  # a query that cannot be hashed: rendered each time
        return render_sql.__wrapped__(*key)


@lru_cache(maxsize=64)
def raw_sql(query: Query, groups: tuple[Group, ...]) -> str:
    """The query over the registered raw_<n> tables of ``groups``."""
    tree = logical(query, "duckdb")
    return _duckdb(with_source(tree, raw_source_for(list(groups), key_columns(tree))))


@lru_cache(maxsize=64)
def cached_sql(query: Query, records: tuple[str, ...],
               rollup_files: tuple[tuple[str, tuple[str, ...]], ...],
               remainder: tuple[Group, ...], use_rollups: bool) -> str:
    """The query over the cache's Parquet records (or, routed, its rollups) and the raw
    tables of the objects not converted yet."""
    records_table = _parquet(records) if records else None
    chosen = _kept(_route, query) if use_rollups else None
    if chosen is not None:
        tables = {name: _parquet(files) for name, files in rollup_files}
        raw = raw_source_for(list(remainder)) if remainder else None
        source = rollups.source_for(chosen, query, tables, records_table, raw)
        return _duckdb(with_source(chosen.select, source))
    tree = logical(query, "duckdb")
    return _duckdb(with_source(tree, _records_source(records_table, remainder,
                                                     key_columns(tree))))


@lru_cache(maxsize=32)
def cost_sql(query: Query, plan: rollups.CostPlan, cache_dir: str,
             remainder: tuple[Group, ...]) -> str:
    """A cost query over its rollup rows (whole days) and the records of the rest (only the
    segments of the folders those days read, and the objects not converted yet). Without
    such objects the record ranges are classified once into a file the page's other cost
    queries read too."""
    edges = rollups.edge_rows_file(cache_dir, plan) if plan.raw_ranges and not remainder \
        else None
    tree = rollups.cost_tree(query, plan, edges)
    records = [f"{cache_dir}/{name}" for name in plan.records]
    records_table = _parquet(records) if records else None
    return _duckdb(with_source(tree, _records_source(records_table, remainder,
                                                     key_columns(tree))))


def _records_source(records_table: exp.Table | None, remainder: tuple[Group, ...],
                    keys: tuple[str, ...]) -> exp.Expression:
    """The cache's records UNION ALL the raw remainder, with only the address keys read."""
    columns = [exp.column(c) for c in RECORD_COLUMNS if c not in KEY_COLUMNS or c in keys]
    parts = [exp.select(*columns).from_(records_table)] if records_table else []
    if remainder:
        raw = exp.Subquery(this=raw_source_for(list(remainder), keys),
                           alias=exp.TableAlias(this=exp.to_identifier("remainder")))
        parts.append(exp.select(*[c.copy() for c in columns]).from_(raw))
    return union_all(parts) if parts else raw_source_for([], keys)


def _duckdb(tree: exp.Expression) -> str:
    return tree.sql(dialect="duckdb", identify=True)


@lru_cache(maxsize=128)  # a route holds a copy of the query's AST (see lib.query._built)
def _route(query: Query) -> rollups.Route | None:
    return rollups.route(query)


def _parquet(files) -> exp.Table:
    """read_parquet([...]) of the files, as a table expression (paths as string literals)."""
    paths = exp.Array(expressions=[exp.Literal.string(f) for f in files])
    return exp.Table(this=exp.ReadParquet(expressions=[paths]))
