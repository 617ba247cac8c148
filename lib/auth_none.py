"""Sign-in mode ``none``: no sign-in, allowed only while the server listens on a loopback
address (or with the explicit opt-in ``auth_none_allow_network``)."""

from __future__ import annotations

import ipaddress

import streamlit as st

from lib.auth_common import _log, refuse
from lib.auth_runtime import serving


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


def identity(settings) -> tuple[str, str, list[str]]:
    problem = listen_problem(st.get_option("server.address"), serving(),
                             settings.auth_none_allow_network)
    if problem:
        refuse(problem)
    if settings.auth_none_allow_network:
        _log.warning("auth_mode none with auth_none_allow_network: no sign-in, every "
                     "account, for anyone who can reach this server")
    return "local", "local user (no sign-in)", []
