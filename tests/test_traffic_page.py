"""The Traffic page through AppTest on the hand-made store of test_traffic_queries: the
metrics and the tables behind every chart hold the numbers counted by hand there."""

import pytest
from apptest import app, errors, sidebar_text
from storefixture import T0
from test_traffic_queries import ENI_A, ENI_B, INSTANCE_C, VPC_C, WINDOW, write_traffic_store

from lib import gui, traffic

PAGE = "pages/traffic.py"
# The page's tables, in page order: the scans (clickable), then the numbers behind each
# chart, all in one box at the end of the page (issue 19.12).
TABLES = ("scans", "sources", "destinations", "pairs", "timeline", "rejected sources",
          "rejected ports", "heatmap", "scan numbers")


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    return write_traffic_store(tmp_path_factory.mktemp("traffic_page"))


def traffic_page(monkeypatch, store, clicked=None, **state):
    """The Traffic page, opened from the start page (AppTest can switch to a page of an
    st.navigation app only after a first run); `clicked` is chart selection state."""
    at = app(monkeypatch, store, **WINDOW, **state).run()
    at.switch_page(PAGE)
    for key, value in (clicked or {}).items():
        at.session_state[key] = value
    return at.run()


def tables(at) -> dict:
    assert len(at.dataframe) == len(TABLES)
    return {name: frame.value for name, frame in zip(TABLES, at.dataframe, strict=True)}


@pytest.fixture(scope="module")
def page(store):
    with pytest.MonkeyPatch.context() as monkeypatch:
        at = traffic_page(monkeypatch, store)
    assert not at.exception and not errors(at)
    return at


def test_summary_metrics_with_changes_against_the_previous_period(page):
    shown = [(m.label, m.value, m.delta) for m in page.metric]
    assert shown == [("Flows", "48", "much higher (×24.0)"), ("Bytes", "52.5 kB", "+422.9 %"),
                     ("Packets", "106", "+863.6 %"), ("Sources", "6", "+200.0 %"),
                     ("Destinations", "23", "much higher (×11.5)"),
                     ("Reject rate", "89.58 %", "+39.58 pp")]


def test_top_talkers_are_labelled_with_their_interfaces(page):
    found = tables(page)
    sources = found["sources"]
    assert list(sources["talker"]) == [
        f"10.0.1.9 ({ENI_B})", f"10.0.0.5 ({ENI_A})", "192.0.2.66", f"10.0.2.7 ({INSTANCE_C})",
        "198.51.100.7", "203.0.113.9"]
    assert sources.loc[3, "owner"] == f"{INSTANCE_C} / eni-0a1b2c3d4e5f60003, {VPC_C}"
    assert list(sources["bytes"]) == [41_200, 10_000, 880, 300, 80, 40]
    assert list(sources["flows"]) == [22, 2, 20, 1, 2, 1]
    assert list(found["destinations"]["dstaddr"])[:2] == ["10.0.0.5", "10.0.1.9"]
    assert list(found["destinations"]["bytes"])[:2] == [40_960, 10_040]
    pairs = found["pairs"]
    assert (pairs.loc[0, "srcaddr"], pairs.loc[0, "dstaddr"], pairs.loc[0, "bytes"]) == (
        "10.0.1.9", "10.0.0.5", 40_000)


def test_timeline_has_every_minute_stacked_by_action(page):
    timeline = tables(page)["timeline"]
    assert len(timeline) == 120 * 2  # two hours in 1-minute buckets, both actions
    by_action = timeline.groupby("action")[["flows", "bytes"]].sum()
    assert by_action.loc["ACCEPT"].tolist() == [5, 50_300]
    assert by_action.loc["REJECT"].tolist() == [43, 2_200]
    minute = timeline[timeline["bucket_start"] == T0 + 600]
    assert minute.set_index("action")["flows"].to_dict() == {"ACCEPT": 0, "REJECT": 20}


def test_rejected_sources_ports_heatmap_and_scans(page):
    found = tables(page)
    rejected = found["rejected sources"]
    assert list(zip(rejected["srcaddr"], rejected["bytes"], strict=True)) == [
        ("10.0.1.9", 1_200), ("192.0.2.66", 880), ("198.51.100.7", 80), ("203.0.113.9", 40)]
    ports = found["rejected ports"]
    assert list(ports["port"])[:3] == ["22 (TCP) SSH", "40001 (TCP)", "40002 (TCP)"]
    assert list(ports["bytes"])[:3] == [80, 60, 60]
    heatmap = found["heatmap"]
    ssh = heatmap[heatmap["port"] == "22 (TCP) SSH"].iloc[0]
    assert (ssh["00"], ssh["01"], ssh["02"]) == (1, 1, 0)
    assert len(heatmap) == 10  # the top 10 rejected ports
    scans = found["scans"]
    assert list(scans["source"]) == ["192.0.2.66"]
    assert (scans.loc[0, "ports"], scans.loc[0, "rejected"]) == (20, 20)
    assert list(scans.columns) == ["source", "ports", "hosts", "rejected", "first", "last"]
    assert scans.loc[0, "first"] == "09-21 00:10"  # short, to fit (issue 19.5)
    numbers = found["scan numbers"]
    assert (numbers.loc[0, "most ports"], numbers.loc[0, "rejected flows"]) == (20, 20)
    assert numbers.loc[0, "first rejected"] == "2026-09-21 00:10:00 UTC"


def test_each_query_shows_its_engine_and_time(page):
    """In the one box at the end (issue 19.12): each query's rows, time, engine and SQL."""
    [box] = [e for e in page.expander if e.label == "Numbers and SQL behind every chart"]
    said = [m.value for m in box.markdown if "duckdb" in m.value]
    assert len(said) == 11 and all(" s · duckdb" in c for c in said)  # previous period too
    summary = next(c for c in said if c.startswith("**Summary** · "))
    assert "· 1 row · " in summary and "1 rows" not in summary  # the summary is one row
    assert len(box.code) == 11 and all("SELECT" in c.value.upper() for c in box.code)
    assert not [e for e in page.expander if e.label in ("SQL", "Numbers")]
    assert [c.value for c in page.caption if "duckdb" in c.value] == []  # no caption per chart
    assert page.caption[0].value == "Changes are against the previous period of the same length."


def test_measure_and_zone_change_the_numbers(monkeypatch, store):
    at = traffic_page(monkeypatch, store, traffic_measure="flows", traffic_top=5,
                      tz="Asia/Tokyo")
    found = tables(at)
    assert list(found["sources"]["srcaddr"]) == ["10.0.1.9", "192.0.2.66", "10.0.0.5",
                                                 "198.51.100.7", "10.0.2.7"]
    assert list(found["rejected ports"]["port"])[:2] == ["22 (TCP) SSH", "1 (TCP)"]
    ssh = found["heatmap"][found["heatmap"]["port"] == "22 (TCP) SSH"].iloc[0]
    assert (ssh["09"], ssh["10"]) == (1, 1)  # UTC hours 0 and 1 in Tokyo
    assert found["timeline"]["when"].iloc[0] == "2026-09-21 09:00:00 JST"


def test_an_accept_filter_leaves_out_the_rejected_section(monkeypatch, store):
    at = traffic_page(monkeypatch, store, action="ACCEPT")
    assert [m.value for m in at.metric][0] == "5"
    assert any("accepted traffic only" in i.value for i in at.info)
    assert len(at.dataframe) == 4  # talkers and timeline only


def drill(monkeypatch, store, clicked):
    """Click on the Traffic page, then the Search page it opens.

    The click run ends on Search with the narrowed filters pending. AppTest re-runs only
    the page script after its first run (not app.py, whose sidebar applies pending
    filters), so the Search page the browser would show is a fresh AppTest's first run
    with that pending state."""
    at = traffic_page(monkeypatch, store, clicked=clicked)
    assert not at.exception, at.exception
    assert at.title[0].value == "Search"
    pending = at.session_state[gui.PENDING_FILTERS]
    search = app(monkeypatch, store, **{gui.PENDING_FILTERS: pending}).run()
    assert not search.exception and not errors(search)
    assert search.title[0].value == "Search"
    return pending, search


def sources(search) -> list[str]:
    return list(search.dataframe[0].value["Source"])


def test_clicking_a_bar_opens_search_on_that_source(monkeypatch, store):
    pending, search = drill(monkeypatch, store, {
        traffic.TALKER_KEYS["src"]: {"selection": {traffic.PICK: [{"srcaddr": "192.0.2.66"}]}}})
    assert pending == {**WINDOW, "src": "192.0.2.66/32"}
    assert sidebar_text(search, "Source IP or CIDR").value == "192.0.2.66/32"
    assert sidebar_text(search, "From").value == "2026-09-21T00:00Z"
    assert sources(search) == ["192.0.2.66"] * 20


def test_clicking_a_heatmap_cell_opens_search_on_that_port_and_hour(monkeypatch, store):
    cell = {"utc_hour": 1, "dstport": 22, "protocol": 6}
    pending, search = drill(monkeypatch, store, {
        traffic.HEATMAP_KEY: {"selection": {traffic.PICK: [cell]}}})
    assert pending == {"start": str(T0 + 3600), "end": str(T0 + 7200), "dst_port": "22",
                       "protocol": "6", "action": "REJECT"}
    assert sources(search) == ["203.0.113.9"]


def test_clicking_a_time_bucket_opens_search_on_that_minute(monkeypatch, store):
    bucket = {"bucket_start": T0 + 600, "action": "REJECT"}
    pending, search = drill(monkeypatch, store, {
        traffic.TIMELINE_KEY: {"selection": {traffic.PICK: [bucket]}}})
    assert pending == {"start": str(T0 + 600), "end": str(T0 + 660), "action": "REJECT"}
    assert sources(search) == ["192.0.2.66"] * 20


def test_selecting_a_scan_opens_its_rejected_records(monkeypatch, store):
    pending, search = drill(monkeypatch, store, {
        traffic.SCANS_KEY: {"selection": {"rows": [0], "columns": []}}})
    assert pending == {**WINDOW, "src": "192.0.2.66/32", "action": "REJECT"}
    assert sources(search) == ["192.0.2.66"] * 20
