"""The query layer: one logical query, rendered for DuckDB or Athena.

A ``Query`` (kind, validated filters, account scope, options) is built once into a sqlglot
AST over a logical table ``flows`` whose columns are the SQL names of every flow log field
(``schema.FIELDS``) plus ``log_account`` and ``log_region`` (the account and region folder
the record was stored under). An engine supplies a ``Target``: the SQL dialect, the source
of ``flows`` and any partition predicates. Only three things differ per dialect: that
source, the CIDR test and the partition predicates.

User values enter the AST only as typed literals (ints, validated strings); identifiers
come only from the schema and the fixed lists below, quoted by sqlglot on rendering.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from sqlglot import exp

from lib import schema
from lib.filters import Filters, IPNetwork
from lib.iputil import network_bounds

KINDS = ("search", "top-talkers", "timeline")
GROUPS = {"src": ("srcaddr",), "dst": ("dstaddr",), "pair": ("srcaddr", "dstaddr")}
MEASURES = ("bytes", "packets", "flows")
MAX_LIMIT = 100_000
RECORD_COLUMNS = tuple(f.column for f in schema.FIELDS) + (schema.LOG_ACCOUNT, schema.LOG_REGION)


class QueryError(ValueError):
    """A query that must not run (e.g. no time bound, a group-by outside the fixed list)."""


@dataclass(frozen=True)
class Scope:
    """The accounts a user may see. ``None`` means every account."""

    accounts: frozenset[str] | None = None

    def allows(self, account: str) -> bool:
        return self.accounts is None or account in self.accounts

    def effective(self, requested: tuple[str, ...]) -> tuple[str, ...] | None:
        """Accounts a query may read: the requested ones within scope (None: no limit)."""
        if self.accounts is None:
            return requested or None
        if not requested:
            return tuple(sorted(self.accounts))
        return tuple(a for a in requested if a in self.accounts)

    @property
    def key(self) -> str:
        return "*" if self.accounts is None else ",".join(sorted(self.accounts))


ALL_ACCOUNTS = Scope(None)


@dataclass(frozen=True)
class Query:
    kind: str
    filters: Filters
    scope: Scope = ALL_ACCOUNTS
    group: str = "pair"  # top-talkers: src | dst | pair
    measure: str = "bytes"  # top-talkers: bytes | packets | flows
    top: int = 10
    bucket: int = 300  # timeline: seconds per bucket
    limit: int = 1000  # search: rows

    def __post_init__(self):
        if self.kind not in KIND_BUILDERS:
            raise QueryError(f"unknown query kind {self.kind!r} (one of {', '.join(KIND_BUILDERS)})")
        if self.group not in GROUPS:
            raise QueryError(f"group must be one of {', '.join(GROUPS)}")
        if self.measure not in MEASURES:
            raise QueryError(f"measure must be one of {', '.join(MEASURES)}")
        if not (1 <= self.top <= 1000 and 1 <= self.limit <= MAX_LIMIT):
            raise QueryError(f"top must be 1-1000 and limit 1-{MAX_LIMIT}")
        if not (1 <= self.bucket <= 86400 * 31):
            raise QueryError("bucket must be 1 second to 31 days")
        if self.filters.start is None or self.filters.end is None:
            raise QueryError("a query needs a time range")

    @property
    def accounts(self) -> tuple[str, ...] | None:
        """Accounts the query may read: the filter within the scope (None: all)."""
        return self.scope.effective(self.filters.accounts)


@dataclass(frozen=True)
class Target:
    """What an engine supplies to render a query: dialect, source of ``flows``, partitions."""

    dialect: str  # sqlglot dialect name: "duckdb" | "athena"
    source: exp.Expression  # a table, or a SELECT providing the logical columns
    partition_predicates: Callable[[Query], list[exp.Expression]] = field(
        default=lambda query: [])


# --- literals and predicates -----------------------------------------------------------

def col(name: str) -> exp.Column:
    return exp.column(name)


def lit(value: int | str) -> exp.Expression:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise QueryError(f"not a literal: {value!r}")
    return exp.Literal.number(value) if isinstance(value, int) else exp.Literal.string(value)


def in_list(column: str, values) -> exp.Expression:
    return col(column).isin(*[lit(v) for v in values])


def ports_predicate(column: str, ranges) -> exp.Expression:
    parts = [col(column).eq(lit(lo)) if lo == hi else col(column).between(lit(lo), lit(hi))
             for lo, hi in ranges]
    return exp.or_(*parts) if len(parts) > 1 else parts[0]


def cidr_predicate(column: str, network: IPNetwork, dialect: str) -> exp.Expression:
    """Address column inside network, in the dialect's own form."""
    if network.num_addresses == 1 and network.version == 4:
        return col(column).eq(lit(str(network.network_address)))  # exact text, any dialect
    if dialect == "athena":
        ip_type = exp.DataType.build("IPADDRESS", dialect="trino")
        return exp.Anonymous(this="contains", expressions=[
            lit(str(network)), exp.TryCast(this=col(column), to=ip_type)])
    low, high = network_bounds(network)
    key_column = {"srcaddr": "src_key", "dstaddr": "dst_key"}.get(column)
    if key_column is None:
        raise QueryError(f"no address key for {column}")
    return col(key_column).between(lit(low), lit(high))


def filter_predicates(query: Query, dialect: str) -> list[exp.Expression]:
    f = query.filters
    where = [col("start") >= lit(f.start), col("start") < lit(f.end)]
    accounts = query.accounts
    if accounts is not None:
        # An empty tuple (every requested account is outside the scope) matches nothing.
        where.append(in_list(schema.LOG_ACCOUNT, accounts) if accounts else exp.false())
    if f.regions:
        where.append(in_list(schema.LOG_REGION, f.regions))
    if f.src is not None:
        where.append(cidr_predicate("srcaddr", f.src, dialect))
    if f.dst is not None:
        where.append(cidr_predicate("dstaddr", f.dst, dialect))
    if f.src_ports:
        where.append(ports_predicate("srcport", f.src_ports))
    if f.dst_ports:
        where.append(ports_predicate("dstport", f.dst_ports))
    if f.protocols:
        where.append(in_list("protocol", f.protocols))
    if f.action:
        where.append(col("action").eq(lit(f.action)))
    for column, values in (("interface_id", f.interface_ids), ("vpc_id", f.vpc_ids),
                           ("subnet_id", f.subnet_ids)):
        if values:
            where.append(in_list(column, values))
    return where


# --- the query kinds ---------------------------------------------------------------------

def total(column: str) -> exp.Expression:
    """SUM cast back to BIGINT (DuckDB's SUM(BIGINT) is HUGEINT, which pandas makes float)."""
    return exp.cast(exp.func("SUM", col(column)), "BIGINT")


def measures() -> list[exp.Expression]:
    return [total("bytes").as_("bytes"), total("packets").as_("packets"),
            exp.cast(exp.func("COUNT", exp.Star()), "BIGINT").as_("flows")]


def ordered(column: str, desc: bool = False) -> exp.Ordered:
    return exp.Ordered(this=col(column), desc=desc, nulls_first=False)


# Search results are newest first; the rest of the key makes the order total, so both
# engines return the same rows in the same order.
SEARCH_ORDER = ("start", "log_account", "log_region", "interface_id", "srcaddr", "dstaddr",
                "srcport", "dstport", "protocol", "end", "action", "packets", "bytes")


def build_search(query: Query, select: exp.Select) -> exp.Select:
    order = [ordered("start", desc=True)] + [ordered(c) for c in SEARCH_ORDER[1:]]
    return (select.select(*[col(c) for c in RECORD_COLUMNS])
            .order_by(*order).limit(lit(query.limit)))


def build_top_talkers(query: Query, select: exp.Select) -> exp.Select:
    keys = GROUPS[query.group]
    order = [ordered(query.measure, desc=True)] + [ordered(k) for k in keys]
    return (select.select(*[col(k) for k in keys], *measures())
            .where(*[col(k).is_(exp.null()).not_() for k in keys])
            .group_by(*[col(k) for k in keys]).order_by(*order).limit(lit(query.top)))


def build_timeline(query: Query, select: exp.Select) -> exp.Select:
    bucket_start = exp.Sub(this=col("start"), expression=exp.Mod(
        this=col("start"), expression=lit(query.bucket)))
    return (select.select(bucket_start.as_("bucket_start"), col("action"), *measures())
            .where(col("action").is_(exp.null()).not_())
            .group_by(bucket_start, col("action"))
            .order_by(ordered("bucket_start"), ordered("action")))


KIND_BUILDERS: dict[str, Callable[[Query, exp.Select], exp.Select]] = {
    "search": build_search,
    "top-talkers": build_top_talkers,
    "timeline": build_timeline,
}


def build(query: Query, target: Target) -> exp.Select:
    """The query's AST for one engine."""
    select = exp.select().from_(exp.Table(this=exp.to_identifier("flows")))
    select = select.where(*filter_predicates(query, target.dialect),
                          *target.partition_predicates(query))
    select = KIND_BUILDERS[query.kind](query, select)
    source = target.source
    if isinstance(source, exp.Table):
        source = exp.select(exp.Star()).from_(source)
    return select.with_("flows", as_=source)


def render(query: Query, target: Target, pretty: bool = False) -> str:
    return build(query, target).sql(dialect=target.dialect, identify=True, pretty=pretty)
