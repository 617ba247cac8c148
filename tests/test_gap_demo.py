"""The demo's gaps in the logging (issue 22, lib.generator gap_cases=True): a SKIPDATA
interval and an hour without objects, added without moving anything else."""

import filecmp
import os

import pytest
from storefixture import files_under

from lib import generator, health
from lib.engines.duckdb_engine import DuckDBEngine
from lib.filters import parse_filters
from lib.query import ALL_ACCOUNTS
from lib.store.backends import open_backend

END = 1_796_000_000 - 1_796_000_000 % 3600
N = 3000



@pytest.fixture(scope="module")
def demos(tmp_path_factory):
    plain, with_gaps = tmp_path_factory.mktemp("plain"), tmp_path_factory.mktemp("gaps")
    return (generator.generate(plain, records=N, days=1, seed=3, end=END),
            generator.generate(with_gaps, records=N, days=1, seed=3, end=END, gap_cases=True))


def test_the_rest_of_the_demo_does_not_move(demos):
    plain, with_gaps = demos
    before, after = files_under(plain.out_dir), files_under(with_gaps.out_dir)
    assert before - {"scenarios.json"} < after
    assert all(filecmp.cmp(os.path.join(plain.out_dir, f), os.path.join(with_gaps.out_dir, f),
                           shallow=False) for f in before - {"scenarios.json"})
    new_logs = {log["id"] for log in with_gaps.flow_logs} - {log["id"] for log in plain.flow_logs}
    assert len(new_logs) == 1
    assert all(any(log_id in f for log_id in new_logs) for f in after - before)
    assert with_gaps.scenarios[:len(plain.scenarios)] == plain.scenarios
    assert [c["verdict"] for c in with_gaps.scenarios[len(plain.scenarios):]] == [
        "incomplete-logs"] * 3
    assert with_gaps.records > plain.records == N


def health_of(summary, start, end):
    filters = parse_filters({"start": str(start), "end": str(end)})
    engine = DuckDBEngine(summary.out_dir)
    return health.collect(engine.run(health.hours_query(filters, ALL_ACCOUNTS)).rows(),
                          engine.run(health.gaps_query(filters, ALL_ACCOUNTS)).rows(),
                          open_backend(summary.out_dir), filters, ALL_ACCOUNTS)


def test_the_demo_has_a_skipdata_interval_and_an_hour_without_objects(demos):
    plain, with_gaps = demos
    cases = {c["name"]: c for c in with_gaps.scenarios}
    report = health_of(with_gaps, with_gaps.start, with_gaps.end)
    (log_id,) = {log["id"] for log in with_gaps.flow_logs} - {log["id"] for log in plain.flow_logs}
    gap_log = next(f for f in report.flow_logs if f.flow_log_id == log_id)
    missing = cases["incomplete-logs-missing-hour"]["start"] // 3600 * 3600
    assert gap_log.missing_hours == [missing]
    assert (gap_log.account, gap_log.region) == (with_gaps.accounts[2], "ap-northeast-1")
    assert not [f for f in report.flow_logs
                if (f.account, f.region) == (gap_log.account, gap_log.region) and f is not gap_log]
    for name, side in (("incomplete-logs-skipdata-destination", "dst_interface"),
                       ("incomplete-logs-skipdata-source", "src_interface")):
        case = cases[name]
        (gap,) = [g for g in report.gaps if g.interface_id == case[side]]
        assert gap.status == "SKIPDATA" and gap.start < case["start"] and gap.end > case["end"]
    # without gap_cases: no SKIPDATA interval covers a case window, no such flow log
    assert not [g for g in health_of(plain, plain.start, plain.end).gaps if g.records > 1]


def test_gap_cases_need_room_and_say_so(tmp_path):
    with pytest.raises(ValueError, match="gap cases need at least 8 hours"):
        generator.generate(tmp_path, records=N, days=0.25, seed=3, end=END, gap_cases=True)
    assert not (tmp_path / "AWSLogs").exists()  # checked before anything is written
