"""The cost rollup (lib/rollups.py): the Cost page's queries read classified days instead of
classifying every record, and answer exactly what the records answer."""

from __future__ import annotations

import pytest
from costfixture import EXPECTED_A, build_cost_store

from lib import columnar, cost, rollups
from lib.engines.duckdb_engine import DuckDBEngine
from lib.filters import parse_filters
from lib.generator import generate
from lib.query import ALL_ACCOUNTS, Scope

DAY = 86400
END = 1764115200  # 2025-11-26T00:00Z, a midnight
GROUPS = tuple(cost.COST_GROUPS)


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    """Three days of demo data with the cost cases, its cache built (with the rollup), and
    an engine on the cache's records only (rollups off) and one with them."""
    store = tmp_path_factory.mktemp("store")
    generate(store, records=6000, days=3, seed=5, end=END, cost_cases=True)
    cache = tmp_path_factory.mktemp("cache")
    columnar.build_cache(str(store), cache)
    return (store, cache, DuckDBEngine(str(store), columnar_dir=str(cache), rollups=False),
            DuckDBEngine(str(store), columnar_dir=str(cache)))


def queries(start: int, end: int, scope=ALL_ACCOUNTS, **filters):
    f = parse_filters({"start": str(start), "end": str(end), **filters})
    out = [cost.cost_query(f, scope, group=g, top=5, bucket=3600) for g in GROUPS]
    return out + [cost.savings_query(f, scope, top=5)]


def answers(engine, query) -> list[dict]:
    return engine.run(query).rows()


def edge_files(cache) -> list:
    return list((cache / rollups.EDGES_DIR).glob("*.parquet"))


def same_answers(records, rolled, query) -> list[dict]:
    expected = answers(records, query)
    assert answers(rolled, query) == expected, (query.kind, query.cost_group)
    return expected


def test_whole_days_are_read_from_the_rollup_and_answer_as_the_records(generated):
    _, _, records, rolled = generated
    for query in queries(END - 2 * DAY, END):
        assert rolled.route(query).startswith("rollup:cost-"), query.cost_group
        assert "costroll" in rolled.sql(query)
        assert records.route(query) == "columnar"
        same_answers(records, rolled, query)
    period = answers(rolled, queries(END - 2 * DAY, END)[0])
    assert {row["class"] for row in period} >= {"nat-gateway", "cross-az", "internet-egress"}


@pytest.mark.parametrize("start, end", [
    (END - 2 * DAY - 5 * 3600, END - 7 * 60),  # cuts a day at both ends
    (END - 3 * DAY + 60, END - DAY + 1800),  # cuts the first and the last day
])
def test_a_range_that_cuts_days_combines_the_rollup_and_the_records_exactly(generated,
                                                                            start, end):
    _, _, records, rolled = generated
    before = edge_files(generated[1])
    for query in queries(start, end):
        plan = rolled._cost_plan(query, rolled._view(query))
        assert plan is not None and plan.files and plan.raw_ranges
        assert all(hi - lo <= DAY and lo // DAY == (hi - 1) // DAY for lo, hi in plan.raw_ranges)
        # the partial days classified once, for every query of the range
        assert rollups.EDGES_DIR in rolled.sql(query)
        same_answers(records, rolled, query)
    assert len(edge_files(generated[1])) == len(before) + 1  # one for all the queries


def test_within_one_day_filtered_or_narrower_scope_stays_on_the_records(generated):
    _, _, records, rolled = generated
    one_day = queries(END - DAY + 3600, END - 3600)
    filtered = queries(END - 2 * DAY, END, dst_port="443")
    store = generated[0]
    account = sorted(p.name for p in (store / "AWSLogs").iterdir())[0]
    scoped = queries(END - 2 * DAY, END, scope=Scope((account,)))
    for query in one_day + filtered + scoped:
        assert rolled.route(query) == "columnar"
        same_answers(records, rolled, query)


def test_a_day_whose_folders_changed_is_classified_from_the_records(generated, tmp_path):
    store, cache, records, rolled = generated
    query = queries(END - 2 * DAY, END)[0]
    manifest = rolled.columnar.manifest()
    day = END - DAY
    key = rollups.cost_key(rollups.cost_inputs(manifest, day, 3600))
    for family in rollups.COST_FAMILIES:
        path = cache / rollups.cost_file(day, key, family)
        path.rename(tmp_path / path.name)
    try:
        plan = rolled._cost_plan(query, rolled._view(query))
        assert plan.raw_ranges == ((day, END),) and len(plan.files) == 1
        same_answers(records, rolled, query)
    finally:
        for family in rollups.COST_FAMILIES:
            (tmp_path / rollups.cost_file(day, key, family).split("/")[-1]).rename(
                cache / rollups.cost_file(day, key, family))


def test_the_cost_cases_give_their_bytes_from_the_rollup(tmp_path):
    store = build_cost_store(tmp_path / "store")
    cache = tmp_path / "cache"
    columnar.build_cache(str(store), cache)
    from costfixture import T0

    rolled = DuckDBEngine(str(store), columnar_dir=str(cache))
    records = DuckDBEngine(str(store), columnar_dir=str(cache), rollups=False)
    for query in queries(T0, T0 + DAY):
        assert rolled.route(query).startswith("rollup:cost-")
        expected = same_answers(records, rolled, query)
        if query.kind == "cost" and query.cost_group == "account":
            by_class = {r["class"]: r["bytes"] for r in expected if r["log_account"] != "123456789012"}
            assert by_class == EXPECTED_A


def test_the_classification_reads_one_day_at_a_time(tmp_path):
    """What the rollup relies on: a day's classes are the same whatever range holds it.
    app4's AZ is known from its records of day 1 only; app1 receives from app4 on day 2
    (app4 does not log that sending): on day 2 alone app4 is no known interface, so its
    bytes are free, over both days too (before, day 1 made them cross-AZ)."""
    from costfixture import APP1, APP3, APP4, T0, v5
    from storefixture import V5_FORMAT, write_object

    def on(day: int, row: dict) -> dict:
        start = T0 + day * DAY + 3600
        return {**row, "start": start, "end": start + 60}

    store = tmp_path / "store"
    write_object(store, [on(0, v5(APP4, APP4, APP3, 40009, 9000, 5, "egress", 1))], fmt=V5_FORMAT)
    write_object(store, [on(1, v5(APP1, APP4, APP1, 40008, 9000, 77_000, "ingress"))], fmt=V5_FORMAT)
    engine = DuckDBEngine(str(store))

    def classes(start: int, end: int) -> dict[str, int]:
        f = parse_filters({"start": str(start), "end": str(end)})
        return {r["class"]: r["bytes"] for r in answers(engine, cost.cost_query(f, ALL_ACCOUNTS))}

    both = classes(T0, T0 + 2 * DAY)
    assert both == {"free": 77_005}
    assert classes(T0, T0 + DAY) == {"free": 5} and classes(T0 + DAY, T0 + 2 * DAY) == {
        "free": 77_000}


def test_objects_not_converted_yet_are_read_with_their_days_records(tmp_path):
    """A live store: objects arrive between builds. The days they may hold records of are
    classified from the records and those objects; the other days still from the rollup."""
    from costfixture import APP1, APP2, v5
    from storefixture import ACCOUNT_A, V5_FORMAT, write_object

    store, cache = tmp_path / "store", tmp_path / "cache"
    generate(store, records=3000, days=2, seed=9, end=END, cost_cases=True)
    columnar.build_cache(str(store), cache)
    before = sum(r["bytes"] for r in answers(DuckDBEngine(str(store), columnar_dir=str(cache)),
                                             queries(END - 2 * DAY, END)[0]))
    start = END - DAY + 7200
    late = [{**v5(APP1, APP1, APP2, 41000, 5432, 123_456, "egress", 1), "start": start,
             "end": start + 60}]
    write_object(store, late, account=ACCOUNT_A, fmt=V5_FORMAT)
    records = DuckDBEngine(str(store), columnar_dir=str(cache), rollups=False)
    rolled = DuckDBEngine(str(store), columnar_dir=str(cache))
    for query in queries(END - 2 * DAY, END):
        view = rolled._view(query)
        assert view.remainder  # the new object, not converted
        plan = rolled._cost_plan(query, view)
        assert plan is not None and len(plan.files) == 1 and plan.raw_ranges == ((END - DAY, END),)
        assert same_answers(records, rolled, query)
    total = sum(r["bytes"] for r in answers(rolled, queries(END - 2 * DAY, END)[0]))
    assert total == before + 123_456  # the new object's record is counted


def test_prices_per_region_give_the_same_dollars_from_the_rollup(generated):
    _, _, records, rolled = generated
    prices = cost.parse_prices({"us-east-1": {"cross-az": 0.03, "free": 0.001},
                                "eu-west-1": {"internet-egress": 0.085, "unknown": 0.002}})
    f = parse_filters({"start": str(END - 2 * DAY - 3600), "end": str(END)})
    for query in [cost.cost_query(f, ALL_ACCOUNTS, group=g, top=5, prices=prices, bucket=3600)
                  for g in ("class", "pair", "time", "service")] + [
                      cost.savings_query(f, ALL_ACCOUNTS, top=5, prices=prices)]:
        assert rolled.route(query).startswith("rollup:cost-")
        rows = same_answers(records, rolled, query)
        assert rows
