"""The demo's network in an EC2 endpoint (a moto server), so the inventory and the rule hints
can be tried offline (issue 18): ``python -m lib.cli demo --out DIR --ec2-endpoint-url URL``.

What is made, per flow log of the demo (one VPC each, in its account and region): the VPC and
its six subnets with the demo's address ranges, one security group per role (what the role
serves, from inside the VPC; load balancers, web servers and the bastion from anywhere), and
an interface for every address of the demo, described by its role ("web-12"). The check
cases' interfaces get groups of their own that tell their story: the MySQL server's group
has no rule for 3306, the Elasticsearch client's group lets out 443 only, and the web
server's subnet has a network ACL that lets out port 443 only (so its answers to clients'
ephemeral ports are dropped). IPv6 addresses and AWS-managed interfaces' own accounts are
not made: an IPv6 check gets no hints, and every interface sits in its VPC's account.

Each account is reached as the inventory reads it (``lib.inventory.ec2_client``): through
``inventory_role_name`` when it is set, which is how one moto server holds several accounts.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from lib.generator import TOPOLOGY_FILE

EVERYWHERE = "0.0.0.0/0"
PUBLIC_ROLES = ("lb", "web", "bastion")
NO_INBOUND = ("lambda", "worker", "case")


@dataclass
class DemoNetwork:
    vpcs: int = 0
    interfaces: int = 0
    groups: int = 0
    acls: int = 0
    accounts: list[str] = field(default_factory=list)


def _zones(region: str) -> str:
    """Three zone letters that exist in the region (Tokyo has no "b" for new accounts)."""
    return {"ap-northeast-1": "acd"}.get(region, "abc")


def _tcp(port: int, cidr: str) -> dict:
    return {"IpProtocol": "tcp", "FromPort": port, "ToPort": port, "IpRanges": [{"CidrIp": cidr}]}


def _role_rules(role: str, port: int, vpc_cidr: str) -> list[dict]:
    if role in NO_INBOUND or port <= 0:
        return []
    if role == "nat":
        return [{"IpProtocol": "-1", "IpRanges": [{"CidrIp": vpc_cidr}]}]
    return [_tcp(port, EVERYWHERE if role in PUBLIC_ROLES else vpc_cidr)]


def _case_rules(case: dict, vpc_cidr: str) -> tuple[list[dict], list[dict] | None]:
    """(the server's inbound rules, the client's outbound rules or None for AWS's default)
    of one check case: what makes the demo's verdict true today."""
    name, port = case["name"], int(case["dst_port"] or 0)
    if name == "rejected-inbound":
        return [_tcp(22, vpc_cidr)], None  # no rule for the case's port (3306)
    if name == "rejected-outbound":
        return [_tcp(port, vpc_cidr)], [_tcp(443, EVERYWHERE)]  # 9200 may not leave
    if name == "response-rejected":
        return [_tcp(port, EVERYWHERE)], None
    if int(case["protocol"]) == 1:
        return [{"IpProtocol": "icmp", "FromPort": -1, "ToPort": -1,
                 "IpRanges": [{"CidrIp": vpc_cidr}]}], None
    return ([_tcp(port, vpc_cidr)] if port else []), None


class _Maker:
    def __init__(self, settings, topology: dict, cases: list[dict]):
        from lib.inventory import ec2_client

        self.settings, self.client_for = settings, ec2_client
        self.topology, self.cases = topology, cases
        self.made = DemoNetwork()

    def make(self) -> DemoNetwork:
        case_of = self._case_roles()
        by_vpc: dict[int, list[dict]] = {}
        for interface in self.topology["interfaces"]:
            by_vpc.setdefault(interface["vpc_index"], []).append(interface)
        for index, vpc in enumerate(self.topology["vpcs"]):
            self._vpc(vpc, by_vpc.get(index, []), case_of)
        self.made.accounts = sorted({v["account"] for v in self.topology["vpcs"]})
        return self.made

    def _case_roles(self) -> dict[str, tuple[dict, str]]:
        """interface ID -> (its case, "client" | "server")."""
        roles = {}
        for case in self.cases:
            if case.get("src_interface"):
                roles[case["src_interface"]] = (case, "client")
            if case.get("dst_interface"):
                roles[case["dst_interface"]] = (case, "server")
        return roles

    def _vpc(self, vpc: dict, interfaces: list[dict], case_of) -> None:
        ec2 = self.client_for(self.settings, vpc["account"], vpc["region"])
        vpc_id = ec2.create_vpc(CidrBlock=vpc["cidr"])["Vpc"]["VpcId"]
        ec2.create_tags(Resources=[vpc_id], Tags=[{"Key": "Name", "Value": vpc["vpc"]}])
        subnets = [ec2.create_subnet(VpcId=vpc_id, CidrBlock=s["cidr"],
                                     AvailabilityZone=vpc["region"] + _zones(vpc["region"])[i % 3]
                                     )["Subnet"]["SubnetId"]
                   for i, s in enumerate(vpc["subnets"])]
        self.made.vpcs += 1
        role_groups: dict[tuple[str, int], str] = {}
        for interface in interfaces:
            case = case_of.get(interface["id"])
            group = (self._case_group(ec2, vpc_id, vpc["cidr"], *case) if case else
                     self._role_group(ec2, vpc_id, vpc["cidr"], interface, role_groups))
            name = f"{case[0]['name']}-{case[1]}" if case else interface["name"]
            ec2.create_network_interface(SubnetId=subnets[interface["subnet_index"]],
                                         PrivateIpAddress=interface["address"],
                                         Description=name, Groups=[group])
            self.made.interfaces += 1
            if case and case[0]["name"] == "response-rejected" and case[1] == "server":
                self._answers_blocked(ec2, vpc_id, subnets[interface["subnet_index"]])

    def _role_group(self, ec2, vpc_id: str, cidr: str, interface: dict, groups: dict) -> str:
        key = (interface["role"], interface["port"])
        if key not in groups:
            groups[key] = self._group(ec2, vpc_id, f"{key[0]}-{key[1]}",
                                      _role_rules(key[0], key[1], cidr), None)
        return groups[key]

    def _case_group(self, ec2, vpc_id: str, cidr: str, case: dict, side: str) -> str:
        inbound, outbound = _case_rules(case, cidr)
        return self._group(ec2, vpc_id, f"{case['name']}-{side}",
                           inbound if side == "server" else [],
                           outbound if side == "client" else None)

    def _group(self, ec2, vpc_id: str, name: str, inbound: list[dict],
               outbound: list[dict] | None) -> str:
        group = ec2.create_security_group(GroupName=name, Description=f"Flowscope demo: {name}",
                                          VpcId=vpc_id)["GroupId"]
        if inbound:
            ec2.authorize_security_group_ingress(GroupId=group, IpPermissions=inbound)
        if outbound is not None:  # replace AWS's default "all traffic out"
            ec2.revoke_security_group_egress(GroupId=group, IpPermissions=[
                {"IpProtocol": "-1", "IpRanges": [{"CidrIp": EVERYWHERE}]}])
            ec2.authorize_security_group_egress(GroupId=group, IpPermissions=outbound)
        self.made.groups += 1
        return group

    def _answers_blocked(self, ec2, vpc_id: str, subnet_id: str) -> None:
        """A network ACL on the subnet that lets everything in and only port 443 out: the
        server's answers to clients' ephemeral ports meet the default deny."""
        acl = ec2.create_network_acl(VpcId=vpc_id)["NetworkAcl"]["NetworkAclId"]
        ec2.create_network_acl_entry(NetworkAclId=acl, RuleNumber=100, Egress=False,
                                     Protocol="-1", RuleAction="allow", CidrBlock=EVERYWHERE)
        ec2.create_network_acl_entry(NetworkAclId=acl, RuleNumber=100, Egress=True,
                                     Protocol="6", RuleAction="allow", CidrBlock=EVERYWHERE,
                                     PortRange={"From": 443, "To": 443})
        current = ec2.describe_network_acls(
            Filters=[{"Name": "association.subnet-id", "Values": [subnet_id]}])["NetworkAcls"][0]
        association = next(a["NetworkAclAssociationId"] for a in current["Associations"]
                           if a["SubnetId"] == subnet_id)
        ec2.replace_network_acl_association(AssociationId=association, NetworkAclId=acl)
        self.made.acls += 1


def create_demo_network(settings, demo_dir: str | Path) -> DemoNetwork:
    """Make the demo's VPCs, subnets, security groups, network ACL and interfaces in
    ``settings.ec2_endpoint_url`` from ``demo_dir``'s topology.json and scenarios.json."""
    if not settings.ec2_endpoint_url:
        raise ValueError("the demo network is made in a local EC2 endpoint only "
                         "(--ec2-endpoint-url, e.g. a moto server)")
    demo_dir = Path(demo_dir)
    topology = json.loads((demo_dir / TOPOLOGY_FILE).read_text(encoding="utf-8"))
    cases = json.loads((demo_dir / "scenarios.json").read_text(encoding="utf-8"))
    return _Maker(settings, topology, cases).make()
