"""Converting one folder's objects into cache files: a segment of typed records (Parquet)
and its rollups, written in bounded chunks.

The per-record work runs in C++: zlib inflates (lib/store/reading.py), pyarrow's CSV reader
parses one call per chunk and field order, Arrow kernels type, key, sort and aggregate, and
the Parquet writer appends each chunk as row groups. Python only loops per object and per
chunk. A chunk holds at most ``chunk_bytes`` of text, so memory stays bounded whatever the
size of a folder (AWS writes up to 75 MB of gzip per flow log per 5 minutes); the rows of
a chunk are sorted by (action, start), so every row group keeps tight statistics.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from lib.parser import FlowLogReadError
from lib.store.columns import KEY_COLUMNS, complete, typed_records, typed_table, with_keys
from lib.store.layout import Folder, StoredObject
from lib.store.reading import NO_HEADER, Headers, Limits, body_of, parse_body, read_object

ROW_GROUP_ROWS = 16_384
COMPRESSION = "zstd"
# Text per chunk: large enough that per-call costs vanish, small enough to stay in the CPU's
# caches and to bound memory (a chunk's Arrow tables take about 3 times its text).
CHUNK_BYTES = 16 << 20

Header = tuple[str, ...]
Namer = Callable[[str, str], str]  # (kind, suffix) -> a new file name in the folder


def sort_records(table: pa.Table) -> pa.Table:
    """By (action, start): accepted, rejected, then records without an action."""
    action = pc.fill_null(pc.index_in(table.column("action"),
                                      value_set=pa.array(["ACCEPT", "REJECT"])), 2)
    key = pc.add(pc.multiply(pc.cast(action, pa.int64()), 1 << 34), table.column("start"))
    return table.take(pc.sort_indices(key))


# --- reading objects into chunks ---------------------------------------------------------------

@dataclass
class Chunk:
    """Objects read, their bodies grouped by field order (one parse per order)."""

    bodies: dict[Header, list[bytes]] = field(default_factory=dict)
    objects: dict[Header, list[StoredObject]] = field(default_factory=dict)
    size: int = 0  # text bytes

    def add(self, header: Header, obj: StoredObject, body: bytes) -> None:
        self.bodies.setdefault(header, []).append(body)
        self.objects.setdefault(header, []).append(obj)
        self.size += len(body)


@dataclass
class Outcome:
    """What became of the objects: converted (name -> size) or bad (name -> [size, why])."""

    converted: dict[str, int] = field(default_factory=dict)
    bad: dict[str, list] = field(default_factory=dict)
    malformed: int = 0


def chunks(backend, objects: list[StoredObject], headers: Headers, limits: Limits,
           outcome: Outcome, chunk_bytes: int | None = None) -> Iterator[Chunk]:
    """The objects' bodies in chunks of about ``chunk_bytes`` (default CHUNK_BYTES) of text;
    unreadable objects are noted in ``outcome`` and left out."""
    chunk_bytes = chunk_bytes or CHUNK_BYTES
    chunk = Chunk()
    for obj in objects:
        try:
            data = read_object(backend, obj, limits)
        except FileNotFoundError:
            continue  # deleted while we worked: the next build sees the folder changed
        except FlowLogReadError as error:
            outcome.bad[obj.name] = [obj.size, error.reason]
            continue
        header = headers.of(obj, data)
        if header is None:
            outcome.bad[obj.name] = [obj.size, NO_HEADER]
            continue
        chunk.add(header, obj, body_of(data))
        del data
        if chunk.size >= chunk_bytes:
            yield chunk
            chunk = Chunk()
    if chunk.objects:
        yield chunk


# --- typing a chunk ------------------------------------------------------------------------

def _parse_all(bodies: dict[Header, list[bytes]], typed: bool, limits: Limits
               ) -> tuple[list[tuple[Header, pa.Table]], int]:
    texts, malformed = [], 0
    for header, parts in bodies.items():
        text, bad_lines = parse_body(parts[0] if len(parts) == 1 else b"".join(parts), header,
                                     typed, limits)
        texts.append((header, text))
        malformed += bad_lines
    return texts, malformed


def _typed(folder: Folder, bodies: dict[Header, list[bytes]], limits: Limits
           ) -> tuple[pa.Table, int]:
    """The bodies' records typed as the raw path types them."""
    try:
        texts, malformed = _parse_all(bodies, True, limits)
        return typed_table(folder.account, folder.region, texts), malformed
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        # A stray value: DuckDB's TRY_CAST nulls it, exactly as queries on raw text do.
        texts, malformed = _parse_all(bodies, False, limits)
        return typed_records(folder.account, folder.region, texts), malformed


def typed_chunk(folder: Folder, chunk: Chunk, limits: Limits, outcome: Outcome) -> pa.Table:
    """The chunk's records typed, keyed and sorted, every record column present; objects
    noted converted (or bad, when even alone they cannot be parsed)."""
    try:
        table, malformed = _typed(folder, chunk.bodies, limits)
        for objects in chunk.objects.values():
            outcome.converted.update((o.name, o.size) for o in objects)
    except (pa.ArrowException, ValueError):
        table, malformed = _one_by_one(folder, chunk, limits, outcome)
    outcome.malformed += malformed
    return complete(sort_records(with_keys(table)))


def _one_by_one(folder: Folder, chunk: Chunk, limits: Limits, outcome: Outcome
                ) -> tuple[pa.Table, int]:
    """A chunk whose text could not be read together: each object alone, the ones that
    fail marked bad (skipped until they change, never retried forever)."""
    tables, malformed = [], 0
    for header, parts in chunk.bodies.items():
        for obj, body in zip(chunk.objects[header], parts, strict=True):
            try:
                table, lines = _typed(folder, {header: [body]}, limits)
            except (pa.ArrowException, ValueError) as error:
                outcome.bad[obj.name] = [obj.size, f"cannot be parsed: {error}"[:300]]
                continue
            outcome.converted[obj.name] = obj.size
            tables.append(table)
            malformed += lines
    if not tables:
        return typed_table(folder.account, folder.region, []), malformed
    return pa.concat_tables([complete(t).drop(list(KEY_COLUMNS)) for t in tables]), malformed


# --- writing a segment -----------------------------------------------------------------------

def _dictionary_columns(schema: pa.Schema) -> list[str]:
    """Text columns: dictionary pages pay off (few distinct values per row group). Integers
    are mostly counters, ports and times with as many values as rows: trying a dictionary
    first costs 15% of the writer's time and makes larger files."""
    return [f.name for f in schema if not pa.types.is_integer(f.type)]


class _Stream:
    """One Parquet file written row group by row group under a temporary name."""

    def __init__(self, cache_dir: Path, rel: str):
        self.rel, self.path = rel, cache_dir / rel
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.temporary = self.path.with_name(f".{self.path.name}.tmp")
        self.writer: pq.ParquetWriter | None = None
        self.rows = 0

    def write(self, table: pa.Table) -> None:
        if self.writer is None:
            self.writer = pq.ParquetWriter(self.temporary, table.schema, compression=COMPRESSION,
                                           write_statistics=True,
                                           use_dictionary=_dictionary_columns(table.schema))
        elif table.schema != self.writer.schema:
            table = table.cast(self.writer.schema)
        self.writer.write_table(table, row_group_size=ROW_GROUP_ROWS)
        self.rows += table.num_rows

    def finish(self) -> None:
        self.writer.close()
        os.replace(self.temporary, self.path)

    def abort(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.temporary.unlink(missing_ok=True)


def _row_groups(path: Path) -> Iterator[pa.Table]:
    with pq.ParquetFile(path) as source:
        for index in range(source.num_row_groups):
            yield source.read_row_group(index)


class SegmentWriter:
    """A new segment of one folder: its records file and one file per rollup table, filled
    chunk by chunk, and named in the manifest only once ``finish`` renamed them whole."""

    def __init__(self, cache_dir: Path, name: Namer):
        self.cache_dir, self.name = cache_dir, name
        self.records: _Stream | None = None
        self.rollups: dict[str, _Stream] = {}
        self.min_start: int | None = None
        self.max_start: int | None = None

    def add(self, table: pa.Table) -> None:
        """Typed, keyed, sorted records, and their rollups."""
        from lib import rollups

        if not table.num_rows:
            return
        self.add_records(table)
        for name, rolled in rollups.compute(table).items():
            self.add_rollup(name, rolled)

    def add_records(self, table: pa.Table) -> None:
        if self.records is None:
            self.records = _Stream(self.cache_dir, self.name("records", ".parquet"))
        self.records.write(table)
        low, high = (v.as_py() for v in pc.min_max(table.column("start")).values())
        if low is not None:
            self.min_start = low if self.min_start is None else min(low, self.min_start)
            self.max_start = high if self.max_start is None else max(high, self.max_start)

    def add_rollup(self, name: str, table: pa.Table) -> None:
        if name not in self.rollups:
            self.rollups[name] = _Stream(self.cache_dir, self.name(f"rollups/{name}", ".parquet"))
        self.rollups[name].write(table)

    def copy(self, segments: list[dict], rollup_parts: dict[str, list[dict]]) -> None:
        """Existing segments and rollups, row group by row group: a merge in bounded memory
        (each row group stays sorted, so its statistics stay tight)."""
        for segment in segments:
            for group in _row_groups(self.cache_dir / segment["file"]):
                self.add_records(group)
        for name, parts in rollup_parts.items():
            for part in parts:
                for group in _row_groups(self.cache_dir / part["file"]):
                    self.add_rollup(name, group)

    def finish(self, malformed: int) -> tuple[dict | None, dict[str, dict]]:
        """The segment's manifest entry (None: no records) and its rollup parts."""
        streams = [s for s in (self.records, *self.rollups.values()) if s is not None]
        for stream in streams:
            stream.finish()
        if self.records is None:
            return None, {}
        segment = {"file": self.records.rel, "rows": self.records.rows,
                   "min_start": self.min_start, "max_start": self.max_start,
                   "malformed": malformed}
        return segment, {name: {"file": s.rel, "rows": s.rows} for name, s in self.rollups.items()}

    def abort(self) -> None:
        for stream in (self.records, *self.rollups.values()):
            if stream is not None:
                stream.abort()
