"""Reading flow log text (plain or gzip) into typed records, one dict per line.

A record is keyed by the AWS field names of its header (``dstport``), values typed by
``schema.field_for`` (int, or str; None for ``-``), plus ``_file`` and ``_line`` (1-based).
A line that cannot be a record becomes ``{"_file", "_line", "_error", "_raw"}`` so that
one bad line never hides the others: content never raises, only unreadable files do.
"""

from __future__ import annotations

import contextlib
import gzip
import io
import re
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from os import PathLike
from typing import Any, BinaryIO

from lib.schema import BY_COLUMN, BY_NAME, DEFAULT_FORMAT, Field, field_for

ParsedLine = dict[str, Any]
PathArg = str | PathLike[str]

GZIP_MAGIC = b"\x1f\x8b"

# Typed values must fit the SQL column types the query engine gives them (INTEGER, BIGINT).
_MAX_VALUE = {"int": 2**31 - 1, "bigint": 2**63 - 1}

# ASCII digits only: int() would also take "1_000", " 7" and non-ASCII digits.
_DIGITS = re.compile(r"[0-9]+")

# What a header token looks like: lowercase words joined by "-" (AWS) or "_" (SQL-style).
_HEADER_NAME = re.compile(r"[a-z][a-z0-9]*(?:[-_][a-z0-9]+)*")

# Names that real headers carry but schema.FIELDS does not: the Transit Gateway format (v6)
# and VPC fields newer than v8. Used only to recognise a header line; values stay text.
_OTHER_KNOWN_NAMES = frozenset((
    "resource-type", "tgw-id", "tgw-attachment-id", "tgw-src-vpc-account-id",
    "tgw-dst-vpc-account-id", "tgw-src-vpc-id", "tgw-dst-vpc-id", "tgw-src-subnet-id",
    "tgw-dst-subnet-id", "tgw-src-eni", "tgw-dst-eni", "tgw-src-az-id", "tgw-dst-az-id",
    "tgw-pair-attachment-id", "packets-lost-no-route", "packets-lost-blackhole",
    "packets-lost-mtu-exceeded", "packets-lost-ttl-expired", "resource-id", "encryption-status",
))

_ASSUMED_DEFAULT_NOTE = ("; there was no header line, so the default v2 format was assumed:"
                         " give the format")


class FlowLogReadError(Exception):
    """A file that cannot be read at all, or whose gzip data breaks off part way."""

    def __init__(self, path: PathArg, reason: str):
        super().__init__(f"{path}: {reason}")
        self.path = str(path)
        self.reason = reason


# --- lines -> records ---------------------------------------------------------------------

def _tokens(line: str) -> list[str]:
    """Whitespace-separated values, without a trailing '#comment' (AWS's documentation
    annotates sample records that way; AWS values never start with '#')."""
    tokens = line.split()
    for i, token in enumerate(tokens):
        if token.startswith("#"):
            return tokens[:i]
    return tokens


def _is_known_name(token: str) -> bool:
    return token in BY_NAME or token in BY_COLUMN or token in _OTHER_KNOWN_NAMES


def looks_like_header(tokens: Sequence[str]) -> bool:
    """True for a field-name line: every token name-like and at least one a known field
    (record values such as 'eni-0a1b' are name-like too, but never a field name)."""
    return (bool(tokens) and all(_HEADER_NAME.fullmatch(t) for t in tokens)
            and any(_is_known_name(t) for t in tokens))


def _is_skipped(tokens: list[str]) -> bool:
    """Blank and comment lines, and the '...' that documentation puts between records."""
    return not tokens or tokens in (["..."], ["…"])


class _BadValue(ValueError):
    pass


def _typed(field: Field, token: str) -> Any:
    if token == "-":  # noqa: S105 - AWS's "no value", not a password
        return None
    if not field.is_number:
        return token
    if not _DIGITS.fullmatch(token):
        raise _BadValue(f"field '{field.name}' is not a number: '{token}'")
    value = int(token)
    if value > _MAX_VALUE[field.type]:
        raise _BadValue(f"field '{field.name}' is too large for its type ({field.type}): "
                        f"'{token}'")
    return value


def _duplicate(names: Sequence[str]) -> str | None:
    seen: set[str] = set()
    for name in names:
        if name in seen:
            return name
        seen.add(name)
    return None


class _Layout:
    """One field order and what each of its fields is."""

    def __init__(self, names: Sequence[str], assumed: bool = False):
        self.names = tuple(names)
        self.fields = tuple(field_for(n) for n in self.names)
        self.assumed = assumed  # no header and no format given: the v2 default was guessed
        twice = _duplicate(self.names)
        self.problem = f"the format lists field '{twice}' twice" if twice else None


class _LineReader:
    """Turns numbered lines into records, following header lines as they come."""

    def __init__(self, fmt: Sequence[str] | None, file: str | None):
        self.file = file
        self.given = tuple(fmt) if fmt is not None else None
        self.layout = _Layout(self.given) if self.given is not None else None

    def read(self, number: int, line: str) -> ParsedLine | None:
        if isinstance(line, LongLine):
            return self._error(number, line, "a line longer than the line cap (setting "
                                             "line_max_bytes; cut here): not a flow log record")
        tokens = _tokens(line)
        if _is_skipped(tokens):
            return None
        if looks_like_header(tokens):
            return self._header(number, line, tokens)
        if self.layout is None:
            self.layout = _Layout(DEFAULT_FORMAT, assumed=True)
        return self._record(number, line, tokens)

    def _header(self, number: int, line: str, tokens: list[str]) -> ParsedLine | None:
        if self.given is None:  # a header (first or a new one in concatenated text) rules
            self.layout = _Layout(tokens)
            return None
        if tuple(tokens) == self.given:  # the header of a file whose format was given
            return None
        return self._error(number, line, "a header line that differs from the given format")

    def _record(self, number: int, line: str, tokens: list[str]) -> ParsedLine:
        layout = self.layout
        if layout is None:
            raise RuntimeError("a record before any layout was decided")
        if layout.problem:
            return self._error(number, line, layout.problem)
        if len(tokens) != len(layout.names):
            note = _ASSUMED_DEFAULT_NOTE if layout.assumed else ""
            reason = f"expected {len(layout.names)} fields, found {len(tokens)}{note}"
            return self._error(number, line, reason)
        try:
            values = {f.name: _typed(f, t) for f, t in zip(layout.fields, tokens, strict=True)}
        except _BadValue as bad:
            return self._error(number, line, str(bad))
        return {**values, "_file": self.file, "_line": number}

    def _error(self, number: int, line: str, reason: str) -> ParsedLine:
        return {"_file": self.file, "_line": number, "_error": reason,
                "_raw": line.rstrip("\r\n")}


def parse_lines(lines: Iterable[str], fmt: Sequence[str] | None = None,
                file: str | None = None) -> Iterator[ParsedLine]:
    """Records of flow log lines; with ``fmt`` None the header line gives the field order
    (and the AWS default format is assumed if there is none)."""
    reader = _LineReader(fmt, file)
    for number, line in enumerate(lines, start=1):
        record = reader.read(number, line)
        if record is not None:
            yield record


def parse_text(text: str, fmt: Sequence[str] | None = None,
               file: str | None = None) -> list[ParsedLine]:
    """Records of pasted text (small, so a list); line numbers count lines of the text."""
    lines = io.StringIO(text.removeprefix("\ufeff"), newline=None)
    return list(parse_lines(lines, fmt, file))


# --- files --------------------------------------------------------------------------------

def _read_failure(error: BaseException, lines_read: int) -> str:
    """Plain words for why a file could not be read (further)."""
    where = f" after line {lines_read}" if lines_read else ""
    if isinstance(error, FileNotFoundError):
        return "file not found"
    if isinstance(error, IsADirectoryError):
        return "is a directory, not a file"
    if isinstance(error, PermissionError):
        return "permission denied"
    if isinstance(error, EOFError):
        return f"the gzip data ends early (truncated file){where}"
    if isinstance(error, (gzip.BadGzipFile, zlib.error)):
        return f"corrupt gzip data{where}: {error}"
    return f"cannot be read{where}: {error}"


MAX_LINE_BYTES = 64 * 1024  # a flow log line is < 2 KB; a longer one is never buffered whole


class LongLine(str):
    """The start of a line longer than the cap (the rest was read past, never kept)."""


def _capped(stream, max_line: int) -> Iterator[bytes | LongLine]:
    """Lines of at most ``max_line`` bytes; a longer one becomes its LongLine start."""
    while line := stream.readline(max_line + 1):
        if len(line) <= max_line or line.endswith(b"\n") and len(line) == max_line + 1:
            yield line
            continue
        while (rest := stream.readline(READ_STEP)) and not rest.endswith(b"\n"):
            pass  # read past the rest of the line without keeping it
        yield LongLine(line[:200].decode("utf-8", errors="replace"))


READ_STEP = 1 << 20


def read_lines(open_binary: Callable[[], BinaryIO], name: PathArg, more_errors: tuple = (),
               max_line: int = MAX_LINE_BYTES) -> Iterator[str]:
    """Lines of the buffered binary stream ``open_binary()`` opens (a file, an S3 object):
    gzip is told by its magic bytes (AWS names objects .log.gz, but copies get renamed),
    bad UTF-8 becomes U+FFFD rather than an error, a line longer than ``max_line`` bytes
    comes out as a LongLine holding its start (the parser reports it malformed). Failures
    to open or read, ``more_errors`` too, are FlowLogReadErrors.

    Lines are split as bytes, not through a text buffer, so that every complete line
    before a gzip corruption comes out before the error.
    """
    lines_read = 0
    try:
        with open_binary() as raw:
            stream = gzip.GzipFile(fileobj=raw) if raw.peek(2)[:2] == GZIP_MAGIC else raw
            for line in _capped(stream, max_line):
                if isinstance(line, LongLine):
                    yield line
                else:
                    text = line.decode("utf-8", errors="replace")
                    yield text.removeprefix("\ufeff") if lines_read == 0 else text
                lines_read += 1
    except (OSError, EOFError, zlib.error, *more_errors) as error:
        raise FlowLogReadError(name, _read_failure(error, lines_read)) from error


def open_text(path: PathArg) -> Iterator[str]:
    """Lines of a plain or gzip file (see read_lines)."""
    return read_lines(lambda: open(path, "rb"), path)


def parse_file(path: PathArg, fmt: Sequence[str] | None = None) -> Iterator[ParsedLine]:
    """Records of one file, yielded as read: the records before a gzip corruption come out
    before the FlowLogReadError."""
    yield from parse_lines(open_text(path), fmt, file=str(path))


def first_header(lines: Iterable[str]) -> tuple[str, ...] | None:
    """The header of text (its first content line), or None if it has none."""
    for line in lines:
        tokens = _tokens(line)
        if not _is_skipped(tokens):
            return tuple(tokens) if looks_like_header(tokens) else None
    return None


def read_header(path: PathArg) -> tuple[str, ...] | None:
    """The header of a file (its first content line), or None if it has none.

    Reads only up to that line. Raises FlowLogReadError if the file cannot be read.
    """
    with contextlib.closing(open_text(path)) as lines:
        return first_header(lines)


# --- formats ------------------------------------------------------------------------------

_FORMAT_TOKEN = re.compile(r"\$\{([^}]*)\}|([^\s,]+)")
_FIELD_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_-]*")


def _aws_name(name: str) -> str:
    """SQL-style names of known fields (log_status, used by Athena and other tools) become
    the AWS name (log-status); other names are kept as written."""
    known = BY_COLUMN.get(name)
    return known.name if known and name not in BY_NAME else name


def parse_format(s: str) -> tuple[str, ...]:
    """Field names of a format string: 'version account-id ...' or AWS's
    '${version} ${account-id} ...' (commas allowed). Raises ValueError on a bad format."""
    names = []
    for match in _FORMAT_TOKEN.finditer(s):
        name = (match[1] if match[1] is not None else match[2]).strip()
        if not _FIELD_NAME.fullmatch(name):
            raise ValueError(f"not a field name: '{match[0]}'")
        names.append(_aws_name(name))
    if not names:
        raise ValueError("the format names no fields")
    if twice := _duplicate(names):
        raise ValueError(f"the format lists field '{twice}' twice")
    return tuple(names)
