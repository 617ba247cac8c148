"""The audit trail: one JSON line per query and per sign-in, appended to one file.

Lines are appended under an exclusive ``flock`` on the file itself, so threads (Streamlit
sessions) and processes (replicas on a shared volume, the CLI) never interleave a line.
A line never holds a password or a token: queries carry the validated filters in their
raw form, sign-ins the user name and an outcome.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from lib.filters import to_params


class AuditError(OSError):
    """The audit file cannot be written; callers withhold results rather than go unaudited."""


def audit_path(settings) -> Path:
    """The configured file, else audit.jsonl in the cache directory."""
    if settings.audit_file:
        return Path(settings.audit_file)
    from lib.config import _default_cache_dir

    return Path(settings.cache_dir or _default_cache_dir()) / "audit.jsonl"


def _now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def append(settings, event: dict) -> None:
    """Append one event as one line; raise AuditError if it cannot be written."""
    line = json.dumps({"time": _now_iso(), **event}, ensure_ascii=False, default=str) + "\n"
    path = audit_path(settings)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            os.write(fd, line.encode("utf-8"))
        finally:
            os.close(fd)  # closing releases the lock
    except OSError as error:
        raise AuditError(f"the audit trail {path} cannot be written: "
                         f"{error.strerror or error}") from None


def sql_hash(sql: str) -> str:
    return hashlib.sha256(sql.encode("utf-8")).hexdigest()


def query_event(user: str, page: str, query, result=None, duration_s: float = 0.0,
                outcome: str = "ok", error: str | None = None) -> dict:
    event = {
        "event": "query", "user": user, "page": page, "kind": query.kind,
        "filters": to_params(query.filters), "scope": query.scope.key,
        "engine": result.engine if result else None,
        "sql_sha256": sql_hash(result.sql) if result else None,
        "rows": result.table.num_rows if result else None,
        "scanned_bytes": result.scanned_bytes if result else None,
        "cache_hit": result.cache_hit if result else None,
        "duration_s": round(duration_s, 3), "outcome": outcome,
    }
    if error:
        event["error"] = error
    return event


def run_audited(settings, user: str, page: str, query, run: Callable):
    """``run(query)``, with one audit line whatever happens; errors are re-raised."""
    started = time.monotonic()
    try:
        result = run(query)
    except Exception as error:
        append(settings, query_event(user, page, query, duration_s=time.monotonic() - started,
                                     outcome="error", error=str(error)[:500]))
        raise
    append(settings, query_event(user, page, query, result, time.monotonic() - started))
    return result


def signin(settings, mode: str, user: str | None, outcome: str, reason: str = "") -> None:
    """A sign-in attempt: outcome is ok, failed, locked or refused. Never the secret."""
    event = {"event": "signin", "mode": mode, "user": user, "outcome": outcome}
    if reason:
        event["reason"] = reason
    append(settings, event)
