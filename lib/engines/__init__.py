"""Query engines: the one place each query meets a database.

Both engines take a ``lib.query.Query`` and return a ``Result``; pages and the CLI call
``get_engine(settings)`` and never see SQL connections.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd
import pyarrow as pa

from lib import schema


class EngineError(RuntimeError):
    """A query that ran and failed; the message is written for the person who asked."""


@dataclass
class Result:
    table: pa.Table
    sql: str
    engine: str
    elapsed_s: float
    cache_hit: bool = False
    scanned_bytes: int | None = None
    skipped: list[str] = field(default_factory=list)  # what was left out, in plain words
    objects: int | None = None  # stored objects read (embedded engine)

    def df(self) -> pd.DataFrame:
        """Nullable integer columns stay integers (pandas would turn them into floats)."""
        mapping = {pa.int64(): pd.Int64Dtype(), pa.int32(): pd.Int64Dtype(),
                   pa.int16(): pd.Int64Dtype(), pa.int8(): pd.Int64Dtype()}
        return self.table.to_pandas(types_mapper=mapping.get)

    def rows(self) -> list[dict]:
        return self.table.to_pylist()

    def records(self) -> list[dict]:
        """Rows keyed by AWS field names (``account-id``); other columns keep their names."""
        names = {f.column: f.name for f in schema.FIELDS}
        return [{names.get(k, k): v for k, v in row.items()} for row in self.rows()]


def get_engine(settings):
    """The configured engine; connections open on first query, never at import."""
    if settings.engine == "athena":
        from lib.engines.athena import AthenaEngine

        return AthenaEngine(settings)
    if settings.engine != "duckdb":
        raise EngineError(f"unknown engine {settings.engine!r} (duckdb or athena)")
    from lib.engines.duckdb_engine import DuckDBEngine

    return DuckDBEngine(data_dir(settings), late_margin_s=settings.late_margin_s)


def data_dir(settings) -> str:
    """The embedded engine's directory: the configured one, else the demo data folder."""
    return settings.data_dir or str(settings.demo_dir)
