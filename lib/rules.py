"""Which security group or network ACL blocks a flow, and the rule that would allow it
(issue 18, rule hints).

Flow logs never name the rule that rejected a packet (``reject-reason`` only says BPA or
EC). The inventory's copy of today's configuration can: ``DescribeSecurityGroups`` and
``DescribeNetworkAcls`` per account and region, kept beside the interfaces with the time
they were read. The answer is about the rules as read then, never about the rules at the
time of the flow, and the pages say so.

What AWS evaluates, in the order a request meets it:
1. the source interface's security groups, outbound (stateful: the response is allowed);
2. the source subnet's network ACL, outbound, and 3. the destination subnet's ACL, inbound
   (both skipped when the two interfaces share a subnet: an ACL filters traffic that enters
   or leaves a subnet);
4. the destination interface's security groups, inbound;
then, for the response (ACLs are stateless), the destination subnet's ACL outbound and the
source subnet's ACL inbound, to the client's ephemeral port.

Limits, said here once: ICMP type and code are not compared (a rule for any ICMP matches);
prefix-list rules are listed but not resolved (they never count as allowing); a security
group reference matches when the peer interface is in that group (same VPC or a peered one,
as AWS does).
"""

from __future__ import annotations

import ipaddress
import json
from dataclasses import asdict, dataclass, field

ALL_PROTOCOLS = -1  # "-1": every protocol (security groups and ACLs alike)
PROTOCOL_NAMES = {6: "tcp", 17: "udp", 1: "icmp", 58: "icmpv6", ALL_PROTOCOLS: "all"}
EPHEMERAL = (1024, 65535)  # AWS's advice for ACL rules that let responses back to clients
PORTED = (6, 17)  # protocols whose rules carry a port range


def protocol_of_rule(value) -> int:
    """EC2 gives "tcp", "6", "-1"…; the flow logs give 6. Names and numbers are read as the
    rest of the project reads them (lib.glossary); "-1" is EC2's "every protocol"."""
    from lib.glossary import protocol_number

    text = str(value).strip().lower()
    if text in ("-1", "all"):
        return ALL_PROTOCOLS
    number = protocol_number(text)
    if number is None:
        raise ValueError(f"not a protocol in an EC2 rule: {value!r}")
    return number


@dataclass(frozen=True)
class Permission:
    """One security group rule (an IpPermission), inbound or outbound."""
    protocol: int
    from_port: int | None = None
    to_port: int | None = None
    cidrs: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    prefix_lists: tuple[str, ...] = ()


@dataclass(frozen=True)
class SecurityGroup:
    id: str
    name: str = ""
    vpc_id: str = ""
    inbound: tuple[Permission, ...] = ()
    outbound: tuple[Permission, ...] = ()


@dataclass(frozen=True)
class AclEntry:
    number: int
    egress: bool
    protocol: int
    allow: bool
    cidr: str
    from_port: int | None = None
    to_port: int | None = None


@dataclass(frozen=True)
class NetworkAcl:
    id: str
    vpc_id: str = ""
    subnets: tuple[str, ...] = ()
    entries: tuple[AclEntry, ...] = ()


@dataclass(frozen=True)
class RuleSet:
    """Today's security groups and network ACLs of one account and region."""
    groups: tuple[SecurityGroup, ...] = ()
    acls: tuple[NetworkAcl, ...] = ()

    def group(self, group_id: str) -> SecurityGroup | None:
        return next((g for g in self.groups if g.id == group_id), None)

    def acl_of(self, subnet_id: str) -> NetworkAcl | None:
        return next((a for a in self.acls if subnet_id in a.subnets), None)

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> RuleSet:
        data = json.loads(text)
        groups = tuple(SecurityGroup(
            g["id"], g["name"], g["vpc_id"],
            tuple(_permission(p) for p in g["inbound"]),
            tuple(_permission(p) for p in g["outbound"])) for g in data["groups"])
        acls = tuple(NetworkAcl(a["id"], a["vpc_id"], tuple(a["subnets"]),
                                tuple(AclEntry(**e) for e in a["entries"])) for a in data["acls"])
        return cls(groups, acls)

    def merged(self, other: RuleSet) -> RuleSet:
        return RuleSet(self.groups + other.groups, self.acls + other.acls)


def _permission(data: dict) -> Permission:
    return Permission(data["protocol"], data["from_port"], data["to_port"], tuple(data["cidrs"]),
                      tuple(data["groups"]), tuple(data["prefix_lists"]))


# --- reading EC2 ---------------------------------------------------------------------------

def _permissions(items: list[dict]) -> tuple[Permission, ...]:
    return tuple(Permission(
        protocol=protocol_of_rule(p.get("IpProtocol", "-1")),
        from_port=p.get("FromPort"), to_port=p.get("ToPort"),
        cidrs=tuple([r["CidrIp"] for r in p.get("IpRanges") or []]
                    + [r["CidrIpv6"] for r in p.get("Ipv6Ranges") or []]),
        groups=tuple(g["GroupId"] for g in p.get("UserIdGroupPairs") or [] if g.get("GroupId")),
        prefix_lists=tuple(x["PrefixListId"] for x in p.get("PrefixListIds") or []))
        for p in items)


def _acl_entry(item: dict) -> AclEntry:
    ports = item.get("PortRange") or {}
    return AclEntry(number=int(item["RuleNumber"]), egress=bool(item["Egress"]),
                    protocol=protocol_of_rule(item.get("Protocol", "-1")),
                    allow=item.get("RuleAction") == "allow",
                    cidr=item.get("CidrBlock") or item.get("Ipv6CidrBlock") or "0.0.0.0/0",
                    from_port=ports.get("From"), to_port=ports.get("To"))


def read_rules(ec2) -> RuleSet:
    """Every security group and network ACL the client's account and region hold."""
    groups = tuple(SecurityGroup(
        id=g["GroupId"], name=g.get("GroupName") or "", vpc_id=g.get("VpcId") or "",
        inbound=_permissions(g.get("IpPermissions") or []),
        outbound=_permissions(g.get("IpPermissionsEgress") or []))
        for page in ec2.get_paginator("describe_security_groups").paginate()
        for g in page["SecurityGroups"])
    acls = tuple(NetworkAcl(
        id=a["NetworkAclId"], vpc_id=a.get("VpcId") or "",
        subnets=tuple(x["SubnetId"] for x in a.get("Associations") or []),
        entries=tuple(sorted((_acl_entry(e) for e in a.get("Entries") or []),
                             key=lambda e: e.number)))
        for page in ec2.get_paginator("describe_network_acls").paginate()
        for a in page["NetworkAcls"])
    return RuleSet(groups, acls)


# --- evaluating a flow ---------------------------------------------------------------------

@dataclass(frozen=True)
class Endpoint:
    """One side of a flow: its address and, when the inventory knows it, its interface."""
    address: str
    interface_id: str = ""
    subnet_id: str = ""
    vpc_id: str = ""
    groups: tuple[str, ...] = ()


@dataclass(frozen=True)
class Flow:
    src: Endpoint
    dst: Endpoint
    protocol: int
    dst_port: int | None = None
    src_port: int | None = None  # the client's port, when the records show it


@dataclass(frozen=True)
class Finding:
    """A security group or network ACL that does not let the flow through, and the rule
    that would. ``id`` is the group to add the rule to (the interface's first group) or the
    ACL; ``groups`` all of the interface's groups (none of them allows it); ``denied_by``
    the ACL rule number that matched first (None: only the default rule, ``*``)."""
    kind: str  # "security-group" | "network-acl"
    id: str
    interface: str
    direction: str  # "inbound" | "outbound"
    missing: dict
    groups: tuple[str, ...] = ()
    denied_by: int | None = None
    leg: str = "request"  # "request" | "response"
    name: str = ""  # the security group's name

    def to_json(self) -> dict:
        out = {"kind": self.kind, "id": self.id, "interface": self.interface,
               "direction": self.direction, "missing": self.missing, "leg": self.leg}
        if self.name:
            out["name"] = self.name
        if self.groups:
            out["groups"] = list(self.groups)
        if self.kind == "network-acl":
            out["denied_by"] = self.denied_by if self.denied_by is not None else "*"
        return out


def _in(address: str, cidr: str) -> bool:
    ip = ipaddress.ip_address(address)
    network = ipaddress.ip_network(cidr, strict=False)
    return ip.version == network.version and ip in network


def _protocol_matches(rule_protocol: int, protocol: int) -> bool:
    return rule_protocol in (ALL_PROTOCOLS, protocol)


def _ports_cover(rule_from, rule_to, ports: tuple[int, int] | None, protocol: int) -> bool:
    """Whether a rule's port range covers every port of ``ports`` (None: no port, as ICMP)."""
    if ports is None or protocol not in PORTED or rule_from is None or rule_from == -1:
        return True
    return rule_from <= ports[0] and ports[1] <= rule_to


def _permission_allows(p: Permission, protocol: int, ports, peer: Endpoint) -> bool:
    if not _protocol_matches(p.protocol, protocol):
        return False
    if not _ports_cover(p.from_port, p.to_port, ports, protocol):
        return False
    return (any(_in(peer.address, c) for c in p.cidrs)
            or any(g in peer.groups for g in p.groups))


def _groups_allow(rules: RuleSet, groups: tuple[str, ...], outbound: bool, protocol: int,
                  ports, peer: Endpoint) -> bool:
    for group_id in groups:
        group = rules.group(group_id)
        if group is None:
            continue
        if any(_permission_allows(p, protocol, ports, peer)
               for p in (group.outbound if outbound else group.inbound)):
            return True
    return False


def acl_decision(acl: NetworkAcl, egress: bool, protocol: int, ports, peer: str
                 ) -> tuple[bool, int | None]:
    """(allowed, number of the rule that decided; None for the default deny). ACL rules are
    read in number order; the first that matches decides."""
    for entry in acl.entries:
        if entry.egress != egress or entry.number >= 32767:  # 32767 is the "*" rule
            continue
        if not _protocol_matches(entry.protocol, protocol) or not _in(peer, entry.cidr):
            continue
        if not _ports_cover(entry.from_port, entry.to_port, ports, protocol):
            # A rule covering only part of the range decides for those ports: denying some
            # of them is a denial, allowing some of them is not enough.
            if _ports_overlap(entry, ports) and not entry.allow:
                return False, entry.number
            continue
        return entry.allow, entry.number
    return False, None


def _ports_overlap(entry: AclEntry, ports) -> bool:
    return (ports is not None and entry.from_port is not None
            and entry.from_port <= ports[1] and ports[0] <= entry.to_port)


def _host(address: str) -> str:
    ip = ipaddress.ip_address(address)
    return f"{ip}/{ip.max_prefixlen}"


def _ports_text(ports) -> str:
    if ports is None:
        return "all"
    return str(ports[0]) if ports[0] == ports[1] else f"{ports[0]}-{ports[1]}"


def _missing(protocol: int, ports, peer: Endpoint, by_group: bool) -> dict:
    """The rule that would allow the flow: a reference to the peer's first security group
    when it has one in the same VPC (the usual way within a VPC), else the peer's address."""
    target = peer.groups[0] if by_group and peer.groups else _host(peer.address)
    return {"protocol": PROTOCOL_NAMES.get(protocol, str(protocol)),
            "ports": _ports_text(ports if protocol in PORTED else None),
            "cidr_or_group": target}


def evaluate(flow: Flow, rules: RuleSet) -> list[Finding]:
    """Every place that stops the flow today, in the order a packet meets them; empty when
    today's rules let it through both ways (as far as the inventory knows both sides)."""
    request_ports = (flow.dst_port, flow.dst_port) if flow.dst_port is not None else None
    response_ports = ((flow.src_port, flow.src_port) if flow.src_port is not None
                      else EPHEMERAL)
    src, dst = flow.src, flow.dst
    crosses_subnets = not (src.subnet_id and src.subnet_id == dst.subnet_id)
    found = _group_findings(rules, flow, src, dst, "outbound", request_ports)
    if crosses_subnets:  # the request leaves the source's subnet and enters the other's
        found += _acl_pair(rules, flow.protocol, src, dst, request_ports, "request")
    found += _group_findings(rules, flow, dst, src, "inbound", request_ports)
    if crosses_subnets:  # the answer comes back the other way: ACLs do not remember
        found += _acl_pair(rules, flow.protocol, dst, src, response_ports, "response")
    return found


def _group_findings(rules: RuleSet, flow: Flow, side: Endpoint, peer: Endpoint,
                    direction: str, ports) -> list[Finding]:
    """The side's security groups (stateful: only the request is checked)."""
    if not (side.interface_id and side.groups) or _groups_allow(
            rules, side.groups, direction == "outbound", flow.protocol, ports, peer):
        return []
    same_vpc = bool(side.vpc_id) and side.vpc_id == peer.vpc_id
    return [Finding("security-group", side.groups[0], side.interface_id, direction,
                    _missing(flow.protocol, ports, peer, same_vpc), side.groups,
                    name=_group_name(rules, side.groups[0]))]


def _acl_pair(rules: RuleSet, protocol: int, sender: Endpoint, receiver: Endpoint, ports,
              leg: str) -> list[Finding]:
    """The sender subnet's ACL outbound, then the receiver subnet's ACL inbound."""
    return (_acl_findings(rules, sender, egress=True, protocol=protocol, ports=ports,
                          peer=receiver.address, leg=leg)
            + _acl_findings(rules, receiver, egress=False, protocol=protocol, ports=ports,
                            peer=sender.address, leg=leg))


def _group_name(rules: RuleSet, group_id: str) -> str:
    group = rules.group(group_id)
    return group.name if group else ""


def _acl_findings(rules: RuleSet, side: Endpoint, egress: bool, protocol: int, ports,
                  peer: str, leg: str) -> list[Finding]:
    acl = rules.acl_of(side.subnet_id) if side.subnet_id else None
    if acl is None:
        return []
    allowed, number = acl_decision(acl, egress, protocol, ports, peer)
    if allowed:
        return []
    missing = {"protocol": PROTOCOL_NAMES.get(protocol, str(protocol)),
               "ports": _ports_text(ports if protocol in PORTED else None),
               "cidr_or_group": _host(peer)}
    return [Finding("network-acl", acl.id, side.interface_id or side.subnet_id,
                    "outbound" if egress else "inbound", missing, denied_by=number, leg=leg)]


@dataclass
class Explanation:
    """The rule hints for one check: what stops the flow today, read at ``read_at``."""
    findings: list[Finding] = field(default_factory=list)
    read_at: int | None = None
    unknown: list[str] = field(default_factory=list)  # addresses the inventory does not hold

    def to_json(self) -> list[dict]:
        return [f.to_json() for f in self.findings]


def _everyone(account: str) -> bool:
    return True


def endpoint_for(store, address: str, when: int, near_vpc: str = "",
                 allows=_everyone) -> Endpoint:
    """The interface that held ``address`` at ``when`` (the inventory's history); of several
    (private ranges repeat across VPCs), the one in ``near_vpc``. An address the inventory
    does not hold (the internet, another organisation) is just an address."""
    holders = [h for h in store.holders(address, when) if allows(h.account)]
    if not holders:
        return Endpoint(address)
    chosen = next((h for h in holders if near_vpc and h.vpc_id == near_vpc), holders[0])
    return Endpoint(address, chosen.interface_id, chosen.subnet_id, chosen.vpc_id,
                    tuple(group_id for group_id, _ in chosen.security_groups))


def explain(store, src: str, dst: str, protocol: int, dst_port: int | None, when: int,
            src_port: int | None = None, allows=_everyone) -> Explanation:
    """Rule hints for traffic from ``src`` to ``dst``: the interfaces as they were at
    ``when`` (the flows' time), the rules as last read (today's); ``allows(account)`` says
    whose interfaces may be looked at (the user's scope)."""
    rules, read_at = store.rules()
    source = endpoint_for(store, src, when, allows=allows)
    destination = endpoint_for(store, dst, when, near_vpc=source.vpc_id, allows=allows)
    if not source.vpc_id and destination.vpc_id:
        source = endpoint_for(store, src, when, near_vpc=destination.vpc_id, allows=allows)
    unknown = [e.address for e in (source, destination) if not e.interface_id]
    if read_at is None or (not source.interface_id and not destination.interface_id):
        return Explanation([], read_at, unknown)
    flow = Flow(source, destination, protocol, dst_port, src_port)
    return Explanation(evaluate(flow, rules), read_at, unknown)


# --- in words ------------------------------------------------------------------------------

def rule_words():
    from lib import i18n

    return i18n.catalogue("rules")["texts"]


def sentence(finding: Finding, lang: str = "en") -> str:
    """One finding in plain words, with the rule to add."""
    from lib import i18n

    words = rule_words()

    def say(key: str, **values) -> str:
        return i18n.fill(words[key], lang, **values)

    ports = finding.missing["ports"]
    common = {"interface": finding.interface, "protocol": finding.missing["protocol"].upper(),
              "ports": say("all-ports") if ports == "all" else ports,
              "peer": finding.missing["cidr_or_group"]}
    if finding.kind == "security-group":
        key = "group-inbound" if finding.direction == "inbound" else "group-outbound"
        group = f"{finding.id} ({finding.name})" if finding.name else finding.id
        return say(key, group=group, **common)
    number = finding.denied_by
    rule = say("rule-number", number=number) if number is not None else say("rule-default")
    outbound = finding.direction == "outbound"
    return say("acl-response" if finding.leg == "response" else "acl-request", acl=finding.id,
               direction=say("outbound" if outbound else "inbound"),
               towards=say("to" if outbound else "from"), rule=rule,
               below=say("below", number=number) if number is not None else "", **common)


REJECTED_VERDICTS = ("rejected", "rejected-inbound", "rejected-outbound", "response-rejected")


def notes(explanation: Explanation, code: str, lang: str = "en", zone: str | None = None
          ) -> list[str]:
    """What the page and the command line say beside the findings: when the rules were
    read, addresses the inventory does not know, and rules that allow a rejected flow."""
    from lib import i18n, timeutil

    words = rule_words()
    if explanation.read_at is None:
        return [i18n.fill(words["no-inventory"], lang)]
    out = [i18n.fill(words["read-at"], lang,
                     time=timeutil.format_local(explanation.read_at, zone or "UTC"))]
    out += [i18n.fill(words["unknown-address"], lang, address=a) for a in explanation.unknown]
    if not explanation.findings and code in REJECTED_VERDICTS and len(explanation.unknown) < 2:
        out.append(i18n.fill(words["allowed-now"], lang))
    return out
