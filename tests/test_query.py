"""The query builder: typed values only, scope inside the query, both dialects."""

import pytest
import sqlglot
from sqlglot import exp

from lib.filters import parse_filters
from lib.query import ALL_ACCOUNTS, Query, QueryError, Scope, Target, render

DUCK = Target("duckdb", exp.Table(this=exp.to_identifier("src")))
ATHENA = Target("athena", exp.Table(this=exp.to_identifier("vpc_flow_logs")))
WINDOW = {"start": "2026-11-01T00:00Z", "end": "2026-11-02T00:00Z"}


def q(kind="search", scope=ALL_ACCOUNTS, **raw):
    return Query(kind, parse_filters({**WINDOW, **raw}), scope=scope)


@pytest.mark.parametrize("target", [DUCK, ATHENA])
@pytest.mark.parametrize("kind", ["search", "top-talkers", "timeline"])
def test_sql_parses_in_its_dialect(kind, target):
    sql = render(q(kind, src="10.0.0.0/8", dst="2001:db8::/32", dst_port="443,8000-8080",
                   protocol="tcp", action="REJECT"), target)
    assert sqlglot.parse_one(sql, read=target.dialect) is not None


def test_athena_cidr_uses_an_ipaddress_range():
    sql = render(q(src="10.0.0.0/8"), ATHENA)
    assert ("TRY_CAST(\"srcaddr\" AS IPADDRESS) BETWEEN CAST('10.0.0.0' AS IPADDRESS) AND "
            "CAST('10.255.255.255' AS IPADDRESS)") in sql
    assert "CONTAINS" not in sql.upper()


def test_duckdb_cidr_uses_address_keys():
    sql = render(q(dst="10.1.0.0/16"), DUCK)
    assert "\"dst_key\" BETWEEN '00000000000000000000ffff0a010000' AND " \
           "'00000000000000000000ffff0a01ffff'" in sql


def test_scope_is_added_inside_the_query():
    sql = render(q(scope=Scope(frozenset({"111111111111"}))), DUCK)
    assert "\"log_account\" IN ('111111111111')" in sql
    # a requested account outside the scope: nothing at all
    sql = render(q(scope=Scope(frozenset({"111111111111"})), account="222222222222"), DUCK)
    assert "FALSE" in sql.upper() and "222222222222" not in sql


def test_times_are_epoch_literals():
    sql = render(q(), DUCK)
    start, end = parse_filters(WINDOW).start, parse_filters(WINDOW).end
    assert end - start == 86400
    assert f'"start" >= {start} AND "start" < {end}' in sql


def test_unknown_group_is_refused():
    with pytest.raises(QueryError):
        Query("top-talkers", parse_filters(WINDOW), group="srcaddr; DROP TABLE x", scope=ALL_ACCOUNTS)
