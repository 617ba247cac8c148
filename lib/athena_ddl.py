"""CREATE EXTERNAL TABLE for a central flow log bucket, with partition projection.

The partition columns are ``log_account`` and ``log_region``: the logical columns the query
layer already filters on for the account scope and the account/region filters, so those
filters prune partitions without any extra predicate. The day is a third partition:

- text layout (AWS's default): ``AWSLogs/{account}/vpcflowlogs/{region}/{yyyy}/{mm}/{dd}/``.
  ``log_day`` is a string projected as a date in the format ``yyyy/MM/dd``, which is exactly
  the folder path, so one template segment covers three folders.
- parquet layout (Parquet files with Hive-compatible S3 prefixes, daily):
  ``AWSLogs/aws-account-id={account}/aws-service=vpcflowlogs/aws-region={region}/year={yyyy}/
  month={mm}/day={dd}/``. The day is three string partitions ``year``, ``month``, ``day``
  (two-digit month and day), projected as integers; the query layer names each month
  exactly (``year = .. AND month = .. AND day IN (..)``). Partition projection reads the
  path from the template, so the Hive key names in the path need not match the columns.

Columns: every v2-v8 field under its SQL name (lib/schema.py). Text tables map fields by
position, so the columns follow the flow logs' field order (``fields``; every other known
field follows, empty); one text table therefore serves flow logs that share one format.
Parquet maps by name. Every value placed in the statement is validated first.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date

from lib import schema
from lib.background import BackgroundJob
from lib.filters import parse_ids

LAYOUTS = ("text", "parquet")
_LOCATION = re.compile(r"s3://(?P<bucket>[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9])"
                       r"(?P<prefix>(/[A-Za-z0-9!_.*()=+\-]+)*)/?")
_NAME = re.compile(r"[a-z_][a-z0-9_]{0,127}")
# AWS's own Athena DDL for Parquet flow logs declares protocol bigint; a narrower column
# than the file's would fail, a wider one always reads.
PARQUET_TYPES = {"protocol": "bigint"}


def normalise_location(text: str) -> str:
    """'s3://bucket/prefix' (the folder holding AWSLogs/) without a trailing slash."""
    match = _LOCATION.fullmatch(text.strip())
    if not match:
        raise ValueError(f"{text!r} is not an S3 location such as s3://my-bucket/flow-logs")
    location = f"s3://{match['bucket']}{match['prefix']}"
    return location.removesuffix("/AWSLogs")


def check_name(kind: str, name: str) -> str:
    if not _NAME.fullmatch(name):
        raise ValueError(f"{name!r} is not a valid {kind} name (lower-case letters, digits, _)")
    return name


def _ids(kind: str, values) -> list[str]:
    """Validated IDs, any number (parse_ids caps one filter list; a bucket may hold more
    accounts than that): each item may itself be a comma-separated list."""
    values = [values] if isinstance(values, str) else list(values)
    return sorted({i for v in values for i in parse_ids(kind, v)})


def columns(layout: str, fields: tuple[str, ...] | None = None) -> list[tuple[str, str]]:
    """(column, Athena type) for every field, in the files' order first (text layout)."""
    order = [schema.field_for(name) for name in fields or ()]
    order += [f for f in schema.FIELDS if f.name not in set(fields or ())]
    out = []
    for f in order:
        athena_type = schema.ATHENA_TYPES[f.type]
        if layout == "parquet":
            athena_type = PARQUET_TYPES.get(f.column, athena_type)
        out.append((f.column, athena_type))
    return out


def create_table_sql(location: str, accounts, regions, since: date, layout: str = "text",
                     database: str = "default", table: str = "vpc_flow_logs",
                     fields: tuple[str, ...] | None = None) -> str:
    """The CREATE EXTERNAL TABLE statement; raises ValueError naming a bad argument."""
    if layout not in LAYOUTS:
        raise ValueError(f"format must be one of {', '.join(LAYOUTS)}")
    location = normalise_location(location)
    accounts, regions = _ids("account", accounts), _ids("region", regions)
    if not accounts or not regions:
        raise ValueError("name at least one account and one region")
    name = f"`{check_name('database', database)}`.`{check_name('table', table)}`"
    body = ",\n".join(f"  `{c}` {t}" for c, t in columns(layout, fields))
    projection = [("projection.enabled", "true"),
                  ("projection.log_account.type", "enum"),
                  ("projection.log_account.values", ",".join(accounts)),
                  ("projection.log_region.type", "enum"),
                  ("projection.log_region.values", ",".join(regions))]
    if layout == "text":
        partitions = "`log_account` string, `log_region` string, `log_day` string"
        storage = ("ROW FORMAT SERDE 'org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe'\n"
                   "WITH SERDEPROPERTIES ('field.delim' = ' ', 'serialization.format' = ' ', "
                   "'serialization.null.format' = '-')\nSTORED AS TEXTFILE")
        projection += [("projection.log_day.type", "date"),
                       ("projection.log_day.format", "yyyy/MM/dd"),
                       ("projection.log_day.range", f"{since:%Y/%m/%d},NOW"),
                       ("projection.log_day.interval", "1"),
                       ("projection.log_day.interval.unit", "DAYS"),
                       ("storage.location.template", f"{location}/AWSLogs/${{log_account}}"
                        "/vpcflowlogs/${log_region}/${log_day}"),
                       ("skip.header.line.count", "1")]
    else:
        partitions = ("`log_account` string, `log_region` string, `year` string, "
                      "`month` string, `day` string")
        storage = "STORED AS PARQUET"
        projection += [("projection.year.type", "integer"),
                       ("projection.year.range", f"{since.year},2099"),
                       ("projection.month.type", "integer"),
                       ("projection.month.range", "1,12"),
                       ("projection.month.digits", "2"),
                       ("projection.day.type", "integer"),
                       ("projection.day.range", "1,31"),
                       ("projection.day.digits", "2"),
                       ("storage.location.template",
                        f"{location}/AWSLogs/aws-account-id=${{log_account}}/aws-service="
                        "vpcflowlogs/aws-region=${log_region}/year=${year}/month=${month}"
                        "/day=${day}")]
    properties = ",\n".join(f"  '{k}' = '{v}'" for k, v in projection)
    return (f"CREATE EXTERNAL TABLE IF NOT EXISTS {name} (\n{body}\n)\n"
            f"PARTITIONED BY ({partitions})\n{storage}\n"
            f"LOCATION '{location}/AWSLogs/'\nTBLPROPERTIES (\n{properties}\n)")


# --- several field orders: one table per order, one view over them -------------------------
# An Athena text table maps fields by position, and one folder often holds flow logs of
# several formats (one flow log per VPC, created years apart; a flow log's format never
# changes). So each distinct field order gets its own table, and a view unites them by
# column name, each table limited to the folders, and within a mixed folder to the flow
# logs (by "$path", whose file name carries the flow log ID), that use its order.

FLOW_LOG_ID = re.compile(r"fl-[0-9a-z]{1,40}")
AccountRegion = tuple[str, str]  # (account, region)
# The file name's fields after the flow log ID: delivery slot, hash, extension.
_NAME_TAIL = r"_[0-9]{8}T[0-9]{4}Z_[0-9a-z]+\.log(\.gz)?$"


@dataclass(frozen=True)
class Reader:
    """One table's share of one folder: every object (no IDs named), the flow logs named
    (``only``), or every flow log but those named (``except_``)."""

    folder: AccountRegion
    only: tuple[str, ...] = ()
    except_: tuple[str, ...] = ()


@dataclass(frozen=True)
class OrderTable:
    name: str
    fields: tuple[str, ...]  # the files' field order
    readers: tuple[Reader, ...]


def plan_tables(sightings: dict[AccountRegion, dict[str, tuple[str, ...]]], table: str
                ) -> list[OrderTable]:
    """Tables for the field orders seen: ``sightings`` maps each (account, region) folder
    to {flow log ID: its field order}. One order in all: one table named ``table``.
    Otherwise ``table_1``, ``table_2``… (most used order first). In a folder with several
    orders, the order of most flow logs reads every object but the others' (so a flow log
    added later in the same format is read too); the others read their own flow logs."""
    readers: dict[tuple[str, ...], list[Reader]] = defaultdict(list)
    uses: Counter[tuple[str, ...]] = Counter()
    for folder, flow_logs in sorted(sightings.items()):
        by_order: dict[tuple[str, ...], list[str]] = defaultdict(list)
        for flow_log, fields in sorted(flow_logs.items()):
            if not FLOW_LOG_ID.fullmatch(flow_log):
                raise ValueError(f"{flow_log!r} is not a flow log ID (fl-…)")
            by_order[tuple(fields)].append(flow_log)
        ranked = sorted(by_order.items(), key=lambda item: (-len(item[1]), item[0]))
        for fields, ids in ranked:
            uses[fields] += len(ids)
        main, others = ranked[0], ranked[1:]
        readers[main[0]].append(Reader(folder, except_=tuple(
            sorted(i for _, ids in others for i in ids))))
        for fields, ids in others:
            readers[fields].append(Reader(folder, only=tuple(ids)))
    orders = sorted(readers, key=lambda fields: (-uses[fields], fields))
    if len(orders) == 1:
        return [OrderTable(table, orders[0], tuple(readers[orders[0]]))]
    return [OrderTable(f"{table}_{n}", fields, tuple(readers[fields]))
            for n, fields in enumerate(orders, start=1)]


def _quoted(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _path_test(ids: tuple[str, ...]) -> str:
    pattern = "_vpcflowlogs_[a-z0-9-]+_(" + "|".join(ids) + ")" + _NAME_TAIL
    return f'regexp_like("$path", {_quoted(pattern)})'


def reader_predicate(readers: tuple[Reader, ...]) -> str:
    """The WHERE that limits a table to its folders (partition columns: Athena reads only
    those) and, in mixed folders, to its flow logs."""
    groups: dict[tuple, list[str]] = defaultdict(list)
    for r in readers:
        groups[(r.folder[1], r.only, r.except_)].append(r.folder[0])
    terms = []
    for (region, only, except_), accounts in sorted(groups.items()):
        term = (f"log_region = {_quoted(region)} AND log_account IN "
                f"({', '.join(_quoted(a) for a in sorted(accounts))})")
        if only:
            term += f" AND {_path_test(only)}"
        elif except_:
            term += f" AND NOT {_path_test(except_)}"
        terms.append(f"({term})")
    return "\n   OR ".join(terms)


def create_statements(location: str, sightings: dict[AccountRegion, dict[str, tuple[str, ...]]],
                      since: date, database: str = "default", table: str = "vpc_flow_logs"
                      ) -> list[str]:
    """The text-layout statements for the field orders seen: CREATE EXTERNAL TABLE per
    order and, with more than one, CREATE OR REPLACE VIEW ``table`` uniting them."""
    if not sightings:
        raise ValueError("no flow log objects found: nothing to declare")
    accounts = sorted({a for a, _ in sightings})
    regions = sorted({r for _, r in sightings})
    tables = plan_tables(sightings, check_name("table", table))
    statements = [create_table_sql(location, accounts, regions, since, "text", database,
                                   t.name, t.fields) for t in tables]
    if len(tables) > 1:
        statements.append(union_view_sql(tables, database, table))
    return statements


def union_view_sql(tables: list[OrderTable], database: str, view: str) -> str:
    """A view with every column of every table (NULL where a table has none), each table
    read only where its order is the files' order."""
    names = {t.name: [c for c, _ in columns("text", t.fields)] for t in tables}
    types = {c: athena_type for t in tables for c, athena_type in columns("text", t.fields)}
    every = list(dict.fromkeys(c for t in tables for c in names[t.name]))
    partitions = ["log_account", "log_region", "log_day"]
    selects = []
    for t in tables:
        present = set(names[t.name])
        values = [f'"{c}"' if c in present else f'CAST(NULL AS {types[c]}) AS "{c}"'
                  for c in every] + [f'"{p}"' for p in partitions]
        selects.append(f"SELECT {', '.join(values)}\nFROM \"{database}\".\"{t.name}\"\n"
                       f"WHERE {reader_predicate(t.readers)}")
    return (f'CREATE OR REPLACE VIEW "{check_name("database", database)}".'
            f'"{check_name("table", view)}" AS\n' + "\nUNION ALL\n".join(selects))


# --- finding the field orders in a bucket ----------------------------------------------------

@dataclass(frozen=True)
class Sighting:
    """A flow log's field order, from the header of its newest object sampled."""

    folder: AccountRegion
    flow_log: str
    fields: tuple[str, ...]
    sample: str  # the object read (s3://…)


@dataclass
class BucketSurvey:
    sightings: list[Sighting]
    hive_folders: list[AccountRegion]  # Parquet with Hive-compatible prefixes: read by name

    def by_folder(self) -> dict[AccountRegion, dict[str, tuple[str, ...]]]:
        found: dict[AccountRegion, dict[str, tuple[str, ...]]] = defaultdict(dict)
        for s in self.sightings:
            found[s.folder][s.flow_log] = s.fields
        return dict(found)

    @property
    def accounts(self) -> list[str]:
        return sorted({f[0] for f in self.by_folder()} | {f[0] for f in self.hive_folders})

    @property
    def regions(self) -> list[str]:
        return sorted({f[1] for f in self.by_folder()} | {f[1] for f in self.hive_folders})


def survey_bucket(store, newest_days: int = 2, oldest_day: bool = True,
                  max_folders: int | None = None, object_limit: int = 100_000) -> BucketSurvey:
    """The field orders in use, folder by folder: in each account/region folder, the newest
    ``newest_days`` day folders (and the oldest, where flow logs deleted long ago may lie)
    are listed, and the header of the newest object of each flow log ID (from the file
    name) is read. ``store`` is a lib.objects.ObjectStore (S3 or a local directory)."""
    sightings: dict[tuple[AccountRegion, str], Sighting] = {}
    hive: list[AccountRegion] = []
    folders = 0
    for account in store.accounts():
        for region in store.regions(account):
            if max_folders is not None and folders >= max_folders:
                break
            folders += 1
            if account.hive:
                hive.append((region.account, region.region))
                continue
            for flow_log, newest in _newest_objects(store, region, newest_days, oldest_day,
                                                    object_limit).items():
                key = ((region.account, region.region), flow_log)
                fields = _header(store, newest.path)
                if fields and key not in sightings:
                    sightings[key] = Sighting(key[0], flow_log, fields, newest.path)
    return BucketSurvey(sorted(sightings.values(), key=lambda s: (s.folder, s.flow_log)), hive)


def _newest_objects(store, region, newest_days: int, oldest_day: bool, limit: int) -> dict:
    """{flow log ID: its newest object} within the sampled day folders, newest day first:
    an ID seen on a newer day keeps that day's newest object."""
    days = store.dates(region)
    sampled = days[:newest_days] + (days[-1:] if oldest_day and len(days) > newest_days
                                    else [])
    newest: dict = {}
    for day in sampled:
        in_day: dict = {}
        for folder in [day, *store.hours(day)]:
            for obj in store.objects(folder, limit):
                if obj.flow_log_id and (obj.flow_log_id not in in_day or (
                        obj.delivered or 0) > (in_day[obj.flow_log_id].delivered or 0)):
                    in_day[obj.flow_log_id] = obj
        for flow_log, obj in in_day.items():
            newest.setdefault(flow_log, obj)
    return newest


def _header(store, path: str) -> tuple[str, ...] | None:
    """The field names on an object's first line (None if it has no header). Streams the
    object and stops after that line: a 75 MB object is not downloaded for its header."""
    from contextlib import closing

    from lib.parser import FlowLogReadError, first_header, read_lines

    try:
        with closing(read_lines(lambda: store._backend.open(path), path)) as lines:
            return first_header(lines)
    except (FlowLogReadError, OSError):
        return None


def discovered_statements(survey: BucketSurvey, location: str, since: date, layout: str,
                          database: str, table: str) -> list[str]:
    """What `lib.cli ddl` prints for a surveyed bucket."""
    if layout == "parquet":
        if not survey.hive_folders:
            raise ValueError("no Hive-style (Parquet) folders found under the location")
        accounts = sorted({a for a, _ in survey.hive_folders})
        regions = sorted({r for _, r in survey.hive_folders})
        return [create_table_sql(location, accounts, regions, since, "parquet", database,
                                 table)]
    return create_statements(location, survey.by_folder(), since, database, table)


# --- the start-up check: does a table read each flow log in its own order? -------------------

@dataclass(frozen=True)
class Branch:
    """One table the configured table or view reads, and where (None: everywhere)."""

    table: str
    columns: tuple[str, ...]
    where: str | None  # Athena SQL over log_account, log_region, "$path"


def declared_branches(glue, database: str, table: str) -> list[Branch]:
    """What the configured table reads, from the Glue catalog: the table itself, or each
    table of the view (Athena keeps a view's SQL in ViewOriginalText)."""
    import base64
    import json

    import sqlglot
    from sqlglot import exp

    found = glue.get_table(DatabaseName=database, Name=table)["Table"]
    if found.get("TableType") != "VIRTUAL_VIEW":
        return [Branch(table, _glue_columns(found), None)]
    text = found.get("ViewOriginalText", "")
    encoded = text.removeprefix("/* Presto View: ").removesuffix(" */")
    sql = json.loads(base64.b64decode(encoded))["originalSql"]
    branches = []
    for select in sqlglot.parse_one(sql, read="athena").find_all(exp.Select):
        source = select.args["from_"].this
        where = select.args.get("where")
        under = glue.get_table(DatabaseName=source.db or database, Name=source.name)["Table"]
        branches.append(Branch(source.name, _glue_columns(under),
                               where.this.sql(dialect="athena") if where else None))
    return branches


def _glue_columns(table: dict) -> tuple[str, ...]:
    return tuple(c["Name"].lower() for c in table.get("StorageDescriptor", {}).get("Columns", []))


def reads(branch: Branch, sighting: Sighting) -> bool:
    """Whether the branch's WHERE keeps the sighting's object (evaluated on its folder and
    path, the only columns it names)."""
    if branch.where is None:
        return True
    import duckdb
    import sqlglot
    from sqlglot import exp

    values = {"log_account": sighting.folder[0], "log_region": sighting.folder[1],
              "$path": sighting.sample}

    def literal(node):
        if isinstance(node, exp.Column) and node.name in values:
            return exp.Literal.string(values[node.name])
        return node

    tree = sqlglot.parse_one(branch.where, read="athena").transform(literal)
    with duckdb.connect() as db:
        return bool(db.execute(f"SELECT {tree.sql(dialect='duckdb')}").fetchone()[0])


def order_problems(survey: BucketSurvey, branches: list[Branch], location: str
                   ) -> list[str]:
    """A warning per flow log that no table reads in its own field order."""
    problems = []
    for s in survey.sightings:
        expected = tuple(schema.field_for(name).column for name in s.fields)
        readers = [b for b in branches if reads(b, s)]
        folder = f"{location}/AWSLogs/{s.folder[0]}/vpcflowlogs/{s.folder[1]}/"
        if not readers:
            why = "no table reads its objects"
        elif all(b.columns[:len(expected)] == expected for b in readers):
            continue
        else:
            wrong = next(b for b in readers if b.columns[:len(expected)] != expected)
            why = (f"table {wrong.table} reads its fields in another order, so its records "
                   "come back with values in the wrong columns")
        problems.append(
            f"Flow log {s.flow_log} in {folder} writes the fields "
            f"\"{' '.join(s.fields)}\" (seen in {s.sample.rsplit('/', 1)[-1]}), but {why}. "
            f"Fix: print the tables for every field order with `python -m lib.cli ddl "
            f"--location {location}` and run its statements in Athena (drop the old table "
            "first), or deliver the flow logs in Parquet (read by name).")
    return problems


def glue_client(settings):
    """Glue with the Athena settings' credentials (profile, role) and endpoint."""
    from lib.awsclients import settings_session

    endpoint = settings.athena_endpoint_url or None
    return settings_session(settings, "flowscope-check").client("glue", endpoint_url=endpoint)


CHECK_FOLDERS = 50  # account/region folders sampled at start-up (the CLI reads them all)


def layout_warnings(settings, max_folders: int = CHECK_FOLDERS) -> list[str]:
    """Start-up check with Athena, a text table and ``s3_location``: the newest object of
    each flow log in (up to ``max_folders``) account/region folders, against the field order
    of the table that reads it. Warnings in plain words; none when all is well."""
    if (settings.engine != "athena" or not settings.s3_location
            or settings.athena_layout != "text"):
        return []
    from botocore.exceptions import BotoCoreError, ClientError

    from lib import objects
    from lib.query import ALL_ACCOUNTS

    location = normalise_location(settings.s3_location)
    try:
        store = objects.open_store(settings, ALL_ACCOUNTS)  # the check sees every folder
        survey = survey_bucket(store, newest_days=1, oldest_day=False, max_folders=max_folders)
        branches = declared_branches(glue_client(settings), settings.athena_database,
                                     settings.athena_table)
    except (objects.StoreError, BotoCoreError, ClientError, KeyError, ValueError) as error:
        return [f"Could not check that the Athena table reads every flow log's field order "
                f"({error}). Flow logs of another format than the table's give wrong answers: "
                f"see `python -m lib.cli ddl --location {location}`."]
    return order_problems(survey, branches, location)


class LayoutCheck(BackgroundJob):
    """``layout_warnings`` in a background thread, so the first page view does not wait for
    the bucket listing and header reads (many folders on a large bucket). ``warnings`` is
    None until the first check ends; later checks keep the last answer while they run."""
    thread_name = "flowscope-layout-check"

    def __init__(self, settings):
        super().__init__()
        self.settings = settings
        self.warnings: list[str] | None = None

    def _work(self) -> None:
        try:
            self.warnings = layout_warnings(self.settings)
        except Exception as error:  # noqa: BLE001 - a failed check is said, never fatal
            self.warnings = [f"Could not check that the Athena table reads every flow log's "
                             f"field order ({type(error).__name__}: {error})."]
