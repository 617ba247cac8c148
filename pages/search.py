"""Search: find flow log records by time, address, port, protocol, action."""

import streamlit as st

from lib import gui, health, i18n, present
from lib.query import Query, next_cursor, search_after

TEXTS = i18n.catalogue("search")
PAGE_KEY = "search_page"  # session state: the page shown, and the search it belongs to
TABLE_KEY = "search_table"  # the results table (its selected row)

gui.leave_unless_signed_in()  # before anything is drawn (issue 21.8)
lang = gui.language()


def say(key: str, **values) -> str:
    return i18n.fill(TEXTS["texts"][key], lang, **values)


def heading(field: str) -> str:
    return i18n.pick(TEXTS["columns"][present.SEARCH_HEADINGS[field]], lang)


def show_page(search, cursor, number: int) -> None:
    """A button's action: show page ``number`` of ``search``, the rows after ``cursor``
    (None: the first page). A row selected on the page left is not one of the new page's."""
    st.session_state.pop(TABLE_KEY, None)
    if cursor is None:
        st.session_state.pop(PAGE_KEY, None)
    else:
        st.session_state[PAGE_KEY] = {"search": search, "cursor": cursor, "number": number}


def current_page(search) -> dict:
    """The page asked for, while the filters are those it was asked for; else the first."""
    page = st.session_state.get(PAGE_KEY)
    if page is None or page["search"] != search:
        return {"search": search, "cursor": None, "number": 1}
    return page


st.title(say("title"))
filters = gui.current_filters()
if filters is None:
    st.stop()

gap_records = st.checkbox(say("gap-records"), key="search_gap_records", value=False,
                          bind="query-params",  # a shared link shows the same rows
                          help=say("gap-records-help"))
chosen = st.multiselect(say("columns"), list(present.SEARCH_HEADINGS),
                        default=list(present.DEFAULT_SEARCH_FIELDS), key="search_columns",
                        format_func=heading, bind="query-params", help=say("columns-help"))
limit = gui.settings().search_limit
page = current_page((filters, gap_records))
# The first search can take seconds (a cold cache, Athena): say so instead of a blank page.
with st.spinner(say("searching")):
    result = gui.run_query(search_after(Query("search", filters, scope=gui.user_scope(),
                                              limit=limit, gap_records=gap_records),
                                        page["cursor"]))
if result is None:
    st.stop()

rows = result.rows()
first = (page["number"] - 1) * limit + 1
paged = page["number"] > 1 or len(rows) >= limit
st.caption(gui.query_caption(result) + say("newest-first") + (
    say("page", page=page["number"], first=f"{first:,}", last=f"{first + len(rows) - 1:,}")
    if paged and rows else ""))
if not rows:
    st.info(say("no-records" if page["number"] == 1 else "no-older"))
summary = present.search_summary(rows, gui.viewer_zone(), present.search_fields(chosen))
picked = st.dataframe(gui.headings(summary, TEXTS["columns"]), hide_index=True,
                      on_select="rerun", selection_mode="single-row",
                      key=TABLE_KEY, width="stretch")
older, newer = st.columns(2)
older.button(say("older"), key="search_older", disabled=len(rows) < limit,
             on_click=show_page,
             args=(page["search"], next_cursor(rows, page["cursor"]), page["number"] + 1))
newer.button(say("newer"), key="search_newer", disabled=page["number"] == 1,
             on_click=show_page, args=(page["search"], None, 1))
selected = [n for n in (picked.selection.rows if picked else []) if n < len(rows)]
if selected:
    st.subheader(say("details"))
    st.dataframe(gui.headings(present.explain_row(rows[selected[0]], lang), TEXTS["details"]),
                 hide_index=True, width="stretch")
elif rows:
    st.caption(say("select-row"))
# on_click="ignore": a download needs no rerun, and a rerun racing the download can drop
# the file it serves (the browser then gets a 404 and the download fails).
st.download_button(say("download"), present.csv_bytes(rows, gui.viewer_zone()),
                   file_name=("flowscope-search.csv" if page["number"] == 1
                              else f"flowscope-search-page-{page['number']}.csv"), mime="text/csv",
                   disabled=not rows, on_click="ignore")
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
