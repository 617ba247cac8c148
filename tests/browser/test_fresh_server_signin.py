"""A fresh server whose first request opens a page directly still shows only the sign-in,
takes the first sign-in typed into it, and then opens the page the address named.

Streamlit runs a requested pages/ file on its own (without app.py, so without the sign-in)
until some run has called st.navigation, and gives the widgets of that first run ids no
later run gives them; lib.auth turns that off when it is first imported and starts that
run over, through app.py, before the page draws anything. Only a new server shows this
(the session server of conftest.py has served other tests already; AppTest starts every
run afresh), so each test starts its own.
"""

import re

import pytest
from authkit import PASSWORDS, WINDOW, audit_lines, write_access, write_store, write_users
from browserkit import RUN_TIMEOUT_MS, new_context, page_url, start_server
from playwright.sync_api import expect


@pytest.fixture
def fresh_server(tmp_path):
    env = {"FLOWSCOPE_CONFIG": str(tmp_path / "none.toml"), "FLOWSCOPE_AUTH_MODE": "password",
           "FLOWSCOPE_ENGINE": "duckdb", "FLOWSCOPE_CACHE_DIR": str(tmp_path / "cache"),
           "FLOWSCOPE_DATA_DIR": str(write_store(tmp_path / "store")),
           "FLOWSCOPE_USERS_FILE": str(write_users(tmp_path / "users.yaml")),
           "FLOWSCOPE_ACCESS_FILE": str(write_access(tmp_path / "access.yaml")),
           "FLOWSCOPE_AUDIT_FILE": str(tmp_path / "audit.jsonl"),
           "FLOWSCOPE_COOKIE_KEY": "fresh-server-cookie-key-" + "z" * 32}
    server = start_server(env, tmp_path / "streamlit.log")
    yield server, tmp_path / "audit.jsonl"
    server.stop()


# The page's address, and what it shows once the sign-in is done (the filters are kept).
OPENED = {"": re.compile(r"^3 rows"), "check": re.compile(r"^Connection check$")}


@pytest.mark.parametrize("path", sorted(OPENED))
def test_a_page_opened_first_on_a_fresh_server_shows_only_the_sign_in(browser, fresh_server,
                                                                       path):
    server, audit_file = fresh_server
    context = new_context(browser)
    try:
        page = context.new_page()
        page.goto(page_url(server.url, path, **WINDOW))
        username = page.get_by_label("Username", exact=True)
        expect(username).to_be_visible(timeout=RUN_TIMEOUT_MS)
        assert "Records" not in page.inner_text("body")  # no list of pages/
        assert audit_lines(audit_file) == []  # and no query ran
        # Filled and sent at once: the first form a fresh server draws takes what is typed.
        username.fill("alice")
        page.get_by_label("Password", exact=True).fill(PASSWORDS["alice"])
        page.get_by_role("button", name="Login").click()
        expect(page.get_by_text(OPENED[path]).first).to_be_visible(timeout=RUN_TIMEOUT_MS)
        assert page.url.startswith(f"{server.url}/{path}?")
        assert f"start={WINDOW['start']}" in page.url or "start=20" in page.url
    finally:
        context.close()
    assert [(e["event"], e["user"]) for e in audit_lines(audit_file)][0] == ("signin", "alice")


def test_a_pages_file_name_on_a_fresh_server_runs_no_page_before_the_sign_in(browser,
                                                                            fresh_server):
    """/search names pages/search.py, which a fresh server would run on its own, ungated.
    It is not one of the app's addresses (Search is "/"): the sign-in and nothing else."""
    server, audit_file = fresh_server
    context = new_context(browser)
    try:
        page = context.new_page()
        page.goto(page_url(server.url, "search", **WINDOW))
        expect(page.get_by_label("Username", exact=True)).to_be_visible(timeout=RUN_TIMEOUT_MS)
        expect(page.locator('[data-testid="stDataFrame"]')).to_have_count(0)
        assert "Records" not in page.inner_text("body")
        assert audit_lines(audit_file) == []
    finally:
        context.close()
