"""Explore: group the records by one to three fields and rank the groups by a measure, as a
table and a chart; a selected row opens Search on its records. Everything is lib.explore's:
this page draws the widgets (kept in the URL, so a link reopens the view) and the result."""

import streamlit as st

from lib import explore, gui, present
from lib.traffic import zone_name

gui.leave_unless_signed_in()  # before anything is drawn (issue 21.8)
lang = gui.language()


def say(key: str, **values) -> str:
    return explore.explore_text(key, lang, **values)


def title(name: str) -> str:
    return explore.field_title(name, lang)


st.title(say("title"))
st.caption(say("intro"))
filters = gui.current_filters()
if filters is None:
    st.stop()

left, middle, right = st.columns([3, 2, 1])
fields = left.multiselect(say("fields"), explore.FIELD_NAMES, default=list(explore.DEFAULT_FIELDS),
                          max_selections=explore.MAX_FIELDS, key="explore_by", format_func=title,
                          help=say("fields-help"), bind="query-params")
measure = middle.selectbox(say("measure"), list(explore.GROUP_MEASURES), key="explore_measure",
                           format_func=lambda m: explore.measure_title(m, lang),
                           bind="query-params")
top = right.number_input(say("top"), min_value=1, max_value=explore.PAGE_MAX_TOP,
                         value=explore.DEFAULT_TOP, step=10, key="explore_top",
                         bind="query-params")

# Open when a link or the user set a condition: a hidden filter would surprise.
with st.expander(say("conditions"), expanded=any(
        st.session_state.get(explore.condition_key(name)) for name in fields)):
    raw, slots = {}, {}
    for name in fields:
        raw[name] = st.text_input(title(name), key=explore.condition_key(name),
                                  help=say("condition-help"), bind="query-params")
        slots[name] = st.empty()
try:
    conditions = explore.parse_conditions(raw)
except explore.InvalidConditions as invalid:
    for name, message in invalid.messages(lang).items():
        slots[name].error(f"{title(name)}: {present.plain(message)}")
    st.warning(say("bad-conditions"))
    st.stop()
if not fields:
    st.info(say("pick-fields"))
    st.stop()

query = explore.group_query(filters, gui.user_scope(), fields, measure, int(top), conditions)
result = gui.run_query(query)  # audited, in the user's scope, cached per query
if result is None:
    st.stop()
rows, zone = result.rows(), gui.viewer_zone()
st.caption(gui.query_caption(result) + say("largest-first"))
if not rows:
    st.info(say("nothing"))
    gui.show_result_notes(result)
    st.stop()

picked = st.dataframe(explore.table(rows, query, zone, lang), hide_index=True,
                      on_select="rerun", selection_mode="single-row", key="explore_table",
                      width="stretch")
selected = picked.selection.rows if picked else []
if selected and selected[0] < len(rows):
    row = rows[selected[0]]
    missing = explore.unfilterable(query, row)
    if not missing:
        gui.drill_down(explore.drill(filters, query, row))
    names = ", ".join(title(name) for name in missing)
    st.warning(say("cannot-drill", fields=names))
    if st.button(say("open-anyway", fields=names), key="explore_open_anyway"):
        gui.drill_down(explore.drill(filters, query, row))
else:
    st.caption(say("select-row"))
if measure == "reject-rate":
    st.caption(say("rate-note"))
st.altair_chart(explore.chart(rows, query, zone, zone_name(filters, zone), lang),
                width="stretch")
gui.show_result_notes(result)
