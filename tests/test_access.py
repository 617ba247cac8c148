"""The access mapping (accounts and pages per user and group) and the users file."""

import subprocess
import sys
from pathlib import Path

import bcrypt
import pytest
import yaml

from lib import access
from lib.access import AccessConfigError, add_user, load_access, load_users
from lib.query import Scope

ROOT = Path(__file__).resolve().parent.parent
A, B, C = "012345678901", "123456789012", "000000000042"

MAPPING = f"""
users:
  alice@example.com: {{accounts: ["*"]}}
  carol: ["{C}"]
groups:
  team-a: {{accounts: ["{A}"], pages: ["Search"]}}
  team-b: {{accounts: ["{B}"], pages: ["Search", "Traffic"]}}
  auditors: {{accounts: ["{A}", "{B}"]}}
"""


@pytest.fixture
def mapping(tmp_path):
    path = tmp_path / "access.yaml"
    path.write_text(MAPPING)
    return load_access(path)


def test_groups_add_up(mapping):
    grant = mapping.grant("bob", ["team-a", "team-b"])
    assert grant.scope == Scope(frozenset({A, B}))
    assert grant.allows_page("Search") and grant.allows_page("traffic")
    assert not grant.allows_page("Records")


def test_star_means_every_account_and_no_pages_key_every_page(mapping):
    grant = mapping.grant("Alice@Example.com")  # names match without case
    assert grant.scope.accounts is None and grant.allows_page("Records")
    assert mapping.grant("dave", ["auditors"]).allows_page("Records")


def test_own_entry_and_group_together(mapping):
    grant = mapping.grant("carol", ["team-a"])
    assert grant.scope == Scope(frozenset({A, C}))
    assert grant.allows_page("Records")  # carol's own entry grants every page


def test_unknown_users_get_nothing(mapping):
    grant = mapping.grant("mallory", ["no-such-group"])
    assert grant.sees_nothing and not grant.allows_page("Search")


def test_toml_works_too(tmp_path):
    path = tmp_path / "access.toml"
    path.write_text(f'[groups.net]\naccounts = ["{B}"]\npages = ["*"]\n')
    grant = load_access(path).grant("x", ["net"])
    assert grant.scope == Scope(frozenset({B})) and grant.pages is None


@pytest.mark.parametrize("text, message", [
    ("users:\n  bob: [123456789012]\n", "quoted"),  # YAML reads a number (and 0123 as 83)
    ('users:\n  bob: ["1234"]\n', "12-digit"),
    ('users:\n  bob: {accounts: ["*"], admin: true}\n', "unknown key"),
    ("people: {}\n", "unknown section"),
    ("users: [1, 2]\n", "map names"),
    ("users: {bob: [\n", "not valid"),
    ('groups:\n  g: {accounts: ["*"], pages: "Search"}\n', "list of page titles"),
])
def test_mistakes_are_refused_with_the_reason(tmp_path, text, message):
    path = tmp_path / "access.yaml"
    path.write_text(text)
    with pytest.raises(AccessConfigError, match=message):
        load_access(path)


def test_add_user_from_the_command_line(tmp_path):
    users = tmp_path / "users.yaml"
    result = subprocess.run(
        [sys.executable, "-m", "lib.cli", "add-user", "--users", str(users), "--username",
         "Bob", "--name", "Bob Builder", "--email", "bob@example.com", "--groups",
         "team-a, team-b"],
        input="correct horse battery\n", capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert result.returncode == 0, result.stderr
    entry = yaml.safe_load(users.read_text())["credentials"]["usernames"]["bob"]
    assert entry["name"] == "Bob Builder" and entry["roles"] == ["team-a", "team-b"]
    assert bcrypt.checkpw(b"correct horse battery", entry["password"].encode())
    assert "correct horse" not in users.read_text()
    assert users.stat().st_mode & 0o077 == 0  # owner only
    assert load_users(users)["usernames"]["bob"]["email"] == "bob@example.com"


def test_add_user_keeps_other_users_and_refuses_short_passwords(tmp_path):
    users = tmp_path / "users.yaml"
    add_user(users, "alice", "Alice", "a@example.com", "alice-password")
    add_user(users, "bob", "Bob", "b@example.com", "bob-password")
    assert set(load_users(users)["usernames"]) == {"alice", "bob"}
    result = subprocess.run(
        [sys.executable, "-m", "lib.cli", "add-user", "--users", str(users), "--username",
         "carol", "--name", "C", "--email", "c@example.com"],
        input="short\n", capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert result.returncode == 2 and "at least" in result.stderr
    assert "carol" not in load_users(users)["usernames"]


def test_a_users_file_with_a_plain_password_is_refused(tmp_path):
    users = tmp_path / "users.yaml"
    users.write_text("credentials:\n  usernames:\n    eve: {name: Eve, password: hunter2}\n")
    with pytest.raises(AccessConfigError, match="bcrypt"):
        load_users(users)


def test_pages_a_user_may_not_use_are_not_shown(monkeypatch, tmp_path):
    from apptest import app
    from authkit import WINDOW, write_access, write_store

    store = write_store(tmp_path / "store")
    access = write_access(tmp_path / "access.yaml",
                          'users:\n  local: {accounts: ["*"], pages: ["Search"]}\n')
    at = app(monkeypatch, store, **WINDOW)
    monkeypatch.setenv("FLOWSCOPE_ACCESS_FILE", str(access))
    at.run()
    assert not at.exception and [t.value for t in at.title] == ["Search"]
    with pytest.raises(ValueError, match=r"Known pages: \[.*search.py.\]"):
        at.switch_page("pages/records.py")  # the navigation does not hold it
    at = app(monkeypatch, store, **WINDOW)
    monkeypatch.delenv("FLOWSCOPE_ACCESS_FILE")
    at.run()
    assert [t.value for t in at.switch_page("pages/records.py").run().title] == ["Records"]


# --- issue 21, point 12: Unicode lookalikes -----------------------------------------------

def test_case_folding_does_not_make_lookalikes_collide(tmp_path):
    path = tmp_path / "access.yaml"
    path.write_text('users:\n  Kim@Example.com:\n    accounts: ["*"]\n')
    mapping = access.load_access(path)
    assert mapping.grant("kim@example.com").scope.accounts is None  # ASCII case: same user
    assert mapping.grant("\u212aim@example.com").sees_nothing  # the Kelvin sign: nobody
    assert mapping.grant("\uff4bim@example.com").sees_nothing  # a full-width k: nobody


def test_a_mapping_entry_with_a_lookalike_is_refused(tmp_path):
    path = tmp_path / "access.yaml"
    path.write_text('users:\n  "\\u212aim@example.com":\n    accounts: ["*"]\n')
    with pytest.raises(access.AccessConfigError, match="NFKC"):
        access.load_access(path)
