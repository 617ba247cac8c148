"""The health of the logging itself (issue 22): is every account, region and interface
logged, and where can the logs not tell?

Two sources, both within the user's account scope:

* the records, through the query layer (so DuckDB and Athena give the same answer): per
  account, region and hour the records, NODATA and SKIPDATA counts (``health`` kind), and
  every NODATA/SKIPDATA record (``log-gaps`` kind), merged here into intervals per interface;
* the stored objects, from the key layout (a listing, never a scan): objects per flow log
  and delivery hour, the hours a flow log delivered nothing while the store did, the last
  object, and the field order each flow log writes (the newest object's header line).

``report`` joins them (a pure function: tests give it rows and objects). Search and the
connection check use ``gaps_query`` / ``gaps_from`` to say when a gap overlaps an answer.
"""

from __future__ import annotations

import gzip
from collections import defaultdict
from dataclasses import asdict, dataclass, field

from lib import i18n
from lib.filters import EARLIEST, Filters
from lib.parser import looks_like_header
from lib.query import GAP_STATUSES, Query, Scope
from lib.store import layout
from lib.store.layout import StoredObject

HOUR_S = 3600
# The longest aggregation interval (10 minutes): a gap record that started this much
# before a range still covers part of it.
LONGEST_INTERVAL_S = 600
# Gap records of one interface closer than this are one interval (consecutive windows).
MERGE_SLACK_S = 60
GAP_LIMIT = 10_000
SAMPLE_MAX_BYTES = 8 * 2**20  # text read from a flow log's newest object at most
# Day folders listed for one report at most (a listing each: a month of a large
# organisation is thousands); the newest days are listed, and the report says so.
MAX_LISTED_FOLDERS = 500


# --- the record queries -------------------------------------------------------------------

def hours_query(filters: Filters, scope: Scope) -> Query:
    return Query("health", filters, scope=scope)


def gaps_query(filters: Filters, scope: Scope, limit: int = GAP_LIMIT) -> Query:
    """NODATA/SKIPDATA records that can overlap the filters' range (those that started up
    to one aggregation interval before it too); traffic filters do not apply to them."""
    earlier = max(EARLIEST, filters.start - LONGEST_INTERVAL_S)
    return Query("log-gaps", filters.with_(start=earlier), scope=scope, limit=limit)


@dataclass(frozen=True)
class Gap:
    """An interval an interface's flow log recorded as NODATA or SKIPDATA."""

    account: str
    region: str
    interface_id: str
    status: str  # NODATA | SKIPDATA
    start: int
    end: int  # the last record's end (inclusive, as flow logs write it)
    records: int = 1

    def overlaps(self, start: int, end: int) -> bool:
        return self.start < end and self.end >= start


def gaps_from(rows: list[dict], start: int, end: int) -> list[Gap]:
    """The gap records as intervals per interface and status (consecutive records merged),
    only those overlapping [start, end); SKIPDATA first, then by start."""
    by_key: dict[tuple, list[dict]] = defaultdict(list)
    for row in rows:
        if row.get("log_status") in GAP_STATUSES and row.get("start") is not None:
            key = (row.get("log_account") or "", row.get("log_region") or "",
                   row.get("interface_id") or "", row["log_status"])
            by_key[key].append(row)
    gaps = []
    for (account, region, interface, status), records in by_key.items():
        records.sort(key=lambda r: r["start"])
        current = None
        for r in records:
            last = r.get("end") if r.get("end") is not None else r["start"]
            if current and r["start"] <= current.end + MERGE_SLACK_S:
                current = Gap(account, region, interface, status, current.start,
                              max(current.end, last), current.records + 1)
            else:
                if current:
                    gaps.append(current)
                current = Gap(account, region, interface, status, r["start"], last)
        gaps.append(current)
    kept = [g for g in gaps if g.overlaps(start, end)]
    return sorted(kept, key=lambda g: (g.status != "SKIPDATA", g.start, g.interface_id))


def overlapping(gaps: list[Gap], interfaces=None, accounts=None,
                statuses=("SKIPDATA",)) -> list[Gap]:
    """The gaps of these interfaces (or accounts), of these statuses (SKIPDATA: records
    that were lost; NODATA means there was no traffic, which is an answer, not a gap)."""
    return [g for g in gaps if g.status in statuses
            and (not interfaces or g.interface_id in interfaces)
            and (not accounts or g.account in accounts)]


# --- the stored objects ---------------------------------------------------------------------

def day_folders(backend, filters: Filters, scope: Scope) -> list:
    """The day folders holding objects delivered within [start, end), of the accounts the
    scope and filters allow, newest day first."""
    accounts = scope.effective(filters.accounts)
    if accounts is not None and not accounts:
        return []
    wanted = set(accounts) if accounts is not None else None
    folders = [r.day(d) for r in layout.regions(backend, wanted, filters.regions or None)
               for d in layout.days_between(filters.start, filters.end - 1)]
    return sorted(folders, key=lambda f: f.day, reverse=True)


def list_stored_objects(backend, filters: Filters, folders: list) -> list[StoredObject]:
    """The objects of these day folders delivered within [start, end) (one listing per
    folder, never a scan)."""
    return [o for folder in folders
            for o in layout.list_day(backend, folder, filters.start, filters.end - 1)]


@dataclass(frozen=True)
class Sample:
    """What a flow log's newest object says: its field order and its last record's end."""

    fields: tuple[str, ...] | None
    last_end: int | None  # the latest record end in the object (None: none could be read)


def read_sample(backend, obj: StoredObject) -> Sample:
    """The object's header line and the latest ``end`` among its first SAMPLE_MAX_BYTES of
    text (None for Parquet, where fields go by name, and for an unreadable object)."""
    if not obj.is_raw:
        return Sample(None, None)
    try:
        with backend.open(obj.path) as raw:
            stream = gzip.GzipFile(fileobj=raw) if obj.path.endswith(".gz") else raw
            text = stream.read(SAMPLE_MAX_BYTES)
    except (OSError, EOFError, PermissionError):
        return Sample(None, None)
    lines = text.decode("utf-8", "replace").lstrip("\ufeff").splitlines()
    tokens = lines[0].split() if lines else []
    if not looks_like_header(tokens):
        return Sample(None, None)
    return Sample(tuple(tokens), _last_end(tokens, lines[1:]))


def _last_end(header: list[str], lines: list[str]) -> int | None:
    if "end" not in header:
        return None
    at = header.index("end")
    ends = []
    for line in lines:
        values = line.split()
        if len(values) == len(header) and values[at].isdigit():
            ends.append(int(values[at]))
    return max(ends, default=None)


def samples_of(backend, objects: list[StoredObject]) -> dict[str, Sample]:
    """Each flow log's newest object, sampled (a flow log's format is fixed when it is
    created, so one object per flow log tells its field order)."""
    newest: dict[str, StoredObject] = {}
    for obj in objects:
        key = obj.flow_log_id or ""
        if key not in newest or (obj.delivered or 0) > (newest[key].delivered or 0):
            newest[key] = obj
    return {key: read_sample(backend, obj) for key, obj in newest.items()}


# --- what a field order enables -------------------------------------------------------------

# The fields whose presence changes what the pages can tell ([enables.*] / [lacks.*] in
# lib/texts/health.toml say what).
NOTED_FIELDS = ("log-status", "flow-direction", "pkt-dst-aws-service", "tcp-flags", "vpc-id",
                "pkt-srcaddr")


def field_order_notes(header: tuple[str, ...] | None, lang: str = "en"
                      ) -> tuple[list[str], list[str]]:
    """What a field order enables and what it lacks, in plain words."""
    if header is None:
        return [], [health_text("unknown-order", lang)]
    enables = [i18n.pick(_CATALOGUE["enables"][name], lang) for name in NOTED_FIELDS
               if name in header]
    lacks = [i18n.pick(_CATALOGUE["lacks"][name], lang) for name in NOTED_FIELDS
             if name not in header]
    return enables, lacks


# --- the report -----------------------------------------------------------------------------

@dataclass
class FlowLogHealth:
    account: str
    region: str
    flow_log_id: str
    objects: int
    first_object: int | None
    last_object: int | None
    missing_hours: list[int]  # delivery hours (UTC epoch) with no object
    # the newest object's delivery time minus its latest record end (normally 5-10
    # minutes; far more means late delivery); None when it could not be read
    delay_s: int | None
    fields: list[str] | None
    enables: list[str]
    lacks: list[str]


@dataclass
class HealthReport:
    start: int
    end: int
    flow_logs: list[FlowLogHealth]
    hours: list[dict]  # per account, region, hour: objects, records, nodata, skipdata, missing
    gaps: list[Gap]
    gaps_limited: bool = False  # the gap query returned its limit: there may be more
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        return {"start": self.start, "end": self.end,
                "flow_logs": [asdict(f) for f in self.flow_logs], "hours": self.hours,
                "gaps": [asdict(g) for g in self.gaps],
                "gaps_limited": self.gaps_limited, "notes": self.notes}


def _hours(start: int, end: int) -> list[int]:
    return list(range(start - start % HOUR_S, end, HOUR_S))


def report(hour_rows: list[dict], gap_rows: list[dict], objects: list[StoredObject],
           samples: dict[str, Sample], start: int, end: int,
           lang: str = "en", gap_limit: int = GAP_LIMIT) -> HealthReport:
    """The health of [start, end): flow logs, hours, gaps and delivery delays."""
    hours = _hours(start, end)
    by_log: dict[tuple, list[StoredObject]] = defaultdict(list)
    for obj in objects:
        by_log[(obj.account, obj.region, obj.flow_log_id or "")].append(obj)
    delivered = [o.delivered for o in objects if o.delivered is not None]
    # The store's delivery span: an hour inside it without an object of a flow log that
    # delivers is a gap (logging off, deleted, or late); outside it nothing was delivered.
    span = (min(delivered) - min(delivered) % HOUR_S, max(delivered)) if delivered else None
    flow_logs = []
    for (account, region, log_id), objs in sorted(by_log.items()):
        seen = {o.delivered - o.delivered % HOUR_S for o in objs if o.delivered is not None}
        # whole hours only: an hour the range cuts may just hold no slot of a quiet log
        missing = [h for h in hours if span and span[0] <= h <= span[1] and h not in seen
                   and start <= h and h + HOUR_S <= end]
        sample = samples.get(log_id, Sample(None, None))
        enables, lacks = field_order_notes(sample.fields, lang)
        times = [o.delivered for o in objs if o.delivered is not None]
        last = max(times, default=None)
        delay = last - sample.last_end if last is not None and sample.last_end else None
        flow_logs.append(FlowLogHealth(account, region, log_id, len(objs),
                                       min(times, default=None), last, missing, delay,
                                       list(sample.fields) if sample.fields else None,
                                       enables, lacks))
    return HealthReport(start, end, flow_logs, _hour_rows(hour_rows, objects, flow_logs, hours),
                        gaps_from(gap_rows, start, end),
                        gaps_limited=len(gap_rows) >= gap_limit)


def _hour_rows(hour_rows, objects, flow_logs, hours) -> list[dict]:
    """Per account, region and hour: objects delivered, records (by record start), NODATA
    and SKIPDATA records, and whether a flow log of it delivered nothing that hour."""
    records = {(r["log_account"], r["log_region"], r["hour_start"]): r for r in hour_rows}
    counts: dict[tuple, int] = defaultdict(int)
    for obj in objects:
        if obj.delivered is not None:
            counts[(obj.account, obj.region, obj.delivered - obj.delivered % HOUR_S)] += 1
    missing: dict[tuple, list[str]] = defaultdict(list)
    for log in flow_logs:
        for hour in log.missing_hours:
            missing[(log.account, log.region, hour)].append(log.flow_log_id)
    places = sorted({(a, r) for a, r, _ in records} | {(o.account, o.region) for o in objects})
    out = []
    for account, region in places:
        for hour in hours:
            row = records.get((account, region, hour), {})
            out.append({"account": account, "region": region, "hour_start": hour,
                        "objects": counts.get((account, region, hour), 0),
                        "records": int(row.get("records") or 0),
                        "nodata": int(row.get("nodata") or 0),
                        "skipdata": int(row.get("skipdata") or 0),
                        "missing_flow_logs": missing.get((account, region, hour), [])})
    return out


def missing_for(report_: HealthReport, accounts=None) -> list[dict]:
    """Hours in which a flow log of these accounts (all: None) delivered nothing."""
    return [h for h in report_.hours if h["missing_flow_logs"]
            and (not accounts or h["account"] in accounts)]


# --- words: the note under Search results, the page's labels ---------------------------------

# The words are in lib/texts/health.toml (see lib/i18n.py).
_CATALOGUE = i18n.catalogue("health")
HEALTH_TEXTS, HEALTH_HEADINGS = _CATALOGUE["texts"], _CATALOGUE["columns"]
NOTE_MAX_GAPS = 5


def health_text(key: str, lang: str = "en", **values) -> str:
    return i18n.fill(HEALTH_TEXTS[key], lang, **values)


def gap_text(gap: Gap, zone: str | None) -> str:
    """'eni-… (012345678901 us-east-1) 2026-11-26 09:00:00 – 09:10:00'."""
    from lib.timeutil import format_local

    first, last = format_local(gap.start, zone), format_local(gap.end, zone)
    if first and last and first[:10] == last[:10]:
        last = last[11:]
    return f"{gap.interface_id} ({gap.account} {gap.region}) {first} – {last}"


def search_gaps(gaps: list[Gap], filters: Filters) -> list[Gap]:
    """SKIPDATA gaps a search's answer may miss records in: of the filtered interfaces, else
    of every interface of the accounts it read (the gap query reads only those)."""
    return overlapping(gaps, interfaces=set(filters.interface_ids) or None)


def gap_note(gaps: list[Gap], zone: str | None, lang: str = "en") -> str | None:
    """One sentence naming the gaps (at most NOTE_MAX_GAPS), or None without any."""
    if not gaps:
        return None
    listed = "; ".join(gap_text(g, zone) for g in gaps[:NOTE_MAX_GAPS])
    if len(gaps) > NOTE_MAX_GAPS:
        listed += health_text("more", lang, n=len(gaps) - NOTE_MAX_GAPS)
    return health_text("gap-note", lang, gaps=listed)


def store_backend(settings):
    """The store the Records page browses (``s3_location``, else ``data_dir``): the objects
    the engine's records come from. None with Athena and no ``s3_location``: the local
    ``data_dir`` is not what Athena reads."""
    from lib import objects

    if settings.engine == "athena" and not settings.s3_location:
        return None
    return objects._backend(settings)  # one backend per configuration (it caches listings)


def collect(hour_rows: list[dict], gap_rows: list[dict], backend, filters: Filters,
            scope: Scope, lang: str = "en") -> HealthReport:
    """The report from the two queries' rows and a listing of the store within scope
    (without a store: the records' part only, and a note saying so)."""
    if backend is None:
        result = report(hour_rows, gap_rows, [], {}, filters.start, filters.end, lang)
        result.notes.append(health_text("no-store", lang))
        return result
    folders = day_folders(backend, filters, scope)
    stored = list_stored_objects(backend, filters, folders[:MAX_LISTED_FOLDERS])
    result = report(hour_rows, gap_rows, stored, samples_of(backend, stored), filters.start,
                    filters.end, lang)
    if len(folders) > MAX_LISTED_FOLDERS:
        oldest = folders[MAX_LISTED_FOLDERS - 1].day
        result.notes.append(health_text("folders-limited", lang, n=MAX_LISTED_FOLDERS,
                                        total=len(folders), day="-".join(oldest)))
    return result



# --- the page's tables and chart ------------------------------------------------------------

def column(key: str, lang: str) -> str:
    return i18n.pick(HEALTH_HEADINGS[key], lang)


def flow_logs_frame(report_: HealthReport, zone: str | None, lang: str = "en"):
    import pandas as pd

    from lib.timeutil import format_local

    rows = [{column("account", lang): f.account, column("region", lang): f.region,
             column("flow_log_id", lang): f.flow_log_id, column("objects", lang): f.objects,
             column("last_object", lang): format_local(f.last_object, zone),
             column("delay", lang): None if f.delay_s is None else round(f.delay_s / 60, 1),
             column("missing", lang): ", ".join(format_local(h, zone)[:16]
                                                 for h in f.missing_hours),
             column("enables", lang): " · ".join(f.enables),
             column("lacks", lang): " · ".join(f.lacks)} for f in report_.flow_logs]
    return pd.DataFrame(rows, columns=[column(k, lang) for k in (
        "account", "region", "flow_log_id", "objects", "last_object", "delay", "missing",
        "enables", "lacks")])


def hours_frame(report_: HealthReport, zone: str | None, lang: str = "en"):
    import pandas as pd

    from lib.timeutil import format_local

    rows = [{column("account", lang): h["account"], column("region", lang): h["region"],
             column("hour", lang): format_local(h["hour_start"], zone)[:16],
             column("objects", lang): h["objects"], column("records", lang): h["records"],
             column("nodata", lang): h["nodata"], column("skipdata", lang): h["skipdata"],
             column("missing", lang): ", ".join(h["missing_flow_logs"])}
            for h in report_.hours]
    return pd.DataFrame(rows, columns=[column(k, lang) for k in (
        "account", "region", "hour", "objects", "records", "nodata", "skipdata", "missing")])


def gaps_frame(gaps: list[Gap], zone: str | None, lang: str = "en"):
    import pandas as pd

    from lib.glossary import log_status_label
    from lib.timeutil import format_local

    rows = [{column("interface", lang): g.interface_id, column("account", lang): g.account,
             column("region", lang): g.region, column("status", lang): g.status,
             column("from", lang): format_local(g.start, zone),
             column("to", lang): format_local(g.end, zone),
             column("records", lang): g.records,
             column("meaning", lang): log_status_label(g.status, lang)} for g in gaps]
    return pd.DataFrame(rows, columns=[column(k, lang) for k in (
        "interface", "account", "region", "status", "from", "to", "records", "meaning")])


def hours_chart(report_: HealthReport, lang: str = "en"):
    """Objects per hour and account/region; a red band marks each hour in which a flow log
    delivered nothing (a gap a reader must not take for "no traffic")."""
    import altair as alt
    import pandas as pd

    frame = pd.DataFrame([{"time": pd.Timestamp(h["hour_start"], unit="s", tz="UTC"),
                           "end": pd.Timestamp(h["hour_start"] + HOUR_S, unit="s", tz="UTC"),
                           "place": f"{h['account']} {h['region']}", "objects": h["objects"],
                           "gap": ", ".join(h["missing_flow_logs"])}
                          for h in report_.hours],
                         columns=["time", "end", "place", "objects", "gap"])
    x = alt.X("time:T", title=column("hour", lang), scale=alt.Scale(type="utc"))
    tooltip = ["place:N", alt.Tooltip("time:T", format="%Y-%m-%d %H:%M", title="UTC"),
               alt.Tooltip("objects:Q", title=column("objects", lang)),
               alt.Tooltip("gap:N", title=column("missing", lang))]
    bars = alt.Chart().mark_bar(color="#4c78a8").encode(
        x=x, y=alt.Y("objects:Q", title=column("objects", lang)), tooltip=tooltip)
    gaps = (alt.Chart().mark_rect(color="#d1495b", opacity=0.5)
            .encode(x=x, x2="end:T", tooltip=tooltip).transform_filter("datum.gap != ''"))
    return (alt.layer(gaps, bars, data=frame).properties(height=70)
            .facet(row=alt.Row("place:N", title=None)))


# --- what the connection check cannot see (issue 22) -----------------------------------------
# A verdict that rests on absence ("no records", "no response") is only true if the logs
# were complete for the interfaces of the source and the destination over the window. The
# check asks three more questions, independent of its own query (so they run beside it):
# which interfaces own the checked addresses (owners, around the window), the SKIPDATA
# records of the window (log-gaps), and the records per account, region and hour around it
# (health): an hour without a single record, between hours with records, is an hour whose
# objects are missing (logging off, deleted or late).

OWNER_CONTEXT_S = 3600  # an interface's own records this long around the window tell its address
HOURS_CONTEXT_S = 2 * 3600  # hours with records this long around the window show the logging was on


def _around(filters: Filters, seconds: int, align: int = 1) -> Filters:
    start = max(EARLIEST, filters.start - seconds)
    end = filters.end + seconds
    return filters.with_(start=start - start % align, end=-(-end // align) * align)


def check_context_queries(filters: Filters, scope: Scope, addresses: tuple[str, ...]
                    ) -> dict[str, Query]:
    """The check's context: owners (when it names single addresses), gaps, hours. Only
    time, accounts and regions of ``filters`` apply."""
    plain = Filters(start=filters.start, end=filters.end, accounts=filters.accounts,
                    regions=filters.regions)
    queries = {"gaps": gaps_query(plain, scope),
               "hours": hours_query(_around(plain, HOURS_CONTEXT_S, HOUR_S), scope)}
    if addresses:
        queries["owners"] = Query("owners", _around(plain, OWNER_CONTEXT_S), scope=scope,
                                  addresses=addresses)
    return queries


@dataclass(frozen=True)
class Interface:
    """An interface of the source or the destination, and where its logs are stored."""

    interface_id: str
    side: str  # source | destination
    account: str | None
    region: str | None


@dataclass(frozen=True)
class MissingHour:
    account: str
    region: str
    start: int  # the hour (UTC epoch)
    end: int


@dataclass
class LogCoverage:
    """What the logs could not see of a check's interfaces over its window."""

    interfaces: list[Interface]
    gaps: list[Gap]  # SKIPDATA of those interfaces overlapping the window
    missing: list[MissingHour]  # hours without any record of their accounts and regions

    @property
    def complete(self) -> bool:
        return not self.gaps and not self.missing

    def side_of(self, interface_id: str) -> str | None:
        return next((i.side for i in self.interfaces if i.interface_id == interface_id), None)


def owner_interfaces(rows: list[dict], in_source, in_destination) -> list[Interface]:
    """Interfaces of the owners query whose own address is the source's or destination's
    (``in_source``/``in_destination``: address text -> bool)."""
    out = []
    for row in rows:
        address = row.get("address")
        for side, inside in (("source", in_source), ("destination", in_destination)):
            if address and inside(address) and row.get("interface_id"):
                out.append(Interface(row["interface_id"], side, row.get("log_account"),
                                     row.get("log_region")))
    return out


def missing_hours(hour_rows: list[dict], places: set[tuple[str, str]], start: int, end: int
                  ) -> list[MissingHour]:
    """Hours overlapping [start, end) in which an account and region had no record at all,
    though it had records before and after (within the rows' context)."""
    seen: dict[tuple[str, str], set[int]] = defaultdict(set)
    for row in hour_rows:
        if int(row.get("records") or 0):
            seen[(row["log_account"], row["log_region"])].add(int(row["hour_start"]))
    out = []
    for place in sorted(p for p in places if p[0] and p[1]):
        hours = seen.get(place, set())
        for hour in _hours(start, end):
            if hour not in hours and any(h < hour for h in hours) and any(h > hour for h in hours):
                out.append(MissingHour(place[0], place[1], hour, hour + HOUR_S))
    return out


def coverage(interfaces: list[Interface], gap_rows: list[dict], hour_rows: list[dict],
             start: int, end: int) -> LogCoverage:
    """The gaps and missing hours of the check's interfaces over [start, end)."""
    unique = list(dict.fromkeys(interfaces))
    ids = {i.interface_id for i in unique}
    gaps = overlapping(gaps_from(gap_rows, start, end), interfaces=ids) if ids else []
    places = {(i.account, i.region) for i in unique if i.account and i.region}
    return LogCoverage(unique, gaps, missing_hours(hour_rows, places, start, end))
