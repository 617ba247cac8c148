"""Turning query results into what people read: summary columns, local times, meanings."""

from __future__ import annotations

import re
from datetime import datetime

import pandas as pd

from lib import glossary, i18n, schema, timeutil

# Characters that make Markdown anywhere in a line: escapes, code, emphasis, strikethrough,
# links and images ([ ]), HTML and autolinks (< >), Streamlit's LaTeX ($), tables, entities.
# A backslash makes each literal (CommonMark: any ASCII punctuation may be escaped). Others
# (. : / ( ) ! ...) only act next to these, or at the start of a line (below), and an
# underscore between two letters or digits never emphasises, so addresses, times, IDs and
# file names stay as they are in the Markdown source.
_INLINE_MARKUP = re.compile(r"([\\`*~\[\]<>$|&]|_(?![^\W_])|(?<![^\W_])_)")
# At the start of a line: headings, quotes, tables, lists ("-", "+", "1.", "1)"), breaks.
_BLOCK_MARK = re.compile(r"^(\s*)([#>+\-=|])")
_LIST_NUMBER = re.compile(r"^(\s*\d+)([.)])")
_LINE_BREAKS = re.compile(r"[\r\n\v\f\u0085\u2028\u2029]+")
# Streamlit links bare "http(s)://", "www." and "name@host" in the *rendered* text, after
# backslash escapes are resolved: a word joiner (invisible) inside each one stops that.
_LITERAL_LINKS = re.compile(r"(?i)(?<=https:)(?=//)|(?<=http:)(?=//)|(?<=www)(?=\.)|(?=@)")
_WORD_JOINER = "\u2060"


def plain(value) -> str:
    """Markdown that shows ``value`` as the text it is, never as Markdown: no link, image,
    HTML, heading, list, code, LaTeX or emphasis can come out of it, and it stays on one
    line. Every user- or log-derived value that reaches st.markdown, st.caption, st.error
    and the like (or a widget label, which is Markdown too) goes through this."""
    text = _LINE_BREAKS.sub(" ", str(value))
    text = _LITERAL_LINKS.sub(_WORD_JOINER, text)
    text = _INLINE_MARKUP.sub(r"\\\1", text)
    text = _LIST_NUMBER.sub(r"\1\\\2", text)
    return _BLOCK_MARK.sub(r"\1\\\2", text)


# The Search table's columns: every record field (by its AWS name, what a link keeps) and
# the account and region folder it was stored under, each with the English heading the
# page's catalogue (lib/texts/search.toml [columns]) translates. In the record's order.
LOG_ACCOUNT_FIELD, LOG_REGION_FIELD = "log-account", "log-region"  # as the CSV names them
SEARCH_HEADINGS: dict[str, str] = {
    "version": "Version", "account-id": "Account ID (record)", "interface-id": "Interface",
    "srcaddr": "Source", "dstaddr": "Destination", "srcport": "Source port",
    "dstport": "Destination port", "protocol": "Protocol", "packets": "Packets",
    "bytes": "Bytes", "start": "Time", "end": "End", "action": "Action",
    "log-status": "Log status", "vpc-id": "VPC", "subnet-id": "Subnet",
    "instance-id": "Instance", "tcp-flags": "TCP flags", "type": "Traffic type",
    "pkt-srcaddr": "Packet source", "pkt-dstaddr": "Packet destination",
    "region": "Region (record)", "az-id": "AZ ID", "sublocation-type": "Sublocation type",
    "sublocation-id": "Sublocation ID", "pkt-src-aws-service": "Source AWS service",
    "pkt-dst-aws-service": "Destination AWS service", "flow-direction": "Flow direction",
    "traffic-path": "Traffic path", "ecs-cluster-arn": "ECS cluster ARN",
    "ecs-cluster-name": "ECS cluster", "ecs-container-instance-arn": "ECS container instance ARN",
    "ecs-container-instance-id": "ECS container instance", "ecs-container-id": "ECS container",
    "ecs-second-container-id": "ECS second container", "ecs-service-name": "ECS service",
    "ecs-task-definition-arn": "ECS task definition ARN", "ecs-task-arn": "ECS task ARN",
    "ecs-task-id": "ECS task", "reject-reason": "Reject reason",
    LOG_ACCOUNT_FIELD: "Account", LOG_REGION_FIELD: "Region",
}
# What the help desk reads first; interface and account tell apart rows that are otherwise
# the same (both ends of one flow, or one address in two VPCs).
DEFAULT_SEARCH_FIELDS = ("start", "srcaddr", "srcport", "dstaddr", "dstport", "protocol",
                         "action", "bytes", "packets", "interface-id", LOG_ACCOUNT_FIELD,
                         LOG_REGION_FIELD)


def _action_text(row: dict) -> str:
    return row.get("action") or (row.get("log_status") or "")


def _port_text(row: dict, port: str) -> str:
    if row.get("protocol") is None:
        return ""
    return glossary.format_port(row.get(port), row.get("protocol"))


def _tcp_flags_text(value) -> str:
    if value is None:
        return ""
    names = glossary.tcp_flag_names(value)
    return f"{value} ({', '.join(names)})" if names else str(value)


# Fields shown in words rather than as stored (times in the viewer's zone).
_SHOWN = {
    "start": lambda r, zone: timeutil.format_local(r.get("start"), zone),
    "end": lambda r, zone: timeutil.format_local(r.get("end"), zone),
    "srcport": lambda r, zone: _port_text(r, "srcport"),
    "dstport": lambda r, zone: _port_text(r, "dstport"),
    "protocol": lambda r, zone: ("" if r.get("protocol") is None
                                 else glossary.protocol_name(r.get("protocol"))),
    "action": lambda r, zone: _action_text(r),
    "tcp-flags": lambda r, zone: _tcp_flags_text(r.get("tcp_flags")),
    LOG_ACCOUNT_FIELD: lambda r, zone: r.get(schema.LOG_ACCOUNT) or r.get("account_id") or "",
    LOG_REGION_FIELD: lambda r, zone: r.get(schema.LOG_REGION) or r.get("region") or "",
}


def _search_cell(field: str, row: dict, zone: str | None):
    if field in _SHOWN:
        return _SHOWN[field](row, zone)
    value = row.get(schema.field_for(field).column)
    return "" if value is None and not schema.field_for(field).is_number else value


def search_fields(chosen) -> tuple[str, ...]:
    """The known fields of a choice (a link may name others), in its order, each once; the
    default columns for none."""
    known = tuple(dict.fromkeys(f for f in chosen or () if f in SEARCH_HEADINGS))
    return known or DEFAULT_SEARCH_FIELDS


def search_summary(rows: list[dict], zone: str | None,
                   fields=DEFAULT_SEARCH_FIELDS) -> pd.DataFrame:
    """One line per record, the chosen fields in the chosen order, headed by their English
    headings (times in the viewer's zone, ports and protocols named)."""
    fields = search_fields(fields)
    headings = [SEARCH_HEADINGS[f] for f in fields]
    frame = pd.DataFrame([[_search_cell(f, r, zone) for f in fields] for r in rows],
                         columns=headings)
    numbers = {SEARCH_HEADINGS[f]: "Int64" for f in fields
               if f not in _SHOWN and schema.field_for(f).is_number}
    return frame.astype(numbers)


def aws_record(row: dict) -> dict:
    """A result row keyed by AWS field names, without fields the record's format lacks."""
    out = {}
    for f in schema.FIELDS:
        if f.column in row:
            out[f.name] = row[f.column]
    return out


_STORED_UNDER = {
    "en": "The account and region folder of the central bucket holding this record.",
    "ja": "この記録が保存されている中央バケットのアカウントとリージョンのフォルダです。"}


def explain_row(row: dict, lang: str = "en") -> pd.DataFrame:
    """Every field of one record with its value, meaning and plain-words explanation."""
    rows = glossary.explain_record(aws_record(row), lang)
    stored = {"field": "stored under", "value": f"{row.get(schema.LOG_ACCOUNT)} / "
              f"{row.get(schema.LOG_REGION)}",
              "meaning": "", "explanation": i18n.pick(_STORED_UNDER, lang)}
    frame = pd.DataFrame([*rows, stored])
    frame["value"] = frame["value"].map(lambda v: "-" if v is None else str(v))
    return frame


# A spreadsheet reads a cell starting with one of these as a formula (or, for tab and CR,
# strips them and reads what follows): OWASP's "CSV injection".
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value):
    """A text cell a spreadsheet will show, not evaluate: a leading ' where it could start
    a formula. Numbers stay numbers (-5 is a value, not a formula)."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def safe_csv(frame: pd.DataFrame) -> str:
    """CSV of a frame with every text cell (and header) made spreadsheet-safe."""
    safe = frame.rename(columns=spreadsheet_safe)
    for column in safe.columns:
        if not pd.api.types.is_numeric_dtype(safe[column]):  # text, or mixed (Python values)
            safe[column] = safe[column].map(spreadsheet_safe)
    # CRLF line ends (RFC 4180): the writer then also quotes a cell holding a lone CR, which
    # a spreadsheet would otherwise read as the end of the row.
    return safe.to_csv(index=False, lineterminator="\r\n")


def csv_bytes(rows: list[dict], zone: str | None = "UTC") -> bytes:
    """All fields of the result, AWS names as the header (what people paste into tickets),
    and beside each epoch time the same instant in ISO 8601 in the viewer's zone, the zone
    named in the header ("start_time (Asia/Tokyo)")."""
    zone_name = timeutil.zone(zone).key  # the zone the times are really in
    frame = pd.DataFrame([_csv_record(r, zone_name) for r in rows])
    # Whole numbers stay whole where some records lack them (NODATA has no ports): pandas
    # would make the column float and write 40001.0.
    numbers = {name: "Int64" for name in frame.columns
               if name in schema.BY_NAME and schema.BY_NAME[name].is_number}
    return safe_csv(frame.astype(numbers)).encode()


def _iso_in_zone(epoch, zone_name: str) -> str | None:
    """'2026-09-21T09:01:40+09:00': seconds always, the offset always (a spreadsheet and a
    script read it alike, whatever the zone)."""
    if epoch is None:
        return None
    return datetime.fromtimestamp(int(epoch), timeutil.zone(zone_name)).isoformat(
        timespec="seconds")


def _csv_record(row: dict, zone_name: str) -> dict:
    out = {}
    for name, value in aws_record(row).items():
        out[name] = value
        if name in ("start", "end"):
            out[f"{name}_time ({zone_name})"] = _iso_in_zone(value, zone_name)
    out[LOG_ACCOUNT_FIELD] = row.get(schema.LOG_ACCOUNT)
    out[LOG_REGION_FIELD] = row.get(schema.LOG_REGION)
    return out
