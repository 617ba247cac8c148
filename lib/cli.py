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


def _add_filter_options(p: argparse.ArgumentParser) -> None:
    """The Search filters, as options; same names as the URL parameters (with dashes)."""
    p.add_argument("--data", help="directory in the S3 layout (default: configured or demo)")
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
    p.add_argument("--kind", default="search", help="search | top-talkers | timeline | ...")
    p.add_argument("--limit", type=int, default=1000, help="search: rows")
    p.add_argument("--group", default="pair", help="top-talkers: src | dst | pair")
    p.add_argument("--by", default="bytes", help="top-talkers: bytes | packets | flows")
    p.add_argument("--top", type=int, default=10, help="top-talkers: how many")
    p.add_argument("--bucket", type=int, default=300, help="timeline: seconds per bucket")


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
    from lib.query import Query, QueryError

    try:
        filters = parse_filters(_raw_filters(args))
        return Query(args.kind, filters, group=args.group, measure=args.by, top=args.top,
                     bucket=args.bucket, limit=args.limit)
    except InvalidFilters as invalid:
        for key, message in invalid.errors.items():
            print(f"error: --{key.replace('_', '-')}: {message}", file=sys.stderr)
    except QueryError as error:
        print(f"error: {error}", file=sys.stderr)
    return None


@command
def _add_query(sub) -> None:
    p = sub.add_parser("query", help="run a dashboard query and print its result")
    _add_filter_options(p)
    p.add_argument("--format", choices=["json", "csv"], default="json")
    p.set_defaults(run=_run_query)


def _run_query(args) -> int:
    from lib.engines import EngineError, get_engine

    query = _query_from(args)
    if query is None:
        return EXIT_USAGE
    try:
        result = get_engine(_settings_for(args)).run(query)
    except EngineError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_FAILED
    for note in result.skipped:
        print(f"skipped: {note}", file=sys.stderr)
    records = result.records()
    if args.format == "csv":
        import pandas as pd

        sys.stdout.write(pd.DataFrame(records).to_csv(index=False))
    else:
        sys.stdout.write(json.dumps(records, ensure_ascii=False, indent=1) + "\n")
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


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
