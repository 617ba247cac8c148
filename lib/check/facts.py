"""Connection check, the facts and the decision: did traffic from A to B on port P get through, and where was it stopped?

``judge(rows, spec)`` is a pure function from flow log records (rows of the ``check`` query
kind, which reads both directions of the conversation in one query) to a ``Verdict``: a
code, a one-sentence message (English or Japanese), the reasons it was chosen, and the
evidence (counts, bytes, first/last seen per direction, interfaces, record keys).

How records are read:

* A request goes src in A -> dst in B (dstport in P); a response B -> A (srcport in P).
  Protocols without ports (ICMP) are matched on addresses only.
* Which interface logged a record (the source's or the destination's) decides where a
  REJECT happened. ``flow-direction`` (v5+) says it directly; otherwise the interface's own
  address is inferred (``infer_owners``): a flow accepted on one interface and rejected on
  another was sent by the accepting one; an address shared by all of an interface's records
  while the other side varies is its own; an interface's IPv4 address is private; and once
  one interface of a pair is known, the other owns the other address.
* Security groups are stateful (a response to an allowed request is always allowed), network
  ACLs are not: a rejected response means a network ACL without a rule for the return
  traffic on the client's ephemeral ports.
* tcp-flags are OR-ed over the capture window: SYN (2) without a SYN-ACK (18) back means the
  destination did not answer; RST (4) back without SYN-ACK means it refused.
* Flow logs are delivered 5-10 minutes late: a window reaching into the last 15 minutes is
  said to be possibly incomplete.
"""

from __future__ import annotations

import ipaddress
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from lib import glossary, health, iputil, timeutil
from lib.filters import (
    Filters,
    InvalidFilters,
    InvalidValue,
    IPNetwork,
    PortRange,
    parse_filters,
    to_params,
)
from lib.glossary import SYN_ACK
from lib.query import Query, Scope

REQUEST, RESPONSE = "request", "response"
# The side of the conversation an interface is on (its own address is the source's or
# the destination's).
SIDE_SOURCE, SIDE_DESTINATION, SIDE_UNKNOWN = "source", "destination", "unknown"
CHECK_LIMIT = 10_000  # records read at most (newest first)
RECENT_S = 15 * 60  # flow logs arrive 5-10 minutes late
PROOF_KEYS = 20  # record keys listed per proof group
SYN, RST = glossary.TCP_FLAG_BITS["SYN"], glossary.TCP_FLAG_BITS["RST"]
INPUT_KEYS = ("start", "end", "account", "region", "src", "dst", "dst_port", "protocol")
_INTERNAL_V4 = [ipaddress.ip_network(n) for n in
                ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10")]
_ULA = ipaddress.ip_network("fc00::/7")


# --- what is checked ---------------------------------------------------------------------

@dataclass(frozen=True)
class CheckSpec:
    src: IPNetwork
    dst: IPNetwork
    ports: tuple[PortRange, ...] = ()  # destination ports; () = any
    protocols: tuple[int, ...] = ()  # () = any
    start: int = 0
    end: int = 0

    @classmethod
    def from_filters(cls, f: Filters) -> CheckSpec:
        return cls(f.src, f.dst, f.dst_ports, f.protocols, f.start, f.end)

    @property
    def port_ranges(self) -> tuple[PortRange, ...]:
        """The ports that select records: none for protocols without ports (ICMP), as in
        the query (lib.query.two_way_predicates)."""
        if self.protocols and not set(self.protocols) & glossary.PORT_PROTOCOLS:
            return ()
        return self.ports

    @property
    def ports_ignored(self) -> bool:
        return bool(self.ports) and not self.port_ranges


def parse_check(raw: Mapping[str, object]) -> Filters:
    """Validated check inputs (keys as in filters.KEYS); source and destination are required.
    Raises InvalidFilters naming every bad key."""
    errors = {key: InvalidValue("required-address") for key in ("src", "dst")
              if not str(raw.get(key) or "").strip()}
    try:
        filters = parse_filters({key: raw.get(key) for key in INPUT_KEYS})
    except InvalidFilters as invalid:
        errors = {**invalid.problems, **errors}
    if errors:
        order = {key: i for i, key in enumerate(INPUT_KEYS)}
        raise InvalidFilters(dict(sorted(errors.items(), key=lambda kv: order.get(kv[0], 99))))
    return filters


def check_query(filters: Filters, scope: Scope, limit: int = CHECK_LIMIT) -> Query:
    """One query for both directions' records, within the user's scope."""
    return Query("check", filters, scope=scope, limit=limit)


# --- reading records -----------------------------------------------------------------------

@dataclass(frozen=True)
class Seen:
    """One record of the conversation, with its direction."""

    row: dict
    direction: str  # request | response

    @property
    def a_addr(self) -> str:  # the A side (source of the requests)
        return self.row["srcaddr"] if self.direction == REQUEST else self.row["dstaddr"]

    @property
    def b_addr(self) -> str:
        return self.row["dstaddr"] if self.direction == REQUEST else self.row["srcaddr"]

    @property
    def interface(self) -> str:
        return self.row.get("interface_id") or "-"

    @property
    def action(self) -> str | None:
        return self.row.get("action")

    @property
    def flow(self) -> tuple:
        r = self.row
        return (self.direction, r["srcaddr"], r["dstaddr"], r.get("srcport"), r.get("dstport"),
                r.get("protocol"))


def _ip(text):
    try:
        return iputil.parse_address(text)
    except ValueError:
        return None


def _in_ports(port, ranges: tuple[PortRange, ...]) -> bool:
    return not ranges or (port is not None and any(lo <= port <= hi for lo, hi in ranges))


def classify(row: Mapping, spec: CheckSpec) -> Seen | None:
    """The record as a request or response of the checked conversation, or None."""
    src, dst = _ip(row.get("srcaddr")), _ip(row.get("dstaddr"))
    if src is None or dst is None or (spec.protocols and row.get("protocol") not in spec.protocols):
        return None
    ports = spec.port_ranges
    if src in spec.src and dst in spec.dst and _in_ports(row.get("dstport"), ports):
        return Seen(dict(row), REQUEST)
    if src in spec.dst and dst in spec.src and _in_ports(row.get("srcport"), ports):
        return Seen(dict(row), RESPONSE)
    return None


@dataclass(frozen=True)
class Owner:
    address: str  # the interface's own address
    how: str  # flow-direction | accept-reject | constant | private | complement


def _looks_internal(address: str) -> bool | None:
    """Whether an address can be an interface's own: IPv4 ones are private; for IPv6 (global
    addresses are normal on interfaces) only a unique-local one says anything."""
    ip = _ip(address)
    if ip is None:
        return None
    if ip.version == 4:
        return any(ip in net for net in _INTERNAL_V4)
    return True if ip in _ULA else None


def infer_owners(seen: list[Seen]) -> dict[str, Owner]:
    """Each logging interface's own address, where the records tell it (see module doc)."""
    by_interface: dict[str, list[Seen]] = defaultdict(list)
    for s in seen:
        by_interface[s.interface].append(s)
    owners: dict[str, Owner] = {}
    for interface, items in by_interface.items():
        for s in items:
            direction = s.row.get("flow_direction")
            if direction in ("ingress", "egress"):
                own = s.row["dstaddr"] if direction == "ingress" else s.row["srcaddr"]
                owners[interface] = Owner(own, "flow-direction")
                break
    _owners_from_accept_reject(seen, owners)
    for interface, items in by_interface.items():
        if interface not in owners:
            owner = _owner_from_addresses(items)
            if owner:
                owners[interface] = owner
    _owners_by_complement(by_interface, owners)
    return owners


def _owners_from_accept_reject(seen: list[Seen], owners: dict[str, Owner]) -> None:
    """A flow the receiver rejects can only have been accepted by the sender's interface."""
    by_flow: dict[tuple, list[Seen]] = defaultdict(list)
    for s in seen:
        by_flow[s.flow].append(s)
    for items in by_flow.values():
        accepted = {s.interface for s in items if s.action == "ACCEPT"}
        rejected = {s.interface for s in items if s.action == "REJECT"}
        if accepted and rejected and not accepted & rejected:
            for interface in accepted:
                owners.setdefault(interface, Owner(items[0].row["srcaddr"], "accept-reject"))
            for interface in rejected:
                owners.setdefault(interface, Owner(items[0].row["dstaddr"], "accept-reject"))


def _owner_from_addresses(items: list[Seen]) -> Owner | None:
    a_side, b_side = {s.a_addr for s in items}, {s.b_addr for s in items}
    if len(a_side) == 1 and len(b_side) > 1:
        return Owner(next(iter(a_side)), "constant")
    if len(b_side) == 1 and len(a_side) > 1:
        return Owner(next(iter(b_side)), "constant")
    if len(a_side) == 1 and len(b_side) == 1:
        a, b = next(iter(a_side)), next(iter(b_side))
        if _looks_internal(a) and _looks_internal(b) is False:
            return Owner(a, "private")
        if _looks_internal(b) and _looks_internal(a) is False:
            return Owner(b, "private")
    return None


def _owners_by_complement(by_interface: dict[str, list[Seen]], owners: dict[str, Owner]) -> None:
    """An interface logs only its own traffic: if another interface owns one address of the
    pair, this one owns the other."""
    changed = True
    while changed:
        changed = False
        for interface, items in by_interface.items():
            if interface in owners:
                continue
            taken = {o.address for i, o in owners.items() if i != interface}
            for s in items:
                pair = {s.a_addr, s.b_addr}
                if len(pair) == 2 and len(pair & taken) == 1:
                    owners[interface] = Owner(next(iter(pair - taken)), "complement")
                    changed = True
                    break


def side_of(s: Seen, owners: Mapping[str, Owner]) -> str:
    owner = owners.get(s.interface)
    if owner is None:
        return SIDE_UNKNOWN
    if owner.address == s.a_addr:
        return SIDE_SOURCE
    return SIDE_DESTINATION if owner.address == s.b_addr else SIDE_UNKNOWN


@dataclass
class Facts:
    """Everything the decision and the reasons need, computed once."""

    spec: CheckSpec
    seen: list[Seen]
    owners: dict[str, Owner]
    sides: list[str]  # per record: source | destination | unknown (whose interface logged it)
    # what the logs could not see of the source's and destination's interfaces (issue 22);
    # None: not asked (the verdict then rests on the records alone)
    coverage: health.LogCoverage | None = None

    @property
    def incomplete(self) -> bool:
        return self.coverage is not None and not self.coverage.complete

    def pick(self, direction: str | None = None, action: str | None = None,
             side: str | None = None) -> list[Seen]:
        return [s for s, sd in zip(self.seen, self.sides, strict=True)
                if (direction is None or s.direction == direction)
                and (action is None or s.action == action) and (side is None or sd == side)]

    def flows(self, direction: str) -> dict[tuple, list[Seen]]:
        out: dict[tuple, list[Seen]] = defaultdict(list)
        for s in self.seen:
            if s.direction == direction:
                out[s.flow].append(s)
        return out


def flags_of(items: Iterable[Seen]) -> int | None:
    """tcp-flags OR-ed over records; None when the format has none."""
    values = [s.row.get("tcp_flags") for s in items if s.row.get("tcp_flags") is not None]
    if not values:
        return None
    out = 0
    for v in values:
        out |= int(v)
    return out


def _refused(items: list[Seen]) -> bool:
    flags = flags_of(items)
    return flags is not None and bool(flags & RST) and flags & SYN_ACK != SYN_ACK


# Verdicts that rest on what was NOT logged: only true if the logs were complete.
ABSENCE_VERDICTS = ("no-records", "no-response")
INCOMPLETE = "incomplete-logs"


def decide(facts: Facts) -> str:
    """The verdict code: the records' verdict, unless it rests on absence while the logs of
    the source's or destination's interfaces have a gap over the window (SKIPDATA, or an
    hour without any record of their account and region): then ``incomplete-logs``."""
    code = decide_on_records(facts)
    return INCOMPLETE if code in ABSENCE_VERDICTS and facts.incomplete else code


def decide_on_records(facts: Facts) -> str:
    """The verdict the records give. A response that came back (not a reset) means
    connected, or intermittent beside rejections; otherwise the first failure on the way
    decides: the request rejected (where), then the response rejected, else no answer."""
    if not facts.seen:
        return "no-records"
    answered = [f for f in facts.flows(RESPONSE).values()
                if all(s.action == "ACCEPT" for s in f)]
    ok = [f for f in answered if not _refused(f)]
    failures = facts.pick(action="REJECT")
    if ok:
        return "intermittent" if failures else "connected"
    if answered and not failures:
        return "refused"
    rejected_requests = facts.pick(REQUEST, "REJECT")
    if rejected_requests:
        out = len(facts.pick(REQUEST, "REJECT", SIDE_SOURCE))
        inbound = len(facts.pick(REQUEST, "REJECT", SIDE_DESTINATION))
        if out or inbound:
            return "rejected-outbound" if out >= inbound else "rejected-inbound"
        return "rejected"
    if facts.pick(RESPONSE, "REJECT"):
        return "response-rejected"
    return "no-response"


# --- evidence ------------------------------------------------------------------------------

def record_key(row: Mapping) -> str:
    """A record as one line that finds it again: interface, start, addresses:ports, action."""
    def port(p):
        return "" if p is None else f":{p}"
    return (f"{row.get('interface_id') or '-'} {row.get('start')} "
            f"{row.get('srcaddr')}{port(row.get('srcport'))} -> "
            f"{row.get('dstaddr')}{port(row.get('dstport'))} "
            f"proto {row.get('protocol')} {row.get('action')}")


def counts_of(items: list[Seen]) -> dict:
    return {"accepted": sum(s.action == "ACCEPT" for s in items),
            "rejected": sum(s.action == "REJECT" for s in items)}


def _direction_evidence(facts: Facts, direction: str) -> dict:
    items = facts.pick(direction)
    starts = [s.row["start"] for s in items if s.row.get("start") is not None]
    ends = [s.row.get("end") or s.row.get("start") for s in items
            if s.row.get("start") is not None]
    flags = sorted({int(s.row["tcp_flags"]) for s in items if s.row.get("tcp_flags") is not None})
    reasons = Counter(s.row["reject_reason"] for s in items
                      if s.action == "REJECT" and s.row.get("reject_reason"))
    return {
        "records": len(items), **counts_of(items),
        "packets": sum(s.row.get("packets") or 0 for s in items),
        "bytes": sum(s.row.get("bytes") or 0 for s in items),
        "first_seen": min(starts) if starts else None,
        "last_seen": max(ends) if ends else None,
        "first_seen_utc": timeutil.iso_utc(min(starts)) if starts else None,
        "last_seen_utc": timeutil.iso_utc(max(ends)) if ends else None,
        "at_source": counts_of(facts.pick(direction, side=SIDE_SOURCE)),
        "at_destination": counts_of(facts.pick(direction, side=SIDE_DESTINATION)),
        "side_unknown": counts_of(facts.pick(direction, side=SIDE_UNKNOWN)),
        "interfaces": sorted({s.interface for s in items}),
        "tcp_flags": flags,
        "reject_reasons": dict(sorted(reasons.items())),
    }


def _interfaces(facts: Facts) -> list[dict]:
    out = {}
    for s, side in zip(facts.seen, facts.sides, strict=True):
        owner = facts.owners.get(s.interface)
        out.setdefault(s.interface, {
            "interface_id": s.interface, "account": s.row.get("log_account"),
            "region": s.row.get("log_region"), "side": side,
            "address": owner.address if owner else None, "how": owner.how if owner else None})
    return sorted(out.values(), key=lambda i: (i["side"] != SIDE_SOURCE, i["side"], i["interface_id"]))


# Which record groups prove each verdict, most telling first.
_PROOF_ORDER = {
    "connected": [(RESPONSE, "ACCEPT"), (REQUEST, "ACCEPT")],
    "intermittent": [(REQUEST, "REJECT"), (RESPONSE, "REJECT"), (RESPONSE, "ACCEPT"),
                     (REQUEST, "ACCEPT")],
    "refused": [(RESPONSE, "ACCEPT"), (REQUEST, "ACCEPT")],
    "rejected-outbound": [(REQUEST, "REJECT"), (REQUEST, "ACCEPT")],
    "rejected-inbound": [(REQUEST, "REJECT"), (REQUEST, "ACCEPT")],
    "rejected": [(REQUEST, "REJECT"), (REQUEST, "ACCEPT")],
    "response-rejected": [(RESPONSE, "REJECT"), (REQUEST, "ACCEPT"), (RESPONSE, "ACCEPT")],
    "no-response": [(REQUEST, "ACCEPT")],
    "no-records": [],
}


def search_filters(facts_spec: CheckSpec, items: list[Seen], direction: str, action: str
                   ) -> dict[str, str]:
    """Search filters (URL/sidebar keys) showing exactly these records' kind."""
    spec = facts_spec
    starts = [s.row["start"] for s in items]
    request = direction == REQUEST
    filters = Filters(
        start=min(starts), end=max(starts) + 1,
        src=spec.src if request else spec.dst, dst=spec.dst if request else spec.src,
        dst_ports=spec.port_ranges if request else (),
        src_ports=() if request else spec.port_ranges,
        protocols=tuple(sorted({s.row["protocol"] for s in items
                                if s.row.get("protocol") is not None})),
        action=action, interface_ids=tuple(sorted({s.interface for s in items
                                                   if s.interface != "-"})))
    params = to_params(filters)
    params.update(src=network_text(filters.src), dst=network_text(filters.dst))
    return params


def _proof(code: str, facts: Facts) -> list[dict]:
    if code == INCOMPLETE:  # the records that do exist prove what they show
        code = decide_on_records(facts)
    groups = []
    for direction, action in _PROOF_ORDER[code]:
        items = facts.pick(direction, action)
        if items:
            groups.append({"direction": direction, "action": action, "records": len(items),
                           "keys": [record_key(s.row) for s in items[:PROOF_KEYS]],
                           "search": search_filters(facts.spec, items, direction, action)})
    return groups


def evidence_of(code: str, facts: Facts, truncated: bool) -> dict:
    spec = facts.spec
    return {
        "check": {"src": network_text(spec.src), "dst": network_text(spec.dst),
                  "dst_port": ",".join(f"{lo}" if lo == hi else f"{lo}-{hi}"
                                       for lo, hi in spec.port_ranges) or None,
                  "protocols": list(spec.protocols),
                  "start": spec.start, "end": spec.end,
                  "start_utc": timeutil.iso_utc(spec.start), "end_utc": timeutil.iso_utc(spec.end)},
        "records": len(facts.seen), "truncated": truncated,
        "request": _direction_evidence(facts, REQUEST),
        "response": _direction_evidence(facts, RESPONSE),
        "interfaces": _interfaces(facts),
        "proof": _proof(code, facts),
        **_coverage_evidence(code, facts),
    }


def _coverage_evidence(code: str, facts: Facts) -> dict:
    """The gaps (issue 22): SKIPDATA intervals of the checked interfaces and hours without
    records of their accounts and regions; with incomplete-logs, the records' own verdict."""
    if facts.coverage is None:
        return {}
    c = facts.coverage
    out = {"gaps": [{"interface_id": g.interface_id, "side": c.side_of(g.interface_id),
                     "account": g.account, "region": g.region, "status": g.status,
                     "start": g.start, "end": g.end, "start_utc": timeutil.iso_utc(g.start),
                     "end_utc": timeutil.iso_utc(g.end), "records": g.records} for g in c.gaps],
           "missing_hours": [{"account": m.account, "region": m.region, "start": m.start,
                              "end": m.end, "start_utc": timeutil.iso_utc(m.start),
                              "end_utc": timeutil.iso_utc(m.end)} for m in c.missing]}
    if code == INCOMPLETE:
        out["records_show"] = decide_on_records(facts)
    return out


# --- what the logs could not see (issue 22) ----------------------------------------------------

def single_addresses(spec: CheckSpec) -> tuple[str, ...]:
    """The checked addresses whose interfaces the owners query can find (not networks)."""
    return tuple(network_text(n) for n in (spec.src, spec.dst) if n.num_addresses == 1)


def context_queries(filters: Filters, scope: Scope) -> dict[str, Query]:
    """The queries beside the check's own that tell whether its logs were complete: run
    them together with ``check_query`` and give their rows to ``judge(context=...)``."""
    return health.check_context_queries(filters, scope, single_addresses(CheckSpec.from_filters(filters)))


def coverage_of(facts: Facts, context: Mapping[str, list[dict]]) -> health.LogCoverage:
    """The checked interfaces (from the records' sides, then the owners query) and what
    their logs could not see over the window."""
    spec = facts.spec
    known = [health.Interface(s.interface, side, s.row.get("log_account"), s.row.get("log_region"))
             for s, side in zip(facts.seen, facts.sides, strict=True)
             if side in (SIDE_SOURCE, SIDE_DESTINATION) and s.interface != "-"]

    def inside(network):
        return lambda address: (_ip(address) or _NOWHERE) in network

    known += health.owner_interfaces(context.get("owners") or [], inside(spec.src), inside(spec.dst))
    return health.coverage(known, context.get("gaps") or [], context.get("hours") or [],
                           spec.start, spec.end)


_NOWHERE = ipaddress.ip_address("0.0.0.0")  # noqa: S104 - an address no network holds, not a bind


def network_text(network: IPNetwork) -> str:
    return str(network.network_address) if network.num_addresses == 1 else str(network)
