"""Connection check: did traffic from A to B on port P get through, and where was it stopped?

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
import json
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from lib import glossary, iputil, timeutil
from lib.filters import Filters, InvalidFilters, IPNetwork, PortRange, parse_filters, to_params
from lib.query import Query, Scope

REQUEST, RESPONSE = "request", "response"
# The side of the conversation an interface is on (its own address is the source's or
# the destination's).
SIDE_SOURCE, SIDE_DESTINATION, SIDE_UNKNOWN = "source", "destination", "unknown"
CHECK_LIMIT = 10_000  # records read at most (newest first)
RECENT_S = 15 * 60  # flow logs arrive 5-10 minutes late
PROOF_KEYS = 20  # record keys listed per proof group
SYN, RST, SYN_ACK = glossary.TCP_FLAG_BITS["SYN"], glossary.TCP_FLAG_BITS["RST"], glossary.SYN_ACK
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
    errors = {key: "required: an IP address or CIDR" for key in ("src", "dst")
              if not str(raw.get(key) or "").strip()}
    try:
        filters = parse_filters({key: raw.get(key) for key in INPUT_KEYS})
    except InvalidFilters as invalid:
        errors = {**invalid.errors, **errors}
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


# --- the verdict ---------------------------------------------------------------------------

@dataclass
class Verdict:
    code: str
    message: str
    reasons: list[str]
    evidence: dict
    lang: str = "en"

    def to_json(self) -> dict:
        """What the command line prints."""
        return {"verdict": self.code, "message": self.message, "reasons": self.reasons,
                "evidence": self.evidence}


@dataclass
class _Facts:
    """Everything the decision and the reasons need, computed once."""

    spec: CheckSpec
    seen: list[Seen]
    owners: dict[str, Owner]
    sides: list[str]  # per record: source | destination | unknown (whose interface logged it)

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


def _flags(items: Iterable[Seen]) -> int | None:
    """tcp-flags OR-ed over records; None when the format has none."""
    values = [s.row.get("tcp_flags") for s in items if s.row.get("tcp_flags") is not None]
    if not values:
        return None
    out = 0
    for v in values:
        out |= int(v)
    return out


def _refused(items: list[Seen]) -> bool:
    flags = _flags(items)
    return flags is not None and bool(flags & RST) and flags & SYN_ACK != SYN_ACK


def decide(facts: _Facts) -> str:
    """The verdict code. A response that came back (not a reset) means connected, or
    intermittent beside rejections; otherwise the first failure on the way decides: the
    request rejected (where), then the response rejected, else no answer."""
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


def judge(rows: Iterable[Mapping], spec: CheckSpec, lang: str = "en", now: int | None = None,
          zone: str | None = None, limit: int | None = None) -> Verdict:
    """The verdict on rows of the ``check`` query (``Result.rows()``). ``now`` (epoch) makes
    the late-delivery note possible; ``zone`` is for times in the reasons; ``limit`` is the
    query's row limit (a full result means older records may be missing)."""
    rows = list(rows)
    seen = [s for s in (classify(r, spec) for r in rows) if s is not None]
    owners = infer_owners(seen)
    facts = _Facts(spec, seen, owners, [side_of(s, owners) for s in seen])
    code = decide(facts)
    words = _Words(lang, spec, zone)
    reasons = _reasons(code, facts, words, now, truncated=limit is not None and len(rows) >= limit)
    evidence = _evidence(code, facts, truncated=limit is not None and len(rows) >= limit)
    return Verdict(code, words.say("message-" + code), reasons, evidence, lang)


# --- evidence ------------------------------------------------------------------------------

def record_key(row: Mapping) -> str:
    """A record as one line that finds it again: interface, start, addresses:ports, action."""
    def port(p):
        return "" if p is None else f":{p}"
    return (f"{row.get('interface_id') or '-'} {row.get('start')} "
            f"{row.get('srcaddr')}{port(row.get('srcport'))} -> "
            f"{row.get('dstaddr')}{port(row.get('dstport'))} "
            f"proto {row.get('protocol')} {row.get('action')}")


def _counts(items: list[Seen]) -> dict:
    return {"accepted": sum(s.action == "ACCEPT" for s in items),
            "rejected": sum(s.action == "REJECT" for s in items)}


def _direction_evidence(facts: _Facts, direction: str) -> dict:
    items = facts.pick(direction)
    starts = [s.row["start"] for s in items if s.row.get("start") is not None]
    ends = [s.row.get("end") or s.row.get("start") for s in items
            if s.row.get("start") is not None]
    flags = sorted({int(s.row["tcp_flags"]) for s in items if s.row.get("tcp_flags") is not None})
    reasons = Counter(s.row["reject_reason"] for s in items
                      if s.action == "REJECT" and s.row.get("reject_reason"))
    return {
        "records": len(items), **_counts(items),
        "packets": sum(s.row.get("packets") or 0 for s in items),
        "bytes": sum(s.row.get("bytes") or 0 for s in items),
        "first_seen": min(starts) if starts else None,
        "last_seen": max(ends) if ends else None,
        "first_seen_utc": timeutil.iso_utc(min(starts)) if starts else None,
        "last_seen_utc": timeutil.iso_utc(max(ends)) if ends else None,
        "at_source": _counts(facts.pick(direction, side=SIDE_SOURCE)),
        "at_destination": _counts(facts.pick(direction, side=SIDE_DESTINATION)),
        "side_unknown": _counts(facts.pick(direction, side=SIDE_UNKNOWN)),
        "interfaces": sorted({s.interface for s in items}),
        "tcp_flags": flags,
        "reject_reasons": dict(sorted(reasons.items())),
    }


def _interfaces(facts: _Facts) -> list[dict]:
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
    params.update(src=_network_text(filters.src), dst=_network_text(filters.dst))
    return params


def _proof(code: str, facts: _Facts) -> list[dict]:
    groups = []
    for direction, action in _PROOF_ORDER[code]:
        items = facts.pick(direction, action)
        if items:
            groups.append({"direction": direction, "action": action, "records": len(items),
                           "keys": [record_key(s.row) for s in items[:PROOF_KEYS]],
                           "search": search_filters(facts.spec, items, direction, action)})
    return groups


def _evidence(code: str, facts: _Facts, truncated: bool) -> dict:
    spec = facts.spec
    return {
        "check": {"src": _network_text(spec.src), "dst": _network_text(spec.dst),
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
    }


# --- words ---------------------------------------------------------------------------------

_TEXTS: dict[str, dict[str, str]] = {
    "message-connected": {
        "en": "Connected: traffic from {src} to {dst} on {service} got through, and the "
              "responses came back.",
        "ja": "接続できています: {src} から {dst} への {service} の通信は届き、応答も戻って"
              "います。"},
    "message-intermittent": {
        "en": "Sometimes connected: some traffic from {src} to {dst} on {service} got through "
              "and some was rejected.",
        "ja": "一部のみ接続: {src} から {dst} への {service} の通信には、届いたものと"
              "拒否されたものがあります。"},
    "message-refused": {
        "en": "Refused by the destination host: {dst} answered the requests from {src} on "
              "{service} with a reset: nothing listens there, or the host refuses.",
        "ja": "宛先ホストが拒否: {dst} は {src} からの {service} の要求にリセットで応答"
              "しました。待ち受けているサービスがないか、ホストが拒否しています。"},
    "message-rejected-outbound": {
        "en": "Blocked leaving the source: requests from {src} to {dst} on {service} were "
              "rejected on the source's network interface on the way out.",
        "ja": "送信元で遮断: {src} から {dst} への {service} の要求は、送信元のネットワーク"
              "インターフェイスで送信時に拒否されました。"},
    "message-rejected-inbound": {
        "en": "Blocked at the destination: requests from {src} to {dst} on {service} reached "
              "the destination's network interface and were rejected on the way in.",
        "ja": "宛先で遮断: {src} から {dst} への {service} の要求は宛先のネットワーク"
              "インターフェイスに届きましたが、受信時に拒否されました。"},
    "message-rejected": {
        "en": "Blocked: requests from {src} to {dst} on {service} were rejected; the records "
              "do not show whether leaving the source or entering the destination.",
        "ja": "遮断: {src} から {dst} への {service} の要求は拒否されました。送信元での送信時か"
              "宛先での受信時かは、記録からは判断できません。"},
    "message-response-rejected": {
        "en": "Responses blocked: requests from {src} to {dst} on {service} were allowed, but "
              "the responses were rejected on the way back.",
        "ja": "応答が遮断: {src} から {dst} への {service} の要求は許可されましたが、"
              "戻りの応答が拒否されました。"},
    "message-no-response": {
        "en": "No answer: requests from {src} to {dst} on {service} were allowed, but no "
              "response came back.",
        "ja": "応答なし: {src} から {dst} への {service} の要求は許可されましたが、"
              "応答が戻っていません。"},
    "message-no-records": {
        "en": "No records: no traffic between {src} and {dst} on {service} was logged in this "
              "time range.",
        "ja": "記録なし: この期間に {src} と {dst} の間の {service} の通信は記録されて"
              "いません。"},
    "count-request": {
        "en": "{n} request record(s) from {src} to {dst}: {accepted} accepted, {rejected} "
              "rejected, {bytes} bytes, first seen {first}, last seen {last}.",
        "ja": "{src} から {dst} への要求の記録 {n} 件: 許可 {accepted} 件、拒否 {rejected} 件、"
              "{bytes} バイト、最初 {first}、最後 {last}。"},
    "count-response": {
        "en": "{n} response record(s) from {dst} back to {src}: {accepted} accepted, "
              "{rejected} rejected, {bytes} bytes, first seen {first}, last seen {last}.",
        "ja": "{dst} から {src} への応答の記録 {n} 件: 許可 {accepted} 件、拒否 {rejected} 件、"
              "{bytes} バイト、最初 {first}、最後 {last}。"},
    "no-requests": {
        "en": "No request records from {src} to {dst}: the requests may have been sent before "
              "the time range (a long-lived connection).",
        "ja": "{src} から {dst} への要求の記録はありません。期間より前に始まった長い接続の"
              "可能性があります。"},
    "no-responses": {
        "en": "No response records from {dst} back to {src} in this time range.",
        "ja": "この期間に {dst} から {src} への応答の記録はありません。"},
    "handshake": {
        "en": "The responses carry SYN-ACK (tcp-flags {flags}): the destination accepted the "
              "connections.",
        "ja": "応答に SYN-ACK があります (tcp-flags {flags})。宛先は接続を受け入れています。"},
    "rst": {
        "en": "The responses carry RST and no SYN-ACK (tcp-flags {flags}): the host at {dst} "
              "refused the connections; check that the service runs and listens on this port.",
        "ja": "応答に RST があり SYN-ACK がありません (tcp-flags {flags})。{dst} のホストが接続を"
              "拒否しました。サービスが起動してこのポートで待ち受けているか確認してください。"},
    "rejected-at-source": {
        "en": "{n} request record(s) were rejected on the source's interface ({interfaces}) "
              "on the way out: check the outbound rules of the source's security group and "
              "of its subnet's network ACL for {service} to {dst}.",
        "ja": "要求の記録 {n} 件が送信元のインターフェイス ({interfaces}) で送信時に拒否"
              "されました。送信元のセキュリティグループとサブネットのネットワーク ACL の"
              "アウトバウンドルールで、{dst} への {service} が許可されているか確認してください。"},
    "rejected-at-destination": {
        "en": "{n} request record(s) were rejected on the destination's interface "
              "({interfaces}) on the way in: check the inbound rules of the destination's "
              "security group and of its subnet's network ACL for {service} from {src}.",
        "ja": "要求の記録 {n} 件が宛先のインターフェイス ({interfaces}) で受信時に拒否"
              "されました。宛先のセキュリティグループとサブネットのネットワーク ACL の"
              "インバウンドルールで、{src} からの {service} が許可されているか確認してください。"},
    "rejected-side-unknown": {
        "en": "{n} request record(s) were rejected on {interfaces}. This flow log's format has "
              "no flow-direction and the records do not show which address is the interface's "
              "own, so check the source's outbound and the destination's inbound rules "
              "(security groups and network ACLs).",
        "ja": "要求の記録 {n} 件が {interfaces} で拒否されました。このフローログの形式には "
              "flow-direction がなく、どちらのアドレスがインターフェイス自身のものか記録から"
              "分からないため、送信元のアウトバウンドと宛先のインバウンドのルール"
              "（セキュリティグループとネットワーク ACL）を確認してください。"},
    "accepted-at-source": {
        "en": "The same requests were accepted leaving the source's interface ({interfaces}).",
        "ja": "同じ要求は送信元のインターフェイス ({interfaces}) では送信を許可されています。"},
    "stateful": {
        "en": "Security groups are stateful: they always let the response to an allowed request "
              "back. A rejected response therefore points to a network ACL, which is stateless "
              "and needs its own rule for the return traffic.",
        "ja": "セキュリティグループはステートフルで、許可された要求への応答は必ず通します。"
              "そのため応答の拒否はネットワーク ACL を示しています。ネットワーク ACL は"
              "ステートレスで、戻りの通信にも専用のルールが必要です。"},
    "nacl-destination": {
        "en": "The responses were rejected leaving the destination's interface ({interfaces}): "
              "the network ACL of the destination's subnet needs an outbound rule allowing "
              "{protocol} to {src} on ephemeral ports 1024-65535 (seen: {ports}).",
        "ja": "応答は宛先のインターフェイス ({interfaces}) から出るときに拒否されました。"
              "宛先サブネットのネットワーク ACL に、{src} へのエフェメラルポート 1024-65535 "
              "の {protocol} を許可するアウトバウンドルールが必要です（記録上のポート: {ports}）。"},
    "nacl-source": {
        "en": "The responses were rejected arriving at the source's interface ({interfaces}): "
              "the network ACL of the source's subnet needs an inbound rule allowing "
              "{protocol} from {dst} on ephemeral ports 1024-65535 (seen: {ports}).",
        "ja": "応答は送信元のインターフェイス ({interfaces}) に入るときに拒否されました。"
              "送信元サブネットのネットワーク ACL に、{dst} からのエフェメラルポート "
              "1024-65535 の {protocol} を許可するインバウンドルールが必要です"
              "（記録上のポート: {ports}）。"},
    "nacl-unknown": {
        "en": "The responses were rejected on {interfaces}: a network ACL on the source's or "
              "the destination's subnet lacks a rule for the return traffic on ephemeral ports "
              "1024-65535 (seen: {ports}).",
        "ja": "応答は {interfaces} で拒否されました。送信元または宛先のサブネットのネットワーク "
              "ACL に、エフェメラルポート 1024-65535 の戻りの通信を許可するルールがありません"
              "（記録上のポート: {ports}）。"},
    "syn-only": {
        "en": "The requests carry SYN (tcp-flags {flags}) and no SYN-ACK came back: connections "
              "were being opened and the destination did not answer.",
        "ja": "要求には SYN があり (tcp-flags {flags})、SYN-ACK が戻っていません。接続を"
              "開こうとしましたが、宛先が応答していません。"},
    "no-flags": {
        "en": "This flow log's format has no tcp-flags, so it cannot show the TCP handshake; "
              "only the missing response records tell that nothing came back.",
        "ja": "このフローログの形式には tcp-flags がないため TCP のハンドシェイクは分かりません。"
              "応答の記録がないことから、何も戻っていないと判断しています。"},
    "reached-destination": {
        "en": "The requests were accepted into the destination's interface ({interfaces}), so "
              "the network let them through: the service on {dst} is down, does not listen "
              "on this port, or a firewall on the host drops the requests.",
        "ja": "要求は宛先のインターフェイス ({interfaces}) で受信を許可されており、ネットワーク"
              "は通しています。{dst} のサービスが停止している、このポートで待ち受けていない、"
              "またはホスト上のファイアウォールが要求を破棄している可能性があります。"},
    "left-source-only": {
        "en": "The requests left the source's interface ({interfaces}) and nothing was logged "
              "at the destination: it is outside the logged networks (internet, on-premises, "
              "another account) and did not answer, or the traffic was lost on the way "
              "(routing, a firewall appliance).",
        "ja": "要求は送信元のインターフェイス ({interfaces}) から送信されましたが、宛先側の記録は"
              "ありません。宛先が記録対象外のネットワーク（インターネット、オンプレミス、別の"
              "アカウント）にあって応答していないか、途中（ルーティング、ファイアウォール機器）"
              "で失われています。"},
    "accepted-side-unknown": {
        "en": "The requests were accepted on {interfaces} and nothing came back: the "
              "destination did not answer, or the responses were lost on the way.",
        "ja": "要求は {interfaces} で許可されましたが、何も戻っていません。宛先が応答して"
              "いないか、応答が途中で失われています。"},
    "connectionless": {
        "en": "{protocol} has no connections: some services (syslog, for example) never "
              "answer, so missing responses can be normal for them.",
        "ja": "{protocol} にはコネクションがありません。syslog など応答しないサービスでは、"
              "応答がないのが正常な場合もあります。"},
    "rejected-then-ok": {
        "en": "All rejections are before {time} and the traffic got through after it: a rule "
              "was probably changed then.",
        "ja": "拒否はすべて {time} より前で、その後は通信できています。その時点でルールが"
              "変更された可能性があります。"},
    "ok-then-rejected": {
        "en": "The traffic got through until {time} and was rejected after it: a rule was "
              "probably changed then.",
        "ja": "{time} までは通信できており、その後は拒否されています。その時点でルールが"
              "変更された可能性があります。"},
    "reject-reason": {
        "en": "{n} rejected record(s) have reject-reason {value}: {meaning}.",
        "ja": "拒否された記録 {n} 件の reject-reason は {value} です: {meaning}。"},
    "bpa": {
        "en": "VPC Block Public Access overrides security groups and network ACLs: check its "
              "settings and exclusions for this VPC or subnet.",
        "ja": "VPC のパブリックアクセスのブロック (BPA) はセキュリティグループやネットワーク ACL "
              "より優先されます。この VPC またはサブネットの BPA 設定と除外を確認してください。"},
    "not-logged": {
        "en": "Nothing was logged for this traffic: it may never have reached a logged network "
              "interface (a wrong address or DNS answer, a missing route, an on-premises or "
              "appliance firewall), flow logs may not be enabled on the interfaces involved, "
              "or their records are in accounts you cannot see.",
        "ja": "この通信は何も記録されていません。記録対象のネットワークインターフェイスに"
              "届いていない（アドレスや DNS の誤り、ルートの欠落、オンプレミスや機器の"
              "ファイアウォール）、関係するインターフェイスでフローログが有効でない、"
              "または閲覧できないアカウントに記録されている可能性があります。"},
    "recent": {
        "en": "The time range reaches into the last 15 minutes: flow logs are delivered 5-10 "
              "minutes after the traffic, so the latest records may not be here yet. Check "
              "again in 10 minutes.",
        "ja": "期間が直近 15 分を含んでいます。フローログは通信の 5～10 分後に届くため、"
              "最新の記録はまだない可能性があります。10 分後にもう一度確認してください。"},
    "truncated": {
        "en": "Only the newest {n} records were read; older records in the time range were "
              "left out of this verdict.",
        "ja": "新しい順に {n} 件の記録だけを読みました。期間内のそれより古い記録はこの判定に"
              "含まれていません。"},
    "ports-ignored": {
        "en": "{protocol} has no ports: the port was not used to find records.",
        "ja": "{protocol} にはポートがないため、ポートは検索に使っていません。"},
    "owner-accept-reject": {
        "en": "Interface {interface} is taken to be the {side}'s: the same flow was accepted on "
              "one interface and rejected on another, and only the sender's interface can "
              "pass a flow that the receiver rejects.",
        "ja": "インターフェイス {interface} を{side}のものと判断しました。同じフローが一方で"
              "許可され他方で拒否されており、受信側が拒否するフローを通せるのは送信側の"
              "インターフェイスだけだからです。"},
    "owner-constant": {
        "en": "Interface {interface} is taken to be the {side}'s ({address}): all its records "
              "have {address}, while the other address varies.",
        "ja": "インターフェイス {interface} を{side}のもの ({address}) と判断しました。すべての"
              "記録に {address} があり、相手のアドレスは変わっているためです。"},
    "owner-private": {
        "en": "Interface {interface} is taken to be the {side}'s ({address}): an interface's own "
              "IPv4 address is private, and the other address is not.",
        "ja": "インターフェイス {interface} を{side}のもの ({address}) と判断しました。"
              "インターフェイス自身の IPv4 アドレスはプライベートで、相手のアドレスは"
              "そうではないためです。"},
    "owner-complement": {
        "en": "Interface {interface} is taken to be the {side}'s ({address}): the other "
              "address belongs to another interface.",
        "ja": "インターフェイス {interface} を{side}のもの ({address}) と判断しました。相手の"
              "アドレスは別のインターフェイスのものだからです。"},
    "side-source": {"en": "source", "ja": "送信元"},
    "side-destination": {"en": "destination", "ja": "宛先"},
    "any-port": {"en": "any port", "ja": "全ポート"},
    "port": {"en": "port", "ja": "ポート"},
    "none": {"en": "none", "ja": "なし"},
}


class _Words:
    """Texts in one language, with the check's addresses and service filled in."""

    def __init__(self, lang: str, spec: CheckSpec, zone: str | None):
        self.lang = lang if lang in glossary.LANGS else "en"
        self.zone = zone or "UTC"
        self.common = {"src": _network_text(spec.src), "dst": _network_text(spec.dst),
                       "service": self.service(spec),
                       "protocol": "/".join(glossary.protocol_name(p) for p in spec.protocols)
                       or "TCP/UDP"}

    def say(self, key: str, **values) -> str:
        texts = _TEXTS[key]
        return (texts.get(self.lang) or texts["en"]).format(**{**self.common, **values})

    def time(self, epoch: int | None) -> str:
        return timeutil.format_local(epoch, self.zone) or "-"

    def service(self, spec: CheckSpec) -> str:
        protocols = "/".join(glossary.protocol_name(p) for p in spec.protocols)
        ports = spec.port_ranges
        if not ports:
            return protocols or _TEXTS["any-port"][self.lang]
        text = ",".join(str(lo) if lo == hi else f"{lo}-{hi}" for lo, hi in ports)
        named = (glossary.port_service(ports[0][0], spec.protocols[0] if spec.protocols else None)
                 if len(ports) == 1 and ports[0][0] == ports[0][1] else None)
        words = f"{protocols} " if protocols else ""
        return f"{words}{_TEXTS['port'][self.lang]} {text}" + (f" ({named})" if named else "")


def _network_text(network: IPNetwork) -> str:
    return str(network.network_address) if network.num_addresses == 1 else str(network)


def _interfaces_text(items: list[Seen]) -> str:
    names = sorted({s.interface for s in items})
    return ", ".join(names[:3]) + (f" (+{len(names) - 3})" if len(names) > 3 else "")


def _count_reasons(facts: _Facts, w: _Words) -> list[str]:
    out = []
    for direction, missing in ((REQUEST, "no-requests"), (RESPONSE, "no-responses")):
        items = facts.pick(direction)
        if not items:
            out.append(w.say(missing))
            continue
        out.append(w.say(
            "count-" + direction, n=len(items), **_counts(items),
            bytes=f"{sum(s.row.get('bytes') or 0 for s in items):,}",
            first=w.time(min(s.row["start"] for s in items)),
            last=w.time(max(s.row.get("end") or s.row["start"] for s in items))))
    return out


def _rejected_request_reasons(facts: _Facts, w: _Words) -> list[str]:
    out = []
    for side, key in ((SIDE_SOURCE, "rejected-at-source"), (SIDE_DESTINATION, "rejected-at-destination"),
                      (SIDE_UNKNOWN, "rejected-side-unknown")):
        items = facts.pick(REQUEST, "REJECT", side)
        if items:
            out.append(w.say(key, n=len(items), interfaces=_interfaces_text(items)))
    accepted_out = facts.pick(REQUEST, "ACCEPT", SIDE_SOURCE)
    if accepted_out and facts.pick(REQUEST, "REJECT", SIDE_DESTINATION):
        out.append(w.say("accepted-at-source", interfaces=_interfaces_text(accepted_out)))
    return out


def _response_rejected_reasons(facts: _Facts, w: _Words) -> list[str]:
    out = [w.say("stateful")]
    for side, key in ((SIDE_DESTINATION, "nacl-destination"), (SIDE_SOURCE, "nacl-source"),
                      (SIDE_UNKNOWN, "nacl-unknown")):
        items = facts.pick(RESPONSE, "REJECT", side)
        if items:
            ports = sorted({s.row.get("dstport") for s in items if s.row.get("dstport")})
            shown = ", ".join(map(str, ports[:5])) + (", …" if len(ports) > 5 else "")
            out.append(w.say(key, interfaces=_interfaces_text(items),
                             ports=shown or w.say("none")))
    return out


def _no_response_reasons(facts: _Facts, w: _Words) -> list[str]:
    requests = facts.pick(REQUEST, "ACCEPT")
    protocols = {s.row.get("protocol") for s in requests}
    out = []
    if 6 in protocols:
        flags = _flags(s for s in requests if s.row.get("protocol") == 6)
        if flags is None:
            out.append(w.say("no-flags"))
        elif flags & SYN:
            out.append(w.say("syn-only", flags=flags))
    at_destination = facts.pick(REQUEST, "ACCEPT", SIDE_DESTINATION)
    at_source = facts.pick(REQUEST, "ACCEPT", SIDE_SOURCE)
    if at_destination:
        out.append(w.say("reached-destination", interfaces=_interfaces_text(at_destination)))
    elif at_source:
        out.append(w.say("left-source-only", interfaces=_interfaces_text(at_source)))
    elif requests:
        out.append(w.say("accepted-side-unknown", interfaces=_interfaces_text(requests)))
    connectionless = sorted(p for p in protocols if p is not None and p != 6)
    if connectionless:
        out.append(w.say("connectionless",
                         protocol="/".join(glossary.protocol_name(p) for p in connectionless)))
    return out


def _change_reasons(facts: _Facts, w: _Words) -> list[str]:
    """For mixed results: whether the rejections all came before or after the successes."""
    failures = [s.row["start"] for s in facts.pick(action="REJECT")]
    successes = [s.row["start"] for s in facts.pick(RESPONSE, "ACCEPT")]
    if not failures or not successes:
        return []
    if max(failures) < min(successes):
        return [w.say("rejected-then-ok", time=w.time(min(successes)))]
    if max(successes) < min(failures):
        return [w.say("ok-then-rejected", time=w.time(max(successes)))]
    return []


def _tcp_answer_reasons(code: str, facts: _Facts, w: _Words) -> list[str]:
    tcp = [s for s in facts.pick(RESPONSE, "ACCEPT") if s.row.get("protocol") == 6]
    flags = _flags(tcp)
    if flags is None:
        return []
    if code == "refused" or (flags & RST and flags & SYN_ACK != SYN_ACK):
        return [w.say("rst", flags=flags)]
    return [w.say("handshake", flags=flags)] if flags & SYN_ACK == SYN_ACK else []


def _reject_reason_reasons(facts: _Facts, w: _Words) -> list[str]:
    values = Counter(s.row["reject_reason"] for s in facts.pick(action="REJECT")
                     if s.row.get("reject_reason"))
    out = [w.say("reject-reason", n=n, value=value,
                 meaning=glossary.reject_reason_label(value, w.lang))
           for value, n in sorted(values.items())]
    if "BPA" in values:
        out.append(w.say("bpa"))
    return out


def _owner_reasons(facts: _Facts, w: _Words) -> list[str]:
    out = []
    for interface, owner in sorted(facts.owners.items()):
        if owner.how == "flow-direction":
            continue
        side = next((sd for s, sd in zip(facts.seen, facts.sides, strict=True) if s.interface == interface),
                    SIDE_UNKNOWN)
        if side != SIDE_UNKNOWN:
            out.append(w.say("owner-" + owner.how, interface=interface,
                             address=owner.address, side=w.say("side-" + side)))
    return out


def _reasons(code: str, facts: _Facts, w: _Words, now: int | None, truncated: bool
             ) -> list[str]:
    spec = facts.spec
    recent = now is not None and spec.end > now - RECENT_S
    if code == "no-records":
        out = ([w.say("recent")] if recent else []) + [w.say("not-logged")]
    else:
        out = _count_reasons(facts, w)
        if code in ("connected", "intermittent", "refused"):
            out += _tcp_answer_reasons(code, facts, w)
        if facts.pick(REQUEST, "REJECT"):
            out += _rejected_request_reasons(facts, w)
        if facts.pick(RESPONSE, "REJECT"):
            out += _response_rejected_reasons(facts, w)
        if code == "no-response":
            out += _no_response_reasons(facts, w)
        if code == "intermittent":
            out += _change_reasons(facts, w)
        out += _reject_reason_reasons(facts, w)
        if code not in ("connected", "refused"):
            out += _owner_reasons(facts, w)
        if recent and code in ("no-response", "rejected", "rejected-outbound",
                               "rejected-inbound", "response-rejected"):
            out.append(w.say("recent"))
    if spec.ports_ignored:
        out.append(w.say("ports-ignored"))
    if truncated:
        out.append(w.say("truncated", n=f"{len(facts.seen):,}"))
    return out


# --- timeline --------------------------------------------------------------------------------

_BUCKETS = (60, 300, 600, 900, 1800, 3600, 3 * 3600, 6 * 3600, 12 * 3600, 86400)


def bucket_for(span_s: int, bars: int = 60) -> int:
    """A round bucket size giving at most about ``bars`` bars over the span."""
    return next((b for b in _BUCKETS if span_s / b <= bars), _BUCKETS[-1])


def timeline_rows(rows: Iterable[Mapping], spec: CheckSpec, bucket: int | None = None
                  ) -> list[dict]:
    """Records per (bucket, direction, action): the numbers behind the timeline chart."""
    bucket = bucket or bucket_for(max(spec.end - spec.start, 1))
    totals: dict[tuple, list[int]] = defaultdict(lambda: [0, 0])
    for row in rows:
        s = classify(row, spec)
        if s is None or s.action not in ("ACCEPT", "REJECT") or row.get("start") is None:
            continue
        key = (row["start"] - row["start"] % bucket, s.direction, s.action)
        totals[key][0] += 1
        totals[key][1] += row.get("bytes") or 0
    return [{"bucket_start": t, "direction": d, "action": a, "records": n, "bytes": b}
            for (t, d, a), (n, b) in sorted(totals.items())]


def _wall_clock(epochs, zone: str):
    """Local wall-clock times, to be drawn as UTC so that the browser does not shift them."""
    import pandas as pd

    return pd.to_datetime(pd.Series(epochs, dtype="int64"), unit="s", utc=True).dt.tz_convert(
        timeutil.zone(zone)).dt.tz_localize(None)


_DIRECTION_LABELS = {REQUEST: {"en": "requests (A → B)", "ja": "要求 (A → B)"},
                     RESPONSE: {"en": "responses (B → A)", "ja": "応答 (B → A)"}}


def timeline_frame(timeline: list[dict], zone: str | None = None, lang: str = "en"):
    """timeline_rows as the chart draws them: wall-clock times, directions in words."""
    import pandas as pd

    frame = pd.DataFrame(timeline, columns=["bucket_start", "direction", "action", "records",
                                            "bytes"])
    frame["time"] = _wall_clock(frame["bucket_start"], zone or "UTC")
    frame["direction"] = frame["direction"].map(
        lambda d: _DIRECTION_LABELS[d].get(lang) or _DIRECTION_LABELS[d]["en"])
    return frame


def timeline_chart(rows: Iterable[Mapping], spec: CheckSpec, zone: str | None = None,
                   lang: str = "en"):
    """The check's timeline (lib.charts.check_timeline) over its whole window."""
    from lib import charts

    zone = zone or "UTC"
    window = tuple(_wall_clock([spec.start, spec.end], zone))
    return charts.check_timeline(timeline_frame(timeline_rows(rows, spec), zone, lang), zone,
                                 window, lang)


# --- demo cases ------------------------------------------------------------------------------

def demo_cases(data_dir: str | Path) -> list[dict]:
    """The connection-check cases the demo generator wrote (``scenarios.json``), if any."""
    try:
        cases = json.loads((Path(data_dir) / "scenarios.json").read_text())
    except (OSError, ValueError):
        return []
    return [c for c in cases if isinstance(c, dict) and {"src", "dst", "start", "end"} <= set(c)]


def demo_inputs(case: Mapping) -> dict[str, str]:
    """Check inputs (raw keys) for a demo case."""
    port = "" if case.get("protocol") == 1 else str(case.get("dst_port") or "")
    return {"src": case["src"], "dst": case["dst"], "dst_port": port,
            "protocol": str(case.get("protocol") or ""),
            "start": str(case["start"] - case["start"] % 60),
            "end": str(case["end"] - case["end"] % 60 + 60)}


# --- the page's inputs and its link ------------------------------------------------------------

# Check inputs on the page: their widget keys, which are also their URL parameters (the
# sidebar's own src/dst/... filters are a different search and keep their names).
WIDGET_KEYS = {"src": "check_src", "dst": "check_dst", "dst_port": "check_port",
               "protocol": "check_protocol"}


def share_query(filters: Filters, extra: Mapping[str, str] | None = None) -> str:
    """The query string that reopens this check (times absolute, so it shows the same);
    ``extra``: other URL parameters as the page's widgets write them (language, zone).
    Times as ISO 8601 in the sharer's zone: the colleague's From/To read as times."""
    from urllib.parse import urlencode

    params = to_params(filters)
    zone_name = (extra or {}).get("tz") or None
    pairs = [(key, timeutil.format_iso(getattr(filters, key), zone_name))
             for key in ("start", "end")]
    pairs += [(key, value) for key in ("account", "region")
              for value in params.get(key, "").split(",") if value]
    params.update({key: _network_text(network) for key, network in (
        ("src", filters.src), ("dst", filters.dst)) if network is not None})
    pairs += [(widget, params[key]) for key, widget in WIDGET_KEYS.items() if key in params]
    pairs += [(key, value) for key, value in (extra or {}).items() if value]
    return urlencode(pairs)


# --- tables for the page -----------------------------------------------------------------------

_COLUMNS = {
    "en": {"direction": "Direction", "records": "Records", "accepted": "Accepted",
           "rejected": "Rejected", "at_source": "At the source's interface",
           "at_destination": "At the destination's interface", "side_unknown": "Side not known",
           "bytes": "Bytes", "packets": "Packets", "first": "First seen", "last": "Last seen",
           "interfaces": "Interfaces", "tcp_flags": "tcp-flags", "request": "requests (A → B)",
           "response": "responses (B → A)", "interface_id": "Interface", "account": "Account",
           "region": "Region", "side": "Side", "address": "Own address", "how": "Known from"},
    "ja": {"direction": "方向", "records": "記録数", "accepted": "許可", "rejected": "拒否",
           "at_source": "送信元のインターフェイス", "at_destination": "宛先のインターフェイス",
           "side_unknown": "側が不明", "bytes": "バイト", "packets": "パケット",
           "first": "最初", "last": "最後", "interfaces": "インターフェイス",
           "tcp_flags": "tcp-flags", "request": "要求 (A → B)", "response": "応答 (B → A)",
           "interface_id": "インターフェイス", "account": "アカウント", "region": "リージョン",
           "side": "側", "address": "自身のアドレス", "how": "判断の根拠"},
}


def _pair_text(counts: dict) -> str:
    return f"{counts['accepted']} ACCEPT / {counts['rejected']} REJECT"


def evidence_table(verdict: Verdict, zone: str | None = None):
    """Counts, bytes and times per direction, for people (times in the viewer's zone)."""
    import pandas as pd

    c = _COLUMNS.get(verdict.lang, _COLUMNS["en"])
    rows = []
    for direction in (REQUEST, RESPONSE):
        e = verdict.evidence[direction]
        rows.append({
            c["direction"]: c[direction], c["records"]: e["records"],
            c["accepted"]: e["accepted"], c["rejected"]: e["rejected"],
            c["at_source"]: _pair_text(e["at_source"]),
            c["at_destination"]: _pair_text(e["at_destination"]),
            c["side_unknown"]: _pair_text(e["side_unknown"]),
            c["packets"]: e["packets"], c["bytes"]: e["bytes"],
            c["first"]: timeutil.format_local(e["first_seen"], zone) or "-",
            c["last"]: timeutil.format_local(e["last_seen"], zone) or "-",
            c["tcp_flags"]: ", ".join(map(str, e["tcp_flags"])) or "-",
            c["interfaces"]: ", ".join(e["interfaces"]) or "-"})
    return pd.DataFrame(rows)


def interfaces_table(verdict: Verdict):
    import pandas as pd

    c = _COLUMNS.get(verdict.lang, _COLUMNS["en"])
    sides = {SIDE_SOURCE: _TEXTS["side-source"], SIDE_DESTINATION: _TEXTS["side-destination"]}
    rows = [{c["interface_id"]: i["interface_id"], c["account"]: i["account"],
             c["region"]: i["region"],
             c["side"]: sides[i["side"]].get(verdict.lang, sides[i["side"]]["en"])
             if i["side"] in sides else "?",
             c["address"]: i["address"] or "-", c["how"]: i["how"] or "-"}
            for i in verdict.evidence["interfaces"]]
    return pd.DataFrame(rows, columns=[c[k] for k in ("interface_id", "account", "region",
                                                      "side", "address", "how")])


_PROOF_LABELS = {
    (REQUEST, "ACCEPT"): {"en": "Accepted requests", "ja": "許可された要求"},
    (REQUEST, "REJECT"): {"en": "Rejected requests", "ja": "拒否された要求"},
    (RESPONSE, "ACCEPT"): {"en": "Accepted responses", "ja": "許可された応答"},
    (RESPONSE, "REJECT"): {"en": "Rejected responses", "ja": "拒否された応答"},
}


def proof_label(group: dict, lang: str = "en") -> str:
    texts = _PROOF_LABELS[(group["direction"], group["action"])]
    return f"{texts.get(lang) or texts['en']} ({group['records']})"
