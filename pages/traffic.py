"""Traffic: who uses the network and what is being blocked, as charts.

Click a bar, a time bucket or a heatmap cell (or a scan's row) to open Search on it.
"""

import streamlit as st

from lib import charts, gui, i18n, traffic
from lib.engines.athena import view_cost
from lib.query import MEASURES

lang = gui.language()


def say(key: str, **values) -> str:
    return traffic.traffic_text(key, lang, **values)


def notes(result, what: str = "") -> None:
    """The query's engine, time (and data scanned), and its SQL on request."""
    st.caption(what + gui.query_caption(result))
    gui.show_result_notes(result)


def clickable(figure, frame, key: str, table=None) -> None:
    """A chart whose marks open Search, with its exact numbers in a table below."""
    if frame.empty:
        st.info(say("nothing"))
        return
    st.altair_chart(figure, on_select="rerun", selection_mode=traffic.PICK, key=key,
                    width="stretch")
    with st.expander(say("numbers")):
        st.dataframe(traffic.traffic_columns(frame if table is None else table, lang),
                     hide_index=True, width="stretch")


gui.leave_unless_signed_in()  # before anything is drawn (issue 21.8)
st.title(say("title"))
view_cost_slot = st.empty()  # what this view's Athena queries scanned and cost
filters = gui.current_filters()
if filters is None:
    st.stop()
# Something was clicked in the previous run: open Search on it before running any query.
if (drill := traffic.pending_drill(filters, st.session_state)) is not None:
    gui.drill_down(drill)

scope, zone = gui.user_scope(), gui.viewer_zone()
left, right = st.columns(2)
measures = i18n.pick_all(traffic.TRAFFIC_TEXTS["measures"], lang)
measure = left.segmented_control(say("measure"), MEASURES, default="bytes", key="traffic_measure",
                                 format_func=measures.get) or "bytes"
top = right.select_slider(say("how-many"), [5, 10, 20, 50], value=10, key="traffic_top")

# The view's independent queries run at once (with Athena: one scan for every section).
ran = gui.run_all(traffic.view_queries(filters, scope, measure, top,
                                       bundled=gui.engine().name == "athena"))
found = traffic.sections(ran)

st.subheader(say("summary"))
current, previous = found["summary"], found["previous"]
if current is not None and previous is not None:
    metrics = traffic.summary_metrics(current.rows()[0], previous.rows()[0], lang)
    for column, metric in zip(st.columns(len(metrics)), metrics, strict=True):
        column.metric(metric.label, metric.value, metric.delta, delta_color=metric.delta_color,
                      help=metric.help)
    st.caption(say("summary-caption", current=gui.query_caption(current),
                   previous=gui.query_caption(previous)))
    gui.show_result_notes(current)

st.subheader(say("top-talkers"))
talkers = {group: found[section] for group, section in traffic.TALKER_SECTIONS.items()}
rejected = traffic.rejected_only(filters)
rejected_sources = None if rejected is None else found["rejected-src"]
# Labels for the addresses shown only: the query reads just their records.
shown = traffic.addresses_in(*[result.rows() for result in (*talkers.values(), rejected_sources)
                               if result is not None])
labels_query = traffic.labels_query(filters, scope, shown)
labels_result = None if labels_query is None else gui.run_query(labels_query)
labels = traffic.address_labels(labels_result.rows() if labels_result else [])
if cost := view_cost([*ran.values(), labels_result]):  # every query of the view has run
    view_cost_slot.caption(cost)
groups = i18n.pick_all(traffic.TRAFFIC_TEXTS["groups"], lang)
tabs = st.tabs([groups[group] for group in traffic.GROUP_TITLES])
for tab, group in zip(tabs, traffic.GROUP_TITLES, strict=True):
    with tab:
        result = talkers[group]
        if result is not None:
            frame = traffic.talkers_frame(result.rows(), group, labels)
            clickable(charts.bars(frame, "talker", measure, traffic.GROUP_FIELDS[group],
                                  lang=lang), frame, traffic.TALKER_KEYS[group])
            notes(result)
if labels_result is not None:
    notes(labels_result, say("labels-note"))

st.subheader(say("over-time"))
timeline = traffic.timeline_query(filters, scope)
result = found["timeline"]
if result is not None:
    frame = traffic.timeline_frame(result.rows(), filters, timeline.bucket, zone)
    figure = charts.stacked_timeline(frame, measure, traffic.zone_name(filters, zone),
                                     traffic.bucket_text(timeline.bucket, lang), lang)
    clickable(figure, frame, traffic.TIMELINE_KEY)
    notes(result)

st.subheader(say("rejected"))
if rejected is None:
    st.info(say("accepted-only"))
    st.stop()
sources, ports = st.columns(2)
with sources:
    st.markdown(f"**{say('rejected-sources')}**")
    if rejected_sources is not None:
        frame = traffic.talkers_frame(rejected_sources.rows(), "src", labels)
        clickable(charts.bars(frame, "talker", measure, ["srcaddr"], lang=lang), frame,
                  traffic.REJECTED_SOURCES_KEY)
        notes(rejected_sources)
with ports:
    st.markdown(f"**{say('rejected-ports')}**")
    result = found["rejected-ports"]
    if result is not None:
        frame = traffic.ports_frame(result.rows())
        clickable(charts.bars(frame, "port", measure, ["dstport", "protocol"], lang=lang), frame,
                  traffic.REJECTED_PORTS_KEY)
        notes(result)

result = found["heatmap"]
if result is not None:
    frame = traffic.heatmap_frame(result.rows(), filters, zone)
    figure = charts.rejection_heatmap(frame, traffic.hour_shift(filters, zone)[1], lang)
    clickable(figure, frame, traffic.HEATMAP_KEY, table=traffic.heatmap_table(frame))
    notes(result)

st.markdown(f"**{say('scans')}**")
st.caption(traffic.scan_rule(lang) + say("select-scan"))
result = found["scans"]
if result is not None:
    scans = traffic.scans_frame(result.rows(), zone, lang)
    picked = st.dataframe(traffic.traffic_columns(scans, lang), hide_index=True, on_select="rerun",
                          selection_mode="single-row", key=traffic.SCANS_KEY, width="stretch")
    notes(result)
    if (drill := traffic.scan_drill(filters, scans, traffic.picked_row(picked))) is not None:
        gui.drill_down(drill)
