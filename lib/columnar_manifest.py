"""The columnar cache on disk: where a store's cache lives, its manifest (the only entry
point), the files each folder entry names, the build lock and the removal of files no
manifest needs any more. Shared by the build (lib/columnar_build.py) and the readers
(lib/columnar_view.py); the design notes are in lib/columnar.py.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import uuid
from contextlib import contextmanager, suppress
from pathlib import Path

from lib.store.backends import is_s3
from lib.store.columns import RECORD_COLUMNS
from lib.store.layout import Folder, day_start

FORMAT = 1  # bump when the files' layout or meaning changes: older caches are rebuilt
MANIFEST = "manifest.json"
GRACE_S = 600  # dropped files outlive the manifest that named them this long
HOT_S = 3600  # a day folder is listed by every build until this long after its day ends


def location_of(data_dir: str) -> str:
    """What names a store in a manifest: its real path, or its s3:// location."""
    return data_dir.rstrip("/") if is_s3(data_dir) else os.path.realpath(data_dir)


def cache_dir_for(settings, data_dir: str) -> Path:
    """The cache of one data directory (or bucket), under the configured cache directory."""
    key = hashlib.sha1(location_of(data_dir).encode(), usedforsecurity=False).hexdigest()[:16]
    return settings.demo_dir.parent / "columnar" / key


def live(folder: Folder, now: float) -> bool:
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
        manifest = json.loads((Path(cache_dir) / MANIFEST).read_text())
    except (OSError, ValueError):
        return None
    return manifest if manifest.get("format") == _layout() else None


def write_json(path: Path, value, durable: bool = False) -> None:
    """Atomically: a reader sees the old file or the new one, never a part. ``durable``
    (the manifest) also waits for the disk; a folder's files do not: a killed process loses
    nothing the kernel holds, and an fsync per folder cost the build seconds of waiting on
    a busy disk (75 ms each, measured)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    with open(temporary, "w") as handle:
        json.dump(value, handle, separators=(",", ":"))
        if durable:
            handle.flush()
            os.fsync(handle.fileno())
    os.replace(temporary, path)


def folder_files(entry: dict) -> list[str]:
    files = [s["file"] for s in entry.get("segments", [])]
    files += [r["file"] for parts in entry.get("rollups", {}).values() for r in parts]
    if entry.get("objects_file"):
        files.append(entry["objects_file"])
    return files


def load_objects(cache_dir: Path, entry: dict | None) -> dict[str, int]:
    """The objects a folder's files hold: name -> size."""
    if not entry or not entry.get("objects_file"):
        return {}
    return json.loads((Path(cache_dir) / entry["objects_file"]).read_text())["objects"]


# --- files no manifest needs -----------------------------------------------------------------

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
