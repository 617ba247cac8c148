"""Rollups: pre-aggregated tables that answer aggregate queries without reading every record.

A rollup family keeps, per time slot of a grain (5 minutes, 1 day) and per value of
its dimension columns, the sums of ``bytes`` and ``packets`` and the number of records
(``rollup_flows``). lib/columnar.py writes them beside each folder's records.

Routing is generic, so kinds added to ``lib.query.KIND_BUILDERS`` later need nothing here: the
query's AST is checked, and a rollup is used only when it answers the query *exactly*:

* the query reads ``flows`` in one aggregate SELECT (GROUP BY, aggregates or DISTINCT),
  without joins, subqueries or other CTEs over it;
* every column it touches is a dimension of the family, except ``bytes``/``packets`` summed
  (SUM of sums), and ``start`` used only in forms that are constant over a slot: compared
  with the query's own bounds or a slot-aligned literal, ``start - start % B``,
  ``start // D`` and ``(start % M) // D`` with B, D, M multiples of the grain;
* its aggregates are SUM, COUNT(*) (becomes the sum of ``rollup_flows``), COUNT(DISTINCT
  dimensions), MIN/MAX of dimensions, and SUM of an expression of dimensions (weighted by
  ``rollup_flows``). Anything else (AVG, COUNT(column), MIN(start), FILTER...) keeps the query
  on the records.

The query's range need not be aligned: it is cut into whole slots of the coarsest usable
grain, then finer ones, and the records themselves for the pieces shorter than the finest
slot; objects not yet converted are always read as records. The families are tried smallest
first; with none usable the engine reads the records.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from sqlglot import exp

from lib import schema
from lib.query import FLOWS, Query, lit, logical, union_all
from lib.querycore import COST_KINDS

COUNT = "rollup_flows"  # records behind a rollup row (not "flows": that is the table's name)
SUMMED = ("bytes", "packets")  # the columns a rollup row holds sums of


@dataclass(frozen=True)
class Rollup:
    name: str
    dims: tuple[str, ...]
    grains: tuple[int, ...]  # seconds per slot, coarsest first; each divides the previous

    def table(self, grain: int) -> str:
        return f"{self.name}-{grain}"


ACCOUNT_REGION = (schema.LOG_ACCOUNT, schema.LOG_REGION)
ROLLUPS: tuple[Rollup, ...] = (
    # Traffic over time by verdict (timelines, totals per action): a few rows per slot.
    Rollup("actions", ACCOUNT_REGION + ("action", "protocol"), (300,)),
    # Who talked to whom (top talkers, summaries, address filters); no ports: response
    # traffic has ephemeral destination ports, which would keep nearly every record apart.
    Rollup("pairs", ACCOUNT_REGION + ("srcaddr", "dstaddr", "src_key", "dst_key", "action"),
           (86400, 300)),
)


def signature() -> list[str]:
    """Names of every rollup table: a cache built with other rollups is rebuilt."""
    return [f"{r.table(g)}:{','.join(r.dims)}" for r in ROLLUPS for g in r.grains]


# --- building ----------------------------------------------------------------------------

def compute(records: pa.Table) -> dict[str, pa.Table]:
    """Every rollup table of a set of records (one folder's segment), sorted like records.
    (pyarrow's group-by: a DuckDB statement costs milliseconds before it reads a row.)"""
    out = {}
    for rollup in ROLLUPS:
        table = records.select([*rollup.dims, "start", *SUMMED])
        count = ([], "count_all")
        for grain in sorted(rollup.grains):  # finest first: coarser slots sum finer ones
            table = _aggregate(table, rollup.dims, grain, count)
            out[rollup.table(grain)] = table
            count = (COUNT, "sum")
    return out


def _aggregate(table: pa.Table, dims: tuple[str, ...], grain: int, count) -> pa.Table:
    slots = pc.multiply(pc.divide(table.column("start"), grain), grain)  # start >= 0
    table = table.set_column(table.column_names.index("start"), "start", slots)
    summed = table.group_by([*dims, "start"], use_threads=False).aggregate(
        [("bytes", "sum"), ("packets", "sum"), count])
    result = pa.table({**{d: summed.column(d) for d in dims}, "start": summed.column("start"),
                       "bytes": summed.column("bytes_sum"),
                       "packets": summed.column("packets_sum"),
                       COUNT: pc.cast(summed.column(summed.column_names[-1]), pa.int64())})
    order = [("action", "ascending", "at_end"), ("start", "ascending", "at_end")]
    return result.take(pc.sort_indices(result, sort_keys=order))


# --- routing -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Route:
    rollup: Rollup
    grains: tuple[int, ...]  # usable grains, coarsest first
    select: exp.Select  # the built query rewritten for rollup rows (no source yet)


def route(query: Query, rollups: tuple[Rollup, ...] = ROLLUPS,
          tree: exp.Select | None = None) -> Route | None:
    """The smallest rollup family that answers the query exactly, or None. ``tree`` is the
    query's built AST over ``flows`` (lib.query.logical, the default): each family rewrites
    a copy of it, never builds the query again."""
    tree = logical(query, "duckdb") if tree is None else tree
    for rollup in rollups:
        ast = tree.copy()
        grains = _rewrite(ast, query, rollup)
        if grains:
            return Route(rollup, grains, ast)
    return None


def _rewrite(ast: exp.Select, query: Query, rollup: Rollup) -> tuple[int, ...] | None:
    """Rewrite the query's aggregates for rollup rows in place; the usable grains, or None
    when the query cannot be answered exactly from this family."""
    if ast.args.get("with_") is not None:  # CTEs of its own over `flows`: not one SELECT
        return None
    readers = [t for t in ast.find_all(exp.Table) if t.name == FLOWS]
    if len(readers) != 1 or not isinstance(readers[0].parent, exp.From):
        return None
    select = readers[0].parent.parent
    if not isinstance(select, exp.Select) or select.args.get("joins"):
        return None
    if any(s is not select for s in select.find_all(exp.Select, exp.Subquery)):
        return None
    divisors = _check_columns(select, query, set(rollup.dims))
    if divisors is None or not _rewrite_aggregates(select):
        return None
    return tuple(g for g in rollup.grains if all(d % g == 0 for d in divisors)) or None


def _inside(node: exp.Expression, ancestor: exp.Expression) -> bool:
    while node is not None:
        if node is ancestor:
            return True
        node = node.parent
    return False


def _literal_int(node) -> int | None:
    if isinstance(node, exp.Literal) and not node.is_string:
        try:
            return int(node.this)
        except ValueError:
            return None
    return None


def _check_columns(select: exp.Select, query: Query, dims: set[str]) -> list[int] | None:
    """Numbers the grain must divide for the columns' uses to be exact; None: not exact."""
    aliases = {e.alias for e in select.expressions if e.alias}
    order = select.args.get("order")
    divisors: list[int] = []
    for column in select.find_all(exp.Column):
        name = column.name
        if column.table and column.table != "flows":
            return None
        if order is not None and name in aliases and _inside(column, order):
            continue  # ORDER BY an output column
        if name in SUMMED:
            parent = column.parent
            if not (isinstance(parent, exp.Sum) and _is_aggregate(parent)):
                return None
        elif name == "start":
            use = _start_use(column, query)
            if use is None:
                return None
            divisors += use
        elif name not in dims:
            return None
    return divisors


def _start_use(column: exp.Column, query: Query) -> list[int] | None:
    """Divisors for a use of `start` that is constant over a slot; None for any other use."""
    parent = column.parent
    if isinstance(parent, exp.GTE | exp.LT) and parent.this is column:
        value = _literal_int(parent.expression)
        if value is None:
            return None
        return [] if value in (query.filters.start, query.filters.end) else [value]
    if isinstance(parent, exp.Mod) and parent.this is column:
        modulus = _literal_int(parent.expression)
        outer = parent.parent
        if modulus is None:
            return None
        if isinstance(outer, exp.Sub) and outer.expression is parent and _is_start(outer.this):
            return [modulus]  # start - start % B
        if isinstance(outer, exp.IntDiv) and outer.this is parent:
            divisor = _literal_int(outer.expression)
            return None if divisor is None else [modulus, divisor]  # (start % M) // D
        return None
    if isinstance(parent, exp.Sub) and parent.this is column:
        mod = parent.expression
        if isinstance(mod, exp.Mod) and _is_start(mod.this):
            modulus = _literal_int(mod.expression)
            return None if modulus is None else [modulus]
        return None
    if isinstance(parent, exp.IntDiv) and parent.this is column:
        divisor = _literal_int(parent.expression)
        return None if divisor is None else [divisor]  # start // D
    return None


def _is_start(node) -> bool:
    return isinstance(node, exp.Column) and node.name == "start"


def _is_aggregate(node: exp.Expression) -> bool:
    """An aggregate call, not a window function (SUM(...) OVER ...)."""
    return not (isinstance(node.parent, exp.Window) and node.arg_key == "this")


def _rewrite_aggregates(select: exp.Select) -> bool:
    found = False
    for node in list(select.find_all(exp.AggFunc)):
        if not _is_aggregate(node):
            continue
        found = True
        if isinstance(node, exp.Count):
            if isinstance(node.this, exp.Star):
                node.replace(exp.cast(exp.func("COALESCE", exp.func("SUM", exp.column(COUNT)),
                                               exp.Literal.number(0)), "BIGINT"))
            elif not isinstance(node.this, exp.Distinct):
                return False
        elif isinstance(node, exp.Sum):
            argument = node.this
            if isinstance(argument, exp.Column) and argument.name in SUMMED:
                continue
            if any(c.name in SUMMED for c in argument.find_all(exp.Column)) \
                    or argument.find(exp.AggFunc) is not None:
                return False
            node.set("this", exp.Mul(this=exp.Paren(this=argument.copy()),
                                     expression=exp.column(COUNT)))
        elif not isinstance(node, exp.Min | exp.Max):
            return False
    if select.find(exp.Filter) is not None:
        return False
    return found or bool(select.args.get("group")) or bool(select.args.get("distinct"))


# --- the source of `flows` for a routed query ------------------------------------------

def pieces(start: int, end: int, grains: tuple[int, ...]) -> list[tuple[int | None, int, int]]:
    """[start, end) cut into (grain, lo, hi): whole slots of the coarsest grain, then finer
    ones at the edges, then records (grain None) for what is shorter than the finest slot."""
    if start >= end:
        return []
    if not grains:
        return [(None, start, end)]
    grain, finer = grains[0], grains[1:]
    lo, hi = -(-start // grain) * grain, end // grain * grain
    if lo >= hi:
        return pieces(start, end, finer)
    return pieces(start, lo, finer) + [(grain, lo, hi)] + pieces(hi, end, finer)


def source_for(route: Route, query: Query, tables: dict[str, exp.Expression],
               records: exp.Expression | None, remainder: exp.Expression | None
               ) -> exp.Expression:
    """UNION ALL of rollup rows for the slots and record rows for the rest.

    ``tables`` maps a rollup table name to a table expression reading it (absent: no data),
    ``records`` reads the converted records, ``remainder`` (a SELECT) the objects not yet
    converted (all of their records count: no rollup holds them)."""
    names = [*route.rollup.dims, "start", *SUMMED]
    parts, edges = [], []
    for grain, lo, hi in pieces(query.filters.start, query.filters.end, route.grains):
        if grain is None:
            edges.append(_start_between(lo, hi))
        elif route.rollup.table(grain) in tables:
            parts.append(exp.select(*_columns(names), exp.column(COUNT))
                         .from_(tables[route.rollup.table(grain)].copy())
                         .where(_start_between(lo, hi)))
    if edges and records is not None:
        parts.append(exp.select(*_columns(names), lit(1).as_(COUNT)).from_(records.copy())
                     .where(exp.or_(*edges) if len(edges) > 1 else edges[0]))
    if remainder is not None:
        parts.append(exp.select(*_columns(names), lit(1).as_(COUNT))
                     .from_(exp.Subquery(this=remainder, alias=exp.TableAlias(
                         this=exp.to_identifier("remainder")))))
    return union_all(parts or [_empty(route)])


def _columns(names) -> list[exp.Column]:
    return [exp.column(name) for name in names]


def _start_between(lo: int, hi: int) -> exp.Expression:
    start = exp.column("start")
    return exp.Paren(this=exp.and_(start >= lit(lo), start.copy() < lit(hi)))


def _empty(route: Route) -> exp.Select:
    types = {f.column: schema.sql_type(f) for f in schema.FIELDS}
    columns = [exp.cast(exp.null(), types.get(c, "VARCHAR")).as_(c)
               for c in (*route.rollup.dims, "start", *SUMMED)]
    return exp.select(*columns, exp.cast(lit(0), "BIGINT").as_(COUNT)).where(exp.false())


# --- the cost rollup -------------------------------------------------------------------------
# The Cost page classifies every record (lib/cost.py) with joins over the whole range: 15-50 s
# a query over 7 days of 10M records. The classification reads one UTC day at a time, so a
# whole day's classified records do not depend on the range around them: they are kept
# classified, summed per hour (the classes over time, per account, region and VPC) and per
# day (the drivers' keys: addresses, interface, AWS service, VPC), computed over every
# account and region of the day once a build has converted the day's folders.
# A query reads these rows for the whole days of its range and classifies the records of the
# partial days at its edges (each alone: a day at a time); a day whose rows are missing or
# stale (its folders changed since) is read from the records too. Queries with filters or a
# narrower account scope stay on the records (the classification must see only their records).

COST_DIR = "costroll"
# family -> (grain, the columns kept apart besides class and time)
COST_FAMILIES = {
    "cost-hourly": (3600, ("log_account", "log_region", "vpc_id", "class")),
    "cost-daily": (86400, ("log_account", "log_region", "interface_id", "vpc_id", "srcaddr",
                           "dstaddr", "service", "class")),
}
HOURLY_GROUPS = ("class", "time", "log", "account", "vpc")
COST_VERSION = "1"  # part of every file's key: rows made by other code are not read
COST_DAY_S = 86400
COST_BUILD_MEMORY = "1GB"  # DuckDB's memory for one day's classification (spills beyond)


@dataclass(frozen=True)
class CostPlan:
    family: str
    files: tuple[str, ...]  # the family's files of the whole days it answers
    raw_ranges: tuple[tuple[int, int], ...]  # [lo, hi) read from the records, each in one day
    records: tuple[str, ...]  # the record segments those ranges read (relative paths)


def cost_inputs(manifest: dict, day: int, late_margin_s: int) -> list[str]:
    """The record segments that can hold records starting on ``day`` (every account and
    region): the folders a query of that day reads (lib.store.layout.range_folders)."""
    return range_inputs(manifest, day, day + COST_DAY_S, late_margin_s)


def range_inputs(manifest: dict, start: int, end: int, late_margin_s: int) -> list[str]:
    """The record segments of the folders a query of [start, end) reads (every account and
    region), relative to the cache directory."""
    from lib.store import layout

    wanted = set(layout.days_between(start - layout.EARLY_SLACK_S, end + late_margin_s))
    files = []
    for rel, entry in manifest["folders"].items():
        if layout.Folder.from_rel(rel).day in wanted:
            files += [segment["file"] for segment in entry.get("segments", [])]
    return sorted(files)


def cost_key(files: list[str]) -> str:
    import hashlib

    return hashlib.sha256("\n".join([COST_VERSION, *files]).encode()).hexdigest()[:16]


def cost_file(day: int, key: str, family: str) -> str:
    return f"{COST_DIR}/{day}-{key}-{family}.parquet"


def cost_days(manifest: dict) -> list[int]:
    """Days that may hold records: each folder's day and the day before (late records)."""
    from lib.store import layout

    days = set()
    for rel in manifest["folders"]:
        start = layout.day_start(layout.Folder.from_rel(rel).day)
        days.update((start - COST_DAY_S, start))
    return sorted(days)


def current_cost_files(manifest: dict, late_margin_s: int = 3600) -> set[str]:
    """The cost rollup's files of the manifest's days as they are (relative paths)."""
    out = set()
    for day in cost_days(manifest):
        files = cost_inputs(manifest, day, late_margin_s)
        if files:
            out |= {cost_file(day, cost_key(files), family) for family in COST_FAMILIES}
    return out


def build_cost(cache_dir, manifest: dict, late_margin_s: int = 3600) -> int:
    """Compute the cost rollup of every day whose inputs changed; the days computed.
    (Called under the build lock: a file a killed build left half written goes first.)"""
    from pathlib import Path

    cache_dir = Path(cache_dir)
    (cache_dir / COST_DIR).mkdir(exist_ok=True)
    for unfinished in (cache_dir / COST_DIR).glob("*.tmp"):
        unfinished.unlink(missing_ok=True)
    built = 0
    for day in cost_days(manifest):
        files = cost_inputs(manifest, day, late_margin_s)
        if not files:
            continue
        key = cost_key(files)
        wanted = {family: cache_dir / cost_file(day, key, family) for family in COST_FAMILIES}
        if all(path.exists() for path in wanted.values()):
            continue
        _write_cost_day(day, [str(cache_dir / f) for f in files], wanted)
        _drop_stale(cache_dir, day, key)
        built += 1
    return built


def _write_cost_day(day: int, segments: list[str], wanted: dict) -> None:
    from lib import cost
    from lib.filters import Filters
    from lib.query import ALL_ACCOUNTS, filter_predicates

    query = cost.cost_query(Filters(start=day, end=day + COST_DAY_S), ALL_ACCOUNTS)
    _classify(segments, filter_predicates(query, "duckdb"),
              {path: COST_FAMILIES[family] for family, path in wanted.items()})


def _classify(segments: list[str], where: list[exp.Expression], outputs: dict) -> None:
    """Classify the records of `segments` that match `where` (one DuckDB of its own) and
    write them summed into each output path: {path: (grain, columns)}."""
    import duckdb

    from lib import cost
    from lib.query import flows_table, with_source

    select = exp.select().from_(flows_table()).where(*where)
    paths = exp.Array(expressions=[exp.Literal.string(f) for f in segments])
    tree = with_source(cost.classified_rows(select),
                       exp.Table(this=exp.ReadParquet(expressions=[paths])))
    db = duckdb.connect(":memory:")
    try:
        db.execute("SET TimeZone = 'UTC'")
        # A day of a large organisation is tens of millions of records: the joins spill to
        # disk beside the rollup instead of taking the machine's memory.
        db.execute("SET memory_limit = ?", [COST_BUILD_MEMORY])
        db.execute("SET temp_directory = ?", [str(next(iter(outputs)).parent / "spill")])
        db.execute("CREATE TEMP TABLE classified AS " + tree.sql(dialect="duckdb", identify=True))
        for path, (grain, dims) in outputs.items():
            temporary = path.parent / f"{path.name}.{os.getpid()}-{threading.get_ident()}.tmp"
            pq.write_table(db.sql(_cost_family_sql(grain, dims)).to_arrow_table(), temporary)
            temporary.replace(path)
    finally:
        db.close()


# The partial days of a range (and days without a current rollup file) classified once for
# every cost query of a page view (they ask the same range): summed per hour and every
# column the queries read, kept a day under <cache>/costroll/edges/.
EDGES_DIR = f"{COST_DIR}/edges"
EDGE_COLUMNS = ("log_account", "log_region", "interface_id", "vpc_id", "srcaddr", "dstaddr",
                "service", "class")
EDGES_KEPT_S = COST_DAY_S


def edge_rows_file(cache_dir, plan: CostPlan):
    """The file of the plan's record ranges classified, made when missing."""
    from pathlib import Path

    key = cost_key([*(f"{lo}-{hi}" for lo, hi in plan.raw_ranges), *plan.records])
    path = Path(cache_dir) / EDGES_DIR / f"{key}.parquet"
    with _edge_lock(str(path)):  # queries of one view at once: one classifies, the rest wait
        if not path.exists():
            _write_edges(Path(cache_dir), plan, path)
    return path


_EDGE_LOCKS: dict[str, threading.Lock] = {}
_EDGE_LOCKS_GUARD = threading.Lock()


def _edge_lock(name: str) -> threading.Lock:
    with _EDGE_LOCKS_GUARD:
        if len(_EDGE_LOCKS) > 1000:
            _EDGE_LOCKS.clear()
        return _EDGE_LOCKS.setdefault(name, threading.Lock())


def _write_edges(cache_dir, plan: CostPlan, path) -> None:
    """Classify the plan's record ranges into ``path``; drop files of ranges a day old."""
    import time

    path.parent.mkdir(parents=True, exist_ok=True)
    pieces = [exp.Paren(this=exp.and_(exp.column("start") >= lit(lo),
                                      exp.column("start") < lit(hi)))
              for lo, hi in plan.raw_ranges]
    _classify([str(cache_dir / f) for f in plan.records], [exp.or_(*pieces)],
              {path: (3600, EDGE_COLUMNS)})
    for old in path.parent.glob("*.*"):  # files of ranges asked a day ago, or unfinished
        if time.time() - old.stat().st_mtime > EDGES_KEPT_S:
            old.unlink(missing_ok=True)


def _cost_family_sql(grain: int, dims: tuple[str, ...]) -> str:
    """The classified records summed per slot of the grain and the columns."""
    start = exp.Sub(this=exp.column("start"),
                    expression=exp.Mod(this=exp.column("start"), expression=lit(grain)))
    select = (exp.select(*_columns(dims), exp.cast(start, "BIGINT").as_("start"),
                         exp.cast(exp.func("SUM", exp.column("bytes")), "BIGINT").as_("bytes"))
              .from_("classified").group_by(*_columns(dims), start.copy())
              .order_by(*_columns(dims), "start"))
    return select.sql(dialect="duckdb", identify=True)


def _drop_stale(cache_dir, day: int, key: str) -> None:
    """Another key's files of the day: made from folders since changed (a reader that
    chose them a moment ago may still open them: kept a minute)."""
    import time

    for path in (cache_dir / COST_DIR).glob(f"{day}-*.parquet"):
        if f"-{key}-" not in path.name and time.time() - path.stat().st_mtime > 60:
            path.unlink(missing_ok=True)


def pending_days(delivered: list[int | None], late_margin_s: int) -> set[int] | None:
    """Days whose records objects not converted yet may hold (delivered at T: records from
    T - late_margin_s on); None when an object's delivery time is unknown."""
    from lib.store import layout

    days = set()
    for moment in delivered:
        if moment is None:
            return None
        days.update(layout.day_start(d) for d in layout.days_between(
            moment - late_margin_s, moment + layout.EARLY_SLACK_S))
    return days


def cost_plan(query: Query, cache_dir, manifest: dict | None, late_margin_s: int = 3600,
              pending: set[int] = frozenset()) -> CostPlan | None:
    """Which files of which cost family answer the query's whole days (the rest read from
    the records), or None: not a cost query a rollup can answer, or no day of it built.
    ``pending``: days objects not converted yet may hold records of (read from records)."""
    from pathlib import Path

    from lib import cost

    if manifest is None or query.kind not in COST_KINDS or not cost.routable(query):
        return None
    group = query.cost_group if query.kind == "cost" else "savings"
    family = "cost-hourly" if group in HOURLY_GROUPS else "cost-daily"
    if group == "time" and query.bucket % COST_FAMILIES[family][0]:
        return None
    start, end = query.filters.start, query.filters.end
    first, last = -(-start // COST_DAY_S) * COST_DAY_S, end // COST_DAY_S * COST_DAY_S
    if first >= last:
        return None
    files, raw = [], [(start, first)] if start < first else []
    for day in range(first, last, COST_DAY_S):
        inputs = cost_inputs(manifest, day, late_margin_s)
        path = Path(cache_dir) / cost_file(day, cost_key(inputs), family)
        if inputs and path.exists() and day not in pending:
            files.append(str(path))
        elif inputs or day in pending:
            raw.append((day, day + COST_DAY_S))
    if end > last:
        raw.append((last, end))
    records = sorted({f for lo, hi in raw for f in range_inputs(manifest, lo, hi, late_margin_s)})
    return CostPlan(family, tuple(files), tuple(raw), tuple(records)) if files else None


def cost_tree(query: Query, plan: CostPlan, edges=None) -> exp.Select:
    """The query's AST over `flows` with the plan's rollup rows in place of its whole days,
    and ``edges`` (edge_rows_file) in place of its record ranges when given."""
    from lib import cost

    sources = [(_read_parquet(plan.files), (*COST_FAMILIES[plan.family][1], "start", "bytes"))]
    if edges is not None:
        sources.append((_read_parquet([str(edges)]), (*EDGE_COLUMNS, "start", "bytes")))
    return cost.with_rollup_rows(logical(query, "duckdb"), sources,
                                 [] if edges is not None else list(plan.raw_ranges))


def _read_parquet(files) -> exp.Table:
    paths = exp.Array(expressions=[exp.Literal.string(f) for f in files])
    return exp.Table(this=exp.ReadParquet(expressions=[paths]))
