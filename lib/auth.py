"""Sign-in and authorisation for the app: one gate, four modes (``Settings.auth_mode``).

- ``password``: streamlit-authenticator's login form over a bcrypt users file, which is
  passed in as data, so the app never writes it; failed sign-ins lock a user name out.
- ``oidc``: Streamlit's own ``st.login`` against the provider in ``secrets.toml [auth]``.
- ``alb``: the load balancer signs the user in and forwards a signed ES256 token, which
  is verified here (``lib.albjwt``) before anything is shown.
- ``none``: no sign-in, allowed only while the server listens on a loopback address.

``gate(settings, pages)`` runs first in app.py: a visitor who is not signed in sees only the
sign-in and the script stops; a signed-in user gets their grant (``lib.access``): the
account scope every query is limited to (``st.session_state["scope"]``) and the pages
they may open (``navigation``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import ipaddress
import logging
import os
import secrets
import threading
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import streamlit as st

from lib import access, albjwt, audit, auth_sessions, page_cookies
from lib.access import AccessConfigError, Grant
from lib.auth_throttle import FailedSignIns, client_address

MODES = ("password", "oidc", "alb", "none")
USER_KEY = "signed_in_user"  # session state: the User who passed the gate in this session
REQUESTED_PAGE_KEY = "_requested_page"  # session state: the page the address named
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


def no_pages_folder_mode() -> None:
    """Streamlit runs a requested pages/ file on its own (no app.py, so no sign-in) until a
    run calls st.navigation, so a new server's first request could open a page ungated.
    Flowscope's pages are reached only through app.py's navigation: say so at once, on the
    first import of this module (pages and app.py import it through lib.gui), and start
    that first run over as a run of the app (restart_as_app_run)."""
    from streamlit.runtime.pages_manager import PagesManager

    was_pages_folder_run = PagesManager.uses_pages_directory is not False
    PagesManager.uses_pages_directory = False
    if was_pages_folder_run and in_app_run():
        restart_as_app_run()


RESTARTED_KEY = "_restarted_as_app_run"  # session state: this session's run was started over


def is_pages_folder_app_run() -> bool:
    """True while app.py runs as the start page of a pages-folder run: a session's first
    run that began before no_pages_folder_mode took effect (two first visitors of a new
    server at once). Its widgets get ids no later run gives them: a sign-in form drawn
    now would drop what is typed into it."""
    from streamlit.runtime.scriptrunner_utils.script_run_context import (
        ThreadState,
        get_script_run_ctx,
    )

    ctx = get_script_run_ctx(suppress_warning=True)
    return (ctx is not None and in_app_run()
            and ThreadState.get().active_script_hash != ctx.pages_manager.main_script_hash)


def restart_as_app_run() -> None:
    """Start this run over, before it draws anything, as a run of app.py that names no
    page but keeps the one the address named (a shared link to /check opens the check
    after the sign-in). Once per session: a run that still is not an app run goes on."""
    from streamlit.runtime.scriptrunner_utils.script_run_context import get_script_run_ctx

    if st.session_state.get(RESTARTED_KEY):
        return
    st.session_state[RESTARTED_KEY] = True
    keep_requested_page()
    get_script_run_ctx().pages_manager.set_current_page_script_hash("")
    st.rerun()


def keep_requested_page() -> None:
    """Keep the page a visitor's address named (a shared link to /check) through the
    sign-in. A browser names that page only on the session's first run; if that run is cut
    short by a rerun (a new server's first runs start over, see restart_as_app_run; a
    click comes before the first run reached st.navigation), the rerun names no page and
    Streamlit would open the start page. The name is kept in session state and asked for
    again until a signed-in navigation has reached it."""
    from streamlit.runtime.scriptrunner_utils.script_run_context import get_script_run_ctx

    ctx = get_script_run_ctx(suppress_warning=True)
    if ctx is None:
        return
    manager = ctx.pages_manager
    if manager.intended_page_name:
        st.session_state[REQUESTED_PAGE_KEY] = manager.intended_page_name
    elif (REQUESTED_PAGE_KEY in st.session_state
          and manager.intended_page_script_hash in ("", manager.main_script_hash)):
        manager.set_script_intent("", st.session_state[REQUESTED_PAGE_KEY])


def in_app_run() -> bool:
    """True inside a script run of the app (app.py is the main script), not a bare import
    or an AppTest of one page file."""
    from streamlit.runtime.scriptrunner_utils.script_run_context import get_script_run_ctx

    ctx = get_script_run_ctx(suppress_warning=True)
    return ctx is not None and Path(ctx.main_script_path).name == "app.py"


no_pages_folder_mode()


def signed_in_user() -> User | None:
    return st.session_state.get(USER_KEY)


def current_page() -> str:
    return st.session_state.get(PAGE_KEY, "")


# --- refusing -----------------------------------------------------------------------------

def _nothing() -> None:
    """What every page is while nobody is signed in: nothing."""


_this_run = threading.local()  # the app's pages, for the run in this (script) thread


def _stand_ins(pages) -> list:
    """The app's pages by address only, each running nothing: the address a visitor opened
    (a shared link to a page) stays as it is through the sign-in."""
    if not pages:
        return [st.Page(_nothing, title="Sign in", url_path="sign-in")]
    return [st.Page(_nothing, title=p.title, url_path=p.url_path or "start",
                    default=not p.url_path) for p in pages]


def stop_here() -> None:
    """End the run showing only what was drawn so far. A navigation is registered (hidden)
    even so: a run without one makes Streamlit list pages/ and open them without app.py."""
    st.navigation(_stand_ins(getattr(_this_run, "pages", None)), position="hidden").run()
    st.stop()


def refuse(message: str) -> None:
    """Show only the message (also logged for the operator) and stop."""
    _log.error("%s", message)
    st.error(message)
    stop_here()


# --- mode none: loopback only -----------------------------------------------------------

def _is_loopback(address: str) -> bool:
    if address.startswith("unix://") or address.casefold() == "localhost":
        return True
    try:
        return ipaddress.ip_address(address.strip("[]")).is_loopback
    except ValueError:
        return False


def listen_problem(address: str | None, serving: bool,
                   allow_network: bool = False) -> str | None:
    """Why mode `none` must not run with this server address, or None when it may.

    An unset address makes a running Streamlit server listen on every interface; AppTest
    and bare runs have no server at all, so there an unset address is harmless. An operator
    who means it (a network of one, behind their own sign-in proxy) says so with
    ``auth_none_allow_network``."""
    if allow_network:
        return None
    if address is None or address == "":
        if not serving:
            return None
        shown = "every interface (server.address is not set)"
    elif _is_loopback(address):
        return None
    else:
        shown = address
    return (f"Flowscope refuses to start: auth_mode is `none` (no sign-in), but the server "
            f"listens on {shown}, which other machines can reach. Set auth_mode to password, "
            "oidc or alb (README: Access and deployment), or listen on 127.0.0.1 only "
            "(--server.address 127.0.0.1); only if something else in front already signs "
            "people in, set auth_none_allow_network = true.")


def _serving() -> bool:
    """True under `streamlit run`; AppTest swaps the runtime for a mock and serves nothing."""
    from streamlit import runtime
    from streamlit.runtime import Runtime

    return runtime.exists() and type(runtime.get_instance()) is Runtime


def _none_identity(settings) -> tuple[str, str, list[str]]:
    problem = listen_problem(st.get_option("server.address"), _serving(),
                             settings.auth_none_allow_network)
    if problem:
        refuse(problem)
    if settings.auth_none_allow_network:
        _log.warning("auth_mode none with auth_none_allow_network: no sign-in, every "
                     "account, for anyone who can reach this server")
    return "local", "local user (no sign-in)", []


# --- mode password: a bcrypt users file, revocable sessions, throttled failures ---------

FAILED_SIGNINS = FailedSignIns()
MAX_USERNAME = 128  # characters; a longer name is refused before it is logged anywhere
AUTH_STATUS = "authentication_status"  # session state: True once signed in (else None/False)
SESSION_STATE = "_password_session"  # session state: (sid, user, password fingerprint)
COOKIE_SEEN_KEY = "_cookie_seen"  # session state: digest of the cookie already considered
SESSION_ENDED_KEY = "_session_ended"
SESSION_ENDED = "Your session has ended (signed out elsewhere, expired, or the password " \
    "changed): sign in again."
WRONG = "The user name or password is not correct."


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


_dummy_hashes: dict[str, bytes] = {}


def _dummy_hash(users: dict) -> bytes:
    """A bcrypt hash of a random password with the users file's own cost: an unknown name
    is checked against it, so it takes as long as a known one (no enumeration by timing)."""
    import bcrypt

    hashes = [str(e.get("password", "")) for e in users["usernames"].values()]
    cost = next((h.split("$")[2] for h in hashes if h.count("$") >= 3), "12")
    with _file_cache_lock:
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
    replaced by the cookie's script), else None."""
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
        page_cookies.write_pending(slot)  # the cookie's script, where the form was
    return name


def _password_identity(settings) -> tuple[str, str, list[str]]:
    key, users = _password_setup(settings)
    name = _session_user(settings, key, users) or _cookie_user(settings, key, users)
    if name is None:
        name = _sign_in_form(settings, key, users)
    if name is None:
        page_cookies.write_pending(st.empty())  # e.g. deleting a refused cookie
        stop_here()
    _password_sign_out(settings, name)
    entry = users["usernames"][name]
    # Groups as the users file says now (an edit applies without signing in again).
    return name, entry.get("name") or name, [str(g) for g in entry.get("roles") or []]


def _password_sign_out(settings, name: str) -> None:
    """Sign-out ends every session of the user: this tab, their other tabs and browsers
    (at their next run), and any copy of the cookie."""
    if st.sidebar.button("Sign out", key="sign_out"):
        ended = auth_sessions.store_for(settings).end_all(name)
        audit.signin(settings, "password", name, "signed-out", f"{ended} session(s) ended")
        _forget_sign_in()
        st.session_state[SIGNED_OUT_KEY] = True
        page_cookies.delete_cookie(settings.auth_cookie_name)
        page_cookies.write_pending(st.empty())
        st.info(SIGNED_OUT)
        stop_here()


# --- mode oidc: st.login ----------------------------------------------------------------

def _oidc_configured() -> bool:
    try:
        return "auth" in st.secrets
    except Exception:  # no secrets.toml at all  # noqa: BLE001
        return False


def _oidc_identity(settings) -> tuple[str, str, list[str]]:
    if not _oidc_configured():
        refuse("OpenID Connect sign-in needs an [auth] section in .streamlit/secrets.toml "
               "(README: Access and deployment).")
    provider = (settings.oidc_provider,) if settings.oidc_provider else ()
    if not st.user.get("is_logged_in"):
        st.title("Flowscope")
        st.write("Sign in with your company account to continue.")
        st.button("Sign in", on_click=st.login, args=provider, type="primary")
        stop_here()
    claims = st.user.to_dict()
    name = identity_name(claims)
    if not name:
        refuse("The identity provider sent no verified e-mail address or subject for this "
               "sign-in.")
    groups = claims.get("groups") or claims.get("cognito:groups") or []
    issued_at = claims.get("iat")
    if (isinstance(issued_at, int | float) and auth_sessions.store_for(settings)
            .signed_in_before_sign_out(name, issued_at)):
        # Signed out in another tab or browser after this sign-in: it ends here too.
        audit.signin(settings, "oidc", name, "ended", "signed out since this sign-in")
        st.session_state.pop(USER_KEY, None)
        st.logout()
        stop_here()
    if signed_in_user() is None:
        audit.signin(settings, "oidc", name, "ok")
    st.sidebar.button("Sign out", on_click=_oidc_sign_out, args=(settings, name),
                      key="sign_out")
    return name, str(claims.get("name") or name), [str(g) for g in groups]


def _oidc_sign_out(settings, name: str) -> None:
    """Ends this browser's sign-in (st.logout) and, through the session file, every other
    sign-in of the user issued before now (their next run)."""
    auth_sessions.store_for(settings).end_all(name)
    audit.signin(settings, "oidc", name, "signed-out")
    st.logout()


def identity_name(claims: dict) -> str:
    """The user an identity provider's claims name (oidc and alb): the e-mail address only
    when the provider says it verified it (``email_verified``, a boolean or Cognito's
    "true"), else the subject. Refused (empty) if it is not stable under NFKC: a
    compatibility character (a full-width letter, the Kelvin sign) would otherwise fold
    into another user's name."""
    verified = claims.get("email_verified") in (True, "true", "True")
    name = str((claims.get("email") if verified else None) or claims.get("sub") or "")
    return name if access.is_plain_identity(name) else ""


# --- mode alb: the load balancer's signed header ------------------------------------------

def header_source():
    """The request headers of this session (tests replace this function)."""
    return st.context.headers


def _header(headers, name: str) -> str | None:
    value = headers.get(name) if headers else None
    if value is None and headers:
        value = next((v for k, v in headers.items() if k.lower() == name), None)
    return value


def _alb_identity(settings) -> tuple[str, str, list[str]]:
    if not settings.alb_signer_arn:
        # Without it any load balancer of the region (anyone's) could sign a token.
        refuse("Flowscope refuses to start: auth_mode is `alb` but alb_signer_arn is not set. "
               "Set it to the load balancer's ARN (the CloudFormation template does).")
    token = _header(header_source(), albjwt.HEADER)
    digest = hashlib.sha256(token.encode()).hexdigest() if token else ""
    verified = st.session_state.get("_alb_verified")
    # Headers are fixed for a session's connection: verify once, not on every rerun
    # (the ALB's tokens are short-lived; the connection outlives them).
    if verified and verified[0] == digest:
        claims = verified[1]
    else:
        try:
            claims = albjwt.verify(token, settings)
        except albjwt.AlbTokenError as error:
            audit.signin(settings, "alb", None, "failed", str(error))
            refuse(f"Not signed in: {error}")
        st.session_state["_alb_verified"] = (digest, claims)
    name, groups = albjwt.identity(claims)
    if not name:
        refuse("The load balancer's token names no user.")
    if signed_in_user() is None or signed_in_user().name != name:
        audit.signin(settings, "alb", name, "ok")
    if settings.alb_logout_url:
        st.sidebar.link_button("Sign out", settings.alb_logout_url)
    return name, str(claims.get("name") or name), groups


# --- the gate -----------------------------------------------------------------------------

_IDENTITIES = {"password": _password_identity, "oidc": _oidc_identity, "alb": _alb_identity,
               "none": _none_identity}


def grant_for(settings, name: str, groups) -> Grant:
    """The access mapping's grant; without a mapping only mode `none` sees everything."""
    if not settings.access_file:
        if settings.auth_mode == "none":
            return access.EVERYTHING
        raise AccessConfigError("no access mapping is configured (access_file): nobody may "
                                "see any account until one is")
    return _load_cached(settings.access_file, access.load_access).grant(name, groups)


def gate(settings, pages: list | None = None) -> User:
    """Sign the visitor in and set their scope; otherwise show only the sign-in and stop.
    ``pages``: the app's st.Page list (kept registered while the sign-in is shown)."""
    _this_run.pages = pages
    if is_pages_folder_app_run():
        restart_as_app_run()
    keep_requested_page()
    if settings.auth_mode not in _IDENTITIES:
        refuse(f"Unknown auth_mode {settings.auth_mode!r}: use one of {', '.join(MODES)}.")
    name, display, groups = _IDENTITIES[settings.auth_mode](settings)
    try:
        grant = grant_for(settings, name, groups)
    except AccessConfigError as error:
        refuse(f"Signed in as {name}, but access cannot be decided: {error}")
    user = User(name, display, tuple(groups), settings.auth_mode, grant)
    st.session_state[USER_KEY] = user
    st.session_state["scope"] = grant.scope
    st.sidebar.caption(f"Signed in as **{display}**" if settings.auth_mode != "none"
                       else "Local use: no sign-in")
    if grant.sees_nothing:
        refuse(f"Signed in as {name}, but no account is granted to you (or your groups): "
               "ask an administrator to add you to the access mapping.")
    return user


def navigation(pages: list, user: User):
    """st.navigation over the pages this user may open; records the page for the audit."""
    visible = [p for p in pages if user.grant.allows_page(p.title)]
    if not visible:
        refuse(f"Signed in as {user.name}, but no page is granted to you.")
    page = st.navigation(visible)
    st.session_state.pop(REQUESTED_PAGE_KEY, None)  # reached: later runs know their page
    st.session_state[PAGE_KEY] = page.title
    return page


def out_of_scope(query) -> tuple[str, ...]:
    """Accounts a query's filter names that the user may not see (they return nothing)."""
    return tuple(a for a in query.filters.accounts if not query.scope.allows(a))
