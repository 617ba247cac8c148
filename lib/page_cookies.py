"""The sign-in cookie, written by a script in the page: no component, so no extra rerun.

streamlit-authenticator reads its re-authentication cookie from the request
(``st.context.cookies``) but writes it through extra-streamlit-components' CookieManager, a
component in an iframe. That component reruns the script once it has loaded (to report
every cookie, which the library never reads) and again after it has set or deleted one.
On a busy server those reruns arrive seconds after the sign-in and overtake what the user
does meanwhile: a page-link click is lost (the rerun names the old page), a typed user
name is wiped, a Download CSV fetches a file the rerun has just dropped (404).

``PageCookies`` stands in for CookieManager inside the library (``install``): it writes and
deletes the cookie with ``document.cookie`` in a script element, which reruns nothing. The
library sets the cookie while its form is being drawn; the script waits in session state
until the sign-in code draws it where the form was (``write_pending``).
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


PENDING_KEY = "_page_cookie_scripts"  # session state: scripts not drawn yet


def _queue(script: str) -> None:
    st.session_state.setdefault(PENDING_KEY, []).append(script)


def write_pending(slot) -> None:
    """Draw the cookie scripts set or deleted so far in ``slot`` (an st.empty), which
    otherwise is emptied. Each script is drawn once: the browser runs it as it is shown."""
    scripts = st.session_state.pop(PENDING_KEY, [])
    if scripts:
        slot.html("".join(scripts), unsafe_allow_javascript=True, width="content")
    else:
        slot.empty()


class PageCookies:
    """What streamlit-authenticator's CookieModel uses of CookieManager: ``set`` and
    ``delete`` (it reads its cookie from the request, ``st.context.cookies``). Made, unlike
    CookieManager, without drawing anything."""

    def set(self, cookie: str, val, key: str = "set", path: str = "/",
            expires_at: dt.datetime | None = None, same_site="strict", **_ignored) -> None:
        if cookie:
            _queue(cookie_script(cookie, str(val), expires_at, path, same_site))

    def delete(self, cookie: str, key: str = "delete") -> None:
        if cookie:
            _queue(cookie_script(cookie, "", dt.datetime(1970, 1, 1, tzinfo=dt.UTC)))


class _Components:
    """The one name streamlit-authenticator's cookie model takes from
    extra_streamlit_components."""

    CookieManager = PageCookies


def install() -> None:
    """Make streamlit-authenticator write its cookie with PageCookies. Its cookie model
    calls ``stx.CookieManager()``; only that module's ``stx`` is replaced (idempotent)."""
    from streamlit_authenticator.models import cookie_model

    cookie_model.stx = _Components
