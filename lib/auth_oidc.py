"""Sign-in mode ``oidc``: Streamlit's own ``st.login`` against the provider in
``secrets.toml [auth]``; sign-out ends the user's sign-ins elsewhere too (lib.auth_sessions)."""

from __future__ import annotations

import streamlit as st

from lib import access, audit, auth_sessions, uitext
from lib.auth_common import USER_KEY, refuse, signed_in_user
from lib.auth_runtime import stop_here


def _oidc_configured() -> bool:
    try:
        return "auth" in st.secrets
    except Exception:  # no secrets.toml at all  # noqa: BLE001
        return False


def identity(settings) -> tuple[str, str, list[str]]:
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
    st.sidebar.button(uitext.ui_text("sign-out"), on_click=_oidc_sign_out, args=(settings, name),
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
