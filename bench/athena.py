"""What a page view costs in Athena (a script, not a test): queries and bytes scanned.

    python bench/athena.py [--records 200000] [--days 7] [--json FILE]

Runs offline on the fake Athena of the tests (tests/fake_athena.py: moto's S3 and Athena API,
the SQL executed by DuckDB, text tables read by position, bytes scanned counted from the
partitions each statement selects) over a generated store (``lib.generator``, written to a
temporary folder): --days of records ending at a UTC midnight, plus as many days before them
(the previous period the Traffic page compares with). Every closed day is rolled up first
with ``lib.cli athena rollup`` (INSERT INTO … SELECT, through the same fake).

Page views, each through the engine and the query builders the pages use:

- search_1h: the Search page over the last hour;
- traffic_7d_raw: the Traffic page over the last --days days, records only (no rollup);
- traffic_7d: the same view with the rollup (athena_rollup_location set);
- check_1h: the Connection check over the last hour.

Prints a table; --json writes [{"name", "queries", "bytes_scanned"}, ...].
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from lib import traffic  # noqa: E402
from lib.athena_rollups import build_days, closed_days, create_rollup_sql  # noqa: E402
from lib.engines.athena import AthenaEngine  # noqa: E402
from lib.filters import parse_filters  # noqa: E402
from lib.query import ALL_ACCOUNTS, Query  # noqa: E402

DAY = 86400


def generate(folder: Path, records: int, days: int, end: int) -> None:
    from lib.generator import generate as write

    write(folder, records=records, days=2 * days, end=end)


class PatientEngine(AthenaEngine):
    """The fake runs a statement inside StartQueryExecution: a big INSERT outlasts botocore's
    60 s read timeout, which real Athena (asynchronous) never makes a client wait."""

    def _connect(self):
        import pyathena
        from botocore.config import Config

        s = self.settings
        return pyathena.connect(region_name=s.athena_region, work_group=s.athena_workgroup,
                                schema_name=s.athena_database,
                                s3_staging_dir=s.athena_output_location,
                                endpoint_url=s.athena_endpoint_url, poll_interval=0.01,
                                config=Config(read_timeout=3600, retries={"max_attempts": 1}))


class Meter:
    """Queries started and bytes scanned in the fake since the last reading."""

    def __init__(self, fake):
        self.fake = fake
        self.seen = set(fake.executions)

    def read(self) -> tuple[int, int]:
        new = [e for key, e in self.fake.executions.items() if key not in self.seen]
        self.seen |= {key for key in self.fake.executions}
        return len(new), sum(e.scanned for e in new)


def traffic_view(engine, filters) -> None:
    """The Traffic page's Athena queries: the view's independent ones, then the labels."""
    queries = traffic.view_queries(filters, ALL_ACCOUNTS, "bytes", 10, bundled=True)
    found = traffic.sections({key: engine.run(q, refresh=True) for key, q in queries.items()})
    shown = traffic.addresses_in(*[found[s].rows() for s in (
        "talkers-src", "talkers-dst", "talkers-pair", "rejected-src") if found[s]])
    labels = traffic.labels_query(filters, ALL_ACCOUNTS, shown)
    if labels is not None:
        engine.run(labels, refresh=True)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=200_000)
    parser.add_argument("--days", type=int, default=7)
    parser.add_argument("--json", help="write the rows as JSON here")
    args = parser.parse_args(argv)

    from fake_athena import LOGS_BUCKET, FakeAthena

    end = int(time.time()) // DAY * DAY - DAY  # yesterday's midnight: every day closed
    workdir = Path(tempfile.mkdtemp(prefix="flowscope-bench-athena-"))
    print(f"generating {args.records:,} records over {2 * args.days} days …", file=sys.stderr)
    generate(workdir, args.records, args.days, end)
    fake = FakeAthena().start()
    try:
        with fake.environment():
            fake.load_store(workdir, parquet=False)
            rollup_location = f"s3://{LOGS_BUCKET}/bench-rollups/"
            settings = fake.settings(athena_result_reuse_minutes=0)
            rolled = fake.settings(athena_result_reuse_minutes=0,
                                   athena_rollup_location=rollup_location)
            fake.execute(create_rollup_sql(rolled))
            from datetime import UTC, datetime

            first = datetime.fromtimestamp(end - 2 * args.days * DAY, UTC).date()
            last = datetime.fromtimestamp(end - DAY, UTC).date()
            days = closed_days(first, last, int(time.time()), rolled.late_margin_s)
            print(f"rolling up {len(days)} days …", file=sys.stderr)
            meter = Meter(fake)
            build_days(rolled, PatientEngine(rolled, poll_interval=0.01), days,
                       s3=fake.s3(), report=lambda line: print(line, file=sys.stderr))
            rollup_queries, rollup_bytes = meter.read()
            raw = PatientEngine(settings, poll_interval=0.01)
            fast = PatientEngine(rolled, poll_interval=0.01)
            hour = parse_filters({"start": str(end - 3600), "end": str(end)})
            week = parse_filters({"start": str(end - args.days * DAY), "end": str(end)})
            check = parse_filters({"start": str(end - 3600), "end": str(end),
                                   "src": "10.0.0.0/8", "dst": "10.0.0.0/8", "dst_port": "443"})
            rows = []
            for name, view in (
                    ("search_1h", lambda: raw.run(Query("search", hour, scope=ALL_ACCOUNTS),
                                                  refresh=True)),
                    (f"traffic_{args.days}d_raw", lambda: traffic_view(raw, week)),
                    (f"traffic_{args.days}d", lambda: traffic_view(fast, week)),
                    ("check_1h", lambda: raw.run(Query("check", check, scope=ALL_ACCOUNTS),
                                                 refresh=True))):
                meter.read()
                view()
                queries, scanned = meter.read()
                rows.append({"name": name, "queries": queries, "bytes_scanned": scanned})
    finally:
        fake.stop()
        import shutil

        shutil.rmtree(workdir, ignore_errors=True)
    raw_bytes = rows[1]["bytes_scanned"] or 1
    print(f"{'view':<18}{'queries':>8}{'bytes scanned':>16}{'of raw traffic':>16}")
    for row in rows:
        share = (f"{row['bytes_scanned'] / raw_bytes:.2%}" if row["name"].startswith("traffic")
                 else "")
        print(f"{row['name']:<18}{row['queries']:>8}{row['bytes_scanned']:>16,}{share:>16}")
    print(f"rollup build: {rollup_queries} INSERT queries, {rollup_bytes:,} bytes scanned "
          f"(once per day, {2 * args.days} days)", file=sys.stderr)
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
