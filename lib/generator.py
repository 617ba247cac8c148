"""Demo VPC flow logs: realistic, deterministic per seed, in AWS's S3 layout.

    generate(out_dir, records=100_000, days=7, seed=1, end=None, progress=None)

writes gzip objects exactly where a central flow log bucket would hold them::

    out_dir/AWSLogs/{account}/vpcflowlogs/{region}/{yyyy}/{mm}/{dd}/
        {account}_vpcflowlogs_{region}_{flow-log-id}_{yyyymmddTHHmmZ}_{hash}.log.gz

Decisions (documented for the readers and tests built on top):

* ``records`` is the exact number of record lines written (header lines excluded).
  NODATA/SKIPDATA lines and the scenario lines count as records.
* Record times (``start``/``end``) lie in ``[end - days*86400, end)``. Each flow log has
  an aggregation interval of 60 or 600 s; windows are aligned to multiples of it and a
  record's start and end lie inside one window. A record is delivered 5-10 minutes
  after its window closes: the object's slot ``T`` (a multiple of 300 s, in the name)
  satisfies ``300 <= T - window_end <= 600``; the day folder is ``T``'s UTC day. So
  objects can be stamped up to 20 minutes after ``end``, and records from just before
  midnight sit in the next day's folder (a few are always placed there).
* One object per flow log per 5-minute slot that has records. The 8-hex ``hash`` is
  derived from seed, flow log id and slot. gzip headers carry no name and mtime 0:
  same seed and end give byte-identical files.
* Formats: most flow logs use the v2 default format; one uses the custom v5 order from
  the AWS docs (tcp-flags, flow-direction, traffic-path, pkt-*-aws-service), one uses a
  v8 order with ``reject-reason`` (``BPA`` on some rejected inbound internet traffic).
* Reject share: round(5 %) of ``records`` exactly (port scans, internet noise, egress
  blocks, responses dropped by a stateless network ACL, scenario rejects).
* Connection-check scenarios (``GenerateSummary.scenarios`` and ``out_dir/scenarios.json``)
  use dedicated addresses that appear in no other record; they lie in the last day of the
  data, each ``{name, verdict, src, dst, dst_port, protocol, start, end, description,
  src_interface, dst_interface, records}`` (``end`` exclusive, ``records`` lines written).
* Speed: columns are drawn with numpy, lines assembled as byte matrices, objects gzipped
  (level 1) and written by two threads; per-object file creation dominates small data.
"""

from __future__ import annotations

import gzip
import hashlib
import ipaddress
import json
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime

import numpy as np

from lib import schema
from lib.store import ReportProgress

SLOT = 300  # delivery slot (s)
MIN_RECORDS = 200
GZIP_LEVEL = 1  # random IDs and numbers: level 6 is 3x slower for ~10 % less

# the custom format example of the AWS docs (version 5)
V5_FORMAT: tuple[str, ...] = (
    "version", "srcaddr", "dstaddr", "srcport", "dstport", "protocol", "start", "end", "type",
    "packets", "bytes", "account-id", "vpc-id", "subnet-id", "instance-id", "interface-id",
    "region", "az-id", "sublocation-type", "sublocation-id", "action", "tcp-flags",
    "pkt-srcaddr", "pkt-dstaddr", "pkt-src-aws-service", "pkt-dst-aws-service",
    "traffic-path", "flow-direction", "log-status")
# default fields first, then a selection up to reject-reason (version 8)
V8_FORMAT: tuple[str, ...] = (*schema.DEFAULT_FORMAT, "vpc-id", "subnet-id", "instance-id",
                              "tcp-flags", "type", "pkt-srcaddr", "pkt-dstaddr", "region",
                              "az-id", "flow-direction", "traffic-path", "reject-reason")
FORMATS = {"v2": schema.DEFAULT_FORMAT, "v5": V5_FORMAT, "v8": V8_FORMAT}
if not all(n in schema.BY_NAME for f in FORMATS.values() for n in f):
    raise RuntimeError("a demo format names a field lib.schema does not know")

REGIONS = ("us-east-1", "eu-west-1", "ap-northeast-1")
_AZ = {"us-east-1": ("use1-az1", "use1-az2", "use1-az4"),
       "eu-west-1": ("euw1-az1", "euw1-az2", "euw1-az3"),
       "ap-northeast-1": ("apne1-az1", "apne1-az2", "apne1-az4")}
_V6_PREFIX = {"us-east-1": 0x26001F18, "eu-west-1": 0x2A05D018, "ap-northeast-1": 0x2406DA14}

# (account index, region, format, aggregation interval, dual stack, ENIs); one VPC each.
_PLAN = (
    (0, "us-east-1", "v2", 600, False, 40),
    (0, "us-east-1", "v5", 60, True, 30),
    (0, "eu-west-1", "v2", 600, False, 25),
    (0, "ap-northeast-1", "v2", 600, False, 15),
    (1, "us-east-1", "v2", 60, False, 35),
    (1, "eu-west-1", "v2", 600, False, 25),
    (1, "eu-west-1", "v8", 600, True, 30),
    (2, "us-east-1", "v2", 600, False, 20),
    (3, "eu-west-1", "v2", 600, True, 30),
    (3, "ap-northeast-1", "v2", 60, False, 25),
    (3, "ap-northeast-1", "v2", 600, False, 25),
)
_FL_V5, _FL_V8 = 1, 6

# ENI roles and the ports their servers listen on
LB, NAT, ENDPOINT, BASTION, LAMBDA, WEB, APP, DB, CACHE, WORKER, SCEN = range(11)
_ROLE_PORTS = {LB: ([443, 80], [.85, .15]), ENDPOINT: ([443], [1.0]), BASTION: ([22], [1.0]),
               WEB: ([443, 80, 8080], [.6, .2, .2]),
               APP: ([8080, 8443, 9090, 9092, 9200, 27017], [.35, .2, .1, .15, .1, .1]),
               DB: ([5432, 3306, 1433], [.55, .35, .1]), CACHE: ([6379, 11211], [.8, .2])}
_HAS_INSTANCE = {BASTION, WEB, APP, DB, CACHE, WORKER, SCEN}

ACCEPT, REJECT, NOACTION = 0, 1, 2
OK, NODATA, SKIPDATA = 0, 1, 2
INGRESS, EGRESS, NODIR = 0, 1, 2
_ACTIONS = np.array(["ACCEPT", "REJECT", "-"], dtype=object)
_STATUS = np.array(["OK", "NODATA", "SKIPDATA"], dtype=object)
_DIRS = np.array(["ingress", "egress", "-"], dtype=object)
_PATHS = np.array(["-", "1", "2", "3", "4", "5", "6", "7", "8"], dtype=object)
_REASONS = np.array(["-", "BPA"], dtype=object)
_TYPES = np.array(["IPv4", "IPv6", "-"], dtype=object)

# first octets of the generated public IPv4 peers (no private, shared, loopback,
# link-local, documentation 192.0.2/198.51.100/203.0.113 or multicast space)
_PUBLIC_OCTETS = np.array([
    3, 4, 8, 13, 15, 18, 20, 23, 31, 34, 35, 37, 40, 44, 45, 46, 47, 50, 51, 52, 54, 62, 64,
    66, 69, 72, 74, 77, 78, 80, 81, 82, 85, 87, 89, 91, 93, 94, 95, 99, 104, 107, 108, 109,
    130, 134, 137, 141, 142, 143, 145, 151, 152, 157, 162, 164, 173, 176, 178, 185, 188,
    193, 194, 195, 196, 199, 200, 201, 207, 208, 209, 212, 213, 216, 217])
_AWS_SERVICES = ["AMAZON", "S3", "EC2", "DYNAMODB", "CLOUDFRONT", "ROUTE53"]
_V6_PEER_PREFIXES = [0x2A001450, 0x26064700, 0x2A032880, 0x26009000, 0x262001EC]


@dataclass
class GenerateSummary:
    out_dir: str
    records: int
    objects: int
    bytes: int  # gzip bytes written
    accounts: list[str]
    regions: list[str]
    start: int  # data covers [start, end) (epoch seconds, UTC)
    end: int
    seed: int
    scenarios: list[dict]
    flow_logs: list[dict]  # id, account, region, version, interval, fields
    record_counts: dict[str, int] = field(default_factory=dict)
    elapsed_s: float = 0.0
    # with cost_cases=True: the cost demo's VPCs, interfaces and bytes per charge class
    cost_cases: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["start_utc"] = _iso(self.start)
        d["end_utc"] = _iso(self.end)
        return d


def _iso(t: int) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def epoch_of(value: str | float) -> int:
    """Epoch seconds or ISO 8601 (naive means UTC) -> epoch seconds."""
    if isinstance(value, (int, float)):
        return int(value)
    text = value.strip()
    try:
        return int(float(text))
    except ValueError:
        pass
    try:
        dt = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise ValueError(f"not an epoch or ISO 8601 time: {value!r}") from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return int(dt.timestamp())


def text_progress(stream=None, width: int = 30) -> ReportProgress:
    """A progress callback drawing ``[#####.....]  42% message`` on a terminal stream."""
    stream = stream or sys.stderr
    last = [-1]

    def show(done: float, message: str) -> None:
        pct = int(max(0.0, min(1.0, done)) * 100)
        if pct == last[0] and pct < 100:
            return
        last[0] = pct
        filled = pct * width // 100
        stream.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {pct:3d}% {message:<40.40}")
        if pct >= 100:
            stream.write("\n")
        stream.flush()

    return show


# --- topology -------------------------------------------------------------------------

def _hexid(rng: np.random.Generator, prefix: str) -> str:
    return f"{prefix}-0{rng.bytes(8).hex()}"


class _Addresses:
    """All addresses in one table; records hold indexes. Index -1 renders as '-'."""

    def __init__(self) -> None:
        self.text: list[str] = []
        self.v6: list[bool] = []
        self.svc: list[str] = []
        self.internal: list[bool] = []
        self.seen: set[str] = set()

    def add(self, text: str, *, v6=False, svc="-", internal=False) -> int:
        self.seen.add(text)
        self.text.append(text)
        self.v6.append(v6)
        self.svc.append(svc)
        self.internal.append(internal)
        return len(self.text) - 1

    def public_v4(self, rng, n: int, octets=None) -> np.ndarray:
        out = []
        while len(out) < n:
            k = n - len(out)
            a = rng.choice(_PUBLIC_OCTETS if octets is None else np.array(octets), k).tolist()
            b, c = rng.integers(0, 256, (2, k)).tolist()
            d = rng.integers(1, 255, k).tolist()
            for t in (f"{w}.{x}.{y}.{z}" for w, x, y, z in zip(a, b, c, d, strict=True)):
                if t not in self.seen:
                    out.append(self.add(t))
        return np.array(out[:n])

    def arrays(self):
        return (np.array(self.text + ["-"], dtype=object), np.array(self.v6 + [False]),
                np.array(self.svc + ["-"], dtype=object), np.array(self.internal + [False]))


class _Topo:
    def __init__(self, rng: np.random.Generator) -> None:
        acc = ["0" + "".join(map(str, rng.integers(0, 10, 11)))]
        while len(acc) < 4:
            a = str(rng.integers(1, 10)) + "".join(map(str, rng.integers(0, 10, 11)))
            if a not in acc:
                acc.append(a)
        self.accounts = acc
        A = self.addr = _Addresses()
        octets = rng.choice(np.arange(1, 255), len(_PLAN), replace=False)
        self.flow_logs, self.fl_interval, self.fl_version = [], [], []
        enis: dict[str, list] = {k: [] for k in (
            "id", "fl", "role", "vpc", "subnet", "subnet_idx", "instance", "az", "account",
            "v4", "v6", "port", "win")}
        self.vpc_lo, self.vpc_hi, self._pools = [], [], []
        for v, (ai, region, fmt, interval, dual, n) in enumerate(_PLAN):
            fields = FORMATS[fmt]
            version = max(schema.BY_NAME[f].version for f in fields)
            self.flow_logs.append({"id": _hexid(rng, "fl"), "account": acc[ai], "region": region,
                                   "version": version, "interval": interval,
                                   "format": fmt, "fields": list(fields),
                                   "vpc_cidr": f"10.{octets[v]}.0.0/16"})
            self.fl_interval.append(interval)
            self.fl_version.append(version)
            vpc_id = _hexid(rng, "vpc")
            subnets = [_hexid(rng, "subnet") for _ in range(6)]
            third = [0, 1, 2, 16, 32, 48]  # 3 public, 3 private /24s, one per AZ
            hosts = [list(rng.permutation(np.arange(4, 255))) for _ in range(6)]
            v6_base = ((_V6_PREFIX[region] << 96) | (int(rng.integers(0, 1 << 16)) << 80)
                       | (int(rng.integers(0, 256)) << 72))
            self._pools.append((vpc_id, subnets, third, hosts, v6_base, dual, octets[v]))
            roles = [LB, LB, NAT, ENDPOINT, ENDPOINT, BASTION] + list(rng.choice(
                [WEB, APP, DB, CACHE, WORKER, LAMBDA], n - 6, p=[.2, .3, .1, .06, .28, .06]))
            self.vpc_lo.append(len(enis["id"]))
            for role in roles:
                public = role in (LB, NAT, BASTION) or (role == WEB and rng.random() < .5)
                s = int(rng.integers(0, 3)) + (0 if public else 3)
                self._add_eni(rng, enis, v, role, s, ai)
            self.vpc_hi.append(len(enis["id"]))
        self.n_regular = len(enis["id"])
        self.enis = enis
        # public peers
        self.ext_servers = A.public_v4(rng, 2000)
        aws = rng.random(2000) < .15
        aws[:12] = True  # a few of the busiest peers are AWS services
        for i in np.flatnonzero(aws):
            k = int(self.ext_servers[i])
            text = A.text[k]
            while text in A.seen:
                text = (f"{rng.choice([52, 54, 3, 18])}.{rng.integers(0, 256)}."
                        f"{rng.integers(0, 256)}.{rng.integers(1, 255)}")
            A.seen.add(text)
            A.text[k] = text
            A.svc[k] = str(rng.choice(_AWS_SERVICES, p=[.4, .25, .15, .1, .05, .05]))
        self.ext_clients = A.public_v4(rng, 20000)
        self.ext_noise = A.public_v4(rng, 5000)
        self.scanners = A.public_v4(rng, 6, octets=[45, 185, 193, 194, 89])
        self.ext_v6 = np.array([A.add(str(ipaddress.IPv6Address(
            (int(rng.choice(_V6_PEER_PREFIXES)) << 96) | int(rng.integers(1, 1 << 62)))), v6=True)
            for _ in range(300)])
        ranks = np.arange(1, 2001)
        self.ext_server_w = _norm(ranks ** -1.1)
        self.ext_client_w = _norm((np.arange(1, 20001) + 50.0) ** -0.9)
        self.ext_v6_w = _norm(np.arange(1, 301) ** -1.0)

    def _add_eni(self, rng, enis, v, role, s, ai, win=None, v6=None) -> int:
        vpc_id, subnets, third, hosts, v6_base, dual, octet = self._pools[v]
        region = self.flow_logs[v]["region"]
        enis["id"].append(_hexid(rng, "eni"))
        enis["fl"].append(v)
        enis["role"].append(role)
        enis["vpc"].append(vpc_id)
        enis["subnet"].append(subnets[s])
        enis["subnet_idx"].append(s)
        enis["instance"].append(_hexid(rng, "i") if role in _HAS_INSTANCE else "-")
        enis["az"].append(_AZ[region][s % 3])
        unknown = role == ENDPOINT and rng.random() < .3  # AWS-managed interface
        enis["account"].append("unknown" if unknown else self.accounts[ai])
        ip = f"10.{octet}.{third[s]}.{hosts[s].pop()}"
        enis["v4"].append(self.addr.add(ip, internal=True))
        if v6 is None:
            has6 = dual and role != NAT and (role == BASTION or rng.random() < .6)
        else:
            has6 = v6
        if has6:
            a6 = ipaddress.IPv6Address(v6_base | (s << 64) | int(rng.integers(1, 1 << 62)))
            enis["v6"].append(self.addr.add(str(a6), v6=True, internal=True))
        else:
            enis["v6"].append(-1)
        ports, p = _ROLE_PORTS.get(role, ([0], [1.0]))
        enis["port"].append(int(rng.choice(ports, p=p)))
        enis["win"].append(bool(rng.random() < .15) if win is None else win)
        return len(enis["id"]) - 1

    def scenario_eni(self, rng, v: int, subnet: int, port: int = 0, v6: bool = False) -> int:
        i = self._add_eni(rng, self.enis, v, SCEN, subnet, _PLAN[v][0], win=False, v6=v6)
        self.enis["port"][i] = port
        return i

    def finish(self, rng) -> None:
        e = self.enis
        self.eni_id = np.array(e["id"], dtype=object)
        self.eni_vpc = np.array(e["vpc"], dtype=object)
        self.eni_subnet = np.array(e["subnet"], dtype=object)
        self.eni_subnet_idx = np.array(e["subnet_idx"])
        self.eni_instance = np.array(e["instance"], dtype=object)
        self.eni_az = np.array(e["az"], dtype=object)
        self.eni_account = np.array(e["account"], dtype=object)
        self.eni_fl = np.array(e["fl"])
        self.eni_role = np.array(e["role"])
        self.eni_v4 = np.array(e["v4"])
        self.eni_v6 = np.array(e["v6"])
        self.eni_port = np.array(e["port"])
        self.eni_win = np.array(e["win"])
        n = len(self.eni_id)
        regular = np.arange(n) < self.n_regular
        # heavy-tailed activity and volume: a few hosts carry most of the bytes
        self.eni_weight = np.where(regular, rng.pareto(1.1, n) + 1, 0.0)
        self.eni_weight[self.eni_role == NAT] *= 4
        self.eni_vol = np.minimum(rng.pareto(1.3, n) + 1, 3000.0)
        self.fl_interval = np.array(self.fl_interval)
        (self.addr_text, self.addr_v6, self.addr_svc, self.addr_internal) = self.addr.arrays()
        self.regular = regular


def _norm(w) -> np.ndarray:
    w = np.asarray(w, dtype=float)
    return w / w.sum()


# --- records --------------------------------------------------------------------------

_COLS = {"eni": -1, "src": -1, "dst": -1, "sport": -1, "dport": -1, "proto": -1,
         "packets": -1, "bytes": -1, "start": 0, "end": 0, "action": ACCEPT, "status": OK,
         "flags": 0, "dirn": NODIR, "path": 0, "reason": 0, "conv": -1}
_I64 = ("packets", "bytes", "start", "end")
_DTYPES = {k: np.int64 if k in _I64 else np.int32 if k in ("eni", "src", "dst", "sport",
           "dport", "conv") else np.int16 for k in _COLS}  # -1 = no value


class _Rec:
    def __init__(self) -> None:
        self.blocks: list[dict] = []
        self.over = (-1, 0)  # (conversation, records to drop) to hit the exact count

    def add(self, mask=None, **cols) -> None:
        n = None
        for v in cols.values():
            if isinstance(v, np.ndarray):
                n = len(v) if mask is None else int(mask.sum())
                break
        if n is None:
            n = 1
        block = {}
        for k, default in _COLS.items():
            v = cols.get(k, default)
            if isinstance(v, np.ndarray):
                v = v if mask is None else v[mask]
                block[k] = v.astype(_DTYPES[k])
            else:
                block[k] = np.full(n, v, dtype=_DTYPES[k])
        self.blocks.append(block)

    def concat(self) -> dict[str, np.ndarray]:
        out = {}
        for k in _COLS:  # one column at a time, freeing the blocks' copies
            out[k] = np.concatenate([b.pop(k) for b in self.blocks])
        self.blocks = []
        return out


def _times(rng, n: int, begin: int, end: int) -> np.ndarray:
    """Start times with a daily cycle (peak mid-afternoon UTC) and quieter weekends."""
    starts = np.arange(begin, end, 3600)
    lengths = np.minimum(starts + 3600, end) - starts
    hour = (starts // 3600) % 24
    weekday = (starts // 86400 + 3) % 7  # 0 = Monday
    w = (0.55 + 0.45 * np.cos(2 * np.pi * (hour - 15) / 24)) * np.where(weekday >= 5, .7, 1.0)
    b = rng.choice(len(starts), n, p=_norm(w * lengths))
    return starts[b] + (rng.random(n) * lengths[b]).astype(np.int64)


def _windows(topo: _Topo, eni: np.ndarray, t: np.ndarray, end: int):
    interval = topo.fl_interval[topo.eni_fl[eni]]
    ws = t // interval * interval
    room = np.minimum(ws + interval, end) - 1 - t  # seconds left in the window
    return ws, room


def _pick(rng, n: int, weights: np.ndarray) -> np.ndarray:
    return rng.choice(len(weights), n, p=_norm(weights))


def _ephemeral(rng, topo: _Topo, eni: np.ndarray) -> np.ndarray:
    linux = rng.integers(32768, 61000, len(eni))
    win = rng.integers(49152, 65536, len(eni))
    return np.where(topo.eni_win[np.maximum(eni, 0)] & (eni >= 0), win, linux)


def _egress_path(rng, topo: _Topo, dst: np.ndarray) -> np.ndarray:
    """traffic-path of egress records: 1 inside the VPC, 7 gateway endpoint (S3/DynamoDB),
    8 internet gateway (2 on some older instance types)."""
    internal = topo.addr_internal[dst]
    svc = topo.addr_svc[dst]
    gw = (svc == "S3") | (svc == "DYNAMODB")
    inet = np.where(rng.random(len(dst)) < .85, 8, 2)
    return np.where(internal, 1, np.where(gw, 7, inet))


OUT, IN, EW, ICMP, UDP, V6 = range(6)
_KIND_P = [.40, .22, .28, .02, .05, .03]
_KIND_RECORDS = np.array([2, 2, 4, 2, 2, 2])
_OUT_PORTS = ([443, 80, 22, 8443, 993, 5222, 9418], [.78, .13, .02, .03, .01, .02, .01])


def _normal(rng, topo: _Topo, rec: _Rec, n_target: int, begin: int, end: int,
            nacl_bad: np.ndarray) -> None:
    """Ordinary accepted traffic: request and response records on each logged interface."""
    m = int(n_target / 2.0) + 50
    kinds = rng.choice(6, m, p=_KIND_P)
    udp_port = rng.choice([123, 53, 514], m, p=[.45, .4, .15])
    nrec = _KIND_RECORDS[kinds] - ((kinds == UDP) & (udp_port == 514))
    while nrec.sum() < n_target:  # only for tiny requests
        kinds, udp_port, nrec = (np.concatenate([a, a]) for a in (kinds, udp_port, nrec))
    cs = np.cumsum(nrec)
    k = int(np.searchsorted(cs, n_target)) + 1
    over = int(cs[k - 1] - n_target)
    kinds, udp_port = kinds[:k], udp_port[:k]
    role, regular = topo.eni_role, topo.regular
    w = topo.eni_weight
    client_w = w * np.isin(role, [WEB, APP, WORKER, LAMBDA, BASTION, NAT])
    inet_w = w * np.isin(role, [LB, WEB, BASTION]) * (topo.eni_subnet_idx < 3)
    inet_w[nacl_bad] = 0
    inet_w[role == LB] *= 3
    server_w = w * np.isin(role, [APP, DB, CACHE, ENDPOINT, WEB])
    ew_client = np.isin(role, [WEB, APP, WORKER, LAMBDA, LB, BASTION]) & regular
    v6_w = client_w * (topo.eni_v6 >= 0)

    c_eni = np.full(k, -1)
    s_eni = np.full(k, -1)
    s_addr = np.full(k, -1)
    c_addr = np.full(k, -1)
    s_port = np.zeros(k, np.int64)
    proto = np.full(k, 6)
    for kind, weights in ((OUT, client_w), (ICMP, client_w), (UDP, client_w), (V6, v6_w)):
        sel = kinds == kind
        c_eni[sel] = _pick(rng, int(sel.sum()), weights)
    sel = kinds == IN
    s_eni[sel] = _pick(rng, int(sel.sum()), inet_w)
    c_addr[sel] = topo.ext_clients[_pick(rng, int(sel.sum()), topo.ext_client_w)]
    sel = kinds == EW
    s_eni[sel] = _pick(rng, int(sel.sum()), server_w)
    for v in range(len(_PLAN)):  # the client is in the server's VPC
        here = sel & (topo.eni_fl[np.maximum(s_eni, 0)] == v)
        cw = w * ew_client * (topo.eni_fl == v)
        if here.any():
            c_eni[here] = _pick(rng, int(here.sum()), cw)
    same = sel & (c_eni == s_eni)  # never talk to yourself: take a neighbour
    if same.any():
        v = topo.eni_fl[c_eni[same]]
        lo, hi = np.array(topo.vpc_lo)[v], np.array(topo.vpc_hi)[v]
        c_eni[same] = lo + (c_eni[same] - lo + 1) % (hi - lo)
    for kind in (OUT, ICMP, UDP):
        sel = kinds == kind
        s_addr[sel] = topo.ext_servers[_pick(rng, int(sel.sum()), topo.ext_server_w)]
    sel = kinds == V6
    s_addr[sel] = topo.ext_v6[_pick(rng, int(sel.sum()), topo.ext_v6_w)]
    local_c = c_eni >= 0
    c_addr[local_c] = np.where(kinds[local_c] == V6, topo.eni_v6[c_eni[local_c]],
                               topo.eni_v4[c_eni[local_c]])
    local_s = s_eni >= 0
    s_addr[local_s] = topo.eni_v4[s_eni[local_s]]
    s_port[local_s] = topo.eni_port[s_eni[local_s]]
    sel = kinds == OUT
    s_port[sel] = rng.choice(_OUT_PORTS[0], int(sel.sum()), p=_OUT_PORTS[1])
    sel = kinds == V6
    s_port[sel] = np.where(rng.random(int(sel.sum())) < .9, 443, 80)
    sel = kinds == UDP
    s_port[sel] = udp_port[sel]
    proto[sel] = 17
    icmp = kinds == ICMP
    proto[icmp] = 1
    c_port = np.where(local_c, _ephemeral(rng, topo, c_eni), rng.integers(1024, 65536, k))
    c_port[icmp] = 0

    # time: mostly a daily cycle; a few just before midnight (delivered the next day)
    t = _times(rng, k, begin, end)
    midnight = end // 86400 * 86400
    if midnight - 300 > begin:
        n_mid = min(k, max(3, k // 1000))
        t[:n_mid] = midnight - rng.integers(10, 240, n_mid)
    home = np.where(local_c, c_eni, s_eni)
    _, room = _windows(topo, home, t, end)

    # packets and bytes: heavy-tailed, sized by the busier interface
    vol = np.maximum(topo.eni_vol[home], topo.eni_vol[np.maximum(s_eni, 0)] * local_s)
    data_pk = np.maximum(1, np.rint(rng.lognormal(1.3, 1.2, k) * vol)).astype(np.int64)
    data_pk = np.minimum(data_pk, 1_200_000)
    tcp = proto == 6
    huge = np.flatnonzero(tcp & ((kinds == EW) | (kinds == OUT)))[-max(2, k // 4000):]
    data_pk[huge] = rng.integers(1_500_000, 6_000_000, len(huge))
    data_sz = rng.integers(600, 1501, k)
    data_sz[huge] = rng.integers(1400, 1501, len(huge))
    ack_pk = np.maximum(1, np.rint(data_pk * rng.uniform(.35, .9, k))).astype(np.int64)
    ack_sz = rng.integers(40, 121, k)
    download = rng.random(k) < .75
    req_pk = np.where(download, ack_pk, data_pk)
    rsp_pk = np.where(download, data_pk, ack_pk)
    req_by = req_pk * np.where(download, ack_sz, data_sz)
    rsp_by = rsp_pk * np.where(download, data_sz, ack_sz)
    small = ~tcp  # ICMP echo, DNS, NTP, syslog
    pk = rng.integers(1, 5, k)
    req_pk[small] = rsp_pk[small] = pk[small]
    req_by[small] = pk[small] * np.select(
        [icmp, udp_port == 53, udp_port == 123], [84, rng.integers(60, 91, k), 76],
        rng.integers(100, 801, k))[small]
    rsp_by[small] = pk[small] * np.select(
        [icmp, udp_port == 53], [84, rng.integers(80, 513, k)], 76)[small]
    flag_code = rng.choice(5, k, p=[.74, .1, .08, .06, .02])
    req_flags = np.where(tcp, np.array([3, 2, 0, 1, 2])[flag_code], 0)
    rsp_flags = np.where(tcp, np.array([19, 18, 0, 1, 4])[flag_code], 0)
    refused = tcp & (flag_code == 4)  # connection refused: SYN answered by RST
    req_pk[refused] = rsp_pk[refused] = 1
    req_by[refused], rsp_by[refused] = 60, 40
    dur = np.minimum(room, rng.exponential(12, k).astype(np.int64) + data_pk // 3000)
    dur[huge] = room[huge]
    dur[small | refused] = np.minimum(room, rng.integers(0, 2, k))[small | refused]
    t_end = t + dur
    rsp_start = np.minimum(t + (rng.random(k) < .3), t_end)
    one_way = (kinds == UDP) & (udp_port == 514)
    conv = np.arange(k)
    c_path = _egress_path(rng, topo, s_addr)
    s_path = _egress_path(rng, topo, c_addr)
    common = {"proto": proto, "conv": conv}
    # at the client: request out, response in
    rec.add(local_c, eni=c_eni, src=c_addr, dst=s_addr, sport=c_port, dport=s_port,
            packets=req_pk, bytes=req_by, start=t, end=t_end, flags=req_flags,
            dirn=EGRESS, path=c_path, **common)
    rec.add(local_c & ~one_way, eni=c_eni, src=s_addr, dst=c_addr, sport=s_port, dport=c_port,
            packets=rsp_pk, bytes=rsp_by, start=rsp_start, end=t_end, flags=rsp_flags,
            dirn=INGRESS, **common)
    # at the server: request in, response out
    rec.add(local_s, eni=s_eni, src=c_addr, dst=s_addr, sport=c_port, dport=s_port,
            packets=req_pk, bytes=req_by, start=t, end=t_end, flags=req_flags,
            dirn=INGRESS, **common)
    rec.add(local_s & ~one_way, eni=s_eni, src=s_addr, dst=c_addr, sport=s_port, dport=c_port,
            packets=rsp_pk, bytes=rsp_by, start=rsp_start, end=t_end, flags=rsp_flags,
            dirn=EGRESS, path=s_path, **common)
    rec.over = (k - 1, over)  # records of the last conversation to drop


def _scans(rng, topo: _Topo, rec: _Rec, n: int, begin: int, end: int) -> None:
    """Port scans: one source probing many ports of a host or one port on many hosts."""
    if n <= 0:
        return
    sizes = rng.integers(15, 250, n // 15 + 2)
    burst = np.repeat(np.arange(len(sizes)), sizes)[:n]
    nb = int(burst[-1]) + 1
    pos = np.arange(n) - np.concatenate([[0], np.cumsum(sizes)])[burst]
    scanner = topo.scanners[rng.choice(len(topo.scanners), nb, p=_norm([8, 5, 3, 2, 1, 1]))]
    vpc_w = np.array([hi - lo for lo, hi in zip(topo.vpc_lo, topo.vpc_hi, strict=True)], float)
    vpc = rng.choice(len(vpc_w), nb, p=_norm(vpc_w))
    lo, hi = np.array(topo.vpc_lo)[vpc], np.array(topo.vpc_hi)[vpc]
    vertical = rng.random(nb) < .6
    host = lo + (rng.random(nb) * (hi - lo)).astype(np.int64)
    t0 = _times(rng, nb, begin, end)
    gap = rng.integers(0, 4, nb)
    fixed_sport = np.where(rng.random(nb) < .5, rng.integers(32768, 65536, nb), -1)
    rnd_host = lo[burst] + (rng.random(n) * (hi - lo)[burst]).astype(np.int64)
    eni = np.where(vertical[burst], host[burst], rnd_host)
    common_ports = np.array([21, 22, 23, 25, 80, 110, 135, 139, 443, 445, 1433, 3306, 3389,
                             5432, 5900, 6379, 8080, 8443, 9200, 27017])
    order = rng.permutation(np.concatenate([common_ports, np.arange(1, 1025)]))
    one_port = rng.choice([22, 23, 445, 3389, 5900, 6379, 9200, 27017, 2375, 8080], nb)
    dport = np.where(vertical[burst], order[(pos + burst * 37) % len(order)], one_port[burst])
    sport = np.where(fixed_sport[burst] >= 0, fixed_sport[burst],
                     rng.integers(1024, 65536, n))
    t = np.minimum(t0[burst] + pos * gap[burst], end - 1)
    pk = np.where(rng.random(n) < .85, 1, 2)
    _, room = _windows(topo, eni, t, end)
    rec.add(eni=eni, src=scanner[burst], dst=topo.eni_v4[eni], sport=sport, dport=dport,
            proto=6, packets=pk, bytes=pk * np.where(rng.random(n) < .7, 44, 40),
            start=t, end=t + np.minimum(pk - 1, room), action=REJECT, flags=2, dirn=INGRESS)


def _noise(rng, topo: _Topo, rec: _Rec, n: int, begin: int, end: int) -> None:
    """Internet background noise rejected by security groups (and BPA)."""
    if n <= 0:
        return
    eni = rng.choice(topo.n_regular, n)
    # make sure the v8 flow log shows a rejected inbound record (reject-reason BPA)
    eni[0] = topo.vpc_lo[_FL_V8]
    udp = rng.random(n) < .1
    dport = np.where(udp, rng.choice([161, 1900, 123, 5060, 11211], n),
                     rng.choice([22, 23, 3389, 445, 1433, 3306, 5432, 6379, 8080, 8443, 5900,
                                 25, 21, 111, 2323, 8088], n))
    t = _times(rng, n, begin, end)
    pk = rng.integers(1, 4, n)
    _, room = _windows(topo, eni, t, end)
    rec.add(eni=eni, src=topo.ext_noise[rng.choice(len(topo.ext_noise), n)],
            dst=topo.eni_v4[eni], sport=rng.integers(1024, 65536, n), dport=dport,
            proto=np.where(udp, 17, 6), packets=pk, bytes=pk * rng.integers(40, 61, n),
            start=t, end=t + np.minimum(rng.integers(0, 4, n), room), action=REJECT,
            flags=np.where(udp, 0, 2), dirn=INGRESS)


def _egress_blocked(rng, topo: _Topo, rec: _Rec, n: int, begin: int, end: int) -> None:
    """Outbound connections blocked by security group egress rules."""
    if n <= 0:
        return
    w = topo.eni_weight * np.isin(topo.eni_role, [WEB, APP, WORKER])
    eni = _pick(rng, n, w)
    dst = topo.ext_servers[rng.choice(len(topo.ext_servers), n)]
    t = _times(rng, n, begin, end)
    pk = rng.integers(1, 4, n)
    _, room = _windows(topo, eni, t, end)
    rec.add(eni=eni, src=topo.eni_v4[eni], dst=dst, sport=_ephemeral(rng, topo, eni),
            dport=rng.choice([25, 6667, 4444, 3333, 1337, 8333, 465], n), proto=6, packets=pk,
            bytes=pk * 60, start=t, end=t + np.minimum(pk * 2, room), action=REJECT, flags=2,
            dirn=EGRESS, path=_egress_path(rng, topo, dst))


def _nacl(rng, topo: _Topo, rec: _Rec, n: int, begin: int, end: int,
          bad: np.ndarray) -> None:
    """Inbound requests accepted, responses rejected by a stateless network ACL that has
    no outbound rule for the clients' ephemeral ports."""
    if n <= 0:
        return
    eni = bad[rng.choice(len(bad), n)]
    client = topo.ext_clients[_pick(rng, n, topo.ext_client_w)]
    sport = rng.integers(1024, 65536, n)
    dport = topo.eni_port[eni]
    t = _times(rng, n, begin, end)
    pk = rng.integers(1, 5, n)  # SYN retransmissions
    _, room = _windows(topo, eni, t, end)
    t_end = t + np.minimum(room, pk * 3)
    rec.add(eni=eni, src=client, dst=topo.eni_v4[eni], sport=sport, dport=dport, proto=6,
            packets=pk, bytes=pk * 60, start=t, end=t_end, flags=2, dirn=INGRESS)
    rec.add(eni=eni, src=topo.eni_v4[eni], dst=client, sport=dport, dport=sport, proto=6,
            packets=pk, bytes=pk * 60, start=np.minimum(t + 1, t_end), end=t_end,
            action=REJECT, flags=18, dirn=EGRESS, path=8)


def _nodata(rng, topo: _Topo, rec: _Rec, n: int, status: int, begin: int, end: int) -> None:
    if n <= 0:
        return
    eni = rng.choice(topo.n_regular, n)
    interval = topo.fl_interval[topo.eni_fl[eni]]
    first = -(-begin // interval)
    nwin = end // interval - first
    ws = (first + (rng.random(n) * nwin).astype(np.int64)) * interval
    rec.add(eni=eni, start=ws + rng.integers(0, 6, n), end=ws + interval - 1 -
            rng.integers(0, 6, n), action=NOACTION, status=status, flags=-1)


def _scenario_hosts(rng, topo: _Topo) -> dict[str, int]:
    """Dedicated interfaces and peers of the scenarios (before the tables are frozen)."""
    e = {k: topo.scenario_eni(rng, v, s, p, v6) for k, (v, s, p, v6) in {
        "s1": (_FL_V5, 4, 0, False), "d1": (_FL_V5, 5, 5432, False),
        "s2": (0, 3, 0, False), "d2": (0, 4, 3306, False),
        "s3": (_FL_V8, 3, 0, False), "d3": (_FL_V8, 5, 9200, False),
        "d4": (_FL_V8, 0, 443, False), "s5": (_FL_V5, 3, 0, False),
        "s6": (2, 3, 0, False), "d6": (2, 4, 5432, False),
        "s7": (_FL_V8, 3, 0, True), "d7": (_FL_V8, 4, 443, True),
        "s8": (8, 3, 0, False), "d8": (8, 5, 0, False)}.items()}
    e["web_client"] = topo.addr.add("198.51.100.77")
    e["unreachable"] = topo.addr.add("203.0.113.80")
    return e


def _scenarios(rng, topo: _Topo, rec: _Rec, e: dict[str, int], begin: int,
               end: int) -> list[dict]:
    """Dedicated, documented connection-check cases (addresses used nowhere else)."""
    span = end - begin
    out: list[dict] = []
    rows: list[dict] = []
    scenario_start = len(rec.blocks)

    def addr(eni: int, v6: bool = False) -> int:
        return int(topo.eni_v6[eni] if v6 else topo.eni_v4[eni])

    def case(i, name, verdict, src_eni, dst_eni, src, dst, port, proto, description, legs):
        """legs: records per attempt as (at, direction of flow, action, flags, path)."""
        # within the last day (the dashboards' default range), 2 h apart, at :17 past
        t0 = (end - int(min(span, 86400) * (0.85 - 0.09 * i))) // 600 * 600 + 17
        starts, ends = [], []
        for a in range(3):  # three attempts, four minutes apart
            t = t0 + a * 240
            sport = int(rng.integers(32768, 61000)) if proto != 1 else 0
            dport = port if proto != 1 else 0
            eni_any = src_eni if src_eni >= 0 else dst_eni
            _, room = _windows(topo, np.array([eni_any]), np.array([t]), end)
            long = proto == 6 and all(leg[2] == ACCEPT for leg in legs) and len(legs) == 4
            dur = int(min(room[0], rng.integers(2, 20)))
            pk_req = int(rng.integers(5, 40)) if long else int(rng.integers(1, 4))
            pk_rsp = int(rng.integers(5, 60)) if long else pk_req
            for at, flow, action, flags, path in legs:
                eni = src_eni if at == "src" else dst_eni
                fwd = flow == "req"
                pk = pk_req if fwd else pk_rsp
                size = 84 if proto == 1 else (int(rng.integers(60, 400)) if long else 60)
                dirn = EGRESS if (at == "src") == fwd else INGRESS
                rows.append({
                    "eni": eni, "src": src if fwd else dst, "dst": dst if fwd else src,
                    "sport": sport if fwd else dport, "dport": dport if fwd else sport,
                    "proto": proto, "packets": pk, "bytes": pk * size,
                    "start": t + (0 if fwd else min(1, dur)), "end": t + dur,
                    "action": action, "flags": flags, "dirn": dirn,
                    "path": path if dirn == EGRESS else 0})
            starts.append(t)
            ends.append(t + dur)
        out.append({"name": name, "verdict": verdict, "src": topo.addr_text[src],
                    "dst": topo.addr_text[dst], "dst_port": port, "protocol": proto,
                    "start": min(starts), "end": max(ends) + 1, "description": description,
                    "src_interface": topo.eni_id[src_eni] if src_eni >= 0 else None,
                    "dst_interface": topo.eni_id[dst_eni] if dst_eni >= 0 else None,
                    "records": 3 * len(legs)})

    full = [("src", "req", ACCEPT, 3, 1), ("src", "rsp", ACCEPT, 19, 0),
            ("dst", "req", ACCEPT, 3, 0), ("dst", "rsp", ACCEPT, 19, 1)]
    web, unreachable = e["web_client"], e["unreachable"]
    case(0, "connected", "connected", e["s1"], e["d1"], addr(e["s1"]), addr(e["d1"]), 5432, 6,
         "App host to PostgreSQL in the same VPC (custom v5 format flow log): requests and "
         "responses ACCEPT on both interfaces, tcp-flags 3 out / 19 back.", full)
    case(1, "rejected-inbound", "rejected-inbound", e["s2"], e["d2"], addr(e["s2"]),
         addr(e["d2"]), 3306, 6,
         "MySQL from a host in the same VPC (v2 format): the request leaves the source "
         "(ACCEPT egress) and is rejected at the destination's interface: its security "
         "group has no inbound rule for 3306 from the source. No responses.",
         [("src", "req", ACCEPT, 2, 1), ("dst", "req", REJECT, 2, 0)])
    case(2, "rejected-outbound", "rejected-outbound", e["s3"], e["d3"], addr(e["s3"]),
         addr(e["d3"]), 9200, 6,
         "Elasticsearch from a host in the same VPC (v8 format): rejected at the source's "
         "interface on egress (flow-direction egress; security group without the outbound "
         "rule); nothing reaches the destination, which has no records for this pair. "
         "(A v2 record could not show on which interface's side the REJECT happened.)",
         [("src", "req", REJECT, 2, 1)])
    case(3, "response-rejected", "response-rejected", -1, e["d4"], web, addr(e["d4"]), 443, 6,
         "HTTPS from an internet client (198.51.100.77) to a web server (v8 format): the "
         "request is ACCEPTed inbound, the SYN-ACK back to the client's ephemeral port is "
         "REJECTed outbound by the subnet's stateless network ACL (no outbound rule for "
         "1024-65535). reject-reason '-'.",
         [("dst", "req", ACCEPT, 2, 0), ("dst", "rsp", REJECT, 18, 8)])
    case(4, "no-response", "no-response", e["s5"], -1, addr(e["s5"]), unreachable, 443, 6,
         "HTTPS from a host (custom v5 format, tcp-flags) to 203.0.113.80: SYN only "
         "(tcp-flags 2), ACCEPTed egress, no response records: the remote end never answers.",
         [("src", "req", ACCEPT, 2, 8)])
    case(5, "no-records", "no-records", e["s6"], e["d6"], addr(e["s6"]), addr(e["d6"]), 5432, 6,
         "Two addresses in the same VPC (v2 format) with no records at all between them (nor "
         "anywhere else): nothing was sent, or the traffic is not covered by a flow log.", [])
    case(6, "connected-ipv6", "connected", e["s7"], e["d7"], addr(e["s7"], True),
         addr(e["d7"], True), 443, 6,
         "HTTPS over IPv6 between two dual-stack hosts in the same VPC (v8 format): "
         "requests and responses ACCEPT on both interfaces.", full)
    case(7, "connected-icmp", "connected", e["s8"], e["d8"], addr(e["s8"]), addr(e["d8"]), 0, 1,
         "Ping (ICMP echo, protocol 1, ports 0) between two hosts in the same VPC "
         "(v2 format): echo requests and replies ACCEPT on both interfaces.",
         [("src", "req", ACCEPT, 0, 1), ("src", "rsp", ACCEPT, 0, 0),
          ("dst", "req", ACCEPT, 0, 0), ("dst", "rsp", ACCEPT, 0, 1)])
    for row in rows:
        rec.add(**{k: np.array([v]) for k, v in row.items()})
    if not all(len(b["eni"]) == 1 for b in rec.blocks[scenario_start:]):
        raise RuntimeError("a scenario record block holds more than one record")
    return out


# --- writing --------------------------------------------------------------------------
# Lines are assembled as a byte matrix (one row per record, NUL-padded fixed-width fields,
# spaces between) and the NULs squeezed out: no Python object per field.

def _table(strings) -> np.ndarray:
    """Strings as NUL-padded ASCII rows (one per string)."""
    arr = np.array([t.encode("ascii") for t in strings], dtype="S")
    return arr.view(np.uint8).reshape(len(arr), arr.itemsize)


def _digits(a: np.ndarray) -> np.ndarray:
    """Non-negative integers as right-aligned ASCII digits (NUL-padded); negative -> '-'."""
    a = np.asarray(a, dtype=np.int64)
    missing = a < 0
    v = np.where(missing, 0, a)
    width = len(str(int(v.max()))) if len(v) else 1
    out = np.empty((len(v), width), np.uint8)
    ndigits = np.searchsorted(10 ** np.arange(1, width, dtype=np.int64), v, side="right") + 1
    for k in range(width - 1, -1, -1):
        v, d = np.divmod(v, 10)
        out[:, k] = d
    out += 48
    out[np.arange(width) < (width - ndigits)[:, None]] = 0  # no leading zeros
    if missing.any():
        out[missing] = 0
        out[missing, -1] = ord("-")
    return out


class _Tables:
    """Byte tables of everything a record field looks up."""

    def __init__(self, topo: _Topo) -> None:
        self.eni_id = _table(topo.eni_id)
        self.eni_account = _table(topo.eni_account)
        self.eni_vpc = _table(topo.eni_vpc)
        self.eni_subnet = _table(topo.eni_subnet)
        self.eni_instance = _table(topo.eni_instance)
        self.eni_az = _table(topo.eni_az)
        self.addr = _table(topo.addr_text)
        self.addr_v6 = topo.addr_v6
        self.svc = _table(topo.addr_svc)
        self.actions, self.status, self.dirs = (_table(_ACTIONS), _table(_STATUS),
                                                _table(_DIRS))
        self.paths, self.reasons, self.types = (_table(_PATHS), _table(_REASONS),
                                                _table(_TYPES))
        self.dash = _table(["-"])


def _address(tables: _Tables, idx: np.ndarray) -> np.ndarray:
    rows = tables.addr[idx]
    longest = int(np.count_nonzero(rows, axis=1).max()) if len(idx) else 1
    return rows[:, :longest]  # most batches have no IPv6: keep the matrix narrow


def _render(topo: _Topo, tables: _Tables, fl: int, r: dict[str, np.ndarray]
            ) -> tuple[bytes, np.ndarray]:
    """The batch's lines as one ASCII buffer and the byte offset of each line (n + 1)."""
    info = topo.flow_logs[fl]
    eni = r["eni"]
    n = len(eni)
    ints = {"srcport": "sport", "dstport": "dport", "protocol": "proto", "packets": "packets",
            "bytes": "bytes", "start": "start", "end": "end", "tcp-flags": "flags"}
    parts: list[np.ndarray] = []
    for name in info["fields"]:
        if name == "version":
            m = _table([str(info["version"])])[np.zeros(n, np.int64)]
        elif name == "region":
            m = _table([info["region"]])[np.zeros(n, np.int64)]
        elif name in ints:
            m = _digits(r[ints[name]])
        elif name in ("srcaddr", "pkt-srcaddr"):
            m = _address(tables, r["src"])
        elif name in ("dstaddr", "pkt-dstaddr"):
            m = _address(tables, r["dst"])
        elif name == "type":
            code = tables.addr_v6[r["src"]].astype(np.int64)
            code[r["src"] < 0] = 2
            m = tables.types[code]
        else:
            table, idx = {
                "account-id": (tables.eni_account, eni), "interface-id": (tables.eni_id, eni),
                "vpc-id": (tables.eni_vpc, eni), "subnet-id": (tables.eni_subnet, eni),
                "instance-id": (tables.eni_instance, eni), "az-id": (tables.eni_az, eni),
                "action": (tables.actions, r["action"]), "log-status": (tables.status, r["status"]),
                "pkt-src-aws-service": (tables.svc, r["src"]),
                "pkt-dst-aws-service": (tables.svc, r["dst"]),
                "flow-direction": (tables.dirs, r["dirn"]), "traffic-path": (tables.paths, r["path"]),
                "reject-reason": (tables.reasons, r["reason"]),
            }.get(name, (tables.dash, np.zeros(n, np.int64)))  # sublocation-*, ecs-*: '-'
            m = table[idx]
        if parts:
            parts.append(np.full((n, 1), ord(" "), np.uint8))
        parts.append(m)
    parts.append(np.full((n, 1), ord("\n"), np.uint8))
    mat = np.concatenate(parts, axis=1)
    offsets = np.zeros(n + 1, np.int64)
    np.cumsum(np.count_nonzero(mat, axis=1), out=offsets[1:])
    flat = mat.ravel()
    return flat[flat != 0].tobytes(), offsets


def _object_key(topo: _Topo, fl: int, slot: int, seed: int) -> str:
    info = topo.flow_logs[fl]
    t = time.gmtime(slot)
    day = f"{t.tm_year:04d}/{t.tm_mon:02d}/{t.tm_mday:02d}"
    stamp = f"{t.tm_year:04d}{t.tm_mon:02d}{t.tm_mday:02d}T{t.tm_hour:02d}{t.tm_min:02d}Z"
    h = hashlib.sha256(f"{seed}/{info['id']}/{slot}".encode()).hexdigest()[:8]
    return (f"AWSLogs/{info['account']}/vpcflowlogs/{info['region']}/{day}/"
            f"{info['account']}_vpcflowlogs_{info['region']}_{info['id']}_{stamp}_{h}.log.gz")


def _write_many(items: list[tuple[str, bytes]]) -> int:
    """gzip (no name, mtime 0: reproducible) and write; returns the bytes written."""
    total = 0
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_BINARY", 0)
    for path, raw in items:
        data = gzip.compress(raw, compresslevel=GZIP_LEVEL, mtime=0)
        fd = os.open(path, flags, 0o644)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
        finally:
            os.close(fd)
        total += len(data)
    return total


def _write_objects(topo: _Topo, r: dict[str, np.ndarray], fl: np.ndarray, slot: np.ndarray,
                   out_dir: str, seed: int, report: ReportProgress) -> tuple[int, int]:
    """One object per (flow log, slot); records are sorted by flow log, slot, start."""
    n = len(fl)
    key = fl * (1 << 40) + slot
    bounds = np.flatnonzero(np.diff(key)) + 1
    starts = np.concatenate([[0], bounds]).tolist()
    ends = np.concatenate([bounds, [n]]).tolist()
    obj_fl = fl[starts].tolist()
    obj_slot = slot[starts].tolist()
    n_obj = len(starts)
    tables = _Tables(topo)
    made: set[str] = set()
    written = 0
    batch_records = 200_000
    with ThreadPoolExecutor(max_workers=2) as pool:
        pending: list = []
        o = 0
        while o < n_obj:
            o2 = o + 1  # a batch: objects of one flow log, about batch_records records
            while (o2 < n_obj and obj_fl[o2] == obj_fl[o]
                   and ends[o2] - starts[o] <= batch_records):
                o2 += 1
            a, b = starts[o], ends[o2 - 1]
            buf, offsets = _render(topo, tables, obj_fl[o], {k: v[a:b] for k, v in r.items()})
            header = (" ".join(topo.flow_logs[obj_fl[o]]["fields"]) + "\n").encode("ascii")
            items = []
            for j in range(o, o2):
                path = os.path.join(out_dir, _object_key(topo, obj_fl[j], obj_slot[j], seed))
                folder = os.path.dirname(path)
                if folder not in made:
                    os.makedirs(folder, exist_ok=True)
                    made.add(folder)
                items.append((path, header + buf[offsets[starts[j] - a]:offsets[ends[j] - a]]))
            half = len(items) // 2
            futures = [pool.submit(_write_many, part) for part in (items[:half], items[half:])]
            written += sum(fu.result() for fu in pending)  # the previous batch
            pending = futures
            o = o2
            report(0.1 + 0.9 * a / n, f"writing objects {o}/{n_obj}")
        written += sum(fu.result() for fu in pending)
    return n_obj, written


# --- main entry -----------------------------------------------------------------------

def generate(out_dir, records: int = 100_000, days: float = 7, seed: int = 1,
             end: int | str | None = None, progress: ReportProgress | None = None,
             cost_cases: bool = False, gap_cases: bool = False) -> GenerateSummary:
    """Write demo flow logs under ``out_dir/AWSLogs/...`` and ``out_dir/scenarios.json``.

    ``records`` record lines (exactly) covering ``[end - days*86400, end)``; ``end`` is a
    UTC epoch (or ISO 8601 text), default now rounded down to 5 minutes. Existing files
    are not removed. ``progress(done_fraction, message)`` is called periodically.
    ``cost_cases`` adds the cost demo's traffic (two more flow logs, written after the
    ``records``; see add_cost_traffic) and ``out_dir/cost_cases.json``.
    ``gap_cases`` adds a flow log with gaps in its logging (a SKIPDATA interval, an hour
    without objects; see add_gap_traffic) and three more connection-check cases.
    """
    t_wall = time.monotonic()
    report = progress or (lambda done, message: None)
    records, seed = int(records), int(seed)
    end = int(time.time()) // SLOT * SLOT if end is None else epoch_of(end)
    if records < MIN_RECORDS:
        raise ValueError(f"records must be at least {MIN_RECORDS}")
    if not days > 0 or days * 86400 < 3 * 3600:
        raise ValueError("days must cover at least 3 hours (0.125)")
    if not 0 <= seed < 2**63:
        raise ValueError("seed must be a non-negative integer")
    begin = end - int(days * 86400)
    if gap_cases and end - begin < GAP_MIN_SPAN_S:
        raise ValueError(f"gap cases need at least {GAP_MIN_SPAN_S // 3600} hours of data "
                         f"(days >= {GAP_MIN_SPAN_S / 86400:.2f})")
    report(0.0, "building topology")
    rng = np.random.default_rng(seed)
    topo = _Topo(rng)
    hosts = _scenario_hosts(rng, topo)
    topo.finish(rng)
    rec = _Rec()
    scenarios = _scenarios(rng, topo, rec, hosts, begin, end)
    n_scen = len(rec.blocks)
    scen_rej = sum(int(b["action"][0] == REJECT) for b in rec.blocks)
    n_nodata, n_skip = max(1, round(records * .004)), max(1, round(records * .001))
    rejects = max(0, round(records * .05) - scen_rej)
    n_nacl, n_egress, n_scan = round(rejects * .2), round(rejects * .1), round(rejects * .35)
    n_noise = rejects - n_nacl - n_egress - n_scan
    n_normal = records - n_scen - n_nodata - n_skip - n_scan - n_noise - 2 * n_nacl - n_egress
    if n_normal < 20:
        raise ValueError(f"records must be at least {MIN_RECORDS}")
    report(0.02, "generating records")
    bad = np.flatnonzero(topo.regular & np.isin(topo.eni_role, [LB, WEB])
                         & np.isin(topo.eni_fl, [0, 5]) & (topo.eni_subnet_idx == 2))
    if len(bad) == 0:
        bad = np.array([topo.vpc_lo[0]])
    _scans(rng, topo, rec, n_scan, begin, end)
    _noise(rng, topo, rec, n_noise, begin, end)
    _egress_blocked(rng, topo, rec, n_egress, begin, end)
    _nacl(rng, topo, rec, n_nacl, begin, end, bad)
    _nodata(rng, topo, rec, n_nodata, NODATA, begin, end)
    _nodata(rng, topo, rec, n_skip, SKIPDATA, begin, end)
    n_fixed = sum(len(b["eni"]) for b in rec.blocks)
    report(0.03, "generating traffic")
    _normal(rng, topo, rec, n_normal, begin, end, bad)
    report(0.07, "sorting records into objects")
    r = rec.concat()
    last_conv, over = rec.over
    if over:
        drop = n_fixed + np.flatnonzero(r["conv"][n_fixed:] == last_conv)[-over:]
        keep = np.ones(len(r["eni"]), bool)
        keep[drop] = False
        r = {k: v[keep] for k, v in r.items()}
    n = len(r["eni"])
    if n != records:
        raise RuntimeError(f"the generator made {n} records, not the {records} asked for")

    fl = topo.eni_fl[r["eni"]]
    bpa = ((fl == _FL_V8) & (r["action"] == REJECT) & (r["dirn"] == INGRESS)
           & ~topo.addr_internal[r["src"]] & (r["src"] >= 0))
    r["reason"][bpa & ((rng.random(n) < .3) | (np.cumsum(bpa) == 1))] = 1
    # delivery slot: 5-10 minutes after the aggregation window closes
    interval = topo.fl_interval[fl]
    window_end = r["start"] // interval * interval + interval
    slot = -(-(window_end + SLOT) // SLOT) * SLOT
    slot += SLOT * ((window_end % SLOT == 0) & (rng.random(n) < .5))
    order = np.lexsort((r["start"], slot, fl))
    r = {k: v[order] for k, v in r.items()}
    fl, slot = fl[order], slot[order]
    costs = {}
    if cost_cases:
        r, fl, slot, costs = add_cost_traffic(topo, r, fl, slot, seed, begin, end)
        n = len(r["eni"])
    if gap_cases:
        r, fl, slot, gap_scenarios = add_gap_traffic(topo, r, fl, slot, seed, begin, end)
        scenarios = scenarios + gap_scenarios
        n = len(r["eni"])
    report(0.1, "writing objects")
    out_dir = os.fspath(out_dir)
    n_obj, written = _write_objects(topo, r, fl, slot, out_dir, seed, report)
    with open(os.path.join(out_dir, "scenarios.json"), "w", encoding="utf-8") as f:
        json.dump(scenarios, f, indent=2)
        f.write("\n")
    with open(os.path.join(out_dir, TOPOLOGY_FILE), "w", encoding="utf-8") as f:
        json.dump(topology_of(topo), f, indent=1)
        f.write("\n")
    if cost_cases:
        with open(os.path.join(out_dir, "cost_cases.json"), "w", encoding="utf-8") as f:
            json.dump(costs, f, indent=2)
            f.write("\n")
    counts = {"ACCEPT": int((r["action"] == ACCEPT).sum()),
              "REJECT": int((r["action"] == REJECT).sum()),
              "NODATA": int((r["status"] == NODATA).sum()),
              "SKIPDATA": int((r["status"] == SKIPDATA).sum()),
              "IPv6": int(topo.addr_v6[r["src"]][r["src"] >= 0].sum()),
              "bytes_over_2^31": int((r["bytes"] > 2**31).sum())}
    report(1.0, f"done: {n} records in {n_obj} objects")
    return GenerateSummary(
        out_dir=out_dir, records=n, objects=n_obj, bytes=written,
        accounts=list(topo.accounts),
        regions=sorted({f["region"] for f in topo.flow_logs}),
        start=begin, end=end, seed=seed, scenarios=scenarios,
        flow_logs=[{k: f[k] for k in ("id", "account", "region", "version", "interval",
                                      "format", "fields", "vpc_cidr")}
                   for f in topo.flow_logs],
        record_counts=counts, elapsed_s=round(time.monotonic() - t_wall, 3), cost_cases=costs)


# --- the topology behind the records (issue 18: an EC2 inventory to match) -----------------

TOPOLOGY_FILE = "topology.json"
_ROLE_WORDS = {LB: "lb", NAT: "nat", ENDPOINT: "endpoint", BASTION: "bastion", LAMBDA: "lambda",
               WEB: "web", APP: "app", DB: "db", CACHE: "cache", WORKER: "worker",
               SCEN: "case"}
_SUBNET_THIRD = (0, 1, 2, 16, 32, 48)  # the /24s of each VPC (see _Topo.__init__)


def topology_of(topo: _Topo) -> dict:
    """The VPCs and interfaces of the main demo (not the cost or gap cases' extra ones), as
    ``lib.demo_ec2`` creates them in an EC2 endpoint: one VPC per flow log."""
    vpcs = [{"vpc": topo._pools[v][0], "account": f["account"], "region": f["region"],
             "cidr": f["vpc_cidr"],
             "subnets": [{"id": sid, "cidr": f"10.{topo._pools[v][6]}.{third}.0/24",
                          "az": _AZ[f["region"]][i % 3]}
                         for i, (sid, third) in enumerate(zip(topo._pools[v][1], _SUBNET_THIRD,
                                                              strict=True))]}
            for v, f in enumerate(topo.flow_logs[:len(_PLAN)])]
    interfaces = []
    # The cost and gap cases add interfaces of their own afterwards (only to some tables):
    # the main plan's are those every table holds.
    main = min(len(topo.eni_role), len(topo.eni_fl), len(topo.eni_subnet_idx))
    for i in range(main):
        if topo.eni_fl[i] >= len(_PLAN):
            continue
        role = int(topo.eni_role[i])
        interfaces.append({
            "id": str(topo.eni_id[i]), "vpc_index": int(topo.eni_fl[i]),
            "subnet_index": int(topo.eni_subnet_idx[i]), "role": _ROLE_WORDS[role],
            "port": int(topo.eni_port[i]), "address": str(topo.addr_text[topo.eni_v4[i]]),
            "instance": None if topo.eni_instance[i] == "-" else str(topo.eni_instance[i]),
            "name": f"{_ROLE_WORDS[role]}-{i}"})
    return {"vpcs": vpcs, "interfaces": interfaces}


# --- cost demo (issue 16): traffic of every charge class ------------------------------------
# Drawn from its own random stream and written by two flow logs of their own (a v5 one for
# VPC "cost-a", a v8 one for VPC "cost-b", account 0, us-east-1), after everything else: the
# other objects, scenarios and addresses are the same with or without it. Each conversation
# leg names the class issue 16's rules give it (None: counted at its sender), so the summary
# carries the exact bytes per class the Cost page must show for these two VPCs.

COST_SEED_OFFSET = 16_016  # the cost traffic's random stream: seed + this
COST_REGION = "us-east-1"
_COST_S3, _COST_DDB, _COST_EC2 = "52.219.", "3.218.", "54.239."


def _cost_address(topo: _Topo, rng, prefix: str, svc: str) -> int:
    while True:
        text = f"{prefix}{rng.integers(0, 256)}.{rng.integers(1, 255)}"
        if text not in topo.addr.seen:
            return topo.addr.add(text, svc=svc)


def _cost_vpc(topo: _Topo, rng, fmt: str, used_octets: set[int], account: int = 0,
             region: str = COST_REGION) -> int:
    """A new flow log and VPC (by default in account 0, us-east-1, the cost demo's)."""
    octet = next(o for o in range(250, 0, -1) if o not in used_octets)
    used_octets.add(octet)
    fields = FORMATS[fmt]
    version = max(schema.BY_NAME[f].version for f in fields)
    v = len(topo.flow_logs)
    topo.flow_logs.append({"id": _hexid(rng, "fl"), "account": topo.accounts[account],
                           "region": region, "version": version, "interval": 60,
                           "format": fmt, "fields": list(fields),
                           "vpc_cidr": f"10.{octet}.0.0/16"})
    subnets = [_hexid(rng, "subnet") for _ in range(6)]
    hosts = [list(rng.permutation(np.arange(4, 255))) for _ in range(6)]
    topo._pools.append((_hexid(rng, "vpc"), subnets, [0, 1, 2, 16, 32, 48], hosts, 0, False,
                        octet))
    topo.fl_interval = np.append(topo.fl_interval, 60)
    return v


def _refresh_tables(topo: _Topo) -> None:
    """The frozen arrays again, with the interfaces and addresses added after finish()."""
    e = topo.enis
    for name in ("id", "vpc", "subnet", "instance", "az", "account"):
        setattr(topo, f"eni_{name}", np.array(e[name], dtype=object))
    topo.eni_fl, topo.eni_v4 = np.array(e["fl"]), np.array(e["v4"])
    (topo.addr_text, topo.addr_v6, topo.addr_svc, topo.addr_internal) = topo.addr.arrays()


class _CostLegs:
    """Records of the cost conversations and the bytes per class they add up to."""

    def __init__(self) -> None:
        self.rows: list[dict] = []
        self.classes: dict[str, int] = {}
        self.savings: dict[str, int] = {}

    def add(self, charge: str | None, **row) -> None:
        self.rows.append(row)
        if charge is not None:
            self.classes[charge] = self.classes.get(charge, 0) + int(row["bytes"])


def _cost_conversation(legs: _CostLegs, t: int, up: int, down: int, client: int, server: int,
                       c_addr: int, s_addr: int, sport: int, dport: int,
                       out: tuple[int, str | None], back: tuple[int, str | None],
                       at_server: tuple[str | None, str | None] | None = None) -> None:
    """A request (up bytes) and its response (down bytes) at the client's interface, and at
    the server's when it has one. out/back: (traffic-path, class) of the client's records;
    at_server: the classes of the server's (ingress request, egress response)."""
    common = {"proto": 6, "start": t, "end": t + 20}
    legs.add(out[1], eni=client, src=c_addr, dst=s_addr, sport=sport, dport=dport,
             bytes=up, packets=max(1, up // 1200), dirn=EGRESS, path=out[0], flags=3, **common)
    legs.add(back[1], eni=client, src=s_addr, dst=c_addr, sport=dport, dport=sport,
             bytes=down, packets=max(1, down // 1200), dirn=INGRESS, path=0, flags=19,
             **common)
    if at_server is not None:
        legs.add(at_server[0], eni=server, src=c_addr, dst=s_addr, sport=sport, dport=dport,
                 bytes=up, packets=max(1, up // 1200), dirn=INGRESS, path=0, flags=3, **common)
        legs.add(at_server[1], eni=server, src=s_addr, dst=c_addr, sport=dport, dport=sport,
                 bytes=down, packets=max(1, down // 1200), dirn=EGRESS, path=1, flags=19,
                 **common)


def _through_nat(legs: _CostLegs, rng, t: int, up: int, down: int, client: int, nat: int,
                 c_addr: int, remote: int, nat_addr: int, cross_az: bool,
                 saving: str | None = None) -> None:
    """client -> NAT gateway -> remote: the client's records (nat-gateway both ways) and the
    NAT gateway's (in from the client: counted at the client; out to the remote: internet
    egress unless an AWS service; the answer in: free; out to the client: cross-AZ or free)."""
    sport, nat_port = int(rng.integers(32768, 61000)), int(rng.integers(1024, 65536))
    _cost_conversation(legs, t, up, down, client, -1, c_addr, remote, sport, 443,
                       (1, "nat-gateway"), (0, "nat-gateway"))
    if saving is not None:  # the client's bytes, which an endpoint would carry instead
        legs.savings[saving] = legs.savings.get(saving, 0) + up + down
    service = saving is not None
    common = {"proto": 6, "start": t, "end": t + 20, "eni": nat}
    legs.add(None, src=c_addr, dst=remote, sport=sport, dport=443, bytes=up,
             packets=max(1, up // 1200), dirn=INGRESS, path=0, flags=3, **common)
    legs.add("free" if service else "internet-egress", src=nat_addr, dst=remote,
             sport=nat_port, dport=443, bytes=up, packets=max(1, up // 1200), dirn=EGRESS,
             path=8, flags=3, **common)
    legs.add("free", src=remote, dst=nat_addr, sport=443, dport=nat_port, bytes=down,
             packets=max(1, down // 1200), dirn=INGRESS, path=0, flags=19, **common)
    legs.add("cross-az" if cross_az else "free", src=remote, dst=c_addr, sport=443,
             dport=sport, bytes=down, packets=max(1, down // 1200), dirn=EGRESS, path=1,
             flags=19, **common)


def _cost_traffic(topo: _Topo, seed: int, begin: int, end: int
                  ) -> tuple[dict[str, np.ndarray], dict]:
    """Hourly conversations of every charge class, and what the Cost page must show."""
    rng = np.random.default_rng(seed + COST_SEED_OFFSET)
    used = {int(f["vpc_cidr"].split(".")[1]) for f in topo.flow_logs}
    va, vb = _cost_vpc(topo, rng, "v5", used), _cost_vpc(topo, rng, "v8", used)
    ai = 0
    eni = {name: topo._add_eni(rng, topo.enis, v, role, s, ai, win=False, v6=False)
           for name, (v, role, s) in {
               "nat": (va, NAT, 0), "app_a": (va, APP, 3), "app_b": (va, WORKER, 4),
               "app_c": (va, WORKER, 3), "db_b": (va, DB, 4), "svc_b": (vb, APP, 3)}.items()}
    for i in eni.values():
        topo.enis["account"][i] = topo.accounts[ai]  # never "unknown": the costs are theirs
    own = {name: topo.enis["v4"][i] for name, i in eni.items()}
    web = topo.addr.public_v4(rng, 3)
    s3, ddb = _cost_address(topo, rng, _COST_S3, "S3"), _cost_address(topo, rng, _COST_DDB,
                                                                      "DYNAMODB")
    s3_gw, ec2 = _cost_address(topo, rng, _COST_S3, "S3"), _cost_address(topo, rng, _COST_EC2,
                                                                         "EC2")
    peer_region = topo.addr.add(f"10.{min(used) - 1 if min(used) > 1 else 254}.16.9",
                                internal=True)
    _refresh_tables(topo)
    legs = _CostLegs()
    gib = 1 << 30
    for hour in range(begin - begin % 3600 + 3600, end - 3600, 3600):
        # inside one 60 s aggregation window: start + 20 s ends before the window does
        t = hour + 60 * int(rng.integers(0, 40)) + int(rng.integers(0, 30))

        def size(scale: float) -> int:
            return int(rng.integers(int(scale * .5), int(scale * 1.5)))

        port = int(rng.integers(32768, 61000))
        _cost_conversation(legs, t, size(2e6), size(4e8), eni["app_a"], -1, own["app_a"],
                           int(web[0]), port, 443, (8, "internet-egress"), (0, "free"))
        _through_nat(legs, rng, t, size(1e6), size(2e8), eni["app_b"], eni["nat"],
                     own["app_b"], int(web[1]), own["nat"], cross_az=True)
        _through_nat(legs, rng, t, size(5e6), size(gib), eni["app_c"], eni["nat"],
                     own["app_c"], s3, own["nat"], cross_az=False, saving="gateway-endpoint")
        _through_nat(legs, rng, t, size(2e6), size(3e8), eni["app_a"], eni["nat"],
                     own["app_a"], ddb, own["nat"], cross_az=False, saving="gateway-endpoint")
        _through_nat(legs, rng, t, size(1e6), size(5e7), eni["app_b"], eni["nat"],
                     own["app_b"], ec2, own["nat"], cross_az=True, saving="interface-endpoint")
        _cost_conversation(legs, t, size(1e7), size(6e8), eni["app_c"], -1, own["app_c"], s3_gw,
                           int(rng.integers(32768, 61000)), 443, (7, "gateway-endpoint"),
                           (0, "free"))
        _cost_conversation(legs, t, size(5e7), size(8e8), eni["app_a"], eni["db_b"],
                           own["app_a"], own["db_b"], int(rng.integers(32768, 61000)), 5432,
                           (1, "cross-az"), (0, None), at_server=(None, "cross-az"))
        _cost_conversation(legs, t, size(2e7), size(3e8), eni["app_a"], eni["app_c"],
                           own["app_a"], own["app_c"], int(rng.integers(32768, 61000)), 8080,
                           (1, "free"), (0, None), at_server=(None, "free"))
        _cost_conversation(legs, t, size(3e8), size(1e7), eni["app_b"], -1, own["app_b"],
                           peer_region, int(rng.integers(32768, 61000)), 443,
                           (5, "inter-region"), (0, "free"))
        _cost_conversation(legs, t, size(1e8), size(2e8), eni["app_c"], eni["svc_b"],
                           own["app_c"], own["svc_b"], int(rng.integers(32768, 61000)), 8443,
                           (1, "transit-gateway"), (0, None),
                           at_server=(None, "transit-gateway"))
    records = {k: np.array([row.get(k, default) for row in legs.rows], dtype=_DTYPES[k])
               for k, default in _COLS.items()}
    vpcs = [topo._pools[v][0] for v in (va, vb)]
    cases = {"vpcs": vpcs, "region": COST_REGION, "account": topo.accounts[ai],
             "flow_logs": [topo.flow_logs[v]["id"] for v in (va, vb)],
             "interfaces": {name: topo.eni_id[i] for name, i in eni.items()},
             "addresses": {name: topo.addr_text[a] for name, a in own.items()},
             "bytes": dict(sorted(legs.classes.items())),
             "savings": dict(sorted(legs.savings.items()))}
    return records, cases


def add_cost_traffic(topo: _Topo, r: dict[str, np.ndarray], fl: np.ndarray, slot: np.ndarray,
                     seed: int, begin: int, end: int):
    """The records, flow logs and slots with the cost traffic after them (same order keys)."""
    extra, cases = _cost_traffic(topo, seed, begin, end)
    rng = np.random.default_rng(seed + COST_SEED_OFFSET + 1)
    extra_fl = topo.eni_fl[extra["eni"]]
    interval = topo.fl_interval[extra_fl]
    window_end = extra["start"] // interval * interval + interval
    extra_slot = -(-(window_end + SLOT) // SLOT) * SLOT
    extra_slot += SLOT * ((window_end % SLOT == 0) & (rng.random(len(extra_fl)) < .5))
    merged = {k: np.concatenate([r[k], extra[k]]) for k in r}
    fl, slot = np.concatenate([fl, extra_fl]), np.concatenate([slot, extra_slot])
    order = np.lexsort((merged["start"], slot, fl))
    return {k: v[order] for k, v in merged.items()}, fl[order], slot[order], cases



# --- gaps in the logging (issue 22): SKIPDATA and an hour without objects ---------------------
# One more flow log (v5, 60 s) and VPC of its own, in account 2 and ap-northeast-1, where
# that account logs nothing else: its hour without objects is a gap of the whole account
# and region. Drawn from its own random stream and written after everything else, so the
# rest of the demo is the same with or without it. Hourly conversations make each
# interface's own address known from its records; the three cases lie in the last day.

GAP_SEED_OFFSET = 22_022
GAP_ACCOUNT, GAP_REGION = 2, "ap-northeast-1"
# The cases' hours: two hours apart (an hour without objects loses the records delivered in
# it, some of the hour before's too), the last one a tenth of the last day before the end.
GAP_CASE_LAST_AT = 0.10
GAP_CASE_SPACING_S = 2 * 3600
GAP_MIN_SPAN_S = 8 * 3600  # room for the three cases and the hours around them


def _gap_hosts(topo: _Topo, rng) -> tuple[int, dict[str, int]]:
    used = {int(f["vpc_cidr"].split(".")[1]) for f in topo.flow_logs}
    v = _cost_vpc(topo, rng, "v5", used, account=GAP_ACCOUNT, region=GAP_REGION)
    eni = {name: topo._add_eni(rng, topo.enis, v, role, s, GAP_ACCOUNT, win=False, v6=False)
           for name, (role, s) in {"client": (APP, 3), "server": (DB, 4),
                                   "lonely": (WORKER, 3), "web": (WEB, 4)}.items()}
    for i in eni.values():
        topo.enis["account"][i] = topo.accounts[GAP_ACCOUNT]
    _refresh_tables(topo)
    return v, eni


def _gap_conversation(rows: list[dict], t: int, client: int, server: int, c_addr: int,
                      s_addr: int, sport: int, dport: int) -> None:
    """A TCP connection accepted both ways, logged at both interfaces (v5 directions)."""
    for eni, fwd, dirn in ((client, True, EGRESS), (client, False, INGRESS),
                           (server, True, INGRESS), (server, False, EGRESS)):
        rows.append({"eni": eni, "src": c_addr if fwd else s_addr,
                     "dst": s_addr if fwd else c_addr, "sport": sport if fwd else dport,
                     "dport": dport if fwd else sport, "proto": 6, "packets": 12,
                     "bytes": 12 * 300, "start": t + (0 if fwd else 1), "end": t + 20,
                     "flags": 3 if fwd else 19, "dirn": dirn,
                     "path": 1 if dirn == EGRESS else 0})


def _skipdata(rows: list[dict], eni: int, first: int, last: int) -> None:
    """One SKIPDATA record per 60 s aggregation window from first's to last's."""
    for window in range(first - first % 60, last, 60):
        rows.append({"eni": eni, "start": window + 1, "end": window + 59, "action": NOACTION,
                     "status": SKIPDATA, "flags": -1})


def _gap_traffic(topo: _Topo, seed: int, begin: int, end: int
                 ) -> tuple[dict[str, np.ndarray], list[dict], int]:
    """The records, the three cases and the hour whose objects are left out."""
    rng = np.random.default_rng(seed + GAP_SEED_OFFSET)
    _, e = _gap_hosts(topo, rng)
    own = {name: int(topo.eni_v4[i]) for name, i in e.items()}
    rows: list[dict] = []
    for hour in range(begin - begin % 3600, end, 3600):
        # at 5 past (never in a case's window), so every hour of the data has objects
        t = max(hour, begin) + 300 + int(rng.integers(0, 60))
        if t + 20 >= end:
            break
        for a, b, port in (("client", "server", 5432), ("lonely", "server", 5432),
                           ("client", "web", 443)):
            _gap_conversation(rows, t, e[a], e[b], own[a], own[b],
                              int(rng.integers(32768, 61000)), port)
    last = (end - int(min(end - begin, 86400) * GAP_CASE_LAST_AT)) // 3600 * 3600
    hours = [last - 2 * GAP_CASE_SPACING_S, last - GAP_CASE_SPACING_S, last]
    cases = []

    def case(name, hour, src, description, records):
        t0 = hour + 1800 + 17
        cases.append({"name": name, "verdict": "incomplete-logs",
                      "src": topo.addr_text[own[src]], "dst": topo.addr_text[own["web"]],
                      "dst_port": 443, "protocol": 6, "start": t0, "end": t0 + 600,
                      "description": description, "src_interface": topo.eni_id[e[src]],
                      "dst_interface": topo.eni_id[e["web"]], "records": records})
        return t0

    t0 = case("incomplete-logs-skipdata-destination", hours[0], "client",
              "HTTPS requests (SYN only, ACCEPTed egress at the source, custom v5 format) "
              "and no answer, while the destination's interface logged SKIPDATA over the "
              "whole window: its records were lost, so 'no response' cannot be told.", 3)
    for attempt in range(3):
        t = t0 + attempt * 180
        rows.append({"eni": e["client"], "src": own["client"], "dst": own["web"],
                     "sport": int(rng.integers(32768, 61000)), "dport": 443, "proto": 6,
                     "packets": 2, "bytes": 120, "start": t, "end": t + 5, "flags": 2,
                     "dirn": EGRESS, "path": 1})
    _skipdata(rows, e["web"], t0 - 180, t0 + 900)
    t0 = case("incomplete-logs-skipdata-source", hours[1], "lonely",
              "No records between the two hosts, while the source's interface logged SKIPDATA "
              "over the whole window: 'no records' cannot be told.", 0)
    _skipdata(rows, e["lonely"], t0 - 180, t0 + 900)
    case("incomplete-logs-missing-hour", hours[2], "lonely",
         "No records between the two hosts, in an hour in which the account and region "
         "delivered no flow log object at all (logging off, deleted or late).", 0)
    records = {k: np.array([row.get(k, default) for row in rows], dtype=_DTYPES[k])
               for k, default in _COLS.items()}
    return records, cases, hours[2]


def add_gap_traffic(topo: _Topo, r: dict[str, np.ndarray], fl: np.ndarray, slot: np.ndarray,
                    seed: int, begin: int, end: int):
    """The records, flow logs and slots with the gap flow log's after them (objects of its
    missing hour left out), and its cases."""
    extra, cases, missing_hour = _gap_traffic(topo, seed, begin, end)
    extra_fl = topo.eni_fl[extra["eni"]]
    window_end = extra["start"] // 60 * 60 + 60
    extra_slot = -(-(window_end + SLOT) // SLOT) * SLOT
    kept = (extra_slot < missing_hour) | (extra_slot >= missing_hour + 3600)
    extra = {k: v[kept] for k, v in extra.items()}
    merged = {k: np.concatenate([r[k], extra[k]]) for k in r}
    fl = np.concatenate([fl, extra_fl[kept]])
    slot = np.concatenate([slot, extra_slot[kept]])
    order = np.lexsort((merged["start"], slot, fl))
    return {k: v[order] for k, v in merged.items()}, fl[order], slot[order], cases
