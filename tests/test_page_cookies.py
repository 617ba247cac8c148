"""The sign-in cookie is written by a script in the page (lib.page_cookies), not by a
component. The runs that draw the script (sign-in, sign-out) are in test_auth_password."""

import datetime as dt
import json
import re

import pytest
from authkit import COOKIE_KEY

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


def test_the_library_gets_page_cookies_not_a_component():
    """Guards the one name lib.page_cookies replaces in streamlit-authenticator: if the
    library stops building its cookie manager this way, this fails (not the sign-in)."""
    from streamlit_authenticator.models import cookie_model

    page_cookies.install()
    assert cookie_model.stx.CookieManager is page_cookies.PageCookies
    model = cookie_model.CookieModel(COOKIE, COOKIE_KEY, 1.0)
    assert isinstance(model.cookie_manager, page_cookies.PageCookies)
