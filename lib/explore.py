"""Explore (issue 19): group the records by one to three fields from a fixed list, with one
measure, the top N largest first. No query language: every field, measure and condition is
picked from the lists below and validated here; lib/query.py (``build_group``) turns a
``GroupQuery`` into the one AST both engines run.

Field names are the AWS names users read in the docs (``dstport``, ``pkt-dst-aws-service``),
plus address prefixes (``srcaddr/24``), ``account`` and ``region`` (the account and region
folder a record was stored under, as the sidebar filters use them) and ``hour`` / ``day``
(UTC epoch buckets of a record's start; shown in the viewer's zone by the page only).

Prefixes: ``srcaddr/24`` gives an IPv4 address's ``a.b.c.0/24`` and an IPv6 address's /48
(``2001:db8:7::/48``), ``srcaddr/16`` the IPv4 /16 and the IPv6 /32, written as Python's
ipaddress writes networks (so a row's prefix is a valid Search filter). Importable without
Streamlit.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from lib import filters as filtering
from lib import i18n, timeutil
from lib.filters import Filters, InvalidValue, IPNetwork, PortRange
from lib.querycore import MAX_LIMIT, Query, QueryError


@dataclass(frozen=True)
class GroupField:
    name: str  # what users, URLs and the command line call it (AWS names, hyphenated)
    column: str  # the logical `flows` column it is computed from
    kind: str  # address | prefix | port | protocol | number | text | time
    size: int = 0  # prefix length, or seconds per time bucket
    choices: tuple[str, ...] = ()  # the values a text field may be compared with
    pattern: str = ""  # the form a text field's value must have (when no choices)
    filter_key: str | None = None  # the Search filter (lib.filters.KEYS) it drills into
    top_value: int = 0  # number fields: the largest value

    @property
    def alias(self) -> str:
        """The result column's name: a plain identifier on both engines."""
        if self.kind == "time":
            return f"{self.name}_start"
        return self.name.replace("/", "_") if self.kind == "prefix" else self.column


_ID = {"interface-id": r"eni-[0-9a-f]{8,17}", "vpc-id": r"vpc-[0-9a-f]{8,17}",
       "subnet-id": r"subnet-[0-9a-f]{8,17}", "account": r"[0-9]{12}",
       "region": r"[a-z]{2}(-[a-z]+)+-[0-9]{1,2}",
       "service": r"[A-Z0-9_]{1,64}"}

EXPLORE_FIELDS: tuple[GroupField, ...] = (
    GroupField("srcaddr", "srcaddr", "address", filter_key="src"),
    GroupField("dstaddr", "dstaddr", "address", filter_key="dst"),
    GroupField("srcaddr/24", "srcaddr", "prefix", 24, filter_key="src"),
    GroupField("srcaddr/16", "srcaddr", "prefix", 16, filter_key="src"),
    GroupField("dstaddr/24", "dstaddr", "prefix", 24, filter_key="dst"),
    GroupField("dstaddr/16", "dstaddr", "prefix", 16, filter_key="dst"),
    GroupField("srcport", "srcport", "port", filter_key="src_port"),
    GroupField("dstport", "dstport", "port", filter_key="dst_port"),
    GroupField("protocol", "protocol", "protocol", filter_key="protocol"),
    GroupField("interface-id", "interface_id", "text", pattern=_ID["interface-id"],
               filter_key="eni"),
    GroupField("vpc-id", "vpc_id", "text", pattern=_ID["vpc-id"], filter_key="vpc"),
    GroupField("subnet-id", "subnet_id", "text", pattern=_ID["subnet-id"], filter_key="subnet"),
    GroupField("account", "log_account", "text", pattern=_ID["account"], filter_key="account"),
    GroupField("region", "log_region", "text", pattern=_ID["region"], filter_key="region"),
    GroupField("action", "action", "text", choices=("ACCEPT", "REJECT"), filter_key="action"),
    GroupField("pkt-src-aws-service", "pkt_src_aws_service", "text", pattern=_ID["service"]),
    GroupField("pkt-dst-aws-service", "pkt_dst_aws_service", "text", pattern=_ID["service"]),
    GroupField("tcp-flags", "tcp_flags", "number", top_value=255),
    GroupField("flow-direction", "flow_direction", "text", choices=("ingress", "egress")),
    GroupField("traffic-path", "traffic_path", "number", top_value=8),
    GroupField("hour", "start", "time", 3600, filter_key="time"),
    GroupField("day", "start", "time", 86400, filter_key="time"),
)
FIELD_BY_NAME: dict[str, GroupField] = {f.name: f for f in EXPLORE_FIELDS}
FIELD_NAMES = tuple(FIELD_BY_NAME)
MAX_FIELDS = 3

# Measure name -> the result column's name.
GROUP_MEASURES = {"flows": "flows", "bytes": "bytes", "packets": "packets",
                  "sources": "sources", "destinations": "destinations",
                  "reject-rate": "reject_rate"}
DEFAULT_FIELDS = ("dstport", "action")  # what a plain Query("group") groups by
DEFAULT_TOP = 20
PAGE_MAX_TOP = 1000  # groups the page shows at most (the command line may ask for MAX_LIMIT)
CHART_MAX_GROUPS = 50  # bars or heatmap rows drawn at most (24 px each)

EXPLORE_TEXTS = i18n.catalogue("explore")


def field_named(name: str) -> GroupField:
    """A field by its name (``_`` taken for ``-``, any case); QueryError naming the list."""
    key = str(name).strip().lower().replace("_", "-")
    found = FIELD_BY_NAME.get(key)
    if found is None:
        raise QueryError(f"{name!r} is not a field to group by (one of {', '.join(FIELD_NAMES)})")
    return found


def parse_fields(names) -> tuple[str, ...]:
    """One to three field names (a list, or one string separated by commas)."""
    items = [n for n in re.split(r"[\s,]+", names) if n] if isinstance(names, str) \
        else [str(n) for n in names or ()]
    fields = tuple(field_named(n).name for n in items)
    if not 1 <= len(fields) <= MAX_FIELDS:
        raise QueryError(f"group by 1 to {MAX_FIELDS} fields (got {len(fields)})")
    if len(set(fields)) != len(fields):
        raise QueryError("a field is named twice")
    return fields


def parse_measure(name: str) -> str:
    key = str(name).strip().lower().replace("_", "-")
    if key not in GROUP_MEASURES:
        raise QueryError(f"{name!r} is not a measure (one of {', '.join(GROUP_MEASURES)})")
    return key


# --- per-field conditions -------------------------------------------------------------------

@dataclass(frozen=True)
class Condition:
    """``field = value``, typed: a network (address fields), port ranges, ints or strings
    (one of several), or a [start, end) time range (hour, day)."""

    field: str
    network: IPNetwork | None = None
    ranges: tuple[PortRange, ...] = ()
    values: tuple[int | str, ...] = ()

    def __post_init__(self):
        spec = field_named(self.field)
        # Exactly the one kind of value the field's predicate reads (lib.query).
        kind = {"address": "network", "prefix": "network", "port": "ranges",
                "time": "ranges"}.get(spec.kind, "values")
        given = {"network": self.network is not None, "ranges": bool(self.ranges),
                 "values": bool(self.values)}
        if not given[kind] or any(present for name, present in given.items() if name != kind):
            raise QueryError(f"a condition on {self.field} needs {kind} only")
        if not all(isinstance(v, int | str) and not isinstance(v, bool) for v in self.values):
            raise QueryError(f"a condition on {self.field} holds a value of no known type")


def parse_condition(name: str, text: str) -> Condition | None:
    """The condition a user typed for a field (None when the text is empty); ValueError
    with a message naming the expected form."""
    spec = field_named(name)
    text = (text or "").strip()
    if not text:
        return None
    if len(text) > filtering.MAX_INPUT:
        raise InvalidValue("too-long", length=len(text), most=filtering.MAX_INPUT)
    if spec.kind in ("address", "prefix"):
        return Condition(spec.name, network=filtering.parse_network(text))
    if spec.kind == "port":
        return Condition(spec.name, ranges=filtering.parse_ports(text))
    if spec.kind == "protocol":
        return Condition(spec.name, values=filtering.parse_protocols(text))
    if spec.kind == "time":
        start = filtering.parse_time_bounded(text)
        start -= start % spec.size
        return Condition(spec.name, ranges=((start, start + spec.size),))
    if spec.kind == "number":
        return Condition(spec.name, values=_numbers(text, spec.top_value))
    return Condition(spec.name, values=_texts(spec, text))


def _numbers(text: str, top: int) -> tuple[int, ...]:
    items = filtering._items(text)
    if not all(i.isascii() and i.isdigit() and int(i) <= top for i in items):
        raise InvalidValue("whole-numbers", value=repr(text), top=top)
    if len(items) > filtering.MAX_ITEMS:
        raise InvalidValue("too-many", most=filtering.MAX_ITEMS)
    return tuple(sorted({int(i) for i in items}))


def _texts(spec: GroupField, text: str) -> tuple[str, ...]:
    items = filtering._items(text)
    if spec.choices:
        chosen = {c.lower(): c for c in spec.choices}
        if not all(i.lower() in chosen for i in items):
            raise InvalidValue("one-of", value=repr(text), choices=", ".join(spec.choices))
        return tuple(sorted({chosen[i.lower()] for i in items}))
    wanted = {i.upper() if spec.pattern == _ID["service"] else i.lower() for i in items}
    if not all(i.isascii() and re.fullmatch(spec.pattern, i) for i in wanted):
        raise InvalidValue(_NOT_A.get(spec.name, "not-valid"), value=repr(text))
    if len(wanted) > filtering.MAX_ITEMS:
        raise InvalidValue("too-many", most=filtering.MAX_ITEMS)
    return tuple(sorted(wanted))


# The message (lib/texts/filters.toml) for a value of the wrong form, per field.
_NOT_A = {"interface-id": "not-eni", "vpc-id": "not-vpc", "subnet-id": "not-subnet",
          "account": "not-account", "region": "not-region",
          "pkt-src-aws-service": "not-service", "pkt-dst-aws-service": "not-service"}


class InvalidConditions(QueryError):
    """Conditions that cannot be used: ``errors`` maps each field to its English message,
    ``messages(lang)`` to the message in a language."""

    def __init__(self, problems: Mapping[str, object]):
        self.problems = dict(problems)
        self.errors = {name: str(problem) for name, problem in self.problems.items()}
        super().__init__("; ".join(f"{k}: {v}" for k, v in self.errors.items()))

    def messages(self, lang: str | None) -> dict[str, str]:
        return {name: problem.message(lang) if isinstance(problem, InvalidValue) else str(problem)
                for name, problem in self.problems.items()}


def parse_conditions(raw: Mapping[str, str]) -> tuple[Condition, ...]:
    """Every typed condition of {field: text}; InvalidConditions naming each bad field."""
    found, errors = [], {}
    for name, text in raw.items():
        try:
            condition = parse_condition(name, text)
        except (ValueError, QueryError) as error:
            errors[name] = error
            continue
        if condition is not None:
            found.append(condition)
    if errors:
        raise InvalidConditions(errors)
    return tuple(sorted(found, key=lambda c: FIELD_NAMES.index(c.field)))


# --- the query ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class GroupQuery(Query):
    """A ``group`` query: its fields, measure and conditions; ``limit`` is the top N."""

    fields: tuple[str, ...] = DEFAULT_FIELDS
    value: str = "flows"  # the measure (GROUP_MEASURES); Query.measure keeps its own meaning
    conditions: tuple[Condition, ...] = field(default=())

    def __post_init__(self):
        super().__post_init__()
        if self.kind != "group":
            raise QueryError("a GroupQuery is of kind group")
        if not isinstance(self.fields, tuple) or parse_fields(self.fields) != self.fields:
            raise QueryError(f"fields must be a tuple of names from {', '.join(FIELD_NAMES)}")
        if self.value not in GROUP_MEASURES:
            raise QueryError(f"measure must be one of {', '.join(GROUP_MEASURES)}")
        if not all(isinstance(c, Condition) for c in self.conditions):
            raise QueryError("conditions must be lib.explore.Condition values")


def group_query(filters: Filters, scope, fields, measure: str = "flows", top: int = DEFAULT_TOP,
                conditions: tuple[Condition, ...] = ()) -> GroupQuery:
    """A validated group query (fields and measure by name, top N rows)."""
    if isinstance(top, bool) or not isinstance(top, int) or not 1 <= top <= MAX_LIMIT:
        raise QueryError(f"top must be 1-{MAX_LIMIT}")
    return GroupQuery("group", filters, scope=scope, fields=parse_fields(fields),
                      value=parse_measure(measure), limit=top, conditions=tuple(conditions))


def options(query: Query) -> tuple[tuple[GroupField, ...], str, tuple[Condition, ...]]:
    """A query's fields, measure and conditions; a plain Query("group") (the engines'
    generic tests) groups by DEFAULT_FIELDS and measures its ``measure``."""
    names = getattr(query, "fields", DEFAULT_FIELDS)
    return (tuple(FIELD_BY_NAME[n] for n in names), getattr(query, "value", query.measure),
            getattr(query, "conditions", ()))


# --- result shaping ------------------------------------------------------------------------------

def records(rows: list[Mapping], query: Query) -> list[dict]:
    """The rows keyed by the field names grouped by plus the measure's name, as the command
    line prints them: ``{"dstport": 443, "action": "ACCEPT", "flows": 1234}``."""
    fields, measure, _ = options(query)
    return [{**{f.name: row[f.alias] for f in fields}, measure: row[GROUP_MEASURES[measure]]}
            for row in rows]


def explore_text(key: str, lang: str | None = "en", group: str = "texts", **values) -> str:
    return i18n.fill(EXPLORE_TEXTS[group][key], lang, **values)


def field_title(name: str, lang: str | None) -> str:
    return explore_text(name, lang, group="fields")


def measure_title(name: str, lang: str | None) -> str:
    return explore_text(name, lang, group="measures")


def shown_value(spec: GroupField, value, zone: str | None) -> str:
    """A group's value as the table shows it: times in the viewer's zone, protocols named,
    no value as a dash."""
    from lib.glossary import protocol_name

    if value is None:
        return "–"
    if spec.kind == "time":
        text = timeutil.format_local(int(value), zone) or ""
        return text[:10] + text[19:] if spec.name == "day" else text[:16] + text[19:]
    if spec.kind == "protocol":
        return protocol_name(value)
    return str(value)


def table(rows: list[Mapping], query: Query, zone: str | None, lang: str | None):
    """The rows for showing: one column per field (named in ``lang``) and the measure."""
    import pandas as pd

    fields, measure, _ = options(query)
    column = GROUP_MEASURES[measure]
    frame = pd.DataFrame({field_title(f.name, lang): [shown_value(f, r[f.alias], zone)
                                                       for r in rows] for f in fields})
    values = [r[column] for r in rows]
    frame[measure_title(measure, lang)] = ([round(v * 100, 2) if v is not None else None
                                           for v in values] if measure == "reject-rate"
                                           else values)
    return frame


def chart_kind(query: Query) -> str:
    """line (a time field is grouped by), heatmap (two fields), or bars."""
    fields, _, _ = options(query)
    if any(f.kind == "time" for f in fields):
        return "line"
    return "heatmap" if len(fields) == 2 else "bars"


def chart_frame(rows: list[Mapping], query: Query, zone: str | None, lang: str | None):
    """The chart's data: ``label`` (every field's value joined), ``x``/``y`` (the first
    two fields' shown values), ``time`` (a time field's bucket as a wall-clock time in the
    viewer's zone), ``series`` (the other fields, for lines) and ``value`` (the measure)."""
    import pandas as pd

    from lib.traffic import wall_clock

    fields, measure, _ = options(query)
    column = GROUP_MEASURES[measure]
    out = []
    for row in rows:
        shown = [shown_value(f, row[f.alias], zone) for f in fields]
        timed = next((f for f in fields if f.kind == "time"), None)
        others = [s for f, s in zip(fields, shown, strict=True) if f is not timed]
        value = row[column]
        out.append({"label": " · ".join(shown), "x": shown[0], "y": shown[-1],
                    "series": " · ".join(others) or measure_title(measure, lang),
                    "time": wall_clock(int(row[timed.alias]), zone)
                    if timed and row[timed.alias] is not None else None,
                    "value": value * 100 if measure == "reject-rate" and value is not None
                    else value})
    return pd.DataFrame(out, columns=["label", "x", "y", "series", "time", "value"])


# --- drill-down: a row becomes Search filters ------------------------------------------------------

def unfilterable(query: Query, row: Mapping) -> list[str]:
    """The fields of a row (grouped, or conditions) Search cannot filter on: AWS service,
    TCP flags, direction and traffic path are no Search filters, and no field can be
    searched for "no value"."""
    fields, _, conditions = options(query)
    names = [f.name for f in fields if f.filter_key is None or row.get(f.alias) is None]
    names += [c.field for c in conditions if FIELD_BY_NAME[c.field].filter_key is None]
    return list(dict.fromkeys(names))


def drill(filters: Filters, query: Query, row: Mapping) -> dict[str, str]:
    """Search filters for a row: the sidebar's, narrowed by the conditions, then by the
    row's own values (fields Search cannot filter on are left out: see unfilterable)."""
    fields, _, conditions = options(query)
    narrowed = filters
    for condition in conditions:
        narrowed = _narrow_by_condition(narrowed, condition)
    for spec in fields:
        value = row.get(spec.alias)
        if spec.filter_key is not None and value is not None:
            narrowed = _narrow(narrowed, spec, value)
    return filtering.to_params(narrowed)


_LIST_FIELDS = {"protocol": "protocols", "eni": "interface_ids", "vpc": "vpc_ids",
                "subnet": "subnet_ids", "account": "accounts", "region": "regions"}


def _narrow_by_condition(f: Filters, condition: Condition) -> Filters:
    spec = FIELD_BY_NAME[condition.field]
    key = spec.filter_key
    if key is None:
        return f
    if key in ("src", "dst"):
        return _narrow_network(f, key, condition.network)
    if key in ("src_port", "dst_port"):
        name = f"{key}s"
        kept = _intersect_ranges(getattr(f, name), condition.ranges) if getattr(f, name) \
            else condition.ranges
        return f.with_(**{name: kept})
    if key == "time":
        start, end = condition.ranges[0]
        return f.with_(start=max(f.start, start), end=max(min(f.end, end), max(f.start, start)))
    if key == "action":
        return f.with_(action=str(condition.values[0])) if len(condition.values) == 1 else f
    name = _LIST_FIELDS[key]
    current = getattr(f, name)
    kept = tuple(v for v in condition.values if not current or v in current)
    return f.with_(**{name: kept or condition.values})


def _narrow(f: Filters, spec: GroupField, value) -> Filters:
    key = spec.filter_key
    if key in ("src", "dst"):
        return _narrow_network(f, key, filtering.parse_network(str(value)))
    if key in ("src_port", "dst_port"):
        return f.with_(**{f"{key}s": ((int(value), int(value)),)})
    if key == "time":
        start = int(value)
        return f.with_(start=max(f.start, start), end=min(f.end, start + spec.size))
    if key == "action":
        return f.with_(action=str(value))
    return f.with_(**{_LIST_FIELDS[key]: (int(value) if key == "protocol" else str(value),)})


def _narrow_network(f: Filters, key: str, network: IPNetwork) -> Filters:
    """The narrower of the filter's network and ``network`` (rows lie inside both)."""
    current = getattr(f, key)
    if current is not None and current.version == network.version \
            and current.subnet_of(network):
        return f
    return f.with_(**{key: network})


def _intersect_ranges(a, b) -> tuple[PortRange, ...]:
    kept = {(max(lo, lo2), min(hi, hi2)) for lo, hi in a for lo2, hi2 in b
            if max(lo, lo2) <= min(hi, hi2)}
    return tuple(sorted(kept)) or tuple(b)


# --- the page's pieces ---------------------------------------------------------------------------

def condition_key(name: str) -> str:
    """A condition box's widget key, which is also its URL parameter."""
    return f"explore_if_{FIELD_BY_NAME[name].alias}"


def chart(rows: list[Mapping], query: Query, zone: str | None, zone_name: str,
          lang: str | None):
    """The chart that fits the grouping (lib.charts): lines over time when hour or day is
    grouped by, a heatmap for two fields, else bars."""
    from lib import charts

    fields, measure, _ = options(query)
    kind = chart_kind(query)
    # Bars and heatmap cells are a row each: the largest groups only (the table has all).
    frame = chart_frame(rows if kind == "line" else rows[:CHART_MAX_GROUPS], query, zone, lang)
    value = measure_title(measure, lang)
    value_format = ",.2f" if measure == "reject-rate" else charts.EXACT
    if kind == "line":
        return charts.group_lines(frame, value,
                                  explore_text("time", lang, "charts", zone=zone_name),
                                  explore_text("series", lang, "charts"), value_format)
    if kind == "heatmap":
        return charts.group_heatmap(frame, value, field_title(fields[0].name, lang),
                                    field_title(fields[1].name, lang), value_format)
    return charts.group_bars(frame, value, " · ".join(field_title(f.name, lang)
                                                      for f in fields), value_format)
