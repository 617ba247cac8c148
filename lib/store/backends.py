"""Where a store's objects are: a local directory or an S3 bucket, behind one small interface.

    listing(parts, limit=None) -> (folder names, [(object name, size)])   one folder level
    stamp(parts) -> int | None     a folder's change stamp (local mtime; S3 has none)
    path(parts, name) / parts_of(path)    an object's path and back
    open(path) -> a buffered binary stream (S3: streamed, its raw part counts the bytes)

Symbolic links are neither listed nor opened: a store is read where it is, never followed
out of it. S3 is listed with ``Delimiter='/'``, one level at a time, never scanned whole.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import io
import os
import stat
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

READ_BUFFER = 64 * 1024
LISTING_TTL_S = 60  # S3 listings are reused this long: every widget change reruns the page
ROLE_SESSION_S = 45 * 60  # assumed-role credentials last an hour: renew the client before that


class StoreError(RuntimeError):
    """The store cannot be listed or opened; the message says why in plain words."""


def is_s3(location: str) -> bool:
    return str(location).startswith("s3://")


def open_backend(location: str, settings=None):
    """The backend of a data location: ``s3://bucket/prefix`` or a directory. S3 is read with
    the settings' credentials and endpoint (athena_profile, athena_role_arn, athena_region,
    s3_endpoint_url)."""
    if not is_s3(location):
        return LocalBackend(location)
    if settings is None:
        from lib.config import load_settings

        settings = load_settings()
    return _s3_backend(location, settings)


@functools.lru_cache(maxsize=8)
def _s3_backend(location: str, settings) -> S3Backend:
    return S3Backend(settings, location)


def clear_caches() -> None:
    _s3_backend.cache_clear()


# --- local directories --------------------------------------------------------------------

class LocalBackend:
    errors: tuple = ()

    def __init__(self, root: str | Path):
        self.root = Path(root).resolve()
        self.location = str(self.root)

    def listing(self, parts: tuple[str, ...], limit: int | None = None
                ) -> tuple[list[str], list[tuple[str, int]]]:
        folder = self.root.joinpath(*parts)
        if any(p in ("", ".", "..") for p in parts):
            return [], []
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except (FileNotFoundError, NotADirectoryError):
            return [], []
        except OSError as error:
            raise StoreError(f"cannot list {folder}: {error}") from error
        # Symbolic links are skipped: they could lead out of the store.
        visible = [e for e in entries if not e.name.startswith(".") and not e.is_symlink()]
        dirs = [e.name for e in visible if e.is_dir(follow_symlinks=False)]
        files = [(e.name, e.stat(follow_symlinks=False).st_size) for e in visible
                 if e.is_file(follow_symlinks=False)]
        return dirs, files[:limit]

    def stamp(self, parts: tuple[str, ...]) -> int | None:
        try:
            return os.stat(self.root.joinpath(*parts), follow_symlinks=False).st_mtime_ns
        except FileNotFoundError:
            return None

    def path(self, parts: tuple[str, ...], name: str) -> str:
        return "/".join((self.location, *parts, name))  # by strings: one per object, cheap

    def parts_of(self, path: str) -> tuple[str, ...] | None:
        try:
            return Path(path).resolve().relative_to(self.root).parts
        except ValueError:
            return None

    def open(self, path: str):
        """The object's bytes. A path outside the store, or an object that is a symbolic
        link, is refused with PermissionError (listings skip linked folders, and the
        Records page resolves the path it is given; resolving here would cost a system call
        per folder level and object)."""
        parts = path[len(self.location) + 1:].split("/") if path.startswith(self.location + "/") \
            else [".."]
        if any(p in ("", ".", "..") for p in parts):
            raise PermissionError(f"{path} is outside the store: not read")
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
        except OSError as error:
            if error.errno == errno.ELOOP:
                raise PermissionError(f"{path} is a symbolic link: not followed") from None
            raise
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            raise IsADirectoryError(f"{path} is not a file")
        return open(fd, "rb", buffering=READ_BUFFER)  # noqa: SIM115 (closed by the caller)

    def open_parquet(self, path: str):
        return self.open(path), None


# --- S3 -----------------------------------------------------------------------------------

def parse_s3_location(location: str) -> tuple[str, str]:
    """('bucket', 'prefix') of 's3://bucket/prefix/' (the folder holding AWSLogs/)."""
    if not is_s3(location) or not location[5:].split("/")[0]:
        raise StoreError(f"an S3 location must look like s3://bucket/prefix, not {location!r}")
    bucket, _, prefix = location[5:].partition("/")
    parts = [p for p in prefix.split("/") if p]
    if parts and parts[-1] == "AWSLogs":  # the AWSLogs folder itself was given
        parts.pop()
    return bucket, "/".join(parts)


class Counted(io.RawIOBase):
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
            raise OSError(plain_error(error, "read the object")) from error
        buffer[:len(data)] = data
        self._pos += len(data)
        self.count += len(data)
        return len(data)


def plain_error(error: Exception, what: str) -> str:
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
    """A bucket through boto3, with the Athena settings' credentials and region."""

    def __init__(self, settings, location: str | None = None):
        from botocore.exceptions import BotoCoreError, ClientError

        self.errors = (BotoCoreError, ClientError)
        self._settings = settings
        self.bucket, self.prefix = parse_s3_location(location or settings.s3_location)
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
        from botocore.config import Config

        from lib.awsclients import settings_session

        config = self._settings
        endpoint = config.s3_endpoint_url or config.athena_endpoint_url or None
        session = settings_session(config, "flowscope-records")
        return session.client("s3", endpoint_url=endpoint, config=Config(
            connect_timeout=10, read_timeout=30, retries={"mode": "standard"},
            max_pool_connections=16))

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
        except self.errors as error:
            raise StoreError(plain_error(error, f"list s3://{self.bucket}/{prefix}")) from error
        return _Listing(time.monotonic(), sorted(dirs), sorted(files)[:limit])

    def stamp(self, parts: tuple[str, ...]) -> int | None:
        return None  # S3 folders have no modification time: recent folders are listed

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

    def open(self, path: str):
        """The object streamed (not downloaded whole); ``.raw.count`` is the bytes fetched."""
        try:
            body = self.client.get_object(Bucket=self.bucket, Key=self._object_key(path))["Body"]
        except self.errors as error:
            raise OSError(plain_error(error, "read the object")) from error
        return io.BufferedReader(Counted(body), READ_BUFFER)

    def open_parquet(self, path: str):
        key = self._object_key(path)
        try:
            size = self.client.head_object(Bucket=self.bucket, Key=key)["ContentLength"]
        except self.errors as error:
            raise OSError(plain_error(error, "read the object")) from error
        ranged = _RangedObject(self.client, self.bucket, key, size)
        return io.BufferedReader(ranged, 1024 * 1024), ranged
