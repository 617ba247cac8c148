"""A local columnar cache of the raw store: Parquet files the embedded engine reads instead of
gzip text, converted incrementally.

Layout, under ``Settings.cache_dir/columnar/<key of the data directory>/``::

    manifest.json        the only entry point: what each raw day folder's files are
    records/<account>/<region>/<yyyy>/<mm>/<dd>/<seq>.parquet    the folder's records
    rollups/<name>-<grain>/<account>/<region>/<yyyy>/<mm>/<dd>/<seq>.parquet  (lib/rollups.py)
    objects/<account>/<region>/<yyyy>/<mm>/<dd>/<seq>.json       the objects they hold
    build.lock

Decisions:

* One partition per raw day folder (account, region, delivery day): a query picks the same
  folders the raw path would (so the late-delivery margin works the same way), and a new or
  changed object touches one partition. Files hold every logical ``flows`` column
  (``log_account``, ``log_region``, every schema field, ``src_key``/``dst_key``), typed by
  the same SQL as the raw path, so both paths give the same answers.
* Rows are sorted by (action, start) in row groups of ROW_GROUP_ROWS: the row-group
  statistics let DuckDB skip the hours outside a query's range and, for rejected traffic,
  the accepted rows. Address keys are computed once per distinct address here, so a CIDR
  test is a range test on a stored column.
* Incremental: the manifest records each folder's modification time and, in a JSON file, the
  objects (name, size) converted. A build lists only folders that changed (or are recent,
  where appends are still likely) and converts their new objects into a new segment; more
  than MAX_SEGMENTS segments in a folder are merged. A changed or deleted object rebuilds
  its folder.
* Atomic and resumable: new files are written under temporary names and renamed; the
  manifest (tmp + rename) is committed every ``commit_every_s`` and at the end. A killed
  build leaves the last committed manifest, whose files all exist; its uncommitted files are
  deleted by the next build, which converts what is still missing. Files a commit drops are
  deleted only GRACE_S later, so a query that read the previous manifest still finds them.
* Fresh data: a reader compares each chosen folder's modification time with the recorded
  one; a folder that changed is listed, and its objects not yet converted are read raw and
  joined to the cache (UNION ALL). A changed or deleted object that was converted makes the
  reader fall back to the raw path until the next build.
* A corrupt object is skipped, recorded with its size and reason, reported by the build and
  by every query that would have read it, and retried once its size changes.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from lib.parser import FlowLogReadError
from lib.store import layout
from lib.store.backends import is_s3, open_backend
from lib.store.columns import (
    KEY_COLUMNS,
    RECORD_COLUMNS,
    complete,
    typed_records,
    typed_table,
    with_keys,
)
from lib.store.layout import Folder, StoredObject, day_start, delivered_within
from lib.store.reading import NO_HEADER, Headers, Limits, body_of, parse_body, read_object

__all__ = ["RECORD_COLUMNS", "Folder", "build", "status", "ColumnarCache", "BackgroundBuild"]

Progress = Callable[[float, str], None]

FORMAT = 1  # bump when the files' layout or meaning changes: older caches are rebuilt
MANIFEST = "manifest.json"
ROW_GROUP_ROWS = 16_384
MAX_SEGMENTS = 8  # segments in one folder before they are merged into one
GRACE_S = 600  # dropped files outlive the manifest that named them this long
HOT_S = 3600  # a day folder is listed by every build until this long after its day ends
SETTLED_S = 2  # a folder mtime newer than this may still change within the same clock tick
COMPRESSION = "zstd"


def location_of(data_dir: str) -> str:
    """What names a store in a manifest: its real path, or its s3:// location."""
    return data_dir.rstrip("/") if is_s3(data_dir) else os.path.realpath(data_dir)


def cache_dir_for(settings, data_dir: str) -> Path:
    """The cache of one data directory (or bucket), under the configured cache directory."""
    key = hashlib.sha1(location_of(data_dir).encode()).hexdigest()[:16]
    return settings.demo_dir.parent / "columnar" / key


def _live(folder: Folder, now: float) -> bool:
    """Objects still being written (copied in place, or delivered late) may still arrive in
    the folders of days that ended less than HOT_S ago: those are always listed."""
    return now < day_start(folder.day) + 86400 + HOT_S


# --- manifest ----------------------------------------------------------------------------

def _layout() -> list:
    from lib import rollups

    return [FORMAT, list(RECORD_COLUMNS), rollups.signature()]


def empty_manifest(data_dir: str) -> dict:
    return {"format": _layout(), "data_dir": location_of(data_dir), "folders": {},
            "garbage": [], "updated": None}


def read_manifest(cache_dir: Path) -> dict | None:
    """The committed manifest; None if missing or written for another layout (rebuilt)."""
    try:
        manifest = json.loads((cache_dir / MANIFEST).read_text())
    except (OSError, ValueError):
        return None
    return manifest if manifest.get("format") == _layout() else None


def _write_json(path: Path, value) -> None:
    """Atomically: a reader sees the old file or the new one, never a part."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    with open(temporary, "w") as handle:
        json.dump(value, handle, separators=(",", ":"))
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)


def folder_files(entry: dict) -> list[str]:
    files = [s["file"] for s in entry.get("segments", [])]
    files += [r["file"] for parts in entry.get("rollups", {}).values() for r in parts]
    if entry.get("objects_file"):
        files.append(entry["objects_file"])
    return files


def sort_records(table: pa.Table) -> pa.Table:
    """By (action, start): accepted, rejected, then records without an action."""
    action = pc.fill_null(pc.index_in(table.column("action"),
                                      value_set=pa.array(["ACCEPT", "REJECT"])), 2)
    key = pc.add(pc.multiply(pc.cast(action, pa.int64()), 1 << 34), table.column("start"))
    return table.take(pc.sort_indices(key))


# --- the build -----------------------------------------------------------------------------

@dataclass
class BuildReport:
    folders: int = 0  # folders converted or updated
    objects: int = 0  # objects converted
    records: int = 0
    raw_bytes: int = 0  # gzip bytes read
    skipped: list[str] = field(default_factory=list)  # "path: reason" of objects left out
    malformed_lines: int = 0
    pending: int = 0  # objects found to convert
    elapsed_s: float = 0.0
    busy: bool = False  # another build held the lock: nothing was done

    def to_dict(self) -> dict:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


@dataclass
class FolderWork:
    folder: Folder
    mtime_ns: int | None  # recorded after the build (None: still settling)
    objects: list[StoredObject]  # to convert
    rebuild: bool  # True: the folder's files are replaced; False: a segment is added
    keep: dict  # objects already converted that stay: name -> size
    bad: dict  # name -> [size, reason] known corrupt objects that stay skipped


@dataclass
class FolderResult:
    work: FolderWork
    entry: dict  # the folder's new manifest entry
    dropped: list[str]  # files the entry no longer names
    skipped: list[str]
    converted: int  # objects
    records: int
    malformed: int


Texts = list[tuple[tuple[str, ...], pa.Table]]


def _parse_all(bodies: dict[tuple[str, ...], list[bytes]], typed: bool, limits: Limits
               ) -> tuple[Texts, int]:
    texts, malformed = [], 0
    for header, parts in bodies.items():
        text, bad_lines = parse_body(b"".join(parts), header, typed, limits)
        texts.append((header, text))
        malformed += bad_lines
    return texts, malformed


def _typed_folder(folder: Folder, bodies: dict[tuple[str, ...], list[bytes]], limits: Limits
                  ) -> tuple[pa.Table, int]:
    """The bodies' records typed as the raw path types them."""
    try:
        texts, malformed = _parse_all(bodies, True, limits)
        return typed_table(folder.account, folder.region, texts), malformed
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        # A stray value: DuckDB's TRY_CAST nulls it, exactly as queries on raw text do.
        texts, malformed = _parse_all(bodies, False, limits)
        return typed_records(folder.account, folder.region, texts), malformed


class Builder:
    """One build of one cache directory; see ``build``."""

    def __init__(self, data_dir: str, cache_dir: Path, progress: Progress | None, workers: int,
                 commit_every_s: float, throttle_s: float, settings=None):
        self.data_dir, self.cache_dir = data_dir, Path(cache_dir)
        self.backend = open_backend(data_dir, settings)
        self.s3 = is_s3(data_dir)
        self.limits = Limits.of(settings)
        self.progress = progress or (lambda done, message: None)
        self.workers = max(1, workers)
        self.commit_every_s, self.throttle_s = commit_every_s, throttle_s
        self.headers = Headers()
        self._seq_lock = threading.Lock()
        self._seq = 0
        self._token = uuid.uuid4().hex[:6]

    # --- names ----------------------------------------------------------------------------
    def _name(self, kind: str, folder: Folder, suffix: str) -> str:
        with self._seq_lock:
            self._seq += 1
            seq = self._seq
        stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
        return f"{kind}/{folder.rel}/{stamp}-{self._token}-{seq:05d}{suffix}"

    def _write_parquet(self, rel: str, table: pa.Table) -> None:
        path = self.cache_dir / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.tmp")
        pq.write_table(table, temporary, row_group_size=ROW_GROUP_ROWS, compression=COMPRESSION,
                       write_statistics=True)
        os.replace(temporary, path)

    # --- planning ---------------------------------------------------------------------------
    def plan(self, manifest: dict, now: float) -> tuple[list[FolderWork], list[str]]:
        """Folders to convert, and folders whose files must go (deleted from the store)."""
        works, present = [], set()
        for folder in layout.all_folders(self.backend):
            present.add(folder.rel)
            work = self._folder_work(folder, manifest["folders"].get(folder.rel), now)
            if work is not None:
                works.append(work)
        gone = [rel for rel in manifest["folders"] if rel not in present]
        return works, gone

    def _folder_work(self, folder: Folder, entry: dict | None, now: float) -> FolderWork | None:
        if self.s3:  # no folder times: a converted folder is listed again only while live
            mtime_ns = settled = 0
        else:
            mtime_ns = self.backend.stamp(folder.parts)
            if mtime_ns is None:
                return None
            settled = mtime_ns if now - mtime_ns / 1e9 > SETTLED_S else None
        if (entry is not None and entry.get("mtime_ns") == mtime_ns and not entry.get("bad")
                and not _live(folder, now)):
            return None  # unchanged since it was converted
        objects = [o for o in layout.list_day(self.backend, folder) if o.is_raw]
        done = load_objects(self.cache_dir, entry)
        bad = entry.get("bad", {}) if entry else {}
        listed = {o.name: o for o in objects}
        changed = any(name not in listed or listed[name].size != size for name, size in done.items())
        if changed:
            return FolderWork(folder, settled, objects, True, {}, {})
        new = [o for o in objects if o.name not in done
               and (o.name not in bad or bad[o.name][0] != o.size)]
        still_bad = {n: b for n, b in bad.items() if n in listed and listed[n].size == b[0]}
        if not new and entry is not None and entry.get("mtime_ns") == settled \
                and still_bad == bad:
            return None
        return FolderWork(folder, settled, new, entry is None, done, still_bad)

    # --- converting one folder ----------------------------------------------------------
    def convert(self, work: FolderWork, entry: dict | None) -> FolderResult:
        """The folder's new objects in a new segment (or its files rebuilt)."""
        from lib import rollups

        old = entry or {}
        if not work.objects and not work.rebuild:  # nothing new: note the folder's state
            return FolderResult(work, {**old, "mtime_ns": work.mtime_ns, "bad": work.bad},
                                [], [], 0, 0, 0)
        table, converted, bad, malformed = self._read(work)
        if work.rebuild:
            dropped, old_segments, old_rollups = folder_files(old), [], {}
        else:
            dropped = [old["objects_file"]] if old.get("objects_file") else []
            old_segments, old_rollups = old.get("segments", []), old.get("rollups", {})
        merge = len(old_segments) + 1 > MAX_SEGMENTS
        if merge:  # too many small segments: one sorted file again
            old = [pq.read_table(self.cache_dir / s["file"]) for s in old_segments]
            table = complete(sort_records(pa.concat_tables(old + [table])))
            dropped += [s["file"] for s in old_segments]
            dropped += [r["file"] for parts in old_rollups.values() for r in parts]
            malformed += sum(s.get("malformed", 0) for s in old_segments)
            old_segments, old_rollups = [], {}
        segments = list(old_segments)
        parts = {name: list(files) for name, files in old_rollups.items()}
        if table.num_rows:
            rel = self._name("records", work.folder, ".parquet")
            self._write_parquet(rel, table)
            starts = table.column("start")
            segments.append({"file": rel, "rows": table.num_rows,
                             "min_start": pc.min(starts).as_py(), "max_start": pc.max(starts).as_py(),
                             "malformed": malformed})
            for name, rolled in rollups.compute(table).items():
                rolled_rel = self._name(f"rollups/{name}", work.folder, ".parquet")
                self._write_parquet(rolled_rel, rolled)
                parts.setdefault(name, []).append({"file": rolled_rel, "rows": rolled.num_rows})
        elif malformed and segments:
            segments[-1] = {**segments[-1], "malformed": segments[-1].get("malformed", 0) + malformed}
        done = {**work.keep, **converted}
        all_bad = {**work.bad, **bad}
        objects_rel = self._name("objects", work.folder, ".json")
        _write_json(self.cache_dir / objects_rel, {"objects": done})
        new_entry = {"mtime_ns": work.mtime_ns, "objects_file": objects_rel, "objects": len(done),
                     "records": sum(s["rows"] for s in segments), "bad": all_bad,
                     "segments": segments, "rollups": parts}
        skipped = [f"{self.backend.path(work.folder.parts, name)}: {reason}"
                   for name, (_, reason) in bad.items()]
        return FolderResult(work, new_entry, dropped, skipped, len(converted), table.num_rows,
                            malformed)

    def _read(self, work: FolderWork) -> tuple[pa.Table, dict, dict, int]:
        """The new objects' records, typed and keyed and sorted; converted and bad objects."""
        bodies: dict[tuple[str, ...], list[bytes]] = defaultdict(list)
        converted, bad, names = {}, {}, {}
        for obj in work.objects:
            try:
                data = read_object(self.backend, obj, self.limits)
            except FileNotFoundError:
                continue  # deleted while we worked: the next build sees the folder changed
            except FlowLogReadError as error:
                bad[obj.name] = [obj.size, error.reason]
                continue
            header = self.headers.of(obj, data)
            if header is None:
                bad[obj.name] = [obj.size, NO_HEADER]
                continue
            bodies[header].append(body_of(data))
            names.setdefault(header, []).append(obj)
            converted[obj.name] = obj.size
        try:
            table, malformed = _typed_folder(work.folder, bodies, self.limits)
        except (pa.ArrowException, ValueError):
            table, malformed = self._one_by_one(work.folder, bodies, names, converted, bad)
        return complete(sort_records(with_keys(table))), converted, bad, malformed

    def _one_by_one(self, folder: Folder, bodies: dict, names: dict, converted: dict, bad: dict
                    ) -> tuple[pa.Table, int]:
        """A folder whose text could not be read together: each object alone, the ones
        that fail marked bad (skipped until they change, never retried forever)."""
        tables, malformed = [], 0
        for header, parts in bodies.items():
            for obj, body in zip(names[header], parts, strict=True):
                try:
                    table, lines = _typed_folder(folder, {header: [body]}, self.limits)
                except (pa.ArrowException, ValueError) as error:
                    del converted[obj.name]
                    bad[obj.name] = [obj.size, f"cannot be parsed: {error}"[:300]]
                    continue
                tables.append(table)
                malformed += lines
        if not tables:
            return typed_table(folder.account, folder.region, []), malformed
        return pa.concat_tables([complete(t).drop(list(KEY_COLUMNS)) for t in tables]), malformed

    # --- the whole build ----------------------------------------------------------------
    def run(self, report: BuildReport) -> None:
        now = time.time()
        manifest = read_manifest(self.cache_dir)
        if manifest is None or manifest.get("data_dir") != location_of(self.data_dir):
            manifest = empty_manifest(self.data_dir)
        collect_garbage(self.cache_dir, manifest, now)
        self.progress(0.0, "listing the store")
        works, gone = self.plan(manifest, now)
        for rel in gone:
            manifest["garbage"] += [[f, now] for f in folder_files(manifest["folders"].pop(rel))]
        report.pending = sum(len(w.objects) for w in works)
        total = sum(o.size for w in works for o in w.objects) or 1
        last_commit = time.monotonic()
        with ThreadPoolExecutor(self.workers) as pool:
            running: set[Future] = set()
            queue = list(reversed(works))
            while queue or running:
                while queue and len(running) < self.workers * 2:  # bounded memory
                    work = queue.pop()
                    running.add(pool.submit(self.convert, work,
                                            manifest["folders"].get(work.folder.rel)))
                finished, running = wait(running, return_when=FIRST_COMPLETED)
                for future in finished:
                    self._apply(manifest, future.result(), report, time.time())
                self.progress(report.raw_bytes / total,
                              f"{report.objects:,} objects, {report.records:,} records")
                if time.monotonic() - last_commit >= self.commit_every_s:
                    self.commit(manifest)
                    last_commit = time.monotonic()
                if self.throttle_s:
                    time.sleep(self.throttle_s)
        self.commit(manifest)
        self.progress(1.0, f"{report.objects:,} objects, {report.records:,} records converted")

    def _apply(self, manifest: dict, result: FolderResult, report: BuildReport, now: float):
        manifest["folders"][result.work.folder.rel] = result.entry
        manifest["garbage"] += [[f, now] for f in result.dropped]
        report.folders += 1
        report.objects += result.converted
        report.records += result.records
        report.raw_bytes += sum(o.size for o in result.work.objects)
        report.skipped += result.skipped
        report.malformed_lines += result.malformed

    def commit(self, manifest: dict) -> None:
        manifest["updated"] = time.time()
        _write_json(self.cache_dir / MANIFEST, manifest)


def load_objects(cache_dir: Path, entry: dict | None) -> dict[str, int]:
    """The objects a folder's files hold: name -> size."""
    if not entry or not entry.get("objects_file"):
        return {}
    return json.loads((Path(cache_dir) / entry["objects_file"]).read_text())["objects"]


def collect_garbage(cache_dir: Path, manifest: dict, now: float) -> None:
    """Delete files dropped more than GRACE_S ago, and files no manifest names (left by a
    killed build). Runs under the build lock, so no build is writing."""
    keep = {f for entry in manifest["folders"].values() for f in folder_files(entry)}
    due = [(f, t) for f, t in manifest["garbage"] if now - t >= GRACE_S]
    manifest["garbage"] = [[f, t] for f, t in manifest["garbage"] if now - t < GRACE_S]
    keep |= {f for f, _ in manifest["garbage"]}
    for rel, _ in due:
        _remove(cache_dir / rel)
    for top in ("records", "rollups", "objects"):
        for folder, _, names in os.walk(cache_dir / top):
            for name in names:
                rel = os.path.relpath(os.path.join(folder, name), cache_dir)
                if rel not in keep:
                    _remove(Path(folder) / name)


def _remove(path: Path) -> None:
    with suppress(FileNotFoundError):
        path.unlink()


@contextmanager
def build_lock(cache_dir: Path, wait_for_it: bool):
    """Yields True when this process holds the build lock (False: another build runs)."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    with open(cache_dir / "build.lock", "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | (0 if wait_for_it else fcntl.LOCK_NB))
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def build(data_dir: str, cache_dir: str | Path, progress: Progress | None = None,
          workers: int | None = None, commit_every_s: float = 1.0, throttle_s: float = 0.0,
          wait_for_lock: bool = True, settings=None) -> BuildReport:
    """Convert the store's new and changed objects into the cache (see the module notes).

    ``workers`` threads convert folders side by side (default: one per core);
    ``throttle_s`` pauses between folders, to leave the machine to interactive queries.
    ``data_dir`` may be ``s3://bucket/prefix``, read with the ``settings``' credentials.
    """
    began = time.perf_counter()
    report = BuildReport()
    cache_dir = Path(cache_dir)
    with build_lock(cache_dir, wait_for_lock) as held:
        if not held:
            report.busy = True
            return report
        builder = Builder(str(data_dir), cache_dir, progress, workers or os.cpu_count() or 2,
                          commit_every_s, throttle_s, settings)
        builder.run(report)
    report.elapsed_s = round(time.perf_counter() - began, 3)
    return report


# --- status ----------------------------------------------------------------------------

def status(data_dir: str, cache_dir: str | Path, settings=None) -> dict:
    """What the cache holds, what is still to convert, and what was skipped."""
    cache_dir = Path(cache_dir)
    manifest = read_manifest(cache_dir)
    if manifest is None or manifest.get("data_dir") != location_of(data_dir):
        manifest = empty_manifest(data_dir)
    builder = Builder(str(data_dir), cache_dir, None, 1, 1.0, 0.0, settings)
    works, gone = builder.plan(manifest, time.time())
    folders = manifest["folders"].values()
    size = sum(f.stat().st_size for f in cache_dir.rglob("*") if f.is_file()) \
        if cache_dir.exists() else 0
    return {
        "cache_dir": str(cache_dir), "data_dir": location_of(data_dir),
        "built": manifest["updated"] is not None,
        "updated_utc": (datetime.fromtimestamp(manifest["updated"], UTC).isoformat(timespec="seconds")
                        if manifest["updated"] else None),
        "folders": len(manifest["folders"]),
        "objects": sum(f["objects"] for f in folders),
        "records": sum(f["records"] for f in folders),
        "segments": sum(len(f["segments"]) for f in folders),
        "bytes": size,
        "pending_objects": sum(len(w.objects) for w in works),
        "pending_folders": len([w for w in works if w.objects]) + len(gone),
        "skipped": [f"{builder.backend.path(Folder.from_rel(rel).parts, name)}: {reason}"
                    for rel, entry in manifest["folders"].items()
                    for name, (_, reason) in entry.get("bad", {}).items()],
    }


# --- reading: what a query reads from the cache, and what still raw ----------------------

@dataclass
class View:
    """A query's share of the cache: files to read, objects still to read raw."""

    records: list[str]  # absolute paths of record segments
    rollups: dict[str, list[str]]  # "<name>-<grain>" -> absolute paths
    remainder: list[StoredObject]  # objects not converted yet: read raw
    skipped: list[str]  # known corrupt objects the raw path would have tried
    malformed_lines: int
    version: float  # the manifest's commit time


class ColumnarCache:
    """The engine's side of the cache: the current manifest (re-read when it changes) and the
    files and raw objects a query's range needs."""

    def __init__(self, cache_dir: str | Path, data_dir: str, backend=None):
        self.cache_dir = Path(cache_dir)
        self.data_dir = data_dir
        self.backend = backend or open_backend(data_dir)
        self.s3 = is_s3(data_dir)
        self._manifest: dict | None = None
        self._folders: dict[str, _Indexed] = {}
        self._stamp: tuple | None = None
        self._objects: dict[str, dict] = {}  # objects file -> its content
        self._lock = threading.Lock()

    def manifest(self) -> dict | None:
        try:
            st = os.stat(self.cache_dir / MANIFEST)
        except FileNotFoundError:
            return None
        stamp = (st.st_mtime_ns, st.st_size, st.st_ino)
        with self._lock:
            if stamp != self._stamp:
                manifest = read_manifest(self.cache_dir)
                if manifest is not None and manifest["data_dir"] != location_of(self.data_dir):
                    manifest = None
                self._manifest, self._stamp = manifest, stamp
                self._folders = {rel: _Indexed.of(entry, str(self.cache_dir))
                                 for rel, entry in (manifest or {"folders": {}})["folders"].items()}
            return self._manifest

    def _done(self, entry: dict) -> dict[str, int]:
        name = entry.get("objects_file")
        if name not in self._objects:
            if len(self._objects) > 4096:
                self._objects.clear()
            self._objects[name] = load_objects(self.cache_dir, entry)
        return self._objects[name]

    def view(self, start: int, end: int, accounts=None, regions=None,
             late_margin_s: int = 3600) -> View | None:
        """The cache's files for [start, end) and the raw objects not yet in them; None when
        there is no cache or it disagrees with the store (a converted object changed)."""
        manifest = self.manifest()
        if manifest is None:
            return None
        folders = self._folders
        view = View([], defaultdict(list), [], [], 0, manifest["updated"] or 0.0)
        first, last, chosen = layout.range_folders(self.backend, start, end, accounts, regions,
                                                   late_margin_s)
        now = time.time()
        for folder in chosen:
            if not self._add_folder(view, folder, folders.get(folder.rel), first, last, now):
                return None
        view.rollups = dict(view.rollups)
        return view

    def _add_folder(self, view: View, folder: Folder, indexed: _Indexed | None, first: int,
                    last: int, now: float) -> bool:
        if self.s3:  # no folder times: a converted folder is listed only while it is live
            mtime_ns = 0 if indexed is None or not _live(folder, now) else None
        else:
            mtime_ns = self.backend.stamp(folder.parts)
            if mtime_ns is None:
                return indexed is None  # a converted folder was deleted: the cache is stale
        entry = indexed.entry if indexed is not None else None
        if indexed is not None:
            view.records += indexed.records
            view.malformed_lines += indexed.malformed
            for name, files in indexed.rollups.items():
                view.rollups[name] += files
            view.skipped += [f"{self.backend.path(folder.parts, name)}: {reason}"
                             for name, (_, reason) in entry["bad"].items()
                             if delivered_within(name, first, last)]
            if entry.get("mtime_ns") == mtime_ns:
                return True
        done = self._done(entry) if entry is not None else {}
        bad = entry["bad"] if entry is not None else {}
        listed = [o for o in layout.list_day(self.backend, folder, first, last) if o.is_raw]
        names = set()
        for obj in listed:
            names.add(obj.name)
            if obj.name in done:
                if done[obj.name] != obj.size:
                    return False  # converted, then changed
            elif obj.name not in bad or bad[obj.name][0] != obj.size:
                view.remainder.append(obj)
        return all(n in names for n in done if delivered_within(n, first, last))


@dataclass
class _Indexed:
    """A folder's manifest entry with its files as absolute paths (made once per manifest)."""

    entry: dict
    records: list[str]
    rollups: dict[str, list[str]]
    malformed: int

    @classmethod
    def of(cls, entry: dict, cache_dir: str) -> _Indexed:
        return cls(entry, [f"{cache_dir}/{s['file']}" for s in entry["segments"]],
                   {name: [f"{cache_dir}/{r['file']}" for r in parts]
                    for name, parts in entry["rollups"].items()},
                   sum(s.get("malformed", 0) for s in entry["segments"]))


# --- building in the background (the app) --------------------------------------------------

class BackgroundBuild:
    """Builds of one cache in a background thread, at most one at a time, with progress."""

    def __init__(self, data_dir: str, cache_dir: str | Path, settings=None):
        self.data_dir, self.cache_dir, self.settings = data_dir, Path(cache_dir), settings
        self.done, self.message = 0.0, ""
        self.report: BuildReport | None = None
        self.error: str | None = None
        self.finished_at = 0.0
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def refresh(self, every_s: float = 60.0, throttle_s: float = 0.0) -> bool:
        """Start a build unless one runs or one finished less than ``every_s`` ago."""
        with self._lock:
            if self.running or time.monotonic() - self.finished_at < every_s \
                    and self.finished_at:
                return False
            self.done, self.message, self.error = 0.0, "starting", None
            self._thread = threading.Thread(target=self._build, args=(throttle_s,), daemon=True,
                                            name="flowscope-columnar-build")
            self._thread.start()
            return True

    def wait(self, seconds: float) -> None:
        """Wait up to ``seconds`` for a running build to end."""
        thread = self._thread
        if thread is not None:
            thread.join(seconds)

    def _progress(self, done: float, message: str) -> None:
        self.done, self.message = done, message

    def _build(self, throttle_s: float) -> None:
        try:
            prune_stale(self.cache_dir.parent)
            self.report = build(self.data_dir, self.cache_dir, progress=self._progress,
                                throttle_s=throttle_s, wait_for_lock=False, settings=self.settings)
        except Exception as error:  # noqa: BLE001 - a failed build leaves the raw path working
            self.error = f"{type(error).__name__}: {error}"
        finally:
            self.finished_at = time.monotonic()


def prune_stale(base: Path) -> None:
    """Remove caches of data directories that no longer exist (temporary folders)."""
    import shutil

    try:
        names = sorted(e.name for e in os.scandir(base) if e.is_dir(follow_symlinks=False))
    except FileNotFoundError:
        return
    for cache_dir in names:
        manifest = read_manifest(Path(base) / cache_dir)
        if manifest is not None and not is_s3(manifest["data_dir"]) \
                and not os.path.isdir(manifest["data_dir"]):
            with build_lock(Path(base) / cache_dir, wait_for_it=False) as held:
                if held:
                    shutil.rmtree(Path(base) / cache_dir, ignore_errors=True)
