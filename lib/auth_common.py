"""What the sign-in gate (lib.auth) and every sign-in mode (lib.auth_<mode>) share: the
signed-in user in session state, refusing with a message, the cookie key, and files read
again when they change."""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass
from pathlib import Path

import streamlit as st

from lib import auth_runtime
from lib.access import AccessConfigError, Grant

USER_KEY = "signed_in_user"  # session state: the User who passed the gate in this session
PAGE_KEY = "current_page"  # session state: the title of the page being run (for the audit)
SIGNED_OUT_KEY = "_signed_out"  # session state: this session signed out (say so until a sign-in)
SIGNED_OUT = "You have signed out."
COOKIE_KEY_ENV = "FLOWSCOPE_COOKIE_KEY"
MIN_COOKIE_KEY = 32
_log = logging.getLogger("flowscope.auth")


@dataclass(frozen=True)
class User:
    name: str  # the identity the access mapping and the audit use
    display: str
    groups: tuple[str, ...]
    mode: str
    grant: Grant


def signed_in_user() -> User | None:
    """The user who passed the gate in this session. Called first by the gate and by every
    page (lib.gui.leave_unless_signed_in), so it also ends Streamlit's pages-folder mode on
    first use (lib.auth_runtime)."""
    auth_runtime.no_pages_folder_mode()
    return st.session_state.get(USER_KEY)


def current_page() -> str:
    return st.session_state.get(PAGE_KEY, "")


def refuse(message: str) -> None:
    """Show only the message (also logged for the operator) and stop."""
    _log.error("%s", message)
    st.error(message)
    auth_runtime.stop_here()


def cookie_key() -> str:
    """The sign-in cookie's signing key: environment first, then secrets."""
    key = os.environ.get(COOKIE_KEY_ENV, "")
    if not key:
        try:
            key = str(st.secrets.get("flowscope_cookie_key", ""))
        except Exception:  # no secrets.toml at all  # noqa: BLE001
            key = ""
    return key


_file_cache: dict[tuple, object] = {}
_file_cache_lock = threading.Lock()


def _load_cached(path: str, loader):
    """loader(path), reloaded when the file changes (edit without a restart)."""
    try:
        stat = Path(path).stat()
    except OSError as error:
        raise AccessConfigError(f"cannot read {path}: {error.strerror or error}") from None
    key = (loader.__name__, path, stat.st_mtime_ns, stat.st_size)
    with _file_cache_lock:
        if key not in _file_cache:
            _file_cache[key] = loader(path)
        return _file_cache[key]
