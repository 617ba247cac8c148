"""The sign-in cookie is written by a script in the page (lib.page_cookies), not by a
component. The runs that draw the script (sign-in, sign-out) are in test_auth_password."""

import datetime as dt
import json
import re

import pytest

from lib import page_cookies

COOKIE = "flowscope_auth"  # Settings.auth_cookie_name


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


def test_nothing_patches_streamlit_authenticator_any_more():
    """The password sign-in reads and writes its own cookie (lib.auth, lib.auth_sessions):
    the library's cookie model, which printed decoding errors (a visitor's text) to the
    log, is neither used nor patched."""
    import subprocess
    import sys

    code = ("import sys, lib.auth, lib.page_cookies as p; "
            "print('streamlit_authenticator' in sys.modules, hasattr(p, 'install'))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_the_latest_script_of_each_cookie_is_kept(monkeypatch):
    state: dict = {}
    monkeypatch.setattr(page_cookies.st, "session_state", state)
    page_cookies.set_cookie(COOKIE, "token", dt.datetime(2030, 1, 1, tzinfo=dt.UTC))
    [set_script] = state[page_cookies.SCRIPTS_KEY].values()
    assert 'encodeURIComponent("token")' in set_script and "2030" in set_script
    page_cookies.delete_cookie(COOKIE)  # replaces the setting script: never both
    [delete_script] = state[page_cookies.SCRIPTS_KEY].values()
    assert 'encodeURIComponent("")' in delete_script and "1970" in delete_script
