"""Revocable sign-in sessions: a server-side session id per sign-in, in a small SQLite file.

The sign-in cookie is an HS256 JWT (signed with the cookie key) of ``{sid, username,
exp_date, exp, pwf}``. It only *names* a session: the session must also be a row of the
session file, not expired, of the same user, and ``pwf`` must match a fingerprint of the
user's current password hash. So:

- signing out deletes every session row of that user (every tab, every browser, every
  replica sharing the file): a copy of the cookie replayed later names nothing;
- a password change (a new hash in the users file) ends every session of that user on
  every replica, even without a shared file, because the fingerprint no longer matches;
- a session lives ``session_ttl_s`` at most, whatever the cookie says.

Why SQLite in a file (``session_db``, default ``<cache_dir>/sessions.sqlite3``): one small
file, no server, safe for the threads of one process and for several processes on one
host (SQLite's own locking). Replicas on different hosts share revocation only if the file
is on a volume they share (e.g. EFS); otherwise each replica revokes its own sessions and
the TTL bounds the rest (docs/security.md).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import sqlite3
import time
from contextlib import closing
from pathlib import Path

import jwt

_SCHEMA = """
CREATE TABLE IF NOT EXISTS sessions (
    sid TEXT PRIMARY KEY, user TEXT NOT NULL, created REAL NOT NULL, expires REAL NOT NULL);
CREATE INDEX IF NOT EXISTS sessions_user ON sessions(user);
CREATE TABLE IF NOT EXISTS signed_out (user TEXT PRIMARY KEY, at REAL NOT NULL);
"""


def fingerprint(key: str, password_hash: str) -> str:
    """A keyed digest of the user's bcrypt hash: changes when the password changes, and
    tells nothing about the hash without the key."""
    return hmac.new(key.encode(), password_hash.encode(), hashlib.sha256).hexdigest()[:32]


class SessionStore:
    """Sessions in one SQLite file; every call opens its own connection (thread-safe)."""

    def __init__(self, path: str | Path, clock=time.time):
        self.path = Path(path)
        self._clock = clock
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as con:
            con.executescript(_SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        # A rollback journal, not WAL: WAL needs shared memory, which a network volume
        # shared by replicas does not give.
        return sqlite3.connect(self.path, timeout=10, isolation_level=None)

    def create(self, user: str, ttl_s: float) -> str:
        """A new session of ``user``: its id (256 random bits)."""
        sid = secrets.token_urlsafe(32)
        now = self._clock()
        with closing(self._connect()) as con:
            con.execute("DELETE FROM sessions WHERE expires <= ?", (now,))
            con.execute("INSERT INTO sessions VALUES (?, ?, ?, ?)", (sid, user, now, now + ttl_s))
        return sid

    def is_valid(self, sid: str, user: str) -> bool:
        with closing(self._connect()) as con:
            row = con.execute("SELECT user, expires FROM sessions WHERE sid = ?",
                              (sid,)).fetchone()
        return row is not None and row[0] == user and row[1] > self._clock()

    def end_all(self, user: str) -> int:
        """End every session of ``user`` (sign-out); how many there were. Also notes the
        time, so sign-ins made elsewhere before it (an identity provider's tokens, which
        live in the browser) end too (``signed_in_before_sign_out``)."""
        with closing(self._connect()) as con:
            con.execute("INSERT OR REPLACE INTO signed_out VALUES (?, ?)", (user, self._clock()))
            return con.execute("DELETE FROM sessions WHERE user = ?", (user,)).rowcount

    def signed_in_before_sign_out(self, user: str, issued_at: float) -> bool:
        """True when a sign-in issued at ``issued_at`` precedes the user's last sign-out."""
        with closing(self._connect()) as con:
            row = con.execute("SELECT at FROM signed_out WHERE user = ?", (user,)).fetchone()
        return row is not None and issued_at <= row[0]

    def count(self, user: str) -> int:
        with closing(self._connect()) as con:
            return con.execute("SELECT count(*) FROM sessions WHERE user = ?",
                               (user,)).fetchone()[0]


def session_db_path(settings) -> Path:
    if settings.session_db:
        return Path(settings.session_db)
    from lib.config import _default_cache_dir

    return Path(settings.cache_dir or _default_cache_dir()) / "sessions.sqlite3"


_stores: dict[Path, SessionStore] = {}


def store_for(settings) -> SessionStore:
    path = session_db_path(settings)
    if path not in _stores or not path.exists():
        _stores[path] = SessionStore(path)
    return _stores[path]


# --- the cookie's token -------------------------------------------------------------------

def encode_token(key: str, sid: str, user: str, pwf: str, ttl_s: float,
                 now: float | None = None) -> str:
    now = time.time() if now is None else now
    return jwt.encode({"sid": sid, "username": user, "pwf": pwf, "exp_date": now + ttl_s,
                       "exp": int(now + ttl_s)}, key, algorithm="HS256")


def decode_token(key: str, token: str) -> dict | None:
    """The token's claims, or None for anything else: garbage, a wrong key or algorithm,
    junk in the header (``crit``), expiry, missing claims. Never raises and never says why:
    the caller treats every failure as "no cookie" (an error text here would carry what
    the visitor wrote into the logs)."""
    try:
        claims = jwt.decode(token, key, algorithms=["HS256"],
                            options={"require": ["exp", "sid", "username", "pwf"]})
    except Exception:  # noqa: BLE001 - any failure at all is "no cookie"
        return None
    if not all(isinstance(claims.get(k), str) for k in ("sid", "username", "pwf")):
        return None
    return claims
