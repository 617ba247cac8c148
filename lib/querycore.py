"""What every query builder shares: the query's value types and the AST primitives.

``Query`` (kind, validated filters, account scope, options), ``Scope`` and ``Target``, and
the small sqlglot helpers (typed literals, columns, predicates, windows) that lib.query's
kinds and lib.cost's kinds are both made of. A module of its own so that lib.query (which
imports lib.cost to build the cost kinds) and lib.cost (and lib.traffic) import these
without importing each other: no import circle.

User values enter the AST only as typed literals (``lit``: ints, validated strings).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from sqlglot import exp

from lib.filters import Filters
from lib.iputil import parse_address

KINDS = ("search", "top-talkers", "timeline", "check", "summary", "rejected-ports",
         "rejected-heatmap", "scans", "labels", "traffic", "health", "log-gaps", "owners",
         "group")
# Built by lib.cost (which builds on this module, so lib.query imports it, never the reverse).
COST_KINDS = ("cost", "cost-savings")
ALL_KINDS = KINDS + COST_KINDS
# kind -> its builder (query, SELECT over `flows` with the filters) -> the kind's SELECT.
# Filled by lib.query (which holds the builders); a kind registered later (a test, a new
# page) is a valid kind too.
KIND_BUILDERS: dict[str, Callable[[Query, exp.Select], exp.Select]] = {}
GROUPS = {"src": ("srcaddr",), "dst": ("dstaddr",), "pair": ("srcaddr", "dstaddr")}
MEASURES = ("bytes", "packets", "flows")
MAX_LIMIT = 100_000
# Rows a search page may skip after its cursor (identical records shown on earlier pages).
MAX_SHOWN = 10**9


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

    def narrowed_to(self, other: Scope) -> Scope:
        """The accounts both scopes allow (never more than either)."""
        if other.accounts is None:
            return self
        if self.accounts is None:
            return other
        return Scope(self.accounts & other.accounts)


# Every account: for local use only (the command line), always named explicitly.
ALL_ACCOUNTS = Scope(None)


MAX_ADDRESSES = 1000


def check_addresses(addresses: tuple[str, ...]) -> None:
    """Addresses a query names (labels): IP address text only, kept as the data wrote it."""
    if not isinstance(addresses, tuple) or len(addresses) > MAX_ADDRESSES:
        raise QueryError(f"addresses must be a tuple of at most {MAX_ADDRESSES}")
    for address in addresses:
        try:
            parse_address(address)
        except ValueError:
            raise QueryError(f"{address!r} is not an IP address") from None


@dataclass(frozen=True)
class SearchCursor:
    """Where a search page ended: the last row's values of lib.query.SEARCH_ORDER (newest
    first), and how many rows with exactly those values were shown already. Rows can share
    them (records that differ only in later fields, or are identical: one record delivered
    twice): the next page starts AT the key, ordered by every column, and skips ``shown``
    rows, so none is lost or repeated. The values are typed (int, str or None), checked
    against their columns when the query is built; they reach the SQL only as literals."""

    key: tuple[int | str | None, ...]
    shown: int = 1

    def __post_init__(self):
        if not isinstance(self.key, tuple) or not all(
                value is None or (isinstance(value, int | str) and not isinstance(value, bool))
                for value in self.key):
            raise QueryError("a search cursor is a tuple of numbers, texts or nothing")
        if isinstance(self.shown, bool) or not isinstance(self.shown, int) or not (
                1 <= self.shown <= MAX_SHOWN):
            raise QueryError(f"a search cursor's shown rows must be 1-{MAX_SHOWN}")


@dataclass(frozen=True)
class Query:
    kind: str
    filters: Filters
    # Required, no default: a query that forgot its scope must fail, not read every account.
    scope: Scope
    group: str = "pair"  # top-talkers: src | dst | pair
    measure: str = "bytes"  # top-talkers: bytes | packets | flows
    top: int = 10
    bucket: int = 300  # timeline: seconds per bucket
    limit: int = 1000  # search: rows
    addresses: tuple[str, ...] = ()  # labels: only the interfaces holding these addresses
    # search: also NODATA/SKIPDATA records (they carry no traffic; the Search page leaves
    # them out unless asked, the command line and other readers keep every record)
    gap_records: bool = True
    # search: the page after this cursor (None: the first page, the newest records)
    after: SearchCursor | None = None

    def __post_init__(self):
        if not isinstance(self.scope, Scope):
            raise QueryError("a query needs an account scope (lib.query.Scope; ALL_ACCOUNTS "
                             "for every account, named explicitly)")
        if self.kind not in ALL_KINDS and self.kind not in KIND_BUILDERS:
            raise QueryError(f"unknown query kind {self.kind!r} (one of {', '.join(ALL_KINDS)})")
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
        check_addresses(self.addresses)
        if self.after is not None and (self.kind != "search"
                                       or not isinstance(self.after, SearchCursor)):
            raise QueryError("only a search pages on, after a lib.query.SearchCursor")

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


def col(name: str) -> exp.Column:
    return exp.column(name)


def lit(value: int | str) -> exp.Expression:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise QueryError(f"not a literal: {value!r}")
    return exp.Literal.number(value) if isinstance(value, int) else exp.Literal.string(value)


def in_list(column: str, values) -> exp.Expression:
    return col(column).isin(*[lit(v) for v in values])


def total(column: str) -> exp.Expression:
    """SUM cast back to BIGINT (DuckDB's SUM(BIGINT) is HUGEINT, which pandas makes float)."""
    return exp.cast(exp.func("SUM", col(column)), "BIGINT")


def ordered(column: str, desc: bool = False) -> exp.Ordered:
    return exp.Ordered(this=col(column), desc=desc, nulls_first=False)


# A probable port scan: one source rejected on at least this many destination ports, or
# this many destination hosts, within one clock hour (a scanner works in bursts; a busy
# source of background noise spreads the same counts over days).
SCAN_WINDOW_S = 3600


SCAN_MIN_PORTS = 20


SCAN_MIN_HOSTS = 20


def alias(select: exp.Select, name: str) -> exp.Subquery:
    return exp.Subquery(this=select, alias=exp.TableAlias(this=exp.to_identifier(name)))


def bigint(expression: exp.Expression) -> exp.Expression:
    return exp.cast(expression, "BIGINT")


def count_if(condition: exp.Expression) -> exp.Expression:
    """Rows meeting a condition; 0 (not NULL) over no rows."""
    case = exp.Case().when(condition, lit(1)).else_(lit(0))
    return bigint(exp.func("COALESCE", exp.func("SUM", case), lit(0)))


def total_or_zero(column: str) -> exp.Expression:
    return bigint(exp.func("COALESCE", exp.func("SUM", col(column)), lit(0)))


def distinct_count(column: str) -> exp.Expression:
    return bigint(exp.Count(this=exp.Distinct(expressions=[col(column)])))


def flow_count() -> exp.Expression:
    return bigint(exp.func("COUNT", exp.Star()))


def is_flow() -> exp.Expression:
    """A record of traffic: NODATA/SKIPDATA records have no action (and no addresses)."""
    return col("action").is_(exp.null()).not_()


def is_rejected() -> exp.Expression:
    return col("action").eq(lit("REJECT"))


def is_request() -> exp.Expression:
    """Probably a request, not a response: sent to a port no higher than the one it comes
    from (a service's port is the lower one). Without this, a server whose responses are
    dropped (a stateless network ACL) looks like it scans its clients' ephemeral ports."""
    return exp.or_(col("srcport") >= col("dstport"), col("srcport").is_(exp.null()),
                   col("dstport").is_(exp.null()))


def hour_of_day() -> exp.Expression:
    """The UTC hour (0-23) of a record's start, by integer arithmetic (no date functions)."""
    return exp.IntDiv(this=exp.Mod(this=col("start"), expression=lit(86400)),
                      expression=lit(3600))


def window(function: exp.Expression, partition: list[str] | None = None,
           order: list[exp.Ordered] | None = None) -> exp.Window:
    return exp.Window(this=function, partition_by=[col(c) for c in partition or []],
                      order=exp.Order(expressions=order) if order else None)


def union_all(selects: list[exp.Expression]) -> exp.Expression:
    """The selects' rows together (UNION ALL, in order); one select is itself."""
    union = selects[0]
    for select in selects[1:]:
        union = exp.union(union, select, distinct=False, copy=False)
    return union
