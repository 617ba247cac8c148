"""The Traffic page's logic: which queries it runs and the frames behind its charts.

Every number is aggregated inside the engine (lib/query.py kinds); this module only picks
query options (bucket size, previous period, rejected-only filters), shapes the few rows
that come back for the charts and tables, and turns a click on a chart into the narrowed
raw filters that open Search on the same records. Importable without Streamlit.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

import pandas as pd

from lib import glossary, i18n, timeutil
from lib.filters import ACTIONS, Filters, parse_network, to_params
from lib.querycore import SCAN_MIN_HOSTS, SCAN_MIN_PORTS, SCAN_WINDOW_S, Query, Scope

MAX_POINTS = 300  # time buckets on one chart at most (for ranges up to MAX_POINTS days)
BUCKET_STEPS = (60, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400)
LABEL_LIMIT = 5000  # labels returned at most (addresses shown x interfaces holding them)
# The words are in lib/texts/traffic.toml (see lib/i18n.py); these are the English ones.
TRAFFIC_TEXTS = i18n.catalogue("traffic")
GROUP_TITLES = i18n.pick_all(TRAFFIC_TEXTS["groups"], "en")
GROUP_FIELDS = {"src": ["srcaddr"], "dst": ["dstaddr"], "pair": ["srcaddr", "dstaddr"]}
MEASURE_TITLES = i18n.pick_all(TRAFFIC_TEXTS["measures"], "en")


def traffic_text(key: str, lang: str | None = "en", group: str = "texts", **values) -> str:
    """A Traffic text in `lang`, values filled in."""
    return i18n.fill(TRAFFIC_TEXTS[group][key], lang, **values)


def traffic_columns(frame: pd.DataFrame, lang: str | None) -> pd.DataFrame:
    """A table for showing, its headings in `lang` (the frame's own names stay English:
    drill-downs read them)."""
    return frame.rename(columns=i18n.pick_all(TRAFFIC_TEXTS["columns"], lang))
BYTE_UNITS = ("B", "kB", "MB", "GB", "TB", "PB")

# Keys of the page's clickable charts and tables (their selection state lives in
# session state under these keys, read before any query runs).
TALKER_KEYS = {group: f"traffic_talkers_{group}" for group in GROUP_TITLES}
TIMELINE_KEY = "traffic_timeline"
REJECTED_SOURCES_KEY = "traffic_rejected_sources"
REJECTED_PORTS_KEY = "traffic_rejected_ports"
HEATMAP_KEY = "traffic_heatmap"
SCANS_KEY = "traffic_scans"
PICK = "pick"  # the name of every chart's click selection parameter


# --- query options -------------------------------------------------------------------------

def bucket_for(seconds: int) -> int:
    """The smallest step (1 min … 1 day) that draws a range in at most MAX_POINTS buckets."""
    for step in BUCKET_STEPS:
        if -(-seconds // step) <= MAX_POINTS:
            return step
    return BUCKET_STEPS[-1]


def previous_period(filters: Filters) -> Filters:
    """The same filters over the range of equal length just before."""
    length = filters.end - filters.start
    return filters.with_(start=filters.start - length, end=filters.start)


def rejected_only(filters: Filters) -> Filters | None:
    """The filters narrowed to rejected traffic; None when they ask for accepted only."""
    if filters.action == "ACCEPT":
        return None
    return filters.with_(action="REJECT")


def summary_query(filters: Filters, scope: Scope) -> Query:
    return Query("summary", filters, scope=scope)


def talkers_query(filters: Filters, scope: Scope, group: str, measure: str, top: int) -> Query:
    return Query("top-talkers", filters, scope=scope, group=group, measure=measure, top=top)


def timeline_query(filters: Filters, scope: Scope) -> Query:
    return Query("timeline", filters, scope=scope, bucket=bucket_for(filters.end - filters.start))


def labels_query(filters: Filters, scope: Scope, addresses: tuple[str, ...]) -> Query | None:
    """Labels for the addresses shown (reading only their records); None for none."""
    if not addresses:
        return None
    return Query("labels", filters, scope=scope, limit=LABEL_LIMIT, addresses=addresses)


def addresses_in(*row_lists: list[Mapping]) -> tuple[str, ...]:
    """The distinct addresses of result rows (talkers), to label."""
    found = {row[key] for rows in row_lists for row in rows for key in ("srcaddr", "dstaddr")
             if row.get(key)}
    return tuple(sorted(found))


def rejected_ports_query(filters: Filters, scope: Scope, measure: str, top: int) -> Query:
    return Query("rejected-ports", filters, scope=scope, measure=measure, top=top)


def heatmap_query(filters: Filters, scope: Scope, top: int) -> Query:
    return Query("rejected-heatmap", filters, scope=scope, top=top)


def scans_query(filters: Filters, scope: Scope, top: int) -> Query:
    return Query("scans", filters, scope=scope, top=top)


# --- one view's queries: few, and at once ---------------------------------------------------
# Talkers, timeline, rejected traffic and scans are independent of each other; only the labels
# need the talkers' addresses. With Athena every section comes from one scan (the "traffic"
# kind) and the previous period's summary from a second; the embedded engine runs the
# separate kinds, which it answers from its rollups, side by side.

SECTION_COLUMNS = {
    "summary": ["bytes", "packets", "flows", "sources", "destinations", "rejects"],
    "talkers-src": ["srcaddr", "bytes", "packets", "flows"],
    "talkers-dst": ["dstaddr", "bytes", "packets", "flows"],
    "talkers-pair": ["srcaddr", "dstaddr", "bytes", "packets", "flows"],
    "rejected-src": ["srcaddr", "bytes", "packets", "flows"],
    "timeline": ["bucket_start", "action", "bytes", "packets", "flows"],
    "rejected-ports": ["dstport", "protocol", "bytes", "packets", "flows", "sources",
                       "destinations"],
    "heatmap": ["hour", "dstport", "protocol", "flows", "port_flows", "port_rank"],
    "scans": ["srcaddr", "max_ports", "max_hosts", "scan_hours", "flows", "first_start",
              "last_start"],
}
TALKER_SECTIONS = {"src": "talkers-src", "dst": "talkers-dst", "pair": "talkers-pair"}


def traffic_query(filters: Filters, scope: Scope, measure: str, top: int) -> Query:
    return Query("traffic", filters, scope=scope, measure=measure, top=top,
                 bucket=bucket_for(filters.end - filters.start))


def view_queries(filters: Filters, scope: Scope, measure: str, top: int, bundled: bool
                 ) -> dict[str, Query]:
    """The view's independent queries, by section (``traffic``: every section at once)."""
    if bundled:  # the previous period's summary too from one scan (rollups included)
        return {"traffic": traffic_query(filters, scope, measure, top),
                "previous-traffic": traffic_query(previous_period(filters), scope, measure, 1)}
    queries = {"previous": summary_query(previous_period(filters), scope)}
    queries.update({"summary": summary_query(filters, scope),
                    "timeline": timeline_query(filters, scope),
                    "rejected-ports": rejected_ports_query(filters, scope, measure, top),
                    "heatmap": heatmap_query(filters, scope, top),
                    "scans": scans_query(filters, scope, top)})
    for group, section in TALKER_SECTIONS.items():
        queries[section] = talkers_query(filters, scope, group, measure, top)
    if (rejected := rejected_only(filters)) is not None:
        queries["rejected-src"] = talkers_query(rejected, scope, "src", measure, top)
    return queries


def sections(results: Mapping) -> dict:
    """Results by section, whichever way they were asked (a failed query: None)."""
    out = dict(results)
    bundle = out.pop("traffic", None)
    if "traffic" in results:
        out.update(split_traffic(bundle) if bundle is not None
                   else dict.fromkeys(SECTION_COLUMNS))
    if "previous-traffic" in results:
        previous = out.pop("previous-traffic")
        out["previous"] = None if previous is None else split_traffic(previous)["summary"]
    return out


def split_traffic(result):
    """The traffic kind's rows as one Result per section, with that kind's columns."""
    from dataclasses import replace

    import pyarrow as pa

    names = result.table.column("section").to_pylist()
    out = {}
    for section, columns in SECTION_COLUMNS.items():
        part = result.table.take(pa.array([n for n, name in enumerate(names)
                                           if name == section], pa.int64()))
        part = part.select(columns)
        if section == "summary":
            row = part.to_pylist()[0] if part.num_rows else {}
            part = pa.table({c: pa.array([row.get(c) or 0], pa.int64()) for c in columns})
        out[section] = replace(result, table=part)
    return out


class Superseded(BaseException):
    """Raised in a running query's progress callback once the page gave up on it (so the
    engine stops it, as it does when Streamlit reruns a script)."""


def run_concurrently(run_one, queries: Mapping, tick=None, interval_s: float = 0.2,
                     workers: int = 4) -> dict:
    """``run_one(key, query, cancelled)`` for every query at once, in threads; {key: its
    result or the exception it raised}. ``tick()`` runs every ``interval_s`` in the calling
    thread (a progress line); if it raises (the user moved on), the running queries are
    told to stop (``cancelled`` is set) and the error goes on."""
    import threading
    from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait

    if not queries:
        return {}
    cancelled = threading.Event()
    with ThreadPoolExecutor(max_workers=min(workers, len(queries))) as pool:
        futures = {key: pool.submit(run_one, key, query, cancelled)
                   for key, query in queries.items()}
        try:
            pending = set(futures.values())
            while pending:
                _, pending = wait(pending, timeout=interval_s, return_when=FIRST_COMPLETED)
                if tick is not None:
                    tick()
        except BaseException:
            cancelled.set()
            raise
    out = {}
    for key, future in futures.items():
        error = future.exception()
        out[key] = error if error is not None else future.result()
    return out


def progress_line(states: Mapping, lang: str = "en") -> str:
    """One line for several running queries: each one's state, and the data scanned."""
    if not states:
        return traffic_text("running", lang)
    if len(states) == 1:  # one query: its own line ('Athena: running · 3.1 s · …')
        return next(iter(states.values())).describe()
    scanned = sum(p.scanned_bytes or 0 for p in states.values())
    running = sum(1 for p in states.values() if p.state in ("QUEUED", "RUNNING"))
    seconds = f"{max(p.elapsed_s for p in states.values()):.1f}"
    line = traffic_text("queries-running", lang, count=len(states), running=running,
                        seconds=seconds)
    return line + (traffic_text("scanned", lang, mb=f"{scanned / 1e6:,.1f}") if scanned else "")


# --- summary -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Metric:
    label: str
    value: str
    delta: str | None  # change against the previous period; None when there is nothing to compare
    delta_color: str  # st.metric's: "normal" (up is good), "inverse" (up is bad), "off"
    help: str


SUMMARY_FIELDS = ("flows", "bytes", "packets", "sources", "destinations")


def reject_rate(row: Mapping) -> float | None:
    flows = row.get("flows") or 0
    return (row.get("rejects") or 0) / flows * 100 if flows else None


MUCH_HIGHER = 10  # from this many times the previous value on, a ratio reads better than %


def percent_change(current: int, previous: int | None, lang: str = "en") -> str | None:
    """'+42.0 %'; 'much higher (×24)' against a near-empty previous period, where a percentage
    ('+185781.3 %') says nothing; None when there was nothing before to compare with."""
    if not previous:
        return None
    ratio = current / previous
    if ratio >= MUCH_HIGHER:
        times = f"{ratio:,.1f}" if ratio < 100 else f"{ratio:,.0f}"
        return traffic_text("much-higher", lang, "summary", times=times)
    return f"{(current - previous) / previous * 100:+.1f} %"


def summary_metrics(current: Mapping, previous: Mapping | None, lang: str = "en"
                    ) -> list[Metric]:
    """Totals of the range, each with its change against the previous period."""
    previous = previous or {}
    metrics = []
    for key in SUMMARY_FIELDS:
        value = current.get(key) or 0
        before = previous.get(key)
        shown = human_bytes(value) if key == "bytes" else human_count(value)
        meaning = traffic_text(f"{key}-help", lang, "summary")
        # More or less traffic is neither good nor bad: no green or red ("off").
        metrics.append(Metric(traffic_text(key, lang, "summary"), shown,
                              percent_change(value, before, lang), "off",
                              traffic_text("exactly", lang, "summary", meaning=meaning,
                                           value=f"{value:,}", before=f"{before or 0:,}")))
    rate, before = reject_rate(current), reject_rate(previous)
    delta = None if rate is None or before is None else f"{rate - before:+.2f} pp"
    rejects, flows = f"{current.get('rejects') or 0:,}", f"{current.get('flows') or 0:,}"
    metrics.append(Metric(
        traffic_text("reject-rate", lang, "summary"), "–" if rate is None else f"{rate:.2f} %",
        delta, "inverse",
        traffic_text("reject-rate-help", lang, "summary", rejects=rejects, flows=flows)))
    return metrics


COUNT_UNITS = ("", "k", "M", "G", "T")


def human_count(value: int) -> str:
    """'17.9 M' from 100,000 on, else every digit ('99,999'): six metrics share one row of a
    1,400 px page and '17,911,…' was cut off. The exact number is in the metric's help."""
    if abs(value) < 100_000:
        return f"{value:,}"
    power = min(len(COUNT_UNITS) - 1, (len(str(abs(int(value)))) - 1) // 3)
    return f"{value / 1000 ** power:,.1f} {COUNT_UNITS[power]}"


def human_bytes(value: int) -> str:
    """'1.5 GB' (decimal units, as network staff count traffic)."""
    if abs(value) < 1000:
        return f"{value:,} B"
    power = min(len(BYTE_UNITS) - 1, (len(str(abs(int(value)))) - 1) // 3)
    return f"{value / 1000 ** power:,.1f} {BYTE_UNITS[power]}"


# --- labels and top talkers --------------------------------------------------------------

@dataclass(frozen=True)
class Holder:
    """What holds an address: `short` for a chart axis, `full` for tooltips and tables."""

    short: str  # the instance, else the interface ("+N" when several hold the address)
    full: str  # every holder: "i-0abc / eni-0123, vpc-0de; eni-0456, vpc-0fe"


def address_labels(rows: list[Mapping]) -> dict[str, Holder]:
    """Address -> what owns it, from the labels query.

    Private ranges overlap between VPCs, so one address can belong to several interfaces:
    all of them are named.
    """
    holders: dict[str, list[Mapping]] = {}
    for row in rows:
        holders.setdefault(row["address"], []).append(row)
    owners = {}
    for address, found in holders.items():
        found = sorted(found, key=lambda r: (r.get("instance_id") or "", r["interface_id"]))
        names = []
        for row in found:
            name = " / ".join(v for v in (row.get("instance_id"), row.get("interface_id")) if v)
            names.append(name + (f", {row['vpc_id']}" if row.get("vpc_id") else ""))
        short = found[0].get("instance_id") or found[0]["interface_id"]
        owners[address] = Holder(short + (f" +{len(found) - 1}" if len(found) > 1 else ""),
                                "; ".join(names))
    return owners


def address_text(address: str, labels: Mapping[str, Holder]) -> str:
    owner = labels.get(address)
    return f"{address} ({owner.short})" if owner else address


def talkers_frame(rows: list[Mapping], group: str, labels: Mapping[str, Holder]
                  ) -> pd.DataFrame:
    """One row per talker in the engine's order: a short 'talker' label for the axis and
    the full 'owner' (interface, instance, VPC) for the tooltip."""
    keys = GROUP_FIELDS[group]
    frame = pd.DataFrame([{k: row[k] for k in keys} for row in rows], columns=keys)
    frame.insert(0, "talker", [" → ".join(address_text(row[k], labels) for k in keys)
                               for row in rows])
    frame.insert(1, "owner", [" → ".join(labels[row[k]].full if row[k] in labels else "–"
                                         for k in keys) for row in rows])
    for measure in MEASURE_TITLES:
        frame[measure] = pd.array([row[measure] for row in rows], dtype="Int64")
    return frame


def ports_frame(rows: list[Mapping]) -> pd.DataFrame:
    """Rejected destination ports with their service names."""
    columns = ["port", "dstport", "protocol", "bytes", "packets", "flows", "sources",
               "destinations"]
    frame = pd.DataFrame([{**row, "port": port_text(row["dstport"], row["protocol"])}
                          for row in rows], columns=columns)
    return frame.astype({c: "Int64" for c in columns[1:]})


def port_text(port, protocol) -> str:
    service = glossary.port_service(port, protocol)
    text = glossary.format_port(port, protocol)
    return f"{text} {service}" if service else text


# --- traffic over time -----------------------------------------------------------------------

def timeline_frame(rows: list[Mapping], filters: Filters, bucket: int, zone: str | None
                   ) -> pd.DataFrame:
    """Every bucket of the range x (ACCEPT, REJECT), zero where nothing was logged.

    ``time`` is the bucket's wall-clock time in the viewer's zone, stored as if it were
    UTC, so a chart on a UTC scale shows the viewer's times whatever the browser's zone.
    """
    found = {(row["bucket_start"], row["action"]): row for row in rows}
    first = filters.start - filters.start % bucket
    records = []
    for start in range(first, filters.end, bucket):
        wall = wall_clock(start, zone)
        for action in ACTIONS:
            row = found.get((start, action), {})
            records.append({"bucket_start": start, "time": wall,
                            "when": timeutil.format_local(start, zone), "action": action,
                            **{m: row.get(m) or 0 for m in MEASURE_TITLES}})
    frame = pd.DataFrame(records, columns=["bucket_start", "time", "when", "action",
                                           *MEASURE_TITLES])
    frame["time"] = pd.to_datetime(frame["time"], utc=True)
    return frame.astype({"bucket_start": "Int64", **{m: "Int64" for m in MEASURE_TITLES}})


def wall_clock(epoch: int, zone: str | None) -> datetime:
    local = datetime.fromtimestamp(epoch, timeutil.zone(zone))
    return local.replace(tzinfo=UTC)


def zone_name(filters: Filters, zone: str | None) -> str:
    """The zone's abbreviation at the range's start ('JST', 'CET'), for axis titles."""
    return datetime.fromtimestamp(filters.start, timeutil.zone(zone)).tzname() or "UTC"


def bucket_text(bucket: int, lang: str = "en") -> str:
    for unit, seconds in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if bucket % seconds == 0 or unit == "minute":
            n = bucket // seconds
            return traffic_text(unit + ("s" if n > 1 else ""), lang, "buckets", n=n)
    raise AssertionError("unreachable")


# --- rejected traffic ------------------------------------------------------------------------

def hour_shift(filters: Filters, zone: str | None) -> tuple[int, str]:
    """Hours to add to a UTC hour of day to show the viewer's, and the zone's name.

    The engine counts hours of day in UTC. They are shown in the viewer's zone when its
    offset is a whole number of hours that does not change within the range (no daylight
    saving switch); otherwise they stay UTC, and the axis says so.
    """
    offsets = {datetime.fromtimestamp(t, timeutil.zone(zone)).utcoffset()
               for t in (filters.start, filters.end - 1)}
    if len(offsets) == 1:
        seconds = int(offsets.pop().total_seconds())
        if seconds % 3600 == 0:
            name = datetime.fromtimestamp(filters.start, timeutil.zone(zone)).tzname()
            return seconds // 3600, name or "UTC"
    return 0, "UTC"


def heatmap_frame(rows: list[Mapping], filters: Filters, zone: str | None) -> pd.DataFrame:
    """Rejected flows per (port, hour of day) for the engine's top ports; every hour present.

    ``hour`` is the viewer's hour of day (see hour_shift); ``utc_hour`` what the engine
    counted. Ports keep the engine's rank (most rejected first).
    """
    shift, _ = hour_shift(filters, zone)
    ports: dict[tuple, dict] = {}
    for row in rows:
        key = (row["dstport"], row["protocol"])
        ports.setdefault(key, {"rank": row["port_rank"], "hours": {}})["hours"][row["hour"]] = \
            row["flows"]
    records = []
    for (port, protocol), info in sorted(ports.items(), key=lambda item: item[1]["rank"]):
        for utc_hour in range(24):
            records.append({"port": port_text(port, protocol), "dstport": port,
                            "protocol": protocol, "rank": info["rank"],
                            "hour": (utc_hour + shift) % 24, "utc_hour": utc_hour,
                            "flows": info["hours"].get(utc_hour, 0)})
    columns = ["port", "dstport", "protocol", "rank", "hour", "utc_hour", "flows"]
    frame = pd.DataFrame(records, columns=columns)
    return frame.astype({c: "Int64" for c in columns[1:]})


def heatmap_table(frame: pd.DataFrame) -> pd.DataFrame:
    """The heatmap as a table: one row per port, one column per hour of day."""
    if frame.empty:
        return pd.DataFrame(columns=["port"])
    table = frame.pivot_table(index=["rank", "port"], columns="hour", values="flows",
                              aggfunc="sum").astype("Int64")
    table.columns = [f"{h:02d}" for h in table.columns]
    return table.reset_index(level="rank", drop=True).reset_index()


def scan_rule(lang: str = "en") -> str:
    return traffic_text("scan-rule", lang, ports=SCAN_MIN_PORTS, hosts=SCAN_MIN_HOSTS,
               minutes=SCAN_WINDOW_S // 60)


SCAN_RULE = scan_rule()


def scan_pattern(row: Mapping, lang: str = "en") -> str:
    ports, hosts = row["max_ports"] >= SCAN_MIN_PORTS, row["max_hosts"] >= SCAN_MIN_HOSTS
    pattern = "both" if ports and hosts else "ports" if ports else "hosts"
    return traffic_text(pattern, lang, "patterns")


def scans_frame(rows: list[Mapping], zone: str | None, lang: str = "en") -> pd.DataFrame:
    """Probable port scans, most ports/hosts first."""
    columns = ["source", "pattern", "most ports", "most hosts", "windows scanning",
               "rejected flows", "first rejected", "last rejected"]
    return pd.DataFrame([{
        "source": row["srcaddr"], "pattern": scan_pattern(row, lang),
        "most ports": row["max_ports"], "most hosts": row["max_hosts"],
        "windows scanning": row["scan_hours"], "rejected flows": row["flows"],
        "first rejected": timeutil.format_local(row["first_start"], zone),
        "last rejected": timeutil.format_local(row["last_start"], zone),
    } for row in rows], columns=columns)



SCAN_VIEW = {"source": "source", "most ports": "ports", "most hosts": "hosts",
             "rejected flows": "rejected", "first rejected": "first", "last rejected": "last"}


def scans_view(rows: list[Mapping], zone: str | None) -> pd.DataFrame:
    """The scans as the page's clickable table shows them: few, short columns with
    'MM-DD HH:MM' times, so every column fits beside the sidebar at 1024 px (the last one
    was cut off: issue 19.5). The whole of scans_frame is in the page's numbers box."""
    full = scans_frame(rows, zone)
    view = full[list(SCAN_VIEW)].rename(columns=SCAN_VIEW)
    for column, key in (("first", "first_start"), ("last", "last_start")):
        view[column] = [short_time(row[key], zone) for row in rows]
    return view


def short_time(epoch: int, zone: str | None) -> str:
    return datetime.fromtimestamp(int(epoch), timeutil.zone(zone)).strftime("%m-%d %H:%M")


METRICS_PER_ROW = 3  # six in one row were cut off beside the sidebar at 1024 px (issue 19.5)


def metric_rows(metrics: list) -> list[list]:
    return [metrics[n:n + METRICS_PER_ROW] for n in range(0, len(metrics), METRICS_PER_ROW)]


# --- drill-down: a click becomes Search filters -------------------------------------------

def picked(selection_state) -> dict | None:
    """The first clicked datum of a chart's selection state (None when nothing is picked).

    Streamlit gives ``{"selection": {"pick": [{field: value, ...}]}}``.
    """
    selection = (selection_state or {}).get("selection") or {}
    points = selection.get(PICK) or []
    return dict(points[0]) if points else None


def picked_row(selection_state) -> int | None:
    """The selected row of a dataframe's selection state."""
    rows = ((selection_state or {}).get("selection") or {}).get("rows") or []
    return rows[0] if rows else None


def narrowed(filters: Filters, **changes) -> dict[str, str]:
    return to_params(filters.with_(**changes))


def talker_drill(filters: Filters, group: str, point: Mapping) -> dict[str, str]:
    changes = {}
    if group in ("src", "pair"):
        changes["src"] = parse_network(str(point["srcaddr"]))
    if group in ("dst", "pair"):
        changes["dst"] = parse_network(str(point["dstaddr"]))
    return narrowed(filters, **changes)


def rejected_source_drill(filters: Filters, point: Mapping) -> dict[str, str]:
    return narrowed(filters, src=parse_network(str(point["srcaddr"])), action="REJECT")


def port_drill(filters: Filters, point: Mapping) -> dict[str, str]:
    port, protocol = int(point["dstport"]), int(point["protocol"])
    return narrowed(filters, dst_ports=((port, port),), protocols=(protocol,), action="REJECT")


def bucket_drill(filters: Filters, bucket: int, point: Mapping) -> dict[str, str]:
    start = int(point["bucket_start"])
    return narrowed(filters, start=max(filters.start, start),
                    end=min(filters.end, start + bucket), action=str(point["action"]))


def heatmap_drill(filters: Filters, point: Mapping) -> dict[str, str]:
    """The cell's port; its hour too when the range holds that hour of day only once."""
    raw = port_drill(filters, point)
    if filters.end - filters.start <= 86400:
        hour = int(point["utc_hour"]) * 3600
        day = filters.start - filters.start % 86400
        begin = day + hour if day + hour + 3600 > filters.start else day + 86400 + hour
        start, end = max(filters.start, begin), min(filters.end, begin + 3600)
        if start < end:
            raw.update(start=str(start), end=str(end))
    return raw


def pending_drill(filters: Filters, state: Mapping) -> dict[str, str] | None:
    """The Search filters for whatever was clicked on the page, read from session state."""
    for group, key in TALKER_KEYS.items():
        if point := picked(state.get(key)):
            return talker_drill(filters, group, point)
    handlers = ((TIMELINE_KEY, lambda p: bucket_drill(
                    filters, bucket_for(filters.end - filters.start), p)),
                (REJECTED_SOURCES_KEY, lambda p: rejected_source_drill(filters, p)),
                (REJECTED_PORTS_KEY, lambda p: port_drill(filters, p)),
                (HEATMAP_KEY, lambda p: heatmap_drill(filters, p)))
    for key, drill in handlers:
        if point := picked(state.get(key)):
            return drill(point)
    return None


def scan_drill(filters: Filters, frame: pd.DataFrame, row: int | None) -> dict[str, str] | None:
    if row is None or row >= len(frame):
        return None
    return rejected_source_drill(filters, {"srcaddr": frame.iloc[row]["source"]})
