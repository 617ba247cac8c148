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
import io
import os
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from lib.config import Settings
from lib.parser import FlowLogReadError, open_text, read_lines
from lib.query import Scope
from lib.records import Row, rows_of
from lib.schema import BY_COLUMN
from lib.store import ACCOUNT_DIR, OBJECT_NAME, REGION_DIR, StoredObject, parse_stamp

MAX_PAGE_SIZE = 1000
OBJECT_LIMIT = 1000  # objects listed per folder (AWS writes 288 a day per flow log)
LISTING_TTL_S = 60  # S3 listings are reused this long: every widget change reruns the page
READ_BUFFER = 64 * 1024
MAX_LINE_BYTES = 64 * 1024  # a flow log line is < 2 KB; a longer one is cut, never buffered whole
PARQUET_BUFFER = 1024 * 1024
ROLE_SESSION_S = 45 * 60  # assumed-role credentials last an hour: renew the client before that

_YEAR, _TWO_DIGITS = re.compile(r"\d{4}"), re.compile(r"\d{2}")
_SERVICE = "vpcflowlogs"


class StoreError(RuntimeError):
    """The store cannot be listed or opened; the message says why in plain words."""


class OutOfScope(PermissionError):
    """An account outside the user's scope (or a path outside the store) was asked for."""


@dataclass(frozen=True)
class Folder:
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


def _level(name: str, key: str, pattern: re.Pattern, hive: bool) -> str | None:
    """The value of a folder name at one level ('2026' or 'year=2026'), None if it is not."""
    if hive:
        if not name.startswith(key + "="):
            return None
        name = name[len(key) + 1:]
    return name if pattern.fullmatch(name) else None


def _aws_field(column: str) -> str:
    """AWS's Parquet objects name columns account_id; records use account-id."""
    known = BY_COLUMN.get(column)
    return known.name if known else column


def _object_name_match(name: str):
    # Parquet objects may be named '.log.parquet'; store.OBJECT_NAME knows '.parquet'.
    return OBJECT_NAME.match(name.replace(".log.parquet", ".parquet"))


# --- the store ----------------------------------------------------------------------------

class ObjectStore:
    """The layout of one store, seen through one user's account scope."""

    def __init__(self, backend, scope: Scope):
        self._backend = backend
        self._scope = scope

    @property
    def location(self) -> str:
        return self._backend.location

    def _allowed(self, account: str) -> None:
        if not self._scope.allows(account):
            raise OutOfScope(f"account {account} is outside the accounts you may see")

    def _dirs(self, parts: tuple[str, ...]) -> list[str]:
        return self._backend.listing(parts)[0]

    def accounts(self) -> list[Folder]:
        """Account folders within scope; an account whose flow logs use both folder styles
        has two, the Hive-style one labelled as such."""
        found = []
        for name in self._dirs(("AWSLogs",)):
            for hive in (False, True):
                account = _level(name, "aws-account-id", ACCOUNT_DIR, hive)
                if account and self._scope.allows(account):
                    found.append(Folder(account, ("AWSLogs", name), account, hive=hive))
        plain = {f.account for f in found if not f.hive}
        return sorted((replace(f, label=f"{f.account} (Hive-style folders)")
                       if f.hive and f.account in plain else f for f in found),
                      key=lambda f: f.label)

    def regions(self, account: Folder) -> list[Folder]:
        self._allowed(account.account)
        service = f"aws-service={_SERVICE}" if account.hive else _SERVICE
        parts = (*account.parts, service)
        out = []
        for name in self._dirs(parts):
            region = _level(name, "aws-region", REGION_DIR, account.hive)
            if region:
                out.append(Folder(region, (*parts, name), account.account, region, account.hive))
        return sorted(out, key=lambda f: f.label)

    def _dated(self, parent: Folder, key: str, pattern: re.Pattern) -> list[tuple[str, str]]:
        found = ((name, _level(name, key, pattern, parent.hive)) for name in self._dirs(
            parent.parts))
        return sorted((value, name) for name, value in found if value)

    def dates(self, region: Folder) -> list[Folder]:
        """Day folders, newest first (year, month and day folders listed one by one)."""
        self._allowed(region.account)
        out = []
        for year, year_dir in self._dated(region, "year", _YEAR):
            in_year = Folder(year, (*region.parts, year_dir), region.account, region.region,
                             region.hive)
            for month, month_dir in self._dated(in_year, "month", _TWO_DIGITS):
                in_month = Folder(month, (*in_year.parts, month_dir), region.account,
                                  region.region, region.hive)
                for day, day_dir in self._dated(in_month, "day", _TWO_DIGITS):
                    out.append(Folder(f"{year}-{month}-{day}", (*in_month.parts, day_dir),
                                      region.account, region.region, region.hive))
        return out[::-1]

    def hours(self, date: Folder) -> list[Folder]:
        """Hour folders of a day; empty when the layout has none (objects are in the day).
        The listing is the one ``objects`` uses, so a daily layout is listed once."""
        self._allowed(date.account)
        dirs = self._backend.listing(date.parts, OBJECT_LIMIT)[0]
        hours = ((_level(name, "hour", _TWO_DIGITS, date.hive), name) for name in dirs)
        return [Folder(hour, (*date.parts, name), date.account, date.region, date.hive)
                for hour, name in sorted(hours) if hour]

    def objects(self, folder: Folder, limit: int = OBJECT_LIMIT) -> list[StoredObject]:
        """The objects directly in a folder in name order (flow log, then delivery time),
        at most ``limit``."""
        self._allowed(folder.account)
        out = []
        for name, size in self._backend.listing(folder.parts, limit)[1]:
            match = _object_name_match(name)
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
            account = _level(parts[1], "aws-account-id", ACCOUNT_DIR, hive)
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
        try:
            lines, counter = self._backend.open_lines(obj.path)
        except FlowLogReadError as error:
            page.error = error.reason
            return page
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
        page.bytes_read = counter.count if counter else None
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
    return ObjectStore(_backend(settings), scope)


@functools.lru_cache(maxsize=8)
def _backend(settings: Settings):
    if settings.s3_location:
        return S3Backend(settings)
    from lib.engines import data_dir

    return LocalBackend(data_dir(settings))


def clear_caches() -> None:
    """Forget stores and their listings (tests; a changed bucket shows at once)."""
    _backend.cache_clear()


# --- local directories --------------------------------------------------------------------

class LocalBackend:
    def __init__(self, root: str | Path):
        self.root = Path(root).resolve()
        self.location = str(self.root)

    def listing(self, parts: tuple[str, ...], limit: int | None = None
                ) -> tuple[list[str], list[tuple[str, int]]]:
        try:
            entries = sorted(os.scandir(self.root.joinpath(*parts)), key=lambda e: e.name)
        except (FileNotFoundError, NotADirectoryError):
            return [], []
        except OSError as error:
            raise StoreError(f"cannot list {self.root.joinpath(*parts)}: {error}") from error
        visible = [e for e in entries if not e.name.startswith(".")]
        dirs = [e.name for e in visible if e.is_dir()]
        files = [(e.name, e.stat().st_size) for e in visible if e.is_file()]
        return dirs, files[:limit]

    def path(self, parts: tuple[str, ...], name: str) -> str:
        return str(self.root.joinpath(*parts, name))

    def parts_of(self, path: str) -> tuple[str, ...] | None:
        try:
            return Path(path).resolve().relative_to(self.root).parts
        except ValueError:
            return None

    def open_lines(self, path: str):
        return open_text(path), None

    def open_parquet(self, path: str):
        return open(path, "rb"), None  # noqa: SIM115 (closed by the caller)


# --- S3 -----------------------------------------------------------------------------------

def parse_s3_location(location: str) -> tuple[str, str]:
    """('bucket', 'prefix') of 's3://bucket/prefix/' (the folder holding AWSLogs/)."""
    if not location.startswith("s3://") or not location[5:].split("/")[0]:
        raise StoreError(f"s3_location must look like s3://bucket/prefix, not {location!r}")
    bucket, _, prefix = location[5:].partition("/")
    parts = [p for p in prefix.split("/") if p]
    if parts and parts[-1] == "AWSLogs":  # the AWSLogs folder itself was given
        parts.pop()
    return bucket, "/".join(parts)


class _Counted(io.RawIOBase):
    """Counts the bytes taken from a stream (what was actually fetched from S3)."""

    def __init__(self, stream):
        self._stream = stream
        self.count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        n = self._stream.readinto(buffer)
        self.count += n
        return n

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._stream.close()
        super().close()


class _RangedObject(io.RawIOBase):
    """A seekable view of one S3 object through ranged GETs: a Parquet reader then fetches
    the footer and the row groups it needs, not the object (botocore offers no such file)."""

    def __init__(self, client, bucket: str, key: str, size: int):
        self._client, self._bucket, self._key, self._size = client, bucket, key, size
        self._pos = 0
        self.count = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._size}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def readinto(self, buffer) -> int:
        want = min(len(buffer), self._size - self._pos)
        if want <= 0:
            return 0
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            body = self._client.get_object(
                Bucket=self._bucket, Key=self._key,
                Range=f"bytes={self._pos}-{self._pos + want - 1}")["Body"]
            with contextlib.closing(body):
                data = body.read()
        except (BotoCoreError, ClientError) as error:
            raise OSError(_plain(error, "read the object")) from error
        buffer[:len(data)] = data
        self._pos += len(data)
        self.count += len(data)
        return len(data)


def _s3_lines(raw: _Counted, name: str) -> Iterator[str]:
    """Lines of a streamed object, as parser.open_text gives them for a file."""
    from botocore.exceptions import BotoCoreError

    return read_lines(lambda: io.BufferedReader(raw, READ_BUFFER), name, (BotoCoreError,),
                      MAX_LINE_BYTES)


def _plain(error: Exception, what: str) -> str:
    """An S3 failure in words a person can act on."""
    from botocore.exceptions import ClientError, NoCredentialsError

    if isinstance(error, NoCredentialsError):
        return (f"cannot {what}: no AWS credentials found (set athena_profile or "
                "athena_role_arn, or the usual AWS_* variables)")
    if isinstance(error, ClientError):
        code = error.response.get("Error", {}).get("Code", "")
        reasons = {"NoSuchBucket": "the bucket does not exist",
                   "AccessDenied": "access denied (the credentials may not read this bucket)",
                   "NoSuchKey": "the object is no longer there",
                   "InvalidAccessKeyId": "the AWS access key is not valid",
                   "SignatureDoesNotMatch": "the AWS secret key is not valid"}
        return f"cannot {what}: {reasons.get(code, code or str(error))}"
    return f"cannot {what}: {error}"


@dataclass
class _Listing:
    at: float
    dirs: list[str]
    files: list[tuple[str, int]]


class S3Backend:
    """The log bucket through boto3, with the Athena settings' credentials and region."""

    def __init__(self, settings: Settings):
        self._settings = settings
        self.bucket, self.prefix = parse_s3_location(settings.s3_location)
        self.location = f"s3://{self.bucket}/{self.prefix}".rstrip("/")
        self._client: Any = None
        self._client_made = 0.0
        self._lock = threading.Lock()
        self._listings: dict[tuple, _Listing] = {}

    @property
    def client(self):
        with self._lock:
            expired = (self._settings.athena_role_arn
                       and time.monotonic() - self._client_made > ROLE_SESSION_S)
            if self._client is None or expired:
                self._client = self._make_client()
                self._client_made = time.monotonic()
            return self._client

    def _make_client(self):
        import boto3
        from botocore.config import Config

        config = self._settings
        endpoint = config.s3_endpoint_url or config.athena_endpoint_url or None
        session = boto3.Session(profile_name=config.athena_profile or None,
                                region_name=config.athena_region or None)
        if config.athena_role_arn:
            sts = session.client("sts", endpoint_url=config.athena_endpoint_url or None)
            creds = sts.assume_role(RoleArn=config.athena_role_arn,
                                    RoleSessionName="flowscope-records")["Credentials"]
            session = boto3.Session(aws_access_key_id=creds["AccessKeyId"],
                                    aws_secret_access_key=creds["SecretAccessKey"],
                                    aws_session_token=creds["SessionToken"],
                                    region_name=config.athena_region or None)
        return session.client("s3", endpoint_url=endpoint, config=Config(
            connect_timeout=10, read_timeout=30, retries={"mode": "standard"}))

    def _key(self, parts: tuple[str, ...], name: str = "") -> str:
        return "/".join(p for p in (self.prefix, *parts, name) if p)

    def listing(self, parts: tuple[str, ...], limit: int | None = None
                ) -> tuple[list[str], list[tuple[str, int]]]:
        cached = self._listings.get((parts, limit))
        if cached and time.monotonic() - cached.at < LISTING_TTL_S:
            return cached.dirs, cached.files
        listing = self._list(parts, limit)
        if len(self._listings) > 1000:  # a long-running server: forget what has expired
            now = time.monotonic()
            self._listings = {k: v for k, v in self._listings.items()
                              if now - v.at < LISTING_TTL_S}
        self._listings[(parts, limit)] = listing
        return listing.dirs, listing.files

    def _list(self, parts: tuple[str, ...], limit: int | None) -> _Listing:
        """One folder level: sub-folders (CommonPrefixes) and objects, page by page, stopping
        once ``limit`` objects are known."""
        from botocore.exceptions import BotoCoreError, ClientError

        prefix = self._key(parts) + "/"
        dirs: list[str] = []
        files: list[tuple[str, int]] = []
        try:
            pages = self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=prefix, Delimiter="/")
            for page in pages:
                dirs += [p["Prefix"][len(prefix):].rstrip("/")
                         for p in page.get("CommonPrefixes", [])]
                files += [(o["Key"][len(prefix):], o["Size"]) for o in page.get("Contents", [])
                          if not o["Key"].endswith("/")]
                if limit is not None and len(files) >= limit:
                    break
        except (BotoCoreError, ClientError) as error:
            raise StoreError(_plain(error, f"list s3://{self.bucket}/{prefix}")) from error
        return _Listing(time.monotonic(), dirs, files[:limit])

    def path(self, parts: tuple[str, ...], name: str) -> str:
        return f"s3://{self.bucket}/{self._key(parts, name)}"

    def parts_of(self, path: str) -> tuple[str, ...] | None:
        root = f"s3://{self.bucket}/" + (self.prefix + "/" if self.prefix else "")
        if not path.startswith(root):
            return None
        parts = tuple(path[len(root):].split("/"))
        return None if any(p in ("", ".", "..") for p in parts) else parts

    def _object_key(self, path: str) -> str:
        return path[len(f"s3://{self.bucket}/"):]

    def open_lines(self, path: str):
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            body = self.client.get_object(Bucket=self.bucket, Key=self._object_key(path))["Body"]
        except (BotoCoreError, ClientError) as error:
            raise FlowLogReadError(path, _plain(error, "read the object")) from error
        counted = _Counted(body)
        return _s3_lines(counted, os.path.basename(path)), counted

    def open_parquet(self, path: str):
        from botocore.exceptions import BotoCoreError, ClientError

        key = self._object_key(path)
        try:
            size = self.client.head_object(Bucket=self.bucket, Key=key)["ContentLength"]
        except (BotoCoreError, ClientError) as error:
            raise OSError(_plain(error, "read the object")) from error
        ranged = _RangedObject(self.client, self.bucket, key, size)
        return io.BufferedReader(ranged, PARQUET_BUFFER), ranged

