"""Password sign-in through AppTest: the sign-in form (lib.auth_password), typed into."""

import re

import jwt
import pytest
from authkit import (
    COOKIE_KEY,
    PASSWORDS,
    WINDOW,
    audit_lines,
    gate_only,
    shown_sources,
    signed_app,
    signed_in_state,
    write_access,
    write_store,
    write_users,
)
from streamlit.testing.v1 import AppTest

from lib import auth, page_cookies


@pytest.fixture(scope="module")
def users_file(tmp_path_factory):
    return write_users(tmp_path_factory.mktemp("users") / "users.yaml")  # bcrypt is slow


@pytest.fixture
def files(tmp_path, users_file):
    return {"users_file": users_file, "access_file": write_access(tmp_path / "access.yaml"),
            "audit_file": tmp_path / "audit.jsonl"}


@pytest.fixture
def store(tmp_path):
    return write_store(tmp_path / "store")


def sign_in(at, username, password):
    username_box, password_box = at.text_input[0], at.text_input[1]
    assert (username_box.label, password_box.label) == ("Username", "Password")
    username_box.input(username)
    password_box.input(password)
    next(b for b in at.button if b.label == "Login").click()
    return at.run()


def test_visitors_see_only_the_sign_in(monkeypatch, store, files):
    at = signed_app(monkeypatch, store, "password", files, **WINDOW).run()
    assert not at.exception
    assert [t.label for t in at.text_input] == ["Username", "Password"]
    assert not at.dataframe and not at.sidebar.text_input and not at.sidebar.multiselect
    assert audit_lines(files["audit_file"]) == []  # no query ran


def test_correct_password_signs_in_and_runs_the_page(monkeypatch, store, files):
    at = sign_in(signed_app(monkeypatch, store, "password", files, **WINDOW).run(),
                 "alice", PASSWORDS["alice"])
    assert not at.exception
    assert at.session_state["authentication_status"] is True
    assert shown_sources(at) == {"10.1.0.5", "10.2.0.5", "10.3.0.5"}  # alice: every account
    assert any("Alice Admin" in c.value for c in at.sidebar.caption)
    lines = audit_lines(files["audit_file"])
    assert [(e["event"], e["user"], e["outcome"]) for e in lines] == [
        ("signin", "alice", "ok"), ("query", "alice", "ok")]


def test_wrong_password_is_refused(monkeypatch, store, files):
    at = sign_in(signed_app(monkeypatch, store, "password", files, **WINDOW).run(),
                 "alice", "not-the-password")
    assert at.session_state["authentication_status"] is False
    assert any("not correct" in e.value for e in at.error)
    assert not at.dataframe
    assert [(e["event"], e["user"], e["outcome"]) for e in audit_lines(files["audit_file"])] == [
        ("signin", "alice", "failed")]
    assert "not-the-password" not in files["audit_file"].read_text()


def test_repeated_failures_lock_the_user_out(monkeypatch, store, files):
    monkeypatch.setenv("FLOWSCOPE_LOGIN_MAX_FAILURES", "2")
    at = signed_app(monkeypatch, store, "password", files, **WINDOW).run()
    for _ in range(2):
        at = sign_in(at, "alice", "wrong-password")
        assert at.session_state["authentication_status"] is False
    at = sign_in(at, "alice", PASSWORDS["alice"])  # the right password, too late
    assert at.session_state["authentication_status"] is not True
    assert any("locked" in e.value for e in at.error)
    assert not at.dataframe
    outcomes = [e["outcome"] for e in audit_lines(files["audit_file"])]
    assert outcomes == ["failed", "failed", "locked"]


def test_an_unknown_name_locks_out_the_same_way(monkeypatch, store, files):
    # Otherwise the lock-out message would tell which user names exist.
    monkeypatch.setenv("FLOWSCOPE_LOGIN_MAX_FAILURES", "1")
    at = signed_app(monkeypatch, store, "password", files, **WINDOW).run()
    at = sign_in(at, "mallory", "guess-one")
    at = sign_in(at, "mallory", "guess-two")
    assert any("locked" in e.value for e in at.error)
    assert [(e["user"], e["outcome"]) for e in audit_lines(files["audit_file"])] == [
        ("mallory", "failed"), ("mallory", "locked")]


def test_lockout_ends_after_the_window():
    now = [1000.0]
    failures = auth.FailedSignIns(clock=lambda: now[0])
    for _ in range(3):
        failures.add("alice")
    assert failures.count("alice", 900) == 3 and failures.count("bob", 900) == 0
    now[0] += 899
    assert failures.count("alice", 900) == 3
    now[0] += 2
    assert failures.count("alice", 900) == 0


def test_group_scope_and_pages_from_the_access_mapping(monkeypatch, store, files):
    at = sign_in(signed_app(monkeypatch, store, "password", files, **WINDOW).run(),
                 "bob", PASSWORDS["bob"])
    assert shown_sources(at) == {"10.1.0.5"}  # team-a: account A only
    assert at.session_state["scope"].accounts == frozenset({"012345678901"})


def gate_signed_in(monkeypatch, store, files) -> AppTest:
    """The sign-in gate alone, run once for alice, already signed in (a sidebar click is
    tested here: AppTest drops app.py's sidebar on a second run)."""
    signed_app(monkeypatch, store, "password", files)
    at = AppTest.from_function(gate_only, default_timeout=30)
    for key, value in signed_in_state("alice", "Alice Admin").items():
        at.session_state[key] = value
    return at.run()


def test_sign_out(monkeypatch, store, files):
    at = gate_signed_in(monkeypatch, store, files)
    assert [m.value for m in at.markdown] == ["granted to alice"]
    next(b for b in at.sidebar.button if b.label == "Sign out").click()
    at.run()
    assert at.session_state["authentication_status"] is None
    assert any("signed out" in i.value for i in at.info)
    assert not at.markdown  # the page body no longer runs
    assert [e["outcome"] for e in audit_lines(files["audit_file"])] == ["signed-out"]
    assert [t.label for t in at.run().text_input] == ["Username", "Password"]


def test_no_cookie_key_refuses(monkeypatch, store, files):
    at = signed_app(monkeypatch, store, "password", files, **WINDOW)
    monkeypatch.setenv("FLOWSCOPE_COOKIE_KEY", "short")
    at.run()
    assert any("cookie signing key" in e.value for e in at.error)
    assert not at.text_input


def test_the_users_file_is_never_written(monkeypatch, store, files):
    before = files["users_file"].read_bytes()
    at = signed_app(monkeypatch, store, "password", files, **WINDOW).run()
    sign_in(at, "alice", "wrong-password")
    at = signed_app(monkeypatch, store, "password", files, **WINDOW).run()
    sign_in(at, "alice", PASSWORDS["alice"])
    assert files["users_file"].read_bytes() == before
    text = files["audit_file"].read_text()
    assert COOKIE_KEY not in text and "$2b$" not in text
    assert not any(p in text for p in PASSWORDS.values())


def test_a_user_removed_from_the_file_is_signed_out(monkeypatch, store, files):
    at = signed_app(monkeypatch, store, "password", files, **WINDOW)
    for key, value in signed_in_state("carol", "Carol", ["team-a"]).items():
        at.session_state[key] = value
    at.run()
    assert any("no longer exists" in e.value for e in at.error)
    assert not at.dataframe
    assert at.session_state["authentication_status"] is None
    assert [(e["user"], e["outcome"]) for e in audit_lines(files["audit_file"])] == [
        ("carol", "refused")]


# --- the cookie (lib.page_cookies) -------------------------------------------------------

def element_types(at) -> set[str]:
    seen, todo = set(), [at._tree]
    while todo:
        node = todo.pop()
        seen.add(getattr(node, "type", ""))
        children = getattr(node, "children", None) or {}
        todo.extend(children.values() if isinstance(children, dict) else children)
    return seen


def scripts(at) -> list[str]:
    return [h.proto.body for h in at.get("html") if "document.cookie" in h.proto.body]


def test_the_sign_in_run_draws_the_page_and_the_cookie_script_not_the_form(monkeypatch, store,
                                                                           files):
    at = signed_app(monkeypatch, store, "password", files, **WINDOW).run()
    assert not scripts(at)
    at = sign_in(at, "alice", PASSWORDS["alice"])
    assert not at.exception
    assert "Username" not in [t.label for t in at.text_input]  # the form is gone
    assert [t.value for t in at.title] == ["Search"]
    [script] = scripts(at)
    token = re.search(r'encodeURIComponent\("([^"]+)"\)', script)[1]
    assert jwt.decode(token, COOKIE_KEY, algorithms=["HS256"])["username"] == "alice"
    assert not {"component_instance", "iframe"} & element_types(at)
    # Kept for every later run, which draws it again first on the page: a browser that never
    # mounted it (the next run came first) runs it then (tests/browser/test_sign_in_cookie).
    at.run()
    assert list(at.session_state[page_cookies.SCRIPTS_KEY].values()) == [script]


def test_sign_out_draws_the_script_that_deletes_the_cookie(monkeypatch, store, files):
    at = gate_signed_in(monkeypatch, store, files)
    next(b for b in at.sidebar.button if b.label == "Sign out").click()
    at.run()
    [script] = scripts(at)
    assert 'encodeURIComponent("")' in script and "expires=Thu, 01 Jan 1970" in script

