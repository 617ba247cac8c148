"""The cost demo (lib.generator, cost_cases=True): every charge class, with charges the
summary knows, and nothing else of the demo moved."""

from __future__ import annotations

import filecmp
import json
import os

import pytest
from storefixture import files_under

from lib import cli, cost, generator

END = 1764115200 + 3 * 3600 + 1200  # as tests/test_generator.py
N = 3000



@pytest.fixture(scope="module")
def demos(tmp_path_factory):
    plain, with_costs = tmp_path_factory.mktemp("plain"), tmp_path_factory.mktemp("costs")
    return (generator.generate(plain, records=N, days=2, seed=7, end=END),
            generator.generate(with_costs, records=N, days=2, seed=7, end=END, cost_cases=True))


def test_the_rest_of_the_demo_does_not_move(demos):
    plain, with_costs = demos
    before, after = files_under(plain.out_dir), files_under(with_costs.out_dir)
    assert before < after
    assert all(filecmp.cmp(os.path.join(plain.out_dir, f), os.path.join(with_costs.out_dir, f),
                           shallow=False) for f in before)
    new_logs = {log["id"] for log in with_costs.flow_logs} - {log["id"] for log in plain.flow_logs}
    assert new_logs == set(with_costs.cost_cases["flow_logs"])
    assert all(any(log_id in f for log_id in new_logs) for f in after - before
               if f.endswith(".log.gz"))
    assert plain.scenarios == with_costs.scenarios and plain.cost_cases == {}
    assert with_costs.records > plain.records == N


def test_cost_cases_cover_every_class(demos):
    cases = demos[1].cost_cases
    assert set(cases["bytes"]) == set(cost.CLASSES) - {"unknown"}
    assert all(value > 0 for value in cases["bytes"].values())
    assert set(cases["savings"]) == {"gateway-endpoint", "interface-endpoint"}
    with open(os.path.join(demos[1].out_dir, "cost_cases.json")) as stored:
        assert json.load(stored) == cases


def cost_rows(capsys, summary, *options) -> list[dict]:
    cases = summary.cost_cases
    args = ["query", "--data", summary.out_dir, "--engine", "duckdb", "--start",
            str(summary.start), "--end", str(summary.end), "--format", "json", *options]
    for vpc in cases["vpcs"]:
        args += ["--vpc", vpc]
    assert cli.main(args) == cli.EXIT_OK
    return json.loads(capsys.readouterr().out)


def test_the_cost_query_gives_the_demo_cases_charges(demos, capsys, monkeypatch):
    monkeypatch.setenv("FLOWSCOPE_CONFIG", "/nonexistent")
    monkeypatch.setenv("FLOWSCOPE_AUDIT_FILE", "/dev/null")
    summary = demos[1]
    rows = cost_rows(capsys, summary, "--kind", "cost")
    assert {r["class"]: r["bytes"] for r in rows} == summary.cost_cases["bytes"]
    savings = cost_rows(capsys, summary, "--kind", "cost-savings")
    endpoints = {}
    for row in savings:
        if row["change"] != "co-locate":
            endpoints[row["change"]] = endpoints.get(row["change"], 0) + row["bytes"]
    assert endpoints == summary.cost_cases["savings"]
    assert {r["service"] for r in savings} >= {"S3", "DYNAMODB", "EC2"}
    pairs = [r for r in savings if r["change"] == "co-locate"]
    addresses = summary.cost_cases["addresses"]
    assert (pairs[0]["address_a"], pairs[0]["address_b"]) == tuple(sorted(
        (addresses["app_a"], addresses["db_b"])))  # the busiest cross-AZ pair first


def test_the_whole_demo_has_every_class(demos, capsys, monkeypatch):
    monkeypatch.setenv("FLOWSCOPE_CONFIG", "/nonexistent")
    monkeypatch.setenv("FLOWSCOPE_AUDIT_FILE", "/dev/null")
    summary = demos[1]
    assert cli.main(["query", "--kind", "cost", "--data", summary.out_dir, "--start",
                     str(summary.start), "--end", str(summary.end)]) == cli.EXIT_OK
    rows = json.loads(capsys.readouterr().out)
    assert {r["class"] for r in rows if r["bytes"] > 0} == set(cost.CLASSES)


def test_cli_demo_cost_cases(tmp_path, capsys):
    code = cli.main(["demo", "--out", str(tmp_path), "--records", "400", "--days", "1",
                     "--seed", "2", "--end", "2025-11-26T00:00:00Z", "--cost-cases"])
    summary = json.loads(capsys.readouterr().out)
    assert code == cli.EXIT_OK and summary["records"] > 400
    assert summary["cost_cases"]["bytes"]["nat-gateway"] > 0


def test_the_columnar_cache_gives_the_same_charges(demos, tmp_path):
    from lib import columnar
    from lib.engines.duckdb_engine import DuckDBEngine
    from lib.filters import parse_filters
    from lib.query import ALL_ACCOUNTS

    summary = demos[1]
    cache = tmp_path / "columnar"
    columnar.build_cache(summary.out_dir, cache, workers=1)
    raw, cached = DuckDBEngine(summary.out_dir), DuckDBEngine(summary.out_dir,
                                                              columnar_dir=str(cache))
    filters = parse_filters({"start": str(summary.start), "end": str(summary.end)})
    queries = [cost.cost_query(filters, ALL_ACCOUNTS), cost.savings_query(filters, ALL_ACCOUNTS),
               cost.cost_query(filters, ALL_ACCOUNTS, group="time", bucket=3600)]
    for query in queries:
        # whole days from the cost rollup, the partial days at the edges from the records
        assert cached.route(query).startswith("rollup:cost-")
        assert cached.run(query).rows() == raw.run(query).rows()


def test_the_single_scan_form_agrees_on_the_demo(demos):
    from lib.engines.duckdb_engine import DuckDBEngine
    from lib.filters import parse_filters
    from lib.query import ALL_ACCOUNTS

    summary = demos[1]
    engine = DuckDBEngine(summary.out_dir)
    filters = parse_filters({"start": str(summary.start), "end": str(summary.end)})
    for make in (lambda once: cost.cost_query(filters, ALL_ACCOUNTS, single_scan=once),
                 lambda once: cost.cost_query(filters, ALL_ACCOUNTS, group="pair", top=5,
                                              single_scan=once),
                 lambda once: cost.savings_query(filters, ALL_ACCOUNTS, single_scan=once)):
        assert engine.run(make(True)).rows() == engine.run(make(False)).rows()
