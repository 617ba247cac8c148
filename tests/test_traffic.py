"""lib/traffic.py without an engine: query options, frames behind the charts, drill-down."""

import pytest
from storefixture import T0

from lib import traffic
from lib.filters import parse_filters
from lib.query import Scope

WINDOW = {"start": str(T0), "end": str(T0 + 7200)}


def filters(**raw):
    return parse_filters({**WINDOW, **raw})


@pytest.mark.parametrize("seconds, bucket", [
    (900, 60), (3600, 60), (6 * 3600, 300), (86400, 300), (2 * 86400, 600),
    (7 * 86400, 3600), (30 * 86400, 10800), (90 * 86400, 43200), (300 * 86400, 86400)])
def test_bucket_follows_the_range(seconds, bucket):
    assert traffic.bucket_for(seconds) == bucket
    assert -(-seconds // bucket) <= traffic.MAX_POINTS


def test_bucket_never_exceeds_a_day():
    assert traffic.bucket_for(3 * 365 * 86400) == 86400


def test_previous_period_has_the_same_length_and_filters():
    f = filters(dst="10.0.0.0/8", action="REJECT")
    before = traffic.previous_period(f)
    assert (before.start, before.end) == (T0 - 7200, T0)
    assert before.dst == f.dst and before.action == "REJECT"


def test_rejected_only_respects_an_accept_filter():
    assert traffic.rejected_only(filters()).action == "REJECT"
    assert traffic.rejected_only(filters(action="ACCEPT")) is None


def test_queries_carry_scope_and_options():
    scope = Scope(frozenset({"012345678901"}))
    timeline = traffic.timeline_query(filters(), scope)
    assert (timeline.kind, timeline.bucket, timeline.scope) == ("timeline", 60, scope)
    ports = traffic.rejected_ports_query(filters(), scope, "packets", 5)
    assert (ports.kind, ports.measure, ports.top) == ("rejected-ports", "packets", 5)


CURRENT = {"bytes": 52_500, "packets": 106, "flows": 48, "sources": 6, "destinations": 23,
           "rejects": 43}
PREVIOUS = {"bytes": 10_040, "packets": 11, "flows": 2, "sources": 2, "destinations": 2,
            "rejects": 1}


def test_summary_metrics_compare_with_the_previous_period():
    metrics = {m.label: m for m in traffic.summary_metrics(CURRENT, PREVIOUS)}
    assert [(m.value, m.delta) for m in metrics.values()] == [
        ("48", "much higher (×24.0)"), ("52.5 kB", "+422.9 %"), ("106", "+863.6 %"),
        ("6", "+200.0 %"), ("23", "much higher (×11.5)"), ("89.58 %", "+39.58 pp")]
    assert metrics["Reject rate"].delta_color == "inverse"
    assert "Exactly 52,500" in metrics["Bytes"].help


def test_a_near_empty_previous_period_reads_as_much_higher_not_a_huge_percentage():
    """Issue 19.10: '+185781.3 %' said nothing."""
    metrics = traffic.summary_metrics({**CURRENT, "bytes": 18_579_130}, {**PREVIOUS, "bytes": 10})
    assert metrics[1].delta == "much higher (×1,857,913)"
    assert traffic.summary_metrics(CURRENT, PREVIOUS, "ja")[0].delta == "大幅に増加（×24.0）"
    assert traffic.percent_change(95, 10) == "+850.0 %"  # under ×10: still a percentage


def test_a_drop_in_traffic_is_not_coloured_as_an_error():
    metrics = traffic.summary_metrics(PREVIOUS, CURRENT)
    assert metrics[1].delta == "-80.9 %"
    assert [m.delta_color for m in metrics] == ["off"] * 5 + ["inverse"]


def test_summary_metrics_without_a_previous_period_show_no_change():
    empty = dict.fromkeys(CURRENT, 0)
    metrics = traffic.summary_metrics(CURRENT, empty)
    assert all(m.delta is None for m in metrics)
    assert traffic.summary_metrics(empty, empty)[-1].value == "–"


@pytest.mark.parametrize("value, text", [(0, "0"), (99_999, "99,999"), (100_000, "100.0 k"),
                                         (17_911_234, "17.9 M"), (3 * 10**12, "3.0 T")])
def test_human_count_fits_a_metric(value, text):
    assert traffic.human_count(value) == text


def test_large_counts_are_short_and_exact_in_the_help():
    metrics = {m.label: m for m in traffic.summary_metrics(
        {**CURRENT, "packets": 17_911_234, "flows": 1_990}, PREVIOUS)}
    assert (metrics["Packets"].value, metrics["Flows"].value) == ("17.9 M", "1,990")
    assert "Exactly 17,911,234" in metrics["Packets"].help


@pytest.mark.parametrize("value, text", [(0, "0 B"), (999, "999 B"), (1500, "1.5 kB"),
                                         (5_000_000_000, "5.0 GB"), (2 * 10**15, "2.0 PB")])
def test_human_bytes(value, text):
    assert traffic.human_bytes(value) == text


LABEL_ROWS = [
    {"address": "10.0.0.5", "interface_id": "eni-a", "instance_id": None, "vpc_id": None},
    {"address": "10.0.2.7", "interface_id": "eni-c", "instance_id": "i-0c", "vpc_id": "vpc-c"},
    {"address": "10.0.2.7", "interface_id": "eni-d", "instance_id": None, "vpc_id": "vpc-d"},
]


def test_labels_are_asked_for_the_addresses_shown():
    talkers = [{"srcaddr": "10.0.0.5", "dstaddr": "10.0.1.9"}, {"srcaddr": "10.0.0.5"}]
    assert traffic.addresses_in(talkers, [{"srcaddr": "192.0.2.1"}]) == (
        "10.0.0.5", "10.0.1.9", "192.0.2.1")
    query = traffic.labels_query(filters(), Scope(None), ("10.0.0.5",))
    assert (query.kind, query.addresses) == ("labels", ("10.0.0.5",))
    assert traffic.labels_query(filters(), Scope(None), ()) is None


def test_address_labels_name_every_owner():
    assert traffic.address_labels(LABEL_ROWS) == {
        "10.0.0.5": traffic.Holder("eni-a", "eni-a"),
        "10.0.2.7": traffic.Holder("eni-d +1", "eni-d, vpc-d; i-0c / eni-c, vpc-c")}
    assert traffic.address_labels(LABEL_ROWS[1:2])["10.0.2.7"].short == "i-0c"


def test_talkers_frame_keeps_the_engine_order_and_labels_pairs():
    labels = traffic.address_labels(LABEL_ROWS[:1])
    rows = [{"srcaddr": "10.0.0.5", "dstaddr": "10.0.1.9", "bytes": 10, "packets": 2,
             "flows": 1},
            {"srcaddr": "10.0.1.9", "dstaddr": "10.0.0.5", "bytes": 5, "packets": 1,
             "flows": 1}]
    frame = traffic.talkers_frame(rows, "pair", labels)
    assert list(frame["talker"]) == ["10.0.0.5 (eni-a) → 10.0.1.9", "10.0.1.9 → 10.0.0.5 (eni-a)"]
    assert list(frame["owner"]) == ["eni-a → –", "– → eni-a"]
    assert list(frame.columns) == ["talker", "owner", "srcaddr", "dstaddr", "bytes", "packets",
                                   "flows"]
    assert list(frame["bytes"]) == [10, 5]


def test_ports_frame_names_services():
    frame = traffic.ports_frame([{"dstport": 22, "protocol": 6, "bytes": 80, "packets": 2,
                                  "flows": 2, "sources": 2, "destinations": 2},
                                 {"dstport": 0, "protocol": 1, "bytes": 84, "packets": 1,
                                  "flows": 1, "sources": 1, "destinations": 1}])
    assert list(frame["port"]) == ["22 (TCP) SSH", "ICMP"]


def test_timeline_frame_fills_every_bucket_with_zeros():
    rows = [{"bucket_start": T0 + 60, "action": "ACCEPT", "flows": 4, "bytes": 50_000,
             "packets": 60},
            {"bucket_start": T0 + 3900, "action": "REJECT", "flows": 1, "bytes": 40,
             "packets": 1}]
    frame = traffic.timeline_frame(rows, filters(), 60, "Asia/Tokyo")
    assert len(frame) == 120 * 2
    assert frame["flows"].sum() == 5 and frame["bytes"].sum() == 50_040
    row = frame[(frame["bucket_start"] == T0 + 60) & (frame["action"] == "ACCEPT")].iloc[0]
    assert row["flows"] == 4 and row["when"].endswith("09:01:00 JST")
    # the wall clock of the viewer's zone, on a UTC scale
    assert row["time"].hour == 9 and str(row["time"].tz) == "UTC"


def test_timeline_frame_starts_at_the_bucket_holding_the_range_start():
    frame = traffic.timeline_frame([], filters(start=str(T0 + 90)), 60, "UTC")
    assert frame["bucket_start"].iloc[0] == T0 + 60


def test_hour_shift_follows_whole_hour_zones_without_a_switch():
    assert traffic.hour_shift(filters(), "Asia/Tokyo") == (9, "JST")
    assert traffic.hour_shift(filters(), "UTC") == (0, "UTC")
    assert traffic.hour_shift(filters(), "Asia/Kolkata") == (0, "UTC")  # +05:30
    # T0 is 2026-09-21: Europe/London is on BST (+1) and stays so for two hours
    assert traffic.hour_shift(filters(), "Europe/London") == (1, "BST")
    # a range over the October switch stays UTC
    switch = filters(start="2026-10-20T00:00Z", end="2026-10-30T00:00Z")
    assert traffic.hour_shift(switch, "Europe/London") == (0, "UTC")


HEATMAP_ROWS = [
    {"hour": 0, "dstport": 22, "protocol": 6, "flows": 1, "port_flows": 2, "port_rank": 1},
    {"hour": 1, "dstport": 22, "protocol": 6, "flows": 1, "port_flows": 2, "port_rank": 1},
    {"hour": 0, "dstport": 1, "protocol": 6, "flows": 1, "port_flows": 1, "port_rank": 2},
]


def test_heatmap_frame_has_every_hour_in_the_viewer_zone():
    frame = traffic.heatmap_frame(HEATMAP_ROWS, filters(), "Asia/Tokyo")
    assert len(frame) == 2 * 24
    cells = frame[frame["flows"] > 0]
    assert list(zip(cells["port"], cells["hour"], cells["utc_hour"], strict=True)) == [
        ("22 (TCP) SSH", 9, 0), ("22 (TCP) SSH", 10, 1), ("1 (TCP)", 9, 0)]
    table = traffic.heatmap_table(frame)
    assert list(table["port"]) == ["22 (TCP) SSH", "1 (TCP)"]
    assert table.loc[0, "09"] == 1 and table.loc[0, "10"] == 1 and table.loc[0, "00"] == 0


def test_scans_frame_names_the_pattern():
    frame = traffic.scans_frame([
        {"srcaddr": "192.0.2.66", "max_ports": 20, "max_hosts": 1, "scan_hours": 1,
         "flows": 20, "first_start": T0 + 600, "last_start": T0 + 619},
        {"srcaddr": "192.0.2.67", "max_ports": 1, "max_hosts": 40, "scan_hours": 2,
         "flows": 80, "first_start": T0, "last_start": T0 + 4000}], "UTC")
    assert list(frame["pattern"]) == ["many ports (vertical scan)",
                                      "many hosts (horizontal sweep)"]
    assert frame.loc[0, "first rejected"] == "2026-09-21 00:10:00 UTC"


# --- drill-down --------------------------------------------------------------------------

def selection(**point):
    return {"selection": {traffic.PICK: [point]}}


def test_a_talker_click_narrows_source_destination_or_both():
    f = filters(dst_port="443")
    assert traffic.talker_drill(f, "src", {"srcaddr": "10.0.0.5"}) == {
        **WINDOW, "src": "10.0.0.5/32", "dst_port": "443"}
    assert traffic.talker_drill(f, "pair", {"srcaddr": "10.0.0.5", "dstaddr": "2001:db8::1"}
                                ) == {**WINDOW, "src": "10.0.0.5/32", "dst": "2001:db8::1/128",
                                      "dst_port": "443"}


def test_a_port_click_narrows_to_rejected_traffic_on_that_port():
    assert traffic.port_drill(filters(), {"dstport": 22, "protocol": 6}) == {
        **WINDOW, "dst_port": "22", "protocol": "6", "action": "REJECT"}


def test_a_bucket_click_narrows_the_time_and_action():
    assert traffic.bucket_drill(filters(start=str(T0 + 90)), 60,
                                {"bucket_start": T0 + 60, "action": "REJECT"}) == {
        "start": str(T0 + 90), "end": str(T0 + 120), "action": "REJECT"}


def test_a_heatmap_click_narrows_to_the_hour_when_the_range_has_it_once():
    point = {"utc_hour": 1, "dstport": 22, "protocol": 6}
    assert traffic.heatmap_drill(filters(), point) == {
        "start": str(T0 + 3600), "end": str(T0 + 7200), "dst_port": "22", "protocol": "6",
        "action": "REJECT"}
    # a range starting at 12:00 meets 01:00 on the next day
    noon = filters(start=str(T0 + 43200), end=str(T0 + 86400 + 43200))
    assert traffic.heatmap_drill(noon, point)["start"] == str(T0 + 86400 + 3600)
    week = filters(end=str(T0 + 7 * 86400))
    assert traffic.heatmap_drill(week, point)["start"] == str(T0)  # many such hours: all


def test_pending_drill_reads_the_clicked_chart_from_session_state():
    state = {traffic.TALKER_KEYS["dst"]: selection(dstaddr="10.0.1.9"),
             traffic.TIMELINE_KEY: {"selection": {traffic.PICK: []}}}
    assert traffic.pending_drill(filters(), state) == {**WINDOW, "dst": "10.0.1.9/32"}
    assert traffic.pending_drill(filters(), {traffic.TIMELINE_KEY: selection(
        bucket_start=T0, action="ACCEPT")}) == {"start": str(T0), "end": str(T0 + 60),
                                                 "action": "ACCEPT"}
    assert traffic.pending_drill(filters(), {}) is None


def test_a_scan_row_opens_its_rejected_records():
    frame = traffic.scans_frame([{"srcaddr": "192.0.2.66", "max_ports": 20, "max_hosts": 1,
                                  "scan_hours": 1, "flows": 20, "first_start": T0,
                                  "last_start": T0}], "UTC")
    assert traffic.scan_drill(filters(), frame, 0) == {**WINDOW, "src": "192.0.2.66/32",
                                                       "action": "REJECT"}
    assert traffic.scan_drill(filters(), frame, None) is None
