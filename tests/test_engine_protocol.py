"""Every engine implements lib.engines.Engine explicitly (issue 20): the result cache in front
of an engine offers the protocol's methods and nothing else by delegation."""

from __future__ import annotations

import pytest
from storefixture import T0, record, write_object

from lib.config import Settings
from lib.engines import CachedEngine, Engine, get_engine
from lib.engines.athena import AthenaEngine
from lib.engines.duckdb_engine import DuckDBEngine
from lib.filters import parse_filters
from lib.query import ALL_ACCOUNTS, Query


@pytest.fixture
def store(tmp_path):
    write_object(tmp_path, [record("10.0.0.1", "10.0.0.2", 40000, 443, start=T0 + 60)])
    return tmp_path


def test_each_engine_is_an_engine(store):
    athena = Settings(engine="athena", athena_database="db", athena_table="flows",
                      athena_output_location="s3://results/")
    for engine in (DuckDBEngine(str(store)), AthenaEngine(athena),
                   get_engine(Settings(data_dir=str(store), columnar_cache=False))):
        assert isinstance(engine, Engine), type(engine)


def test_the_cached_engine_delegates_only_the_protocol(store):
    settings = Settings(data_dir=str(store), columnar_cache=False)
    engine = get_engine(settings)
    assert "__getattr__" not in vars(CachedEngine)
    with pytest.raises(AttributeError):
        engine.backend  # noqa: B018 - the DuckDB engine's own attribute is not passed through
    query = Query("search", parse_filters({"start": str(T0), "end": str(T0 + 3600)}),
                  scope=ALL_ACCOUNTS)
    assert engine.name == "duckdb"
    assert engine.route(query) == "raw"
    assert engine.sql(query) == engine.engine.sql(query)
    assert [r["srcaddr"] for r in engine.run(query).rows()] == ["10.0.0.1"]
    assert engine.run(query).cache_hit
