"""Query engines: the one place each query meets a database.

Both engines take a ``lib.query.Query`` and return a ``Result``; pages and the CLI call
``get_engine(settings)`` and never see SQL connections.
"""

from __future__ import annotations

import functools
import threading
import time
from dataclasses import replace

# The engines' shared types live in lib.engines.base, which the engine modules import: this
# package imports them back (to make an engine), so they must not import this package.
from lib.engines.base import (  # noqa: F401 - public names
    Engine,
    EngineError,
    Progress,
    Result,
    data_dir,
)


def get_engine(settings) -> CachedEngine:
    """The configured engine behind the result cache; connections open on first query,
    never at import."""
    return CachedEngine(_make_engine(settings), settings)


def _make_engine(settings) -> Engine:
    if settings.engine == "athena":
        from lib.engines.athena import AthenaEngine

        return AthenaEngine(settings)
    if settings.engine != "duckdb":
        raise EngineError(f"unknown engine {settings.engine!r} (duckdb or athena)")
    from lib.engines.duckdb_engine import DuckDBEngine

    columnar = None
    if getattr(settings, "columnar_cache", False):
        from lib.columnar import cache_dir_for

        columnar = str(cache_dir_for(settings, data_dir(settings)))
    return DuckDBEngine(data_dir(settings), late_margin_s=settings.late_margin_s,
                        columnar_dir=columnar, settings=settings)


_CACHES: dict = {}
_CACHES_LOCK = threading.Lock()


def result_cache(settings):
    """One result cache per configuration and process (TTL: athena_cache_ttl_s, used for
    both engines), shared by every engine object made for that configuration."""
    from lib.cache import ResultCache

    with _CACHES_LOCK:
        if settings not in _CACHES:
            _CACHES[settings] = ResultCache(
                settings.athena_cache_ttl_s,
                size_of=lambda r: r.table.nbytes + len(r.sql) + 1024)
        return _CACHES[settings]


class CachedEngine:
    """An engine whose identical queries (engine, query, account scope) within the TTL are
    answered from memory. ``refresh=True`` runs the query anyway and stores the new result.
    An ``Engine`` itself: everything else is asked of the engine behind it, by name."""

    def __init__(self, engine: Engine, settings):
        self.engine = engine
        self.settings = settings
        self.cache = result_cache(settings)

    @property
    def name(self) -> str:
        return self.engine.name

    def sql(self, query) -> str:
        return self.engine.sql(query)

    def route(self, query) -> str:
        return self.engine.route(query)

    def cache_key(self, query) -> str:
        try:
            return query_cache_key(self.settings, query)
        except TypeError:  # a query that cannot be hashed: its key is computed each time
            return query_cache_key.__wrapped__(self.settings, query)

    def run(self, query, *, refresh: bool = False, progress=None) -> Result:
        began = time.perf_counter()
        key = self.cache_key(query)
        if not refresh:
            hit = self.cache.get(key)
            if hit is not None:
                return replace(hit, cache_hit=True, elapsed_s=time.perf_counter() - began,
                               skipped=list(hit.skipped))
        result = self.engine.run(query, progress=progress, refresh=refresh)
        # A copy: callers may edit their result's lists.
        self.cache.put(key, replace(result, skipped=list(result.skipped)))
        return result


# Rendering SQL takes milliseconds, more than a cached answer may: the key of a query
# (immutable, and always rendered the same for one configuration) is remembered.
@functools.lru_cache(maxsize=4096)
def query_cache_key(settings, query) -> str:
    """The logical query's SQL (its built AST over ``flows``, the one the engine runs, with
    no source): the same for every file list, so objects that arrive later show after the
    TTL, or at once with refresh. Athena's partitions follow from the query and the
    settings, and each configuration has a cache of its own."""
    from lib.cache import cache_key
    from lib.query import logical_sql

    dialect = "athena" if settings.engine == "athena" else "duckdb"
    return cache_key(settings.engine, logical_sql(query, dialect), query.scope.key)
