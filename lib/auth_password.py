"""Sign-in mode ``password``: a bcrypt users file (read only, never written), revocable
server-side sessions (lib.auth_sessions) named by a cookie written by a script in the page
(lib.page_cookies), failed sign-ins throttled per name and client (lib.auth_throttle)."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
import threading
import unicodedata

import streamlit as st

from lib import access, audit, auth_sessions, page_cookies, uitext
from lib.access import AccessConfigError
from lib.auth_common import (
    COOKIE_KEY_ENV,
    MIN_COOKIE_KEY,
    SIGNED_OUT,
    SIGNED_OUT_KEY,
    USER_KEY,
    _load_cached,
    cookie_key,
    refuse,
)
from lib.auth_runtime import stop_here
from lib.auth_throttle import FailedSignIns, client_address

FAILED_SIGNINS = FailedSignIns()
MAX_USERNAME = 128  # characters; a longer name is refused before it is logged anywhere
AUTH_STATUS = "authentication_status"  # session state: True once signed in (else None/False)
SESSION_STATE = "_password_session"  # session state: (sid, user, password fingerprint)
COOKIE_SEEN_KEY = "_cookie_seen"  # session state: digest of the cookie already considered
SESSION_ENDED_KEY = "_session_ended"
SESSION_ENDED = "Your session has ended (signed out elsewhere, expired, or the password " \
    "changed): sign in again."
WRONG = "The user name or password is not correct."


_dummy_hashes: dict[str, bytes] = {}
_dummy_lock = threading.Lock()


def _dummy_hash(users: dict) -> bytes:
    """A bcrypt hash of a random password with the users file's own cost: an unknown name
    is checked against it, so it takes as long as a known one (no enumeration by timing)."""
    import bcrypt

    hashes = [str(e.get("password", "")) for e in users["usernames"].values()]
    cost = next((h.split("$")[2] for h in hashes if h.count("$") >= 3), "12")
    with _dummy_lock:
        if cost not in _dummy_hashes:
            _dummy_hashes[cost] = bcrypt.hashpw(secrets.token_hex(16).encode(),
                                                bcrypt.gensalt(int(cost)))
        return _dummy_hashes[cost]


def check_password(users: dict, name: str, password: str) -> bool:
    """True when ``name`` is a user and ``password`` is theirs; one bcrypt check either
    way, of the same cost."""
    import bcrypt

    entry = users["usernames"].get(name)
    stored = str(entry.get("password", "")).encode() if entry else b""
    try:
        matches = bcrypt.checkpw(password.encode("utf-8")[:access.MAX_PASSWORD_BYTES],
                                 stored if entry else _dummy_hash(users))
    except ValueError:  # a malformed hash in the file: never a match
        matches = False
    return entry is not None and matches


def normal_username(raw: str) -> str:
    """The name as the users file holds it: NFKC (a full-width name typed through an input
    method is the same name), trimmed, ASCII lower case. Names the file cannot hold simply
    match nobody."""
    return unicodedata.normalize("NFKC", raw).strip().lower()


def _client(settings) -> str:
    try:
        peer, headers = st.context.ip_address, st.context.headers
    except Exception:  # noqa: BLE001 - no request (AppTest, bare runs)
        peer, headers = None, None
    if not isinstance(peer, str):  # AppTest: a stand-in object
        peer, headers = None, None
    return client_address(peer, headers, settings.trusted_proxy_hops)


def _request_cookie(name: str) -> str | None:
    try:
        value = st.context.cookies.get(name)
    except Exception:  # noqa: BLE001 - no request
        return None
    return value if isinstance(value, str) else None  # AppTest: a stand-in object


def _password_setup(settings) -> tuple[str, dict]:
    key = cookie_key()
    if len(key) < MIN_COOKIE_KEY:
        refuse(f"Password sign-in needs a cookie signing key of {MIN_COOKIE_KEY}+ characters "
               f"in the environment ({COOKIE_KEY_ENV}) or in secrets.toml "
               "(flowscope_cookie_key).")
    if not settings.users_file:
        refuse("Password sign-in needs a users file (users_file); create one with "
               "`python -m lib.cli add-user`.")
    try:
        users = _load_cached(settings.users_file, access.load_users)
    except AccessConfigError as error:
        refuse(str(error))
    return key, users


def _forget_sign_in() -> None:
    for name in (SESSION_STATE, USER_KEY, "scope", "username", "name"):
        st.session_state.pop(name, None)
    st.session_state[AUTH_STATUS] = None


def _fingerprint_of(key: str, entry: dict) -> str:
    return auth_sessions.fingerprint(key, str(entry.get("password", "")))


def _session_user(settings, key: str, users: dict) -> str | None:
    """The user this Streamlit session signed in as, if that session is still valid (checked
    on every run: a sign-out in another tab or replica, the TTL or a password change ends
    it at the next run)."""
    session = st.session_state.get(SESSION_STATE)
    if st.session_state.get(AUTH_STATUS) is not True or not session:
        return None
    sid, name, pwf = session
    entry = users["usernames"].get(name)
    if entry is None:  # removed from the users file while signed in
        _forget_sign_in()
        audit.signin(settings, "password", name, "refused", "not in the users file")
        refuse("This user no longer exists: ask an administrator.")
    if (auth_sessions.store_for(settings).is_valid(sid, name)
            and hmac.compare_digest(pwf, _fingerprint_of(key, entry))):
        return name
    _forget_sign_in()
    audit.signin(settings, "password", name, "ended", "the session is no longer valid")
    page_cookies.delete_cookie(settings.auth_cookie_name)
    st.session_state[SESSION_ENDED_KEY] = True
    return None


def _cookie_user(settings, key: str, users: dict) -> str | None:
    """The user the request's cookie names, if it names a valid session of theirs. Any
    problem at all with the cookie (garbage, a wrong key, junk in its header, a session
    ended) is "no cookie": it is deleted and one audit line says so, without the cookie's
    text or any library's message."""
    token = _request_cookie(settings.auth_cookie_name)
    if not token:
        return None
    digest = hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()
    if st.session_state.get(COOKIE_SEEN_KEY) == digest:
        return None  # this connection's cookie was considered already (fixed per connection)
    st.session_state[COOKIE_SEEN_KEY] = digest
    claims = auth_sessions.decode_token(key, token)
    name = claims["username"] if claims else None
    entry = users["usernames"].get(name) if name else None
    if (entry is not None and auth_sessions.store_for(settings).is_valid(claims["sid"], name)
            and hmac.compare_digest(claims["pwf"], _fingerprint_of(key, entry))):
        st.session_state[SESSION_STATE] = (claims["sid"], name, claims["pwf"])
        st.session_state.update({AUTH_STATUS: True, "username": name})
        st.session_state.pop(SIGNED_OUT_KEY, None)
        audit.resume(settings, "password", name, "ok")
        return name
    page_cookies.delete_cookie(settings.auth_cookie_name)
    audit.resume(settings, "password", name if entry is not None else None, "refused",
                 "the cookie names no valid session" if claims else "the cookie is not valid")
    return None


def _start_session(settings, key: str, name: str, entry: dict) -> None:
    ttl = settings.session_ttl_s
    sid = auth_sessions.store_for(settings).create(name, ttl)
    pwf = _fingerprint_of(key, entry)
    token = auth_sessions.encode_token(key, sid, name, pwf, ttl)
    expires = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=ttl)
    page_cookies.set_cookie(settings.auth_cookie_name, token, expires)
    st.session_state[SESSION_STATE] = (sid, name, pwf)
    st.session_state.update({AUTH_STATUS: True, "username": name,
                             "name": entry.get("name") or name})
    for flag in (SIGNED_OUT_KEY, SESSION_ENDED_KEY):
        st.session_state.pop(flag, None)


def _attempt(settings, key: str, users: dict, raw: str, password: str) -> str | None:
    """One submitted sign-in: the user name on success; otherwise a message is shown."""
    st.session_state[AUTH_STATUS] = False  # until the checks below pass
    client = _client(settings)
    if len(raw) > MAX_USERNAME:
        audit.signin(settings, "password", None, "failed",
                     f"user name over {MAX_USERNAME} characters")
        st.error(f"A user name has at most {MAX_USERNAME} characters.")
        return None
    name = normal_username(raw)
    throttle = (name, client)
    wait = FAILED_SIGNINS.wait_s(throttle, settings.login_max_failures,
                                 settings.login_lockout_s, settings.login_backoff_s)
    if wait > 0:
        audit.signin(settings, "password", name, "locked")
        st.error(f"Too many failed sign-ins for this user name: it is locked for you for "
                 f"{int(wait) + 1} more seconds. Try again then, or ask an administrator.")
        return None
    if not check_password(users, name, password):
        FAILED_SIGNINS.add(throttle)
        audit.signin(settings, "password", name, "failed")
        st.error(WRONG)
        return None
    FAILED_SIGNINS.clear(throttle)
    _start_session(settings, key, name, users["usernames"][name])
    audit.signin(settings, "password", name, "ok")
    return name


def _sign_in_form(settings, key: str, users: dict) -> str | None:
    """The form; the signed-in user's name in the run that signs them in (the form is then
    emptied), else None."""
    _dummy_hash(users)  # made before any attempt: no first attempt is slower than the rest
    # The sign-in's place on the page: emptied in the run that signs the user in, so the
    # page is drawn without the form (no rerun comes to redraw it).
    slot = st.empty()
    with slot.container():
        st.title("Flowscope")
        if st.session_state.get(SIGNED_OUT_KEY):  # said until the next sign-in
            st.info(SIGNED_OUT)
        elif st.session_state.get(SESSION_ENDED_KEY):
            st.info(SESSION_ENDED)
        with st.form("sign_in"):
            st.subheader("Sign in")
            raw = st.text_input("Username", max_chars=MAX_USERNAME)
            password = st.text_input("Password", type="password")
            submitted = st.form_submit_button("Login")
        name = _attempt(settings, key, users, raw, password) if submitted else None
    if name is not None:
        slot.empty()
    return name


def identity(settings) -> tuple[str, str, list[str]]:
    # The cookie's script: the first place on the page in every run (lib.page_cookies).
    script_slot = st.empty()
    key, users = _password_setup(settings)
    name = _session_user(settings, key, users) or _cookie_user(settings, key, users)
    if name is None:
        name = _sign_in_form(settings, key, users)
    page_cookies.write_scripts(script_slot)
    if name is None:
        stop_here()
    _password_sign_out(settings, name, script_slot)
    entry = users["usernames"][name]
    # Groups as the users file says now (an edit applies without signing in again).
    return name, entry.get("name") or name, [str(g) for g in entry.get("roles") or []]


def _password_sign_out(settings, name: str, script_slot) -> None:
    """Sign-out ends every session of the user: this tab, their other tabs and browsers
    (at their next run), and any copy of the cookie."""
    if st.sidebar.button(uitext.ui_text("sign-out"), key="sign_out"):
        ended = auth_sessions.store_for(settings).end_all(name)
        audit.signin(settings, "password", name, "signed-out", f"{ended} session(s) ended")
        _forget_sign_in()
        st.session_state[SIGNED_OUT_KEY] = True
        page_cookies.delete_cookie(settings.auth_cookie_name)
        page_cookies.write_scripts(script_slot)
        st.info(SIGNED_OUT)
        stop_here()
