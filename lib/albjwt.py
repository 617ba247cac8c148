"""Verify the identity an Application Load Balancer forwards after OIDC authentication.

The ALB signs the user's claims as an ES256 JWT in the ``x-amzn-oidc-data`` header; its
header names the key (``kid``) and the load balancer (``signer``). Anyone who can reach the
container directly can send that header too, so it is trusted only after its signature
checks out against the ALB public key for that ``kid``, fetched from AWS's key endpoint
(``https://public-keys.auth.elb.{region}.amazonaws.com/{kid}``, a PEM) or, in tests, read
from a local directory holding ``<kid>.pem``.
"""

from __future__ import annotations

import os
import re
import threading
import time
import urllib.request
from pathlib import Path

import jwt

HEADER = "x-amzn-oidc-data"
ALGORITHM = "ES256"
_KID = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{0,127}")  # it goes into a URL or a file name
_ARN_REGION = re.compile(r"arn:aws[a-z-]*:elasticloadbalancing:([a-z0-9-]+):")
MAX_KEY_BYTES = 10_000
FETCH_TIMEOUT_S = 5

_keys: dict[tuple[str, str], str] = {}  # (source, kid) -> PEM; keys never change per kid
_keys_lock = threading.Lock()


class AlbTokenError(ValueError):
    """The header is missing or not a valid ALB token; the message says which, plainly."""


def _region(settings) -> str:
    match = _ARN_REGION.match(settings.alb_signer_arn or "")
    region = (settings.alb_region or (match.group(1) if match else "")
              or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION", ""))
    if not region:
        raise AlbTokenError("the load balancer's region is not configured (alb_region)")
    return region


def _fetch_key(source: str, kid: str, settings) -> str:
    if "://" not in source:  # a local directory of <kid>.pem files (tests, air-gapped)
        path = Path(source) / f"{kid}.pem"
        if not path.is_file():
            raise AlbTokenError("the token names an unknown signing key")
        return path.read_text()
    url = source.format(region=_region(settings), kid=kid)
    if not url.startswith(("https://", "http://")):
        raise AlbTokenError("alb_key_source must be an http(s) URL template or a directory")
    try:
        with urllib.request.urlopen(url, timeout=FETCH_TIMEOUT_S) as response:  # noqa: S310
            return response.read(MAX_KEY_BYTES).decode("ascii")
    except OSError as error:
        raise AlbTokenError(f"the load balancer's public key could not be fetched ({error})"
                            ) from None


def public_key(settings, kid: str) -> str:
    """The PEM for ``kid``, fetched once per process (AWS never changes a kid's key)."""
    cache_key = (settings.alb_key_source, kid)
    with _keys_lock:
        if cache_key in _keys:
            return _keys[cache_key]
    pem = _fetch_key(settings.alb_key_source, kid, settings)
    with _keys_lock:
        _keys[cache_key] = pem
    return pem


def verify(token: str | None, settings, now: float | None = None) -> dict:
    """The verified claims of an ``x-amzn-oidc-data`` value; AlbTokenError otherwise."""
    if not token:
        raise AlbTokenError("no signed identity from the load balancer (x-amzn-oidc-data "
                            "header missing): open Flowscope through its load balancer")
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        raise AlbTokenError("the identity header is not a token") from None
    kid = header.get("kid")
    if header.get("alg") != ALGORITHM or not isinstance(kid, str) or not _KID.fullmatch(kid):
        raise AlbTokenError("the identity token is not an ALB ES256 token")
    if not settings.alb_signer_arn or header.get("signer") != settings.alb_signer_arn:
        raise AlbTokenError("the identity token was signed by another load balancer")
    now = time.time() if now is None else now
    try:
        claims = jwt.decode(token, public_key(settings, kid), algorithms=[ALGORITHM],
                            options={"require": ["exp"], "verify_exp": False})
    except jwt.InvalidSignatureError:
        raise AlbTokenError("the identity token's signature is not valid (forged?)") from None
    except jwt.PyJWTError:  # its text may quote the token's own (visitor-written) header
        raise AlbTokenError("the identity token is not valid") from None
    # The ALB also puts exp in the (signed) header; either one past means expired.
    expiries = [v for v in (claims.get("exp"), header.get("exp")) if v is not None]
    if any(not isinstance(v, int | float) or v <= now for v in expiries):
        raise AlbTokenError("the identity token has expired: reload the page to sign in again")
    return claims


def identity(claims: dict) -> tuple[str, list[str]]:
    """(user, groups) from ALB claims: the e-mail address if the provider verified it
    (``email_verified``), else the subject; and groups. An identity NFKC would change is
    refused (empty): see lib.access.is_plain_identity."""
    from lib.access import is_plain_identity

    verified = claims.get("email_verified") in (True, "true", "True")
    user = str((claims.get("email") if verified else None) or claims.get("sub") or "")
    if not is_plain_identity(user):
        user = ""
    groups = claims.get("groups") or claims.get("cognito:groups") or []
    if isinstance(groups, str):
        groups = [g for g in re.split(r"[\s,]+", groups) if g]
    return user, [str(g) for g in groups]
