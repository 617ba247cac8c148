"""Reading flow log objects: bounded streamed decompression, the header, and parsing the
lines into Arrow columns (text, or typed by the schema), for the raw path and the cache build.

Limits (``Limits``, from the settings) keep one bad object from taking the server down: an
object is decompressed in a stream and refused once its text passes ``max_bytes`` or its
text grows more than ``max_ratio`` times faster than the gzip bytes read (a gzip bomb); a
line over ``max_line`` bytes is counted malformed and skipped. A refused object is reported
with its reason and skipped, never retried until it changes.

DuckDB's read_csv costs about 4 ms per object in 2.0 whatever its size, and AWS writes one
small object per flow log per 5 minutes. zlib (which releases the GIL, so two threads use
both cores) and pyarrow's CSV reader cost a tenth of that. Parsed objects are kept in a
bounded in-memory cache keyed by path and size.
"""

from __future__ import annotations

import threading
import zlib
from collections import OrderedDict
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv

from lib import schema
from lib.parser import GZIP_MAGIC, FlowLogReadError, first_header
from lib.store.columns import ARROW_TYPES, with_keys
from lib.store.layout import StoredObject

CHUNK = 256 * 1024  # compressed bytes read at a time
OUT_STEP = 1 << 20  # text bytes inflated at a time, so the caps are checked as it grows
RATIO_FLOOR = 8 << 20  # the ratio cap applies once this much text came out
CACHE_BYTES = 256 * 1024 * 1024
WORKERS = 2
NO_HEADER = "no header line naming the fields"
# 1 MB blocks: with one thread per folder, pyarrow parses them 2.3x faster than 16 MB ones
# (measured on the benchmark's data: the larger blocks fall out of the CPU's caches).
CSV_BLOCK_BYTES = 1 << 20


@dataclass(frozen=True)
class Limits:
    max_bytes: int = 512 << 20  # text of one object (AWS's objects are at most 75 MB gzip)
    max_ratio: int = 100  # text bytes per gzip byte (flow logs: about 10)
    max_line: int = 64 << 10  # bytes of one line (a flow log line is < 2 KB)

    @classmethod
    def of(cls, settings) -> Limits:
        if settings is None:
            return cls()
        return cls(settings.object_max_bytes, settings.object_max_ratio, settings.line_max_bytes)


# --- one object's bytes ---------------------------------------------------------------------

def read_object(backend, obj: StoredObject, limits: Limits = Limits()) -> bytes:
    """The object's text (gzip told by its magic bytes); FlowLogReadError with the reason
    when it cannot be read or passes a limit. Memory stays within the limits' bounds."""
    try:
        with backend.open(obj.path) as stream:
            head = stream.peek(2)[:2]
            if not head:
                raise FlowLogReadError(obj.path, "empty object (0 bytes)")
            if head != GZIP_MAGIC:
                data = stream.read(limits.max_bytes + 1)
                _check_size(obj.path, len(data), limits)
                return data
            return _inflate(stream, obj.path, limits)
    except FileNotFoundError:
        raise
    except (OSError, *backend.errors) as error:
        raise FlowLogReadError(obj.path, f"cannot be read: {error}") from None


def _check_size(path: str, size: int, limits: Limits) -> None:
    if size > limits.max_bytes:
        raise FlowLogReadError(path, f"refused: its text is larger than {limits.max_bytes:,} "
                                     "bytes (setting object_max_bytes)")


def _inflate(stream, path: str, limits: Limits) -> bytes:
    """gzip members one after another (concatenated copies), inflated step by step."""
    out: list[bytes] = []
    made = taken = 0
    inflater, pending, ended = zlib.decompressobj(31), b"", False
    while True:
        if not pending:
            pending = stream.read(CHUNK)
            taken += len(pending)
            if not pending:
                break
        try:
            piece = inflater.decompress(pending, OUT_STEP)
        except zlib.error as error:
            raise FlowLogReadError(path, f"corrupt or truncated gzip data ({error})") from None
        made += len(piece)
        out.append(piece)
        ended = inflater.eof
        if ended:  # the next member, if any (zero padding after the last is allowed)
            pending = inflater.unused_data.lstrip(b"\x00")
            if pending and not pending.startswith(GZIP_MAGIC):
                raise FlowLogReadError(path, "corrupt gzip data (not gzip after a member)")
            inflater = zlib.decompressobj(31)
        else:
            pending = inflater.unconsumed_tail
        _check_limits(path, made, taken - len(pending), limits)
    if not ended:
        out.append(inflater.flush())  # at most a window of text held back by zlib
        if not inflater.eof:
            raise FlowLogReadError(path, "corrupt or truncated gzip data (the data ends early)")
    return b"".join(out)


def _check_limits(path: str, made: int, used: int, limits: Limits) -> None:
    _check_size(path, made, limits)
    if made > RATIO_FLOOR and made > limits.max_ratio * max(used, 1):
        raise FlowLogReadError(path, f"refused: it decompresses to more than {limits.max_ratio}"
                                     " times its size, like a gzip bomb (setting object_max_ratio)")


# --- header and body ------------------------------------------------------------------------

def _lines(data: bytes) -> Iterator[str]:
    start = 0
    while start < len(data):
        end = data.find(b"\n", start)
        end = len(data) if end < 0 else end + 1
        yield data[start:end].decode("utf-8", errors="replace")
        start = end


def header_of(data: bytes) -> tuple[str, ...] | None:
    """The field names of an object's text: its first content line, if that is a header."""
    return first_header(_lines(data.removeprefix(b"\xef\xbb\xbf")))


class Headers:
    """Field names per flow log (fixed when a flow log is created): one header per
    (account, flow log), from its first readable object; objects not named by AWS each."""

    def __init__(self):
        self._known: dict[tuple, tuple[str, ...] | None] = {}
        self._lock = threading.Lock()

    def of(self, obj: StoredObject, data: bytes) -> tuple[str, ...] | None:
        key = (obj.path, None) if obj.flow_log_id is None else (obj.account, obj.flow_log_id)
        with self._lock:
            if key not in self._known:
                self._known[key] = header_of(data)
            return self._known[key]


def body_of(data: bytes) -> bytes:
    """The lines after the header, ending with a newline (bodies are concatenated)."""
    body = data.split(b"\n", 1)[1] if b"\n" in data else b""
    return body if not body or body.endswith(b"\n") else body + b"\n"


def parse_body(body: bytes, header: tuple[str, ...], typed: bool = False,
               limits: Limits = Limits()) -> tuple[pa.Table, int]:
    """The columns named by the header: numbers typed by the schema (``typed``) or every
    column as text; malformed lines (a wrong number of fields, or longer than the line cap)
    are skipped and counted. A value that is not a number where one belongs raises
    pa.ArrowInvalid when ``typed``: the caller then reads the text."""
    try:
        table, malformed = _parse(body, header, typed)
    except pa.ArrowInvalid:  # a line longer than the reader's blocks
        short, long_lines = _without_long_lines(body, limits.max_line)
        if not long_lines:
            raise
        table, malformed = _parse(short, header, typed)
        malformed += long_lines
    if len(body) <= limits.max_line:  # no line can be longer (most objects): no check
        return table, malformed
    return _without_long_rows(table, malformed, limits.max_line)


def _without_long_rows(table: pa.Table, malformed: int, max_line: int) -> tuple[pa.Table, int]:
    """Rows whose line was longer than the cap, left out and counted malformed. The check
    is vectorised and exits early: only text values can make a line long."""
    texts = [c for c in table.columns if pa.types.is_string(c.type)]
    longest = max((pc.max(pc.binary_length(c)).as_py() or 0 for c in texts), default=0)
    if longest * table.num_columns + table.num_columns <= max_line:
        return table, malformed
    lengths = [pc.fill_null(pc.binary_length(c if c in texts else pc.cast(c, pa.string())), 1)
               for c in table.columns]
    total = lengths[0]
    for length in lengths[1:]:
        total = pc.add(total, pc.add(length, 1))
    keep = pc.less_equal(total, max_line)
    kept = table.filter(keep)
    return kept, malformed + table.num_rows - kept.num_rows


def _parse(body: bytes, header: tuple[str, ...], typed: bool) -> tuple[pa.Table, int]:
    malformed = 0

    def skip(_row) -> str:
        nonlocal malformed
        malformed += 1
        return "skip"

    types = {n: ARROW_TYPES[schema.field_for(n).type] if typed else pa.string() for n in header}
    table = pcsv.read_csv(
        pa.py_buffer(body),
        read_options=pcsv.ReadOptions(column_names=list(header), use_threads=False,
                                      block_size=CSV_BLOCK_BYTES),
        parse_options=pcsv.ParseOptions(delimiter=" ", quote_char=False, invalid_row_handler=skip),
        convert_options=pcsv.ConvertOptions(column_types=types, null_values=["-"],
                                            strings_can_be_null=True))
    return table, malformed


def _without_long_lines(body: bytes, max_line: int) -> tuple[bytes, int]:
    """The body without its lines longer than the cap (rare: only after a parse failed)."""
    lines = body.split(b"\n")
    kept = [line for line in lines if len(line) <= max_line]
    return b"\n".join(kept), len(lines) - len(kept)


# --- many objects, for the raw path ---------------------------------------------------------

@dataclass
class ReadReport:
    malformed_lines: int = 0
    unreadable: list[str] = field(default_factory=list)  # "path: reason"


Loaded = tuple[tuple[str, ...], pa.Table, int]  # header, text columns, malformed lines


class ObjectCache:
    """Parsed objects, least recently used first out, bounded by their memory."""

    def __init__(self, max_bytes: int = CACHE_BYTES):
        self.max_bytes = max_bytes
        self._items: OrderedDict[tuple, Loaded] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, key) -> Loaded | None:
        with self._lock:
            item = self._items.get(key)
            if item is not None:
                self._items.move_to_end(key)
            return item

    def put(self, key, item: Loaded) -> None:
        with self._lock:
            if key in self._items:
                return
            self._items[key] = item
            self._bytes += item[1].nbytes
            while self._bytes > self.max_bytes and self._items:
                _, old = self._items.popitem(last=False)
                self._bytes -= old[1].nbytes


def load_object(backend, obj: StoredObject, headers: Headers, limits: Limits) -> Loaded:
    data = read_object(backend, obj, limits)
    header = headers.of(obj, data)
    if header is None:
        raise FlowLogReadError(obj.path, NO_HEADER)
    table, malformed = parse_body(body_of(data), header, False, limits)
    return header, table, malformed


def read_objects(backend, objects: list[StoredObject], headers: Headers, cache: ObjectCache,
                 report: ReadReport, limits: Limits = Limits()
                 ) -> dict[tuple[str, str, tuple[str, ...]], pa.Table]:
    """Records of the objects as text columns (plus address keys, computed per group:
    per object they would cost more than the parsing), one table per (account, region,
    header); unreadable objects are named in the report."""

    def load(obj: StoredObject):
        key = (obj.path, obj.size)
        hit = cache.get(key)
        if hit is not None:
            return hit
        try:
            item = load_object(backend, obj, headers, limits)
        except FlowLogReadError as error:
            return error
        except FileNotFoundError:
            return FlowLogReadError(obj.path, "the object is no longer there")
        except (pa.ArrowInvalid, OSError) as error:
            return FlowLogReadError(obj.path, str(error))
        cache.put(key, item)
        return item

    with ThreadPoolExecutor(WORKERS) as pool:
        loaded = list(pool.map(load, objects))
    parts: dict[tuple, list[pa.Table]] = {}
    for obj, item in zip(objects, loaded, strict=True):
        if isinstance(item, FlowLogReadError):
            report.unreadable.append(f"{item.path}: {item.reason}")
            continue
        header, table, malformed = item
        report.malformed_lines += malformed
        parts.setdefault((obj.account, obj.region, header), []).append(table)
    return {group: with_keys(pa.concat_tables(tables)) for group, tables in sorted(parts.items())}
