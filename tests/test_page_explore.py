"""The Explore page (issue 19): widgets -> lib.explore -> a table and a chart; the state in the
URL; a selected row opens Search on its records; Japanese with no English words left."""

import pytest
from apptest import app, errors, sidebar_text
from storefixture import ACCOUNT_B, T0
from test_explore import WINDOW, write_explore_store
from test_page_japanese import english_left

from lib import explore, gui
from lib.filters import parse_filters
from lib.query import ALL_ACCOUNTS

PAGE = "pages/explore.py"


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    return write_explore_store(tmp_path_factory.mktemp("explore_page"))


def explore_page(monkeypatch, store, link=None, selected=None, **state):
    """The Explore page opened from the start page (AppTest can switch to a page of an
    st.navigation app only after a first run); ``link``: the page's widget values (what a
    link's URL parameters set), ``selected``: the table's selected row."""
    at = app(monkeypatch, store, **WINDOW, **state).run()
    at.switch_page(PAGE)
    for key, value in (link or {}).items():
        at.session_state[key] = value
    if selected is not None:
        at.session_state["explore_table"] = {"selection": {"rows": [selected], "columns": []}}
    return at.run()


def table(at):
    return at.dataframe[0].value


def test_the_page_groups_by_port_and_action_by_default(monkeypatch, store):
    at = explore_page(monkeypatch, store)
    assert not at.exception and not errors(at), at.exception
    assert at.title[0].value == "Explore"
    shown = table(at)
    assert list(shown.columns) == ["Destination port", "Action", "Flows"]
    assert shown.values.tolist() == [["443", "ACCEPT", 4], ["22", "ACCEPT", 1],
                                     ["22", "REJECT", 1], ["8080", "ACCEPT", 1],
                                     ["8080", "REJECT", 1]]
    assert "largest first" in at.caption[1].value
    assert [w.value for w in at.multiselect if w.key == "explore_by"] == [["dstport", "action"]]


def test_the_view_is_kept_in_the_url(monkeypatch, store):
    """Fields, measure, top N and conditions are bound to the URL (bind="query-params"), so
    the address bar reopens the view (a link opened in a browser: tests/browser)."""
    at = app(monkeypatch, store, **WINDOW).run()
    at.switch_page(PAGE)
    for key, value in {"explore_by": ["srcaddr/24", "hour"], "explore_measure": "bytes",
                       "explore_top": 2, "explore_if_srcaddr_24": "10.0.0.0/8"}.items():
        at.session_state[key] = value
    at.run()
    assert not at.exception and not errors(at), at.exception
    shown = table(at)
    assert list(shown.columns) == ["Source /24", "Hour", "Bytes"]
    assert shown.values.tolist() == [["10.0.0.0/24", "2026-09-21 00:00 UTC", 3000],
                                     ["10.0.0.0/24", "2026-09-21 01:00 UTC", 500]]
    assert at.query_params == {"explore_by": ["Source /24", "Hour"], "explore_measure": "Bytes",
                               "explore_top": "2", "explore_if_srcaddr_24": "10.0.0.0/8"}


def test_times_are_shown_in_the_viewers_zone(monkeypatch, store):
    at = explore_page(monkeypatch, store, link={"explore_by": ["day"]}, tz="Asia/Tokyo")
    assert not at.exception
    assert table(at).values.tolist() == [["2026-09-21 JST", 8]]  # the UTC day from 09:00 JST


def test_a_bad_condition_is_named_and_nothing_runs(monkeypatch, store):
    at = explore_page(monkeypatch, store, link={"explore_by": ["dstport"],
                                                "explore_if_dstport": "443; DROP TABLE flows"})
    assert not at.exception
    assert errors(at) and errors(at)[0].startswith("Destination port: ")
    assert "correct it" in at.warning[0].value
    assert not at.dataframe
    assert at.text_input(key="explore_if_dstport").value == "443; DROP TABLE flows"  # kept


def test_selecting_a_row_opens_search_on_its_records(monkeypatch, store):
    at = explore_page(monkeypatch, store, link={"explore_by": ["dstport", "action"]},
                      selected=2)  # (22, REJECT)
    assert not at.exception, at.exception
    assert at.title[0].value == "Search"
    pending = at.session_state[gui.PENDING_FILTERS]
    assert pending == {**WINDOW, "dst_port": "22", "action": "REJECT"}
    search = app(monkeypatch, store, **{gui.PENDING_FILTERS: pending}).run()
    assert not search.exception and not errors(search)
    assert sidebar_text(search, "Destination port(s)").value == "22"
    assert list(search.dataframe[0].value["Source"]) == ["198.51.100.7"]


def test_a_prefix_and_an_hour_drill_into_a_cidr_and_that_hour(monkeypatch, store):
    at = explore_page(monkeypatch, store, link={"explore_by": ["srcaddr/24", "hour"]},
                      selected=3)  # after three groups of 2 flows: (10.0.0.0/24, 01:00)
    assert at.title[0].value == "Search"
    assert at.session_state[gui.PENDING_FILTERS] == {
        "start": str(T0 + 3600), "end": str(T0 + 7200), "src": "10.0.0.0/24"}


def test_a_field_search_cannot_filter_on_is_said_not_drilled(monkeypatch, store):
    at = explore_page(monkeypatch, store, link={"explore_by": ["dstport", "flow-direction"]},
                      selected=0)
    assert not at.exception
    assert at.title[0].value == "Explore"  # stayed
    assert "Search cannot filter on Direction" in at.warning[0].value
    button = at.button(key="explore_open_anyway")
    assert button.label == "Open in Search without Direction"
    button.click().run()
    assert at.title[0].value == "Search"
    assert at.session_state[gui.PENDING_FILTERS] == {**WINDOW, "dst_port": "443"}


SCOPED_ACCESS = """\
users:
  alice:
    accounts: ["*"]
groups:
  team-a:
    accounts: ["012345678901"]
    pages: ["Search", "Explore"]
"""


def test_the_account_scope_applies_on_the_page(monkeypatch, store, tmp_path):
    """Bob may see account A only: no group of account B, whatever he asks."""
    from authkit import signed_app, signed_in_state, write_access, write_users

    files = {"users_file": write_users(tmp_path / "users.yaml"),
             "access_file": write_access(tmp_path / "access.yaml", SCOPED_ACCESS),
             "audit_file": tmp_path / "audit.jsonl"}
    at = signed_app(monkeypatch, store, "password", files, **WINDOW)
    for key, value in signed_in_state("bob", "Bob", ["team-a"]).items():
        at.session_state[key] = value
    at.run()
    at.switch_page(PAGE)
    at.session_state["explore_by"] = ["account", "dstport"]
    at.run()
    assert not at.exception and not errors(at), at.exception
    assert table(at).values.tolist() == [["012345678901", "443", 4], ["012345678901", "22", 2]]
    assert ACCOUNT_B not in " ".join(w.value for w in at.warning)


def test_explore_in_japanese(monkeypatch, store):
    at = explore_page(monkeypatch, store, lang="ja",
                      link={"explore_by": ["srcaddr/24", "action"],
                            "explore_measure": "reject-rate"})
    assert not at.exception and not errors(at), at.exception
    assert at.title[0].value == "探索"
    assert list(table(at).columns) == ["送信元 /24", "アクション", "拒否率（%）"]
    assert at.multiselect(key="explore_by").label == "まとめる項目（1〜3 個）"
    assert english_left(at) == []


def test_the_chart_fits_the_grouping():
    filters = parse_filters(WINDOW, 31)
    rows = {"dstport": [{"dstport": 443, "flows": 4}, {"dstport": 22, "flows": 2}],
            "dstport,action": [{"dstport": 443, "action": "ACCEPT", "flows": 4}],
            "hour,action": [{"hour_start": T0, "action": "ACCEPT", "flows": 4}],
            "account,region,dstport": [{"log_account": ACCOUNT_B, "log_region": "eu-west-1",
                                        "dstport": 8080, "flows": 2}]}
    marks = {}
    for fields, found in rows.items():
        query = explore.group_query(filters, ALL_ACCOUNTS, fields)
        spec = explore.chart(found, query, "Asia/Tokyo", "JST", "ja").to_dict()
        marks[fields] = spec["mark"]["type"]
        if fields == "hour,action":
            assert spec["encoding"]["x"]["title"] == "時刻（JST）"
            assert spec["encoding"]["color"]["field"] == "series"
            assert spec["datasets"][spec["data"]["name"]][0]["series"] == "ACCEPT"
        if fields == "dstport,action":
            assert spec["encoding"]["x"]["title"] == "宛先ポート"
            assert spec["encoding"]["y"]["title"] == "アクション"
    assert marks == {"dstport": "bar", "dstport,action": "rect", "hour,action": "line",
                     "account,region,dstport": "bar"}


def test_every_explore_text_has_japanese():
    from lib import i18n

    missing = [f"[{group}.{key}]" for group, texts in i18n.catalogue("explore").items()
               for key, text in texts.items() if not text.get("ja")]
    assert missing == []
    assert set(i18n.catalogue("explore")["fields"]) == set(explore.FIELD_NAMES)
    assert set(i18n.catalogue("explore")["measures"]) == set(explore.GROUP_MEASURES)


def test_explore_run_on_its_own_first_shows_only_the_sign_in(monkeypatch, tmp_path):
    """As every page (issue 21.8): nothing is drawn and nothing runs before the sign-in."""
    from authkit import audit_lines, signed_app, write_access, write_store, write_users

    files = {"users_file": write_users(tmp_path / "users.yaml"),
             "access_file": write_access(tmp_path / "access.yaml"),
             "audit_file": tmp_path / "audit.jsonl"}
    at = signed_app(monkeypatch, write_store(tmp_path / "store"), "password", files, **WINDOW)
    at.switch_page(PAGE)
    at.run()
    assert not at.exception
    assert "Explore" not in [t.value for t in at.title]
    assert [t.label for t in at.text_input] == ["Username", "Password"]
    assert not at.multiselect and not at.dataframe and not at.sidebar.text_input
    assert audit_lines(files["audit_file"]) == []


def test_bars_and_heatmaps_draw_the_largest_groups_only():
    rows = [{"dstport": port, "flows": 1000 - port} for port in range(200)]
    query = explore.group_query(parse_filters(WINDOW, 31), ALL_ACCOUNTS, "dstport", top=200)
    spec = explore.chart(rows, query, "UTC", "UTC", "en").to_dict()
    drawn = spec["datasets"][spec["data"]["name"]]
    assert len(drawn) == explore.CHART_MAX_GROUPS and drawn[0]["label"] == "0"


def test_the_page_on_athena_shows_the_same_groups(monkeypatch, store):
    """The same page on the Athena engine (the fake runs its SQL on the same files)."""
    import functools

    import streamlit as st
    from apptest import ROOT
    from fake_athena import shared_fake
    from streamlit.testing.v1 import AppTest

    from lib.engines.athena import AthenaEngine

    english = table(explore_page(monkeypatch, store, link={"explore_by": ["hour", "action"]}))
    fake = shared_fake()
    fake.load_store(store)
    try:
        fake.use_in_app(monkeypatch, {
            "FLOWSCOPE_ENGINE": "athena", "FLOWSCOPE_AUTH_MODE": "none",
            "FLOWSCOPE_DATA_DIR": str(store), "FLOWSCOPE_ATHENA_CACHE_TTL_S": "0",
            "FLOWSCOPE_ATHENA_RESULT_REUSE_MINUTES": "0"})
        monkeypatch.setattr(AthenaEngine, "__init__",
                            functools.partialmethod(AthenaEngine.__init__, poll_interval=0.01))
        fake.reset()
        st.cache_data.clear()
        st.cache_resource.clear()
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
        for key, value in WINDOW.items():
            at.session_state[key] = value
        at.run()
        at.switch_page(PAGE)
        at.session_state["explore_by"] = ["hour", "action"]
        at.run()
        assert not at.exception and not errors(at), errors(at)
        assert any("athena" in c.value for c in at.caption)
        assert table(at).values.tolist() == english.values.tolist()
    finally:
        st.cache_resource.clear()
        fake.load_store(fake.store_root)


def test_no_group_says_so(monkeypatch, store):
    at = explore_page(monkeypatch, store, link={"explore_by": ["srcaddr"],
                                                "explore_if_srcaddr": "192.0.2.0/24"})
    assert not at.exception and not errors(at)
    assert at.expander[0].proto.expanded  # the condition that emptied the table is in view
    assert not at.dataframe
    assert at.info[0].value == "Nothing matches these filters in this time range."


def test_no_field_chosen_asks_for_one(monkeypatch, store):
    at = explore_page(monkeypatch, store, link={"explore_by": []})
    assert not at.exception and not errors(at)
    assert at.info[0].value == "Choose one to three fields to group by."
    assert not at.dataframe
