"""The Search page pages on (issue 19, point 2): "Older records" shows the next page of the
same search, "Newer (back to first)" the first; the pages are the unlimited search's rows."""

import pytest
from apptest import app, errors
from storefixture import T0
from test_search_paging import write_store

from lib import present
from lib.engines.duckdb_engine import DuckDBEngine
from lib.filters import parse_filters
from lib.query import ALL_ACCOUNTS, MAX_LIMIT, Query

WINDOW = {"start": str(T0), "end": str(T0 + 3600)}
PAGE = 10


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    return write_store(tmp_path_factory.mktemp("pages"))


@pytest.fixture
def page_app(monkeypatch, store):
    monkeypatch.setenv("FLOWSCOPE_SEARCH_LIMIT", str(PAGE))
    return app(monkeypatch, store, **WINDOW)


def unlimited(store, **raw) -> list[dict]:
    query = Query("search", parse_filters({**WINDOW, **raw}), scope=ALL_ACCOUNTS,
                  limit=MAX_LIMIT, gap_records=False)  # the page leaves gap records out
    return DuckDBEngine(str(store)).run(query).rows()


def shown(at):
    return at.dataframe[0].value


def expected(rows):
    return present.search_summary(rows, "UTC")


def caption(at) -> str:
    return at.caption[0].value


def test_older_records_shows_the_next_rows_without_gap_or_repeat(page_app, store):
    whole = unlimited(store)
    assert len(whole) > 3 * PAGE
    at = page_app.run()
    assert not at.exception and not errors(at)
    assert shown(at).equals(expected(whole[:PAGE]))
    assert "page 1, records 1–10" in caption(at)
    assert at.button(key="search_newer").disabled
    at.button(key="search_older").click().run()
    assert not at.exception and not errors(at)
    assert shown(at).equals(expected(whole[PAGE:2 * PAGE]))
    assert "page 2, records 11–20" in caption(at)
    assert not at.button(key="search_newer").disabled


def test_every_page_in_turn_is_the_whole_search(page_app, store):
    whole = unlimited(store)
    at = page_app.run()
    frames = [shown(at)]
    while not at.button(key="search_older").disabled:
        at.button(key="search_older").click().run()
        assert not at.exception
        frames.append(shown(at))
    assert len(frames) == -(-len(whole) // PAGE)
    together = [row for frame in frames for row in frame.to_dict("records")]
    assert together == expected(whole).to_dict("records")
    last = len(frames)
    assert f"page {last}, records {(last - 1) * PAGE + 1}–{len(whole)}" in caption(at)


def test_newer_goes_back_to_the_first_page(page_app, store):
    at = page_app.run()
    first = shown(at)
    at.button(key="search_older").click().run()
    at.button(key="search_older").click().run()
    assert "page 3" in caption(at)
    at.button(key="search_newer").click().run()
    assert shown(at).equals(first) and "page 1," in caption(at)


def test_other_filters_start_again_at_the_first_page(page_app, store):
    at = page_app.run()
    at.button(key="search_older").click().run()
    assert "page 2" in caption(at)
    at.session_state["dst_port"] = "443"
    at.run()
    assert "page 1," in caption(at)
    assert shown(at).equals(expected(unlimited(store, dst_port="443")[:PAGE]))


def test_a_selected_row_of_a_later_page_is_that_page_s_record(page_app, store):
    whole = unlimited(store)
    at = page_app.run()
    at.button(key="search_older").click().run()
    at.session_state["search_table"] = {"selection": {"rows": [3], "columns": []}}
    at.run()
    details = at.dataframe[1].value.set_index("field")["value"]
    assert details["start"] == str(whole[PAGE + 3]["start"])
    assert details["bytes"] == str(whole[PAGE + 3]["bytes"])


def test_japanese_paging_words(monkeypatch, store):
    monkeypatch.setenv("FLOWSCOPE_SEARCH_LIMIT", str(PAGE))
    at = app(monkeypatch, store, lang="ja", **WINDOW).run()
    assert at.button(key="search_older").label == "古い記録へ"
    assert at.button(key="search_newer").label == "新しい記録へ (最初に戻る)"
    assert "1 ページ目、1–10 件目" in caption(at)


def test_a_row_selected_on_one_page_is_not_kept_on_the_next(page_app):
    at = page_app
    at.session_state["search_table"] = {"selection": {"rows": [3], "columns": []}}
    at.run()
    assert len(at.dataframe) == 2  # the record's details
    at.button(key="search_older").click().run()
    assert not at.exception and len(at.dataframe) == 1
    assert "Select a row" in at.caption[1].value
