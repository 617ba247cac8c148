"""The sign-in cookie, written by a script in the page: no component, so no extra rerun.

The sign-in reads its cookie from the request (``st.context.cookies``). Writing it through
a component (extra-streamlit-components' CookieManager, an iframe) would rerun the script
once the component loaded and again after it set or deleted the cookie; on a busy server
those reruns overtake what the user does meanwhile (a page-link click lost, a typed user
name wiped, a Download CSV fetching a file the rerun has just dropped).

So the cookie is written with ``document.cookie`` in a script element, which reruns
nothing: ``set_cookie``/``delete_cookie`` keep the script in session state and the sign-in
code draws it (``write_scripts``) in the first place of the page, in every run, unchanged.
Drawn once only, it was lost when the next run replaced it before the browser had mounted
it (the html element's code is loaded on first use, and a run often follows the sign-in at
once): the user was signed in on that tab but not in the next. Drawn again with the same
text at the same place, the browser mounts and runs it once. A page script cannot make the cookie
HttpOnly; what the cookie names is a server-side session (lib.auth_sessions), which
sign-out ends, so a copied cookie is worth nothing after it.
"""

from __future__ import annotations

import datetime as dt
import json

import streamlit as st

SAME_SITE = {"strict": "Strict", "lax": "Lax", True: "Strict", False: "None", None: "Lax"}


def cookie_script(name: str, value: str, expires_at: dt.datetime | None, path: str = "/",
                  same_site="strict") -> str:
    """A script that sets (or, with ``expires_at`` in the past, deletes) one cookie. Values
    are JSON string literals with "<" escaped, so nothing can close the script element."""
    expires = (expires_at or dt.datetime.now() + dt.timedelta(days=1)).astimezone(dt.UTC)
    parts = [
        f"path={path}",
        "expires=" + expires.strftime("%a, %d %b %Y %H:%M:%S GMT"),
        f"SameSite={SAME_SITE.get(same_site, 'Strict')}",
    ]

    def literal(text: str) -> str:
        return json.dumps(text).replace("<", "\\u003c")

    return ("<script>document.cookie = " + literal(name) + " + '=' + encodeURIComponent("
            + literal(value) + ") + " + literal("; " + "; ".join(parts))
            # Secure over https (the load balancer's address), so it never travels in clear.
            + " + (location.protocol === 'https:' ? '; Secure' : '');</script>")


SCRIPTS_KEY = "_page_cookie_scripts"  # session state: cookie name -> its latest script


def _keep(name: str, script: str) -> None:
    st.session_state.setdefault(SCRIPTS_KEY, {})[name] = script


def write_scripts(slot) -> None:
    """Draw the latest script of each cookie set or deleted in this session in ``slot`` (an
    st.empty at the same place in every run), or empty it. The same text at the same place
    is not run again by the browser; one it never mounted is mounted and run now."""
    scripts = st.session_state.get(SCRIPTS_KEY) or {}
    if scripts:
        slot.html("".join(scripts.values()), unsafe_allow_javascript=True, width="content")
    else:
        slot.empty()


def set_cookie(name: str, value: str, expires_at: dt.datetime) -> None:
    """Set the cookie from the next ``write_scripts`` on."""
    _keep(name, cookie_script(name, value, expires_at))


def delete_cookie(name: str) -> None:
    """Delete the cookie from the next ``write_scripts`` on."""
    _keep(name, cookie_script(name, "", dt.datetime(1970, 1, 1, tzinfo=dt.UTC)))
