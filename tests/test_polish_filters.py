"""Issue 19.12, the filters: an error's message at the top of the page (not only "see the
sidebar"), and on Records, which the filters do not narrow, the filters tucked into a
collapsed box that says so — drawn all the same, so their values survive."""

from apptest import app
from storefixture import T0, record, write_object
from streamlit.testing.v1 import AppTest

WINDOW = {"start": str(T0), "end": str(T0 + 3600)}


def test_a_filter_error_is_said_at_the_top_of_the_page(monkeypatch, tmp_path):
    write_object(tmp_path, [record("10.0.0.5", "10.0.1.9", 40001, 443, start=T0 + 60)])
    at = app(monkeypatch, tmp_path, **WINDOW, dst_port="abc").run()
    assert not at.exception
    top = at.main.warning[0].value
    assert "see the sidebar" in top and "Destination port(s): " in top, top
    assert "abc" in top or "port" in top.split("Destination port(s): ", 1)[1]
    ja = app(monkeypatch, tmp_path, **WINDOW, dst_port="abc", lang="ja").run()
    assert "宛先ポート" in ja.main.warning[0].value.split("\n\n", 1)[1]


def sidebar_on(page: str, **state) -> AppTest:
    """The shared sidebar as app.py draws it when `page` is the page being run."""
    def script():
        import streamlit as st

        from lib import auth, gui

        st.session_state[auth.PAGE_KEY] = st.session_state["_test_page"]
        gui.sidebar_filters(["012345678901"], ["us-east-1"])

    at = AppTest.from_function(script, default_timeout=30)
    at.session_state["_test_page"] = page
    for key, value in state.items():
        at.session_state[key] = value
    return at.run()


def test_records_tucks_the_filters_away_and_says_they_are_not_used():
    at = sidebar_on("Records", **WINDOW, src="10.0.0.0/8")
    assert not at.exception
    boxes = [e for e in at.sidebar.expander if e.label.startswith("Filters (for the other pages")]
    assert len(boxes) == 1
    inside = {t.key: t.value for t in boxes[0].text_input}
    assert inside["src"] == "10.0.0.0/8" and {"start", "end", "eni", "vpc"} <= set(inside)
    assert at.session_state["src"] == "10.0.0.0/8"
    # the zone and the language still apply to Records: they stay in sight
    outside = [s.key for s in at.sidebar.selectbox if s.key in ("tz", "lang")]
    assert outside == ["tz", "lang"]
    ja = sidebar_on("Records", **WINDOW, lang="ja")
    assert any(e.label.startswith("フィルター（他のページ用") for e in ja.sidebar.expander)


def test_other_pages_keep_the_filters_in_sight():
    at = sidebar_on("Search", **WINDOW, src="10.0.0.0/8")
    assert not any(e.label.startswith("Filters (") for e in at.sidebar.expander)
    assert {t.key: t.value for t in at.sidebar.text_input}["src"] == "10.0.0.0/8"
