"""The Cost page's logic: which traffic AWS charges for, as queries, and what a change saves.

Every record of the range is put in one charge class (issue 16's rules), inside the engine:

=================  =======================================================================
internet-egress    egress records to a public address that is not an AWS service
                   (``pkt-dst-aws-service`` empty), ``traffic-path`` 8 or 2 (internet gateway)
nat-gateway        egress records to a public address with ``traffic-path`` 1 (through a
                   NAT gateway in the VPC), plus the reverse records at the same interface
                   (same addresses and ports, swapped)
gateway-endpoint   egress records with ``traffic-path`` 7
inter-region       egress records with ``traffic-path`` 5 (inter-region VPC peering)
transit-gateway    egress records with ``traffic-path`` 1 to an interface of another VPC
                   (no peering path: the transit gateway attachment carries it)
cross-az           a transfer between interfaces in two AZs of one region, counted once:
                   at the sender's egress record, or at the receiver's ingress record when
                   no interface logged the sending
free               every other record counted once (same AZ, ingress from the internet,
                   rejected traffic, ...)
unknown            records without ``flow-direction`` (v2-v4 formats): not classifiable
=================  =======================================================================

An interface's own address (and so its AZ and VPC) comes from the records where the address
is on the interface's side: the source of its egress records, the destination of its
ingress records; public IPv4 addresses never (a NAT gateway's records carry the internet
peer on its side). Sizes are GiB (2^30 bytes), as AWS bills. Prices are the ``prices``
setting, per region, with issue 16's us-east-1 list prices as defaults.

The SQL is one statement per question, a CTE per step, built as a sqlglot AST over the
logical ``flows`` table (lib/query.py: its filters and the account scope are applied to the
records first, so a user sees only the costs of the accounts they may see). Importable
without Streamlit.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pandas as pd
from sqlglot import exp

from lib import i18n, timeutil
from lib.filters import parse_network, to_params
from lib.querycore import (
    Query,
    QueryError,
    alias,
    bigint,
    col,
    is_flow,
    lit,
    ordered,
    union_all,
    window,
)

CLASSES = ("internet-egress", "nat-gateway", "gateway-endpoint", "cross-az", "inter-region",
           "transit-gateway", "free", "unknown")
# Prices per GiB; "interface-endpoint" is what a savings row moves traffic to.
PRICE_KEYS = CLASSES + ("interface-endpoint",)
DEFAULT_PRICES: dict[str, float] = {
    "internet-egress": 0.09, "nat-gateway": 0.045, "gateway-endpoint": 0.0, "cross-az": 0.02,
    "inter-region": 0.02, "transit-gateway": 0.02, "free": 0.0, "unknown": 0.0,
    "interface-endpoint": 0.01}
DEFAULT_REGION = "us-east-1"
# The day the defaults were checked: AWS's us-east-1 list prices as issue 16 states them.
DEFAULT_PRICES_TAKEN = "2026-12-03"

GIB = 1 << 30
MONTH_S = 730 * 3600  # AWS prices a month as 730 hours

# --cost groups: the columns a cost row is kept apart by (besides its class).
COST_GROUPS: dict[str, tuple[str, ...]] = {
    "class": (), "pair": ("srcaddr", "dstaddr"), "src": ("srcaddr",), "dst": ("dstaddr",),
    "interface": ("interface_id",), "service": ("service",), "vpc": ("vpc_id",),
    "account": ("log_account",), "time": ("bucket_start",),
    # where the records were stored: which flow logs to switch to a v5 format
    "log": ("log_account", "log_region", "vpc_id")}
# pkt-*-aws-service values no interface endpoint can carry (global or generic services).
NO_ENDPOINT_SERVICES = ("AMAZON", "CLOUDFRONT", "GLOBALACCELERATOR", "ROUTE53",
                        "ROUTE53_HEALTHCHECKS", "ROUTE53_HEALTHCHECKS_PUBLISHING")
# Private IPv4 (RFC 1918, shared 100.64/10, link-local, loopback) and private IPv6 (fc00::/7,
# fe80::/10), as a regular expression both engines run alike ([.] needs no escaping).
PRIVATE_ADDRESS = ("^(10[.]|192[.]168[.]|172[.](1[6-9]|2[0-9]|3[01])[.]"
                   "|100[.](6[4-9]|[7-9][0-9]|1[01][0-9]|12[0-7])[.]|169[.]254[.]|127[.]"
                   "|[fF][cCdD]|[fF][eE][89aAbB])")

BASE_COLUMNS = ("log_account", "log_region", "interface_id", "vpc_id", "az_id", "srcaddr",
                "dstaddr", "srcport", "dstport", "protocol", "bytes", "start", "action",
                "flow_direction", "traffic_path", "pkt_src_aws_service", "pkt_dst_aws_service")
FIVE_TUPLE = ("srcaddr", "dstaddr", "srcport", "dstport", "protocol")
# The classification reads one UTC day at a time: an interface's AZ and VPC, a NAT flow's
# reverse records and a transfer's sender are looked up among the records of the same day
# (and of the query's range). So a whole day's classes do not depend on the range around it,
# and the cost rollup (lib/rollups.py) can hold them classified.
CONTEXT_DAY = "context_day"
DAY_S = 86400


# --- prices --------------------------------------------------------------------------------

class PriceError(ValueError):
    """A `prices` setting that cannot be used (the message names the bad entry)."""


@dataclass(frozen=True)
class Prices:
    """Dollars per GiB per class and region; regions not listed use the default region's."""

    regions: tuple[tuple[str, tuple[tuple[str, float], ...]], ...] = ()
    taken: str = DEFAULT_PRICES_TAKEN

    def table(self, region: str) -> dict[str, float]:
        own = dict(self.regions)
        base = {**DEFAULT_PRICES, **dict(own.get(DEFAULT_REGION, ()))}
        return {**base, **dict(own.get(region, ()))}

    def price(self, key: str, region: str) -> float:
        return self.table(region)[key]

    @property
    def listed_regions(self) -> tuple[str, ...]:
        return tuple(region for region, _ in self.regions)

    def rows(self) -> list[dict]:
        """The prices in force, per region listed (and the default), for the page."""
        regions = sorted({DEFAULT_REGION, *self.listed_regions})
        return [{"region": region if region != DEFAULT_REGION else f"{region} (default)",
                 **self.table(region)} for region in regions]


DEFAULT = Prices()


def parse_prices(raw) -> Prices:
    """The `prices` setting (a TOML table, JSON text, or the frozen pairs Settings keeps):
    ``{"taken": "YYYY-MM-DD", "<region>": {"<class>": dollars per GiB, ...}, ...}``."""
    if isinstance(raw, str):
        if not raw.strip():
            return DEFAULT
        try:
            raw = json.loads(raw)
        except ValueError as error:
            raise PriceError(f"prices: not JSON ({error})") from None
    table = _as_dict(raw)
    if table is None:
        raise PriceError("prices: expected a table of regions")
    taken = str(table.pop("taken", DEFAULT_PRICES_TAKEN))
    try:
        datetime.strptime(taken, "%Y-%m-%d")
    except ValueError:
        raise PriceError(f"prices.taken: {taken!r} is not a date YYYY-MM-DD") from None
    regions = []
    for region, entries in sorted(table.items()):
        values = _as_dict(entries)
        if values is None:
            raise PriceError(f"prices.{region}: expected a table of class = dollars per GiB")
        checked = []
        for key, value in sorted(values.items()):
            if key not in PRICE_KEYS:
                raise PriceError(f"prices.{region}.{key}: unknown (one of {', '.join(PRICE_KEYS)})")
            if isinstance(value, bool) or not isinstance(value, int | float) or not (
                    math.isfinite(value) and 0 <= value <= 100):
                raise PriceError(f"prices.{region}.{key}: {value!r} is not a price 0-100 $/GiB")
            checked.append((key, float(value)))
        regions.append((str(region), tuple(checked)))
    return Prices(tuple(regions), taken)


def _as_dict(value) -> dict | None:
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, tuple) and all(isinstance(v, tuple) and len(v) == 2 for v in value):
        return {k: _as_dict(v) if isinstance(v, tuple) else v for k, v in value}
    return None


def prices_from(settings) -> Prices:
    return parse_prices(getattr(settings, "prices", ()) or ())


# --- the query ---------------------------------------------------------------------------

@dataclass(frozen=True)
class CostQuery(Query):
    """A cost or cost-savings query: the cost group (``COST_GROUPS``) and the prices."""

    cost_group: str = "class"
    prices: Prices = field(default=DEFAULT)
    single_scan: bool = False  # read `flows` once (window functions): for Athena

    def __post_init__(self):
        super().__post_init__()
        if self.kind not in ("cost", "cost-savings"):
            raise QueryError("a CostQuery is of kind cost or cost-savings")
        if self.cost_group not in COST_GROUPS:
            raise QueryError(f"group must be one of {', '.join(COST_GROUPS)}")
        if not isinstance(self.prices, Prices):
            raise QueryError("prices must be lib.cost.Prices")


def cost_query(filters, scope, group: str = "class", top: int = 10, prices: Prices = DEFAULT,
               bucket: int = 86400, single_scan: bool = False) -> CostQuery:
    return CostQuery("cost", filters, scope=scope, cost_group=group, top=top, prices=prices,
                     bucket=bucket, single_scan=single_scan)


def savings_query(filters, scope, top: int = 10, prices: Prices = DEFAULT,
                  single_scan: bool = False) -> CostQuery:
    return CostQuery("cost-savings", filters, scope=scope, top=top, prices=prices,
                     single_scan=single_scan)


def single_scan_for(settings) -> bool:
    """Athena bills every read of the table and Trino keeps no CTE result: read it once."""
    return getattr(settings, "engine", "duckdb") == "athena"


def _options(query: Query) -> tuple[str, Prices, bool]:
    """A plain Query of a cost kind (the engines' generic tests) groups by class at the
    default prices, in the form that suits every engine (one read of the table)."""
    return (getattr(query, "cost_group", "class"), getattr(query, "prices", DEFAULT),
            getattr(query, "single_scan", True))


# --- SQL pieces ----------------------------------------------------------------------------

def c(name: str, table: str | None = None) -> exp.Column:
    return exp.column(name, table=table)


def sql(text: str) -> exp.Expression:
    """A fixed SQL expression (no user value ever reaches this text)."""
    return exp.condition(text)


def cte_select(*columns, source: str, where=None) -> exp.Select:
    select = exp.select(*columns).from_(exp.Table(this=exp.to_identifier(source)))
    return select.where(where) if where is not None else select


def is_private(address: exp.Expression) -> exp.Expression:
    return exp.RegexpLike(this=address, expression=lit(PRIVATE_ADDRESS))


def number(value: float) -> exp.Expression:
    return exp.cast(exp.Literal.number(repr(float(value))), "DOUBLE")


def region_price(prices: Prices, key: str, region: exp.Expression) -> exp.Expression:
    """Dollars per GiB of one price key in a row's region: literals, per listed region."""
    default = number(prices.price(key, DEFAULT_REGION))
    if not prices.listed_regions:
        return default
    case = exp.Case()
    for name in prices.listed_regions:
        case = case.when(region.copy().eq(lit(name)), number(prices.price(key, name)))
    return case.else_(default)


def price_case(prices: Prices, key_of: exp.Expression, region: exp.Expression) -> exp.Expression:
    """Dollars per GiB of a row's class in its region."""
    case = exp.Case()
    for key in CLASSES:
        case = case.when(key_of.copy().eq(lit(key)), region_price(prices, key, region))
    return case.else_(number(0.0))


def peer_address() -> exp.Expression:
    """The other side of a record: the destination of an egress record, else the source.
    Computed once per record (records step), so the joins on it are plain equi-joins."""
    return sql("CASE WHEN flow_direction = 'ingress' THEN srcaddr ELSE dstaddr END")


# --- the steps (one CTE each) --------------------------------------------------------------

def owners_step() -> exp.Select:
    """Each interface's own addresses with its VPC and AZ: the address on its side."""
    side = sql("CASE WHEN flow_direction = 'egress' THEN srcaddr ELSE dstaddr END")
    sides = cte_select(side.as_("address"), "log_region", "vpc_id", "az_id", CONTEXT_DAY,
                       source="records", where=sql("flow_direction IN ('egress', 'ingress')"))
    own = exp.and_(col("address").is_(exp.null()).not_(),
                   exp.or_(is_private(col("address")), sql("STRPOS(address, ':') > 0")))
    return (exp.select("address", "log_region", "vpc_id", CONTEXT_DAY,
                       exp.func("MIN", col("az_id")).as_("az_id"))
            .from_(alias(sides, "sides")).where(own)
            .group_by("address", "log_region", "vpc_id", CONTEXT_DAY))


def owner_regions_step() -> exp.Select:
    """Per address and region: whether one VPC and AZ holds it (private ranges overlap)."""
    return cte_select("address", "log_region", CONTEXT_DAY, sql("MIN(vpc_id)").as_("min_vpc"),
                      sql("MAX(vpc_id)").as_("max_vpc"), sql("MIN(az_id)").as_("min_az"),
                      sql("MAX(az_id)").as_("max_az"), source="owners"
                      ).group_by("address", "log_region", CONTEXT_DAY)


def peers_step() -> exp.Select:
    """Every record with what is known of its peer: public, and if an interface, its VPC/AZ."""
    peer = c("peer", "r")
    same_vpc = exp.and_(c("address", "o").eq(peer.copy()),
                        c("log_region", "o").eq(c("log_region", "r")),
                        c("vpc_id", "o").eq(c("vpc_id", "r")),
                        c(CONTEXT_DAY, "o").eq(c(CONTEXT_DAY, "r")))
    in_region = exp.and_(c("address", "g").eq(peer.copy()),
                         c("log_region", "g").eq(c("log_region", "r")),
                      c(CONTEXT_DAY, "g").eq(c(CONTEXT_DAY, "r")))
    unique = sql("COALESCE(g.min_vpc, '') = COALESCE(g.max_vpc, '') AND g.min_az = g.max_az")
    peer_az = exp.func("COALESCE", c("az_id", "o"),
                       exp.Case().when(unique.copy(), c("min_az", "g")))
    peer_vpc = exp.func("COALESCE", c("vpc_id", "o"),
                        exp.Case().when(unique.copy(), c("min_vpc", "g")))
    public = exp.and_(c("address", "g").is_(exp.null()), peer.copy().is_(exp.null()).not_(),
                      exp.Not(this=is_private(peer.copy())))
    return (exp.select(*[c(name, "r") for name in BASE_COLUMNS], c(CONTEXT_DAY, "r"),
                       peer_az.as_("peer_az"),
                       peer_vpc.as_("peer_vpc"), public.as_("peer_public"))
            .from_(exp.Table(this=exp.to_identifier("records"), alias=exp.TableAlias(
                this=exp.to_identifier("r"))))
            .join(exp.Table(this=exp.to_identifier("owners"),
                            alias=exp.TableAlias(this=exp.to_identifier("o"))),
                  on=same_vpc, join_type="left")
            .join(exp.Table(this=exp.to_identifier("owner_regions"),
                            alias=exp.TableAlias(this=exp.to_identifier("g"))),
                  on=in_region, join_type="left"))


def nat_flows_step() -> exp.Select:
    """Flows a NAT gateway processes: sent to a public address through the VPC (path 1)."""
    keys = ("interface_id", CONTEXT_DAY) + FIVE_TUPLE
    return (cte_select(*keys, source="peers", where=sql(
                "flow_direction = 'egress' AND action = 'ACCEPT' AND traffic_path = 1 "
                "AND peer_public"))
            .distinct())


def senders_step() -> exp.Select:
    """Per 5-tuple, the interfaces that logged its sending (egress, or no direction known)."""
    return (cte_select(*FIVE_TUPLE, CONTEXT_DAY, sql("MIN(interface_id)").as_("first_interface"),
                       sql("MAX(interface_id)").as_("last_interface"), source="records",
                       where=sql("flow_direction = 'egress' OR flow_direction IS NULL"))
            .group_by(*FIVE_TUPLE, CONTEXT_DAY))


def own_address() -> exp.Expression:
    """The interface's own side of a record (egress: source, ingress: destination), when it
    can be the interface's own address: never a public IPv4 address (a NAT gateway's records
    carry the internet peer on its side)."""
    side = sql("CASE WHEN flow_direction = 'egress' THEN srcaddr "
               "WHEN flow_direction = 'ingress' THEN dstaddr END")
    ownable = exp.or_(is_private(side.copy()), sql(
        "STRPOS(CASE WHEN flow_direction = 'egress' THEN srcaddr "
        "WHEN flow_direction = 'ingress' THEN dstaddr END, ':') > 0"))
    return exp.Case().when(ownable, side)


# single_scan: the steps read `flows` once (Athena bills every read of the table; Trino
# does not keep a CTE's result): each record appears twice, once under its own address and once under its
# peer's, and window functions over an address carry what its own records say (AZ, VPC) to
# the records that have it as their peer.

def sides_step() -> exp.Select:
    """Each record under its own address ('own') and under its peer's ('peer')."""
    sides = exp.values([("own",), ("peer",)], alias="sides", columns=["side"])
    key = exp.Case().when(col("side").eq(lit("own")), own_address()).else_(col("peer"))
    return (exp.select(*[col(name) for name in BASE_COLUMNS], "peer", CONTEXT_DAY, "side",
                       key.as_("address"))
            .from_(exp.Table(this=exp.to_identifier("records")))
            .join(sides, join_type="cross"))


def own_value(column: str) -> exp.Expression:
    return exp.Case().when(col("side").eq(lit("own")), col(column))


def seen_peers_step() -> exp.Select:
    """Every record once, with what is known of its peer: public, and if an interface (its
    address is some record's own), its VPC and AZ (the same VPC's first: private ranges
    overlap between VPCs; else the region's one holder)."""
    region = ["address", "log_region", CONTEXT_DAY]
    same_vpc = ["address", "log_region", "vpc_id", CONTEXT_DAY]
    known = {
        "vpc_az": window(exp.func("MIN", own_value("az_id")), same_vpc),
        "vpc_holders": window(exp.func("COUNT", own_value("vpc_id")), same_vpc),
        "min_az": window(exp.func("MIN", own_value("az_id")), region),
        "max_az": window(exp.func("MAX", own_value("az_id")), region),
        "min_vpc": window(exp.func("MIN", own_value("vpc_id")), region),
        "max_vpc": window(exp.func("MAX", own_value("vpc_id")), region),
        "holders": window(exp.func("COUNT", own_value("address")), region)}
    seen = (exp.select(exp.Star(), *[w.as_(name) for name, w in known.items()])
            .from_(exp.Table(this=exp.to_identifier("sides"))))
    unique = sql("COALESCE(min_vpc, '') = COALESCE(max_vpc, '') AND min_az = max_az")
    peer_az = exp.Case().when(sql("vpc_holders > 0"), col("vpc_az")).when(
        unique.copy(), col("min_az"))
    peer_vpc = exp.Case().when(sql("vpc_holders > 0"), col("vpc_id")).when(
        unique.copy(), col("min_vpc"))
    public = exp.and_(sql("holders = 0"), col("peer").is_(exp.null()).not_(),
                      exp.Not(this=is_private(col("peer"))))
    return (exp.select(*[col(name) for name in BASE_COLUMNS], "peer", CONTEXT_DAY,
                       peer_az.as_("peer_az"),
                       peer_vpc.as_("peer_vpc"), public.as_("peer_public"))
            .from_(alias(seen, "seen")).where(col("side").eq(lit("peer"))))


def links_step() -> exp.Select:
    """Each record with its flow's other records at hand: whether a NAT gateway processed
    the flow it answers (the same interface's egress to a public peer through the VPC), and
    which interfaces logged the sending of its 5-tuple (egress, or no direction known)."""
    local = sql("CASE WHEN flow_direction = 'ingress' THEN dstaddr ELSE srcaddr END")
    local_port = sql("CASE WHEN flow_direction = 'ingress' THEN dstport ELSE srcport END")
    remote_port = sql("CASE WHEN flow_direction = 'ingress' THEN srcport ELSE dstport END")
    conversation = [col("interface_id"), col("protocol"), local, col("peer"), local_port,
                    remote_port, col(CONTEXT_DAY)]
    nat = sql("CASE WHEN flow_direction = 'egress' AND action = 'ACCEPT' AND traffic_path = 1 "
              "AND peer_public THEN 1 ELSE 0 END")
    sender = sql("CASE WHEN flow_direction = 'egress' OR flow_direction IS NULL "
                 "THEN interface_id END")
    five = [col(k) for k in (*FIVE_TUPLE, CONTEXT_DAY)]
    return (exp.select(exp.Star(),
                       exp.Window(this=exp.func("MAX", nat), partition_by=conversation
                                  ).as_("nat_flow"),
                       exp.Window(this=exp.func("MIN", sender), partition_by=five
                                  ).as_("first_interface"),
                       exp.Window(this=exp.func("MAX", sender.copy()), partition_by=[
                           c.copy() for c in five]).as_("last_interface"))
            .from_(exp.Table(this=exp.to_identifier("seen_peers"))))


# The rules, over the columns of a record and its peer ({p}: their table's prefix), the flag
# of a flow a NAT gateway processed ({nat}) and the interfaces that logged its sending.
CLASS_RULES = """CASE
  WHEN {p}flow_direction IS NULL THEN 'unknown'
  WHEN {p}action <> 'ACCEPT' THEN 'free'
  WHEN {p}flow_direction = 'egress' THEN CASE
    WHEN {p}traffic_path = 7 THEN 'gateway-endpoint'
    WHEN {p}traffic_path = 5 THEN 'inter-region'
    WHEN {p}peer_public AND {p}traffic_path = 1 THEN 'nat-gateway'
    WHEN {p}peer_public AND {p}pkt_dst_aws_service IS NULL AND {p}traffic_path IN (2, 8)
      THEN 'internet-egress'
    WHEN {p}traffic_path = 1 AND {p}peer_vpc <> {p}vpc_id THEN 'transit-gateway'
    WHEN {p}peer_az <> {p}az_id THEN 'cross-az'
    ELSE 'free' END
  WHEN {nat} THEN 'nat-gateway'
  WHEN {first} <> {p}interface_id OR {last} <> {p}interface_id THEN NULL
  WHEN {p}peer_az <> {p}az_id THEN 'cross-az'
  ELSE 'free' END"""
CLASS_CASE = CLASS_RULES.format(p="p.", nat="n.interface_id IS NOT NULL",
                                first="s.first_interface", last="s.last_interface")
LINKED_CLASS_CASE = CLASS_RULES.format(p="", nat="nat_flow = 1", first="first_interface",
                                       last="last_interface")


def classified_step() -> exp.Select:
    """Each record's class; NULL for a receiver's record of a transfer counted at its sender."""
    reverse = exp.and_(c("interface_id", "n").eq(c("interface_id", "p")),
                       c("srcaddr", "n").eq(c("dstaddr", "p")),
                       c("dstaddr", "n").eq(c("srcaddr", "p")),
                       c("srcport", "n").eq(c("dstport", "p")),
                       c("dstport", "n").eq(c("srcport", "p")),
                       c("protocol", "n").eq(c("protocol", "p")),
                       c(CONTEXT_DAY, "n").eq(c(CONTEXT_DAY, "p")))
    sent = exp.and_(*[c(k, "s").eq(c(k, "p")) for k in (*FIVE_TUPLE, CONTEXT_DAY)])
    service = sql("CASE WHEN p.flow_direction = 'egress' THEN p.pkt_dst_aws_service "
                  "ELSE COALESCE(p.pkt_src_aws_service, p.pkt_dst_aws_service) END")
    return (exp.select(*[c(name, "p") for name in BASE_COLUMNS], service.as_("service"),
                       sql(CLASS_CASE).as_("class"))
            .from_(_aliased("peers", "p"))
            .join(_aliased("nat_flows", "n"), on=reverse, join_type="left")
            .join(_aliased("senders", "s"), on=sent, join_type="left"))


def linked_classified_step() -> exp.Select:
    """classified_step for single_scan: the links step holds the flow's other records."""
    service = sql("CASE WHEN flow_direction = 'egress' THEN pkt_dst_aws_service "
                  "ELSE COALESCE(pkt_src_aws_service, pkt_dst_aws_service) END")
    return (exp.select(*[col(name) for name in BASE_COLUMNS], service.as_("service"),
                       sql(LINKED_CLASS_CASE).as_("class"))
            .from_(exp.Table(this=exp.to_identifier("links"))))


def _aliased(name: str, short: str) -> exp.Table:
    return exp.Table(this=exp.to_identifier(name), alias=exp.TableAlias(
        this=exp.to_identifier(short)))


def with_steps(select: exp.Select, records: exp.Select, single_scan: bool = False
               ) -> exp.Select:
    """The classification's CTEs. Joins (fastest on DuckDB, which keeps a CTE's result) or,
    with single_scan, window functions over one read of `flows` (Athena: Trino evaluates
    each reference to a CTE anew, so the joins would read, and bill, the table 7 times)."""
    steps = (("records", records), ("owners", owners_step()),
             ("owner_regions", owner_regions_step()), ("peers", peers_step()),
             ("nat_flows", nat_flows_step()), ("senders", senders_step()),
             ("classified", classified_step()))
    if single_scan:  # a chain, each step read once: nested subqueries, no named CTE
        return inlined(select, (("records", records), ("sides", sides_step()),
                                ("seen_peers", seen_peers_step()), ("links", links_step()),
                                ("classified", linked_classified_step())))
    for name, step in steps:
        select = select.with_(name, as_=step)
    return select


def inlined(select: exp.Select, steps) -> exp.Select:
    """The select with each read of a step replaced by the step itself (in order: a step may
    read the ones before it), so the statement names no table but `flows`."""
    bodies: dict[str, exp.Expression] = {}

    def swap(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Table) and not node.args.get("db") and node.name in bodies:
            return exp.Subquery(this=bodies[node.name].copy(), alias=exp.TableAlias(
                this=exp.to_identifier(node.alias_or_name)))
        return node

    for name, step in steps:
        bodies[name] = step.transform(swap)
    return select.transform(swap)


def records_step(select: exp.Select) -> exp.Select:
    """The records the query may read (its filters and account scope are on `select`)."""
    day = exp.Sub(this=col("start"), expression=exp.Mod(this=col("start"),
                                                        expression=lit(DAY_S)))
    return (select.select(*[col(name) for name in BASE_COLUMNS], peer_address().as_("peer"),
                          day.as_(CONTEXT_DAY))
            .where(is_flow()))


def usd(total: exp.Expression) -> exp.Expression:
    return exp.func("ROUND", exp.Div(this=total, expression=number(GIB)), lit(6))


def build_cost(query: Query, select: exp.Select) -> exp.Select:
    """Bytes and estimated dollars per class (and per the group's keys)."""
    group, prices, single_scan = _options(query)
    keys = COST_GROUPS[group]
    key_columns = [(_bucket(query) if k == "bucket_start" else col(k)).as_(k) for k in keys]
    grouped = [exp.column(k) if k != "bucket_start" else _bucket(query) for k in keys]
    if prices.listed_regions:  # a price per region: bytes per region first, then dollars
        per_region = (cte_select(*key_columns, "class", "log_region",
                                 sql("SUM(bytes)").as_("bytes"), source="classified",
                                 where=sql("class IS NOT NULL"))
                      .group_by(*grouped, "class", "log_region"))
        charge = exp.Mul(this=exp.cast(col("bytes"), "DOUBLE"),
                         expression=price_case(prices, col("class"), col("log_region")))
        totals = (exp.select("class", *keys, bigint(sql("SUM(bytes)")).as_("bytes"),
                             usd(exp.func("SUM", charge)).as_("usd"))
                  .from_(alias(per_region, "per_region")).group_by("class", *keys))
    else:  # one price per class everywhere: one aggregation (half the work over many pairs)
        charge = exp.Mul(this=exp.cast(sql("SUM(bytes)"), "DOUBLE"),
                         expression=price_case(prices, col("class"), col("log_region")))
        per_class = (cte_select("class", *key_columns, bigint(sql("SUM(bytes)")).as_("bytes"),
                                usd(charge).as_("usd"), source="classified",
                                where=sql("class IS NOT NULL"))
                     .group_by("class", *grouped))
        totals = exp.select("class", *keys, "bytes", "usd").from_(alias(per_class, "per_class"))
    order = [ordered("usd", desc=True), ordered("bytes", desc=True), ordered("class")]
    order += [ordered(k) for k in keys]
    if group == "time":
        order = [ordered("bucket_start"), ordered("class")]
    inner = totals
    if group not in ("class", "time") and single_scan:  # the top N of each class
        rank = window(exp.RowNumber(), ["class"], order)
        ranked = exp.select(exp.Star(), rank.as_("place")).from_(alias(totals, "totals"))
        inner = (exp.select("class", *keys, "bytes", "usd").from_(alias(ranked, "ranked"))
                 .where(col("place") <= lit(query.top)))
    elif group not in ("class", "time"):
        # The same rows, each class's first N by a LIMIT (a heap, not a sort of every pair:
        # 2-3x faster on DuckDB); `totals` is a step, computed once. Not for single_scan:
        # inlined, each class would read the table again.
        topped = union_all([
            exp.select("class", *keys, "bytes", "usd").from_("totals")
            .where(col("class").eq(lit(name))).order_by(*[o.copy() for o in order])
            .limit(lit(query.top)) for name in CLASSES])
        inner = exp.select("class", *keys, "bytes", "usd").from_(alias(topped, "topped"))
    inner = with_steps(inner, records_step(select), single_scan)
    if group not in ("class", "time") and not single_scan:
        inner.with_("totals", as_=totals, copy=False)
    return (exp.select("class", *keys, "bytes", "usd").from_(alias(inner, "cost"))
            .order_by(*[o.copy() for o in order]))


# --- the cost rollup's rows (lib/rollups.py builds and routes them) ----------------------

# What the page's questions read of a classified record; a rollup row holds their sums.
CLASSIFIED_COLUMNS = ("log_account", "log_region", "interface_id", "vpc_id", "srcaddr",
                      "dstaddr", "service", "class", "start", "bytes")


def classified_rows(select: exp.Select) -> exp.Select:
    """The counted records of `select` (over `flows`) with their class and service."""
    rows = cte_select(*CLASSIFIED_COLUMNS, source="classified",
                      where=sql("class IS NOT NULL"))
    inner = with_steps(rows, records_step(select))  # its own WITH: `flows` is put outside
    return exp.select(*CLASSIFIED_COLUMNS).from_(alias(inner, "counted"))


def routable(query: Query) -> bool:
    """Whether a cost rollup can answer the query: every account, no filter but the time
    (a filter or a narrower scope changes what the classification sees), and the steps as
    joins (the rows replace the `classified` step)."""
    f = query.filters
    return (isinstance(query, CostQuery) and not query.single_scan and query.accounts is None
            and f == type(f)(start=f.start, end=f.end))


def with_rollup_rows(tree: exp.Select, sources: list[tuple[exp.Table, tuple[str, ...]]],
                     raw_ranges: list[tuple[int, int]]) -> exp.Select:
    """A copy of a built cost query whose `classified` step is rows already classified
    (``sources``: each a table and the columns it holds; the others are not read by the
    query) UNION ALL the classified records of ``raw_ranges`` only (each within one day:
    the classification reads a day at a time, so a piece of a day is classified alike
    alone)."""
    tree = tree.copy()
    steps = {cte.alias: cte for cte in tree.find_all(exp.CTE)}
    if raw_ranges:
        pieces = [exp.Paren(this=exp.and_(col("start") >= lit(lo), col("start") < lit(hi)))
                  for lo, hi in raw_ranges]
        steps["records"].this.where(exp.or_(*pieces), copy=False)
    else:
        steps["records"].this.where(exp.false(), copy=False)
    parts = [exp.select(*[col(name) if name in kept
                          else exp.cast(exp.null(), "VARCHAR").as_(name)
                          for name in CLASSIFIED_COLUMNS]).from_(table.copy())
             for table, kept in sources]
    if raw_ranges:
        parts.append(exp.select(*CLASSIFIED_COLUMNS).from_(
            alias(steps["classified"].this.copy(), "raw")))
    steps["classified"].set("this", union_all(parts))
    return tree


def _bucket(query: Query) -> exp.Expression:
    return exp.Sub(this=col("start"), expression=exp.Mod(this=col("start"),
                                                         expression=lit(query.bucket)))


def build_cost_savings(query: Query, select: exp.Select) -> exp.Select:
    """What-ifs: NAT traffic to AWS services through endpoints, cross-AZ pairs co-located
    (the `top` largest pairs). Dollars per month: the range's saving scaled to 730 hours.
    One pass over the classified records (each change is a group of its own)."""
    _, prices, single_scan = _options(query)
    per_month = number(MONTH_S / (query.filters.end - query.filters.start))
    change = sql("CASE WHEN class = 'cross-az' THEN 'co-locate' "
                 "WHEN service IN ('S3', 'DYNAMODB') THEN 'gateway-endpoint' "
                 "ELSE 'interface-endpoint' END")
    pair = "CASE WHEN class = 'cross-az' THEN {}(srcaddr, dstaddr) END"
    endpoint_traffic = exp.and_(sql("class = 'nat-gateway' AND service IS NOT NULL"),
                                exp.Not(this=col("service").isin(
                                    *[lit(s) for s in NO_ENDPOINT_SERVICES])))
    candidates = cte_select(
        change.as_("change"), "vpc_id",
        # a pair is kept apart by its addresses only (its VPC: the first one's)
        sql("CASE WHEN class = 'cross-az' THEN NULL ELSE vpc_id END").as_("vpc_key"),
        sql("CASE WHEN class = 'cross-az' THEN NULL ELSE service END").as_("service"),
        sql(pair.format("LEAST")).as_("address_a"), sql(pair.format("GREATEST")).as_("address_b"),
        "bytes", "log_region", source="classified",
        where=exp.or_(sql("class = 'cross-az'"), endpoint_traffic))
    saved = exp.Mul(this=exp.cast(col("bytes"), "DOUBLE"), expression=prices_saved_case(prices))
    keys = ("change", "vpc_key", "service", "address_a", "address_b")
    changes = (exp.select("change", sql("MIN(vpc_id)").as_("vpc"), "service", "address_a",
                          "address_b", bigint(sql("SUM(bytes)")).as_("bytes"),
                          usd(exp.Mul(this=exp.func("SUM", saved), expression=per_month)
                              ).as_("usd_saved"))
               .from_(alias(candidates, "candidates")).group_by(*keys))
    rank = window(exp.RowNumber(), ["change"],
                  [ordered("usd_saved", desc=True), ordered("bytes", desc=True),
                   ordered("vpc"), ordered("service"), ordered("address_a"), ordered("address_b")])
    ranked = exp.select(exp.Star(), rank.as_("place")).from_(alias(changes, "changes"))
    columns = ("change", "vpc", "service", "address_a", "address_b", "bytes", "usd_saved")
    kept = (exp.select(*columns).from_(alias(ranked, "ranked"))
            .where(exp.or_(col("change").neq(lit("co-locate")), col("place") <= lit(query.top))))
    inner = with_steps(kept, records_step(select), single_scan)
    return (exp.select(*columns).from_(alias(inner, "savings"))
            .order_by(ordered("usd_saved", desc=True), ordered("bytes", desc=True),
                      *[ordered(k) for k in columns[:5]]))


def prices_saved_case(prices: Prices) -> exp.Expression:
    """$/GiB a change saves: all of NAT processing with a gateway endpoint, NAT processing
    less the interface endpoint's with one (never below zero), the cross-AZ price for a
    pair put in one AZ."""
    nat = region_price(prices, "nat-gateway", col("log_region"))
    interface = region_price(prices, "interface-endpoint", col("log_region"))
    cheaper = exp.func("GREATEST", exp.Sub(this=nat.copy(), expression=interface),
                       number(0.0))
    cross = region_price(prices, "cross-az", col("log_region"))
    return (exp.Case().when(col("change").eq(lit("gateway-endpoint")), nat)
            .when(col("change").eq(lit("co-locate")), cross).else_(cheaper))


# --- shaping results for the page --------------------------------------------------------------

def month_start(epoch: int) -> int:
    moment = datetime.fromtimestamp(epoch, UTC)
    return int(moment.replace(day=1, hour=0, minute=0, second=0, microsecond=0).timestamp())


def month_to_date(filters, now: int):
    """The filters over the current UTC month up to now (end exclusive, whole minute)."""
    end = now // 60 * 60 + 60
    return filters.with_(start=month_start(now), end=end)


def per_class(rows: list[Mapping]) -> dict[str, dict]:
    """Every class with its bytes and dollars (zero where nothing was counted)."""
    found = {row["class"]: row for row in rows}
    return {name: {"bytes": int(found.get(name, {}).get("bytes") or 0),
                   "usd": float(found.get(name, {}).get("usd") or 0.0)} for name in CLASSES}


# --- the page: words (English, Japanese), frames, drill-down ---------------------------------

# The texts are in lib/texts/cost.toml (see lib/i18n.py).
_CATALOGUE = i18n.catalogue("cost")
TEXTS = _CATALOGUE["texts"]  # headings, captions, notes
CLASS_TITLES = _CATALOGUE["classes"]  # the charge classes
CHANGE_TITLES = _CATALOGUE["changes"]  # the savings' changes ({what})
DRIVER_GROUPS = _CATALOGUE["driver_groups"]  # the drivers table's groupings, in page order
COLUMNS = _CATALOGUE["columns"]  # table headings
DRIVERS_KEY = "cost_drivers"  # the drivers table's selection
DRIVER_GROUP_KEY = "cost_driver_group"  # which grouping it shows
SAVINGS_KEY = "cost_savings"
TREND_KEY = "cost_trend"
MIN_TREND_BUCKET = 3600


def say(key: str, lang: str, **values) -> str:
    return i18n.fill(TEXTS[key], lang, **values)


def title(table: i18n.Table, key: str, lang: str) -> str:
    return i18n.pick(table[key], lang)


def dollars(value: float) -> str:
    return f"${value:,.2f}" if value >= 0.01 or value == 0 else f"${value:,.4f}"


def size_text(nbytes: int) -> str:
    return f"{nbytes / GIB:,.2f} GiB"


def monthly(usd_total: float, seconds: int) -> float:
    return usd_total * MONTH_S / seconds if seconds > 0 else 0.0


def trend_bucket(seconds: int) -> int:
    from lib.traffic import bucket_for

    return max(MIN_TREND_BUCKET, bucket_for(seconds))


def classes_frame(rows: list[Mapping], lang: str) -> pd.DataFrame:
    """Every class (dearest first) with its title, GiB, dollars and exact bytes."""
    totals = per_class(rows)
    ordered_classes = sorted(CLASSES, key=lambda c: (-totals[c]["usd"], -totals[c]["bytes"],
                                                     CLASSES.index(c)))
    frame = pd.DataFrame([{"class": name, "charge": title(CLASS_TITLES, name, lang),
                           "gib": round(totals[name]["bytes"] / GIB, 3),
                           "usd": totals[name]["usd"], "bytes": totals[name]["bytes"]}
                          for name in ordered_classes])
    return frame.astype({"bytes": "Int64"})


def trend_frame(rows: list[Mapping], zone: str | None, lang: str) -> pd.DataFrame:
    """Charged classes per time bucket (wall-clock time in the viewer's zone, as Traffic)."""
    from lib.traffic import wall_clock

    charged = [row for row in rows if (row.get("usd") or 0) > 0]
    frame = pd.DataFrame([{"bucket_start": row["bucket_start"],
                           "time": wall_clock(row["bucket_start"], zone),
                           "when": timeutil.format_local(row["bucket_start"], zone),
                           "class": row["class"], "charge": title(CLASS_TITLES, row["class"], lang),
                           "usd": row["usd"], "bytes": row["bytes"]} for row in charged],
                         columns=["bucket_start", "time", "when", "class", "charge", "usd",
                                  "bytes"])
    frame["time"] = pd.to_datetime(frame["time"], utc=True)
    return frame.astype({"bucket_start": "Int64", "bytes": "Int64"})


def driver_label(group: str, row: Mapping, lang: str) -> str:
    keys = COST_GROUPS[group]
    parts = [str(row.get(k)) if row.get(k) is not None else "–" for k in keys]
    return " → ".join(parts)


def drivers_frame(rows: list[Mapping], group: str, lang: str) -> pd.DataFrame:
    """The top drivers of each class: class, who, GiB, dollars and exact bytes."""
    keys = list(COST_GROUPS[group])
    frame = pd.DataFrame([{"class": row["class"], "charge": title(CLASS_TITLES, row["class"], lang),
                           "driver": driver_label(group, row, lang),
                           **{k: row.get(k) for k in keys},
                           "gib": round(row["bytes"] / GIB, 3), "usd": row["usd"],
                           "bytes": row["bytes"]} for row in rows],
                         columns=["class", "charge", "driver", *keys, "gib", "usd", "bytes"])
    return frame.astype({"bytes": "Int64"})


def change_text(row: Mapping, lang: str) -> str:
    what = (row.get("service") if row["change"] != "co-locate"
            else f"{row.get('address_a')} ↔ {row.get('address_b')}")
    return title(CHANGE_TITLES, row["change"], lang).format(what=what)


def savings_frame(rows: list[Mapping], lang: str) -> pd.DataFrame:
    columns = ["change", "what", "vpc", "gib", "usd_saved", "bytes", "service", "address_a",
               "address_b"]
    frame = pd.DataFrame([{**{k: row.get(k) for k in columns if k in row},
                           "what": change_text(row, lang), "gib": round(row["bytes"] / GIB, 3)}
                          for row in rows], columns=columns)
    return frame.astype({"bytes": "Int64"})


def unknown_sources(rows: list[Mapping]) -> list[dict]:
    """Where the unclassifiable bytes were stored (cost rows grouped by "log")."""
    return sorted((dict(row) for row in rows if row["class"] == "unknown" and row["bytes"]),
                  key=lambda row: -row["bytes"])


def unknown_lines(rows: list[Mapping], lang: str) -> list[str]:
    return [say("unknown-row", lang, account=row["log_account"], region=row["log_region"],
                vpc=row.get("vpc_id") or say("no-vpc", lang), size=size_text(row["bytes"]))
            for row in unknown_sources(rows)]


def show_columns(frame: pd.DataFrame, lang: str) -> pd.DataFrame:
    """The frame with its column headers in the page's language."""
    return frame.rename(columns={k: title(COLUMNS, k, lang) for k in COLUMNS if k in frame})


def driver_drill(filters, group: str, row: Mapping) -> dict[str, str] | None:
    """Search filters for a driver's records (None for AWS services: Search has no filter)."""
    changes = {}
    if group in ("pair", "src"):
        changes["src"] = parse_network(str(row["srcaddr"]))
    if group in ("pair", "dst"):
        changes["dst"] = parse_network(str(row["dstaddr"]))
    if group == "interface":
        changes["interface_ids"] = (str(row["interface_id"]),)
    if group == "vpc" and row.get("vpc_id"):
        changes["vpc_ids"] = (str(row["vpc_id"]),)
    if group == "account":
        changes["accounts"] = (str(row["log_account"]),)
    if not changes:
        return None
    return to_params(filters.with_(**changes))


def savings_drill(filters, row: Mapping) -> dict[str, str] | None:
    if row["change"] == "co-locate":
        return to_params(filters.with_(src=parse_network(str(row["address_a"])),
                                       dst=parse_network(str(row["address_b"]))))
    if row.get("vpc"):
        return to_params(filters.with_(vpc_ids=(str(row["vpc"]),)))
    return None


def trend_drill(filters, bucket: int, point: Mapping) -> dict[str, str]:
    start = int(point["bucket_start"])
    return to_params(filters.with_(start=max(filters.start, start),
                                   end=min(filters.end, start + bucket)))


def picked_rows(frame: pd.DataFrame, selection_state) -> Mapping | None:
    from lib.traffic import picked_row

    row = picked_row(selection_state)
    if row is None or row >= len(frame):
        return None
    return frame.iloc[row].to_dict()
