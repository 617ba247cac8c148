"""Each query is built once per run (issue 20): the result cache key, the rollup routing and
the SQL over its source all work on the one AST lib.query.logical built, and no SQL text is
spliced (the source is placed in the AST)."""

from __future__ import annotations

import shutil
from dataclasses import replace

import pytest
import sqlglot
from sqlglot import exp
from storefixture import T0

from lib import columnar
from lib.config import Settings, load_settings
from lib.engines import get_engine
from lib.filters import parse_filters
from lib.generator import generate
from lib.query import ALL_ACCOUNTS, KIND_BUILDERS, Query

END = T0 + 3 * 3600


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    store = tmp_path_factory.mktemp("store")
    summary = generate(store, records=1500, days=0.25, seed=5, end=END)
    return store, summary


@pytest.fixture
def setup(generated, tmp_path):
    source, summary = generated
    root = tmp_path / "store"
    shutil.copytree(source, root)
    settings = load_settings({"FLOWSCOPE_DATA_DIR": str(root),
                              "FLOWSCOPE_CACHE_DIR": str(tmp_path / "home"),
                              "FLOWSCOPE_CONFIG": "/nonexistent"})
    return root, settings, summary


@pytest.fixture
def builds(monkeypatch):
    """Calls of the top-talkers kind's builder (the step that makes a query's AST)."""
    calls = []
    original = KIND_BUILDERS["top-talkers"]

    def counted(query, select):
        calls.append(query)
        return original(query, select)

    monkeypatch.setitem(KIND_BUILDERS, "top-talkers", counted)
    return calls


def fresh_query(summary, top: int) -> Query:
    """A query no other test builds (its `top`), so its first build here is a cold one."""
    return Query("top-talkers", parse_filters({"start": str(summary.start), "end": str(END)}),
                 scope=ALL_ACCOUNTS, top=top)


def test_a_cold_raw_run_builds_the_query_once(setup, builds):
    _, settings, summary = setup
    engine = get_engine(settings)  # the result cache's key is computed too
    query = fresh_query(summary, top=17)
    result = engine.run(query)
    assert result.rows()
    assert len(builds) == 1


def test_a_cold_rollup_routed_run_builds_the_query_once(setup, builds):
    root, settings, summary = setup
    columnar.build_cache(str(root), columnar.cache_dir_for(settings, str(root)))
    engine = get_engine(settings)
    query = fresh_query(summary, top=19)
    assert engine.route(query) == "rollup:pairs"
    routed = engine.run(query)
    assert engine.run(query, refresh=True).table.equals(routed.table)
    assert len(builds) == 1
    # The same answer as the records give, read raw.
    raw = get_engine(replace(settings, columnar_cache=False))
    assert raw.run(query).table.equals(routed.table)


def test_the_source_is_placed_in_the_ast_not_spliced(setup):
    root, settings, summary = setup
    columnar.build_cache(str(root), columnar.cache_dir_for(settings, str(root)))
    engine = get_engine(settings)
    query = fresh_query(summary, top=23)
    sql = engine.run(query).sql
    tree = sqlglot.parse_one(sql, read="duckdb")
    ctes = [cte.alias for cte in tree.find_all(exp.CTE)]
    assert ctes == ["flows"]
    files = [t for t in tree.find_all(exp.ReadParquet)]
    assert files, "the rollup files are read in the statement's own AST"
    assert "__" not in sql  # no placeholder left behind


@pytest.mark.parametrize("cached", [False, True])
def test_the_source_provides_only_the_address_keys_the_query_reads(setup, cached):
    root, settings, summary = setup
    if cached:
        columnar.build_cache(str(root), columnar.cache_dir_for(settings, str(root)))
    engine = get_engine(settings)
    window = {"start": str(summary.start), "end": str(END)}
    plain = Query("search", parse_filters(window), scope=ALL_ACCOUNTS)
    by_dst = Query("search", parse_filters({**window, "dst": "10.0.0.0/8"}), scope=ALL_ACCOUNTS)
    assert engine.route(plain) == ("columnar" if cached else "raw")
    read = {name: {c.name for c in sqlglot.parse_one(engine.sql(q), read="duckdb")
                   .find_all(exp.Column)} for name, q in (("plain", plain), ("dst", by_dst))}
    assert not read["plain"] & {"src_key", "dst_key"}
    assert "dst_key" in read["dst"] and "src_key" not in read["dst"]
    rows = engine.run(by_dst).rows()
    assert rows and all(r["dstaddr"].startswith("10.") for r in rows)


def test_athena_keys_and_states_a_query_from_one_build(builds):
    settings = Settings(engine="athena", athena_database="flowscope", athena_table="flows",
                        athena_output_location="s3://results/")
    engine = get_engine(settings)
    query = Query("top-talkers", parse_filters({"start": str(T0), "end": str(END)}),
                  scope=ALL_ACCOUNTS, top=29)
    engine.cache_key(query)  # what CachedEngine.run computes first
    sql = engine.sql(query)  # the statement Athena runs (no network)
    assert '"flowscope"."flows"' in sql and "log_day" in sql  # its table and partitions
    assert len(builds) == 1
