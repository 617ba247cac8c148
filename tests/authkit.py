"""Shared pieces of the access tests: a store of three accounts, users and access files,
and app.py under a sign-in mode."""

from __future__ import annotations

import json
from pathlib import Path

from apptest import app
from storefixture import ACCOUNT_A, ACCOUNT_B, T0, record, write_object

from lib import auth
from lib.access import add_user

ACCOUNT_C = "000000000042"  # leading zeros: must stay text everywhere
ACCOUNTS = (ACCOUNT_A, ACCOUNT_B, ACCOUNT_C)
WINDOW = {"start": str(T0), "end": str(T0 + 3600)}
COOKIE_KEY = "test-cookie-key-" + "x" * 32
PASSWORDS = {"alice": "alice-password-1", "bob": "bob-password-22"}

ACCESS_YAML = """\
users:
  alice:
    accounts: ["*"]
groups:
  team-a:
    accounts: ["012345678901"]
    pages: ["Search"]
"""


def write_store(root: Path) -> Path:
    """One record per account in the first hour, sources telling the accounts apart."""
    for index, account in enumerate(ACCOUNTS, start=1):
        write_object(root, [record(f"10.{index}.0.5", "10.9.0.1", 40000 + index, 443,
                                   start=T0 + 60 * index, account=account)], account=account)
    return root


def write_users(path: Path) -> Path:
    add_user(path, "alice", "Alice Admin", "alice@example.com", PASSWORDS["alice"])
    add_user(path, "bob", "Bob Builder", "bob@example.com", PASSWORDS["bob"], ["team-a"])
    return path


def write_access(path: Path, text: str = ACCESS_YAML) -> Path:
    path.write_text(text)
    return path


def signed_app(monkeypatch, store: Path, mode: str, files: dict[str, Path], page=None,
               **state):
    """app.py in a sign-in mode (settings from the environment), not yet run."""
    at = app(monkeypatch, store, page=page, **state)
    monkeypatch.setenv("FLOWSCOPE_AUTH_MODE", mode)
    monkeypatch.setenv("FLOWSCOPE_COOKIE_KEY", COOKIE_KEY)
    for name, path in files.items():
        monkeypatch.setenv(f"FLOWSCOPE_{name.upper()}", str(path))
    if files and "session_db" not in files:  # never the real ~/.cache
        folder = Path(next(iter(files.values()))).parent
        monkeypatch.setenv("FLOWSCOPE_SESSION_DB", str(folder / "sessions.sqlite3"))
    auth.FAILED_SIGNINS.clear()
    return at


def signed_in_state(user: str, display: str = "", roles=()) -> dict:
    """Session state of a session signed in as ``user`` with a real server-side session
    (settings from the environment, as signed_app set them)."""
    from lib import auth_sessions
    from lib.access import load_users
    from lib.config import load_settings

    settings = load_settings()
    entry = load_users(settings.users_file)["usernames"].get(user, {})
    sid = auth_sessions.store_for(settings).create(user, settings.session_ttl_s)
    pwf = auth_sessions.fingerprint(COOKIE_KEY, str(entry.get("password", "")))
    return {"authentication_status": True, "username": user, "name": display or user,
            "roles": list(roles), auth.SESSION_STATE: (sid, user, pwf)}


def gate_only() -> None:
    """A script of just the sign-in gate (AppTest drops app.py's sidebar on a second run,
    so a sidebar click is tested here)."""
    import streamlit as st

    from lib import auth, gui

    user = auth.gate(gui.settings())
    st.write(f"granted to {user.name}")


def audit_lines(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines()]


def shown_sources(at) -> set[str]:
    return set(at.dataframe[0].value["Source"]) if at.dataframe else set()
