"""Demo data for a fresh machine: created once under the cache directory, outside the repo."""

from __future__ import annotations

import fcntl
import json
import shutil
import time
from collections.abc import Callable
from pathlib import Path

from lib.config import Settings

MARKER = ".flowscope-demo.json"
STALE_AFTER_S = 86400  # older demo data no longer covers "the last 24 hours": make it anew


def demo_info(folder: Path) -> dict | None:
    try:
        return json.loads((folder / MARKER).read_text())
    except (OSError, ValueError):
        return None


def ensure_demo_data(settings: Settings,
                     progress: Callable[[float, str], None] | None = None) -> Path:
    """The demo folder, generated first if missing or stale. Safe with several processes:
    one generates under a lock into a temporary folder and swaps it in atomically."""
    folder = settings.demo_dir
    info = demo_info(folder)
    if info and time.time() - info["end"] < STALE_AFTER_S:
        return folder
    folder.parent.mkdir(parents=True, exist_ok=True)
    with open(folder.parent / "demo.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        info = demo_info(folder)  # another process may have made it while we waited
        if info and time.time() - info["end"] < STALE_AFTER_S:
            return folder
        _generate_into(folder, settings, progress)
    return folder


def _generate_into(folder: Path, settings: Settings, progress) -> None:
    from lib.generator import GAP_MIN_SPAN_S, generate

    temporary = folder.with_name(folder.name + ".new")
    shutil.rmtree(temporary, ignore_errors=True)
    end = int(time.time()) // 300 * 300
    summary = generate(temporary, records=settings.demo_records, days=settings.demo_days,
                       seed=1, end=end, progress=progress, cost_cases=True,
                       gap_cases=settings.demo_days * 86400 >= GAP_MIN_SPAN_S)
    (temporary / MARKER).write_text(json.dumps({"end": end, "records": summary.records}))
    old = folder.with_name(folder.name + ".old")
    shutil.rmtree(old, ignore_errors=True)
    if folder.exists():
        folder.rename(old)
    temporary.rename(folder)
    shutil.rmtree(old, ignore_errors=True)
