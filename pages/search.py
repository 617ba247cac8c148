"""Search: find flow log records by time, address, port, protocol, action."""

import streamlit as st

from lib import gui, health, present
from lib.query import Query

gui.leave_unless_signed_in()  # before anything is drawn (issue 21.8)
st.title("Search")
filters = gui.current_filters()
if filters is None:
    st.stop()

gap_records = st.checkbox(
    "Include NODATA/SKIPDATA records", key="search_gap_records", value=False,
    bind="query-params",  # a shared link shows the same rows
    help="Records that carry no traffic: NODATA (no traffic on the interface in that interval) "
         "and SKIPDATA (AWS skipped records: capacity limits or an internal error).")
result = gui.run_query(Query("search", filters, scope=gui.user_scope(),
                       limit=gui.settings().search_limit, gap_records=gap_records))
if result is None:
    st.stop()

rows = result.rows()
st.caption(gui.query_caption(result) + (" · newest first, limited to the first "
           f"{len(rows):,}" if len(rows) >= gui.settings().search_limit else " · newest first"))
if not rows:
    st.info("No records match these filters in this time range.")
summary = present.search_summary(rows, gui.viewer_zone())
picked = st.dataframe(summary, hide_index=True, on_select="rerun", selection_mode="single-row",
                      key="search_table", width="stretch")
selected = picked.selection.rows if picked else []
if selected:
    st.subheader("Record details")
    st.dataframe(present.explain_row(rows[selected[0]], gui.language()), hide_index=True,
                 width="stretch")
elif rows:
    st.caption("Select a row to see every field of the record, explained.")
# on_click="ignore": a download needs no rerun, and a rerun racing the download can drop
# the file it serves (the browser then gets a 404 and the download fails).
st.download_button("Download CSV", present.csv_bytes(rows), file_name="flowscope-search.csv",
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
