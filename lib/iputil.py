"""Address keys: CIDR tests without the inet extension.

An address becomes a fixed-width key of 32 lower-case hex digits (its IPv6 value; IPv4
addresses as IPv4-mapped ``::ffff:a.b.c.d``), so "address in CIDR" is a string range test
``lo <= key <= hi`` that is correct for IPv4 and IPv6 alike and needs no extension.
"""

from __future__ import annotations

import ipaddress
import re

from sqlglot import exp

_MAPPED_PREFIX = "00000000000000000000ffff"
_IPV4 = re.compile(r"(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}")

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class ZoneIdError(ValueError):
    """An IPv6 address with a zone ID (``fe80::1%eth0``)."""

    def __init__(self):
        super().__init__("IPv6 zone IDs (the '%…' after an address, e.g. fe80::1%eth0) are "
                         "not accepted: give the address without it")


def _refuse_zone_id(text: str) -> None:
    """Python's ipaddress takes ``fe80::1%<any text>``: a zone names an interface of the
    machine that reads it, never one in a flow log, and it would carry any text (Markdown,
    markup) into every message and page that shows the address."""
    if "%" in text:
        raise ZoneIdError()


def parse_address(text: str) -> IPAddress:
    """An IPv4 or IPv6 address; ValueError for anything else, zone IDs included."""
    if not isinstance(text, str):
        raise ValueError(f"not an IP address: {text!r}")
    _refuse_zone_id(text)
    return ipaddress.ip_address(text)


def parse_network(text: str) -> IPNetwork:
    """An address or CIDR as a network (host bits cleared); ValueError for anything else,
    zone IDs included."""
    _refuse_zone_id(text)
    return ipaddress.ip_network(text, strict=False)


def address_key(address: str) -> str | None:
    """The address's key; None when it is not an address."""
    if _IPV4.fullmatch(address):  # the common case, 20x faster than ipaddress
        return _MAPPED_PREFIX + bytes(map(int, address.split("."))).hex()
    try:
        ip = parse_address(address)
    except ValueError:
        return None
    if ip.version == 4:
        return _MAPPED_PREFIX + format(int(ip), "08x")
    return format(int(ip), "032x")


def network_bounds(network: IPNetwork) -> tuple[str, str]:
    """The first and last key inside a network."""
    return (address_key(str(network.network_address)),
            address_key(str(network.broadcast_address)))


# address_key() as a DuckDB expression, so that DuckDB computes the key inside the scan
# (Python UDFs would cost a round trip per vector). Built as a sqlglot AST over a column.

def _text(value: str) -> exp.Literal:
    return exp.Literal.string(value)


def _number(value: int) -> exp.Literal:
    return exp.Literal.number(value)


def _v4_key(a: exp.Expression) -> exp.Expression:
    """'00..ffff' || each octet as two hex digits."""
    key: exp.Expression = _text(_MAPPED_PREFIX)
    for n in range(1, 5):
        octet = exp.TryCast(this=exp.func("SPLIT_PART", a.copy(), _text("."), _number(n)),
                            to=exp.DataType.build("INTEGER"))
        hex_digits = exp.func("LPAD", exp.func("FORMAT", _text("{:x}"), octet), _number(2),
                              _text("0"))
        key = exp.DPipe(this=key, expression=hex_digits)
    return key


def _v6_side(a: exp.Expression, side: int) -> exp.Expression:
    """The groups left (1) or right (2) of '::' (an empty list when there are none)."""
    part = exp.func("SPLIT_PART", a.copy(), _text("::"), _number(side))
    empty = exp.cast(exp.Array(expressions=[]), exp.DataType.build("VARCHAR[]", dialect="duckdb"))
    return exp.Paren(this=exp.Case().when(part.eq(_text("")), empty).else_(
        exp.func("STRING_SPLIT", part.copy(), _text(":"))))


def _v6_groups(a: exp.Expression) -> exp.Expression:
    """The eight groups of an IPv6 address, '::' expanded to zero groups."""
    left, right = _v6_side(a, 1), _v6_side(a, 2)
    missing = exp.Sub(this=exp.Sub(this=_number(8), expression=exp.func("LEN", left.copy())),
                      expression=exp.func("LEN", right.copy()))
    zeros = exp.func("LIST_TRANSFORM", exp.func("RANGE", missing),
                     exp.Lambda(this=_text("0"), expressions=[exp.to_identifier("x")]))
    compressed = exp.func("STRPOS", a.copy(), _text("::")) > _number(0)
    return exp.Paren(this=exp.Case().when(compressed, exp.func("LIST_CONCAT", left, zeros, right))
                     .else_(exp.func("STRING_SPLIT", a.copy(), _text(":"))))


def duckdb_key(column: str | exp.Expression) -> exp.Expression:
    """DuckDB's expression computing address_key() of a column (a name or an expression)."""
    a = exp.column(column, quoted=True) if isinstance(column, str) else column
    group = exp.to_identifier("g")
    padded = exp.func("LPAD", exp.func("LOWER", exp.column(group)), _number(4), _text("0"))
    v6 = exp.func("ARRAY_TO_STRING", exp.func("LIST_TRANSFORM", _v6_groups(a), exp.Lambda(
        this=padded, expressions=[group.copy()])), _text(""))
    return exp.Paren(this=exp.Case()
                     .when(a.copy().is_(exp.null()), exp.null())
                     .when(exp.func("STRPOS", a.copy(), _text(":")).eq(_number(0)), _v4_key(a))
                     .else_(v6))


def duckdb_key_sql(column: str) -> str:
    """DuckDB SQL computing the key of a column (by name)."""
    return duckdb_key(column).sql(dialect="duckdb")
