"""Rule hints (issue 18): which security group or network ACL stops a flow today, and the
rule that would allow it. Hand-built rule sets first (every branch of the evaluation), then
the same answers from EC2's own answers (a moto server) through the inventory."""

from __future__ import annotations

from dataclasses import replace

import boto3
import pytest
from s3kit import isolate_aws, moto_endpoint

from lib import inventory
from lib.config import Settings
from lib.rules import (
    EPHEMERAL,
    AclEntry,
    Endpoint,
    Flow,
    NetworkAcl,
    Permission,
    RuleSet,
    SecurityGroup,
    acl_decision,
    evaluate,
    explain,
)

TCP, ICMP = 6, 1
OPEN_ACL = (AclEntry(100, False, -1, True, "0.0.0.0/0"), AclEntry(100, True, -1, True, "0.0.0.0/0"),
            AclEntry(101, False, -1, True, "::/0"), AclEntry(101, True, -1, True, "::/0"))
ANY_OUT = (Permission(-1, cidrs=("0.0.0.0/0",)),)

CLIENT = Endpoint("10.0.1.10", "eni-client", "subnet-a", "vpc-1", ("sg-client",))
SERVER = Endpoint("10.0.2.20", "eni-server", "subnet-b", "vpc-1", ("sg-web", "sg-extra"))


def rules(web_in=(), client_out=ANY_OUT, acl_a=OPEN_ACL, acl_b=OPEN_ACL) -> RuleSet:
    return RuleSet(
        groups=(SecurityGroup("sg-client", "client", "vpc-1", (), client_out),
                SecurityGroup("sg-web", "web", "vpc-1", web_in, ANY_OUT),
                SecurityGroup("sg-extra", "extra", "vpc-1", (), ANY_OUT)),
        acls=(NetworkAcl("acl-a", "vpc-1", ("subnet-a",), acl_a),
              NetworkAcl("acl-b", "vpc-1", ("subnet-b",), acl_b)))


def https(src=CLIENT, dst=SERVER, src_port=None) -> Flow:
    return Flow(src, dst, TCP, 443, src_port)


def test_a_rule_for_the_port_from_the_clients_network_lets_it_through():
    allowed = rules(web_in=(Permission(TCP, 443, 443, cidrs=("10.0.0.0/16",)),))
    assert evaluate(https(), allowed) == []


def test_no_inbound_rule_names_the_destinations_group_and_the_rule_to_add():
    (finding,) = evaluate(https(), rules(web_in=(Permission(TCP, 22, 22, cidrs=("10.0.0.0/16",)),)))
    assert finding.to_json() == {
        "kind": "security-group", "id": "sg-web", "name": "web", "interface": "eni-server",
        "direction": "inbound", "leg": "request", "groups": ["sg-web", "sg-extra"],
        # Same VPC: the usual fix is a reference to the client's group, not its address.
        "missing": {"protocol": "tcp", "ports": "443", "cidr_or_group": "sg-client"}}


def test_a_rule_that_references_the_clients_group_allows_it():
    assert evaluate(https(), rules(web_in=(Permission(TCP, 443, 443, groups=("sg-client",)),))) == []
    # A reference to a group the client is not in allows nothing.
    assert evaluate(https(), rules(web_in=(Permission(TCP, 443, 443, groups=("sg-other",)),)))


def test_a_port_range_and_all_traffic_rules_count():
    assert evaluate(https(), rules(web_in=(Permission(TCP, 400, 500, cidrs=("10.0.1.10/32",)),))) == []
    assert evaluate(https(), rules(web_in=(Permission(-1, cidrs=("0.0.0.0/0",)),))) == []
    assert evaluate(https(), rules(web_in=(Permission(17, 443, 443, cidrs=("0.0.0.0/0",)),)))


def test_a_client_outside_the_vpc_is_named_by_its_address():
    outsider = Endpoint("198.51.100.7")
    (finding,) = evaluate(https(src=outsider), rules())
    assert finding.missing["cidr_or_group"] == "198.51.100.7/32"


def test_an_ipv6_client_never_matches_an_ipv4_rule():
    v6 = Endpoint("2001:db8::7")
    (finding,) = evaluate(https(src=v6), rules(web_in=(Permission(TCP, 443, 443, cidrs=("0.0.0.0/0",)),)))
    assert finding.missing["cidr_or_group"] == "2001:db8::7/128"
    assert evaluate(https(src=v6), rules(web_in=(Permission(TCP, 443, 443, cidrs=("::/0",)),))) == []


def test_no_outbound_rule_on_the_client_is_found_first():
    found = evaluate(https(), rules(client_out=()))
    assert [(f.kind, f.id, f.direction) for f in found] == [
        ("security-group", "sg-client", "outbound"), ("security-group", "sg-web", "inbound")]


def test_an_acl_deny_rule_before_the_allow_rule_decides():
    acl_b = (AclEntry(90, False, TCP, False, "10.0.1.0/24", 443, 443), *OPEN_ACL)
    web = (Permission(TCP, 443, 443, cidrs=("10.0.0.0/16",)),)
    (finding,) = evaluate(https(), rules(web_in=web, acl_b=acl_b))
    assert finding.to_json() == {
        "kind": "network-acl", "id": "acl-b", "interface": "eni-server", "direction": "inbound",
        "leg": "request", "denied_by": 90,
        "missing": {"protocol": "tcp", "ports": "443", "cidr_or_group": "10.0.1.10/32"}}


def test_the_response_needs_the_ephemeral_ports_back_through_both_acls():
    """ACLs are stateless: a server subnet whose ACL lets out only port 443 drops the answers
    to the client's ephemeral port (the verdict 'response-rejected')."""
    acl_b = (OPEN_ACL[0], AclEntry(100, True, TCP, True, "0.0.0.0/0", 443, 443))
    web = (Permission(TCP, 443, 443, cidrs=("10.0.0.0/16",)),)
    (finding,) = evaluate(https(), rules(web_in=web, acl_b=acl_b))
    assert (finding.kind, finding.id, finding.direction, finding.leg, finding.denied_by) == (
        "network-acl", "acl-b", "outbound", "response", None)
    assert finding.missing == {"protocol": "tcp", "ports": "1024-65535",
                               "cidr_or_group": "10.0.1.10/32"}
    # With the client's port known from the records, the hint names that port.
    (known,) = evaluate(https(src_port=51000), rules(web_in=web, acl_b=acl_b))
    assert known.missing["ports"] == "51000"


def test_an_acl_allowing_part_of_the_ephemeral_range_is_not_enough():
    partial = (OPEN_ACL[0], AclEntry(100, True, TCP, True, "0.0.0.0/0", 32768, 65535))
    assert acl_decision(NetworkAcl("acl", entries=partial), True, TCP, EPHEMERAL, "10.0.1.10") == (False, None)
    deny_some = (OPEN_ACL[0], AclEntry(50, True, TCP, False, "0.0.0.0/0", 2000, 3000),
                 AclEntry(100, True, TCP, True, "0.0.0.0/0", 0, 65535))
    assert acl_decision(NetworkAcl("acl", entries=deny_some), True, TCP, EPHEMERAL, "10.0.1.10") == (False, 50)
    assert acl_decision(NetworkAcl("acl", entries=partial), True, TCP, (40000, 40000), "10.0.1.10") == (True, 100)


def test_acls_are_not_met_within_one_subnet():
    deny_all = (AclEntry(1, False, -1, False, "0.0.0.0/0"), AclEntry(1, True, -1, False, "0.0.0.0/0"))
    neighbour = replace(SERVER, subnet_id="subnet-a")
    web = (Permission(TCP, 443, 443, cidrs=("10.0.0.0/16",)),)
    assert evaluate(https(dst=neighbour), rules(web_in=web, acl_a=deny_all)) == []
    assert {f.id for f in evaluate(https(), rules(web_in=web, acl_a=deny_all))} == {"acl-a"}


def test_icmp_rules_match_on_the_protocol():
    ping = Flow(CLIENT, SERVER, ICMP)
    assert evaluate(ping, rules(web_in=(Permission(ICMP, -1, -1, cidrs=("10.0.0.0/8",)),))) == []
    (finding,) = evaluate(ping, rules())
    assert finding.missing == {"protocol": "icmp", "ports": "all", "cidr_or_group": "sg-client"}


def test_a_rule_set_survives_its_json_form():
    original = rules(web_in=(Permission(TCP, 443, 443, ("10.0.0.0/16",), ("sg-client",), ("pl-1",)),))
    assert RuleSet.from_json(original.to_json()) == original


# --- from EC2 (moto) through the inventory -----------------------------------------------

@pytest.fixture(scope="module")
def endpoint():
    yield from moto_endpoint()


def own_account(endpoint: str) -> str:
    return boto3.client("sts", region_name="us-east-1",
                        endpoint_url=endpoint).get_caller_identity()["Account"]


def two_tier(ec2, region: str) -> dict:
    """A client subnet and a server subnet; the server's group allows 22 only, and the
    server subnet's own ACL lets answers out on 443 only (as a careless ACL would)."""
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnets = [ec2.create_subnet(VpcId=vpc, CidrBlock=cidr, AvailabilityZone=f"{region}a")
               ["Subnet"]["SubnetId"] for cidr in ("10.0.1.0/24", "10.0.2.0/24")]
    client_sg = ec2.create_security_group(GroupName="client", Description="c", VpcId=vpc)["GroupId"]
    web_sg = ec2.create_security_group(GroupName="web", Description="w", VpcId=vpc)["GroupId"]
    ec2.authorize_security_group_ingress(GroupId=web_sg, IpPermissions=[{
        "IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "10.0.0.0/16"}]}])
    client = ec2.create_network_interface(SubnetId=subnets[0], PrivateIpAddress="10.0.1.10",
                                          Groups=[client_sg])["NetworkInterface"]
    server = ec2.create_network_interface(SubnetId=subnets[1], PrivateIpAddress="10.0.2.20",
                                          Groups=[web_sg])["NetworkInterface"]
    acl = ec2.create_network_acl(VpcId=vpc)["NetworkAcl"]["NetworkAclId"]
    for number, egress, ports in ((100, False, None), (100, True, (443, 443))):
        entry = {"NetworkAclId": acl, "RuleNumber": number, "Egress": egress,
                 "RuleAction": "allow", "CidrBlock": "0.0.0.0/0"}
        entry.update({"Protocol": "6", "PortRange": {"From": ports[0], "To": ports[1]}}
                     if ports else {"Protocol": "-1"})
        ec2.create_network_acl_entry(**entry)
    default_association = next(
        a["NetworkAclAssociationId"] for a in ec2.describe_network_acls(
            Filters=[{"Name": "association.subnet-id", "Values": [subnets[1]]}])["NetworkAcls"][0]
        ["Associations"] if a["SubnetId"] == subnets[1])
    ec2.replace_network_acl_association(AssociationId=default_association, NetworkAclId=acl)
    return {"web_sg": web_sg, "client_sg": client_sg, "acl": acl,
            "client": client["NetworkInterfaceId"], "server": server["NetworkInterfaceId"]}


def test_hints_from_ec2_name_the_group_and_the_acl(monkeypatch, tmp_path, endpoint):
    isolate_aws(monkeypatch, tmp_path)
    region = "ap-east-1"  # a region no other test of this process writes to
    made = two_tier(boto3.client("ec2", region_name=region, endpoint_url=endpoint), region)
    config = replace(Settings(), cache_dir=str(tmp_path / "cache"), ec2_endpoint_url=endpoint)
    account = own_account(endpoint)
    report = inventory.refresh(config, [(account, region)], now=1_790_000_000)
    assert not report.failed
    store = inventory.inventory_store(config)
    hints = explain(store, "10.0.1.10", "10.0.2.20", TCP, 443, when=1_790_000_000)
    assert hints.read_at == 1_790_000_000 and hints.unknown == []
    assert [f.to_json() for f in hints.findings] == [
        {"kind": "security-group", "id": made["web_sg"], "name": "web", "interface": made["server"],
         "direction": "inbound", "leg": "request", "groups": [made["web_sg"]],
         "missing": {"protocol": "tcp", "ports": "443", "cidr_or_group": made["client_sg"]}},
        {"kind": "network-acl", "id": made["acl"], "interface": made["server"],
         "direction": "outbound", "leg": "response", "denied_by": "*",
         "missing": {"protocol": "tcp", "ports": "1024-65535", "cidr_or_group": "10.0.1.10/32"}}]
    # Fix the group the way the hint says: only the ACL is left.
    boto3.client("ec2", region_name=region, endpoint_url=endpoint).authorize_security_group_ingress(
        GroupId=made["web_sg"], IpPermissions=[{"IpProtocol": "tcp", "FromPort": 443,
                                               "ToPort": 443, "UserIdGroupPairs": [{"GroupId": made["client_sg"]}]}])
    inventory.refresh(config, [(account, region)], now=1_790_000_100, force=True)
    again = explain(store, "10.0.1.10", "10.0.2.20", TCP, 443, when=1_790_000_000)
    assert [f.kind for f in again.findings] == ["network-acl"]


def test_no_inventory_means_no_hints(tmp_path):
    store = inventory.InventoryStore(tmp_path / "empty.sqlite3")
    hints = explain(store, "10.0.1.10", "10.0.2.20", TCP, 443, when=0)
    assert hints.findings == [] and hints.read_at is None
    assert hints.unknown == ["10.0.1.10", "10.0.2.20"]


def test_the_check_command_names_the_blocking_rules(monkeypatch, tmp_path, endpoint, capsys):
    """`lib.cli check --explain-rules --ec2-endpoint-url`: the issue's JSON, on moto."""
    import json

    from storefixture import T0, record, write_object

    from lib import cli

    isolate_aws(monkeypatch, tmp_path)
    monkeypatch.setenv("FLOWSCOPE_CACHE_DIR", str(tmp_path / "cache"))
    region = "me-south-1"
    made = two_tier(boto3.client("ec2", region_name=region, endpoint_url=endpoint), region)
    account = own_account(endpoint)
    data = tmp_path / "logs"
    write_object(data, [record("10.0.1.10", "10.0.2.20", 51000 + n, 443, start=T0 + 60 * n,
                               action="REJECT", account=account, eni=made["server"])
                        for n in range(3)], account=account, region=region)
    code = cli.main(["check", "--data", str(data), "--src", "10.0.1.10", "--dst", "10.0.2.20",
                     "--dst-port", "443", "--protocol", "tcp", "--start", str(T0),
                     "--end", str(T0 + 3600), "--explain-rules",
                     "--ec2-endpoint-url", endpoint])
    out = json.loads(capsys.readouterr().out)
    assert code == 0 and out["verdict"].startswith("rejected")
    assert [(r["kind"], r["id"], r["direction"], r["missing"]) for r in out["rules"]] == [
        ("security-group", made["web_sg"], "inbound",
         {"protocol": "tcp", "ports": "443", "cidr_or_group": made["client_sg"]}),
        ("network-acl", made["acl"], "outbound",
         {"protocol": "tcp", "ports": "1024-65535", "cidr_or_group": "10.0.1.10/32"})]
    assert any(f"Add to {made['web_sg']} (web): inbound, TCP, port 443" in n for n in out["rules_notes"])
    assert out["rules_errors"] == []


def test_the_check_command_says_when_hints_cannot_be_given(tmp_path, capsys, monkeypatch):
    import json

    from storefixture import T0, write_three_records

    from lib import cli

    monkeypatch.setenv("FLOWSCOPE_CACHE_DIR", str(tmp_path / "cache"))
    data = write_three_records(tmp_path / "logs")
    code = cli.main(["check", "--data", str(data), "--src", "10.0.0.0/24", "--dst", "10.0.2.20",
                     "--dst-port", "443", "--protocol", "tcp", "--start", str(T0),
                     "--end", str(T0 + 3600), "--explain-rules"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0 and out["rules"] == []
    assert out["rules_notes"] == ["Rule hints need one source and one destination address "
                                  "(not a network) and at most one port."]


def test_hints_never_look_at_an_interface_outside_the_users_scope(monkeypatch, tmp_path, endpoint):
    """A user limited to other accounts gets no finding and no ID from this account's
    interfaces and rules, although the inventory holds them."""
    from lib.filters import Filters
    from lib.query import Scope
    from lib.rulehints import check_hints

    isolate_aws(monkeypatch, tmp_path)
    region = "ap-south-2"
    made = two_tier(boto3.client("ec2", region_name=region, endpoint_url=endpoint), region)
    config = replace(Settings(), cache_dir=str(tmp_path / "cache"), ec2_endpoint_url=endpoint)
    account = own_account(endpoint)
    inventory.refresh(config, [(account, region)], now=1_790_000_000)
    import ipaddress

    filters = Filters(start=1_790_000_000, end=1_790_003_600, accounts=(account,), regions=(region,),
                      src=ipaddress.ip_network("10.0.1.10/32"), dst=ipaddress.ip_network("10.0.2.20/32"),
                      dst_ports=((443, 443),), protocols=(TCP,))
    seen = check_hints(config, filters, [], "rejected-inbound", refresh=False)
    assert [r["id"] for r in seen["rules"]] == [made["web_sg"], made["acl"]]
    other = check_hints(config, filters, [], "rejected-inbound", refresh=False,
                        scope=Scope(frozenset({"999999999999"})))
    assert other["rules"] == []
    assert not any(made["web_sg"] in n or made["server"] in n for n in other["rules_notes"])
