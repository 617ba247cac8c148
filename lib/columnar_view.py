"""The readers' side of the columnar cache: the current manifest (re-read when it changes)
and, for a query's range, the cache's files to read and the objects not converted yet, to
read raw beside them. The design notes are in lib/columnar.py.
"""

from __future__ import annotations

import os
import threading
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from lib.columnar_manifest import MANIFEST, live, load_objects, location_of, read_manifest
from lib.store import layout
from lib.store.backends import is_s3, open_backend
from lib.store.layout import Folder, StoredObject, delivered_within


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
            mtime_ns = 0 if indexed is None or not live(folder, now) else None
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

