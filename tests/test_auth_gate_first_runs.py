"""Issue 21, point 8: no page is drawn before the sign-in, even in a run Streamlit starts as a
pages-folder run (a new server's concurrent first requests: the session whose run began
before lib.auth turned that mode off runs pages/<page>.py on its own, without app.py).

AppTest starts every run in that mode (it resets PagesManager.uses_pages_directory), and
lib.auth is already imported, so a page switched to before the first run reproduces that
session exactly."""

import pytest
from authkit import WINDOW, audit_lines, signed_app, write_access, write_store, write_users

PAGES = {"pages/check.py": "Connection check", "pages/search.py": "Search",
         "pages/traffic.py": "Traffic", "pages/records.py": "Records"}


@pytest.fixture(scope="module")
def users_file(tmp_path_factory):
    return write_users(tmp_path_factory.mktemp("users") / "users.yaml")


@pytest.mark.parametrize("page", sorted(PAGES))
def test_a_page_run_on_its_own_first_shows_only_the_sign_in(monkeypatch, tmp_path, users_file,
                                                            page):
    files = {"users_file": users_file, "access_file": write_access(tmp_path / "access.yaml"),
             "audit_file": tmp_path / "audit.jsonl"}
    at = signed_app(monkeypatch, write_store(tmp_path / "store"), "password", files, **WINDOW)
    at.switch_page(page)
    at.run()
    assert not at.exception
    assert PAGES[page] not in [t.value for t in at.title]
    assert [t.label for t in at.text_input] == ["Username", "Password"]
    assert not at.selectbox and not at.dataframe and not at.sidebar.text_input
    assert audit_lines(files["audit_file"]) == []
