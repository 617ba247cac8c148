"""Raw records as the Records page shows them: each parsed record beside its raw line.

A ``Row`` is one record of ``lib.parser`` (typed fields, or ``_error`` for a malformed line)
with the text it came from and the field order in force for it, so that a malformed line
can be laid out field by field to show where it goes wrong. The same rows come from stored
objects (``lib.objects``) and from pasted text. Also here: filtering a loaded page (free
text and field=value), the tables the page shows, and the link from a record to Search.
"""

from __future__ import annotations

import io
import re
import shlex
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from lib import glossary, i18n, timeutil
from lib.filters import InvalidFilters, parse_filters
from lib.iputil import IPNetwork, parse_address, parse_network
from lib.parser import ParsedLine, looks_like_header, parse_format, parse_lines
from lib.schema import BY_COLUMN, BY_NAME, DEFAULT_FORMAT, VERSION_FORMATS, field_for

# Search opens this much before and after a record's capture window: the other records of
# the same flow (earlier or later windows, the reply direction's interface) are near it.
SEARCH_MARGIN_S = 900
MAX_PASTED_LINES = 1000

HEADER_CHOICE = "Header line in the text (v2 when there is none)"
CUSTOM_CHOICE = "Custom field list"
FORMAT_CHOICES = (HEADER_CHOICE, *VERSION_FORMATS, CUSTOM_CHOICE)

_NOT_APPLICABLE = {"en": "- (not applicable)", "ja": "- (該当なし)"}


class FilterError(ValueError):
    """A page filter that cannot be applied; the message says what to write instead."""


@dataclass(frozen=True)
class Row:
    record: ParsedLine  # as lib.parser gives it: fields by AWS name, _file, _line[, _error]
    raw: str  # the stored text of the line (for Parquet: its values joined by spaces)
    fields: tuple[str, ...]  # the field order this line was read with
    assumed: bool = False  # no header and no format given: the v2 default was assumed

    @property
    def line(self) -> int:
        return self.record["_line"]

    @property
    def error(self) -> str | None:
        return self.record.get("_error")

    @property
    def values(self) -> dict[str, Any]:
        return {k: v for k, v in self.record.items() if not k.startswith("_")}


def _tokens(line: str) -> list[str]:
    """Values of a line as the parser splits them (a '#' token starts a comment)."""
    tokens = line.split()
    cut = next((i for i, t in enumerate(tokens) if t.startswith("#")), len(tokens))
    return tokens[:cut]


class _Tap:
    """Hands lines to the parser while remembering the current line and the header in
    force, which the parser's records do not carry."""

    def __init__(self, lines: Iterable[str], fmt: Sequence[str] | None):
        self._lines = lines
        self.given = fmt is not None
        self.fields: tuple[str, ...] | None = tuple(fmt) if fmt is not None else None
        self.current = ""

    def __iter__(self) -> Iterator[str]:
        for line in self._lines:
            self.current = line
            if not self.given:
                tokens = _tokens(line)
                if looks_like_header(tokens):
                    self.fields = tuple(tokens)
            yield line


def rows_of(lines: Iterable[str], fmt: Sequence[str] | None = None,
            file: str | None = None) -> Iterator[Row]:
    """Rows of flow log lines, read by lib.parser (header rules, malformed lines kept)."""
    tap = _Tap(lines, fmt)
    for record in parse_lines(tap, fmt, file):
        yield Row(record, tap.current.rstrip("\r\n"), tap.fields or DEFAULT_FORMAT,
                  assumed=tap.fields is None)


# --- pasted lines -------------------------------------------------------------------------

def chosen_format(choice: str, custom: str = "") -> tuple[str, ...] | None:
    """The field list for a format choice; None means "the header line, else v2".
    Raises ValueError (from parse_format) for a bad custom list."""
    if choice == CUSTOM_CHOICE:
        return parse_format(custom)
    return VERSION_FORMATS.get(choice)


def decode_pasted(text: str, fmt: Sequence[str] | None = None,
                  limit: int = MAX_PASTED_LINES) -> tuple[list[Row], bool]:
    """Rows of pasted text (at most ``limit``) and whether more were left out."""
    lines = io.StringIO(text.removeprefix("\ufeff"), newline=None)  # as parser.parse_text
    rows = []
    for row in rows_of(lines, fmt):
        if len(rows) == limit:
            return rows, True
        rows.append(row)
    return rows, False


# --- filtering a page ---------------------------------------------------------------------

_FIELD_TERM = re.compile(r"(?P<name>[A-Za-z][A-Za-z0-9_-]*)(?P<op>!=|=)(?P<value>.*)", re.S)


def _aws_name(name: str) -> str:
    name = name.lower()
    return BY_COLUMN[name].name if name in BY_COLUMN and name not in BY_NAME else name


PORT_FIELDS = frozenset({"srcport", "dstport"})
ADDRESS_FIELDS = frozenset({"srcaddr", "dstaddr", "pkt-srcaddr", "pkt-dstaddr"})
CHOICES = {"action": ("ACCEPT", "REJECT"), "log-status": ("OK", "NODATA", "SKIPDATA")}
_SERVICE_NAMES = frozenset(name.lower() for name in glossary.PORT_SERVICES.values())


def _network(text: str) -> IPNetwork | None:
    try:
        return parse_network(text)
    except ValueError:
        return None


def _is_int(text: str, low: int | None = None, high: int | None = None) -> bool:
    if not re.fullmatch(r"-?[0-9]+", text):
        return False
    return (low is None or int(text) >= low) and (high is None or int(text) <= high)


def wanted_problem(name: str, wanted: str) -> str | None:
    """Why ``name=wanted`` can never match a record (a typo, not an empty result), or None.
    Case does not matter; '-' or nothing means "no value"."""
    text = wanted.strip()
    if text in ("", "-"):
        return None
    if name in PORT_FIELDS and not (_is_int(text, 0, 65535) or text.lower() in _SERVICE_NAMES):
        return (f"{name} takes a port number from 0 to 65535 or a service name such as https; "
                f"'{text}' is neither")
    if name == "protocol" and glossary.protocol_number(text) is None:
        return (f"protocol takes a number from 0 to 255 or a name such as tcp, udp or icmp; "
                f"'{text}' is neither")
    if name in CHOICES and text.upper() not in CHOICES[name]:
        return f"{name} is one of {', '.join(CHOICES[name])} (any case); '{text}' is not"
    if name in ADDRESS_FIELDS and _network(text) is None:
        return (f"{name} takes an IP address or a CIDR (10.0.0.5, 10.0.0.0/24); "
                f"'{text}' is neither")
    field = BY_NAME.get(name)
    if (field is not None and field.is_number and name not in PORT_FIELDS | {"protocol"}
            and not _is_int(text)):
        return f"{name} takes a whole number; '{text}' is not one"
    return None


def _in_network(value: Any, wanted: str) -> bool:
    network = _network(wanted)
    try:
        return network is not None and parse_address(str(value)) in network
    except ValueError:
        return False


def _value_matches(name: str, value: Any, wanted: str) -> bool:
    """dstport=443 and dstport=https, protocol=6 and protocol=tcp, action=reject,
    srcaddr=10.0.0.0/24; '-' or nothing after '=' matches a field without a value."""
    wanted = wanted.strip().lower()
    if value is None:
        return wanted in ("", "-")
    if str(value).lower() == wanted:
        return True
    if name in ADDRESS_FIELDS and "/" in wanted:
        return _in_network(value, wanted)
    if name == "protocol" and glossary.protocol_number(wanted) == value:
        return True
    meaning = glossary.decode_value(name, value)
    return meaning is not None and meaning.lower() == wanted


def _field_test(name: str, op: str, wanted: str):
    def test(row: Row) -> bool:
        if row.error is not None or name not in row.record:
            return op == "!="
        return _value_matches(name, row.record[name], wanted) == (op == "=")
    return test


def _text_test(word: str):
    word = word.lower()
    return lambda row: word in row.raw.lower() or word in summary(row).lower()


def filter_rows(rows: Sequence[Row], text: str) -> list[Row]:
    """Rows matching every term: words (found in the raw line or its summary, quotes keep
    spaces) and field=value / field!=value (AWS or SQL field names)."""
    try:
        terms = shlex.split(text)
    except ValueError as error:
        raise FilterError(f"the filter cannot be read ({error}): close the quote") from None
    present = {name for row in rows for name in row.fields}
    tests = []
    for term in terms:
        match = _FIELD_TERM.fullmatch(term)
        if match is None:
            tests.append(_text_test(term))
            continue
        name = _aws_name(match["name"])
        if name not in present and name not in BY_NAME:
            raise FilterError(f"no field '{match['name']}' in these records; fields: "
                              + ", ".join(sorted(present)))
        problem = wanted_problem(name, match["value"])
        if problem:
            raise FilterError(problem)
        tests.append(_field_test(name, match["op"], match["value"]))
    return [row for row in rows if all(test(row) for test in tests)]


# --- what the page shows ------------------------------------------------------------------

def summary(row: Row, lang: str = "en") -> str:
    """One line a person reads first: 'TCP 10.0.0.5:40001 → 10.0.1.9:443 (HTTPS) · ACCEPT'."""
    if row.error is not None:
        return f"malformed line: {row.error}"
    rec = row.record
    status = rec.get("log-status")
    if status in ("NODATA", "SKIPDATA"):
        return glossary.log_status_label(status, lang)
    proto = rec.get("protocol")
    ports = proto in glossary.PORT_PROTOCOLS

    def end(addr, port):
        text = str(addr if addr is not None else "?")
        return f"{text}:{port}" if ports and port is not None else text

    parts = [glossary.protocol_name(proto) if proto is not None else "",
             f"{end(rec.get('srcaddr'), rec.get('srcport'))} → "
             f"{end(rec.get('dstaddr'), rec.get('dstport'))}"]
    service = glossary.port_service(rec.get("dstport"), proto)
    if service:
        parts.append(f"({service})")
    text = " ".join(p for p in parts if p)
    return f"{text} · {rec['action']}" if rec.get("action") else text


def raw_table(rows: Sequence[Row]) -> pd.DataFrame:
    return pd.DataFrame({"line": [r.line for r in rows], "raw": [r.raw for r in rows]})


def _column(values: list[Any]) -> pd.Series | list:
    """Integer columns stay integers with gaps (pandas would make 443 a float 443.0)."""
    present = [v for v in values if v is not None]
    if present and all(isinstance(v, int) and not isinstance(v, bool) for v in present):
        return pd.array(values, dtype="Int64")
    return [None if v is None else str(v) for v in values]


def parsed_table(rows: Sequence[Row], lang: str = "en") -> pd.DataFrame:
    """One row per record: its line, a summary, then every field with its typed value."""
    names: dict[str, None] = {}
    for row in rows:
        names.update(dict.fromkeys(row.values))
    data: dict[str, Any] = {"line": [r.line for r in rows],
                            "summary": [summary(r, lang) for r in rows]}
    for name in names:
        data[name] = _column([r.record.get(name) for r in rows])
    if any(r.error is not None for r in rows):
        data["problem"] = [r.error or "" for r in rows]
    return pd.DataFrame(data)


def explain_table(row: Row, lang: str = "en") -> pd.DataFrame:
    """Every field of a record: value, decoded meaning, plain-words explanation."""
    frame = pd.DataFrame(glossary.explain_record(row.values, lang),
                         columns=["field", "value", "meaning", "explanation"])
    not_applicable = i18n.pick(_NOT_APPLICABLE, lang)
    frame["value"] = frame["value"].map(lambda v: not_applicable if v is None else str(v))
    return frame


def _token_problem(name: str, token: str) -> str | None:
    if token == "-" or not field_for(name).is_number:  # noqa: S105 - a field's text, no secret
        return None
    return None if token.isascii() and token.isdigit() else "not a number"


def misalignment(row: Row) -> pd.DataFrame:
    """A malformed line laid out field by field: which value went where and what is wrong,
    so that a missing or extra value shows as the point where the values stop fitting."""
    tokens, names = _tokens(row.raw), row.fields
    named = re.search(r"field '([^']+)'", row.error or "")
    blamed = named[1] if named else None
    out = []
    for i in range(max(len(tokens), len(names))):
        name = names[i] if i < len(names) else ""
        token = tokens[i] if i < len(tokens) else ""
        if i >= len(tokens):
            problem = "missing: the line ends before this field"
        elif i >= len(names):
            problem = "extra value: the format has no field here"
        elif name == blamed:
            problem = row.error
        else:
            problem = _token_problem(name, token) or ""
        out.append({"position": i + 1, "field": name, "value found": token, "problem": problem})
    return pd.DataFrame(out, columns=["position", "field", "value found", "problem"])


def search_params(row: Row, margin_s: int = SEARCH_MARGIN_S) -> dict[str, str] | None:
    """Raw Search filters for the record's 5-tuple around its time (filters.KEYS names);
    None when the record has no flow (malformed, NODATA/SKIPDATA, missing addresses)."""
    rec = row.record
    if row.error is not None or not rec.get("srcaddr") or not rec.get("dstaddr") \
            or not isinstance(rec.get("start"), int):
        return None
    end = rec["end"] if isinstance(rec.get("end"), int) else rec["start"]
    raw = {"src": rec["srcaddr"], "dst": rec["dstaddr"],
           "start": str(rec["start"] - margin_s), "end": str(end + margin_s)}
    proto = rec.get("protocol")
    if proto is not None:
        raw["protocol"] = str(proto)
    if proto in glossary.PORT_PROTOCOLS:
        for key, field in (("src_port", "srcport"), ("dst_port", "dstport")):
            if rec.get(field) is not None:
                raw[key] = str(rec[field])
    try:
        parse_filters(raw)
    except InvalidFilters:
        return None
    return raw


def object_label(obj, zone: str | None) -> str:
    """How an object is offered: its delivery time (viewer's zone), flow log and size."""
    when = timeutil.format_local(obj.delivered, zone) or "time not in the name"
    return f"{when} · {obj.flow_log_id or obj.name} · {human_size(obj.size)}"


def page_caption(first: int, count: int, more: bool, fetched: int | None,
                 size: int | None) -> str:
    """'records 101–200 · more follow · 96.0 KB of 104.9 MB fetched'."""
    parts = [f"records {first:,}–{first + count - 1:,}" if count else "no records on this page"]
    if more:
        parts.append("more follow")
    if fetched is not None:
        parts.append(f"{human_size(fetched)} of {human_size(size)} fetched")
    return " · ".join(parts)


def human_size(size: int | None) -> str:
    if size is None:
        return "?"
    if size < 1000:
        return f"{size:,} bytes"
    value = float(size)
    for unit in ("KB", "MB", "GB"):
        value /= 1000
        if value < 1000 or unit == "GB":
            return f"{value:,.1f} {unit}"
    raise AssertionError("unreachable")
