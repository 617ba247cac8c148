"""Address keys: CIDR tests without the inet extension.

An address becomes a fixed-width key of 32 lower-case hex digits (its IPv6 value; IPv4
addresses as IPv4-mapped ``::ffff:a.b.c.d``), so "address in CIDR" is a string range test
``lo <= key <= hi`` that is correct for IPv4 and IPv6 alike and needs no extension.
"""

from __future__ import annotations

import ipaddress
import re

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


# DuckDB SQL for address_key(); {a} is the column. Kept in SQL so that DuckDB computes the
# key inside the scan (Python UDFs would cost a round trip per vector).
_V4_OCTET = "lpad(format('{{:x}}', TRY_CAST(split_part({a}, '.', {n}) AS INTEGER)), 2, '0')"
_V6_LEFT = "(CASE WHEN split_part({a}, '::', 1) = '' THEN []::VARCHAR[] ELSE string_split(split_part({a}, '::', 1), ':') END)"  # noqa: E501
_V6_RIGHT = "(CASE WHEN split_part({a}, '::', 2) = '' THEN []::VARCHAR[] ELSE string_split(split_part({a}, '::', 2), ':') END)"  # noqa: E501
_V6_GROUPS = ("(CASE WHEN strpos({a}, '::') > 0 THEN list_concat(" + _V6_LEFT
              + ", list_transform(range(8 - len(" + _V6_LEFT + ") - len(" + _V6_RIGHT
              + ")), lambda x: '0'), " + _V6_RIGHT + ") ELSE string_split({a}, ':') END)")
DUCKDB_KEY_SQL = (
    "(CASE WHEN {a} IS NULL THEN NULL WHEN strpos({a}, ':') = 0 THEN '" + _MAPPED_PREFIX + "' || "
    + " || ".join(_V4_OCTET.replace("{n}", str(n)) for n in range(1, 5))
    + " ELSE array_to_string(list_transform(" + _V6_GROUPS
    + ", lambda g: lpad(lower(g), 4, '0')), '') END)"
)


def duckdb_key_sql(column_sql: str) -> str:
    """DuckDB SQL computing the key of a (quoted) column expression."""
    return DUCKDB_KEY_SQL.replace("{a}", column_sql).replace("{{", "{").replace("}}", "}")
