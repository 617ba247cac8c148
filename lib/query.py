"""The query layer: one logical query, built once as a sqlglot AST, rendered for DuckDB or
Athena.

A ``Query`` (lib.querycore: kind, validated filters, account scope, options) is built once
per dialect (``logical``) into an AST over a logical table ``flows`` whose columns are the
SQL names of every flow log field (``schema.FIELDS``) plus ``log_account`` and
``log_region`` (the account and region folder the record was stored under). Everything
after works on that AST: the result cache keys on its SQL, the rollup routing rewrites a
copy of it (lib/rollups.py), and ``with_source``, the one place a query meets its source,
puts an engine's source of ``flows`` (a table, the cache's files, raw groups, rollup rows or
a UNION of them, each an AST) and any partition predicates into a copy. Only three things
differ per dialect: that source, the CIDR test and the partition predicates.

User values enter the AST only as typed literals (ints, validated strings); identifiers
come only from the schema and the fixed lists below, quoted by sqlglot on rendering. No SQL
text is spliced anywhere.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable
from dataclasses import replace
from functools import lru_cache

from sqlglot import exp

from lib import schema
from lib.filters import Filters, IPNetwork
from lib.iputil import network_bounds
from lib.querycore import (  # noqa: F401 - the query layer's public names, re-exported
    ALL_ACCOUNTS,
    ALL_KINDS,
    COST_KINDS,
    GROUPS,
    KIND_BUILDERS,
    KINDS,
    MAX_ADDRESSES,
    MAX_LIMIT,
    MEASURES,
    SCAN_MIN_HOSTS,
    SCAN_MIN_PORTS,
    SCAN_WINDOW_S,
    Query,
    QueryError,
    Scope,
    SearchCursor,
    Target,
    alias,
    bigint,
    check_addresses,
    col,
    count_if,
    distinct_count,
    flow_count,
    hour_of_day,
    in_list,
    is_flow,
    is_rejected,
    is_request,
    lit,
    ordered,
    total,
    total_or_zero,
    union_all,
    window,
)

# The logical `flows` columns a record query (search, check) returns, in order. (The stored
# columns, with the address keys, are lib.store.columns.RECORD_COLUMNS.)
FLOW_COLUMNS = tuple(f.column for f in schema.FIELDS) + (schema.LOG_ACCOUNT, schema.LOG_REGION)
FLOWS = "flows"  # the logical table every query reads
# DuckDB tests CIDRs on each address's key column (lib.iputil), computed when read.
ADDRESS_KEY_OF = {"srcaddr": "src_key", "dstaddr": "dst_key"}


# --- literals and predicates -----------------------------------------------------------







def ports_predicate(column: str, ranges) -> exp.Expression:
    parts = [col(column).eq(lit(lo)) if lo == hi else col(column).between(lit(lo), lit(hi))
             for lo, hi in ranges]
    return exp.or_(*parts) if len(parts) > 1 else parts[0]


def cidr_predicate(column: str, network: IPNetwork, dialect: str) -> exp.Expression:
    """Address column inside network, in the dialect's own form."""
    if network.num_addresses == 1 and network.version == 4:
        return col(column).eq(lit(str(network.network_address)))  # exact text, any dialect
    if dialect == "athena":
        return athena_address_range(column, network)
    low, high = network_bounds(network)
    key_column = ADDRESS_KEY_OF.get(column)
    if key_column is None:
        raise QueryError(f"no address key for {column}")
    return col(key_column).between(lit(low), lit(high))


def athena_address_range(column: str, network: IPNetwork) -> exp.Expression:
    """Athena: the address between the network's first and last address, as IPADDRESS values.

    Not ``contains(cidr, address)``: Trino before release 427 throws "IP address version
    should be the same" when an IPv4 network meets an IPv6 address, so on a dual-stack
    table every CIDR filter would fail. IPADDRESS values of both versions compare (IPv4 as
    IPv4-mapped IPv6), a range of one version never holds an address of the other, and
    TRY_CAST makes '-' and other non-addresses NULL (no match)."""
    ip_type = exp.DataType.build("IPADDRESS", dialect="trino")
    return exp.Between(
        this=exp.TryCast(this=col(column), to=ip_type),
        low=exp.Cast(this=lit(str(network.network_address)), to=ip_type.copy()),
        high=exp.Cast(this=lit(str(network.broadcast_address)), to=ip_type.copy()))


def filter_predicates(query: Query, dialect: str) -> list[exp.Expression]:
    f = query.filters
    if query.kind in LOGGING_KINDS:  # NODATA/SKIPDATA records have no traffic fields
        f = f.with_(src=None, dst=None, src_ports=(), dst_ports=(), protocols=(), action=None,
                    vpc_ids=(), subnet_ids=())
    if query.kind in TWO_WAY_KINDS:  # addresses and ports select both directions instead
        one_way = f.with_(src=None, dst=None, src_ports=(), dst_ports=())
        return [*filter_predicates(replace(query, kind="search", filters=one_way), dialect),
                *two_way_predicates(f, dialect)]
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
    # Explore's per-field conditions (typed by lib.explore): filters like the sidebar's.
    where += [condition_predicate(c, dialect) for c in getattr(query, "conditions", ())]
    return where


# Kinds about the logging itself (issue 22): only time, accounts, regions and interfaces
# select their records; addresses, ports, protocol, action, VPC and subnet are traffic
# fields a NODATA/SKIPDATA record does not have.
LOGGING_KINDS = frozenset({"health", "log-gaps"})
GAP_STATUSES = ("NODATA", "SKIPDATA")


# Kinds that read a conversation: filters.src/dst/dst_ports name the request (A -> B:P); the
# responses (B:P -> A) are selected too. Other filters (time, accounts, protocol...) apply.
TWO_WAY_KINDS = frozenset({"check"})


def two_way_predicates(f: Filters, dialect: str) -> list[exp.Expression]:
    """(src in A AND dst in B AND dstport in P) OR (src in B AND dst in A AND srcport in P)."""
    from lib.glossary import PORT_PROTOCOLS

    # Protocols without ports (ICMP) log port 0 or nothing: a port would hide them.
    ports = f.dst_ports if not f.protocols or set(f.protocols) & PORT_PROTOCOLS else ()
    request = [ports_predicate("dstport", ports)] if ports else []
    response = [ports_predicate("srcport", ports)] if ports else []
    if f.src is not None:
        request.append(cidr_predicate("srcaddr", f.src, dialect))
        response.append(cidr_predicate("dstaddr", f.src, dialect))
    if f.dst is not None:
        request.append(cidr_predicate("dstaddr", f.dst, dialect))
        response.append(cidr_predicate("srcaddr", f.dst, dialect))
    if not request:
        return []
    return [exp.or_(exp.and_(*request), exp.and_(*response))]


# --- the query kinds ---------------------------------------------------------------------



def measures() -> list[exp.Expression]:
    return [total("bytes").as_("bytes"), total("packets").as_("packets"),
            exp.cast(exp.func("COUNT", exp.Star()), "BIGINT").as_("flows")]




# Search results are newest first; the rest of the key makes the order total, so both
# engines return the same rows in the same order.
SEARCH_ORDER = ("start", "log_account", "log_region", "interface_id", "srcaddr", "dstaddr",
                "srcport", "dstport", "protocol", "end", "action", "packets", "bytes")


def is_gap_record() -> exp.Expression:
    """A NODATA or SKIPDATA record (formats without log-status have none)."""
    return in_list("log_status", GAP_STATUSES)


# The search's whole order: SEARCH_ORDER, then every other column it returns (rows equal on
# all of them are identical records), so both engines return ties in the same order.
SEARCH_KEY = SEARCH_ORDER + tuple(c for c in FLOW_COLUMNS if c not in SEARCH_ORDER)


def build_search(query: Query, select: exp.Select) -> exp.Select:
    order = [ordered("start", desc=True)] + [ordered(c) for c in SEARCH_KEY[1:]]
    if not query.gap_records:
        select = select.where(exp.or_(col("log_status").is_(exp.null()),
                                      exp.not_(is_gap_record())))
    if query.after is not None:
        select = select.where(*from_cursor(query.after))
    select = (select.select(*[col(c) for c in FLOW_COLUMNS])
              .order_by(*order).limit(lit(query.limit)))
    return select.offset(lit(query.after.shown)) if query.after is not None else select


def cursor_values(cursor: SearchCursor) -> tuple[tuple[str, int | str | None], ...]:
    """(column, value) in SEARCH_ORDER, each value of its column's type."""
    if len(cursor.key) != len(SEARCH_ORDER):
        raise QueryError(f"a search cursor has {len(SEARCH_ORDER)} values")
    for column, value in zip(SEARCH_ORDER, cursor.key, strict=True):
        field = schema.BY_COLUMN.get(column)
        wanted = int if field is not None and field.is_number else str
        if value is not None and not isinstance(value, wanted):
            raise QueryError(f"the search cursor's {column} must be a {wanted.__name__}")
    return tuple(zip(SEARCH_ORDER, cursor.key, strict=True))


def _equal(column: str, value) -> exp.Expression:
    return col(column).is_(exp.null()) if value is None else col(column).eq(lit(value))


def _later_in_order(column: str, value) -> exp.Expression:
    """The column's values that sort after ``value``: smaller for start (newest first),
    larger for the others, then NULL (NULLs last everywhere); nothing after a NULL."""
    if value is None:
        return exp.false()
    beyond = col(column) < lit(value) if column == "start" else col(column) > lit(value)
    return exp.or_(beyond, col(column).is_(exp.null()))


def from_cursor(cursor: SearchCursor) -> list[exp.Expression]:
    """The rows whose SEARCH_ORDER values are at or after the cursor's (the query then
    skips the ``shown`` rows that share them, in SEARCH_KEY's order): one flat OR of
    "equal on the first n, later on the next" (a nested form is too deep for sqlglot's
    parser with this many columns), and start at or before the cursor's, a plain bound the
    engines prune files and row groups with."""
    pairs = cursor_values(cursor)
    terms = [exp.and_(*[_equal(c, v) for c, v in pairs[:n]], _later_in_order(*pairs[n]))
             for n in range(len(pairs)) if pairs[n][1] is not None]
    terms.append(exp.and_(*[_equal(c, v) for c, v in pairs]))
    start = dict(pairs)["start"]
    test = exp.or_(*[exp.paren(t, copy=False) for t in terms])
    return [test] if start is None else [col("start") <= lit(start), test]


def search_after(query: Query, cursor: SearchCursor | None) -> Query:
    """The search's page after ``cursor`` (None: its first page), its time range cut after
    the cursor's start: no later row starts later, so the engines choose only the objects,
    partitions and row groups that can hold them, and a later page never reads more than
    the first (on Athena, never costs more)."""
    if cursor is None:
        return replace(query, after=None)
    start = dict(cursor_values(cursor))["start"]
    filters = query.filters
    if start is not None and start + 1 < filters.end:
        filters = filters.with_(end=start + 1)
    return replace(query, filters=filters, after=cursor)


def cursor_token(cursor: SearchCursor) -> str:
    """The cursor as one word for a command line (``--before``): its values and count as
    compact JSON in URL-safe base64 (no quoting needed in a shell)."""
    text = json.dumps([list(cursor.key), cursor.shown], separators=(",", ":"))
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def cursor_from_token(token: str) -> SearchCursor:
    """The cursor a token names; QueryError for anything cursor_token did not make (the
    values are then checked against their columns when the query is built)."""
    try:
        text = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        key, shown = json.loads(text)
        if not isinstance(key, list):
            raise ValueError
        return SearchCursor(tuple(key), shown)
    except (ValueError, TypeError, UnicodeDecodeError, binascii.Error):
        raise QueryError("not a cursor a previous search page printed") from None


def search_key(row: dict) -> tuple:
    """A search row's values of SEARCH_ORDER: what a cursor holds."""
    return tuple(row.get(column) for column in SEARCH_ORDER)


def next_cursor(rows: list[dict], previous: SearchCursor | None = None) -> SearchCursor | None:
    """The cursor after a search page's rows (None for no rows): its last row's key, and how
    many rows with that key were shown, on this page and (same key) the pages before."""
    if not rows:
        return None
    key = search_key(rows[-1])
    shown = sum(1 for row in rows if search_key(row) == key)
    if previous is not None and previous.key == key:
        shown += previous.shown
    return SearchCursor(key, shown)


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


# A connection check reads every record of both directions, newest first (a limit keeps the
# latest), ordered by every column it returns: a total order, the same rows on both engines.
CHECK_ORDER = SEARCH_ORDER + tuple(c for c in FLOW_COLUMNS if c not in SEARCH_ORDER)


def build_check(query: Query, select: exp.Select) -> exp.Select:
    order = [ordered("start", desc=True)] + [ordered(c) for c in CHECK_ORDER[1:]]
    return (select.select(*[col(c) for c in FLOW_COLUMNS])
            .where(col("srcaddr").is_(exp.null()).not_())  # NODATA/SKIPDATA: no traffic
            .order_by(*order).limit(lit(query.limit)))


# --- traffic kinds: totals, rejected traffic, scans, address labels ---------------------
# Only portable SQL (COUNT(DISTINCT), SUM cast to BIGINT, integer arithmetic on epochs,
# standard window functions), so one AST serves DuckDB and Athena alike.

























def build_summary(query: Query, select: exp.Select) -> exp.Select:
    """One row: totals of the range, the numbers the page compares with the previous one."""
    return select.select(
        total_or_zero("bytes").as_("bytes"), total_or_zero("packets").as_("packets"),
        flow_count().as_("flows"), distinct_count("srcaddr").as_("sources"),
        distinct_count("dstaddr").as_("destinations"), count_if(is_rejected()).as_("rejects"),
    ).where(is_flow())


def build_rejected_ports(query: Query, select: exp.Select) -> exp.Select:
    """Top rejected destination ports (per protocol) by the chosen measure."""
    keys = ("dstport", "protocol")
    order = [ordered(query.measure, desc=True)] + [ordered(k) for k in keys]
    return (select.select(*[col(k) for k in keys], *measures(),
                          distinct_count("srcaddr").as_("sources"),
                          distinct_count("dstaddr").as_("destinations"))
            .where(is_rejected()).group_by(*[col(k) for k in keys])
            .order_by(*order).limit(lit(query.top)))


def build_rejected_heatmap(query: Query, select: exp.Select) -> exp.Select:
    """Rejected flows per UTC hour of day for the `top` most rejected (port, protocol)s."""
    keys = ["dstport", "protocol"]
    cells = (select.select(hour_of_day().as_("hour"), *[col(k) for k in keys],
                           flow_count().as_("flows"),
                           bigint(window(exp.func("SUM", exp.func("COUNT", exp.Star())), keys)
                                  ).as_("port_flows"))
             .where(is_rejected()).group_by(hour_of_day(), *[col(k) for k in keys]))
    rank = window(exp.func("DENSE_RANK"), order=[ordered("port_flows", desc=True)]
                  + [ordered(k) for k in keys])
    ranked = exp.select(exp.Star(), rank.as_("port_rank")).from_(alias(cells, "cells"))
    return (exp.select("hour", *keys, "flows", "port_flows", "port_rank")
            .from_(alias(ranked, "ranked"))
            .where(col("port_rank") <= lit(query.top))
            .order_by(ordered("port_rank"), ordered("hour")))


def build_scans(query: Query, select: exp.Select) -> exp.Select:
    """Sources whose requests were rejected on many ports or hosts within one hour."""
    hour = exp.Sub(this=col("start"), expression=exp.Mod(this=col("start"),
                                                         expression=lit(SCAN_WINDOW_S)))
    per_hour = (select.select(col("srcaddr"), distinct_count("dstport").as_("ports"),
                              distinct_count("dstaddr").as_("hosts"), flow_count().as_("hour_flows"),
                              exp.func("MIN", col("start")).as_("first_start"),
                              exp.func("MAX", col("start")).as_("last_start"))
                .where(is_rejected(), col("srcaddr").is_(exp.null()).not_(), is_request())
                .group_by(col("srcaddr"), hour))
    scanning = exp.or_(col("ports") >= lit(SCAN_MIN_PORTS), col("hosts") >= lit(SCAN_MIN_HOSTS))
    widest = exp.func("GREATEST", exp.func("MAX", col("ports")), exp.func("MAX", col("hosts")))
    return (exp.select(
                col("srcaddr"), bigint(exp.func("MAX", col("ports"))).as_("max_ports"),
                bigint(exp.func("MAX", col("hosts"))).as_("max_hosts"),
                count_if(scanning).as_("scan_hours"),
                bigint(exp.func("SUM", col("hour_flows"))).as_("flows"),
                bigint(exp.func("MIN", col("first_start"))).as_("first_start"),
                bigint(exp.func("MAX", col("last_start"))).as_("last_start"))
            .from_(alias(per_hour, "per_hour")).group_by(col("srcaddr"))
            .having(exp.or_(exp.func("MAX", col("ports")) >= lit(SCAN_MIN_PORTS),
                            exp.func("MAX", col("hosts")) >= lit(SCAN_MIN_HOSTS)))
            .order_by(exp.Ordered(this=widest, desc=True),
                      exp.Ordered(this=exp.func("SUM", col("hour_flows")), desc=True),
                      ordered("srcaddr"))
            .limit(lit(query.top)))


def build_labels(query: Query, select: exp.Select, where: tuple[str, ...] = ()) -> exp.Select:
    """Each interface's own address, with its instance and VPC where the format has them.

    A record of interface E has E's address on one side: the source when it leaves E
    (flow-direction egress), the destination when it arrives (ingress). Without a
    flow-direction field, E's address is the one present in the most of E's records (every
    one of them); an interface with a tie (a single peer) is left unlabelled.

    With ``query.addresses`` only records holding one of them are read (far fewer) and only
    their labels returned: a listed address is in every record it is counted in, so its
    count, and whether it is an interface's own, do not change.

    ``where``: columns also returned, from the interface's records (an interface is in one
    account and region: log_account, log_region).
    """
    if query.addresses:
        select = select.where(exp.or_(in_list("srcaddr", query.addresses),
                                      in_list("dstaddr", query.addresses)))
    # Records first become conversations per interface (far fewer rows), then each
    # conversation counts once per side for that side's address.
    keys = ("interface_id", "srcaddr", "dstaddr", "flow_direction")
    conversations = (select.select(
                         *[col(k) for k in keys], flow_count().as_("records"),
                         exp.func("MAX", col("instance_id")).as_("instance_id"),
                         exp.func("MAX", col("vpc_id")).as_("vpc_id"),
                         *[exp.func("MAX", col(c)).as_(c) for c in where])
                     .where(col("interface_id").is_(exp.null()).not_())
                     .group_by(*[col(k) for k in keys]))
    sides = exp.values([("src",), ("dst",)], alias="sides", columns=["side"])
    address = (exp.Case().when(col("side").eq(lit("src")), col("srcaddr"))
               .else_(col("dstaddr")))
    own_side = exp.or_(col("flow_direction").is_(exp.null()),
                       exp.and_(col("side").eq(lit("src")), col("flow_direction").eq(lit("egress"))),
                       exp.and_(col("side").eq(lit("dst")), col("flow_direction").eq(lit("ingress"))))
    records = exp.func("SUM", col("records"))
    by_count = [exp.Ordered(this=records.copy(), desc=True),
                exp.Ordered(this=address.copy(), nulls_first=False)]
    counted = (exp.select(
                   col("interface_id"), address.as_("address"), bigint(records).as_("flows"),
                   exp.func("MAX", col("instance_id")).as_("instance_id"),
                   exp.func("MAX", col("vpc_id")).as_("vpc_id"),
                   *[exp.func("MAX", col(c)).as_(c) for c in where],
                   window(exp.RowNumber(), ["interface_id"], by_count).as_("place"),
                   window(exp.func("LEAD", records.copy()), ["interface_id"],
                          by_count).as_("runner_up"))
               .from_(alias(conversations, "conversations"))
               .join(sides, join_type="cross")
               .where(own_side)
               .group_by(col("interface_id"), address)
               .having(address.is_(exp.null()).not_()))
    unique = exp.or_(col("runner_up").is_(exp.null()), col("runner_up") < col("flows"))
    listed = [in_list("address", query.addresses)] if query.addresses else []
    return (exp.select("address", "interface_id", "instance_id", "vpc_id", *where, "flows")
            .from_(alias(counted, "counted"))
            .where(col("place").eq(lit(1)), unique, *listed)
            .order_by(ordered("flows", desc=True), ordered("interface_id"))
            .limit(lit(query.limit)))


# --- the health of the logging (issue 22) --------------------------------------------------

def build_health(query: Query, select: exp.Select) -> exp.Select:
    """Per account, region and clock hour (UTC): records, NODATA and SKIPDATA records,
    interfaces, the first start and last end, and how many records name a flow-direction
    (0 where the field order has none). An hour without a row had no records at all."""
    hour = exp.Sub(this=col("start"), expression=exp.Mod(this=col("start"), expression=lit(3600)))
    keys = [col(schema.LOG_ACCOUNT), col(schema.LOG_REGION)]
    return (select.select(
                *keys, bigint(hour).as_("hour_start"), flow_count().as_("records"),
                count_if(col("log_status").eq(lit("NODATA"))).as_("nodata"),
                count_if(col("log_status").eq(lit("SKIPDATA"))).as_("skipdata"),
                distinct_count("interface_id").as_("interfaces"),
                bigint(exp.func("MIN", col("start"))).as_("first_start"),
                bigint(exp.func("MAX", col("end"))).as_("last_end"),
                count_if(col("flow_direction").is_(exp.null()).not_()).as_("with_direction"))
            .group_by(*[k.copy() for k in keys], hour)
            .order_by(ordered(schema.LOG_ACCOUNT), ordered(schema.LOG_REGION),
                      ordered("hour_start")))


GAP_ORDER = ("start", schema.LOG_ACCOUNT, schema.LOG_REGION, "interface_id", "log_status", "end")


def build_log_gaps(query: Query, select: exp.Select) -> exp.Select:
    """The NODATA and SKIPDATA records, oldest first (at most ``limit``)."""
    return (select.select(*[col(c) for c in (schema.LOG_ACCOUNT, schema.LOG_REGION,
                                              "interface_id", "log_status", "start", "end")])
            .where(is_gap_record())
            .order_by(*[ordered(c) for c in GAP_ORDER]).limit(lit(query.limit)))


def build_owners(query: Query, select: exp.Select) -> exp.Select:
    """The labels of ``query.addresses`` with the account and region folder of each
    interface: the connection check's way to know an address's interface, and where its
    logs are, when the check's own records do not say (issue 22)."""
    return build_labels(query, select, where=(schema.LOG_ACCOUNT, schema.LOG_REGION))


# --- the Traffic page in one scan ---------------------------------------------------------
# Athena bills every query's scan (text cannot skip columns, and each query pays at least
# 10 MB): the page's summary, top talkers (three groupings), rejected sources, timeline,
# rejected ports, heatmap and scans come from ONE read of the records, as grouping sets of
# one aggregation, each section then ranked and cut to its top N. Each section's rows
# equal those of its own kind (lib/traffic.py splits them back).

TRAFFIC_KEYS = ("srcaddr", "dstaddr", "action", "bucket_start", "dstport", "protocol", "hour",
                "request", "hour_start")
TRAFFIC_SETS = {
    "summary": (),
    "talkers-src": ("srcaddr",),
    "talkers-dst": ("dstaddr",),
    "talkers-pair": ("srcaddr", "dstaddr"),
    "rejected-src": ("action", "srcaddr"),
    "timeline": ("bucket_start", "action"),
    "rejected-ports": ("action", "dstport", "protocol"),
    "heatmap": ("action", "hour", "dstport", "protocol"),
    "scans": ("action", "request", "hour_start", "srcaddr"),
}


def not_null(column: str) -> exp.Expression:
    return col(column).is_(exp.null()).not_()


def traffic_keep(section: str) -> exp.Expression:
    """What a section keeps (besides its grouping): its own kind's WHERE."""
    src, dst = not_null("srcaddr"), not_null("dstaddr")
    return {
        "summary": exp.true(),
        "talkers-src": src,
        "talkers-dst": dst,
        "talkers-pair": exp.and_(src, dst),
        "rejected-src": exp.and_(is_rejected(), src),
        "timeline": is_flow(),
        "rejected-ports": is_rejected(),
        "heatmap": is_rejected(),
        "scans": exp.and_(is_rejected(), col("request").eq(lit(1)), src),
    }[section]


TRAFFIC_COLUMNS = ("section", "srcaddr", "dstaddr", "action", "bucket_start", "dstport",
                   "protocol", "hour", "bytes", "packets", "flows", "sources", "destinations",
                   "rejects", "port_flows", "port_rank", "max_ports", "max_hosts", "scan_hours",
                   "first_start", "last_start")


def grouping_id(section: str) -> int:
    """GROUPING(every key) of a section's set: a bit per key, 1 where the key is not
    grouped, the first key the most significant (SQL's rule, Trino's and DuckDB's)."""
    grouped = TRAFFIC_SETS[section]
    return sum(1 << (len(TRAFFIC_KEYS) - 1 - n) for n, key in enumerate(TRAFFIC_KEYS)
               if key not in grouped)


def traffic_rows(select: exp.Select, bucket: int) -> exp.Select:
    """The records as the bundle's rows: one per record (``records`` 1); a rollup gives the
    same columns with its counts (lib/rollups.py)."""
    hour_start = exp.Sub(this=col("start"), expression=exp.Mod(this=col("start"),
                                                               expression=lit(3600)))
    bucket_start = exp.Sub(this=col("start"), expression=exp.Mod(this=col("start"),
                                                                 expression=lit(bucket)))
    request = exp.Case().when(is_request(), lit(1)).else_(lit(0))
    return select.select(
        col("srcaddr"), col("dstaddr"), col("action"), col("dstport"), col("protocol"),
        col("bytes"), col("packets"), hour_start.as_("hour_start"),
        bucket_start.as_("bucket_start"), hour_of_day().as_("hour"), request.as_("request"),
        lit(1).as_("records"), col("start").as_("first_start"), col("start").as_("last_start"))


BUNDLE_ROWS = "bundle_rows"  # the alias of the bundle's rows (Athena's rollups replace them)


def traffic_bundle(rows: exp.Expression, query: Query) -> exp.Select:
    """The bundle over a rows relation (a SELECT with the columns of traffic_rows)."""
    g = {name: grouping_id(name) for name in TRAFFIC_SETS}
    ranked = _traffic_ranked(_traffic_placed(_traffic_totals(_traffic_cells(rows), g), query))
    outputs = [exp.Case(this=col("g"), ifs=[exp.If(this=lit(g[name]), true=lit(name))
                                           for name in TRAFFIC_SETS]).as_("section"),
               col("srcaddr"), col("dstaddr"), col("action")]
    for name in TRAFFIC_COLUMNS[4:]:  # counts and epochs as BIGINT on both engines
        outputs.append(col(name) if name in ("dstport", "protocol")
                       else bigint(col(name)).as_(name))
    topped = [g[name] for name in ("talkers-src", "talkers-dst", "talkers-pair", "rejected-src",
                                   "rejected-ports")]
    kept = exp.or_(
        exp.and_(col("g").isin(*[lit(n) for n in topped]), col("place") <= lit(query.top)),
        exp.and_(_g_is(g["scans"]), col("scan_place") <= lit(query.top)),
        exp.and_(_g_is(g["heatmap"]), col("port_rank") <= lit(query.top)),
        col("g").isin(lit(g["summary"]), lit(g["timeline"])))
    place = (exp.Case().when(_g_is(g["scans"]), col("scan_place"))
             .when(_g_is(g["heatmap"]), col("port_rank")).when(_g_is(g["timeline"]), lit(0))
             .else_(col("place")))
    return (exp.select(*outputs).from_(alias(ranked, "ranked")).where(kept)
            .order_by(ordered("g"), exp.Ordered(this=place, nulls_first=False),
                      ordered("hour"), ordered("bucket_start"), ordered("action")))


def _g_is(value: int) -> exp.Expression:
    return col("g").eq(lit(value))


def _when_sum(condition: exp.Expression, then: exp.Expression) -> exp.Expression:
    """SUM(CASE WHEN condition THEN then ELSE 0 END)."""
    return exp.func("SUM", exp.Case().when(condition, then).else_(lit(0)))


def _traffic_cells(rows: exp.Expression) -> exp.Select:
    """One aggregation, a grouping set per section: the records read once."""
    keys = [col(k) for k in TRAFFIC_KEYS]
    sets = [exp.Tuple(expressions=[col(k) for k in grouped])
            for grouped in TRAFFIC_SETS.values()]
    return (exp.select(
                exp.Grouping(expressions=keys).as_("g"), *[k.copy() for k in keys],
                exp.func("SUM", col("bytes")).as_("bytes"),
                exp.func("SUM", col("packets")).as_("packets"),
                exp.func("SUM", col("records")).as_("records"),
                _when_sum(is_flow(), col("records")).as_("flow_records"),
                exp.Count(this=exp.Distinct(expressions=[col("srcaddr")])).as_("sources"),
                exp.Count(this=exp.Distinct(expressions=[col("dstaddr")])).as_("destinations"),
                _when_sum(is_rejected(), col("records")).as_("rejects"),
                exp.Count(this=exp.Distinct(expressions=[col("dstport")])).as_("ports"),
                exp.func("MIN", col("first_start")).as_("first_start"),
                exp.func("MAX", col("last_start")).as_("last_start"))
            .from_(alias(rows, BUNDLE_ROWS))
            .group_by(exp.GroupingSets(expressions=sets)))


def _traffic_totals(cells: exp.Select, g: dict[str, int]) -> exp.Select:
    """Each section's rows, kept by its own kind's WHERE, with its measures."""
    keys = ("g", "srcaddr", "dstaddr", "action", "bucket_start", "dstport", "protocol", "hour")
    keep = exp.or_(*[exp.Paren(this=exp.and_(_g_is(g[name]), traffic_keep(name)))
                     for name in TRAFFIC_SETS])
    scanning = exp.or_(col("ports") >= lit(SCAN_MIN_PORTS),
                       col("destinations") >= lit(SCAN_MIN_HOSTS))
    flows = exp.Case().when(_g_is(g["summary"]), col("flow_records")).else_(col("records"))
    return (exp.select(
                *[col(k) for k in keys],
                exp.func("SUM", col("bytes")).as_("bytes"),
                exp.func("SUM", col("packets")).as_("packets"),
                exp.func("SUM", flows).as_("flows"),
                exp.func("MAX", col("sources")).as_("sources"),
                exp.func("MAX", col("destinations")).as_("destinations"),
                exp.func("MAX", col("rejects")).as_("rejects"),
                exp.func("MAX", col("ports")).as_("max_ports"),
                exp.func("MAX", col("destinations")).as_("max_hosts"),
                _when_sum(scanning, lit(1)).as_("scan_hours"),
                exp.func("MIN", col("first_start")).as_("first_start"),
                exp.func("MAX", col("last_start")).as_("last_start"))
            .from_(alias(cells, "cells")).where(keep)
            .group_by(*[col(k) for k in keys])
            .having(exp.or_(col("g").neq(lit(g["scans"])),
                            exp.func("MAX", col("ports")) >= lit(SCAN_MIN_PORTS),
                            exp.func("MAX", col("destinations")) >= lit(SCAN_MIN_HOSTS))))


def _traffic_placed(totals: exp.Select, query: Query) -> exp.Select:
    """Each row's place in its section: by the measure, or the scan order; port totals."""
    measure = {"bytes": "bytes", "packets": "packets", "flows": "flows"}[query.measure]
    by_measure = [ordered(measure, desc=True)] + [ordered(k) for k in (
        "srcaddr", "dstaddr", "dstport", "protocol")]
    widest = exp.func("GREATEST", col("max_ports"), col("max_hosts"))
    by_scan = [exp.Ordered(this=widest, desc=True, nulls_first=False),
               ordered("flows", desc=True), ordered("srcaddr")]
    return exp.select(
        exp.Star(), window(exp.RowNumber(), ["g"], by_measure).as_("place"),
        window(exp.RowNumber(), ["g"], by_scan).as_("scan_place"),
        window(exp.func("SUM", col("flows")), ["g", "dstport", "protocol"]).as_("port_flows"),
    ).from_(alias(totals, "totals"))


def _traffic_ranked(placed: exp.Select) -> exp.Select:
    by_port = [ordered("port_flows", desc=True), ordered("dstport"), ordered("protocol")]
    return exp.select(exp.Star(), window(exp.func("DENSE_RANK"), ["g"], by_port)
                      .as_("port_rank")).from_(alias(placed, "placed"))


def build_traffic(query: Query, select: exp.Select) -> exp.Select:
    """Every Traffic section from one read of the records (see TRAFFIC_SETS)."""
    return traffic_bundle(traffic_rows(select, query.bucket), query)


# --- Explore: group by fields from a fixed list (issue 19) ---------------------------------
# The fields, measures and conditions are lib/explore.py's (validated there); only their SQL
# is here. Prefixes and time buckets are portable string and integer expressions, so one
# AST serves both engines.

def prefix_of(column: str, bits: int) -> exp.Expression:
    """An address's prefix as text: IPv4 /24 or /16 (``10.1.2.0/24``); for an IPv6 address
    (AWS writes it compressed, RFC 5952) the /48 or /32 in the same form
    (``2001:db8::/32``), as Python's ipaddress writes it."""
    octets = 3 if bits == 24 else 2
    text: exp.Expression = exp.func("SPLIT_PART", col(column), lit("."), lit(1))
    for n in range(2, octets + 1):
        text = exp.DPipe(this=exp.DPipe(this=text, expression=lit(".")),
                         expression=exp.func("SPLIT_PART", col(column), lit("."), lit(n)))
    text = exp.DPipe(this=text, expression=lit(".0" * (4 - octets) + f"/{bits}"))
    is_v6 = exp.StrPosition(this=col(column), substr=lit(":")) > lit(0)
    return exp.Case().when(is_v6, _v6_prefix(column, 48 if bits == 24 else 32)).else_(text)


def _v6_prefix(column: str, bits: int) -> exp.Expression:
    """The /48 or /32 of an IPv6 address text: its first groups, the zero groups written
    as RFC 5952 does (the longest run of zeros, here the tail, as '::')."""
    expanded = _v6_expanded(column)
    # Past a leading '::' the expanded text starts with ':': its groups are one further on.
    shift = exp.Case().when(exp.Like(this=col(column), expression=lit("::%")), lit(1)
                            ).else_(lit(0))
    groups = [exp.func("SPLIT_PART", expanded.copy(), lit(":"),
                       exp.Add(this=lit(k), expression=shift.copy()))
              for k in range(1, bits // 16 + 1)]
    case = exp.Case()
    for kept in range(len(groups), 0, -1):  # the last non-zero group ends the text
        text = groups[0].copy()
        for group in groups[1:kept]:
            text = exp.DPipe(this=exp.DPipe(this=text, expression=lit(":")),
                             expression=group.copy())
        case = case.when(groups[kept - 1].copy().neq(lit("0")),
                         exp.DPipe(this=text, expression=lit(f"::/{bits}")))
    return case.else_(lit(f"::/{bits}"))


def _v6_expanded(column: str) -> exp.Expression:
    """An IPv6 address text (lower case, as AWS writes it) with its '::' replaced by the
    zero groups it stands for (``2001:db8::1`` -> ``2001:db8:0:0:0:0:0:1``), by portable
    string functions: the groups written are its colons, less one for a '::' at either end."""
    address = col(column)
    without_colons = exp.func("REPLACE", address.copy(), lit(":"), lit(""))
    colons = exp.Paren(this=exp.Sub(this=exp.func("LENGTH", address.copy()),
                                    expression=exp.func("LENGTH", without_colons)))
    at_end = [exp.Case().when(exp.Like(this=address.copy(), expression=lit(pattern)), lit(1)
                              ).else_(lit(0)) for pattern in ("::%", "%::")]
    zeros = exp.Add(this=exp.Add(this=exp.Sub(this=lit(8), expression=colons),
                                 expression=at_end[0]), expression=at_end[1])
    filler = exp.func("SUBSTR", lit("0:" * 8), lit(1),
                      exp.Mul(this=lit(2), expression=exp.Paren(this=zeros)))
    return exp.func("REPLACE", address.copy(), lit("::"),
                    exp.DPipe(this=lit(":"), expression=filler))


def group_key(spec) -> exp.Expression:
    """A grouped field's value: its column, an address prefix or a time bucket's start."""
    if spec.kind == "prefix":
        return prefix_of(spec.column, spec.size)
    if spec.kind == "time":
        return bigint(exp.Sub(this=col("start"), expression=exp.Mod(
            this=col("start"), expression=lit(spec.size))))
    return col(spec.column)


def group_measure(measure: str) -> exp.Expression:
    if measure == "reject-rate":
        return exp.Div(this=exp.cast(count_if(is_rejected()), "DOUBLE"),
                       expression=exp.cast(flow_count(), "DOUBLE"))
    return {"flows": flow_count(), "bytes": total_or_zero("bytes"),
            "packets": total_or_zero("packets"), "sources": distinct_count("srcaddr"),
            "destinations": distinct_count("dstaddr")}[measure]


def condition_predicate(condition, dialect: str) -> exp.Expression:
    """A per-field condition (lib.explore.Condition, typed values only) as a predicate."""
    from lib import explore

    spec = explore.FIELD_BY_NAME[condition.field]
    if spec.kind in ("address", "prefix"):
        return cidr_predicate(spec.column, condition.network, dialect)
    if spec.kind == "port":
        return ports_predicate(spec.column, condition.ranges)
    if spec.kind == "time":
        start, end = condition.ranges[0]
        return exp.and_(col("start") >= lit(start), col("start") < lit(end))
    return in_list(spec.column, condition.values)


def build_group(query: Query, select: exp.Select) -> exp.Select:
    """The top ``limit`` groups of one to three fields by a measure, largest first; ties
    by flows (reject rate) and then the groups' values, so both engines agree."""
    from lib import explore

    fields, measure, _ = explore.options(query)
    keys = [group_key(spec) for spec in fields]
    name = explore.GROUP_MEASURES[measure]
    order = [ordered(name, desc=True)]
    if measure == "reject-rate":
        order.append(exp.Ordered(this=flow_count(), desc=True))
    order += [ordered(spec.alias) for spec in fields]
    return (select.select(*[k.as_(spec.alias) for k, spec in zip(keys, fields, strict=True)],
                          group_measure(measure).as_(name))
            .where(is_flow()).group_by(*[k.copy() for k in keys])
            .order_by(*order).limit(lit(query.limit)))


# The charge classes and the savings what-ifs (issue 16) live in lib/cost.py, imported when a
# cost query is built: it brings pandas, which the engines need not load. (lib.cost imports
# lib.querycore, never this module: no import circle.)

def build_cost(query: Query, select: exp.Select) -> exp.Select:
    from lib import cost

    return cost.build_cost(query, select)


def build_cost_savings(query: Query, select: exp.Select) -> exp.Select:
    from lib import cost

    return cost.build_cost_savings(query, select)


KIND_BUILDERS.update({
    "search": build_search,
    "top-talkers": build_top_talkers,
    "timeline": build_timeline,
    "check": build_check,
    "summary": build_summary,
    "rejected-ports": build_rejected_ports,
    "rejected-heatmap": build_rejected_heatmap,
    "scans": build_scans,
    "labels": build_labels,
    "traffic": build_traffic,
    "health": build_health,
    "log-gaps": build_log_gaps,
    "owners": build_owners,
    "cost": build_cost,
    "cost-savings": build_cost_savings,
    "group": build_group,
})


# --- building once, then placing the source ------------------------------------------------

def flows_table() -> exp.Table:
    return exp.Table(this=exp.to_identifier(FLOWS))


def logical(query: Query, dialect: str) -> exp.Select:
    """The query's AST over the logical table ``flows``, without its source: built once per
    query and dialect (building costs more than running most queries on the cache) and
    shared, so never changed in place: ``with_source`` and the rollup routing copy it."""
    try:
        hash(query)
    except TypeError:  # a query that cannot be kept (unhashable options): built each time
        return _build(query, dialect)
    return _built(query, dialect)


# An AST weighs 20-300 KB (a string of its SQL a tenth of that): a run needs its query only
# from the result cache's key to the SQL, moments apart, and a page's rerun its few again.
@lru_cache(maxsize=128)
def _built(query: Query, dialect: str) -> exp.Select:
    return _build(query, dialect)


def _build(query: Query, dialect: str) -> exp.Select:
    select = exp.select().from_(flows_table()).where(*filter_predicates(query, dialect))
    return KIND_BUILDERS[query.kind](query, select)


def flows_readers(tree: exp.Expression) -> list[exp.Select]:
    """The SELECTs of a built query that read the logical table ``flows`` directly."""
    return [table.parent.parent for table in tree.find_all(exp.Table)
            if table.name == FLOWS and not table.args.get("db")
            and isinstance(table.parent, exp.From)]


def with_source(tree: exp.Select, source: exp.Expression,
                where: Iterable[exp.Expression] = ()) -> exp.Select:
    """The one place a built query meets its source: a copy of ``tree`` whose ``flows`` is
    ``source`` (a table, or a SELECT/UNION providing the logical columns), with ``where``
    (an engine's partition predicates) added to every SELECT that reads ``flows``."""
    tree = tree.copy()
    where = list(where)
    if where:
        for reader in flows_readers(tree):
            reader.where(*[w.copy() for w in where], copy=False)
    if isinstance(source, exp.Table):
        source = exp.select(exp.Star()).from_(source)
    return tree.with_(FLOWS, as_=source, copy=False)


def key_columns(tree: exp.Expression) -> tuple[str, ...]:
    """The address key columns a built query reads (its source need provide only these)."""
    read = {column.name for column in tree.find_all(exp.Column)}
    return tuple(key for key in ADDRESS_KEY_OF.values() if key in read)


def build(query: Query, target: Target) -> exp.Select:
    """The query's AST for one engine: its logical AST over the target's source."""
    return with_source(logical(query, target.dialect), target.source,
                       target.partition_predicates(query))


def render(query: Query, target: Target, pretty: bool = False) -> str:
    return build(query, target).sql(dialect=target.dialect, identify=True, pretty=pretty)


def logical_sql(query: Query, dialect: str) -> str:
    """The query's SQL over the logical table ``flows`` (no source): what it asks, the same
    whatever files it reads, e.g. for a result cache key."""
    return logical(query, dialect).sql(dialect=dialect, identify=True)
