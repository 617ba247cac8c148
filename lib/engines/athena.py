"""The Athena engine: the logical query rendered as Trino SQL and run through pyathena.

Two halves, kept apart so the SQL can be printed and tested without any network:

- pure: ``athena_target(settings)`` supplies the table and the partition predicates, so
  ``AthenaEngine.sql(query)`` is the exact statement, ready to paste into the console.
  The table (``lib/athena_ddl.py``) is partitioned by ``log_account`` and ``log_region``,
  the very columns the query layer filters on for the account scope and the account and
  region filters, so those prune partitions by themselves; the target adds the day
  partitions implied by the time range.
- network: ``AthenaEngine.run`` is the one place that talks to AWS. It reports each poll
  (queued/running, elapsed, data scanned, cost) to a progress callback, enforces the
  timeout and the bytes-scanned ceiling by cancelling, cancels a query whose caller gave up
  (an exception from the callback, as Streamlit raises when the user changes a widget), and
  turns every failure into an ``EngineError`` with a message for the person who asked.
"""

from __future__ import annotations

import contextlib
import math
import threading
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from itertools import groupby

import pyarrow as pa
from sqlglot import exp

from lib import athena_rollups as rollups
from lib.athena_ddl import LAYOUTS
from lib.engines.base import EngineError, Progress, Result
from lib.query import Query, QueryError, Target, col, lit, render
from lib.store import EARLY_SLACK_S

DAY_COLUMN = "log_day"  # text layout: 'yyyy/MM/dd', the day folder of the S3 key
HIVE_DAY_COLUMNS = ("year", "month", "day")  # parquet layout: year=yyyy/month=MM/day=dd
POLL_INTERVAL_S = 0.5
FINAL_STATES = ("SUCCEEDED", "FAILED", "CANCELLED")
THROTTLE_CODES = ("ThrottlingException", "TooManyRequestsException")
ACCESS_CODES = ("AccessDeniedException", "AccessDenied", "UnauthorizedOperation",
                "UnrecognizedClientException", "InvalidSignatureException",
                "ExpiredTokenException")
# Athena bills scanned data rounded up to whole megabytes, at least 10 MB per query.
BILLING_UNIT = 1024 ** 2
BILLING_MINIMUM = 10 * BILLING_UNIT
TERABYTE = 1024 ** 4
# Athena type names (as pyathena describes result columns) -> the Arrow types DuckDB returns,
# so a result has the same schema on both engines.
RESULT_ARROW_TYPES = {"tinyint": pa.int8(), "smallint": pa.int16(), "integer": pa.int32(),
               "int": pa.int32(), "bigint": pa.int64(), "varchar": pa.string(),
               "char": pa.string(), "string": pa.string(), "boolean": pa.bool_(),
               "double": pa.float64(), "real": pa.float32(), "float": pa.float32()}


# --- pure: the table, the partitions, the SQL -------------------------------------------

def athena_table(settings) -> exp.Table:
    return exp.Table(this=exp.to_identifier(settings.athena_table, quoted=True),
                     db=exp.to_identifier(settings.athena_database, quoted=True))


def delivery_days(start: int, end: int, late_margin_s: int) -> list[date]:
    """Day folders that can hold records starting in [start, end): objects are filed by
    delivery time, up to EARLY_SLACK_S before a record's start and late_margin_s after
    (the same margin lib.store.list_objects keeps for local folders)."""
    if start is None or end is None:
        raise QueryError("a query needs a time range (no time bound would scan every day)")
    first = datetime.fromtimestamp(start - EARLY_SLACK_S, UTC).date()
    last = datetime.fromtimestamp(end + late_margin_s, UTC).date()
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def day_predicate(days: list[date], layout: str) -> exp.Expression:
    if layout == "text":
        return col(DAY_COLUMN).between(lit(days[0].strftime("%Y/%m/%d")),
                                       lit(days[-1].strftime("%Y/%m/%d")))
    if layout != "parquet":
        raise QueryError(f"athena_layout must be one of {', '.join(LAYOUTS)}")
    # Hive prefixes split the day into year=/month=/day=; one exact term per month keeps
    # each column's values a short list that partition projection can prune on.
    months = []
    for (year, month), in_month in groupby(days, key=lambda d: (d.year, d.month)):
        months.append(exp.and_(
            col("year").eq(lit(f"{year:04d}")), col("month").eq(lit(f"{month:02d}")),
            col("day").isin(*[lit(f"{d.day:02d}") for d in in_month])))
    return exp.or_(*months) if len(months) > 1 else months[0]


def partition_predicates(query: Query, layout: str, late_margin_s: int) -> list[exp.Expression]:
    """The day partitions of the query's range. Account and region partitions need nothing
    here: the query's own log_account/log_region predicates name the partition columns."""
    f = query.filters
    return [day_predicate(delivery_days(f.start, f.end, late_margin_s), layout)]


def athena_target(settings) -> Target:
    layout, margin = settings.athena_layout, settings.late_margin_s
    return Target("athena", athena_table(settings),
                  partition_predicates=lambda query: partition_predicates(query, layout, margin))


def scan_cost(scanned_bytes: int | None, price_per_tb: float) -> float | None:
    """What Athena charges for a scan, in dollars (None while nothing is known; nothing for
    no scan, as for a reused result)."""
    if scanned_bytes is None:
        return None
    if scanned_bytes == 0:
        return 0.0
    billed = max(BILLING_MINIMUM, math.ceil(scanned_bytes / BILLING_UNIT) * BILLING_UNIT)
    return billed / TERABYTE * price_per_tb


# --- what a page view cost, and each user's daily budget -----------------------------------

def view_cost(results) -> str | None:
    """One line for a page view's Athena queries: data scanned and dollars, now. A result
    from Flowscope's cache or Athena's result reuse scanned nothing now."""
    athena = list({(r.query_id or id(r)): r for r in results
                   if r is not None and r.engine == "athena"}.values())  # one per query
    if not athena:
        return None
    fresh = [r for r in athena if not r.cache_hit and not r.reused_result]
    scanned = sum(r.scanned_bytes or 0 for r in fresh)
    cost = sum(r.cost_usd or 0.0 for r in fresh)
    line = (f"This view: {len(athena)} Athena quer{'y' if len(athena) == 1 else 'ies'} · "
            f"{_size(scanned)} scanned · ${cost:,.4f}")
    cached = len(athena) - len(fresh)
    if cached:
        line += (f" · {cached} answered from a cache or a stored result: nothing scanned "
                 "for them now")
    return line


class ScanBudget:
    """Bytes each user had Athena scan today (UTC), counted in this process: with
    ``athena_user_daily_bytes`` set, a user past it gets no new scans until tomorrow (cached
    results still show)."""

    def __init__(self):
        self._spent: dict[tuple[str, date], int] = {}
        self._lock = threading.Lock()

    def spent(self, user: str, today: date | None = None) -> int:
        with self._lock:
            return self._spent.get((user, today or _today()), 0)

    def check(self, settings, user: str) -> None:
        limit = getattr(settings, "athena_user_daily_bytes", 0)
        if settings.engine != "athena" or not limit:
            return
        spent = self.spent(user)
        if spent >= limit:
            raise EngineError(
                f"You have had Athena scan {_size(spent)} today, the daily budget per user "
                f"(setting athena_user_daily_bytes: {_size(limit)}). Results kept in the "
                "cache still show; new queries can run again after midnight UTC, or ask an "
                "administrator to raise the budget.")

    def spend(self, user: str, result) -> None:
        if result is None or result.engine != "athena" or result.cache_hit:
            return
        with self._lock:
            key = (user, _today())
            self._spent[key] = self._spent.get(key, 0) + (result.scanned_bytes or 0)
            for old in [k for k in self._spent if k[1] != key[1]]:
                del self._spent[old]


def _today() -> date:
    return datetime.now(UTC).date()


BUDGET = ScanBudget()


# --- the network half ----------------------------------------------------------------------

class _Stop(Exception):
    """Raised from the poll callback to stop waiting; the query is cancelled."""


class AthenaEngine:
    name = "athena"

    def __init__(self, settings, *, poll_interval: float = POLL_INTERVAL_S, retry=None,
                 sdk_attempts: int = 3):
        """``retry`` (a pyathena RetryConfig) backs off throttled calls; ``sdk_attempts`` is
        botocore's own retry layer within each of them (tests set it to 1)."""
        if settings.athena_layout not in LAYOUTS:
            raise EngineError(f"athena_layout must be one of {', '.join(LAYOUTS)}")
        self.settings = settings
        self.target = athena_target(settings)
        self.poll_interval = poll_interval
        self.retry = retry
        self.sdk_attempts = sdk_attempts
        self._connection = None
        self._coverage = None
        self._lock = threading.Lock()

    def sql(self, query: Query) -> str:
        """The exact statement run, partition predicates included. No network."""
        return render(query, self.target)

    def _statement(self, query: Query) -> str:
        """What runs: the traffic kind reads built rollup days from the rollup table (when
        athena_rollup_location is set) and the rest from the records."""
        if not (self.settings.athena_rollup_location and rollups.usable(query)):
            return self.sql(query)
        cut = rollups.plan(query.filters.start, query.filters.end, self.coverage().days())
        if not cut.rollup:
            return self.sql(query)
        if query.kind == "labels":
            return rollups.labels_over_rollups(self.settings, query, self.target, cut)
        return rollups.traffic_over_rollups(self.settings, query, self.target, cut)

    def route(self, query: Query) -> str:
        """raw (the records table) or rollup (built days from the rollup table)."""
        if not (self.settings.athena_rollup_location and rollups.usable(query)):
            return "raw"
        try:
            days = self.coverage().days()
        except Exception:  # the rollup's days could not be listed: the records answer
            return "raw"
        cut = rollups.plan(query.filters.start, query.filters.end, days)
        return "rollup" if cut.rollup else "raw"

    def coverage(self):
        with self._lock:
            if self._coverage is None:
                self._coverage = rollups.Coverage(
                    self.settings, lambda: rollups.s3_client(self.settings))
            return self._coverage

    # --- connection ------------------------------------------------------------------------
    def connection(self):
        """One pyathena connection per engine, opened on first use; cursors are per query."""
        with self._lock:
            if self._connection is None:
                self._connection = self._connect()
            return self._connection

    def _connect(self):
        import pyathena
        from botocore.config import Config
        from pyathena.util import RetryConfig

        s = self.settings
        options = {
            "region_name": s.athena_region,
            "work_group": s.athena_workgroup or "",
            "schema_name": s.athena_database,
            "s3_staging_dir": s.athena_output_location or None,
            "retry_config": self.retry or RetryConfig(
                exceptions=THROTTLE_CODES, attempt=5, multiplier=1, max_delay=16),
            "config": Config(retries={"mode": "standard",
                                      "total_max_attempts": self.sdk_attempts}),
            "poll_interval": self.poll_interval,
        }
        if s.athena_profile:
            options["profile_name"] = s.athena_profile
        if s.athena_role_arn:
            options["role_arn"] = s.athena_role_arn
            options["role_session_name"] = "flowscope"
        if s.athena_endpoint_url:
            options["endpoint_url"] = s.athena_endpoint_url
        try:
            return pyathena.connect(**options)
        except Exception as error:
            raise EngineError(f"Could not connect to Athena: {error}") from error

    # --- running ---------------------------------------------------------------------------
    def run(self, query: Query, *, progress: Callable[[Progress], None] | None = None,
            refresh: bool = False) -> Result:
        """Run the query; ``refresh`` also skips Athena's own result reuse."""
        sql = self.sql(query)  # refuses a query without a time range before any request
        # The rollup's days could not be listed (S3 refused…): the records answer alone.
        with contextlib.suppress(Exception):
            sql = self._statement(query)
        return self.execute(sql, progress=progress, refresh=refresh)

    def run_statement(self, sql: str) -> Result:
        """Any statement (the rollup's INSERT INTO), with the same limits and messages."""
        return self.execute(sql, refresh=True)

    def execute(self, sql: str, *, progress: Callable[[Progress], None] | None = None,
                refresh: bool = False) -> Result:
        from pyathena.pandas.cursor import PandasCursor

        began = time.monotonic()
        watch = _Watch(self.settings, began, progress)
        reuse_minutes = self.settings.athena_result_reuse_minutes
        cursor = self.connection().cursor(PandasCursor, on_poll=watch.poll)
        try:
            cursor.execute(sql, result_reuse_enable=reuse_minutes > 0 and not refresh,
                           result_reuse_minutes=max(reuse_minutes, 1),
                           on_start_query_execution=watch.started)
            table = _to_arrow(cursor.as_pandas(), cursor.description)
        except _Stop as stop:
            self._cancel(watch)
            raise EngineError(str(stop)) from None
        except Exception as error:
            # Polling failed (throttled past every retry, a lost connection…) or the result
            # could not be read: a query we stop waiting for must stop running, or the
            # user's next try pays for the same scan twice.
            stopped = self._cancel(watch)
            message = _message(error, watch)
            if stopped:
                message += " The query was stopped in Athena, so it costs nothing more."
            raise EngineError(message) from error
        except BaseException:  # the caller gave up (e.g. a Streamlit rerun): stop paying
            self._cancel(watch)
            raise
        finally:
            cursor.close()
        execution = watch.last
        scanned = execution.data_scanned_in_bytes if execution else None
        return Result(table=table, sql=sql, engine=self.name,
                      elapsed_s=time.monotonic() - began, scanned_bytes=scanned,
                      cost_usd=scan_cost(scanned, self.settings.athena_price_per_tb),
                      query_id=watch.query_id,
                      reused_result=bool(execution and execution.reused_previous_result))

    def _cancel(self, watch: _Watch) -> bool:
        """Stop the query unless it is known to have ended; whether a stop was sent. Best
        effort: a failure to cancel must not hide why we cancelled."""
        if watch.query_id is None or watch.ended:
            return False
        with contextlib.suppress(Exception):  # the original error is the one to report
            self.connection().client.stop_query_execution(QueryExecutionId=watch.query_id)
            return True
        return False


class _Watch:
    """Follows one execution: reports progress, stops it on timeout or too much data."""

    def __init__(self, settings, began: float, progress):
        self.settings = settings
        self.began = began
        self.progress = progress
        self.query_id: str | None = None
        self.last = None  # the latest AthenaQueryExecution seen

    def started(self, query_id: str) -> None:
        self.query_id = query_id

    @property
    def ended(self) -> bool:
        """Athena said the query is over (nothing left to stop)."""
        return self.last is not None and self.last.state in FINAL_STATES

    def poll(self, execution) -> None:
        self.last = execution
        elapsed = time.monotonic() - self.began
        scanned = execution.data_scanned_in_bytes
        if self.progress is not None:
            self.progress(Progress(
                state=execution.state or "QUEUED", elapsed_s=elapsed, scanned_bytes=scanned,
                cost_usd=scan_cost(scanned, self.settings.athena_price_per_tb),
                query_id=self.query_id))
        if execution.state in FINAL_STATES:
            return
        limit = self.settings.athena_bytes_scanned_limit
        if limit and scanned and scanned > limit:
            raise _Stop(f"The query was stopped after scanning {_size(scanned)}, more than the "
                        f"{_size(limit)} allowed per query (setting athena_bytes_scanned_limit)."
                        " Narrow the time range, accounts or regions.")
        timeout = self.settings.athena_timeout_s
        if timeout and elapsed > timeout:
            raise _Stop(f"The query took longer than {timeout} s and was cancelled (setting "
                        "athena_timeout_s). Narrow the time range, accounts or regions.")


def _size(n: int) -> str:
    return f"{n / 1e9:,.2f} GB" if n >= 1e9 else f"{n / 1e6:,.1f} MB"


def _aws_error(error: BaseException) -> tuple[str, str] | None:
    """(code, message) of the AWS error behind a pyathena error, if there is one."""
    seen = error
    while seen is not None:
        response = getattr(seen, "response", None)
        if isinstance(response, dict) and isinstance(response.get("Error"), dict):
            return response["Error"].get("Code", ""), response["Error"].get("Message", "")
        seen = seen.__cause__ or seen.__context__
    return None


def _message(error: Exception, watch: _Watch) -> str:
    execution = watch.last
    if execution is not None and execution.state == "FAILED":
        return f"Athena could not run the query: {execution.state_change_reason or error}"
    if execution is not None and execution.state == "CANCELLED":
        return "The query was cancelled in Athena before it finished."
    aws = _aws_error(error)
    if aws is None:
        return f"The Athena query failed: {error}"
    code, text = aws
    if code in THROTTLE_CODES:
        return (f"Athena is throttling requests ({code}: {text}) and still was after several "
                "tries with growing pauses. Wait a minute and run the query again.")
    if code in ACCESS_CODES or "AccessDenied" in code:
        return (f"Athena refused access ({code}: {text}). Flowscope's AWS role needs the "
                "permissions listed in the README (Using Athena).")
    return f"Athena refused the request ({code}: {text})."


def _to_arrow(df, description) -> pa.Table:
    """The result frame as Arrow, typed from Athena's column types (not pandas' guesses)."""
    fields = [pa.field(name, RESULT_ARROW_TYPES.get(str(type_name).lower(), pa.string()))
              for name, type_name, *_ in description or []]
    if not fields:
        return pa.table({})
    return pa.Table.from_pandas(df, schema=pa.schema(fields), preserve_index=False)
