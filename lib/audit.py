"""The audit trail: one JSON line per query, read and sign-in, appended to one file.

The trail is a stream of its own: never the process's stdout or stderr, where Streamlit
and libraries log (``append`` refuses that), so nothing but this module writes a line
there, and every value is JSON-escaped to ASCII, so no value can start a line.

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


def shares_the_log_stream(path: Path) -> bool:
    """True when ``path`` is this process's stdout or stderr (``/dev/stdout``, or the same
    file): libraries print there, and a visitor's text printed by one could pass for an
    audit line."""
    try:
        target = os.stat(path)
    except OSError:
        return False
    for fd in (1, 2):
        try:
            stream = os.fstat(fd)
        except OSError:
            continue
        if (stream.st_dev, stream.st_ino) == (target.st_dev, target.st_ino):
            return True
    return False


def encode(event: dict) -> str:
    """One line of JSON: ASCII only, so no value can hold a line break of any kind
    (\\n, \\r, U+0085, U+2028 are all escaped) and forge a line of its own."""
    return json.dumps({"time": _now_iso(), **event}, ensure_ascii=True, default=str) + "\n"


def append(settings, event: dict) -> None:
    """Append one event as one line; raise AuditError if it cannot be written, or if the
    trail would share the process's log stream."""
    line = encode(event)
    path = audit_path(settings)
    if shares_the_log_stream(path):
        raise AuditError(f"the audit trail {path} is this process's own output, where "
                         "libraries write too: give the audit trail a file or stream of its "
                         "own (docs/security.md)")
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
    """A sign-in attempt with a password or an identity provider: outcome is ok, failed,
    locked, refused, ended or signed-out. Never the secret."""
    _access_event(settings, "signin", mode, user, outcome, reason)


def resume(settings, mode: str, user: str | None, outcome: str, reason: str = "") -> None:
    """A session resumed from the sign-in cookie (no password typed): ok or refused."""
    _access_event(settings, "resume", mode, user, outcome, reason)


def _access_event(settings, kind: str, mode: str, user, outcome: str, reason: str) -> None:
    event = {"event": kind, "mode": mode, "user": user, "outcome": outcome}
    if reason:
        event["reason"] = reason
    append(settings, event)


def read_audited(settings, user: str, page: str, store, obj, number: int, size: int, **kw):
    """``store.read_page(obj, number, size)`` (the Records page's read of a stored object),
    with one ``read`` line whatever happens: who read which object, which page of it."""
    started = time.monotonic()
    event = {"event": "read", "user": user, "page": page, "object": obj.path,
             "page_number": number, "page_size": size}
    try:
        result = store.read_page(obj, number, size, **kw)
    except Exception as error:
        append(settings, {**event, "duration_s": round(time.monotonic() - started, 3),
                          "outcome": "error", "error": str(error)[:500]})
        raise
    append(settings, {**event, "rows": len(result.rows), "bytes_read": result.bytes_read,
                      "duration_s": round(time.monotonic() - started, 3),
                      "outcome": "partial" if result.error else "ok"})
    return result
