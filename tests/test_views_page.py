"""Saved views in the app (issue 19): the sidebar box saves the page being shown with its
filters, and opening a view puts them back, on its own page, inside the opener's scope.

AppTest drops app.py's sidebar from the element tree after the first run, but the clicks
of that first run still reach their callbacks: each step is a fresh first run, and what
was done is read from the store, the audit trail and the page."""

from __future__ import annotations

import pytest
from apptest import app
from authkit import (
    ACCOUNT_C,
    WINDOW,
    audit_lines,
    shown_sources,
    signed_app,
    signed_in_state,
    write_access,
    write_store,
    write_users,
)
from storefixture import ACCOUNT_A, write_three_records

from lib import views
from lib.config import load_settings


@pytest.fixture
def store(tmp_path):
    return write_three_records(tmp_path / "store")


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """Views and the audit trail in the test's own folder, never the real ~/.cache."""
    monkeypatch.setenv("FLOWSCOPE_CONFIG", "/nonexistent")
    monkeypatch.setenv("FLOWSCOPE_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("FLOWSCOPE_AUDIT_FILE", str(tmp_path / "audit.jsonl"))
    return tmp_path


def saved_views(user: str = "local", groups=()) -> list[views.SavedView]:
    return views.views_store(load_settings()).visible(views.Viewer(user, tuple(groups)))


def save_from_sidebar(at, name: str):
    at.sidebar.text_input(key="views_name").input(name)
    return at.sidebar.button(key="views_save").click().run()


def open_from_sidebar(at):
    assert [b.key for b in at.sidebar.button if b.key == "views_open"], "no Open button"
    return at.sidebar.button(key="views_open").click().run()


def view_events(cache) -> list[tuple]:
    return [(e["action"], e["user"], e["outcome"]) for e in audit_lines(cache / "audit.jsonl")
            if e["event"] == "view"]


def test_a_view_saved_on_search_with_filters_reopens_them(monkeypatch, store, cache):
    at = app(monkeypatch, store, dst="10.0.1.0/24", dst_port="443", **WINDOW).run()
    assert shown_sources(at) == {"10.0.0.5"}
    save_from_sidebar(at, "HTTPS to the web tier")
    assert not at.exception
    [view] = saved_views()
    assert (view.name, view.page) == ("HTTPS to the web tier", "pages/search.py")
    assert view.params["dst"] == "10.0.1.0/24" and view.params["dst_port"] == "443"
    assert at.session_state["views_name"] == ""  # saved: the field is free again

    # Later, another session with no filters: every record, until the view is opened
    again = app(monkeypatch, store, views_pick=view.id, **WINDOW).run()
    assert shown_sources(again) == {"10.0.0.5", "10.0.1.9", "198.51.100.7"}
    open_from_sidebar(again)
    assert not again.exception
    assert shown_sources(again) == {"10.0.0.5"}
    assert again.session_state["dst"] == "10.0.1.0/24"
    assert view_events(cache) == [("save", "local", "ok"), ("open", "local", "ok")]


def test_opening_a_view_clears_filters_it_does_not_hold(monkeypatch, store, cache):
    at = app(monkeypatch, store, action="REJECT", **WINDOW).run()
    save_from_sidebar(at, "rejected")
    [view] = saved_views()
    again = app(monkeypatch, store, views_pick=view.id, src="10.0.1.9", **WINDOW).run()
    assert shown_sources(again) == {"10.0.1.9"}
    open_from_sidebar(again)
    assert again.session_state["src"] == "" and shown_sources(again) == {"198.51.100.7"}


def test_a_view_of_another_page_fills_that_pages_fields(monkeypatch, store, cache):
    """(The switch to the Check page itself is the browser test's: AppTest runs only the
    page script after the first run, not app.py.)"""
    check = {"check_src": "10.0.0.5", "check_dst": "10.0.1.9", "check_port": "443", **WINDOW}
    view = views.views_store(load_settings()).save(views.Viewer("local"), "web check",
                                                 "pages/check.py", check)
    at = app(monkeypatch, store, views_pick=view.id, **WINDOW).run()
    assert [t.value for t in at.title] == ["Search"]
    open_from_sidebar(at)
    assert not at.exception
    assert at.session_state["_views_switch"] == "pages/check.py"
    assert at.session_state["check_src"] == "10.0.0.5"
    assert at.session_state["check_port"] == "443"


def test_a_bad_name_is_refused_with_a_message(monkeypatch, store, cache):
    at = app(monkeypatch, store, **WINDOW).run()
    save_from_sidebar(at, "web\u200btier")
    assert not at.exception and saved_views() == []
    # the note the box shows next (AppTest runs only the page after the first run)
    assert at.session_state["_views_note"] == (
        "error", "A view's name cannot hold control or invisible characters.")
    assert view_events(cache) == [("save", "local", "refused")]


# --- the account scope -----------------------------------------------------------------------

@pytest.fixture
def access(tmp_path, monkeypatch):
    """Password sign-in: alice sees every account; bob (group team-a) only account A."""
    files = {"users_file": write_users(tmp_path / "users.yaml"),
             "access_file": write_access(tmp_path / "access.yaml"),
             "audit_file": tmp_path / "audit.jsonl"}
    monkeypatch.setenv("FLOWSCOPE_CONFIG", "/nonexistent")
    monkeypatch.setenv("FLOWSCOPE_CACHE_DIR", str(tmp_path / "cache"))
    return files


def signed_in(monkeypatch, store, files, user, roles=(), **state):
    at = signed_app(monkeypatch, store, "password", files, **WINDOW, **state)
    for key, value in signed_in_state(user, roles=roles).items():
        at.session_state[key] = value
    return at.run()


def test_a_shared_view_never_widens_the_openers_account_scope(monkeypatch, tmp_path, access):
    """Alice shares a view naming account C with team-a; bob (team-a, account A only) opens
    it: its filter reaches the query, his scope still applies, and he is told."""
    store = write_store(tmp_path / "store")
    signed_app(monkeypatch, store, "password", access)  # the settings, for the store
    shop = views.views_store(load_settings())
    alice = views.Viewer("alice", ("team-a",))
    view = shop.save(alice, "account C", "pages/search.py",
                     {**WINDOW, "account": [ACCOUNT_C, ACCOUNT_A]})
    shop.share(alice, view.id, ["team-a"])

    bob = signed_in(monkeypatch, store, access, "bob", ["team-a"], views_pick=view.id)
    assert shown_sources(bob) == {"10.1.0.5"}  # his one account, before the view
    assert "views_delete" not in [b.key for b in bob.sidebar.button]  # not his to delete
    open_from_sidebar(bob)
    assert not bob.exception
    assert bob.session_state["account"] == [ACCOUNT_C, ACCOUNT_A]
    assert shown_sources(bob) == {"10.1.0.5"}  # never account C's 10.3.0.5
    assert any(ACCOUNT_C in w.value for w in bob.warning)  # "not in your accounts"
    queries = [e for e in audit_lines(access["audit_file"]) if e["event"] == "query"]
    assert queries[-1]["user"] == "bob" and queries[-1]["scope"] == ACCOUNT_A

    control = signed_in(monkeypatch, store, access, "alice", views_pick=view.id)
    open_from_sidebar(control)  # the owner, who may see account C, does see it
    assert shown_sources(control) == {"10.1.0.5", "10.3.0.5"}


def test_only_views_shared_with_the_users_groups_are_listed(monkeypatch, tmp_path, access):
    store = write_store(tmp_path / "store")
    signed_app(monkeypatch, store, "password", access)
    shop, alice = views.views_store(load_settings()), views.Viewer("alice", ("ops", "team-a"))
    for name, group in (("ops only", "ops"), ("for team-a", "team-a")):
        shop.share(alice, shop.save(alice, name, "pages/search.py", WINDOW).id, [group])
    shop.save(alice, "alice's own", "pages/search.py", WINDOW)
    bob = signed_in(monkeypatch, store, access, "bob", ["team-a"])
    [listed] = [s for s in bob.sidebar.selectbox if s.key == "views_pick"]
    assert listed.options == ["for team-a · Search · from alice"]


def test_the_box_in_japanese(monkeypatch, store, cache):
    from test_page_japanese import english_left

    view = views.views_store(load_settings()).save(views.Viewer("local"), "web", "pages/search.py",
                                                   WINDOW)
    at = app(monkeypatch, store, lang="ja", views_pick=view.id, **WINDOW).run()
    assert not at.exception
    [box] = [e for e in at.sidebar.expander if e.label == "保存したビュー"]
    assert [b.label for b in box.button] == ["このビューを保存", "このビューを開く", "削除"]
    assert box.text_input(key="views_name").label == "このビューの名前"
    assert box.selectbox(key="views_pick").options == ["web · 検索"]
    assert english_left(at) == []


def test_pages_work_on_when_the_views_file_cannot_be_opened(monkeypatch, store, cache):
    (cache / "cache" / "views.sqlite3").mkdir(parents=True)  # a folder: SQLite cannot open it
    at = app(monkeypatch, store, **WINDOW).run()
    assert not at.exception
    assert shown_sources(at) == {"10.0.0.5", "10.0.1.9", "198.51.100.7"}
    assert any(c.value.startswith("Saved views are unavailable") for c in at.sidebar.caption)


def test_a_change_that_cannot_be_audited_is_refused_and_said(monkeypatch, store, cache):
    at = app(monkeypatch, store, **WINDOW).run()
    monkeypatch.setenv("FLOWSCOPE_AUDIT_FILE", str(cache / "no-such-folder" / "x" / "audit"))
    (cache / "no-such-folder").write_text("a file, so the audit folder cannot be made")
    save_from_sidebar(at, "web")
    assert not at.exception and saved_views() == []
    kind, text = at.session_state["_views_note"]
    assert kind == "error" and "Nothing was changed" in text


def test_sharing_from_the_sidebar_offers_only_the_users_groups(monkeypatch, tmp_path, access):
    store = write_store(tmp_path / "store")
    bob = signed_in(monkeypatch, store, access, "bob", ["team-a"])
    save_from_sidebar(bob, "bob's")
    [view] = saved_views("bob")
    assert saved_views("carol", ["team-a"]) == []

    again = signed_in(monkeypatch, store, access, "bob", ["team-a"], views_pick=view.id)
    [groups] = [m for m in again.sidebar.multiselect if m.key == "views_groups"]
    assert groups.options == ["team-a"] and groups.value == []
    groups.select("team-a")
    again.sidebar.button(key="views_share").click().run()
    assert not again.exception
    assert [v.name for v in saved_views("carol", ["team-a"])] == ["bob's"]
    assert [(e["action"], e["user"], e.get("groups")) for e in audit_lines(access["audit_file"])
            if e["event"] == "view"] == [("save", "bob", None), ("share", "bob", ["team-a"])]
