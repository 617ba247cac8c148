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
from datetime import date

from lib import schema
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
    accounts, regions = parse_ids("account", accounts), parse_ids("region", regions)
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
