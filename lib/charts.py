"""Altair charts of the Traffic page. Each builder takes a frame from lib/traffic.py and
returns an ``alt.Chart``; clicking a mark selects it through the point selection named
``traffic.PICK``, whose fields are the raw values the drill-down needs.

Exact numbers are in every tooltip (formatted with thousands separators), so a bar's
length is never the only way to read a value.
"""

from __future__ import annotations

import altair as alt
import pandas as pd

from lib import i18n
from lib.traffic import MEASURE_TITLES, PICK

ACTION_COLORS = {"ACCEPT": "#4c9f70", "REJECT": "#d1495b"}
EXACT = ",d"  # d3 format: 1,234,567
BAND = 24  # pixels per bar or heatmap row, so every label has room


def _pick(fields: list[str]) -> alt.Parameter:
    return alt.selection_point(name=PICK, fields=fields, on="click", clear="dblclick")


def _tooltips(frame: pd.DataFrame, first: list[alt.Tooltip]) -> list[alt.Tooltip]:
    counts = [alt.Tooltip(f"{c}:Q", title=MEASURE_TITLES.get(c, c.capitalize()), format=EXACT)
              for c in ("bytes", "packets", "flows", "sources", "destinations") if c in frame]
    return first + counts


def bars(frame: pd.DataFrame, label: str, measure: str, pick_fields: list[str],
         title: str = "") -> alt.Chart:
    """Horizontal bars of `measure` per `label`, in the frame's order (largest first)."""
    return (alt.Chart(frame, title=title, height=alt.Step(BAND))
            .mark_bar(color="#4c78a8", cursor="pointer")
            .encode(x=alt.X(f"{measure}:Q", title=MEASURE_TITLES.get(measure, measure),
                            axis=alt.Axis(format="~s")),
                    y=alt.Y(f"{label}:N", sort=list(frame[label]), title=None,
                            axis=alt.Axis(labelLimit=320)),
                    tooltip=_tooltips(frame, [alt.Tooltip(f"{c}:N", title=c)
                                              for c in (label, "owner") if c in frame]))
            .add_params(_pick(pick_fields)))


def stacked_timeline(frame: pd.DataFrame, measure: str, zone_name: str, bucket_text: str
                     ) -> alt.Chart:
    """Accepted and rejected `measure` per time bucket, stacked (rejected on top)."""
    return (alt.Chart(frame, title=f"{MEASURE_TITLES[measure]} per {bucket_text}")
            .mark_bar(cursor="pointer")
            .encode(x=alt.X("time:T", title=f"Time ({zone_name})",
                            scale=alt.Scale(type="utc"),
                            axis=alt.Axis(format="%b %d %H:%M", labelOverlap=True)),
                    y=alt.Y(f"{measure}:Q", title=MEASURE_TITLES[measure], stack="zero",
                            axis=alt.Axis(format="~s")),
                    color=alt.Color("action:N", title="Action",
                                    scale=alt.Scale(domain=list(ACTION_COLORS),
                                                    range=list(ACTION_COLORS.values()))),
                    order=alt.Order("action:N", sort="ascending"),
                    tooltip=_tooltips(frame, [alt.Tooltip("when:N", title="From"),
                                              alt.Tooltip("action:N", title="Action")]))
            .add_params(_pick(["bucket_start", "action"])))


def rejection_heatmap(frame: pd.DataFrame, zone_name: str) -> alt.Chart:
    """Rejected flows by hour of day (columns) and destination port (rows, most first)."""
    ports = list(dict.fromkeys(frame["port"]))
    return (alt.Chart(frame, title="Rejected flows by hour of day and destination port",
                      height=alt.Step(BAND))
            .mark_rect(cursor="pointer")
            .encode(x=alt.X("hour:O", title=f"Hour of day ({zone_name})",
                            scale=alt.Scale(domain=list(range(24)))),
                    y=alt.Y("port:N", sort=ports, title=None, axis=alt.Axis(labelLimit=240)),
                    color=alt.Color("flows:Q", title="Rejected flows",
                                    scale=alt.Scale(scheme="reds")),
                    tooltip=[alt.Tooltip("port:N", title="Port"),
                             alt.Tooltip("hour:O", title="Hour"),
                             alt.Tooltip("flows:Q", title="Rejected flows", format=EXACT)])
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
