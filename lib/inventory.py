"""The interface inventory: what each network interface is, so pages can say
"10.73.32.98 · db-primary (i-0…, instance)" instead of an address alone (issue 18).

Read with ``ec2:DescribeNetworkInterfaces`` (and ``DescribeInstances`` for the instances'
``Name`` tags) per account and region, through a role per account when
``inventory_role_name`` is set. Kept in SQLite (``inventory_db``, default
``<cache_dir>/inventory.sqlite3``) as history: an interface whose description changes gets a
new version from the time it was read, so an old flow is labelled with what the interface was
then. Refreshed when older than ``inventory_ttl_s``. Without an inventory nothing changes:
every lookup answers None.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import closing
from dataclasses import asdict, dataclass, field
from pathlib import Path

from lib.awsclients import assumed_session, base_session, settings_session
from lib.rules import read_rules

# EC2's InterfaceType values (and a few requesters) in the words the pages use.
INTERFACE_KINDS = {
    "interface": "instance", "natGateway": "NAT gateway", "nat_gateway": "NAT gateway",
    "vpc_endpoint": "VPC endpoint", "gateway_load_balancer_endpoint": "GWLB endpoint",
    "transit_gateway": "transit gateway", "lambda": "Lambda", "load_balancer": "load balancer",
    "network_load_balancer": "network load balancer",
    "gateway_load_balancer": "gateway load balancer", "efa": "EFA", "trunk": "trunk",
    "branch": "branch (EKS pod)", "api_gateway_managed": "API Gateway",
    "global_accelerator_managed": "Global Accelerator", "quicksight": "QuickSight",
}
REQUESTERS = {"amazon-rds": "RDS", "amazon-elb": "load balancer", "amazon-elasticache":
              "ElastiCache", "amazon-redshift": "Redshift", "amazon-eks": "EKS",
              "amazon-aurora": "Aurora"}
INSTANCE_BATCH = 100  # DescribeInstances takes at most this many IDs per call at once


class InventoryError(RuntimeError):
    """The inventory could not be read (credentials, a role, the endpoint); said plainly."""


@dataclass(frozen=True)
class NetworkInterface:
    interface_id: str
    account: str
    region: str
    kind: str = ""  # EC2's InterfaceType
    description: str = ""
    requester: str = ""
    private_ips: tuple[str, ...] = ()
    public_ips: tuple[str, ...] = ()
    subnet_id: str = ""
    vpc_id: str = ""
    az: str = ""
    security_groups: tuple[tuple[str, str], ...] = field(default=())  # (id, name)
    instance_id: str = ""
    instance_name: str = ""

    @property
    def what(self) -> str:
        """What the interface is, in words: 'RDS', 'NAT gateway', 'instance'…"""
        for requester, words in REQUESTERS.items():
            if self.requester.startswith(requester):
                return words
        if self.description.startswith("ELB "):
            return "load balancer"
        return INTERFACE_KINDS.get(self.kind, self.kind or "interface")

    @property
    def name(self) -> str:
        """The instance's Name tag, else the interface's description."""
        return self.instance_name or self.description

    def label(self) -> str:
        """'db-primary (i-0abc…, instance)'; the interface ID when nothing better is known."""
        owner = self.instance_id or self.interface_id
        return f"{self.name} ({owner}, {self.what})" if self.name else f"{owner} ({self.what})"

    def addresses(self) -> tuple[str, ...]:
        return self.private_ips + self.public_ips

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> NetworkInterface:
        data = json.loads(text)
        data["security_groups"] = tuple(tuple(g) for g in data.get("security_groups", ()))
        for key in ("private_ips", "public_ips"):
            data[key] = tuple(data.get(key, ()))
        return cls(**data)


# --- reading AWS -----------------------------------------------------------------------------

def interface_from(item: dict, account: str, region: str, names: dict[str, str]) -> NetworkInterface:
    """One DescribeNetworkInterfaces item."""
    private, public = [], []
    for address in item.get("PrivateIpAddresses") or []:
        private.append(address["PrivateIpAddress"])
        public_ip = (address.get("Association") or {}).get("PublicIp")
        if public_ip:
            public.append(public_ip)
    private += [a["Ipv6Address"] for a in item.get("Ipv6Addresses") or []]
    instance = (item.get("Attachment") or {}).get("InstanceId") or ""
    return NetworkInterface(
        interface_id=item["NetworkInterfaceId"], account=item.get("OwnerId") or account,
        region=region, kind=item.get("InterfaceType") or "",
        description=item.get("Description") or "", requester=item.get("RequesterId") or "",
        private_ips=tuple(dict.fromkeys(private)), public_ips=tuple(dict.fromkeys(public)),
        subnet_id=item.get("SubnetId") or "", vpc_id=item.get("VpcId") or "",
        az=item.get("AvailabilityZone") or "",
        security_groups=tuple((g["GroupId"], g.get("GroupName") or "")
                              for g in item.get("Groups") or []),
        instance_id=instance, instance_name=names.get(instance, ""))


def _instance_names(ec2, instance_ids: list[str]) -> dict[str, str]:
    names = {}
    for first in range(0, len(instance_ids), INSTANCE_BATCH):
        batch = instance_ids[first:first + INSTANCE_BATCH]
        for page in ec2.get_paginator("describe_instances").paginate(InstanceIds=batch):
            for reservation in page["Reservations"]:
                for instance in reservation["Instances"]:
                    tags = {t["Key"]: t["Value"] for t in instance.get("Tags") or []}
                    names[instance["InstanceId"]] = tags.get("Name", "")
    return names


def read_region(ec2, account: str, region: str) -> list[NetworkInterface]:
    """Every interface of one account and region, with its instance's Name tag."""
    items = [item for page in ec2.get_paginator("describe_network_interfaces").paginate()
             for item in page["NetworkInterfaces"]]
    instances = sorted({(i.get("Attachment") or {}).get("InstanceId") for i in items} - {None})
    names = _instance_names(ec2, instances) if instances else {}
    return [interface_from(item, account, region, names) for item in items]


def ec2_client(settings, account: str, region: str):
    """EC2 for one account and region: the configured credentials, through
    ``arn:aws:iam::<account>:role/<inventory_role_name>`` when that is set."""
    endpoint = settings.ec2_endpoint_url or None
    if settings.inventory_role_name:
        role = f"arn:aws:iam::{account}:role/{settings.inventory_role_name}"
        session = assumed_session(base_session(settings, region), role, "flowscope-inventory",
                                  region, endpoint)
    else:
        session = settings_session(settings, "flowscope-inventory", region)
    return session.client("ec2", region_name=region, endpoint_url=endpoint)


# --- the local history -------------------------------------------------------------------------

SCHEMA = """
CREATE TABLE IF NOT EXISTS interfaces (
    interface_id TEXT NOT NULL, first_seen INTEGER NOT NULL, last_seen INTEGER NOT NULL,
    data TEXT NOT NULL, PRIMARY KEY (interface_id, first_seen));
CREATE TABLE IF NOT EXISTS addresses (
    address TEXT NOT NULL, interface_id TEXT NOT NULL, first_seen INTEGER NOT NULL,
    PRIMARY KEY (address, interface_id, first_seen));
CREATE TABLE IF NOT EXISTS rules (
    account TEXT NOT NULL, region TEXT NOT NULL, taken_at INTEGER NOT NULL,
    data TEXT NOT NULL, PRIMARY KEY (account, region));
CREATE TABLE IF NOT EXISTS refreshes (
    account TEXT NOT NULL, region TEXT NOT NULL, taken_at INTEGER NOT NULL,
    PRIMARY KEY (account, region));
"""


class InventoryStore:
    """Versions of each interface over time (first and last time they were read)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._lock = threading.Lock()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as db:
            db.executescript(SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, timeout=30)

    def record(self, interfaces: Iterable[NetworkInterface], account: str, region: str,
               taken_at: int) -> int:
        """Store one reading of an account and region; returns how many versions are new."""
        new = 0
        with self._lock, closing(self._connect()) as db, db:
            for interface in interfaces:
                data = interface.to_json()
                latest = db.execute(
                    "SELECT first_seen, data FROM interfaces WHERE interface_id = ? "
                    "ORDER BY first_seen DESC LIMIT 1", (interface.interface_id,)).fetchone()
                if latest and latest[1] == data:
                    db.execute("UPDATE interfaces SET last_seen = ? WHERE interface_id = ? AND "
                               "first_seen = ?", (taken_at, interface.interface_id, latest[0]))
                    continue
                new += 1
                db.execute("INSERT OR REPLACE INTO interfaces VALUES (?, ?, ?, ?)",
                           (interface.interface_id, taken_at, taken_at, data))
                db.executemany("INSERT OR IGNORE INTO addresses VALUES (?, ?, ?)",
                               [(a, interface.interface_id, taken_at)
                                for a in interface.addresses()])
            db.execute("INSERT OR REPLACE INTO refreshes VALUES (?, ?, ?)",
                       (account, region, taken_at))
        return new

    def record_rules(self, rules, account: str, region: str, taken_at: int) -> None:
        """Today's security groups and network ACLs of an account and region (the latest
        reading only: rule hints speak of the configuration as it is now)."""
        with self._lock, closing(self._connect()) as db, db:
            db.execute("INSERT OR REPLACE INTO rules VALUES (?, ?, ?, ?)",
                       (account, region, taken_at, rules.to_json()))

    def rules(self):
        """Every account and region's rules as one set, and when the oldest was read
        (None: no rules read yet)."""
        from lib.rules import RuleSet

        merged, oldest = RuleSet(), None
        with closing(self._connect()) as db:
            rows = db.execute("SELECT taken_at, data FROM rules ORDER BY account, region").fetchall()
        for taken_at, data in rows:
            merged = merged.merged(RuleSet.from_json(data))
            oldest = taken_at if oldest is None else min(oldest, taken_at)
        return merged, oldest

    def taken_at(self, account: str, region: str) -> int | None:
        with closing(self._connect()) as db:
            row = db.execute("SELECT taken_at FROM refreshes WHERE account = ? AND region = ?",
                             (account, region)).fetchone()
        return row[0] if row else None

    def interface(self, interface_id: str, when: int | None = None) -> NetworkInterface | None:
        """The interface as it was at ``when`` (epoch seconds; default: now): the version
        read last before then, else (a flow older than the first reading) the first one."""
        when = int(time.time()) if when is None else when
        with closing(self._connect()) as db:
            row = db.execute(
                "SELECT data FROM interfaces WHERE interface_id = ? ORDER BY "
                "(first_seen <= ?) DESC, CASE WHEN first_seen <= ? THEN -first_seen "
                "ELSE first_seen END LIMIT 1", (interface_id, when, when)).fetchone()
        return NetworkInterface.from_json(row[0]) if row else None

    def holders(self, address: str, when: int | None = None, account: str | None = None
                ) -> list[NetworkInterface]:
        """The interfaces that held ``address`` at ``when`` (private ranges repeat across VPCs:
        there may be several); ``account`` narrows them to one account."""
        with closing(self._connect()) as db:
            ids = [r[0] for r in db.execute(
                "SELECT DISTINCT interface_id FROM addresses WHERE address = ? ORDER BY 1",
                (address,))]
        found = [self.interface(i, when) for i in ids]
        return [i for i in found if i is not None and address in i.addresses()
                and (account is None or i.account == account)]

    def all_latest(self) -> Iterator[NetworkInterface]:
        with closing(self._connect()) as db:
            rows = db.execute("SELECT data FROM interfaces i WHERE first_seen = (SELECT "
                              "MAX(first_seen) FROM interfaces j WHERE j.interface_id = "
                              "i.interface_id) ORDER BY interface_id").fetchall()
        for (data,) in rows:
            yield NetworkInterface.from_json(data)


def inventory_path(settings) -> Path:
    from lib.config import _default_cache_dir

    return Path(settings.inventory_db
                or Path(settings.cache_dir or _default_cache_dir()) / "inventory.sqlite3")


def inventory_store(settings) -> InventoryStore:
    return InventoryStore(inventory_path(settings))


@dataclass
class RefreshReport:
    read: list[tuple[str, str, int]] = field(default_factory=list)  # account, region, count
    fresh: list[tuple[str, str]] = field(default_factory=list)  # younger than the TTL
    failed: list[tuple[str, str, str]] = field(default_factory=list)  # account, region, why


def refresh(settings, folders: Iterable[tuple[str, str]], store: InventoryStore | None = None,
            now: int | None = None, force: bool = False, client_for=ec2_client
            ) -> RefreshReport:
    """Read the (account, region) folders whose last reading is older than
    ``inventory_ttl_s`` (all of them with ``force``). A folder that fails is reported and
    the others go on."""
    from botocore.exceptions import BotoCoreError, ClientError

    store = store or inventory_store(settings)
    now = int(time.time()) if now is None else now
    report = RefreshReport()
    for account, region in sorted(set(folders)):
        taken = store.taken_at(account, region)
        if not force and taken is not None and now - taken < settings.inventory_ttl_s:
            report.fresh.append((account, region))
            continue
        try:
            ec2 = client_for(settings, account, region)
            interfaces = read_region(ec2, account, region)
            rules = read_rules(ec2)
        except (BotoCoreError, ClientError) as error:
            report.failed.append((account, region, _plain_error(error)))
            continue
        store.record(interfaces, account, region, now)
        store.record_rules(rules, account, region, now)
        report.read.append((account, region, len(interfaces)))
    return report


def _plain_error(error) -> str:
    code = getattr(error, "response", {}).get("Error", {}).get("Code")
    if code in ("AccessDenied", "UnauthorizedOperation", "AccessDeniedException"):
        return (f"{code}: the role may not describe interfaces, security groups or network "
                "ACLs (see deploy/inventory-role.yaml "
                "for the policy it needs)")
    return f"{type(error).__name__}: {error}"
