"""The logical ``flows`` columns of stored records: typing text columns by the schema (in
Arrow, or in DuckDB SQL for text whose values may not be numbers), and the address keys.

One definition serves the raw path (text columns registered as ``raw_<n>``, typed in SQL
with TRY_CAST so a stray value nulls one field) and the cache build (typed in Arrow, falling
back to the same SQL), so both give the same answers.
"""

from __future__ import annotations

import threading
from functools import lru_cache

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
from sqlglot import exp

from lib import schema
from lib.iputil import address_key

ADDRESS_KEYS = {"src_key": "srcaddr", "dst_key": "dstaddr"}  # key column -> address field
KEY_COLUMNS = tuple(ADDRESS_KEYS)
RECORD_COLUMNS = ((schema.LOG_ACCOUNT, schema.LOG_REGION) + tuple(f.column for f in schema.FIELDS)
                  + KEY_COLUMNS)
ARROW_TYPES = {"int": pa.int32(), "bigint": pa.int64(), "string": pa.string()}

Group = tuple[str, str, tuple[str, ...]]  # account, region, header

# --- address keys ---------------------------------------------------------------------------

# Keys are computed once per distinct address (a store has few compared with its records);
# the memo is bounded so a store full of scanners cannot grow it without limit.
_KEY_MEMO: dict[str, str | None] = {}
_MEMO_MAX = 2_000_000


def _memo_key(address: str) -> str | None:
    key = _KEY_MEMO.get(address)
    if key is None and address not in _KEY_MEMO:
        key = address_key(address)
        if len(_KEY_MEMO) >= _MEMO_MAX:
            _KEY_MEMO.clear()
        _KEY_MEMO[address] = key
    return key


def address_keys(column: pa.ChunkedArray | pa.Array) -> pa.Array:
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    if len(column) == 0:
        return pa.array([], pa.string())
    encoded = pc.dictionary_encode(column)
    known = _KEY_MEMO.get
    keys = pa.array([known(a) or _memo_key(a) for a in encoded.dictionary.to_pylist()],
                    pa.string())
    return pc.take(keys, encoded.indices)


def with_keys(table: pa.Table) -> pa.Table:
    """The table with src_key and dst_key (NULL where the address is missing)."""
    for key, address in ADDRESS_KEYS.items():
        if address in table.column_names:
            values = address_keys(table.column(address))
        else:
            values = pa.nulls(table.num_rows, pa.string())
        table = table.append_column(key, values)
    return table


# --- typing in Arrow -------------------------------------------------------------------------

def typed_table(account: str, region: str, texts: list[tuple[tuple[str, ...], pa.Table]]
                ) -> pa.Table:
    """Parsed columns -> the record columns the texts have (the rest are added as nulls by
    ``complete``), typed by the schema; rows without a start (no query can match them) left
    out. Raises pa.ArrowInvalid on a value that is not a number where one belongs: the
    caller then types with ``typed_records``, as the raw path does."""
    present = [f for f in schema.FIELDS if any(f.name in t.column_names for _, t in texts)]
    parts = []
    for _, text in texts:
        rows = text.num_rows
        columns = {schema.LOG_ACCOUNT: pa.repeat(pa.scalar(account, pa.string()), rows),
                   schema.LOG_REGION: pa.repeat(pa.scalar(region, pa.string()), rows)}
        for f in present:
            kind = ARROW_TYPES[f.type]
            if f.name in text.column_names:
                column = text.column(f.name)
                columns[f.column] = column if column.type == kind else pc.cast(column, kind)
            else:
                columns[f.column] = pa.nulls(rows, kind)
        parts.append(pa.table(columns))
    if not parts or "start" not in parts[0].column_names:
        return complete(pa.table({schema.LOG_ACCOUNT: pa.array([], pa.string())})).drop(
            list(KEY_COLUMNS))
    table = parts[0] if len(parts) == 1 else pa.concat_tables(parts)
    if not table.column("start").null_count:  # the common case: no copy
        return table
    return table.filter(pc.is_valid(table.column("start")))


def complete(table: pa.Table) -> pa.Table:
    """Every record column, in order; the ones a table lacks are typed nulls."""
    rows = table.num_rows
    columns = {}
    for name in RECORD_COLUMNS:
        if name in table.column_names:
            columns[name] = table.column(name)
        else:
            field_ = schema.BY_COLUMN.get(name)
            columns[name] = pa.nulls(rows, ARROW_TYPES[field_.type] if field_ else pa.string())
    return pa.table(columns)


# --- typing in SQL ---------------------------------------------------------------------------

def _typed(name: str) -> exp.Expression:
    """A text column typed by the schema; a stray value becomes NULL, never an error."""
    value = exp.column(name, quoted=True)
    field = schema.field_for(name)
    if not field.is_number:
        return value
    return exp.TryCast(this=value, to=exp.DataType.build(schema.sql_type(field)))


def _group_select(index: int, group: Group, keys: tuple[str, ...]) -> exp.Select:
    account, region, header = group
    present = set(header)
    projections = [exp.Literal.string(account).as_(schema.LOG_ACCOUNT),
                   exp.Literal.string(region).as_(schema.LOG_REGION)]
    for f in schema.FIELDS:
        value = _typed(f.name) if f.name in present else exp.cast(exp.null(), schema.sql_type(f))
        projections.append(value.as_(f.column))
    projections += [exp.column(k, quoted=True).as_(k) for k in keys]
    return exp.select(*projections).from_(exp.to_identifier(f"raw_{index}"))


def _empty_select(keys: tuple[str, ...]) -> exp.Select:
    projections = [exp.cast(exp.null(), "VARCHAR").as_(schema.LOG_ACCOUNT),
                   exp.cast(exp.null(), "VARCHAR").as_(schema.LOG_REGION)]
    projections += [exp.cast(exp.null(), schema.sql_type(f)).as_(f.column) for f in schema.FIELDS]
    projections += [exp.cast(exp.null(), "VARCHAR").as_(k) for k in keys]
    return exp.select(*projections).where(exp.false())


def raw_source_for(groups: list[Group], keys: tuple[str, ...] = KEY_COLUMNS) -> exp.Expression:
    """The logical `flows` columns over the registered raw_<n> tables (text columns, and
    the address keys ``with_keys`` added)."""
    selects = [_group_select(i, g, keys) for i, g in enumerate(groups)] or [_empty_select(keys)]
    union = selects[0]
    for select in selects[1:]:
        union = exp.union(union, select, distinct=False, copy=False)
    return union


@lru_cache(maxsize=256)  # one per field-order set: rendering costs more than small builds
def typed_sql(groups: tuple[Group, ...]) -> str:
    """The typed records of registered raw_<n> tables, without address keys (the cache
    build's statement; the raw path's queries read ``raw_source_for`` in their own AST)."""
    typed = exp.Subquery(this=raw_source_for(list(groups), keys=()),
                         alias=exp.TableAlias(this=exp.to_identifier("typed")))
    select = (exp.select(exp.Star()).from_(typed)
              .where(exp.column("start", quoted=True).is_(exp.null()).not_()))
    return select.sql(dialect="duckdb", identify=True)


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
    columns without address keys, typed exactly as queries on raw text type them; rows
    without a start (no query can match them) are left out."""
    con = local_connection()
    names = [f"raw_{index}" for index in range(len(texts))]
    try:
        for name, (_, table) in zip(names, texts, strict=True):
            con.register(name, table)
        sql = typed_sql(tuple((account, region, header) for header, _ in texts))
        return con.sql(sql).to_arrow_table()
    finally:
        for name in names:
            con.unregister(name)
