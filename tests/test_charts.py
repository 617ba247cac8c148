"""Chart builders: alt.Chart objects with the encodings, tooltips and click selection the
Traffic page relies on (Altair charts are opaque to AppTest, so they are checked here)."""

import altair as alt
from storefixture import T0

from lib import charts, traffic
from lib.filters import parse_filters

FILTERS = parse_filters({"start": str(T0), "end": str(T0 + 7200)})


def spec(chart: alt.Chart) -> dict:
    return chart.to_dict()


def pick_fields(chart: alt.Chart) -> list[str]:
    params = [p for p in spec(chart)["params"] if p["name"] == traffic.PICK]
    assert len(params) == 1 and params[0]["select"]["type"] == "point"
    return params[0]["select"]["fields"]


def tooltip_formats(chart: alt.Chart) -> dict[str, str | None]:
    return {t["field"]: t.get("format") for t in spec(chart)["encoding"]["tooltip"]}


def test_talker_bars_are_horizontal_sorted_and_exact_on_hover():
    rows = [{"srcaddr": "10.0.0.5", "bytes": 9_000_000_001, "packets": 7, "flows": 2},
            {"srcaddr": "10.0.1.9", "bytes": 5, "packets": 1, "flows": 1}]
    frame = traffic.talkers_frame(rows, "src", {"10.0.0.5": traffic.Holder("eni-a", "eni-a, vpc-a")})
    chart = charts.bars(frame, "talker", "bytes", ["srcaddr"])
    assert isinstance(chart, alt.Chart)
    encoding = spec(chart)["encoding"]
    assert spec(chart)["mark"]["type"] == "bar"
    assert spec(chart)["height"] == {"step": charts.BAND}  # room for every label
    assert (encoding["x"]["field"], encoding["x"]["type"]) == ("bytes", "quantitative")
    assert (encoding["y"]["field"], encoding["y"]["type"]) == ("talker", "nominal")
    assert encoding["y"]["sort"] == ["10.0.0.5 (eni-a)", "10.0.1.9"]  # largest first
    assert tooltip_formats(chart) == {"talker": None, "owner": None, "bytes": ",d",
                                      "packets": ",d", "flows": ",d"}
    assert pick_fields(chart) == ["srcaddr"]
    values = chart.data.to_dict("records")
    assert values[0]["bytes"] == 9_000_000_001  # exact, not rounded


def test_port_bars_select_port_and_protocol():
    frame = traffic.ports_frame([{"dstport": 22, "protocol": 6, "bytes": 80, "packets": 2,
                                  "flows": 2, "sources": 2, "destinations": 2}])
    chart = charts.bars(frame, "port", "flows", ["dstport", "protocol"])
    assert spec(chart)["encoding"]["x"]["field"] == "flows"
    assert pick_fields(chart) == ["dstport", "protocol"]
    assert {"sources", "destinations"} <= set(tooltip_formats(chart))


def test_timeline_is_stacked_by_action_on_a_utc_scale():
    rows = [{"bucket_start": T0 + 60, "action": "REJECT", "flows": 3, "bytes": 120,
             "packets": 3}]
    frame = traffic.timeline_frame(rows, FILTERS, 60, "Asia/Tokyo")
    chart = charts.stacked_timeline(frame, "flows", "JST", "1 minute")
    encoding = spec(chart)["encoding"]
    assert spec(chart)["mark"]["type"] == "bar"
    assert (encoding["x"]["field"], encoding["x"]["type"]) == ("time", "temporal")
    assert encoding["x"]["scale"]["type"] == "utc" and encoding["x"]["title"] == "Time (JST)"
    assert encoding["y"]["field"] == "flows" and encoding["y"]["stack"] == "zero"
    assert encoding["color"]["field"] == "action"
    assert encoding["color"]["scale"]["domain"] == ["ACCEPT", "REJECT"]
    assert pick_fields(chart) == ["bucket_start", "action"]
    assert spec(chart)["title"] == "Flows per 1 minute"
    assert "when" in tooltip_formats(chart)


def test_heatmap_is_hour_by_port_with_the_utc_hour_selectable():
    rows = [{"hour": 3, "dstport": 22, "protocol": 6, "flows": 5, "port_flows": 5,
             "port_rank": 1},
            {"hour": 4, "dstport": 3389, "protocol": 6, "flows": 2, "port_flows": 2,
             "port_rank": 2}]
    frame = traffic.heatmap_frame(rows, FILTERS, "UTC")
    chart = charts.rejection_heatmap(frame, "UTC")
    encoding = spec(chart)["encoding"]
    assert spec(chart)["mark"]["type"] == "rect"
    assert (encoding["x"]["field"], encoding["x"]["type"]) == ("hour", "ordinal")
    assert encoding["x"]["scale"]["domain"] == list(range(24))
    assert encoding["y"]["field"] == "port"
    assert encoding["y"]["sort"] == ["22 (TCP) SSH", "3389 (TCP) RDP (Remote Desktop)"]
    assert (encoding["color"]["field"], encoding["color"]["type"]) == ("flows", "quantitative")
    assert pick_fields(chart) == ["utc_hour", "dstport", "protocol"]
    assert tooltip_formats(chart)["flows"] == ",d"
