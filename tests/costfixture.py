"""A hand-built store with one case per charge class, and the bytes issue 16's rules give.

VPC A (account A, us-east-1, v5 format): app1 10.0.1.10 and app3 10.0.1.30 in use1-az1,
app2 10.0.2.20 and app4 10.0.2.40 in use1-az2, a NAT gateway 10.0.0.5 in use1-az1. VPC B
(same account and region) holds 10.50.0.8, reached through a transit gateway. A v2 flow
log adds records nothing can classify; account B has one internet-egress record.
"""

from __future__ import annotations

from pathlib import Path

from storefixture import ACCOUNT_A, ACCOUNT_B, T0, V5_FORMAT, record, write_object

START = T0 + 3600
WINDOW = {"start": str(T0), "end": str(T0 + 86400)}

APP1, APP2, APP3, APP4, NAT = "10.0.1.10", "10.0.2.20", "10.0.1.30", "10.0.2.40", "10.0.0.5"
REMOTE_B = "10.50.0.8"
WEB, NAT_WEB, S3, EC2, S3_GW = ("93.184.216.34", "151.101.1.1", "52.216.1.1", "54.239.28.85",
                                "52.216.9.9")
INTERFACES = {APP1: ("eni-0a0000000000000a1", "use1-az1"),
              APP2: ("eni-0a0000000000000a2", "use1-az2"),
              APP3: ("eni-0a0000000000000a3", "use1-az1"),
              APP4: ("eni-0a0000000000000a4", "use1-az2"),
              NAT: ("eni-0a0000000000000n1", "use1-az1")}
VPC_A, VPC_B = "vpc-0aaaaaaaa", "vpc-0bbbbbbbb"

# The bytes each class holds for account A (the cases below, by the rules).
EXPECTED_A = {
    "internet-egress": 1_000_000 + 2_000,  # app1 to the web; the NAT gateway to the web
    "nat-gateway": (2_000 + 30_000) + (400_000 + 7_000_000) + (60_000 + 90_000),
    "gateway-endpoint": 8_000_000,
    # app1<->app2 both ways, the NAT gateway's answer to app2, app4 seen only by app1, app4->app3
    "cross-az": 600_000 + 9_000_000 + 30_000 + 77_000 + 5,
    "inter-region": 3_000_000,
    "transit-gateway": 250_000,
    # answers from the internet and S3, NAT's answer in, same AZ, a web client, a rejection
    "free": 5_000_000 + 100 + 30_000 + 1_234 + 44_000 + 60,
    "unknown": 111 + 222,
}
EXPECTED_B = {"internet-egress": 5_000}
SAVINGS_A = {("gateway-endpoint", "S3"): 7_400_000, ("interface-endpoint", "EC2"): 150_000}
PAIRS_A = {(APP1, APP2): 9_600_000, (APP2, NAT_WEB): 30_000, (APP1, APP4): 77_000,
           (APP3, APP4): 5}


def v5(at: str, src: str, dst: str, sport: int, dport: int, bytes_: int, direction: str,
       path: int | None = None, account: str = ACCOUNT_A, vpc: str = VPC_A,
       eni: str | None = None, az: str | None = None, **extra) -> dict:
    own_eni, own_az = INTERFACES.get(at, (eni, az))
    return record(src, dst, sport, dport, start=START, bytes_=bytes_, packets=max(1, bytes_ // 1000),
                  account=account, eni=eni or own_eni, version=5, vpc_id=vpc,
                  subnet_id="subnet-0a1", region="us-east-1", az_id=az or own_az,
                  flow_direction=direction, traffic_path=path if direction == "egress" else None,
                  **extra)


def build_cost_store(root: Path) -> Path:
    records = [
        # internet-egress: app1 -> web (path 8); the answer in is free
        v5(APP1, APP1, WEB, 40001, 443, 1_000_000, "egress", 8),
        v5(APP1, WEB, APP1, 443, 40001, 5_000_000, "ingress"),
        # NAT gateway to the internet: app2 sends through the NAT (path 1), answer comes back
        v5(APP2, APP2, NAT_WEB, 40002, 443, 2_000, "egress", 1),
        v5(APP2, NAT_WEB, APP2, 443, 40002, 30_000, "ingress"),
        # ... the NAT gateway's own records: in from app2 (counted at app2), out to the web
        # (internet egress), the answer in (free) and out to app2 in another AZ (cross-AZ)
        v5(NAT, APP2, NAT_WEB, 40002, 443, 2_000, "ingress"),
        v5(NAT, NAT, NAT_WEB, 40002, 443, 2_000, "egress", 8),
        v5(NAT, NAT_WEB, NAT, 443, 40002, 30_000, "ingress"),
        v5(NAT, NAT_WEB, APP2, 443, 40002, 30_000, "egress", 1),
        # NAT gateway to S3 (a gateway endpoint would carry it) and to EC2's API
        v5(APP1, APP1, S3, 40003, 443, 400_000, "egress", 1, pkt_dst_aws_service="S3"),
        v5(APP1, S3, APP1, 443, 40003, 7_000_000, "ingress", pkt_src_aws_service="S3"),
        v5(APP3, APP3, EC2, 40004, 443, 60_000, "egress", 1, pkt_dst_aws_service="EC2"),
        v5(APP3, EC2, APP3, 443, 40004, 90_000, "ingress", pkt_src_aws_service="EC2"),
        # gateway endpoint (path 7); its answer in is free
        v5(APP3, APP3, S3_GW, 40005, 443, 8_000_000, "egress", 7, pkt_dst_aws_service="S3"),
        v5(APP3, S3_GW, APP3, 443, 40005, 100, "ingress", pkt_src_aws_service="S3"),
        # cross-AZ both ways, each counted at its sender only
        v5(APP1, APP1, APP2, 40006, 5432, 600_000, "egress", 1),
        v5(APP2, APP1, APP2, 40006, 5432, 600_000, "ingress"),
        v5(APP2, APP2, APP1, 5432, 40006, 9_000_000, "egress", 1),
        v5(APP1, APP2, APP1, 5432, 40006, 9_000_000, "ingress"),
        # same AZ: free, counted once
        v5(APP1, APP1, APP3, 40007, 8080, 1_234, "egress", 1),
        v5(APP3, APP1, APP3, 40007, 8080, 1_234, "ingress"),
        # app4 logs (its AZ is known) but not this sending: counted at app1's ingress
        v5(APP1, APP4, APP1, 40008, 9000, 77_000, "ingress"),
        v5(APP4, APP4, APP3, 40009, 9000, 5, "egress", 1),
        # inter-region peering (path 5)
        v5(APP2, APP2, "10.9.0.7", 40010, 443, 3_000_000, "egress", 5),
        # to an interface of VPC B without a peering path: a transit gateway
        v5(APP3, APP3, REMOTE_B, 40011, 443, 250_000, "egress", 1),
        v5(None, APP3, REMOTE_B, 40011, 443, 250_000, "ingress", vpc=VPC_B,
           eni="eni-0b00000000000000b1", az="use1-az1"),
        # a client on the internet (free) and a rejected sending (free)
        v5(APP1, "198.51.100.20", APP1, 50000, 443, 44_000, "ingress"),
        v5(APP1, APP1, "203.0.113.50", 40012, 443, 60, "egress", 8, action="REJECT"),
    ]
    write_object(root, records, flow_log="fl-0c05700000000000a", fmt=V5_FORMAT)
    write_object(root, [record("10.7.0.1", "10.7.0.2", 40100, 22, start=START, bytes_=111),
                        record("10.7.0.2", "10.7.0.1", 22, 40100, start=START, bytes_=222)],
                 flow_log="fl-0c05700000000000b")
    write_object(root, [v5(None, "172.16.0.9", WEB, 40200, 443, 5_000, "egress", 8,
                           account=ACCOUNT_B, vpc="vpc-0cccccccc", eni="eni-0c000000000000c1",
                           az="use1-az1")],
                 account=ACCOUNT_B, flow_log="fl-0c05700000000000c", fmt=V5_FORMAT)
    return root
