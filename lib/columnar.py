"""A local columnar cache of the raw store: Parquet files the embedded engine reads instead of
gzip text, converted incrementally.

Modules, one concern each (this one names them for callers and builds in the background)::

    lib/columnar_manifest.py  the files on disk: manifest, lock, garbage, where a cache lives
    lib/columnar_build.py     planning what to convert, the build loop, status
    lib/columnar_convert.py   one folder's objects -> a segment of records and rollups, in
                              bounded chunks, per-record work in C++ (zlib, pyarrow)
    lib/columnar_view.py      the readers' side: a query's files, and objects still raw

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
* Rows are sorted by (action, start) within each chunk of a folder (``CHUNK_BYTES`` of
  text) and written in row groups of ROW_GROUP_ROWS: the row-group statistics let DuckDB
  skip the hours outside a query's range and, for rejected traffic, the accepted rows. A
  chunk at a time keeps a build's memory bounded whatever a folder's size. Address keys
  are computed once per distinct address here, so a CIDR test is a range test on a stored
  column.
* Incremental: the manifest records each folder's modification time and, in a JSON file, the
  objects (name, size) converted. A build lists only folders that changed (or are recent,
  where appends are still likely) and converts their new objects into a new segment; more
  than MAX_SEGMENTS segments in a folder are merged (row group by row group). A changed or
  deleted object rebuilds its folder.
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

import os
from pathlib import Path

from lib.background import BackgroundJob
from lib.columnar_build import BuildReport, build_cache, status
from lib.columnar_manifest import build_lock, cache_dir_for, folder_files, read_manifest
from lib.columnar_view import ColumnarCache, View
from lib.store.backends import is_s3
from lib.store.columns import RECORD_COLUMNS
from lib.store.layout import Folder

__all__ = ["RECORD_COLUMNS", "BackgroundBuild", "BuildReport", "ColumnarCache", "Folder", "View",
           "build_cache", "cache_dir_for", "folder_files", "read_manifest", "status"]


# --- building in the background (the app) --------------------------------------------------

class BackgroundBuild(BackgroundJob):
    """Builds of one cache in a background thread, at most one at a time, with progress."""
    thread_name = "flowscope-columnar-build"

    def __init__(self, data_dir: str, cache_dir: str | Path, settings=None):
        super().__init__()
        self.data_dir, self.cache_dir, self.settings = data_dir, Path(cache_dir), settings
        self.done, self.message = 0.0, ""
        self.report: BuildReport | None = None
        self.error: str | None = None

    def refresh(self, every_s: float = 60.0, throttle_s: float = 0.0) -> bool:
        """Start a build unless one runs or one finished less than ``every_s`` ago."""
        return super().refresh(every_s, throttle_s)

    def _starting(self) -> None:
        self.done, self.message, self.error = 0.0, "starting", None

    def _progress(self, done: float, message: str) -> None:
        self.done, self.message = done, message

    def _work(self, throttle_s: float) -> None:
        try:
            prune_stale(self.cache_dir.parent)
            self.report = build_cache(self.data_dir, self.cache_dir, progress=self._progress,
                                      throttle_s=throttle_s, wait_for_lock=False,
                                      settings=self.settings)
        except Exception as error:  # noqa: BLE001 - a failed build leaves the raw path working
            self.error = f"{type(error).__name__}: {error}"


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
