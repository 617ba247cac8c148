"""Issue 19.6: the Traffic page says it is loading, and draws its sections only once every
query of the view is back (they used to appear one by one under empty headings: the labels
query ran after the first headings were drawn)."""

import pytest
import streamlit as st
from streamlit.delta_generator import DeltaGenerator
from test_traffic_page import traffic_page
from test_traffic_queries import write_traffic_store

from lib import gui


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    return write_traffic_store(tmp_path_factory.mktemp("traffic_loading"))


def watched(monkeypatch) -> list[tuple[str, str]]:
    """What the page does, in order: ('query', keys) for each batch of queries it runs,
    ('heading', text) for each heading, ('info', text) for each info box."""
    events: list[tuple[str, str]] = []
    run_all, subheader, info = gui.run_all, st.subheader, DeltaGenerator.info

    def run_all_watched(queries):
        events.append(("query", ",".join(queries)))
        return run_all(queries)

    def subheader_watched(body, *args, **kwargs):
        events.append(("heading", str(body)))
        return subheader(body, *args, **kwargs)

    def info_watched(self, body, *args, **kwargs):
        events.append(("info", str(body)))
        return info(self, body, *args, **kwargs)

    monkeypatch.setattr(gui, "run_all", run_all_watched)
    monkeypatch.setattr(st, "subheader", subheader_watched)  # the pages call st.subheader
    monkeypatch.setattr(DeltaGenerator, "info", info_watched)
    return events


@pytest.mark.parametrize("lang, loading", [("en", "Loading the traffic view…"),
                                           ("ja", "トラフィックの画面を読み込み中…")])
def test_sections_are_drawn_once_every_query_is_back(monkeypatch, store, lang, loading):
    events = []
    at = traffic_page(monkeypatch, store, lang=lang)
    events = watched(monkeypatch)  # the page's own run, now on the Traffic page
    at.run()
    assert not at.exception
    kinds = [kind for kind, _ in events]
    assert kinds.count("query") == 2  # the view's queries, then the labels of its talkers
    last_query, first_heading = max(n for n, k in enumerate(kinds) if k == "query"), \
        kinds.index("heading")
    assert last_query < first_heading, events
    assert events[0] == ("info", loading)  # said before the first query runs
    assert not [i for i in at.info if i.value == loading]  # gone once the view is drawn
