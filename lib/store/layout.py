"""The key layout AWS writes flow logs in, and walking it through a backend.

    AWSLogs/{account}/vpcflowlogs/{region}/{yyyy}/{mm}/{dd}/[{HH}/]{object}
    AWSLogs/aws-account-id={account}/aws-service=vpcflowlogs/aws-region={region}/
        year={yyyy}/month={mm}/day={dd}/[hour={HH}/]{object}
    object: {account}_vpcflowlogs_{region}_{flow-log-id}_{yyyymmddTHHmmZ}_{hash}.log.gz

File lists are built from the layout (account, region, day folders and the delivery time in
the name), never by scanning every object: a week of one organisation is tens of thousands
of objects, and on S3 a day folder is one listing.
"""

from __future__ import annotations

import re
from calendar import timegm
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

OBJECT_NAME = re.compile(
    r"(?P<account>\d{12})_vpcflowlogs_(?P<region>[a-z0-9-]+)_(?P<flow_log_id>fl-[0-9a-z]+)_"
    r"(?P<stamp>\d{8}T\d{4}Z)_(?P<hash>[0-9a-z]+)\.(?P<ext>log\.gz|log|parquet)$")
ACCOUNT_DIR = re.compile(r"\d{12}")
REGION_DIR = re.compile(r"[a-z]{2}(-[a-z]+)+-\d{1,2}")
YEAR_DIR, TWO_DIGITS = re.compile(r"\d{4}"), re.compile(r"\d{2}")
SERVICE = "vpcflowlogs"
# Records can be stamped slightly after the object's delivery slot (clock skew in the
# slot rounding): accept objects delivered up to this much before the range starts.
EARLY_SLACK_S = 300

Day = tuple[str, str, str]


@dataclass(frozen=True)
class StoredObject:
    path: str  # a file path, or s3://bucket/key
    account: str
    region: str
    flow_log_id: str | None  # None for objects whose name is not AWS's
    delivered: int | None  # epoch of the delivery slot named in the key
    size: int

    @property
    def name(self) -> str:
        return self.path.rsplit("/", 1)[-1]

    @property
    def is_raw(self) -> bool:
        return not self.path.endswith(".parquet")  # Parquet deliveries are not read as text


def parse_stamp(stamp: str) -> int:
    """'20261126T0905Z' -> epoch seconds (by slicing: strptime is slow per object)."""
    return timegm((int(stamp[0:4]), int(stamp[4:6]), int(stamp[6:8]), int(stamp[9:11]),
                   int(stamp[11:13]), 0, 0, 0, 0))


def name_match(name: str):
    # Parquet objects may be named '.log.parquet'; OBJECT_NAME knows '.parquet'.
    return OBJECT_NAME.match(name.replace(".log.parquet", ".parquet"))


def delivered_at(name: str) -> int | None:
    match = name_match(name)
    return parse_stamp(match["stamp"]) if match else None


def delivered_within(name: str, first: int, last: int) -> bool:
    delivered = delivered_at(name)
    return delivered is None or first <= delivered <= last


def level(name: str, key: str, pattern: re.Pattern, hive: bool) -> str | None:
    """The value of a folder name at one level ('2026' or 'year=2026'), None if it is not."""
    if hive:
        if not name.startswith(key + "="):
            return None
        name = name[len(key) + 1:]
    return name if pattern.fullmatch(name) else None


def days_between(first: int, last: int) -> list[Day]:
    day, end_day = datetime.fromtimestamp(first, UTC).date(), datetime.fromtimestamp(last, UTC).date()
    out = []
    while day <= end_day:
        out.append((f"{day.year:04d}", f"{day.month:02d}", f"{day.day:02d}"))
        day += timedelta(days=1)
    return out


def day_start(day: Day) -> int:
    return int(datetime(int(day[0]), int(day[1]), int(day[2]), tzinfo=UTC).timestamp())


@dataclass(frozen=True)
class Region:
    """One account's region folder, plain or Hive-style."""

    account: str
    region: str
    hive: bool = False

    @property
    def parts(self) -> tuple[str, ...]:
        if self.hive:
            return ("AWSLogs", f"aws-account-id={self.account}", f"aws-service={SERVICE}",
                    f"aws-region={self.region}")
        return ("AWSLogs", self.account, SERVICE, self.region)

    def day(self, day: Day) -> Folder:
        return Folder(self.account, self.region, day, self.hive)


@dataclass(frozen=True)
class Folder:
    """One day folder of one account and region (the unit a cache converts)."""

    account: str
    region: str
    day: Day
    hive: bool = False

    @property
    def parts(self) -> tuple[str, ...]:
        region = Region(self.account, self.region, self.hive).parts
        if self.hive:
            return (*region, f"year={self.day[0]}", f"month={self.day[1]}", f"day={self.day[2]}")
        return (*region, *self.day)

    @property
    def rel(self) -> str:
        """A short name, unique within a store: 'account/region/yyyy/mm/dd' (plain) or the
        Hive-style folder names."""
        parts = self.parts
        return "/".join((parts[1], parts[3], *parts[4:]))

    @classmethod
    def from_rel(cls, rel: str) -> Folder:
        account, region, year, month, day = rel.split("/")
        hive = account.startswith("aws-account-id=")
        values = [p.split("=", 1)[1] if hive else p for p in (account, region, year, month, day)]
        return cls(values[0], values[1], (values[2], values[3], values[4]), hive)


# --- walking a store ----------------------------------------------------------------------

def regions(backend, accounts=None, wanted_regions=None) -> Iterator[Region]:
    """Region folders (both styles) of the accounts wanted (None: all)."""
    for name in backend.listing(("AWSLogs",))[0]:
        for hive in (False, True):
            account = level(name, "aws-account-id", ACCOUNT_DIR, hive)
            if account is None or accounts is not None and account not in accounts:
                continue
            service = f"aws-service={SERVICE}" if hive else SERVICE
            for region_dir in backend.listing(("AWSLogs", name, service))[0]:
                region = level(region_dir, "aws-region", REGION_DIR, hive)
                if region and (not wanted_regions or region in wanted_regions):
                    yield Region(account, region, hive)


def accounts_and_regions(backend) -> list[tuple[str, str]]:
    return sorted({(r.account, r.region) for r in regions(backend)})


def _dated(backend, parts: tuple[str, ...], key: str, pattern: re.Pattern, hive: bool
           ) -> list[str]:
    return sorted(v for v in (level(n, key, pattern, hive) for n in backend.listing(parts)[0]) if v)


def all_folders(backend) -> list[Folder]:
    """Every day folder of the store (a build reads them all: one listing per year and
    month, none per object)."""
    found = []
    for region in regions(backend):
        hive, base = region.hive, region.parts
        for year in _dated(backend, base, "year", YEAR_DIR, hive):
            year_parts = (*base, f"year={year}" if hive else year)
            for month in _dated(backend, year_parts, "month", TWO_DIGITS, hive):
                month_parts = (*year_parts, f"month={month}" if hive else month)
                found.extend(region.day((year, month, day)) for day in
                             _dated(backend, month_parts, "day", TWO_DIGITS, hive))
    return found


def list_day(backend, folder: Folder, first: int | None = None, last: int | None = None
             ) -> list[StoredObject]:
    """Objects of one day folder (and its hour folders, if any), by name; with first/last,
    only those delivered between (objects whose name gives no time are always kept)."""
    dirs, files = backend.listing(folder.parts)
    named = [((), name, size) for name, size in files]
    for hour_dir in dirs:
        if level(hour_dir, "hour", TWO_DIGITS, folder.hive):
            named += [((hour_dir,), n, s) for n, s in backend.listing((*folder.parts, hour_dir))[1]]
    found = []
    for sub, name, size in named:
        match = name_match(name)
        delivered = parse_stamp(match["stamp"]) if match else None
        if delivered is not None and first is not None and not first <= delivered <= last:
            continue
        found.append(StoredObject(
            path=backend.path((*folder.parts, *sub), name), account=folder.account,
            region=folder.region, flow_log_id=match["flow_log_id"] if match else None,
            delivered=delivered, size=size))
    return sorted(found, key=lambda o: o.path)


def range_folders(backend, start: int, end: int, accounts=None, wanted_regions=None,
                  late_margin_s: int = 3600) -> tuple[int, int, list[Folder]]:
    """The day folders that can hold records whose start lies in [start, end), and the
    delivery window (first, last) of their objects.

    An object delivered at T holds records that started before T, at most ``late_margin_s``
    earlier. Day folders are the delivery day, so the folders from start's day to
    (end + margin)'s day are read.
    """
    first, last = start - EARLY_SLACK_S, end + late_margin_s
    wanted = set(accounts) if accounts is not None else None
    days = days_between(first, last)
    return first, last, [r.day(d) for r in regions(backend, wanted, wanted_regions) for d in days]


def list_objects(backend, start: int, end: int, accounts=None, wanted_regions=None,
                 late_margin_s: int = 3600) -> list[StoredObject]:
    """Raw (text) objects that can hold records whose start lies in [start, end)."""
    first, last, folders = range_folders(backend, start, end, accounts, wanted_regions,
                                         late_margin_s)
    return [o for folder in folders for o in list_day(backend, folder, first, last) if o.is_raw]
