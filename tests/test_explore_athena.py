"""Explore's `group` kind gives the same rows on DuckDB and on Athena (the fake of
tests/fake_athena.py runs the Athena SQL on the same files): every field, every measure,
conditions of each type, and the account scope."""

import pytest
from fake_athena import shared_fake
from storefixture import ACCOUNT_B, T0

from lib import explore
from lib.engines.athena import AthenaEngine
from lib.engines.duckdb_engine import DuckDBEngine
from lib.filters import parse_filters
from lib.query import ALL_ACCOUNTS, Scope

WINDOW = {"start": str(T0), "end": str(T0 + 2 * 86400)}
ONLY_B = Scope(frozenset({ACCOUNT_B}))

# Every field at least once, every measure, one to three fields.
CASES = [
    ("dstport,action", "flows", {}, ALL_ACCOUNTS),
    ("srcaddr/24", "bytes", {}, ALL_ACCOUNTS),
    ("srcaddr/16,dstaddr/16", "packets", {}, ALL_ACCOUNTS),
    ("dstaddr/24,protocol", "sources", {}, ALL_ACCOUNTS),
    ("srcaddr,dstaddr", "reject-rate", {}, ALL_ACCOUNTS),
    ("srcport", "destinations", {}, ALL_ACCOUNTS),
    ("interface-id,vpc-id,subnet-id", "flows", {}, ALL_ACCOUNTS),
    ("account,region", "bytes", {}, ALL_ACCOUNTS),
    ("pkt-src-aws-service,pkt-dst-aws-service", "flows", {}, ALL_ACCOUNTS),
    ("tcp-flags,flow-direction,traffic-path", "packets", {}, ALL_ACCOUNTS),
    ("hour,action", "reject-rate", {}, ALL_ACCOUNTS),
    ("day,account", "sources", {}, ALL_ACCOUNTS),
    ("dstport", "flows", {"srcaddr": "10.0.0.0/8", "action": "accept"}, ALL_ACCOUNTS),
    ("srcaddr", "bytes", {"dstaddr/24": "2001:db8::/32"}, ALL_ACCOUNTS),
    ("srcaddr/24", "flows", {"dstport": "1-1024", "protocol": "tcp"}, ALL_ACCOUNTS),
    ("dstport", "flows", {"hour": str(T0 + 3600)}, ALL_ACCOUNTS),
    ("srcaddr", "flows", {"flow-direction": "egress", "vpc-id": "vpc-0a1b2c3d",
                          "tcp-flags": "2,3", "region": "eu-west-1"}, ALL_ACCOUNTS),
    ("dstaddr", "bytes", {"pkt-dst-aws-service": "S3", "traffic-path": "1"}, ALL_ACCOUNTS),
    ("account,dstport", "flows", {}, ONLY_B),
    ("account", "flows", {"account": ACCOUNT_B}, ALL_ACCOUNTS),
]


@pytest.fixture(scope="module")
def engines():
    fake = shared_fake()
    with pytest.MonkeyPatch.context() as monkeypatch:
        for key, value in fake.environment_variables().items():
            monkeypatch.setenv(key, value)
        fake.reset()
        yield (DuckDBEngine(str(fake.store_root)),
               AthenaEngine(fake.settings(), poll_interval=0.01))


def comparable(rows):
    """Rates as floats rounded (both engines divide doubles; the fake's CSV round trip may
    print the last digit differently), everything else exact."""
    return [{k: round(v, 12) if isinstance(v, float) else v for k, v in row.items()}
            for row in rows]


@pytest.mark.parametrize("fields, measure, conditions, scope", CASES,
                         ids=[f"{c[0]}-{c[1]}-{len(c[2])}" for c in CASES])
def test_duckdb_and_athena_give_the_same_groups(engines, fields, measure, conditions, scope):
    duck, athena = engines
    query = explore.group_query(parse_filters(WINDOW, 31), scope, fields, measure, top=50,
                                conditions=explore.parse_conditions(conditions))
    expected, got = duck.run(query), athena.run(query)
    assert got.table.column_names == expected.table.column_names
    assert comparable(got.rows()) == comparable(expected.rows())
    assert expected.rows(), "the fixture store has rows for every case"
    if scope is ONLY_B:
        assert {r["log_account"] for r in expected.rows()} == {ACCOUNT_B}


def test_top_n_is_the_same_cut_on_both(engines):
    duck, athena = engines
    query = explore.group_query(parse_filters(WINDOW, 31), ALL_ACCOUNTS, "dstport", "flows",
                                top=3)
    assert athena.run(query).rows() == duck.run(query).rows()
    assert len(duck.run(query).rows()) == 3
