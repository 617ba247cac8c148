"""What every engine shares: its interface (``Engine``), its error, its result and its
progress report.

A module of its own so that the engine modules (duckdb_engine, athena) and the package that
makes them (lib.engines) both import it, and neither imports the other.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol, runtime_checkable

import pyarrow as pa

from lib import schema

if TYPE_CHECKING:
    from lib.querycore import Query


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
    cost_usd: float | None = None  # Athena: what the scan cost at athena_price_per_tb
    query_id: str | None = None  # Athena: the execution ID (find it in the console)
    reused_result: bool = False  # Athena answered from its own result reuse

    def rows(self) -> list[dict]:
        return self.table.to_pylist()

    def records(self) -> list[dict]:
        """Rows keyed by AWS field names (``account-id``); other columns keep their names."""
        names = {f.column: f.name for f in schema.FIELDS}
        return [{names.get(k, k): v for k, v in row.items()} for row in self.rows()]


@runtime_checkable
class Engine(Protocol):
    """What the pages, the CLI and the result cache ask of an engine (DuckDBEngine,
    AthenaEngine, and CachedEngine in front of either)."""

    name: str  # "duckdb" | "athena"

    def run(self, query: Query, *, progress: Callable[[Progress], None] | None = None,
            refresh: bool = False) -> Result:
        """The query's answer. ``progress`` hears of each poll (engines that can report it:
        Athena); ``refresh`` skips any stored answer."""
        ...

    def sql(self, query: Query) -> str:
        """The statement the query runs as (no network, nothing read for Athena)."""
        ...

    def route(self, query: Query) -> str:
        """Where the query is answered, in a word (raw | columnar | rollup:<family>)."""
        ...


@dataclass(frozen=True)
class Progress:
    """A running query's state, for a progress line (engines that report it: Athena)."""

    state: str  # QUEUED | RUNNING | SUCCEEDED | FAILED | CANCELLED
    elapsed_s: float
    scanned_bytes: int | None = None
    cost_usd: float | None = None
    query_id: str | None = None

    def describe(self) -> str:
        """One line for a page or a terminal: 'Athena: running · 3.1 s · 120.0 MB scanned'."""
        parts = [f"Athena: {self.state.lower()}", f"{self.elapsed_s:.1f} s"]
        if self.scanned_bytes:
            parts.append(f"{self.scanned_bytes / 1e6:,.1f} MB scanned")
            if self.cost_usd is not None:
                parts.append(f"${self.cost_usd:,.4f}")
        return " · ".join(parts)


def data_dir(settings) -> str:
    """The embedded engine's store: the configured directory or s3://bucket/prefix, else
    the demo data folder. (Here, not in lib.engines, so that lib.objects can read it without
    importing the engines: lib.engines -> athena -> athena_rollups -> athena_ddl -> objects.)"""
    return settings.data_dir or str(settings.demo_dir)
