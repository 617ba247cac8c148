"""Cost: which traffic costs money, who causes it, and what a change would save (issue 16).

Every number comes from lib/cost.py's queries (charge classes in SQL, both engines); a row
of a drivers or savings table, or a bar of the trend, opens Search on its records.
"""

import pandas as pd
import streamlit as st

from lib import charts, cost, gui, timeutil, traffic
from lib.present import plain

gui.leave_unless_signed_in()  # before anything is drawn (issue 21.8)
lang = gui.language()
st.title(cost.say("title", lang))
st.caption(cost.say("caption", lang))
filters = gui.current_filters()
if filters is None:
    st.stop()
try:
    prices = cost.prices_from(gui.settings())
except ValueError as error:
    st.error(plain(error))
    st.stop()
bucket = cost.trend_bucket(filters.end - filters.start)
once = cost.single_scan_for(gui.settings())  # Athena: read the table once per query
# A bar of the trend was clicked in the previous run: open Search on it first.
if (point := traffic.picked(st.session_state.get(cost.TREND_KEY))) is not None:
    gui.drill_down(cost.trend_drill(filters, bucket, point))

scope, zone = gui.user_scope(), gui.viewer_zone()
st.caption(cost.say("prices", lang, taken=prices.taken))
top = st.select_slider(cost.say("top", lang), [5, 10, 20, 50], value=10, key="cost_top")


def headings(*keys: str) -> list[str]:
    """The columns a table shows, by the frame's keys, as show_columns names them: the
    others (class codes, the addresses a drill-down reads) stay in the frame, out of sight,
    so the table fits beside the sidebar at 1024 px (issue 19.5)."""
    return [cost.title(cost.COLUMNS, key, lang) if key in cost.COLUMNS else key for key in keys]


def charges(title: str, result, seconds: int) -> None:
    """Total, its monthly rate, and the charge per class as a chart and a table."""
    frame = cost.classes_frame(result.rows(), lang)
    total = float(frame["usd"].sum())
    st.metric(cost.say("total", lang), cost.dollars(total),
              help=cost.say("per-month", lang, usd=cost.dollars(cost.monthly(total, seconds))))
    st.altair_chart(charts.cost_classes(frame, title), width="stretch")
    st.dataframe(cost.show_columns(frame, lang), hide_index=True, width="stretch")
    st.caption(gui.query_caption(result))


now = timeutil.now()
month_filters = cost.month_to_date(filters, now)
st.subheader(cost.say("month", lang, month=timeutil.format_local(month_filters.start, "UTC")[:7]))
month = gui.run_query(cost.cost_query(month_filters, scope, prices=prices, single_scan=once))
if month is not None:
    charges("", month, month_filters.end - month_filters.start)

st.subheader(cost.say("period", lang))
period = gui.run_query(cost.cost_query(filters, scope, prices=prices, single_scan=once))
if period is None:
    st.stop()
charges("", period, filters.end - filters.start)
gui.show_result_notes(period)

st.subheader(cost.say("trend", lang))
trend = gui.run_query(cost.cost_query(filters, scope, group="time", prices=prices, bucket=bucket,
                                single_scan=once))
if trend is not None:
    frame = cost.trend_frame(trend.rows(), zone, lang)
    if frame.empty:
        st.info(cost.say("nothing", lang))
    else:
        st.altair_chart(charts.cost_trend(frame, traffic.zone_name(filters, zone),
                                          traffic.bucket_text(bucket)),
                        on_select="rerun", selection_mode=traffic.PICK, key=cost.TREND_KEY,
                        width="stretch")

st.subheader(cost.say("drivers", lang))
st.caption(cost.say("drivers-help", lang))
# One grouping at a time: each is a query over every record of the range.
group = st.segmented_control(cost.say("drivers-by", lang), list(cost.DRIVER_GROUPS),
                             default="pair", key=cost.DRIVER_GROUP_KEY,
                             format_func=lambda g: cost.title(cost.DRIVER_GROUPS, g, lang)
                             ) or "pair"
result = gui.run_query(cost.cost_query(filters, scope, group=group, top=top, prices=prices,
                                 single_scan=once))
if result is not None:
    frame = cost.drivers_frame(result.rows(), group, lang)
    if group == "service":
        st.caption(cost.say("no-drill", lang))
    picked = st.dataframe(cost.show_columns(frame, lang), hide_index=True, on_select="rerun",
                          selection_mode="single-row", key=cost.DRIVERS_KEY, width="stretch",
                          column_order=headings("charge", "driver", "gib", "usd"))
    row = cost.picked_rows(frame, picked)
    if row is not None and (drill := cost.driver_drill(filters, group, row)) is not None:
        gui.drill_down(drill)

st.subheader(cost.say("savings", lang))
st.caption(cost.say("savings-help", lang))
savings = gui.run_query(cost.savings_query(filters, scope, top=top, prices=prices, single_scan=once))
if savings is not None:
    frame, [saved] = cost.savings_frame(savings.rows(), lang), headings("usd_saved")
    if frame.empty:
        st.info(cost.say("no-savings", lang))
    else:
        picked = st.dataframe(cost.show_columns(frame, lang), hide_index=True,
                              on_select="rerun", selection_mode="single-row",
                              key=cost.SAVINGS_KEY, width="stretch",
                              column_order=headings("what", "vpc", "usd_saved"),
                              column_config={saved: st.column_config.NumberColumn(
                                  headings("usd")[0], help=saved)})  # a short heading
        row = cost.picked_rows(frame, picked)
        if row is not None and (drill := cost.savings_drill(filters, row)) is not None:
            gui.drill_down(drill)

unknown = cost.per_class(period.rows())["unknown"]["bytes"]
if unknown:
    where = gui.run_query(cost.cost_query(filters, scope, group="log", top=50, prices=prices,
                                    single_scan=once))
    lines = cost.unknown_lines(where.rows(), lang) if where is not None else []
    st.warning(cost.say("unknown", lang, size=cost.size_text(unknown)) + "\n\n"
               + "\n".join(f"- {line}" for line in lines))

st.subheader(cost.say("limits", lang))
st.markdown(cost.say("limits-text", lang))
# A class per row and a region per column: ten classes side by side did not fit.
st.dataframe(pd.DataFrame(prices.rows()).set_index("region").T, width="stretch")
