"""Saved views (issue 19): the store and its rules (lib.views), on a real SQLite file."""

from __future__ import annotations

import ast
import json
import sqlite3
from pathlib import Path

import pytest

from lib import audit, views
from lib.config import Settings
from lib.views import Viewer, ViewError, ViewStore

ROOT = Path(__file__).resolve().parent.parent
ALICE = Viewer("alice", ("team-a", "ops"))
BOB = Viewer("bob", ("team-a",))
CAROL = Viewer("carol", ("team-b",))
SEARCH = "pages/search.py"
FILTERS = {"start": "2026-09-21T00:00Z", "end": "2026-09-21T01:00Z", "dst": "10.0.1.0/24",
           "account": ["012345678901"], "search_gap_records": True}


@pytest.fixture
def events():
    return []


@pytest.fixture
def store(tmp_path, events):
    return ViewStore(tmp_path / "views.sqlite3", events.append)


def test_a_saved_view_keeps_its_page_and_values(store):
    saved = store.save(ALICE, "Web tier", SEARCH, FILTERS)
    [listed] = store.visible(ALICE)
    assert listed == saved and listed.params == FILTERS and listed.page == SEARCH
    assert store.open(ALICE, saved.id).params == FILTERS


def test_views_are_scoped_to_their_owner_until_shared(store):
    saved = store.save(ALICE, "mine", SEARCH, FILTERS)
    assert store.visible(BOB) == [] and store.visible(CAROL) == []
    with pytest.raises(ViewError) as refused:
        store.open(BOB, saved.id)
    assert refused.value.code == "not-found"  # another's view: not even its existence told
    store.share(ALICE, saved.id, ["team-a"])
    assert [v.name for v in store.visible(BOB)] == ["mine"]
    assert store.open(BOB, saved.id).params == FILTERS
    assert store.visible(CAROL) == []  # not in team-a
    store.share(ALICE, saved.id, [])  # unshared again
    assert store.visible(BOB) == []


def test_a_user_can_share_only_with_their_own_groups(store):
    saved = store.save(BOB, "bob's", SEARCH, FILTERS)
    with pytest.raises(ViewError) as refused:
        store.share(BOB, saved.id, ["team-b"])
    assert refused.value.code == "group-not-yours"
    assert store.visible(CAROL) == []
    assert store.share(BOB, saved.id, ["TEAM-A"]).groups == ("team-a",)  # names fold as access's


def test_only_the_owner_shares_or_deletes(store):
    saved = store.save(ALICE, "shared", SEARCH, FILTERS)
    store.share(ALICE, saved.id, ["team-a"])
    for act in (lambda: store.delete(BOB, saved.id), lambda: store.share(BOB, saved.id, [])):
        with pytest.raises(ViewError) as refused:
            act()
        assert refused.value.code == "not-owner"
    assert [v.id for v in store.visible(BOB)] == [saved.id]  # still there, still shared
    with pytest.raises(ViewError):
        store.delete(CAROL, saved.id)  # cannot even see it
    store.delete(ALICE, saved.id)
    assert store.visible(ALICE) == [] and store.visible(BOB) == []


@pytest.mark.parametrize("name, code", [
    ("", "name-empty"), ("   ", "name-empty"), ("x" * 81, "name-long"),
    ("tab\there", "name-invisible"), ("new\nline", "name-invisible"),
    ("zero\u200bwidth", "name-invisible"), ("bidi\u202eevil", "name-invisible"),
    (None, "name-empty"),
])
def test_bad_names_are_refused(store, name, code):
    with pytest.raises(ViewError) as refused:
        store.save(ALICE, name, SEARCH, FILTERS)
    assert refused.value.code == code
    assert store.visible(ALICE) == []


def test_names_are_nfkc_and_trimmed_and_unique_per_owner(store):
    assert store.save(ALICE, "  ＷＥＢ  ", SEARCH, {}).name == "WEB"
    assert store.save(ALICE, "x" * 80, SEARCH, {}).name == "x" * 80
    with pytest.raises(ViewError) as refused:
        store.save(ALICE, "WEB", SEARCH, {})
    assert refused.value.code == "name-taken"
    assert store.save(BOB, "WEB", SEARCH, {}).owner == "bob"  # another owner: no clash


@pytest.mark.parametrize("text", [
    "'; DROP TABLE views; --", "x' OR '1'='1", "[click](javascript:alert(1))",
    "<script>alert(1)</script>", "# heading **bold**", "日本語のビュー",
])
def test_injection_strings_are_stored_as_data(store, tmp_path, text):
    saved = store.save(ALICE, text, SEARCH, {"dst": text, "account": [text[:20]]})
    [again] = store.visible(ALICE)
    assert again.name == text and again.params["dst"] == text
    with sqlite3.connect(tmp_path / "views.sqlite3") as db:  # the tables are all still there
        assert db.execute("SELECT count(*) FROM views").fetchone()[0] == 1
        assert db.execute("SELECT count(*) FROM view_shares").fetchone()[0] == 0
    store.delete(ALICE, saved.id)


@pytest.mark.parametrize("page", ["pages/nothere.py", "app.py", "../etc/passwd", "", None])
def test_the_page_must_be_one_of_the_apps(store, page):
    with pytest.raises(ViewError) as refused:
        store.save(ALICE, "v", page, {})
    assert refused.value.code == "page-unknown"


@pytest.mark.parametrize("params, code", [
    ({"secret": "x"}, "param-unknown"),
    ({"check_src": "10.0.0.1"}, "param-unknown"),  # the Check page's own value, on Search
    ({"dst": "x" * 2001}, "param-bad"),
    ({"dst": ["10.0.0.1"]}, "param-bad"),
    ({"account": "012345678901"}, "param-bad"),
    ({"account": ["0" * 12] * 101}, "param-bad"),
    ({"search_gap_records": "yes"}, "param-bad"),
    ({"src": "10.0.0.1\x00"}, "param-bad"),
    ({k: "1" * 2000 for k in ("src", "dst", "src_port", "dst_port", "protocol", "eni", "vpc",
                              "subnet", "start")}, "params-large"),
])
def test_only_known_bounded_values_are_kept(store, params, code):
    with pytest.raises(ViewError) as refused:
        store.save(ALICE, "v", SEARCH, params)
    assert refused.value.code == code


def test_the_check_page_keeps_its_own_values(store):
    params = {"check_src": "10.0.0.1", "check_dst": "10.0.0.2", "check_port": "443"}
    assert store.save(ALICE, "check", "pages/check.py", params).params == params


def test_the_search_pages_columns_are_kept_in_their_order(store):
    params = {"search_columns": ["dstport", "srcaddr", "bytes"], "search_gap_records": True}
    assert store.save(ALICE, "columns", SEARCH, params).params == params


def test_an_explore_view_keeps_its_fields_measure_top_and_conditions(store):
    params = {"explore_by": ["dstport", "action"], "explore_measure": "bytes",
              "explore_top": 50, "explore_if_dstport": "443"}
    assert store.save(ALICE, "explore", "pages/explore.py", params).params == params
    with pytest.raises(ViewError):
        store.save(ALICE, "bad top", "pages/explore.py", {"explore_top": "50; DROP"})
    assert views.capture("pages/explore.py", {**params, "explore_top": True}) == {
        k: v for k, v in params.items() if k != "explore_top"}


def test_a_user_keeps_at_most_the_limit(store, monkeypatch):
    monkeypatch.setattr(views, "MAX_VIEWS_PER_USER", 3)
    for n in range(3):
        store.save(ALICE, f"v{n}", SEARCH, {})
    with pytest.raises(ViewError) as refused:
        store.save(ALICE, "one more", SEARCH, {})
    assert refused.value.code == "too-many" and "3" in str(refused.value)
    store.save(BOB, "bob's first", SEARCH, {})  # per user


def test_every_change_and_opening_is_audited_refusals_too(store, events):
    saved = store.save(ALICE, "v", SEARCH, FILTERS)
    store.share(ALICE, saved.id, ["ops"])
    store.open(ALICE, saved.id)
    with pytest.raises(ViewError):
        store.delete(BOB, saved.id)
    store.delete(ALICE, saved.id)
    assert [(e["action"], e["user"], e["outcome"]) for e in events] == [
        ("save", "alice", "ok"), ("share", "alice", "ok"), ("open", "alice", "ok"),
        ("delete", "bob", "refused"), ("delete", "alice", "ok")]
    assert all(e["event"] == "view" for e in events)
    assert events[0]["params"] == FILTERS and events[1]["groups"] == ["ops"]
    assert events[3]["reason"] == "not-found" and events[4]["name"] == "v"


def test_a_change_that_cannot_be_audited_is_rolled_back(tmp_path):
    def broken(event):
        raise audit.AuditError("the disk is full")

    store = ViewStore(tmp_path / "views.sqlite3", broken)
    with pytest.raises(audit.AuditError):
        store.save(ALICE, "v", SEARCH, FILTERS)
    assert ViewStore(tmp_path / "views.sqlite3", lambda e: None).visible(ALICE) == []


def test_the_configured_store_writes_the_audit_trail(tmp_path):
    settings = Settings(cache_dir=str(tmp_path), audit_file=str(tmp_path / "audit.jsonl"))
    views.views_store(settings).save(ALICE, "v", SEARCH, FILTERS)
    assert (tmp_path / "views.sqlite3").exists()
    [line] = [json.loads(t) for t in (tmp_path / "audit.jsonl").read_text().splitlines()]
    assert line["event"] == "view" and line["action"] == "save" and line["name"] == "v"


def test_capture_takes_the_pages_widgets_and_restored_clears_the_rest():
    state = {"dst": "10.0.1.0/24", "account": ["012345678901"], "search_gap_records": True,
             "check_src": "10.9.9.9", "tz": "Asia/Tokyo", "lang": "ja", "src": "",
             "views_name": "typed"}
    captured = views.capture(SEARCH, state)
    assert captured == {"dst": "10.0.1.0/24", "account": ["012345678901"],
                        "search_gap_records": True}
    view = views.SavedView(1, "alice", "v", SEARCH, captured, (), 0.0)
    back = views.restored(view)
    assert back["dst"] == "10.0.1.0/24" and back["src"] == "" and back["region"] == []
    assert "check_src" not in back and "lang" not in back and "tz" not in back


def test_the_pages_are_read_from_app_py():
    assert views.app_pages()[SEARCH] == "Search"
    assert set(views.app_pages()) == {p for p in views.app_pages() if (ROOT / p).is_file()}
    assert len(views.app_pages()) >= 6


def _bound_keys(path: Path) -> set[str]:
    """Keys of the widgets a page file binds to the URL (literal keys only)."""
    keys = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call) and any(
                k.arg == "bind" and getattr(k.value, "value", None) == "query-params"
                for k in node.keywords):
            key = next((k.value for k in node.keywords if k.arg == "key"), None)
            if isinstance(key, ast.Constant):
                keys.add(key.value)
    return keys


def test_every_url_bound_page_widget_is_a_known_view_value():
    """A page that binds a new widget to the URL must list it in views.PAGE_KEYS, or views
    of that page would lose it."""
    for page in views.app_pages():
        missing = _bound_keys(ROOT / page) - set(views.keys_for(page))
        assert not missing, f"{page}: add {sorted(missing)} to lib.views.PAGE_KEYS"


# --- the command line ------------------------------------------------------------------------

@pytest.fixture
def cli(tmp_path, monkeypatch, capsys):
    """`python -m lib.cli views ...` in this process: (exit code, JSON lines, stderr)."""
    from lib import cli as command_line

    monkeypatch.setenv("FLOWSCOPE_CONFIG", "/nonexistent")
    monkeypatch.setenv("FLOWSCOPE_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("FLOWSCOPE_AUDIT_FILE", str(tmp_path / "audit.jsonl"))

    def run(*args):
        code = command_line.main(["views", *args])
        out, err = capsys.readouterr()
        return code, [json.loads(line) for line in out.splitlines()], err

    return run


def test_the_command_line_saves_lists_shares_and_deletes(cli, tmp_path):
    code, [saved], _ = cli("save", "--user", "alice", "--name", "web", "--param", "dst=10.0.1.0/24",
                           "--param", "account=012345678901,123456789012",
                           "--param", "search_gap_records=true")
    assert code == 0 and saved["page"] == SEARCH
    assert saved["params"] == {"dst": "10.0.1.0/24", "search_gap_records": True,
                               "account": ["012345678901", "123456789012"]}
    assert cli("list", "--user", "bob", "--groups", "team-a")[1] == []
    code, [shared], _ = cli("share", "--user", "alice", "--groups", "team-a,ops",
                            "--id", str(saved["id"]), "--share-with", "team-a")
    assert code == 0 and shared["groups"] == ["team-a"]
    code, listed, _ = cli("list", "--user", "bob", "--groups", "team-a")
    assert [v["name"] for v in listed] == ["web"]
    code, _, err = cli("delete", "--user", "bob", "--groups", "team-a", "--id", str(saved["id"]))
    assert code == 2 and "only its owner" in err
    assert cli("delete", "--user", "alice", "--id", str(saved["id"]))[0] == 0
    assert cli("list", "--user", "alice")[1] == []
    lines = [json.loads(t) for t in (tmp_path / "audit.jsonl").read_text().splitlines()]
    assert [(e["action"], e["user"], e["outcome"]) for e in lines] == [
        ("save", "alice", "ok"), ("share", "alice", "ok"), ("delete", "bob", "refused"),
        ("delete", "alice", "ok")]


@pytest.mark.parametrize("args, message", [
    (["save", "--user", "alice", "--name", ""], "Give the view a name"),
    (["save", "--user", "alice", "--name", "v", "--param", "secret=1"], "cannot hold the value"),
    (["save", "--user", "alice", "--name", "v", "--page", "pages/x.py"], "not a page"),
    (["save", "--user", "alice", "--name", "v", "--param", "search_gap_records=maybe"],
     "wrong kind"),
    (["share", "--user", "alice", "--share-with", "ops"], "needs --id"),
    (["delete", "--user", "alice", "--id", "99"], "no view 99"),
])
def test_the_command_line_refuses_bad_input_with_exit_2(cli, args, message):
    code, out, err = cli(*args)
    assert code == 2 and out == [] and message in err
    assert cli("list", "--user", "alice")[1] == []
