"""Search: find flow log records by time, address, port, protocol, action."""

import streamlit as st

from lib import gui, health, i18n, present
from lib.query import Query

TEXTS = i18n.catalogue("search")

gui.leave_unless_signed_in()  # before anything is drawn (issue 21.8)
lang = gui.language()


def say(key: str, **values) -> str:
    return i18n.fill(TEXTS["texts"][key], lang, **values)


st.title(say("title"))
filters = gui.current_filters()
if filters is None:
    st.stop()

gap_records = st.checkbox(say("gap-records"), key="search_gap_records", value=False,
                          bind="query-params",  # a shared link shows the same rows
                          help=say("gap-records-help"))
result = gui.run_query(Query("search", filters, scope=gui.user_scope(),
                       limit=gui.settings().search_limit, gap_records=gap_records))
if result is None:
    st.stop()

rows = result.rows()
st.caption(gui.query_caption(result) + (say("limited", rows=f"{len(rows):,}")
           if len(rows) >= gui.settings().search_limit else say("newest-first")))
if not rows:
    st.info(say("no-records"))
summary = present.search_summary(rows, gui.viewer_zone())
picked = st.dataframe(gui.headings(summary, TEXTS["columns"]), hide_index=True,
                      on_select="rerun", selection_mode="single-row",
                      key="search_table", width="stretch")
selected = picked.selection.rows if picked else []
if selected:
    st.subheader(say("details"))
    st.dataframe(gui.headings(present.explain_row(rows[selected[0]], lang), TEXTS["details"]),
                 hide_index=True, width="stretch")
elif rows:
    st.caption(say("select-row"))
# on_click="ignore": a download needs no rerun, and a rerun racing the download can drop
# the file it serves (the browser then gets a 404 and the download fails).
st.download_button(say("download"), present.csv_bytes(rows), file_name="flowscope-search.csv",
                   mime="text/csv", disabled=not rows, on_click="ignore")
# A gap in the logs of the filtered interfaces (or accounts) means an answer may miss
# records: asked only when the search names some (one more query, audited like the first).
gaps = (gui.run_query(health.gaps_query(filters, gui.user_scope()))
        if filters.interface_ids or filters.accounts else None)
if gaps is not None:
    note = health.gap_note(health.search_gaps(
        health.gaps_from(gaps.rows(), filters.start, filters.end), filters),
        gui.viewer_zone(), gui.language())
    if note:
        st.warning(present.plain(note))
gui.show_result_notes(result)
