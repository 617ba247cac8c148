"""Athena rollups, built by Athena: the Traffic page's closed days pre-aggregated in Parquet.

One table ``<athena_table>_rollup`` (Parquet, partitioned by ``day`` = 'YYYY-MM-DD' of the
records' start, at ``athena_rollup_location``) holds per clock hour x account x region the
dimensions the Traffic page groups by: source and destination address and action, plus,
for rejected records only, destination port, protocol and whether the record looks like a
request (accepted traffic needs no ports on the page, and its ephemeral response ports
would keep almost every record apart). Each row carries the sums of bytes and packets, the
number of records and the first and last start, so every section of the page's one-scan
query (lib.query "traffic" kind) comes out exactly as from the records.

``python -m lib.cli athena rollup --since D [--until D]`` builds it with Athena itself: per
closed day (every record of it delivered: the day's end plus ``late_margin_s`` has passed)
it deletes that day's objects, runs ``INSERT INTO … SELECT … GROUP BY`` over the raw table
and then writes a ``_flowscope_done`` marker (Athena skips files starting with ``_``), so
re-running a day replaces it, never doubles it, and a day without its marker is never read.

The page reads the days whose marker it finds (an S3 listing, cached) from the rollup table
and everything else (the edges of the range, the open tail, days not built) from the raw
table, in the same single query.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlglot import exp

from lib.athena_ddl import check_name, normalise_location
from lib.query import (
    BUNDLE_ROWS,
    FLOWS,
    Query,
    Target,
    alias,
    cidr_predicate,
    col,
    filter_predicates,
    flows_table,
    hour_of_day,
    in_list,
    is_request,
    lit,
    logical,
    traffic_rows,
    union_all,
    with_source,
)

DONE_MARKER = "_flowscope_done"
HOUR = 3600
DAY = 86400
ROLLUP_COLUMNS = (("log_account", "string"), ("log_region", "string"), ("hour_start", "bigint"),
                  ("srcaddr", "string"), ("dstaddr", "string"), ("action", "string"),
                  ("dstport", "int"), ("protocol", "int"), ("request", "int"),
                  ("interface_id", "string"), ("flow_direction", "string"),
                  ("instance_id", "string"), ("vpc_id", "string"),
                  ("bytes", "bigint"), ("packets", "bigint"), ("records", "bigint"),
                  ("first_start", "bigint"), ("last_start", "bigint"))
COVERAGE_TTL_S = 300


def rollup_table_name(settings) -> str:
    return check_name("table", f"{settings.athena_table}_rollup")


def rollup_location(settings) -> str:
    """s3://bucket/prefix/ of the rollup table ('' when rollups are off)."""
    if not settings.athena_rollup_location:
        return ""
    return normalise_location(settings.athena_rollup_location) + "/"


def create_rollup_sql(settings, location: str | None = None, database: str | None = None,
                      table: str | None = None) -> str:
    """CREATE EXTERNAL TABLE of the rollup (Glue partitions: INSERT INTO adds each day).
    DDL text in the same form as lib.athena_ddl's tables (names checked by check_name, the
    location normalised); every query is built as an AST."""
    location = normalise_location(location or settings.athena_rollup_location) + "/"
    database = check_name("database", database or settings.athena_database)
    table = check_name("table", table or rollup_table_name(settings))
    body = ",\n".join(f"  `{name}` {kind}" for name, kind in ROLLUP_COLUMNS)
    return (f"CREATE EXTERNAL TABLE IF NOT EXISTS `{database}`.`{table}` (\n{body}\n)\n"
            f"PARTITIONED BY (`day` string)\nSTORED AS PARQUET\nLOCATION '{location}'\n"
            "TBLPROPERTIES ('parquet.compression' = 'SNAPPY')")


def _table(database: str, name: str) -> exp.Table:
    return exp.Table(this=exp.to_identifier(name, quoted=True),
                     db=exp.to_identifier(database, quoted=True))


def rollup_insert_sql(settings, day: date, raw_target: Target) -> str:
    """INSERT INTO the rollup the aggregates of one day's records (their start's day)."""
    from lib.filters import Filters
    from lib.query import ALL_ACCOUNTS

    start = int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp())
    query = Query("search", Filters(start=start, end=start + DAY), scope=ALL_ACCOUNTS)
    rejected = col("action").eq(lit("REJECT"))
    hour_start = exp.Sub(this=col("start"), expression=exp.Mod(this=col("start"),
                                                               expression=lit(HOUR)))
    keys = [col("log_account"), col("log_region"), hour_start, col("srcaddr"),
            col("dstaddr"), col("action"),
            exp.Case().when(rejected, col("dstport")),
            exp.Case().when(rejected, col("protocol")),
            exp.Case().when(exp.and_(rejected, is_request()), lit(1)).else_(lit(0)),
            # The labels' dimensions (each interface's own address, instance, VPC): the
            # interface that logged a record sees one peer per pair, so few more rows.
            col("interface_id"), col("flow_direction"), col("instance_id"), col("vpc_id")]
    names = [name for name, _ in ROLLUP_COLUMNS[:13]]
    select = (exp.select(*[k.copy().as_(n) for k, n in zip(keys, names, strict=True)],
                         exp.cast(exp.func("SUM", col("bytes")), "BIGINT").as_("bytes"),
                         exp.cast(exp.func("SUM", col("packets")), "BIGINT").as_("packets"),
                         exp.cast(exp.func("COUNT", exp.Star()), "BIGINT").as_("records"),
                         exp.func("MIN", col("start")).as_("first_start"),
                         exp.func("MAX", col("start")).as_("last_start"),
                         lit(day.isoformat()).as_("day"))
              .from_(exp.Table(this=exp.to_identifier("flows")))
              .where(*filter_predicates(query, "athena"),
                     *raw_target.partition_predicates(query))
              .group_by(*[k.copy() for k in keys]))
    source = exp.select(exp.Star()).from_(raw_target.source)
    insert = exp.Insert(this=_table(settings.athena_database, rollup_table_name(settings)),
                        expression=select.with_("flows", as_=source))
    return insert.sql(dialect="athena", identify=True)


# --- which days are built -------------------------------------------------------------------

def closed_days(since: date, until: date, now: int, late_margin_s: int) -> list[date]:
    """Days whose every record has been delivered (their end + the late margin is past)."""
    out, day = [], since
    while day <= until:
        end = int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()) + DAY
        if end + late_margin_s <= now:
            out.append(day)
        day += timedelta(days=1)
    return out


class Coverage:
    """The days the rollup holds (those with a done marker), listed from S3, cached."""

    def __init__(self, settings, client_factory, ttl_s: float = COVERAGE_TTL_S):
        self.settings = settings
        self._client = client_factory
        self.ttl_s = ttl_s
        self._at = -1e18
        self._days: frozenset[date] = frozenset()

    def days(self) -> frozenset[date]:
        if time.monotonic() - self._at > self.ttl_s:
            self._days = frozenset(list_done_days(self._client(), rollup_location(self.settings)))
            self._at = time.monotonic()
        return self._days


def _split(location: str) -> tuple[str, str]:
    bucket, _, prefix = location.removeprefix("s3://").partition("/")
    return bucket, prefix


def list_done_days(s3, location: str) -> list[date]:
    bucket, prefix = _split(location)
    days = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            key = item["Key"][len(prefix):]
            folder, _, name = key.rpartition("/")
            if name == DONE_MARKER and folder.startswith("day="):
                try:
                    days.append(date.fromisoformat(folder[4:]))
                except ValueError:
                    continue
    return sorted(days)


# --- the Traffic page over rollups and raw pieces --------------------------------------------

RAW_ONLY_FILTERS = ("src_ports", "dst_ports", "protocols", "interface_ids", "vpc_ids",
                     "subnet_ids")


def usable(query: Query) -> bool:
    """The rollup answers the traffic kind (with buckets of whole hours) and the labels
    kind exactly, for filters on its dimensions (time, accounts, regions, addresses,
    action); other filters need the records."""
    f = query.filters
    if any(getattr(f, name) for name in RAW_ONLY_FILTERS):
        return False
    return (query.kind == "traffic" and query.bucket % HOUR == 0) or query.kind == "labels"


LABEL_COLUMNS = ("log_account", "log_region", "start", "interface_id", "srcaddr", "dstaddr",
                 "flow_direction", "instance_id", "vpc_id", "action", "records")


def labels_over_rollups(settings, query: Query, target: Target, cut: Plan) -> str:
    """The labels kind over rollup rows (whole hours of built days) and records (the rest):
    its per-conversation COUNT(*) becomes the sum of the rows' record counts."""
    from dataclasses import replace

    parts = []
    for lo, hi in cut.rollup:
        first = datetime.fromtimestamp(lo, UTC).date()
        last = datetime.fromtimestamp(hi - 1, UTC).date()
        columns = [col("hour_start").as_("start") if c == "start" else col(c)
                   for c in LABEL_COLUMNS]
        parts.append(exp.select(*columns)
                     .from_(_table(settings.athena_database, rollup_table_name(settings)))
                     .where(col("day").between(lit(first.isoformat()), lit(last.isoformat())),
                            col("hour_start") >= lit(lo), col("hour_start") < lit(hi)))
    for lo, hi in cut.raw:
        piece = replace(query, filters=query.filters.with_(start=lo, end=hi))
        parts.append(exp.select(*[lit(1).as_("records") if c == "records" else col(c)
                                  for c in LABEL_COLUMNS])
                     .from_(target.source.copy())
                     .where(col("start") >= lit(lo), col("start") < lit(hi),
                            *target.partition_predicates(piece)))
    tree = with_source(logical(query, "athena"), union_all(parts))
    for count in list(tree.find_all(exp.Count)):
        if isinstance(count.this, exp.Star):
            count.replace(exp.func("SUM", col("records")))
    return tree.sql(dialect="athena", identify=True)


@dataclass(frozen=True)
class Plan:
    rollup: list[tuple[int, int]]  # [lo, hi) ranges of whole hours read from the rollup
    raw: list[tuple[int, int]]  # the rest, read from the records


def plan(start: int, end: int, days: frozenset[date]) -> Plan:
    """Cut [start, end) into whole hours of built days (rollup) and the rest (raw)."""
    rollup, raw = [], []
    hour = -(-start // HOUR) * HOUR
    cursor = start
    while hour + HOUR <= end:
        day = datetime.fromtimestamp(hour, UTC).date()
        if day in days:
            if cursor < hour:
                raw.append((cursor, hour))
            if rollup and rollup[-1][1] == hour:
                rollup[-1] = (rollup[-1][0], hour + HOUR)
            else:
                rollup.append((hour, hour + HOUR))
            cursor = hour + HOUR
        hour += HOUR
    if cursor < end:
        raw.append((cursor, end))
    return Plan(rollup, raw)


def rollup_rows(settings, query: Query, lo: int, hi: int) -> exp.Select:
    """The rollup's rows for [lo, hi) as the traffic kind's rows, with the query's filters."""
    f = query.filters
    first = datetime.fromtimestamp(lo, UTC).date()
    last = datetime.fromtimestamp(hi - 1, UTC).date()
    where = [col("day").between(lit(first.isoformat()), lit(last.isoformat())),
             col("hour_start") >= lit(lo), col("hour_start") < lit(hi)]
    accounts = query.accounts
    if accounts is not None:
        where.append(in_list("log_account", accounts) if accounts else exp.false())
    if f.regions:
        where.append(in_list("log_region", f.regions))
    if f.src is not None:
        where.append(cidr_predicate("srcaddr", f.src, "athena"))
    if f.dst is not None:
        where.append(cidr_predicate("dstaddr", f.dst, "athena"))
    if f.action:
        where.append(col("action").eq(lit(f.action)))
    hour = hour_of_day().transform(
        lambda n: col("hour_start") if isinstance(n, exp.Column) and n.name == "start" else n)
    bucket_start = exp.Sub(this=col("hour_start"), expression=exp.Mod(
        this=col("hour_start"), expression=lit(query.bucket)))
    return (exp.select(col("srcaddr"), col("dstaddr"), col("action"), col("dstport"),
                       col("protocol"), col("bytes"), col("packets"), col("hour_start"),
                       bucket_start.as_("bucket_start"), hour.as_("hour"), col("request"),
                       col("records"), col("first_start"), col("last_start"))
            .from_(_table(settings.athena_database, rollup_table_name(settings)))
            .where(*where))


def traffic_over_rollups(settings, query: Query, target: Target, cut: Plan) -> str:
    """The traffic kind's SQL reading the rollup for ``cut.rollup`` and the records (with
    day partitions of their own range only) for ``cut.raw``."""
    from dataclasses import replace

    parts = [rollup_rows(settings, query, lo, hi) for lo, hi in cut.rollup]
    for lo, hi in cut.raw:
        piece = replace(query, filters=query.filters.with_(start=lo, end=hi))
        select = (exp.select().from_(flows_table())
                  .where(*filter_predicates(piece, "athena"),
                         *target.partition_predicates(piece)))
        source = exp.select(exp.Star()).from_(target.source.copy())
        parts.append(traffic_rows(select, query.bucket).with_(FLOWS, as_=source))
    pieces = [exp.select(exp.Star()).from_(alias(part, f"piece_{n}"))
              for n, part in enumerate(parts)]
    # The built query's bundle, its rows (the records of the whole range) replaced by these.
    tree = logical(query, "athena").copy()
    rows = next(s for s in tree.find_all(exp.Subquery) if s.alias == BUNDLE_ROWS)
    rows.set("this", union_all(pieces))
    return tree.sql(dialect="athena", identify=True)


# --- building (the CLI and the schedule) -------------------------------------------------------

def s3_client(settings):
    """S3 with the Athena credentials, through athena_role_arn like Athena itself."""
    from lib.awsclients import settings_session

    session = settings_session(settings, "flowscope-rollup")
    endpoint = settings.s3_endpoint_url or settings.athena_endpoint_url or None
    return session.client("s3", endpoint_url=endpoint)


def clear_day(s3, location: str, day: date) -> int:
    """Delete a day's rollup objects (marker first: the day stops being read at once)."""
    bucket, prefix = _split(location)
    folder = f"{prefix}day={day.isoformat()}/"
    keys = [item["Key"] for page in s3.get_paginator("list_objects_v2").paginate(
        Bucket=bucket, Prefix=folder) for item in page.get("Contents", [])]
    keys.sort(key=lambda k: not k.endswith(DONE_MARKER))
    for key in keys:
        s3.delete_object(Bucket=bucket, Key=key)
    return len(keys)


def mark_done(s3, location: str, day: date) -> None:
    bucket, prefix = _split(location)
    s3.put_object(Bucket=bucket, Key=f"{prefix}day={day.isoformat()}/{DONE_MARKER}", Body=b"")


def build_days(settings, engine, days: list[date], s3=None, report=print) -> list[dict]:
    """(Re)build the rollup of each day with Athena (an AthenaEngine: its target is the raw
    table and its partitions): clear, INSERT INTO … SELECT, mark."""
    location = rollup_location(settings)
    if not location:
        raise ValueError("set athena_rollup_location (s3://bucket/prefix/ for the rollup)")
    s3 = s3 or s3_client(settings)
    target = engine.target
    done = []
    for day in days:
        removed = clear_day(s3, location, day)
        result = engine.run_statement(rollup_insert_sql(settings, day, target))
        mark_done(s3, location, day)
        done.append({"day": day.isoformat(), "replaced_objects": removed,
                     "scanned_bytes": result.scanned_bytes, "query_id": result.query_id})
        report(f"{day}: rolled up ({(result.scanned_bytes or 0) / 1e6:,.1f} MB scanned"
               + (f", {removed} old objects replaced" if removed else "") + ")")
    return done
