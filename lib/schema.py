"""The VPC flow log record format: every field AWS defines (versions 2-8).

One table drives the parser, the SQL column list, the Athena DDL and the glossary:
AWS field names (``account-id``) are what users and files see; SQL column names
(``account_id``) are what queries use. Unknown header names (newer versions) pass
through as text.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

FieldType = Literal["int", "bigint", "string"]


@dataclass(frozen=True)
class Field:
    name: str  # AWS name, as in a header line
    type: FieldType
    version: int  # the format version that introduced it

    @property
    def column(self) -> str:
        """SQL column name: AWS name with '-' replaced by '_'."""
        return self.name.replace("-", "_")

    @property
    def is_number(self) -> bool:
        return self.type != "string"


def _fields(version: int, spec: str) -> list[Field]:
    out = []
    for item in spec.split():
        name, _, typ = item.partition(":")
        out.append(Field(name, typ or "string", version))  # type: ignore[arg-type]
    return out


FIELDS: tuple[Field, ...] = tuple(
    _fields(2, "version:int account-id interface-id srcaddr dstaddr srcport:int dstport:int"
               " protocol:int packets:bigint bytes:bigint start:bigint end:bigint action log-status")
    + _fields(3, "vpc-id subnet-id instance-id tcp-flags:int type pkt-srcaddr pkt-dstaddr")
    + _fields(4, "region az-id sublocation-type sublocation-id")
    + _fields(5, "pkt-src-aws-service pkt-dst-aws-service flow-direction traffic-path:int")
    + _fields(7, "ecs-cluster-arn ecs-cluster-name ecs-container-instance-arn"
                 " ecs-container-instance-id ecs-container-id ecs-second-container-id"
                 " ecs-service-name ecs-task-definition-arn ecs-task-arn ecs-task-id")
    + _fields(8, "reject-reason")
)

BY_NAME: dict[str, Field] = {f.name: f for f in FIELDS}
BY_COLUMN: dict[str, Field] = {f.column: f for f in FIELDS}

DEFAULT_FORMAT: tuple[str, ...] = tuple(f.name for f in FIELDS if f.version == 2)

# Formats a user can pick when a pasted line has no header: "all fields of version N".
VERSION_FORMATS: dict[str, tuple[str, ...]] = {
    "v2 (default)": DEFAULT_FORMAT,
    **{f"v{v} (all fields up to v{v})": tuple(f.name for f in FIELDS if f.version <= v)
       for v in (3, 4, 5, 7, 8)},
}

# Columns that are not record fields but where the record was stored: the account and
# region folders of the S3 key. Account scope and the account/region filters use these,
# so they work for every format (many custom formats omit account-id and region).
LOG_ACCOUNT = "log_account"
LOG_REGION = "log_region"

SQL_TYPES = {"int": "INTEGER", "bigint": "BIGINT", "string": "VARCHAR"}
ATHENA_TYPES = {"int": "int", "bigint": "bigint", "string": "string"}


def sql_type(field: Field) -> str:
    return SQL_TYPES[field.type]


def field_for(name: str) -> Field:
    """The known field for a header name, or a text field for a name AWS added later."""
    return BY_NAME.get(name) or Field(name, "string", 99)
