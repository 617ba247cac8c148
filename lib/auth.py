"""Sign-in and authorisation for the app: one gate, four modes (``Settings.auth_mode``).

- ``password`` (lib.auth_password): a sign-in form over a bcrypt users file, revocable
  server-side sessions, failed sign-ins throttled per name and client.
- ``oidc`` (lib.auth_oidc): Streamlit's own ``st.login`` against the provider in
  ``secrets.toml [auth]``.
- ``alb`` (lib.auth_alb): the load balancer signs the user in and forwards a signed ES256
  token, verified against ``alb_signer_arn`` before anything is shown.
- ``none`` (lib.auth_none): no sign-in, only on a loopback address (or by explicit opt-in).

``gate(settings, pages)`` runs first in app.py: a visitor who is not signed in sees only the
sign-in and the script stops; a signed-in user gets their grant (``lib.access``): the
account scope every query is limited to (``st.session_state["scope"]``) and the pages
they may open (``navigation``). What the gate needs of Streamlit's internals is in
lib.auth_runtime; what the modes share, in lib.auth_common.
"""

from __future__ import annotations

import streamlit as st

from lib import access, auth_alb, auth_none, auth_oidc, auth_password, auth_runtime, uitext
from lib.access import AccessConfigError, Grant
from lib.auth_common import (  # noqa: F401 - the gate's public names, used by pages and tests
    PAGE_KEY,
    SIGNED_OUT,
    SIGNED_OUT_KEY,
    USER_KEY,
    User,
    _load_cached,
    cookie_key,
    current_page,
    refuse,
    signed_in_user,
)
from lib.auth_none import listen_problem  # noqa: F401
from lib.auth_password import (  # noqa: F401
    FAILED_SIGNINS,
    MAX_USERNAME,
    SESSION_STATE,
    check_password,
)
from lib.auth_runtime import (  # noqa: F401
    REQUESTED_PAGE_KEY,
    in_app_run,
    is_pages_folder_app_run,
    keep_requested_page,
    restart_as_app_run,
    stop_here,
)
from lib.auth_throttle import FailedSignIns  # noqa: F401
from lib.present import plain

MODES = ("password", "oidc", "alb", "none")
_IDENTITIES = {"password": auth_password.identity, "oidc": auth_oidc.identity,
               "alb": auth_alb.identity, "none": auth_none.identity}


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
    auth_runtime.set_pages(pages)
    signed_in_user()  # first use: ends Streamlit's pages-folder mode (lib.auth_runtime)
    if is_pages_folder_app_run():
        restart_as_app_run()
    keep_requested_page()
    if settings.auth_mode not in _IDENTITIES:
        refuse(f"Unknown auth_mode {settings.auth_mode!r}: use one of {', '.join(MODES)}.")
    name, display, groups = _IDENTITIES[settings.auth_mode](settings)
    try:
        grant = grant_for(settings, name, groups)
    except AccessConfigError as error:
        refuse(f"Signed in as {plain(name)}, but access cannot be decided: {plain(error)}")
    user = User(name, display, tuple(groups), settings.auth_mode, grant)
    st.session_state[USER_KEY] = user
    st.session_state["scope"] = grant.scope
    st.sidebar.caption(uitext.ui_text("signed-in-as", name=plain(display)) if settings.auth_mode != "none"
                       else uitext.ui_text("local-use"))
    if grant.sees_nothing:
        refuse(f"Signed in as {plain(name)}, but no account is granted to you (or your groups): "
               "ask an administrator to add you to the access mapping.")
    return user


def navigation(pages: list, user: User):
    """st.navigation over the pages this user may open; records the page for the audit."""
    visible = [p for p in pages if user.grant.allows_page(p.title)]
    if not visible:
        refuse(f"Signed in as {plain(user.name)}, but no page is granted to you.")
    english = {p.url_path: p.title for p in visible}  # what access and the audit name
    page = st.navigation([uitext.page_in_language(p) for p in visible])
    st.session_state.pop(REQUESTED_PAGE_KEY, None)  # reached: later runs know their page
    st.session_state[PAGE_KEY] = english.get(page.url_path, page.title)
    return page


def out_of_scope(query) -> tuple[str, ...]:
    """Accounts a query's filter names that the user may not see (they return nothing)."""
    return tuple(a for a in query.filters.accounts if not query.scope.allows(a))


def startup_problem(settings, address: str | None) -> str | None:
    """Why the app must not start with these settings on this listening address (the
    container's entrypoint asks before Streamlit starts), or None."""
    if settings.auth_mode == "none":
        return listen_problem(address, True, settings.auth_none_allow_network)
    if settings.auth_mode == "alb" and not settings.alb_signer_arn:
        return ("Flowscope refuses to start: auth_mode is `alb` but alb_signer_arn is not "
                "set; without it a token signed by any load balancer would be accepted.")
    return None


def main(argv: list[str] | None = None) -> int:
    """``python -m lib.auth ADDRESS``: exit 1 with the reason if the app must not start."""
    import sys

    from lib.config import load_settings

    args = sys.argv[1:] if argv is None else argv
    problem = startup_problem(load_settings(), args[0] if args else None)
    if problem:
        print(problem, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

