"""Turning query results into what people read: summary columns, local times, meanings."""

from __future__ import annotations

import re

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


SUMMARY_COLUMNS = ("Time", "Source", "Destination", "Destination port", "Region", "Action")


def _action_text(row: dict) -> str:
    return row.get("action") or (row.get("log_status") or "")


def search_summary(rows: list[dict], zone: str | None) -> pd.DataFrame:
    """One line per record, the columns the help desk reads first (times in the viewer's zone)."""
    data = [{
        "Time": timeutil.format_local(r.get("start"), zone),
        "Source": r.get("srcaddr") or "",
        "Destination": r.get("dstaddr") or "",
        "Destination port": glossary.format_port(r.get("dstport"), r.get("protocol"))
        if r.get("protocol") is not None else "",
        "Region": r.get(schema.LOG_REGION) or r.get("region") or "",
        "Action": _action_text(r),
    } for r in rows]
    return pd.DataFrame(data, columns=list(SUMMARY_COLUMNS))


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


def csv_bytes(rows: list[dict]) -> bytes:
    """All fields of the result, AWS names as the header (what people paste into tickets)."""
    frame = pd.DataFrame([{**aws_record(r), "log-account": r.get(schema.LOG_ACCOUNT),
                           "log-region": r.get(schema.LOG_REGION)} for r in rows])
    return safe_csv(frame).encode()
