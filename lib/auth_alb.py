"""Sign-in mode ``alb``: the load balancer signs the user in and forwards a signed ES256
token (``x-amzn-oidc-data``), verified here (lib.albjwt) against ``alb_signer_arn``, which is
required, before anything is shown."""

from __future__ import annotations

import hashlib

import streamlit as st

from lib import albjwt, audit, uitext
from lib.auth_common import refuse, signed_in_user
from lib.present import plain


def header_source():
    """The request headers of this session (tests replace this function)."""
    return st.context.headers


def _header(headers, name: str) -> str | None:
    value = headers.get(name) if headers else None
    if value is None and headers:
        value = next((v for k, v in headers.items() if k.lower() == name), None)
    return value


def identity(settings) -> tuple[str, str, list[str]]:
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
            refuse(f"Not signed in: {plain(error)}")
        st.session_state["_alb_verified"] = (digest, claims)
    name, groups = albjwt.identity(claims)
    if not name:
        refuse("The load balancer's token names no user.")
    if signed_in_user() is None or signed_in_user().name != name:
        audit.signin(settings, "alb", name, "ok")
    if settings.alb_logout_url:
        st.sidebar.link_button(uitext.ui_text("sign-out"), settings.alb_logout_url)
    return name, str(claims.get("name") or name), groups
