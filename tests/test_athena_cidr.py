"""Athena CIDR filters: a range of IPADDRESS values, correct for every width of both versions
and valid on every Trino release (``contains`` throws before 427 on mixed versions)."""

import ipaddress

import pytest
import sqlglot
from sqlglot import exp

from lib.query import cidr_predicate


def bounds(cidr: str) -> tuple[str, str]:
    predicate = cidr_predicate("srcaddr", ipaddress.ip_network(cidr), "athena")
    assert isinstance(predicate, exp.Between)
    assert isinstance(predicate.this, exp.TryCast)  # '-' and junk become NULL, not errors
    assert predicate.this.to.this == exp.DataType.Type.IPADDRESS
    return predicate.args["low"].this.this, predicate.args["high"].this.this


@pytest.mark.parametrize("cidr,low,high", [
    ("10.0.0.0/8", "10.0.0.0", "10.255.255.255"),
    ("192.168.4.0/22", "192.168.4.0", "192.168.7.255"),
    ("0.0.0.0/0", "0.0.0.0", "255.255.255.255"),
    ("10.1.2.2/31", "10.1.2.2", "10.1.2.3"),
    ("2001:db8::/32", "2001:db8::", "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff"),
    ("2001:db8:0:1::/64", "2001:db8:0:1::", "2001:db8:0:1:ffff:ffff:ffff:ffff"),
    ("2a05:d018::/29", "2a05:d018::", "2a05:d01f:ffff:ffff:ffff:ffff:ffff:ffff"),
    ("2001:db8::10/127", "2001:db8::10", "2001:db8::11"),
    ("2001:db8::10/128", "2001:db8::10", "2001:db8::10"),  # any spelling of the address
])
def test_every_width_is_the_networks_first_to_last_address(cidr, low, high):
    assert bounds(cidr) == (low, high)


def test_the_athena_form_parses_and_never_uses_contains():
    sql = cidr_predicate("dstaddr", ipaddress.ip_network("2001:db8::/32"), "athena").sql(
        dialect="athena")
    assert "contains" not in sql.lower()
    statement = exp.select("1").from_("t").where(sqlglot.parse_one(sql, read="athena"))
    assert sqlglot.parse_one(statement.sql(dialect="athena"), read="athena") is not None


def test_one_ipv4_address_stays_an_exact_text_match():
    predicate = cidr_predicate("srcaddr", ipaddress.ip_network("10.1.2.3/32"), "athena")
    assert predicate.sql(dialect="athena") == "srcaddr = '10.1.2.3'"
