"""The sign-in cookie is written by a script in the page (lib.page_cookies), not by a
component: the run that signs a user in draws the page without the form and with the
script, and no run draws a component that would rerun the page later."""

import datetime as dt
import json
import re

import jwt
import pytest
from authkit import (
    COOKIE_KEY,
    PASSWORDS,
    WINDOW,
    gate_only,
    signed_app,
    write_access,
    write_store,
    write_users,
)
from streamlit.testing.v1 import AppTest

from lib import page_cookies

COOKIE = "flowscope_auth"  # Settings.auth_cookie_name


@pytest.fixture(scope="module")
def users_file(tmp_path_factory):
    return write_users(tmp_path_factory.mktemp("users") / "users.yaml")


@pytest.fixture
def files(tmp_path, users_file):
    return {"users_file": users_file, "access_file": write_access(tmp_path / "access.yaml"),
            "audit_file": tmp_path / "audit.jsonl"}


def scripts(at) -> list[str]:
    return [h.proto.body for h in at.get("html") if "document.cookie" in h.proto.body]


def element_types(at) -> set[str]:
    seen, todo = set(), [at._tree]
    while todo:
        node = todo.pop()
        seen.add(getattr(node, "type", ""))
        children = getattr(node, "children", None) or {}
        todo.extend(children.values() if isinstance(children, dict) else children)
    return seen


def test_a_script_sets_the_cookie_with_its_expiry_and_same_site():
    expires = dt.datetime(2030, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
    script = page_cookies.cookie_script(COOKIE, "a.b-c_d", expires, "/", "strict")
    assert script.startswith("<script>") and script.endswith("</script>")
    assert '"flowscope_auth"' in script and 'encodeURIComponent("a.b-c_d")' in script
    assert "expires=Wed, 02 Jan 2030 03:04:05 GMT" in script
    assert "SameSite=Strict" in script and "path=/" in script
    assert "location.protocol === 'https:'" in script  # Secure behind the load balancer


@pytest.mark.parametrize("value", ['</script><script>alert(1)</script>', '";alert(1);"',
                                   "\u2028x", "'+alert(1)+'"])
def test_no_value_can_leave_its_string_or_the_script(value):
    script = page_cookies.cookie_script("name", value, None)
    body = script[len("<script>"):-len("</script>")]
    assert "<" not in body  # cannot close the element
    literal = re.search(r"encodeURIComponent\((\".*\")\)", body)[1]
    assert json.loads(literal) == value  # one JSON string literal, whatever the value


def test_the_library_gets_page_cookies_not_a_component():
    """Guards the one name lib.page_cookies replaces in streamlit-authenticator: if the
    library stops building its cookie manager this way, this fails (not the sign-in)."""
    from streamlit_authenticator.models import cookie_model

    page_cookies.install()
    assert cookie_model.stx.CookieManager is page_cookies.PageCookies
    model = cookie_model.CookieModel(COOKIE, COOKIE_KEY, 1.0)
    assert isinstance(model.cookie_manager, page_cookies.PageCookies)


def sign_in(at):
    at.text_input[0].input("alice")
    at.text_input[1].input(PASSWORDS["alice"])
    next(b for b in at.button if b.label == "Login").click()
    return at.run()


def test_the_sign_in_run_draws_the_page_and_the_cookie_script_not_the_form(monkeypatch,
                                                                           tmp_path, files):
    at = signed_app(monkeypatch, write_store(tmp_path / "store"), "password", files,
                    **WINDOW).run()
    assert not scripts(at)
    at = sign_in(at)
    assert not at.exception
    assert "Username" not in [t.label for t in at.text_input]  # the form is gone
    assert [t.value for t in at.title] == ["Search"]
    [script] = scripts(at)
    token = re.search(r'encodeURIComponent\("([^"]+)"\)', script)[1]
    assert jwt.decode(token, COOKIE_KEY, algorithms=["HS256"])["username"] == "alice"
    assert not {"component_instance", "iframe"} & element_types(at)
    assert not scripts(at.run())  # drawn once: the next run has none


def test_sign_out_draws_the_script_that_deletes_the_cookie(monkeypatch, tmp_path, files):
    signed_app(monkeypatch, write_store(tmp_path / "store"), "password", files)
    at = AppTest.from_function(gate_only, default_timeout=30)
    for key, value in {"authentication_status": True, "username": "alice",
                       "name": "Alice Admin", "roles": []}.items():
        at.session_state[key] = value
    at.run()
    next(b for b in at.sidebar.button if b.label == "Sign out").click()
    at.run()
    [script] = scripts(at)
    assert 'encodeURIComponent("")' in script and "expires=Thu, 01 Jan 1970" in script
