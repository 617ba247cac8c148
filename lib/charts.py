"""Altair charts of the Traffic page. Each builder takes a frame from lib/traffic.py and
returns an ``alt.Chart``; clicking a mark selects it through the point selection named
``traffic.PICK``, whose fields are the raw values the drill-down needs.

Exact numbers are in every tooltip (formatted with thousands separators), so a bar's
length is never the only way to read a value.
"""

from __future__ import annotations

import warnings

import altair as alt
import pandas as pd

from lib import i18n
from lib.traffic import MEASURE_TITLES, PICK, TRAFFIC_TEXTS

ACTION_COLORS = {"ACCEPT": "#4c9f70", "REJECT": "#d1495b"}
EXACT = ",d"  # d3 format: 1,234,567
BAND = 24  # pixels per bar or heatmap row, so every label has room


def _pick(fields: list[str]) -> alt.Parameter:
    return alt.selection_point(name=PICK, fields=fields, on="click", clear="dblclick")


def _say(key: str, lang: str, **values) -> str:
    """A Traffic chart's word (lib/texts/traffic.toml, [charts.*])."""
    return i18n.fill(TRAFFIC_TEXTS["charts"][key], lang, **values)


def _measure(measure: str, lang: str) -> str:
    if measure not in MEASURE_TITLES:
        return measure
    return i18n.pick(TRAFFIC_TEXTS["measures"][measure], lang)


def _tooltips(frame: pd.DataFrame, first: list[alt.Tooltip], lang: str = "en"
              ) -> list[alt.Tooltip]:
    counts = [alt.Tooltip(f"{c}:Q", title=(_measure(c, lang) if c in MEASURE_TITLES
                                           else _say(c, lang)), format=EXACT)
              for c in ("bytes", "packets", "flows", "sources", "destinations") if c in frame]
    return first + counts


def bars(frame: pd.DataFrame, label: str, measure: str, pick_fields: list[str],
         title: str = "", lang: str = "en") -> alt.Chart:
    """Horizontal bars of `measure` per `label`, in the frame's order (largest first)."""
    names = {"talker": _say("talker", lang), "owner": _say("owner", lang),
             "port": _say("port", lang)}
    return (alt.Chart(frame, title=title, height=alt.Step(BAND))
            .mark_bar(color="#4c78a8", cursor="pointer")
            .encode(x=alt.X(f"{measure}:Q", title=_measure(measure, lang),
                            axis=alt.Axis(format="~s")),
                    y=alt.Y(f"{label}:N", sort=list(frame[label]), title=None,
                            axis=alt.Axis(labelLimit=320)),
                    tooltip=_tooltips(frame, [alt.Tooltip(f"{c}:N", title=names.get(c, c))
                                              for c in (label, "owner") if c in frame], lang))
            .add_params(_pick(pick_fields)))


def stacked_timeline(frame: pd.DataFrame, measure: str, zone_name: str, bucket_text: str,
                     lang: str = "en") -> alt.Chart:
    """Accepted and rejected `measure` per time bucket, one above the other, each on its own
    y scale: stacked on one scale, a few large transfers hid every rejected flow."""
    day_buckets = bucket_text.endswith(("day", "days", "日"))
    pick = _pick(["bucket_start", "action"])
    base = (alt.Chart(frame, height=110)
            .mark_bar(cursor="pointer")
            .encode(x=alt.X("time:T", title=_say("time", lang, zone=zone_name),
                            scale=alt.Scale(type="utc"),
                            axis=alt.Axis(format="%b %d" if day_buckets else "%b %d %H:%M",
                                          labelOverlap=True)),
                    y=alt.Y(f"{measure}:Q", title=_measure(measure, lang),
                            axis=alt.Axis(format="~s", tickCount=3)),
                    color=alt.Color("action:N", title=_say("action", lang), legend=None,
                                    scale=alt.Scale(domain=list(ACTION_COLORS),
                                                    range=list(ACTION_COLORS.values()))),
                    tooltip=_tooltips(frame, [alt.Tooltip("when:N", title=_say("from", lang)),
                                              alt.Tooltip("action:N", title=_say("action", lang))],
                                      lang)))
    rows = [base.transform_filter(alt.datum.action == action)
            .properties(title=alt.TitleParams(_say(title, lang), anchor="start", fontSize=12))
            for action, title in (("ACCEPT", "accepted"), ("REJECT", "rejected"))]
    chart = alt.vconcat(*rows, title=_say("per-bucket", lang, measure=_measure(measure, lang),
                                          bucket=bucket_text))
    with warnings.catch_warnings():
        # One click selection over both rows is what we want; Altair warns that it merged
        # the two rows' copies of it into one (vega/altair#3891).
        warnings.filterwarnings("ignore", "Automatically deduplicated selection parameter")
        chart = chart.add_params(pick)
    return chart.resolve_scale(x="shared", y="independent")


def rejection_heatmap(frame: pd.DataFrame, zone_name: str, lang: str = "en") -> alt.Chart:
    """Rejected flows by hour of day (columns) and destination port (rows, most first)."""
    ports = list(dict.fromkeys(frame["port"]))
    rejected = _say("rejected-flows", lang)
    return (alt.Chart(frame, title=_say("heatmap", lang), height=alt.Step(BAND))
            .mark_rect(cursor="pointer")
            .encode(x=alt.X("hour:O", title=_say("hour-of-day", lang, zone=zone_name),
                            scale=alt.Scale(domain=list(range(24)))),
                    y=alt.Y("port:N", sort=ports, title=None, axis=alt.Axis(labelLimit=240)),
                    color=alt.Color("flows:Q", title=rejected, scale=alt.Scale(scheme="reds")),
                    tooltip=[alt.Tooltip("port:N", title=_say("port", lang)),
                             alt.Tooltip("hour:O", title=_say("hour", lang)),
                             alt.Tooltip("flows:Q", title=rejected, format=EXACT)])
            .add_params(_pick(["utc_hour", "dstport", "protocol"])))


_TIME = {"en": "Time", "ja": "時刻"}
_RECORDS = {"en": "Records", "ja": "記録数"}


def check_timeline(frame: pd.DataFrame, zone_name: str, window=None, lang: str = "en"
                   ) -> alt.Chart:
    """Connection check: accepted and rejected records per time bucket, one row per
    direction (lib.check.timeline_chart_frame). With a (start, end) window of wall-clock times
    the axis spans all of it, so quiet stretches show."""
    scale = (alt.Scale(type="utc", domain=[t.isoformat() for t in window]) if window
             else alt.Scale(type="utc"))
    return (alt.Chart(frame, height=120)
            .mark_bar()
            .encode(x=alt.X("time:T", title=f"{i18n.pick(_TIME, lang)} ({zone_name})",
                            scale=scale, axis=alt.Axis(format="%m-%d %H:%M", labelOverlap=True)),
                    y=alt.Y("sum(records):Q", title=i18n.pick(_RECORDS, lang),
                            axis=alt.Axis(tickMinStep=1, format=EXACT)),
                    color=alt.Color("action:N", title="Action",
                                    scale=alt.Scale(domain=list(ACTION_COLORS),
                                                    range=list(ACTION_COLORS.values()))),
                    row=alt.Row("direction:N", title=None),
                    tooltip=[alt.Tooltip("time:T", title="From", format="%Y-%m-%d %H:%M"),
                             alt.Tooltip("direction:N", title="Direction"),
                             alt.Tooltip("action:N", title="Action"),
                             alt.Tooltip("records:Q", title="Records", format=EXACT),
                             alt.Tooltip("bytes:Q", title="Bytes", format=EXACT)]))


# --- the Cost page (frames from lib/cost.py) ---------------------------------------------------

COST_COLORS = {"internet-egress": "#d1495b", "nat-gateway": "#edae49", "cross-az": "#00798c",
               "inter-region": "#30638e", "transit-gateway": "#8e6c8a",
               "gateway-endpoint": "#4c9f70", "free": "#b0b0b0", "unknown": "#666666"}
DOLLARS = "$,.2f"


def cost_classes(frame: pd.DataFrame, title: str = "") -> alt.Chart:
    """Estimated dollars per charge class, dearest first (exact bytes in the tooltip)."""
    return (alt.Chart(frame, title=title, height=alt.Step(BAND))
            .mark_bar()
            .encode(x=alt.X("usd:Q", title="USD", axis=alt.Axis(format="$,.3~g")),
                    y=alt.Y("charge:N", sort=list(frame["charge"]), title=None,
                            axis=alt.Axis(labelLimit=320)),
                    color=alt.Color("class:N", legend=None,
                                    scale=alt.Scale(domain=list(COST_COLORS),
                                                    range=list(COST_COLORS.values()))),
                    tooltip=[alt.Tooltip("charge:N", title="Charge"),
                             alt.Tooltip("usd:Q", title="USD", format=DOLLARS),
                             alt.Tooltip("gib:Q", title="GiB", format=",.3f"),
                             alt.Tooltip("bytes:Q", title="Bytes", format=EXACT)]))


def cost_trend(frame: pd.DataFrame, zone_name: str, bucket_text: str) -> alt.Chart:
    """Estimated dollars per time bucket, stacked by class; a click picks the bucket."""
    return (alt.Chart(frame, title=f"USD per {bucket_text}")
            .mark_bar(cursor="pointer")
            .encode(x=alt.X("time:T", title=f"Time ({zone_name})", scale=alt.Scale(type="utc"),
                            axis=alt.Axis(format="%b %d %H:%M", labelOverlap=True)),
                    y=alt.Y("usd:Q", title="USD", stack="zero", axis=alt.Axis(format="$,.3~g")),
                    color=alt.Color("class:N", title="Charge",
                                    scale=alt.Scale(domain=list(COST_COLORS),
                                                    range=list(COST_COLORS.values()))),
                    tooltip=[alt.Tooltip("when:N", title="From"),
                             alt.Tooltip("charge:N", title="Charge"),
                             alt.Tooltip("usd:Q", title="USD", format=DOLLARS),
                             alt.Tooltip("bytes:Q", title="Bytes", format=EXACT)])
            .add_params(_pick(["bucket_start"])))


# --- the Explore page (frames from lib.explore.chart_frame) -------------------------------------
# Titles come in the viewer's language from lib/texts/explore.toml (the page passes them);
# ``value_format`` is the tooltip's d3 format (",d" for counts, ",.2f" for a rate in percent).

def group_bars(frame: pd.DataFrame, value_title: str, label_title: str,
               value_format: str = EXACT) -> alt.Chart:
    """One bar per group (its fields' values joined), in the frame's order (largest first)."""
    return (alt.Chart(frame, height=alt.Step(BAND))
            .mark_bar(color="#4c78a8")
            .encode(x=alt.X("value:Q", title=value_title, axis=alt.Axis(format="~s")),
                    y=alt.Y("label:N", sort=list(frame["label"]), title=None,
                            axis=alt.Axis(labelLimit=360)),
                    tooltip=[alt.Tooltip("label:N", title=label_title),
                             alt.Tooltip("value:Q", title=value_title, format=value_format)]))


def group_lines(frame: pd.DataFrame, value_title: str, time_title: str, series_title: str,
                value_format: str = EXACT) -> alt.Chart:
    """The measure over time (hour or day buckets, wall-clock times of the viewer's zone on a
    UTC scale), one line per group of the other fields."""
    return (alt.Chart(frame)
            .mark_line(point=True)
            .encode(x=alt.X("time:T", title=time_title, scale=alt.Scale(type="utc"),
                            axis=alt.Axis(format="%m-%d %H:%M", labelOverlap=True)),
                    y=alt.Y("value:Q", title=value_title, axis=alt.Axis(format="~s")),
                    color=alt.Color("series:N", title=series_title,
                                    legend=alt.Legend(labelLimit=360)),
                    tooltip=[alt.Tooltip("time:T", title=time_title, format="%Y-%m-%d %H:%M"),
                             alt.Tooltip("series:N", title=series_title),
                             alt.Tooltip("value:Q", title=value_title, format=value_format)]))


def group_heatmap(frame: pd.DataFrame, value_title: str, x_title: str, y_title: str,
                  value_format: str = EXACT) -> alt.Chart:
    """Two fields: the first across, the second down (both in order of their largest group),
    the measure as colour."""
    return (alt.Chart(frame, height=alt.Step(BAND))
            .mark_rect()
            .encode(x=alt.X("x:N", title=x_title, sort=list(dict.fromkeys(frame["x"])),
                            axis=alt.Axis(labelLimit=200)),
                    y=alt.Y("y:N", title=y_title, sort=list(dict.fromkeys(frame["y"])),
                            axis=alt.Axis(labelLimit=240)),
                    color=alt.Color("value:Q", title=value_title,
                                    scale=alt.Scale(scheme="blues")),
                    tooltip=[alt.Tooltip("x:N", title=x_title), alt.Tooltip("y:N", title=y_title),
                             alt.Tooltip("value:Q", title=value_title, format=value_format)]))
