"""The local store: flow log objects in the S3 key layout AWS uses for a central bucket.

    AWSLogs/{account}/vpcflowlogs/{region}/{yyyy}/{mm}/{dd}/
        {account}_vpcflowlogs_{region}_{flow-log-id}_{yyyymmddTHHmmZ}_{hash}.log.gz

File lists are built from the key layout (account, region, day folders and the delivery
time in the name), never by scanning every object: a week of one organisation is tens of
thousands of objects.
"""

from __future__ import annotations

import os
import re
from calendar import timegm
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

OBJECT_NAME = re.compile(
    r"(?P<account>\d{12})_vpcflowlogs_(?P<region>[a-z0-9-]+)_(?P<flow_log_id>fl-[0-9a-z]+)_"
    r"(?P<stamp>\d{8}T\d{4}Z)_(?P<hash>[0-9a-z]+)\.(?P<ext>log\.gz|log|parquet)$")
ACCOUNT_DIR = re.compile(r"\d{12}")
REGION_DIR = re.compile(r"[a-z]{2}(-[a-z]+)+-\d{1,2}")
# Records can be stamped slightly after the object's delivery slot (clock skew in the
# slot rounding): accept objects delivered up to this much before the range starts.
EARLY_SLACK_S = 300


@dataclass(frozen=True)
class StoredObject:
    path: str
    account: str
    region: str
    flow_log_id: str | None  # None for objects whose name is not AWS's
    delivered: int | None  # epoch of the delivery slot named in the key
    size: int

    @property
    def name(self) -> str:
        return os.path.basename(self.path)


def parse_stamp(stamp: str) -> int:
    """'20261126T0905Z' -> epoch seconds (by slicing: strptime is slow per object)."""
    return timegm((int(stamp[0:4]), int(stamp[4:6]), int(stamp[6:8]), int(stamp[9:11]),
                   int(stamp[11:13]), 0, 0, 0, 0))


def _days(first: int, last: int) -> list[tuple[str, str, str]]:
    day = datetime.fromtimestamp(first, UTC).date()
    end_day = datetime.fromtimestamp(last, UTC).date()
    out = []
    while day <= end_day:
        out.append((f"{day.year:04d}", f"{day.month:02d}", f"{day.day:02d}"))
        day += timedelta(days=1)
    return out


def _subdirs(path: Path, pattern: re.Pattern, wanted) -> list[str]:
    try:
        names = [e.name for e in os.scandir(path) if e.is_dir() and pattern.fullmatch(e.name)]
    except FileNotFoundError:
        return []
    return sorted(n for n in names if wanted is None or n in wanted)


def accounts_and_regions(root: str | Path) -> list[tuple[str, str]]:
    base = Path(root) / "AWSLogs"
    return [(account, region)
            for account in _subdirs(base, ACCOUNT_DIR, None)
            for region in _subdirs(base / account / "vpcflowlogs", REGION_DIR, None)]


def list_day(root: str | Path, account: str, region: str, day: tuple[str, str, str],
             first: int | None = None, last: int | None = None) -> list[StoredObject]:
    """Objects of one day folder, by name; with first/last, only those delivered between
    (objects whose name gives no time are always kept). Sizes are read only for those."""
    folder = Path(root) / "AWSLogs" / account / "vpcflowlogs" / region / Path(*day)
    try:
        entries = [e for e in os.scandir(folder) if not e.name.startswith(".")]
    except FileNotFoundError:
        return []
    found = []
    for entry in entries:
        match = OBJECT_NAME.match(entry.name)
        delivered = parse_stamp(match["stamp"]) if match else None
        if delivered is not None and first is not None and not first <= delivered <= last:
            continue
        if not entry.is_file():
            continue
        found.append(StoredObject(
            path=entry.path, account=account, region=region,
            flow_log_id=match["flow_log_id"] if match else None, delivered=delivered,
            size=entry.stat().st_size))
    return sorted(found, key=lambda o: o.name)


def list_objects(root: str | Path, start: int, end: int, accounts=None, regions=None,
                 late_margin_s: int = 3600) -> list[StoredObject]:
    """Objects that can hold records whose start lies in [start, end).

    An object delivered at T holds records that started before T, at most ``late_margin_s``
    earlier. Day folders are the delivery day, so the folders from start's day to
    (end + margin)'s day are read; objects whose name gives no time are always included.
    """
    first, last = start - EARLY_SLACK_S, end + late_margin_s
    wanted_accounts = set(accounts) if accounts is not None else None
    wanted_regions = set(regions) if regions else None
    base = Path(root) / "AWSLogs"
    found = []
    for account in _subdirs(base, ACCOUNT_DIR, wanted_accounts):
        for region in _subdirs(base / account / "vpcflowlogs", REGION_DIR, wanted_regions):
            for day in _days(first, last):
                found.extend(list_day(root, account, region, day, first, last))
    return found
