"""Write small hand-made stores in the S3 key layout, with records tests can count by hand."""

from __future__ import annotations

import gzip
from datetime import UTC, datetime
from pathlib import Path

from lib.schema import DEFAULT_FORMAT

T0 = 1_790_000_000 - 1_790_000_000 % 86400  # a UTC midnight (2026-09-21T00:00Z)
ACCOUNT_A = "012345678901"  # leading zero: must stay text
ACCOUNT_B = "123456789012"
V5_FORMAT = ["version", "srcaddr", "dstaddr", "srcport", "dstport", "protocol", "start", "end", "type", "packets", "bytes", "account-id", "vpc-id", "subnet-id", "instance-id", "interface-id", "region", "az-id", "sublocation-type", "sublocation-id", "action", "tcp-flags", "pkt-srcaddr", "pkt-dstaddr", "pkt-src-aws-service", "pkt-dst-aws-service", "traffic-path", "flow-direction", "log-status"]


def record(src, dst, sport, dport, proto=6, start=T0, packets=10, bytes_=1000, action="ACCEPT",
           account=ACCOUNT_A, eni="eni-0a1b2c3d4e5f60001", status="OK", **extra) -> dict:
    values = {"version": 2, "account-id": account, "interface-id": eni, "srcaddr": src,
              "dstaddr": dst, "srcport": sport, "dstport": dport, "protocol": proto,
              "packets": packets, "bytes": bytes_, "start": start, "end": start + 60,
              "action": action, "log-status": status}
    values.update({k.replace("_", "-"): v for k, v in extra.items()})
    return values


def object_path(root: Path, account: str, region: str, delivered: int, flow_log: str,
                suffix: str = "0000abcd") -> Path:
    moment = datetime.fromtimestamp(delivered, UTC)
    folder = (root / "AWSLogs" / account / "vpcflowlogs" / region
              / moment.strftime("%Y") / moment.strftime("%m") / moment.strftime("%d"))
    name = (f"{account}_vpcflowlogs_{region}_{flow_log}_{moment.strftime('%Y%m%dT%H%MZ')}"
            f"_{suffix}.log.gz")
    return folder / name


def write_object(root: Path, records: list[dict], account: str = ACCOUNT_A,
                 region: str = "us-east-1", delivered: int | None = None,
                 flow_log: str = "fl-0123456789abcdef0", fmt=DEFAULT_FORMAT) -> Path:
    """One gzip object holding records, delivered 10 minutes after the last one starts."""
    if delivered is None:
        delivered = max(r["start"] for r in records) + 600
        delivered -= delivered % 300
    path = object_path(root, account, region, delivered, flow_log)
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [" ".join(fmt)]
    for r in records:
        lines.append(" ".join("-" if r.get(name) is None else str(r[name]) for name in fmt))
    path.write_bytes(gzip.compress(("\n".join(lines) + "\n").encode(), mtime=0))
    return path


def files_under(root) -> set[str]:
    """Every file below ``root``, as paths relative to it."""
    import os

    return {os.path.relpath(os.path.join(folder, name), root)
            for folder, _, names in os.walk(root) for name in names}


def write_three_records(root: Path) -> Path:
    """A request and its answer, and a rejected SSH attempt: the pages' small store."""
    write_object(root, [
        record("10.0.0.5", "10.0.1.9", 40001, 443, start=T0 + 100),
        record("10.0.1.9", "10.0.0.5", 443, 40001, start=T0 + 160),
        record("198.51.100.7", "10.0.0.5", 51515, 22, start=T0 + 200, action="REJECT"),
    ])
    return root
