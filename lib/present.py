"""Turning query results into what people read: summary columns, local times, meanings."""

from __future__ import annotations

import pandas as pd

from lib import glossary, schema, timeutil

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


def explain_row(row: dict, lang: str = "en") -> pd.DataFrame:
    """Every field of one record with its value, meaning and plain-words explanation."""
    rows = glossary.explain_record(aws_record(row), lang)
    stored = {"field": "stored under", "value": f"{row.get(schema.LOG_ACCOUNT)} / "
              f"{row.get(schema.LOG_REGION)}",
              "meaning": "", "explanation": (
                  "The account and region folder of the central bucket holding this record."
                  if lang == "en" else "この記録が保存されている中央バケットのアカウントとリージョンのフォルダです。")}
    frame = pd.DataFrame([*rows, stored])
    frame["value"] = frame["value"].map(lambda v: "-" if v is None else str(v))
    return frame


def csv_bytes(rows: list[dict]) -> bytes:
    """All fields of the result, AWS names as the header (what people paste into tickets)."""
    frame = pd.DataFrame([{**aws_record(r), "log-account": r.get(schema.LOG_ACCOUNT),
                           "log-region": r.get(schema.LOG_REGION)} for r in rows])
    return frame.to_csv(index=False).encode()
