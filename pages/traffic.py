"""Traffic: who uses the network and what is being blocked, as charts.

Click a bar, a time bucket or a heatmap cell (or a scan's row) to open Search on it.
"""

import streamlit as st

from lib import charts, gui, i18n, traffic
from lib.engines.athena import view_cost
from lib.present import plain
from lib.query import MEASURES

lang = gui.language()


def say(key: str, **values) -> str:
    return traffic.traffic_text(key, lang, **values)


class Notes:
    """The view's numbers and queries, gathered for one box at the end of the page: every
    chart had its own "Numbers", caption and "SQL" box, nine per page (issue 19.12)."""

    def __init__(self):
        self.tables: list[tuple[str, object]] = []
        self.results: list[tuple[str, object]] = []

    def add(self, title: str, table=None, result=None) -> None:
        if table is not None:
            self.tables.append((title, table))
        if result is not None and all(result is not seen for _, seen in self.results):
            self.results.append((title, result))  # one scan answers every section on Athena

    def draw(self) -> None:
        skipped = sorted({s for _, result in self.results for s in result.skipped})
        if skipped:  # what the queries left out stays in sight, once
            st.warning(gui.ui_text("skipped", count=len(skipped)) + "\n\n"
                       + "\n".join(f"- {plain(s)}" for s in skipped[:20]))
        with st.expander(say("numbers-and-sql")):
            for title, table in self.tables:
                st.markdown(f"**{plain(title)}**")
                st.dataframe(traffic.traffic_columns(table, lang), hide_index=True,
                             width="stretch")
            for title, result in self.results:
                st.markdown(f"**{plain(title)}** · " + plain(gui.query_caption(result)))
                st.code(result.sql if len(result.sql) < 50_000 else result.sql[:50_000] + "\n…",
                        language="sql")


notes = Notes()


def clickable(figure, frame, key: str, title: str, table=None) -> None:
    """A chart whose marks open Search; its exact numbers go to the box at the end."""
    if frame.empty:
        st.info(say("nothing"))
        return
    st.altair_chart(figure, on_select="rerun", selection_mode=traffic.PICK, key=key,
                    width="stretch")
    notes.add(title, frame if table is None else table)


def load_view(filters, scope, measure: str, top: int):
    """Every query of the view, the labels included, before any section is drawn: sections
    used to appear one by one under empty headings (issue 19.6). Meanwhile the page says it
    is loading (and run_all's progress line counts the queries)."""
    loading = st.empty()
    loading.info(say("loading"), icon="⏳")
    ran = gui.run_all(traffic.view_queries(filters, scope, measure, top,
                                           bundled=gui.engine().name == "athena"))
    found = traffic.sections(ran)
    rejected = traffic.rejected_only(filters)
    talkers = [found[section] for section in traffic.TALKER_SECTIONS.values()]
    extra = [] if rejected is None else [found["rejected-src"]]
    # Labels for the addresses shown only: the query reads just their records.
    shown = traffic.addresses_in(*[result.rows() for result in (*talkers, *extra)
                                   if result is not None])
    labels_query = traffic.labels_query(filters, scope, shown)
    labels_result = None if labels_query is None else gui.run_query(labels_query)
    loading.empty()
    return ran, found, labels_result


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
ran, found, labels_result = load_view(filters, scope, measure, top)
labels = traffic.address_labels(labels_result.rows() if labels_result else [])
if cost := view_cost([*ran.values(), labels_result]):  # every query of the view has run
    view_cost_slot.caption(cost)
rejected = traffic.rejected_only(filters)

st.subheader(say("summary"))
current, previous = found["summary"], found["previous"]
if current is not None and previous is not None:
    metrics = traffic.summary_metrics(current.rows()[0], previous.rows()[0], lang)
    for row in traffic.metric_rows(metrics):
        for column, metric in zip(st.columns(traffic.METRICS_PER_ROW), row, strict=False):
            column.metric(metric.label, metric.value, metric.delta,
                          delta_color=metric.delta_color, help=metric.help)
    st.caption(say("summary-note"))
    notes.add(say("summary"), result=current)
    notes.add(say("previous-period"), result=previous)

st.subheader(say("top-talkers"))
groups = i18n.pick_all(traffic.TRAFFIC_TEXTS["groups"], lang)
tabs = st.tabs([groups[group] for group in traffic.GROUP_TITLES])
for tab, group in zip(tabs, traffic.GROUP_TITLES, strict=True):
    with tab:
        result = found[traffic.TALKER_SECTIONS[group]]
        if result is not None:
            frame = traffic.talkers_frame(result.rows(), group, labels)
            clickable(charts.bars(frame, "talker", measure, traffic.GROUP_FIELDS[group],
                                  lang=lang), frame, traffic.TALKER_KEYS[group], groups[group])
            notes.add(groups[group], result=result)
if labels_result is not None:
    notes.add(say("labels-note"), result=labels_result)

st.subheader(say("over-time"))
timeline = traffic.timeline_query(filters, scope)
result = found["timeline"]
if result is not None:
    frame = traffic.timeline_frame(result.rows(), filters, timeline.bucket, zone)
    figure = charts.stacked_timeline(frame, measure, traffic.zone_name(filters, zone),
                                     traffic.bucket_text(timeline.bucket, lang), lang)
    clickable(figure, frame, traffic.TIMELINE_KEY, say("over-time"))
    notes.add(say("over-time"), result=result)


def rejected_section() -> None:
    """Top rejected sources and ports, rejections by hour of day, probable scans."""
    sources, ports = st.columns(2)
    with sources:
        st.markdown(f"**{say('rejected-sources')}**")
        if (result := found["rejected-src"]) is not None:
            frame = traffic.talkers_frame(result.rows(), "src", labels)
            clickable(charts.bars(frame, "talker", measure, ["srcaddr"], lang=lang), frame,
                      traffic.REJECTED_SOURCES_KEY, say("rejected-sources"))
            notes.add(say("rejected-sources"), result=result)
    with ports:
        st.markdown(f"**{say('rejected-ports')}**")
        if (result := found["rejected-ports"]) is not None:
            frame = traffic.ports_frame(result.rows())
            clickable(charts.bars(frame, "port", measure, ["dstport", "protocol"], lang=lang),
                      frame, traffic.REJECTED_PORTS_KEY, say("rejected-ports"))
            notes.add(say("rejected-ports"), result=result)
    heatmap = traffic.traffic_text("heatmap", lang, "charts")
    if (result := found["heatmap"]) is not None:
        frame = traffic.heatmap_frame(result.rows(), filters, zone)
        figure = charts.rejection_heatmap(frame, traffic.hour_shift(filters, zone)[1], lang)
        clickable(figure, frame, traffic.HEATMAP_KEY, heatmap, table=traffic.heatmap_table(frame))
        notes.add(heatmap, result=result)
    st.markdown(f"**{say('scans')}**")
    st.caption(traffic.scan_rule(lang) + say("select-scan"))
    if (result := found["scans"]) is not None:
        scans = traffic.scans_view(result.rows(), zone)
        picked = st.dataframe(traffic.traffic_columns(scans, lang), hide_index=True,
                              on_select="rerun", selection_mode="single-row",
                              key=traffic.SCANS_KEY, width="stretch")
        notes.add(say("scans"), traffic.scans_frame(result.rows(), zone, lang), result)
        if (drill := traffic.scan_drill(filters, scans, traffic.picked_row(picked))) is not None:
            gui.drill_down(drill)


st.subheader(say("rejected"))
if rejected is None:
    st.info(say("accepted-only"))
else:
    rejected_section()
notes.draw()
