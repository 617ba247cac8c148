"""Command line: the same queries as the pages, through the same lib code.

    python -m lib.cli COMMAND --help

Each command is a small function pair: ``_add_<name>(sub)`` declares its options and
``_run_<name>(args)`` calls lib and prints. Exit codes: 0 ok, 1 a file/engine failed,
2 invalid input (nothing was run).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2

_COMMANDS: list[Callable[[argparse._SubParsersAction], None]] = []


def command(add: Callable[[argparse._SubParsersAction], None]):
    """Register a function that adds one sub-command (with ``set_defaults(run=...)``)."""
    _COMMANDS.append(add)
    return add


def print_json_lines(rows) -> None:
    for row in rows:
        sys.stdout.write(json.dumps(row, ensure_ascii=False, default=str) + "\n")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m lib.cli", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for add in _COMMANDS:
        add(sub)
    return parser


# --- commands -------------------------------------------------------------------------
# (each command below: @command def _add_x(sub): p = sub.add_parser(...); p.set_defaults(run=_run_x))


DATA_HELP = ("a directory in the S3 layout, or s3://BUCKET/PREFIX (the folder holding AWSLogs/; "
             "read with the athena_* credentials and s3_endpoint_url); default: configured or demo")


def _add_filter_options(p: argparse.ArgumentParser) -> None:
    """The Search filters, as options; same names as the URL parameters (with dashes)."""
    p.add_argument("--data", help=DATA_HELP)
    p.add_argument("--engine", choices=["duckdb", "athena"], help="default: configured")
    p.add_argument("--start", help="ISO 8601 (UTC if no zone) or epoch seconds; default: end - 24h")
    p.add_argument("--end", help="exclusive; default: now")
    p.add_argument("--account", action="append", default=[], help="12-digit ID (repeatable)")
    p.add_argument("--region", action="append", default=[], help="e.g. us-east-1 (repeatable)")
    p.add_argument("--src", help="source IP or CIDR")
    p.add_argument("--dst", help="destination IP or CIDR")
    p.add_argument("--src-port", help="N, N-M or N,M")
    p.add_argument("--dst-port", help="N, N-M or N,M")
    p.add_argument("--protocol", help="name or number, e.g. tcp, 17")
    p.add_argument("--action", choices=["ACCEPT", "REJECT", "accept", "reject"])
    p.add_argument("--eni", action="append", default=[], help="interface ID (repeatable)")
    p.add_argument("--vpc", action="append", default=[], help="VPC ID (repeatable)")
    p.add_argument("--subnet", action="append", default=[], help="subnet ID (repeatable)")
    p.add_argument("--kind", default="search",
                   help="search | top-talkers | timeline | ... | cost | cost-savings | health | log-gaps | group")
    p.add_argument("--limit", type=int, default=1000, help="search: rows")
    p.add_argument("--before", metavar="CURSOR",
                   help="search: the next (older) page, after the cursor the previous page "
                        "named on stderr")
    p.add_argument("--group", help="top-talkers: src | dst | pair (default pair); cost: class | "
                   "pair | src | dst | interface | service | vpc | account | time (default class)")
    p.add_argument("--by", help="top-talkers: bytes | packets | flows (default bytes); group: "
                   "FIELD[,FIELD…], 1 to 3 of " + ", ".join(_group_fields()))
    p.add_argument("--measure", help="group: flows | bytes | packets | sources | destinations "
                   "| reject-rate (default flows)")
    p.add_argument("--top", type=int, default=10,
                   help="top-talkers: how many; cost: per class; cost-savings: cross-AZ pairs; "
                        "group: how many groups (largest first)")
    p.add_argument("--bucket", type=int, default=300,
                   help="timeline, cost --group time: seconds per bucket")


def _group_fields() -> tuple[str, ...]:
    from lib.explore import FIELD_NAMES

    return FIELD_NAMES


def _raw_filters(args) -> dict:
    from lib import timeutil

    end = args.end or str(timeutil.now())
    start = args.start
    if start is None:
        try:
            start = str(timeutil.parse_time(end) - 86400)
        except ValueError:
            start = end  # the end's own error is reported by validation
    return {"start": start, "end": end, "account": args.account, "region": args.region,
            "src": args.src, "dst": args.dst, "src_port": args.src_port,
            "dst_port": args.dst_port, "protocol": args.protocol, "action": args.action,
            "eni": args.eni, "vpc": args.vpc, "subnet": args.subnet}


def _settings_for(args):
    from dataclasses import replace

    from lib.config import load_settings

    settings = load_settings()
    changes = {"engine": args.engine} if args.engine else {}
    if args.data:
        changes["data_dir"] = args.data
    return replace(settings, **changes)


def _query_from(args):
    """A validated Query from the options, or None after naming the bad options on stderr."""
    from lib.filters import InvalidFilters, parse_filters
    from lib.query import ALL_ACCOUNTS, COST_KINDS, Query, QueryError

    try:
        settings = _settings_for(args)
    except ValueError as error:  # a setting that cannot be read (e.g. prices)
        print(f"error: {error}", file=sys.stderr)
        return None
    try:
        filters = parse_filters(_raw_filters(args), settings.max_range_days)
        if args.kind in COST_KINDS:
            return _cost_query_from(args, filters, settings)
        if args.kind == "group":
            return _group_query_from(args, filters)
        if args.measure is not None:
            raise QueryError("--measure is an option of --kind group (top-talkers: --by)")
        # The command line is for local use by whoever may read the store: every account.
        query = Query(args.kind, filters, scope=ALL_ACCOUNTS, group=args.group or "pair",
                      measure=args.by or "bytes", top=args.top, bucket=args.bucket,
                      limit=args.limit)
        return _page_of(query, getattr(args, "before", None))
    except InvalidFilters as invalid:
        for key, message in invalid.errors.items():
            print(f"error: --{key.replace('_', '-')}: {message}", file=sys.stderr)
    except QueryError as error:
        print(f"error: {error}", file=sys.stderr)
    return None




def _page_of(query, before: str | None):
    """A search's page after --before's cursor (the query itself without one)."""
    from lib.query import QueryError, cursor_from_token, search_after

    if before is None:
        return query
    if query.kind != "search":
        raise QueryError("--before pages on a search (--kind search) only")
    try:
        return search_after(query, cursor_from_token(before))
    except QueryError as error:
        raise QueryError(f"--before: {error}") from None


def _say_next_page(query, result) -> None:
    """After a full search page: the option that asks for the next one (stderr, so the
    JSON or CSV on stdout stays the records)."""
    from lib.query import cursor_token, next_cursor

    rows = result.rows()
    if query.kind == "search" and rows and len(rows) >= query.limit:
        print(f"more: --before {cursor_token(next_cursor(rows, query.after))}", file=sys.stderr)


def _group_query_from(args, filters):
    """Explore's query (issue 19): --by names the fields, --measure the measure."""
    from lib import explore
    from lib.query import ALL_ACCOUNTS, QueryError

    if not args.by:
        raise QueryError("--kind group needs --by FIELD[,FIELD…] (1 to 3 of "
                         f"{', '.join(explore.FIELD_NAMES)})")
    return explore.group_query(filters, ALL_ACCOUNTS, args.by, args.measure or "flows",
                               top=args.top)


def _cost_query_from(args, filters, settings):
    """A cost query at the configured prices (issue 16; the same query as the Cost page)."""
    from lib import cost
    from lib.query import ALL_ACCOUNTS, QueryError

    try:
        prices = cost.prices_from(settings)
    except ValueError as error:
        raise QueryError(str(error)) from None
    return cost.CostQuery(args.kind, filters, scope=ALL_ACCOUNTS, cost_group=args.group or "class",
                          top=args.top, bucket=args.bucket, prices=prices,
                          single_scan=cost.single_scan_for(settings))


@command
def _add_query(sub) -> None:
    p = sub.add_parser("query", help="run a dashboard query and print its result")
    _add_filter_options(p)
    p.add_argument("--format", choices=["json", "csv"], default="json")
    p.set_defaults(run=_run_query)


def _run_audited(args, query):
    """The query's Result, run and audited like the pages' queries (the user is the
    operating-system account), skipped objects said on stderr; None once the error is said."""
    from lib import audit
    from lib.engines import EngineError, get_engine

    settings = _settings_for(args)
    try:
        result = audit.run_audited(settings, f"cli:{_os_user()}", "cli", query,
                                   get_engine(settings).run)
    except (EngineError, audit.AuditError) as error:
        print(f"error: {error}", file=sys.stderr)
        return None
    for note in result.skipped:
        print(f"skipped: {note}", file=sys.stderr)
    return result


def _run_query(args) -> int:
    query = _query_from(args)
    if query is None:
        return EXIT_USAGE
    if args.kind == "health":
        return _run_health(args, query)
    result = _run_audited(args, query)
    if result is None:
        return EXIT_FAILED
    _say_next_page(query, result)
    records = result.records()
    if args.kind == "group":  # keyed by the fields' own names ("srcaddr/24", "hour")
        from lib import explore

        records = explore.records(result.rows(), query)
    if args.format == "csv":
        import pandas as pd

        from lib.present import safe_csv

        sys.stdout.write(safe_csv(pd.DataFrame(records)))
    else:
        sys.stdout.write(json.dumps(records, ensure_ascii=False, indent=1) + "\n")
    return EXIT_OK


def _run_health(args, query) -> int:
    """The Data health page's report (issue 22): the record queries on the engine, the
    objects from a listing of the store."""
    from lib import health
    from lib.store.backends import StoreError

    rows = {}
    for name, q in (("hours", query), ("gaps", health.gaps_query(query.filters, query.scope))):
        result = _run_audited(args, q)
        if result is None:
            return EXIT_FAILED
        rows[name] = result.rows()
    try:
        report = health.collect(rows["hours"], rows["gaps"],
                                health.store_backend(_settings_for(args)), query.filters,
                                query.scope)
    except (StoreError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_FAILED
    if args.format == "csv":  # the hours table: the one that is a table
        import pandas as pd

        from lib.present import safe_csv

        sys.stdout.write(safe_csv(pd.DataFrame(report.hours)))
    else:
        sys.stdout.write(json.dumps(report.to_json(), ensure_ascii=False, indent=1) + "\n")
    return EXIT_OK


@command
def _add_sql(sub) -> None:
    p = sub.add_parser("sql", help="print the SQL a dashboard query runs, for an engine")
    _add_filter_options(p)
    p.set_defaults(run=_run_sql)


def _run_sql(args) -> int:
    from lib.engines import get_engine

    query = _query_from(args)
    if query is None:
        return EXIT_USAGE
    print(get_engine(_settings_for(args)).sql(query))
    return EXIT_OK


@command
def _add_ddl(sub) -> None:
    p = sub.add_parser("ddl", help="print CREATE EXTERNAL TABLE for Athena over a log bucket")
    p.add_argument("--location", required=True,
                   help="s3://BUCKET/PREFIX, the folder that holds AWSLogs/")
    p.add_argument("--accounts", action="append", default=[],
                   help="12-digit account IDs (repeatable or comma-separated)")
    p.add_argument("--regions", action="append", default=[],
                   help="regions, e.g. us-east-1 (repeatable or comma-separated)")
    p.add_argument("--since", default="2020-01-01",
                   help="YYYY-MM-DD: the oldest day Athena may read (default 2020-01-01)")
    p.add_argument("--format", choices=["text", "parquet"],
                   help="text (AWS's default) or parquet with Hive-compatible prefixes "
                        "(default: the athena_layout setting)")
    p.add_argument("--fields", type=_format_option, metavar='"FIELD FIELD ..."',
                   help="text: the flow logs' field order (default: every v2-v8 field in "
                        "AWS's order)")
    p.add_argument("--database", help="default: the athena_database setting")
    p.add_argument("--table", help="default: the athena_table setting")
    p.add_argument("--s3-endpoint-url", help="another S3 endpoint for listing the bucket "
                   "(default: the s3_endpoint_url setting)")
    p.add_argument("--rollup-location", help="s3://BUCKET/PREFIX for the Traffic page's "
                   "rollup table, also printed (default: the athena_rollup_location setting)")
    p.set_defaults(run=_run_ddl)


def _run_ddl(args) -> int:
    from datetime import date

    from lib.athena_ddl import create_table_sql
    from lib.config import load_settings

    settings = load_settings()
    try:
        since = date.fromisoformat(args.since)
    except ValueError:
        print(f"error: --since: {args.since!r} is not a date YYYY-MM-DD", file=sys.stderr)
        return EXIT_USAGE
    layout = args.format or settings.athena_layout
    database = args.database or settings.athena_database
    table = args.table or settings.athena_table
    try:
        if args.accounts or args.regions or args.fields:
            statements = [create_table_sql(args.location, args.accounts, args.regions, since,
                                           layout=layout, database=database, table=table,
                                           fields=args.fields)]
        else:
            statements = _discovered_ddl(args, settings, since, layout, database, table)
            if statements is None:
                return EXIT_FAILED
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_USAGE
    rollup_location = args.rollup_location or settings.athena_rollup_location
    if rollup_location:
        from lib.athena_rollups import create_rollup_sql

        try:
            statements.append(create_rollup_sql(settings, rollup_location, database,
                                                f"{table}_rollup"))
        except ValueError as error:
            print(f"error: --rollup-location: {error}", file=sys.stderr)
            return EXIT_USAGE
    print(";\n\n".join(statements) + ";")
    return EXIT_OK


@command
def _add_athena(sub) -> None:
    p = sub.add_parser("athena", help="Athena upkeep: build the Traffic page's rollups")
    actions = p.add_subparsers(dest="athena_command", required=True)
    r = actions.add_parser("rollup", help="(re)build the rollup of closed days with Athena "
                           "(INSERT INTO … SELECT per day; a rebuilt day replaces the old)")
    r.add_argument("--since", required=True,
                   help="YYYY-MM-DD, or Nd for N days before today (UTC)")
    r.add_argument("--until", help="YYYY-MM-DD or Nd (default: today; open days are skipped)")
    r.add_argument("--only-missing", action="store_true",
                   help="skip days already built (the hourly schedule)")
    r.set_defaults(run=_run_athena_rollup)


def _day_option(text: str):
    from datetime import UTC, date, datetime, timedelta

    if text.endswith("d") and text[:-1].isdigit():
        return datetime.now(UTC).date() - timedelta(days=int(text[:-1]))
    return date.fromisoformat(text)


def _run_athena_rollup(args) -> int:
    import time
    from datetime import UTC, datetime

    from botocore.exceptions import BotoCoreError, ClientError

    from lib import athena_rollups
    from lib.config import load_settings
    from lib.engines import EngineError
    from lib.engines.athena import AthenaEngine

    settings = load_settings()
    try:
        since = _day_option(args.since)
        until = _day_option(args.until) if args.until else datetime.now(UTC).date()
    except ValueError:
        print("error: --since/--until: a date YYYY-MM-DD or Nd", file=sys.stderr)
        return EXIT_USAGE
    if not settings.athena_rollup_location:
        print("error: set athena_rollup_location (s3://bucket/prefix/ for the rollup)",
              file=sys.stderr)
        return EXIT_USAGE
    days = athena_rollups.closed_days(since, until, int(time.time()), settings.late_margin_s)
    try:
        s3 = athena_rollups.s3_client(settings)
        if args.only_missing:
            done = set(athena_rollups.list_done_days(
                s3, athena_rollups.rollup_location(settings)))
            days = [d for d in days if d not in done]
        athena_rollups.build_days(settings, AthenaEngine(settings), days, s3=s3)
    except (EngineError, BotoCoreError, ClientError) as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_FAILED
    if not days:
        print("nothing to build (days not closed yet, or built already)", file=sys.stderr)
    return EXIT_OK


def _discovered_ddl(args, settings, since, layout: str, database: str, table: str):
    """List the bucket, read a header per flow log, one table per field order (None: the
    bucket could not be read, said on stderr)."""
    from dataclasses import replace

    from lib import objects
    from lib.athena_ddl import discovered_statements, normalise_location, survey_bucket
    from lib.query import ALL_ACCOUNTS

    location = normalise_location(args.location)
    config = replace(settings, s3_location=location,
                     s3_endpoint_url=args.s3_endpoint_url or settings.s3_endpoint_url)
    try:
        survey = survey_bucket(objects.open_store(config, ALL_ACCOUNTS))
    except objects.StoreError as error:
        print(f"error: {error}", file=sys.stderr)
        return None
    for sighting in survey.sightings:
        print(f"-- {sighting.flow_log} in {sighting.folder[0]}/{sighting.folder[1]}: "
              f"{' '.join(sighting.fields)}", file=sys.stderr)
    return discovered_statements(survey, location, since, layout, database, table)


def _format_option(text: str) -> tuple[str, ...]:
    from lib.parser import parse_format

    try:
        return parse_format(text)
    except ValueError as error:  # argparse turns this into a usage error (exit 2)
        raise argparse.ArgumentTypeError(str(error)) from error


@command
def _add_decode(sub) -> None:
    p = sub.add_parser("decode", help="print flow log files (plain or gzip) as JSON lines")
    p.add_argument("files", nargs="+", metavar="FILE")
    p.add_argument("--format", type=_format_option, metavar='"FIELD FIELD ..."',
                   help="field order of files without a header line (default: the header, "
                        "else the AWS default format)")
    p.set_defaults(run=_run_decode)


def _run_decode(args) -> int:
    from lib.parser import FlowLogReadError, parse_file

    status = EXIT_OK
    for path in args.files:
        try:  # records come out as read, so a corrupt file still shows its good part
            print_json_lines(parse_file(path, args.format))
        except FlowLogReadError as error:
            print(f"error: {error}", file=sys.stderr)
            status = EXIT_FAILED
        except BrokenPipeError:  # the reader stopped early (`| head`): nothing left to do
            _discard_stdout()
            break
    return status


def _discard_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's final flush does not fail again."""
    import os

    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


@command
def _add_demo(sub) -> None:
    p = sub.add_parser("demo", help="write demo flow logs in the S3 key layout to a folder")
    p.add_argument("--out", required=True, metavar="DIR", help="folder to write AWSLogs/ into")
    p.add_argument("--records", type=int, default=100_000, help="record lines (default 100000)")
    p.add_argument("--days", type=float, default=7, help="days of data before --end (default 7)")
    p.add_argument("--seed", type=int, default=1, help="same seed and end: same files")
    p.add_argument("--end", help="UTC end, epoch seconds or ISO 8601 (default: now, 5-min slot)")
    p.add_argument("--cost-cases", action="store_true",
                   help="add traffic of every charge class for the Cost page (two more flow "
                        "logs, after the --records lines; DIR/cost_cases.json)")
    p.add_argument("--gap-cases", action="store_true",
                   help="add a flow log with gaps in its logging (a SKIPDATA interval, an hour "
                        "without objects) and three connection-check cases that hit them "
                        "(after the --records lines)")
    p.add_argument("--ec2-endpoint-url", metavar="URL",
                   help="also make the demo's VPCs, security groups, network ACL and "
                        "interfaces in this EC2 endpoint (a moto server), for the inventory "
                        "and the check's rule hints")
    p.set_defaults(run=_run_demo)


def _run_demo(args) -> int:
    from lib.generator import epoch_of, generate, text_progress

    try:
        end = None if args.end is None else epoch_of(args.end)
        summary = generate(args.out, records=args.records, days=args.days, seed=args.seed,
                           end=end, progress=text_progress(sys.stderr),
                           cost_cases=args.cost_cases, gap_cases=args.gap_cases)
    except ValueError as error:  # checked before anything is written
        print(f"error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_FAILED
    out = summary.to_dict()
    if args.ec2_endpoint_url:
        network = _demo_network(args)
        if network is None:
            return EXIT_FAILED
        out["ec2"] = network
    print(json.dumps(out, ensure_ascii=False, indent=1))
    return EXIT_OK


DEMO_ROLE = "flowscope-inventory"  # the role the demo's accounts are reached through on moto


def _demo_network(args) -> dict | None:
    from dataclasses import asdict, replace

    from botocore.exceptions import BotoCoreError, ClientError

    from lib.config import load_settings
    from lib.demo_ec2 import create_demo_network

    settings = replace(load_settings(), ec2_endpoint_url=args.ec2_endpoint_url)
    if not settings.inventory_role_name:
        settings = replace(settings, inventory_role_name=DEMO_ROLE)
        print(f"note: the demo's accounts are reached through the role {DEMO_ROLE}: set "
              f"FLOWSCOPE_INVENTORY_ROLE_NAME={DEMO_ROLE} and FLOWSCOPE_EC2_ENDPOINT_URL="
              f"{args.ec2_endpoint_url} for the app and `check --explain-rules` to read them",
              file=sys.stderr)
    try:
        return asdict(create_demo_network(settings, args.out))
    except (BotoCoreError, ClientError, ValueError, OSError) as error:
        print(f"error: the demo network: {error}", file=sys.stderr)
        return None


def _os_user() -> str:
    import getpass

    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (some containers)
        return "unknown"


@command
def _add_add_user(sub) -> None:
    p = sub.add_parser("add-user", help="add (or replace) a password sign-in user; the "
                       "password is read from stdin or asked for, and stored bcrypt-hashed")
    p.add_argument("--users", required=True, metavar="FILE", help="the users file (YAML)")
    p.add_argument("--username", required=True)
    p.add_argument("--name", required=True, help="the name shown in the app")
    p.add_argument("--email", required=True)
    p.add_argument("--groups", default="", help="comma-separated groups (access mapping)")
    p.set_defaults(run=_run_add_user)


def _read_password() -> str:
    """One line from a pipe, or asked twice on a terminal (never an option: shell history)."""
    import getpass

    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("Password: ")
    if getpass.getpass("Password again: ") != first:
        raise ValueError("the passwords differ")
    return first


def _run_add_user(args) -> int:
    from lib.access import AccessConfigError, add_user

    try:
        password = _read_password()
        add_user(args.users, args.username, args.name, args.email, password,
                 [g.strip() for g in args.groups.split(",") if g.strip()])
    except (ValueError, AccessConfigError) as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_FAILED
    print(f"user {args.username.strip().lower()} saved in {args.users}", file=sys.stderr)
    return EXIT_OK


@command
def _add_check(sub) -> None:
    p = sub.add_parser("check", help="did traffic from --src to --dst get through? "
                                     "(prints the verdict as JSON)")
    p.add_argument("--data", help=DATA_HELP)
    p.add_argument("--engine", choices=["duckdb", "athena"], help="default: configured")
    p.add_argument("--src", help="source IP or CIDR (required)")
    p.add_argument("--dst", help="destination IP or CIDR (required)")
    p.add_argument("--dst-port", help="destination port: N, N-M or N,M (none for ICMP)")
    p.add_argument("--protocol", help="name or number, e.g. tcp, 6, icmp")
    p.add_argument("--start", help="ISO 8601 (UTC if no zone) or epoch seconds (required)")
    p.add_argument("--end", help="exclusive (required)")
    p.add_argument("--account", action="append", default=[], help="12-digit ID (repeatable)")
    p.add_argument("--region", action="append", default=[], help="e.g. us-east-1 (repeatable)")
    p.add_argument("--lang", choices=["en", "ja"], default="en", help="language of the words")
    p.add_argument("--limit", type=int, default=10_000, help="records read at most (newest)")
    p.add_argument("--explain-rules", action="store_true",
                   help="also say which security group or network ACL blocks the flow today "
                        "(reads the EC2 inventory of the check's accounts and regions)")
    p.add_argument("--ec2-endpoint-url", help="EC2 endpoint for --explain-rules (e.g. a moto "
                                              "server); default: ec2_endpoint_url")
    p.set_defaults(run=_run_check)


def _run_check(args) -> int:
    from lib import check, timeutil
    from lib.filters import InvalidFilters
    from lib.query import ALL_ACCOUNTS, MAX_LIMIT

    raw = {"start": args.start, "end": args.end, "account": args.account,
           "region": args.region, "src": args.src, "dst": args.dst,
           "dst_port": args.dst_port, "protocol": args.protocol}
    try:
        filters = check.parse_check(raw)
    except InvalidFilters as invalid:
        for key, message in invalid.errors.items():
            print(f"error: --{key.replace('_', '-')}: {message}", file=sys.stderr)
        return EXIT_USAGE
    if not 1 <= args.limit <= MAX_LIMIT:
        print(f"error: --limit: must be 1-{MAX_LIMIT}", file=sys.stderr)
        return EXIT_USAGE
    result = _run_audited(args, check.check_query(filters, ALL_ACCOUNTS, limit=args.limit))
    if result is None:
        return EXIT_FAILED
    context = {}  # what the logs could not see (issue 22): gaps, hours, the interfaces' owners
    for name, query in check.context_queries(filters, ALL_ACCOUNTS).items():
        found = _run_audited(args, query)
        if found is None:
            return EXIT_FAILED
        context[name] = found.rows()
    verdict = check.judge(result.rows(), check.CheckSpec.from_filters(filters), lang=args.lang,
                          now=timeutil.now(), limit=args.limit, context=context)
    out = verdict.to_json()
    if args.explain_rules:
        out.update(_rule_hints(args, filters, result.rows(), verdict.code))
    sys.stdout.write(json.dumps(out, ensure_ascii=False, indent=1) + "\n")
    return EXIT_OK


def _rule_hints(args, filters, rows, code: str) -> dict:
    from dataclasses import replace

    from lib import rulehints

    settings = _settings_for(args)
    if args.ec2_endpoint_url:
        settings = replace(settings, ec2_endpoint_url=args.ec2_endpoint_url)
    hints = rulehints.check_hints(settings, filters, rows, code, lang=args.lang)
    for error in hints["rules_errors"]:
        print(f"warning: rules of {error}", file=sys.stderr)
    return hints


@command
def _add_cache(sub) -> None:
    p = sub.add_parser("cache", help="build or inspect the local columnar cache of a data folder")
    p.add_argument("action", choices=["build", "status"])
    p.add_argument("--data", help=DATA_HELP)
    p.add_argument("--workers", type=int, default=None, help="build: threads (default: cores)")
    p.add_argument("--throttle", type=float, default=0.0, metavar="S",
                   help="build: pause S seconds between folders (leave the machine to others)")
    p.set_defaults(run=_run_cache)


def _run_cache(args) -> int:
    from dataclasses import replace

    from lib import columnar
    from lib.config import load_settings
    from lib.engines import data_dir
    from lib.generator import text_progress

    settings = load_settings()
    if args.data:
        settings = replace(settings, data_dir=args.data)
    root = data_dir(settings)
    cache_dir = columnar.cache_dir_for(settings, root)
    from lib.store.backends import StoreError

    try:
        if args.action == "status":
            print(json.dumps(columnar.status(root, cache_dir, settings), indent=1))
            return EXIT_OK
        report = columnar.build_cache(root, cache_dir, progress=text_progress(sys.stderr),
                                workers=args.workers, throttle_s=args.throttle, settings=settings)
    except (OSError, StoreError) as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_FAILED
    for note in report.skipped:
        print(f"skipped: {note}", file=sys.stderr)
    print(json.dumps({**report.to_dict(), "skipped": len(report.skipped),
                      "cache_dir": str(cache_dir)}, indent=1))
    return EXIT_OK


@command
def _add_inventory(sub) -> None:
    p = sub.add_parser("inventory", help="read what each network interface is from EC2 "
                       "(kept with its history), or look one up")
    p.add_argument("action", choices=["refresh", "show"])
    p.add_argument("--data", help=DATA_HELP + "; refresh: its account/region folders")
    p.add_argument("--accounts", type=_list_option, default=(), metavar="A,B",
                   help="refresh: these accounts (default: the data's folders)")
    p.add_argument("--regions", type=_list_option, default=(), metavar="R,S",
                   help="refresh: these regions (default: the data's folders)")
    p.add_argument("--force", action="store_true", help="refresh: ignore inventory_ttl_s")
    p.add_argument("--ec2-endpoint-url", help="EC2 endpoint (a moto server for offline use)")
    p.add_argument("--address", help="show: the interfaces that held this address")
    p.add_argument("--interface", help="show: one interface (eni-…)")
    p.add_argument("--at", help="show: as it was at this time (ISO 8601 or epoch; default now)")
    p.set_defaults(run=_run_inventory)


def _list_option(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split(",") if part.strip())


def _inventory_folders(args, settings) -> list[tuple[str, str]]:
    from lib.engines import data_dir
    from lib.store import accounts_and_regions

    folders = accounts_and_regions(str(data_dir(settings)), settings)
    accounts = args.accounts or tuple(sorted({a for a, _ in folders}))
    regions = args.regions or tuple(sorted({r for _, r in folders}))
    if args.accounts and args.regions:
        return [(a, r) for a in accounts for r in regions]
    return [(a, r) for a, r in folders if a in accounts and r in regions] or [
        (a, r) for a in accounts for r in regions]


def _run_inventory(args) -> int:
    from dataclasses import asdict, replace

    from lib import inventory
    from lib.config import load_settings
    from lib.timeutil import parse_time

    settings = load_settings()
    if args.data:
        settings = replace(settings, data_dir=args.data)
    if args.ec2_endpoint_url:
        settings = replace(settings, ec2_endpoint_url=args.ec2_endpoint_url)
    store = inventory.inventory_store(settings)
    if args.action == "refresh":
        report = inventory.refresh(settings, _inventory_folders(args, settings), store,
                                   force=args.force)
        for account, region, why in report.failed:
            print(f"error: {account} {region}: {why}", file=sys.stderr)
        print(json.dumps(asdict(report), indent=1))
        return EXIT_FAILED if report.failed and not report.read else EXIT_OK
    try:
        when = parse_time(args.at) if args.at else None
    except ValueError as error:
        print(f"error: --at: {error}", file=sys.stderr)
        return EXIT_FAILED
    if args.interface:
        found = [store.interface(args.interface, when)]
    elif args.address:
        found = store.holders(args.address, when)
    else:
        found = list(store.all_latest())
    print_json_lines({**asdict(i), "label": i.label()} for i in found if i is not None)
    return EXIT_OK


@command
def _add_views(sub) -> None:
    p = sub.add_parser("views", help="saved views (the sidebar's): list a user's own and "
                       "shared views, save one, share or delete one of theirs")
    p.add_argument("action", choices=["list", "save", "share", "delete"])
    p.add_argument("--user", required=True, help="whose views (the sign-in name)")
    p.add_argument("--groups", type=_list_option, default=(), metavar="G,H",
                   help="the user's groups: list shows views shared with them; share may "
                   "name only these")
    p.add_argument("--name", help="save: the view's name (1-80 characters)")
    p.add_argument("--page", default="pages/search.py", help="save: an app.py page file "
                   "(default pages/search.py)")
    p.add_argument("--param", action="append", default=[], metavar="KEY=VALUE",
                   help="save: a value (URL parameter name; lists comma-separated, flags "
                   "true/false); repeatable")
    p.add_argument("--id", type=int, help="share, delete: the view's id (from list)")
    p.add_argument("--share-with", type=_list_option, default=(), metavar="G,H",
                   help="share: exactly these groups (none: unshare)")
    p.set_defaults(run=_run_views)


def _run_views(args) -> int:
    """The same store and rules as the sidebar, audited the same way."""
    from lib import audit, views
    from lib.config import load_settings

    viewer = views.Viewer(args.user, tuple(args.groups))
    if args.action in ("share", "delete") and args.id is None:
        print(f"error: {args.action} needs --id (see `views list`)", file=sys.stderr)
        return EXIT_USAGE
    try:
        store = views.views_store(load_settings())
        if args.action == "list":
            print_json_lines(v.to_dict() for v in store.visible(viewer))
            return EXIT_OK
        if args.action == "save":
            params = views.params_from_pairs(views.check_page(args.page), args.param)
            done = store.save(viewer, args.name or "", args.page, params)
        elif args.action == "share":
            done = store.share(viewer, args.id, args.share_with)
        else:
            done = store.delete(viewer, args.id)
    except views.ViewError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except (audit.AuditError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_FAILED
    print_json_lines([done.to_dict()])
    return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
