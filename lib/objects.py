"""Browsing stored flow log objects, in a local directory or the S3 bucket, alike.

Both stores hold the key layout AWS writes (optionally with Hive-compatible names and
hourly folders):

    AWSLogs/{account}/vpcflowlogs/{region}/{yyyy}/{mm}/{dd}/[{HH}/]{object}
    AWSLogs/aws-account-id={account}/aws-service=vpcflowlogs/aws-region={region}/
        year={yyyy}/month={mm}/day={dd}/[hour={HH}/]{object}

``ObjectStore`` walks it one level at a time (account -> region -> date -> hour ->
objects), so S3 is listed lazily with ``Delimiter='/'`` and never scanned whole. Reading an
object streams it: a page of records decompresses only as many bytes as that page needs
(a 75 MB object is not downloaded to show its first records); Parquet objects are read
through ranged GETs, footer and the row groups needed. Every call is bounded by the
user's account scope: accounts outside it are neither listed nor read.
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
from dataclasses import dataclass, replace

from lib.config import Settings
from lib.parser import MAX_LINE_BYTES, FlowLogReadError, read_lines
from lib.query import Scope
from lib.records import Row, rows_of
from lib.schema import BY_COLUMN
from lib.store import backends
from lib.store.backends import StoreError, parse_s3_location  # noqa: F401 (the page's names)
from lib.store.layout import (
    ACCOUNT_DIR,
    REGION_DIR,
    SERVICE,
    TWO_DIGITS,
    YEAR_DIR,
    StoredObject,
    level,
    name_match,
    parse_stamp,
)

MAX_PAGE_SIZE = 1000
OBJECT_LIMIT = 1000  # objects listed per folder (AWS writes 288 a day per flow log)


class OutOfScope(PermissionError):
    """An account outside the user's scope (or a path outside the store) was asked for."""


@dataclass(frozen=True)
class Level:
    """One level of the layout as the user picks it (an account, a region, a date, an hour)."""

    label: str  # what is shown: 012345678901, us-east-1, 2026-09-21, 09
    parts: tuple[str, ...]  # folder names from the store root, as stored
    account: str
    region: str = ""
    hive: bool = False  # names are key=value (Hive-compatible S3 prefixes)


@dataclass
class Page:
    """One page of an object's records, and how the reading went."""

    rows: list[Row]
    number: int  # 1-based
    size: int
    more: bool  # records follow this page
    error: str | None = None  # why reading stopped early (corrupt gzip, unreadable object)
    bytes_read: int | None = None  # stored (compressed) bytes fetched, where counted
    kind: str = "text"  # text | parquet

    @property
    def first(self) -> int:
        return (self.number - 1) * self.size + 1


def _aws_field(column: str) -> str:
    """AWS's Parquet objects name columns account_id; records use account-id."""
    known = BY_COLUMN.get(column)
    return known.name if known else column


# --- the store ----------------------------------------------------------------------------

class ObjectStore:
    """The layout of one store, seen through one user's account scope."""

    def __init__(self, backend, scope: Scope, max_line: int = MAX_LINE_BYTES):
        self._backend = backend
        self._scope = scope
        self._max_line = max_line

    @property
    def location(self) -> str:
        return self._backend.location

    def _allowed(self, account: str) -> None:
        if not self._scope.allows(account):
            raise OutOfScope(f"account {account} is outside the accounts you may see")

    def _dirs(self, parts: tuple[str, ...]) -> list[str]:
        return self._backend.listing(parts)[0]

    def accounts(self) -> list[Level]:
        """Account folders within scope; an account whose flow logs use both folder styles
        has two, the Hive-style one labelled as such."""
        found = []
        for name in self._dirs(("AWSLogs",)):
            for hive in (False, True):
                account = level(name, "aws-account-id", ACCOUNT_DIR, hive)
                if account and self._scope.allows(account):
                    found.append(Level(account, ("AWSLogs", name), account, hive=hive))
        plain = {f.account for f in found if not f.hive}
        return sorted((replace(f, label=f"{f.account} (Hive-style folders)")
                       if f.hive and f.account in plain else f for f in found),
                      key=lambda f: f.label)

    def regions(self, account: Level) -> list[Level]:
        self._allowed(account.account)
        service = f"aws-service={SERVICE}" if account.hive else SERVICE
        parts = (*account.parts, service)
        out = []
        for name in self._dirs(parts):
            region = level(name, "aws-region", REGION_DIR, account.hive)
            if region:
                out.append(Level(region, (*parts, name), account.account, region, account.hive))
        return sorted(out, key=lambda f: f.label)

    def _dated(self, parent: Level, key: str, pattern: re.Pattern) -> list[tuple[str, str]]:
        found = ((name, level(name, key, pattern, parent.hive)) for name in self._dirs(
            parent.parts))
        return sorted((value, name) for name, value in found if value)

    def dates(self, region: Level) -> list[Level]:
        """Day folders, newest first (year, month and day folders listed one by one)."""
        self._allowed(region.account)
        out = []
        for year, year_dir in self._dated(region, "year", YEAR_DIR):
            in_year = Level(year, (*region.parts, year_dir), region.account, region.region,
                             region.hive)
            for month, month_dir in self._dated(in_year, "month", TWO_DIGITS):
                in_month = Level(month, (*in_year.parts, month_dir), region.account,
                                  region.region, region.hive)
                for day, day_dir in self._dated(in_month, "day", TWO_DIGITS):
                    out.append(Level(f"{year}-{month}-{day}", (*in_month.parts, day_dir),
                                      region.account, region.region, region.hive))
        return out[::-1]

    def hours(self, date: Level) -> list[Level]:
        """Hour folders of a day; empty when the layout has none (objects are in the day).
        The listing is the one ``objects`` uses, so a daily layout is listed once."""
        self._allowed(date.account)
        dirs = self._backend.listing(date.parts, OBJECT_LIMIT)[0]
        hours = ((level(name, "hour", TWO_DIGITS, date.hive), name) for name in dirs)
        return [Level(hour, (*date.parts, name), date.account, date.region, date.hive)
                for hour, name in sorted(hours) if hour]

    def objects(self, folder: Level, limit: int = OBJECT_LIMIT) -> list[StoredObject]:
        """The objects directly in a folder in name order (flow log, then delivery time),
        at most ``limit``."""
        self._allowed(folder.account)
        out = []
        for name, size in self._backend.listing(folder.parts, limit)[1]:
            match = name_match(name)
            out.append(StoredObject(
                path=self._backend.path(folder.parts, name), account=folder.account,
                region=folder.region, flow_log_id=match["flow_log_id"] if match else None,
                delivered=parse_stamp(match["stamp"]) if match else None, size=size))
        return out

    def _account_of(self, path: str) -> str:
        """The account folder an object is stored under (the path decides, not the caller)."""
        parts = self._backend.parts_of(path)
        if not parts or len(parts) < 3 or parts[0] != "AWSLogs":
            raise OutOfScope(f"{path} is not an object of this store")
        for hive in (False, True):
            account = level(parts[1], "aws-account-id", ACCOUNT_DIR, hive)
            if account:
                return account
        raise OutOfScope(f"{path} is not under an account folder")

    def read_page(self, obj: StoredObject, number: int = 1, size: int = 100,
                  fmt: tuple[str, ...] | None = None) -> Page:
        """Records ``(number-1)*size+1`` .. ``number*size`` of an object, read from its start
        and no further. A read that breaks off keeps the rows before the break."""
        self._allowed(self._account_of(obj.path))
        number, size = max(1, number), min(max(1, size), MAX_PAGE_SIZE)
        if obj.path.endswith(".parquet"):
            return self._parquet_page(obj.path, number, size)
        page = Page([], number, size, more=False)
        opened = []

        def open_binary():
            opened.append(self._backend.open(obj.path))
            return opened[-1]

        lines = read_lines(open_binary, obj.path, self._backend.errors, self._max_line)
        with contextlib.closing(lines):
            rows = rows_of(lines, fmt, file=obj.name)
            try:
                for index, row in enumerate(rows):
                    if index < page.first - 1:
                        continue
                    if len(page.rows) == size:
                        page.more = True
                        break
                    page.rows.append(row)
            except FlowLogReadError as error:
                page.error = error.reason
            finally:
                rows.close()
        page.bytes_read = getattr(opened[0].raw, "count", None) if opened else None
        return page

    def _parquet_page(self, path: str, number: int, size: int) -> Page:
        import pyarrow as pa
        import pyarrow.parquet as pq

        page = Page([], number, size, more=False, kind="parquet")
        counter = None
        try:
            source, counter = self._backend.open_parquet(path)
            with source:
                parquet = pq.ParquetFile(source)
                names = tuple(_aws_field(c) for c in parquet.schema_arrow.names)
                _fill_parquet_page(page, parquet.iter_batches(batch_size=size), names,
                                   os.path.basename(path))
        except (pa.ArrowException, OSError) as error:
            page.error = f"not a readable Parquet object: {error}"
        page.bytes_read = counter.count if counter else None
        return page


def _fill_parquet_page(page: Page, batches, names: tuple[str, ...], name: str) -> None:
    seen = 0
    for batch in batches:
        if seen + batch.num_rows < page.first:  # whole batch before the page: skip unread
            seen += batch.num_rows
            continue
        for values in batch.to_pylist():
            seen += 1
            if seen < page.first:
                continue
            if len(page.rows) == page.size:
                page.more = True
                return
            record = {n: values[c] for n, c in zip(names, batch.schema.names, strict=True)}
            raw = " ".join("-" if v is None else str(v) for v in record.values())
            page.rows.append(Row({**record, "_file": name, "_line": seen}, raw, names))


REGION_LISTING_LIMIT = 50  # accounts whose region folders are listed for the filter choices


def accounts_and_regions(store: ObjectStore, region_limit: int = REGION_LISTING_LIMIT
                         ) -> tuple[list[str], list[str]]:
    """Choices for the sidebar's account and region filters: the account folders within
    scope, and the regions of the first ``region_limit`` of them (one listing each; a large
    organisation's other regions can still be typed)."""
    folders = store.accounts()
    accounts = sorted({f.account for f in folders})
    regions = sorted({r.region for f in folders[:region_limit] for r in store.regions(f)})
    return accounts, regions


def open_store(settings: Settings, scope: Scope) -> ObjectStore:
    """The configured store (S3 when ``s3_location`` is set, else the data directory) seen
    through ``scope``. Nothing is connected until something is listed or read."""
    return ObjectStore(_backend(settings), scope, settings.line_max_bytes)


@functools.lru_cache(maxsize=8)
def _backend(settings: Settings):
    if settings.s3_location:
        return backends.S3Backend(settings)
    from lib.engines.base import data_dir

    return backends.open_backend(data_dir(settings), settings)


def clear_caches() -> None:
    """Forget stores and their listings (tests; a changed bucket shows at once)."""
    _backend.cache_clear()
    backends.clear_caches()
