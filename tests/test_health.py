"""Data health (issue 22): the health and log-gaps query kinds, gap intervals, the report
(objects per hour, missing hours, delivery delay, field orders), Search's option and note
helpers, and `python -m lib.cli query --kind health`."""

import json

import pytest
from healthfixture import ENI_X, ENI_Y, ENI_Z, LOG_A, LOG_B, WINDOW, write_health_store
from storefixture import ACCOUNT_A, ACCOUNT_B, T0

from lib import health
from lib.cli import main
from lib.engines.duckdb_engine import DuckDBEngine
from lib.filters import parse_filters
from lib.query import ALL_ACCOUNTS, Query, Scope
from lib.store.backends import open_backend


@pytest.fixture
def store(tmp_path):
    return write_health_store(tmp_path)


def run(store, kind, scope=ALL_ACCOUNTS, **raw):
    return DuckDBEngine(str(store)).run(Query(kind, parse_filters({**WINDOW, **raw}),
                                              scope=scope)).rows()


def test_health_counts_records_per_account_region_and_hour(store):
    rows = run(store, "health")
    by_key = {(r["log_account"], r["log_region"], r["hour_start"]): r for r in rows}
    assert set(by_key) == {(ACCOUNT_A, "us-east-1", T0 + h * 3600) for h in (0, 1, 3)} | {
        (ACCOUNT_B, "eu-west-1", T0)}
    third = by_key[(ACCOUNT_A, "us-east-1", T0 + 3 * 3600)]
    assert (third["records"], third["skipdata"], third["nodata"], third["interfaces"]) == (3, 2, 0, 2)
    assert third["with_direction"] == 1  # the SKIPDATA records have no flow-direction
    assert by_key[(ACCOUNT_B, "eu-west-1", T0)]["nodata"] == 1
    assert by_key[(ACCOUNT_B, "eu-west-1", T0)]["with_direction"] == 0  # v2: no such field


def test_log_gaps_ignore_traffic_filters_and_keep_the_scope(store):
    rows = run(store, "log-gaps", src="10.0.0.0/8", dst_port="443", action="ACCEPT")
    assert [(r["interface_id"], r["log_status"]) for r in rows] == [
        (ENI_Z, "NODATA"), (ENI_Y, "SKIPDATA"), (ENI_Y, "SKIPDATA")]
    only_b = run(store, "log-gaps", scope=Scope(frozenset({ACCOUNT_B})))
    assert {r["log_account"] for r in only_b} == {ACCOUNT_B}
    assert run(store, "log-gaps", eni=ENI_Y) == [r for r in rows if r["interface_id"] == ENI_Y]


def test_search_leaves_gap_records_out_only_when_asked(store):
    filters = parse_filters(WINDOW)
    engine = DuckDBEngine(str(store))
    every = engine.run(Query("search", filters, scope=ALL_ACCOUNTS)).rows()
    traffic = engine.run(Query("search", filters, scope=ALL_ACCOUNTS, gap_records=False)).rows()
    assert len(every) == 7 and len(traffic) == 4
    assert {r["log_status"] for r in traffic} == {"OK"}


def test_gaps_merge_consecutive_records_and_keep_only_overlapping_ones(store):
    rows = DuckDBEngine(str(store)).run(
        health.gaps_query(parse_filters(WINDOW), ALL_ACCOUNTS)).rows()
    gaps = health.gaps_from(rows, T0, T0 + 4 * 3600)
    assert gaps[0] == health.Gap(ACCOUNT_A, "us-east-1", ENI_Y, "SKIPDATA", T0 + 3 * 3600 + 60,
                                 T0 + 3 * 3600 + 660 + 599, 2)
    assert [g.status for g in gaps] == ["SKIPDATA", "NODATA"]
    assert health.gaps_from(rows, T0 + 3 * 3600 + 1300, T0 + 4 * 3600) == []
    assert health.overlapping(gaps) == gaps[:1]  # NODATA is an answer (no traffic), not a gap
    assert health.overlapping(gaps, interfaces={ENI_X}) == []


def test_a_gap_record_started_before_the_range_still_counts(store):
    """The gap query reads one aggregation interval earlier: a SKIPDATA record that started
    before the range but ends inside it overlaps it."""
    start = T0 + 3 * 3600 + 400
    rows = DuckDBEngine(str(store)).run(health.gaps_query(
        parse_filters({"start": str(start), "end": str(start + 60)}), ALL_ACCOUNTS)).rows()
    assert [g.start for g in health.gaps_from(rows, start, start + 60)] == [T0 + 3 * 3600 + 60]


def health_report(store, lang="en", scope=ALL_ACCOUNTS):
    filters = parse_filters(WINDOW)
    engine = DuckDBEngine(str(store))
    hours = engine.run(health.hours_query(filters, scope)).rows()
    gaps = engine.run(health.gaps_query(filters, scope)).rows()
    return health.collect(hours, gaps, open_backend(str(store)), filters, scope, lang)


def test_report_marks_the_hour_a_flow_log_delivered_nothing(store):
    report = health_report(store)
    logs = {f.flow_log_id: f for f in report.flow_logs}
    assert logs[LOG_A].missing_hours == [T0 + 2 * 3600]
    assert logs[LOG_A].objects == 4 and logs[LOG_A].last_object == T0 + 3 * 3600 + 1800
    # flow log B delivered in hour 0 only; the store delivered until hour 3
    assert logs[LOG_B].missing_hours == [T0 + h * 3600 for h in (1, 2, 3)]
    hour_2 = [h for h in report.hours if h["account"] == ACCOUNT_A and h["hour_start"] == T0 + 7200]
    assert hour_2 == [{"account": ACCOUNT_A, "region": "us-east-1", "hour_start": T0 + 7200,
                       "objects": 0, "records": 0, "nodata": 0, "skipdata": 0,
                       "missing_flow_logs": [LOG_A]}]
    assert [h["hour_start"] for h in health.missing_for(report, {ACCOUNT_A})] == [T0 + 7200]


def test_report_measures_delivery_delay_and_explains_field_orders(store):
    logs = {f.flow_log_id: f for f in health_report(store).flow_logs}
    # the newest object of A was delivered at T0+3h+30min; its last record ended at +660+599
    assert logs[LOG_A].delay_s == 1800 - (660 + 599)
    assert logs[LOG_A].fields[:3] == ["version", "srcaddr", "dstaddr"]
    assert not any("flow-direction" in text for text in logs[LOG_A].lacks)
    assert "no flow-direction: the check infers sides from the records" in logs[LOG_B].lacks
    assert any("Cost page cannot classify" in text for text in logs[LOG_B].lacks)
    ja = {f.flow_log_id: f for f in health_report(store, "ja").flow_logs}
    assert "flow-direction なし: 接続チェックは記録から向きを推定する" in ja[LOG_B].lacks


def test_report_lists_only_objects_in_scope(store):
    report = health_report(store, scope=Scope(frozenset({ACCOUNT_B})))
    assert [f.flow_log_id for f in report.flow_logs] == [LOG_B]
    assert {h["account"] for h in report.hours} == {ACCOUNT_B}
    assert [g.account for g in report.gaps] == [ACCOUNT_B]


def test_search_note_names_the_interfaces_gap_in_the_viewers_zone(store):
    rows = DuckDBEngine(str(store)).run(
        health.gaps_query(parse_filters(WINDOW), ALL_ACCOUNTS)).rows()
    gaps = health.gaps_from(rows, T0, T0 + 4 * 3600)
    filters = parse_filters({**WINDOW, "eni": ENI_Y})
    note = health.gap_note(health.search_gaps(gaps, filters), "Asia/Tokyo")
    assert note.startswith("The flow logs skipped records (SKIPDATA")
    assert f"{ENI_Y} ({ACCOUNT_A} us-east-1) 2026-09-21 12:01:00" in note  # UTC+9
    assert health.search_gaps(gaps, parse_filters({**WINDOW, "eni": ENI_X})) == []
    # an account filter: every interface of the accounts read
    assert health.search_gaps(gaps, parse_filters({**WINDOW, "account": ACCOUNT_A})) == gaps[:1]
    assert health.gap_note([], "UTC") is None
    assert "省略しました" in health.gap_note(gaps[:1], "UTC", "ja")


def test_cli_query_kind_health_prints_the_report(store, capsys):
    code = main(["query", "--kind", "health", "--data", str(store), "--start", WINDOW["start"],
                 "--end", WINDOW["end"], "--format", "json"])
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    logs = {f["flow_log_id"]: f for f in out["flow_logs"]}
    assert logs[LOG_A]["missing_hours"] == [T0 + 7200]
    assert [(g["interface_id"], g["status"], g["records"]) for g in out["gaps"]] == [
        (ENI_Y, "SKIPDATA", 2), (ENI_Z, "NODATA", 1)]
    assert out["start"] == T0 and len(out["hours"]) == 8  # 2 places x 4 hours


def test_cli_query_kind_health_refuses_bad_input(store, capsys):
    code = main(["query", "--kind", "health", "--data", str(store), "--start", "soon",
                 "--end", WINDOW["end"]])
    assert code == 2 and "--start" in capsys.readouterr().err


def test_hours_chart_marks_the_missing_hours_red(store):
    spec = health.hours_chart(health_report(store)).to_dict()
    values = next(iter(spec["datasets"].values()))
    gaps = [v for v in values if v["gap"]]
    assert [(v["place"], v["time"][:13]) for v in gaps] == [
        (f"{ACCOUNT_A} us-east-1", "2026-09-21T02"), (f"{ACCOUNT_B} eu-west-1", "2026-09-21T01"),
        (f"{ACCOUNT_B} eu-west-1", "2026-09-21T02"), (f"{ACCOUNT_B} eu-west-1", "2026-09-21T03")]
    layers = spec["spec"]["layer"]
    assert layers[0]["mark"]["color"] == "#d1495b" and "datum.gap" in str(layers[0]["transform"])


def test_with_athena_and_no_bucket_the_report_says_objects_are_not_listed(store):
    from lib.config import Settings

    assert health.store_backend(Settings(engine="athena", data_dir=str(store))) is None
    filters = parse_filters(WINDOW)
    engine = DuckDBEngine(str(store))
    report = health.collect(engine.run(health.hours_query(filters, ALL_ACCOUNTS)).rows(),
                            engine.run(health.gaps_query(filters, ALL_ACCOUNTS)).rows(),
                            None, filters, ALL_ACCOUNTS)
    assert report.flow_logs == [] and len(report.gaps) == 2
    assert report.notes[0].startswith("Objects are not listed: with the Athena engine")
    assert sum(h["records"] for h in report.hours) == 7


def test_a_report_lists_at_most_so_many_day_folders_and_says_so(store, monkeypatch):
    monkeypatch.setattr(health, "MAX_LISTED_FOLDERS", 1)
    report = health_report(store)  # two folders of one day (A's and B's): A's comes first
    assert [f.flow_log_id for f in report.flow_logs] == [LOG_A]
    assert report.notes == ["Objects were listed in the newest 1 of 2 day folders (back to "
                            "2026-09-21): a shorter time range, or fewer accounts or regions, "
                            "lists them all."]
