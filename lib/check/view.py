"""Connection check, the view: timeline rows, frames and chart, the page's tables, its
share link and the demo cases."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Mapping
from pathlib import Path

from lib import glossary, i18n, timeutil
from lib.check.facts import (
    REQUEST,
    RESPONSE,
    SIDE_DESTINATION,
    SIDE_SOURCE,
    CheckSpec,
    classify,
    network_text,
)
from lib.check.verdict import Verdict
from lib.check.words import HEADINGS, HOW, PROOF_LABELS, WORDS
from lib.filters import Filters, to_params

# --- timeline --------------------------------------------------------------------------------

_BUCKETS = (60, 300, 600, 900, 1800, 3600, 3 * 3600, 6 * 3600, 12 * 3600, 86400)


def timeline_bucket(span_s: int, bars: int = 60) -> int:
    """A round bucket size giving at most about ``bars`` bars over the span."""
    return next((b for b in _BUCKETS if span_s / b <= bars), _BUCKETS[-1])


def timeline_rows(rows: Iterable[Mapping], spec: CheckSpec, bucket: int | None = None
                  ) -> list[dict]:
    """Records per (bucket, direction, action): the numbers behind the timeline chart."""
    bucket = bucket or timeline_bucket(max(spec.end - spec.start, 1))
    totals: dict[tuple, list[int]] = defaultdict(lambda: [0, 0])
    for row in rows:
        s = classify(row, spec)
        if s is None or s.action not in ("ACCEPT", "REJECT") or row.get("start") is None:
            continue
        key = (row["start"] - row["start"] % bucket, s.direction, s.action)
        totals[key][0] += 1
        totals[key][1] += row.get("bytes") or 0
    return [{"bucket_start": t, "direction": d, "action": a, "records": n, "bytes": b}
            for (t, d, a), (n, b) in sorted(totals.items())]


def _wall_clock(epochs, zone: str):
    """Local wall-clock times, to be drawn as UTC so that the browser does not shift them."""
    import pandas as pd

    return pd.to_datetime(pd.Series(epochs, dtype="int64"), unit="s", utc=True).dt.tz_convert(
        timeutil.zone(zone)).dt.tz_localize(None)


def timeline_chart_frame(timeline: list[dict], zone: str | None = None, lang: str = "en"):
    """timeline_rows as the chart draws them: wall-clock times, directions in words."""
    import pandas as pd

    frame = pd.DataFrame(timeline, columns=["bucket_start", "direction", "action", "records",
                                            "bytes"])
    frame["time"] = _wall_clock(frame["bucket_start"], zone or "UTC")
    frame["direction"] = frame["direction"].map(
        lambda d: i18n.pick(HEADINGS[d], lang))
    return frame


def timeline_chart(rows: Iterable[Mapping], spec: CheckSpec, zone: str | None = None,
                   lang: str = "en"):
    """The check's timeline (lib.charts.check_timeline) over its whole window."""
    from lib import charts

    zone = zone or "UTC"
    window = tuple(_wall_clock([spec.start, spec.end], zone))
    return charts.check_timeline(timeline_chart_frame(timeline_rows(rows, spec), zone, lang), zone,
                                 window, lang)


# --- demo cases ------------------------------------------------------------------------------

def demo_cases(data_dir: str | Path) -> list[dict]:
    """The connection-check cases the demo generator wrote (``scenarios.json``), if any."""
    try:
        cases = json.loads((Path(data_dir) / "scenarios.json").read_text())
    except (OSError, ValueError):
        return []
    return [c for c in cases if isinstance(c, dict) and {"src", "dst", "start", "end"} <= set(c)]


def demo_inputs(case: Mapping) -> dict[str, str]:
    """Check inputs (raw keys) for a demo case."""
    port = "" if case.get("protocol") == 1 else str(case.get("dst_port") or "")
    return {"src": case["src"], "dst": case["dst"], "dst_port": port,
            "protocol": protocol_input(case.get("protocol")),
            "start": str(case["start"] - case["start"] % 60),
            "end": str(case["end"] - case["end"] % 60 + 60)}


def protocol_input(number) -> str:
    """What a person types for a protocol: 'TCP' for 6 (the number where it has no name)."""
    if number in (None, ""):
        return ""
    name = glossary.protocol_name(number)
    return name if glossary.protocol_number(name) == int(number) else str(number)


# --- the page's inputs and its link ------------------------------------------------------------

# Check inputs on the page: their widget keys, which are also their URL parameters (the
# sidebar's own src/dst/... filters are a different search and keep their names).
WIDGET_KEYS = {"src": "check_src", "dst": "check_dst", "dst_port": "check_port",
               "protocol": "check_protocol"}


def share_query(filters: Filters, extra: Mapping[str, str] | None = None) -> str:
    """The query string that reopens this check (times absolute, so it shows the same);
    ``extra``: other URL parameters as the page's widgets write them (language, zone).
    Times as ISO 8601 in the sharer's zone: the colleague's From/To read as times."""
    from urllib.parse import urlencode

    params = to_params(filters)
    zone_name = (extra or {}).get("tz") or None
    pairs = [(key, timeutil.format_iso(getattr(filters, key), zone_name))
             for key in ("start", "end")]
    pairs += [(key, value) for key in ("account", "region")
              for value in params.get(key, "").split(",") if value]
    params.update({key: network_text(network) for key, network in (
        ("src", filters.src), ("dst", filters.dst)) if network is not None})
    pairs += [(widget, params[key]) for key, widget in WIDGET_KEYS.items() if key in params]
    pairs += [(key, value) for key, value in (extra or {}).items() if value]
    return urlencode(pairs)


# --- tables for the page -----------------------------------------------------------------------


def _pair_text(counts: dict) -> str:
    return f"{counts['accepted']} ACCEPT / {counts['rejected']} REJECT"


def evidence_table(verdict: Verdict, zone: str | None = None):
    """Counts, bytes and times per direction, for people (times in the viewer's zone)."""
    import pandas as pd

    c = i18n.pick_all(HEADINGS, verdict.lang)
    rows = []
    for direction in (REQUEST, RESPONSE):
        e = verdict.evidence[direction]
        rows.append({
            c["direction"]: c[direction], c["records"]: e["records"],
            c["accepted"]: e["accepted"], c["rejected"]: e["rejected"],
            c["at_source"]: _pair_text(e["at_source"]),
            c["at_destination"]: _pair_text(e["at_destination"]),
            c["side_unknown"]: _pair_text(e["side_unknown"]),
            c["packets"]: e["packets"], c["bytes"]: e["bytes"],
            c["first"]: timeutil.format_local(e["first_seen"], zone) or "-",
            c["last"]: timeutil.format_local(e["last_seen"], zone) or "-",
            c["tcp_flags"]: ", ".join(map(str, e["tcp_flags"])) or "-",
            c["interfaces"]: ", ".join(e["interfaces"]) or "-"})
    return pd.DataFrame(rows)


def evidence_by_measure(verdict: Verdict, zone: str | None = None):
    """evidence_table turned on its side for reading: one row per measure, a column per
    direction. Thirteen columns side by side cut off the first/last-seen times and the
    interfaces at 1400 px and 1024 px (issue 19.5); two columns of text fit anywhere."""
    table = evidence_table(verdict, zone)
    c = i18n.pick_all(HEADINGS, verdict.lang)
    return table.set_index(c["direction"]).T.astype(str)


def interfaces_table(verdict: Verdict):
    import pandas as pd

    c = i18n.pick_all(HEADINGS, verdict.lang)
    sides = {SIDE_SOURCE: WORDS["side-source"], SIDE_DESTINATION: WORDS["side-destination"]}
    rows = [{c["interface_id"]: i["interface_id"], c["account"]: i["account"],
             c["region"]: i["region"],
             c["side"]: i18n.pick(sides[i["side"]], verdict.lang)
             if i["side"] in sides else "?",
             c["address"]: i["address"] or "-", c["how"]: how_text(i["how"], verdict.lang)}
            for i in verdict.evidence["interfaces"]]
    return pd.DataFrame(rows, columns=[c[k] for k in ("interface_id", "account", "region",
                                                      "side", "address", "how")])


def how_text(how: str | None, lang: str) -> str:
    """How a side was told, in plain words ('accept-reject' was jargon: issue 19.11)."""
    return i18n.pick(HOW[how], lang) if how in HOW else (how or "-")


def gaps_table(verdict: Verdict, zone: str | None = None):
    """The gap records of the checked interfaces (SKIPDATA intervals) and the hours without
    any record of their accounts and regions (issue 22); None when there are none."""
    import pandas as pd

    gaps = verdict.evidence.get("gaps") or []
    missing = verdict.evidence.get("missing_hours") or []
    if not gaps and not missing:
        return None
    c = i18n.pick_all(HEADINGS, verdict.lang)
    sides = {SIDE_SOURCE: WORDS["side-source"], SIDE_DESTINATION: WORDS["side-destination"]}
    rows = [{c["interface_id"]: g["interface_id"],
             c["side"]: i18n.pick(sides[g["side"]], verdict.lang) if g["side"] in sides else "?",
             c["account"]: g["account"], c["region"]: g["region"], c["status"]: g["status"],
             c["gap_from"]: timeutil.format_local(g["start"], zone),
             c["gap_to"]: timeutil.format_local(g["end"], zone), c["records"]: g["records"]}
            for g in gaps]
    rows += [{c["interface_id"]: "-", c["side"]: "-", c["account"]: m["account"],
              c["region"]: m["region"], c["status"]: "-",
              c["gap_from"]: timeutil.format_local(m["start"], zone),
              c["gap_to"]: timeutil.format_local(m["end"], zone), c["records"]: 0}
             for m in missing]
    return pd.DataFrame(rows, columns=[c[k] for k in ("interface_id", "side", "account", "region",
                                                      "status", "gap_from", "gap_to", "records")])


def proof_label(group: dict, lang: str = "en") -> str:
    texts = PROOF_LABELS[(group["direction"], group["action"])]
    return f"{i18n.pick(texts, lang)} ({group['records']})"
