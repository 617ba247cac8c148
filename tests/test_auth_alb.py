"""ALB sign-in: the x-amzn-oidc-data token, verified with a key pair made here."""

import base64
import http.server
import json
import threading
import time
from dataclasses import replace

import jwt
import pytest
from authkit import WINDOW, audit_lines, shown_sources, signed_app, write_access, write_store
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm

from lib import albjwt, auth_alb
from lib.config import Settings

KID = "5a6b7c8d-1111-2222-3333-444455556666"
SIGNER = "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/flowscope/abc"


def new_key():
    return ec.generate_private_key(ec.SECP256R1())


def public_pem(key) -> str:
    return key.public_key().public_bytes(serialization.Encoding.PEM,
                                         serialization.PublicFormat.SubjectPublicKeyInfo).decode()


@pytest.fixture(scope="module")
def key():
    return new_key()


@pytest.fixture
def keys_dir(tmp_path, key):
    folder = tmp_path / "keys"
    folder.mkdir()
    (folder / f"{KID}.pem").write_text(public_pem(key))
    return folder


@pytest.fixture
def settings(keys_dir):
    return Settings(auth_mode="alb", alb_key_source=str(keys_dir), alb_signer_arn=SIGNER)


def token(key, email="alice@example.com", expires_in=120, kid=KID, signer=SIGNER, **claims):
    exp = int(time.time()) + expires_in
    payload = {"sub": "1f2e3d", "email": email, "email_verified": "true", "exp": exp,
               "iss": "https://idp.example.com", **claims}
    headers = {"kid": kid, "signer": signer, "iss": "https://idp.example.com",
               "client": "client-id", "exp": exp}
    return jwt.encode(payload, key, algorithm="ES256", headers=headers)


def padded_token(key, payload: dict) -> str:
    """The ALB's own encoding keeps base64 padding ('=') in the segments."""
    def segment(value) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).decode()

    header = {"alg": "ES256", "kid": KID, "signer": SIGNER, "typ": "JWT"}
    signing_input = f"{segment(header)}.{segment(payload)}"
    signature = ECAlgorithm(ECAlgorithm.SHA256).sign(signing_input.encode(), key)
    return f"{signing_input}.{base64.urlsafe_b64encode(signature).decode()}"


def test_a_valid_token_gives_its_claims(settings, key):
    claims = albjwt.verify(token(key, groups=["team-a"]), settings)
    assert albjwt.identity(claims) == ("alice@example.com", ["team-a"])


def test_padded_alb_encoding_is_accepted(settings, key):
    text = padded_token(key, {"email": "p@example.com", "exp": int(time.time()) + 60})
    assert "=" in text
    assert albjwt.verify(text, settings)["email"] == "p@example.com"


@pytest.mark.parametrize("make, message", [
    (lambda key: None, "missing"),
    (lambda key: "", "missing"),
    (lambda key: "not a token", "not a token"),
    (lambda key: token(key, expires_in=-5), "expired"),
    (lambda key: token(new_key()), "signature"),  # another key, same kid: forged
    (lambda key: token(key, signer=SIGNER.replace("abc", "evil")), "another load balancer"),
    (lambda key: token(key, kid="0000-unknown"), "unknown signing key"),
    (lambda key: token(key, kid="../../etc/passwd"), "not an ALB ES256 token"),
    (lambda key: jwt.encode({"email": "x@example.com", "exp": int(time.time()) + 60}, "k" * 32,
                            algorithm="HS256", headers={"kid": KID, "signer": SIGNER}),
     "not an ALB ES256 token"),
    (lambda key: jwt.encode({"email": "x@example.com"}, key, algorithm="ES256",
                            headers={"kid": KID, "signer": SIGNER}), "not valid"),  # no exp
])
def test_bad_tokens_are_refused(settings, key, make, message):
    with pytest.raises(albjwt.AlbTokenError, match=message):
        albjwt.verify(make(key), settings)


def test_a_changed_payload_breaks_the_signature(settings, key):
    head, payload, signature = token(key, email="bob@example.com").split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["email"] = "admin@example.com"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
    with pytest.raises(albjwt.AlbTokenError, match="signature"):
        albjwt.verify(f"{head}.{forged}.{signature}", settings)


def test_the_key_is_fetched_from_the_url_template_once(settings, key):
    requests = []

    class KeyServer(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            requests.append(self.path)
            body = public_pem(key).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), KeyServer)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/keys/{{region}}/{{kid}}"
        config = replace(settings, alb_key_source=url, alb_region="")
        for _ in range(2):
            assert albjwt.verify(token(key), config)["email"] == "alice@example.com"
        assert requests == [f"/keys/us-east-1/{KID}"]  # region from the signer ARN; cached
    finally:
        server.shutdown()


# --- the gate, with the header injected (AppTest's st.context.headers are empty) ---------

@pytest.fixture
def store(tmp_path):
    return write_store(tmp_path / "store")


@pytest.fixture
def files(tmp_path, keys_dir):
    return {"access_file": write_access(tmp_path / "access.yaml"),
            "audit_file": tmp_path / "audit.jsonl", "alb_key_source": keys_dir}


def alb_app(monkeypatch, store, files, header_value):
    at = signed_app(monkeypatch, store, "alb", files, **WINDOW)
    monkeypatch.setenv("FLOWSCOPE_ALB_SIGNER_ARN", SIGNER)
    headers = {} if header_value is None else {"X-Amzn-Oidc-Data": header_value}
    monkeypatch.setattr(auth_alb, "header_source", lambda: headers)
    return at.run()


def test_gate_lets_a_verified_user_in_with_their_groups_scope(monkeypatch, store, files, key):
    at = alb_app(monkeypatch, store, files,
                 token(key, email="carol@example.com", **{"cognito:groups": ["team-a"]}))
    assert not at.exception and not at.error
    assert shown_sources(at) == {"10.1.0.5"}
    assert [(e["event"], e["user"]) for e in audit_lines(files["audit_file"])] == [
        ("signin", "carol@example.com"), ("query", "carol@example.com")]


@pytest.mark.parametrize("make, message", [
    (lambda key: None, "missing"),
    (lambda key: token(key, expires_in=-60), "expired"),
    (lambda key: token(new_key()), "signature"),
])
def test_gate_refuses_missing_expired_and_forged_tokens(monkeypatch, store, files, key, make,
                                                        message):
    value = make(key)
    at = alb_app(monkeypatch, store, files, value)
    assert any(message in e.value for e in at.error)
    assert not at.dataframe and not at.sidebar.text_input
    lines = audit_lines(files["audit_file"])
    assert [(e["event"], e["outcome"]) for e in lines] == [("signin", "failed")]
    if value:
        assert value not in files["audit_file"].read_text()  # never the token


# --- issue 21, point 12: identity --------------------------------------------------------

def test_an_unverified_email_is_not_the_identity():
    claims = {"sub": "1f2e3d", "email": "alice@example.com"}
    assert albjwt.identity(claims)[0] == "1f2e3d"
    assert albjwt.identity({**claims, "email_verified": "false"})[0] == "1f2e3d"
    assert albjwt.identity({**claims, "email_verified": "true"})[0] == "alice@example.com"


@pytest.mark.parametrize("lookalike", ["\u212aim@example.com",  # the Kelvin sign
                                       "\uff41lice@example.com",  # a full-width a
                                       "al\u200bice@example.com"])  # a zero-width space
def test_lookalike_identities_are_refused(lookalike):
    claims = {"sub": "1f2e3d", "email": lookalike, "email_verified": True}
    assert albjwt.identity(claims)[0] == ""


# --- issue 21, point 7 ---------------------------------------------------------------------

def test_alb_mode_refuses_to_start_without_the_signer_arn(monkeypatch, store, files, key):
    at = signed_app(monkeypatch, store, "alb", files, **WINDOW)
    monkeypatch.delenv("FLOWSCOPE_ALB_SIGNER_ARN", raising=False)
    monkeypatch.setattr(auth_alb, "header_source", lambda: {"X-Amzn-Oidc-Data": token(key)})
    at.run()
    assert any("alb_signer_arn" in e.value for e in at.error)
    assert not at.dataframe and not at.sidebar.text_input


def test_without_a_signer_no_token_verifies(settings, key):
    with pytest.raises(albjwt.AlbTokenError, match="another load balancer"):
        albjwt.verify(token(key), replace(settings, alb_signer_arn=""))
