"""OpenID Connect sign-in (st.login): the signed-in user comes from st.user (AppTest.user)."""

import pytest
from authkit import WINDOW, audit_lines, shown_sources, signed_app, write_access, write_store

AUTH_SECRETS = {"redirect_uri": "https://flowscope.example.com/oauth2callback",
                "cookie_secret": "c" * 40, "client_id": "flowscope",
                "client_secret": "s3cret-value",
                "server_metadata_url": "https://idp.example.com/.well-known/openid-configuration"}


@pytest.fixture
def store(tmp_path):
    return write_store(tmp_path / "store")


@pytest.fixture
def files(tmp_path):
    return {"access_file": write_access(tmp_path / "access.yaml"),
            "audit_file": tmp_path / "audit.jsonl"}


def oidc_app(monkeypatch, store, files, user, secrets=True):
    at = signed_app(monkeypatch, store, "oidc", files, **WINDOW)
    if secrets:
        at.secrets["auth"] = AUTH_SECRETS
    at.user = user
    return at.run()


def test_signed_out_visitors_see_only_the_sign_in_button(monkeypatch, store, files):
    at = oidc_app(monkeypatch, store, files, {"is_logged_in": False})
    assert not at.exception
    assert [b.label for b in at.button] == ["Sign in"]
    assert not at.dataframe and not at.sidebar.text_input
    assert audit_lines(files["audit_file"]) == []


def test_a_signed_in_user_gets_their_groups_scope(monkeypatch, store, files):
    at = oidc_app(monkeypatch, store, files, {"is_logged_in": True, "email": "dan@example.com",
                                              "email_verified": True,
                                              "name": "Dan", "groups": ["team-a"]})
    assert not at.exception and not at.error
    assert shown_sources(at) == {"10.1.0.5"}
    assert "Sign out" in [b.label for b in at.sidebar.button]
    lines = audit_lines(files["audit_file"])
    assert [(e["event"], e["user"]) for e in lines] == [("signin", "dan@example.com"),
                                                         ("query", "dan@example.com")]
    assert AUTH_SECRETS["client_secret"] not in files["audit_file"].read_text()


def test_a_user_the_mapping_does_not_know_sees_nothing(monkeypatch, store, files):
    at = oidc_app(monkeypatch, store, files, {"is_logged_in": True, "email": "eve@example.com",
                                              "email_verified": True})
    assert any("no account is granted" in e.value for e in at.error)
    assert not at.dataframe


def test_without_an_auth_section_the_app_says_what_is_missing(monkeypatch, store, files):
    at = oidc_app(monkeypatch, store, files, {"is_logged_in": True, "email": "x@example.com"},
                  secrets=False)
    assert any("[auth]" in e.value for e in at.error)
    assert not at.dataframe


def test_an_unverified_email_address_is_not_used(monkeypatch, store, files):
    # dan@example.com is in team-a through the mapping only by address: unverified, the
    # identity is the subject, which the mapping does not know.
    at = oidc_app(monkeypatch, store, files, {"is_logged_in": True, "email": "alice",
                                              "sub": "c0ffee", "email_verified": False})
    assert any("no account is granted" in e.value for e in at.error)
    assert not at.dataframe
    assert [e["user"] for e in audit_lines(files["audit_file"])] == ["c0ffee"]


def test_sign_out_is_audited(monkeypatch, store, files):
    at = oidc_app(monkeypatch, store, files, {"is_logged_in": True, "email": "dan@example.com",
                                              "email_verified": True, "groups": ["team-a"]})
    next(b for b in at.sidebar.button if b.label == "Sign out").click()
    at.run()
    events = [(e["event"], e.get("outcome")) for e in audit_lines(files["audit_file"])]
    assert ("signin", "signed-out") in events


def test_sign_out_ends_the_users_other_sign_ins(monkeypatch, store, files):
    """Sign-out notes the time in the session file; any sign-in of that user issued before
    it (another browser's, whose token lives in that browser) ends at its next run."""
    import time

    from lib import auth_sessions
    from lib.config import load_settings

    user = {"is_logged_in": True, "email": "dan@example.com", "email_verified": True,
            "groups": ["team-a"], "iat": int(time.time()) - 60}
    first = oidc_app(monkeypatch, store, files, dict(user))
    next(b for b in first.sidebar.button if b.label == "Sign out").click()
    first.run()
    sessions = auth_sessions.store_for(load_settings())
    assert sessions.signed_in_before_sign_out("dan@example.com", user["iat"])
    other = oidc_app(monkeypatch, store, files, dict(user))  # another browser, same person
    assert not other.dataframe
    later = oidc_app(monkeypatch, store, files, {**user, "iat": int(time.time()) + 1})
    assert later.dataframe  # a sign-in after the sign-out works
    outcomes = [e["outcome"] for e in audit_lines(files["audit_file"])
                if e["event"] == "signin"]
    assert outcomes[:3] == ["ok", "signed-out", "ended"]
