"""Building the columnar cache: which folders and objects are new or changed (planning), the
conversion of each folder in worker threads (lib/columnar_convert.py), the manifest commits,
and the cache's status. The design notes are in lib/columnar.py.
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from lib import rollups
from lib.columnar_convert import Outcome, SegmentWriter, chunks, typed_chunk
from lib.columnar_manifest import (
    MANIFEST,
    build_lock,
    collect_garbage,
    empty_manifest,
    folder_files,
    live,
    load_objects,
    location_of,
    read_manifest,
    write_json,
)
from lib.store import ReportProgress, layout
from lib.store.backends import is_s3, open_backend
from lib.store.layout import Folder, StoredObject
from lib.store.reading import Headers, Limits

MAX_SEGMENTS = 8  # segments in one folder before they are merged into one
SETTLED_S = 2  # a folder mtime newer than this may still change within the same clock tick


@dataclass
class BuildReport:
    folders: int = 0  # folders converted or updated
    objects: int = 0  # objects converted
    records: int = 0  # records converted
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


class Builder:
    """One build of one cache directory; see ``build``."""

    def __init__(self, data_dir: str, cache_dir: Path, progress: ReportProgress | None, workers: int,
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

    def _name(self, kind: str, folder: Folder, suffix: str) -> str:
        with self._seq_lock:
            self._seq += 1
            seq = self._seq
        stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
        return f"{kind}/{folder.rel}/{stamp}-{self._token}-{seq:05d}{suffix}"

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
                and not live(folder, now)):
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
        old = entry or {}
        if not work.objects and not work.rebuild:  # nothing new: note the folder's state
            return FolderResult(work, {**old, "mtime_ns": work.mtime_ns, "bad": work.bad},
                                [], [], 0, 0, 0)
        if work.rebuild:
            dropped, segments, parts = folder_files(old), [], {}
        else:
            dropped = [old["objects_file"]] if old.get("objects_file") else []
            segments = list(old.get("segments", []))
            parts = {name: list(files) for name, files in old.get("rollups", {}).items()}
        writer = SegmentWriter(self.cache_dir,
                               lambda kind, suffix: self._name(kind, work.folder, suffix))
        outcome, carried = Outcome(), 0
        try:
            if len(segments) + 1 > MAX_SEGMENTS:  # too many small segments: one file again
                writer.copy(segments, parts)
                dropped += folder_files({"segments": segments, "rollups": parts})
                carried = sum(s.get("malformed", 0) for s in segments)
                segments, parts = [], {}
            new_rows = self._write_chunks(work, writer, outcome)
            segment, new_parts = writer.finish(outcome.malformed + carried)
        except BaseException:
            writer.abort()
            raise
        if segment is not None:
            segments.append(segment)
            for name, part in new_parts.items():
                parts.setdefault(name, []).append(part)
        elif outcome.malformed and segments:
            segments[-1] = {**segments[-1],
                            "malformed": segments[-1].get("malformed", 0) + outcome.malformed}
        return self._result(work, outcome, segments, parts, dropped, new_rows)

    def _write_chunks(self, work: FolderWork, writer: SegmentWriter, outcome: Outcome) -> int:
        rows = 0
        for chunk in chunks(self.backend, work.objects, self.headers, self.limits, outcome):
            table = typed_chunk(work.folder, chunk, self.limits, outcome)
            writer.add(table)
            rows += table.num_rows
        return rows

    def _result(self, work: FolderWork, outcome: Outcome, segments: list, parts: dict,
                dropped: list[str], new_rows: int) -> FolderResult:
        done = {**work.keep, **outcome.converted}
        objects_rel = self._name("objects", work.folder, ".json")
        write_json(self.cache_dir / objects_rel, {"objects": done})
        entry = {"mtime_ns": work.mtime_ns, "objects_file": objects_rel, "objects": len(done),
                 "records": sum(s["rows"] for s in segments), "bad": {**work.bad, **outcome.bad},
                 "segments": segments, "rollups": parts}
        skipped = [f"{self.backend.path(work.folder.parts, name)}: {reason}"
                   for name, (_, reason) in outcome.bad.items()]
        return FolderResult(work, entry, dropped, skipped, len(outcome.converted), new_rows,
                            outcome.malformed)

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
        write_json(self.cache_dir / MANIFEST, manifest, durable=True)


def build_cache(data_dir: str, cache_dir: str | Path, progress: ReportProgress | None = None,
          workers: int | None = None, commit_every_s: float = 1.0, throttle_s: float = 0.0,
          wait_for_lock: bool = True, settings=None) -> BuildReport:
    """Convert the store's new and changed objects into the cache (see lib/columnar.py).

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
        # the classified days (lib/rollups.py): they need every account's folders converted
        rollups.build_cost(cache_dir, read_manifest(cache_dir),
                           getattr(settings, "late_margin_s", 3600))
    report.elapsed_s = round(time.perf_counter() - began, 3)
    return report


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
