"""Bad input, fuzzed: whatever reaches a filter (sidebar field or URL parameter) is either
refused with a message naming it, or becomes a query whose SQL carries it only as a literal.

For every raw key in ``filters.KEYS`` (the URL parameters are the same keys), Hypothesis
feeds arbitrary text, near-valid values and classic injection strings. An accepted input
must give, for every query kind and both dialects (a plain Target per dialect and the real
DuckDBEngine.sql), SQL that parses as exactly one statement in sqlglot, names only
columns/identifiers from the fixed schema lists, carries no comment, and whose literals
are exactly those the query builder put there, user values among them only in their
validated form.
"""

from __future__ import annotations

import ipaddress
import re
from collections import Counter

import pytest
import sqlglot
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlglot import exp
from storefixture import ACCOUNT_A, T0, record, write_object

from lib import schema
from lib.engines.duckdb_engine import DuckDBEngine
from lib.filters import KEYS, Filters, InvalidFilters, parse_filters
from lib.iputil import duckdb_key_sql, network_bounds
from lib.query import ALL_ACCOUNTS, KINDS, Query, Scope, Target, build, render

BASE = {"start": str(T0), "end": str(T0 + 3600)}
DUCK = Target("duckdb", exp.Table(this=exp.to_identifier("flows_raw")))
ATHENA = Target("athena", exp.Table(this=exp.to_identifier("vpc_flow_logs")))
SCOPE = Scope(frozenset({ACCOUNT_A, "123456789012"}))
RAW_TABLE = re.compile(r"raw_\d+")  # the embedded engine's registered object tables

# Every name SQL may carry: the schema's columns (SQL and AWS spellings), the logical table
# and its helper columns, read_csv options and the address-key lambdas' parameters, plus
# whatever a query with no user values names (aliases of each kind): nothing a user typed.
SCHEMA_NAMES = (
    {f.column for f in schema.FIELDS} | {f.name for f in schema.FIELDS}
    | {schema.LOG_ACCOUNT, schema.LOG_REGION, "src_key", "dst_key", "flows", "raw",
       "flows_raw", "vpc_flow_logs", "delim", "header", "nullstr", "auto_detect",
       "ignore_errors", "columns", "x", "g"})

INJECTIONS = [
    "' OR '1'='1", "1' OR '1'='1' --", "\" OR \"\"=\"", "'; DROP TABLE flows; --",
    "10.0.0.1'; DROP TABLE flows; --", "443; DELETE FROM flows", "443 UNION SELECT * FROM x",
    "10.0.0.0/8' UNION SELECT 1 --", "eni-0a1b2c3d4e5f67890' OR 1=1 --", "/* */", "-- ",
    "443/**/OR/**/1=1", "ACCEPT' OR 'a'='a", "ACCEPT\x00", "443\x00", "10.0.0.1\x00' --",
    "tcp); DROP TABLE flows; --", "012345678901' OR ''='", "us-east-1' --",
    "\\'; SELECT 1; --", "$$; SELECT 1; $$", "%s%s%s", "{0}", "%(start)s", "?",
    "１０.０.０.１", "４４３", "０１２３４５６７８９０１", "٤٤٣", "10.0.0.１",
    "еni-0a1b2c3d4e5f67890",  # Cyrillic е
    "vpc-0a1b2c3dе", "АССЕРТ",  # Cyrillic look-alikes of ACCEPT
    "subnet-0a1b2c3d\u200b", "eni-0a1b2c3d4e5f67890\u202e", "ｔｃｐ", "ＵＮＩＯＮ",
    "1" * 5000, "A" * 100_000, "10.0.0.1," * 500, "443," * 2000,
    "2026-11-26T09:00Z' OR 1=1 --", "1790000000; --", "9" * 40, "-" * 10 + "1",
    "\n\r\t", "", " ", ",,,", "\ud7ff\ue000\U0010ffff",
]

NEAR_VALID = {
    "start": [str(T0), "2026-09-21T00:00Z", "2026-09-21T09:00+09:00", str(T0 + 60)],
    "end": [str(T0 + 3600), "2026-09-21T01:00Z", "2026-09-21T02:00+00:00"],
    "account": [ACCOUNT_A, "123456789012", "999999999999"],
    "region": ["us-east-1", "eu-west-1", "ap-northeast-1"],
    "src": ["10.0.0.5", "10.0.0.0/16", "2001:db8::/32", "::ffff:10.0.0.1", "0.0.0.0/0"],
    "dst": ["10.0.1.9", "10.0.1.0/24", "fe80::1", "::/0"],
    "src_port": ["443", "1024-65535", "80,443", "0", "65535"],
    "dst_port": ["443", "22,3389", "8000-8080"],
    "protocol": ["tcp", "UDP", "6", "17,1", "icmp"],
    "action": ["ACCEPT", "reject", "any", ""],
    "eni": ["eni-0a1b2c3d4e5f67890", "ENI-0A1B2C3D"],
    "vpc": ["vpc-0a1b2c3d", "vpc-0a1b2c3d4e5f67890"],
    "subnet": ["subnet-0a1b2c3d"],
}
LIST_KEYS = ("account", "region", "eni", "vpc", "subnet")


def raw_values(key: str):
    """Text for one key: arbitrary, near-valid, injections, and near-valid spliced with them."""
    pieces = st.sampled_from(NEAR_VALID[key] + INJECTIONS)
    text = st.one_of(
        st.text(max_size=60),
        st.sampled_from(NEAR_VALID[key]),
        st.sampled_from(INJECTIONS),
        st.tuples(pieces, st.sampled_from(["", " ", ",", "'", ";", "--", "/", "-", "\x00"]),
                  pieces | st.text(max_size=10)).map("".join),
    )
    if key in LIST_KEYS:  # the URL and the multiselects give lists
        return text | st.lists(text, max_size=4)
    return text


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    """The real embedded engine on a small store, so its read_csv source is rendered too."""
    root = tmp_path_factory.mktemp("fuzzstore")
    write_object(root, [record("10.0.0.5", "10.0.1.9", 40001, 443, start=T0 + 100)])
    return DuckDBEngine(str(root))


# --- the checks ------------------------------------------------------------------------

def names_in(tree: exp.Expression) -> set[str]:
    names = set()
    for node in tree.walk():
        if isinstance(node, exp.Identifier | exp.Var):
            names.add(node.name)
    return names


def literals(tree: exp.Expression) -> Counter:
    return Counter((node.is_string, node.this) for node in tree.find_all(exp.Literal))


def comments(tree: exp.Expression) -> list[str]:
    return [c for node in tree.walk() for c in (node.comments or [])]


def user_strings(filters: Filters) -> set[str]:
    """Every string a user's filters may place in SQL, in validated form."""
    values = {*filters.accounts, *filters.regions, *filters.interface_ids, *filters.vpc_ids,
              *filters.subnet_ids, *SCOPE.accounts}
    if filters.action:
        values.add(filters.action)
    for network in (filters.src, filters.dst):
        if network is not None:
            values |= {str(network), str(network.network_address),
                       str(network.broadcast_address), *network_bounds(network)}
    return values


def parse_one_select(sql: str, dialect: str) -> exp.Select:
    statements = sqlglot.parse(sql, read=dialect)
    assert len(statements) == 1, sql[:500]
    parsed = statements[0]
    assert isinstance(parsed, exp.Select)
    assert not comments(parsed)
    outside = {n for n in names_in(parsed) - allowed_names() if not RAW_TABLE.fullmatch(n)}
    assert not outside, f"identifiers not from the schema: {outside}"
    return parsed


_ALLOWED: set[str] = set()


def allowed_names() -> set[str]:
    """The schema's names and those of every kind built without user values (both dialects)."""
    if not _ALLOWED:
        bare = [Query(kind, parse_filters(BASE), scope=ALL_ACCOUNTS) for kind in KINDS]
        _ALLOWED.update(SCHEMA_NAMES, *(names_in(build(q, t)) for q in bare for t in (DUCK, ATHENA)))
    return _ALLOWED


def strings(tree: exp.Expression) -> set[str]:
    return {text for is_string, text in literals(tree) if is_string}


def check_sql(sql: str, built: exp.Expression, dialect: str, filters: Filters) -> None:
    parsed = parse_one_select(sql, dialect)
    # Literals survive the round trip unchanged: none was split, merged or unquoted.
    assert literals(parsed) == literals(built)
    user = strings(built) - static_strings(dialect)
    assert user <= user_strings(filters), user - user_strings(filters)


_STATIC: dict[str, set[str]] = {}
ADDRESS_KEY_STRINGS = strings(sqlglot.parse_one(duckdb_key_sql("srcaddr"), read="duckdb"))


def static_strings(dialect: str) -> set[str]:
    """String literals of queries with no user values (the builder's own constants)."""
    if dialect not in _STATIC:
        target = DUCK if dialect == "duckdb" else ATHENA
        _STATIC[dialect] = set().union(*(
            strings(build(Query(kind, parse_filters(BASE), scope=ALL_ACCOUNTS), target)) for kind in KINDS))
    return _STATIC[dialect]


def check_engine_sql(engine: DuckDBEngine, query: Query, filters: Filters) -> None:
    """The real engine's SQL: one statement, schema names only, and beyond the engine's own
    constants (what a query without filters carries) only the user's validated values,
    the same ones the plain DuckDB rendering holds."""
    parsed = parse_one_select(engine.sql(query), "duckdb")
    own = engine_strings(engine, query.kind)
    plain = strings(build(query, DUCK)) - static_strings("duckdb")
    assert strings(parsed) - own - static_strings("duckdb") <= plain <= strings(parsed)
    assert plain <= user_strings(filters)


_ENGINE_STRINGS: dict[tuple[int, str], set[str]] = {}


def engine_strings(engine: DuckDBEngine, kind: str) -> set[str]:
    """The engine's own string literals (paths, stored accounts...) for a bare query."""
    key = (id(engine), kind)
    if key not in _ENGINE_STRINGS:
        sql = engine.sql(Query(kind, parse_filters(BASE), scope=ALL_ACCOUNTS))
        _ENGINE_STRINGS[key] = strings(sqlglot.parse_one(sql, read="duckdb")) | ADDRESS_KEY_STRINGS
    return _ENGINE_STRINGS[key]


# The filter predicates are shared by every kind but the two-way ones (the connection
# check), so fuzzing goes through search and check; every kind is checked on fixed inputs.
FUZZ_KINDS = tuple(k for k in ("search", "check") if k in KINDS)


def check_accepted(filters: Filters, engine: DuckDBEngine, kinds=FUZZ_KINDS) -> None:
    for kind in kinds:
        query = Query(kind, filters, scope=SCOPE)
        for target in (DUCK, ATHENA):
            check_sql(render(query, target), build(query, target), target.dialect, filters)
        check_engine_sql(engine, query, filters)


def check_input(key: str, value, engine: DuckDBEngine) -> None:
    raw = {**BASE, key: value}
    try:
        filters = parse_filters(raw)
    except InvalidFilters as invalid:
        named = {key, "end"} if key in ("start", "end") else {key}
        assert set(invalid.errors) <= named and set(invalid.errors) & named, invalid.errors
        assert all(message.strip() for message in invalid.errors.values())
        return
    check_accepted(filters, engine)


# --- the tests -------------------------------------------------------------------------

@pytest.mark.parametrize("key", KEYS)
@settings(max_examples=40, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data())
def test_arbitrary_input_is_refused_or_only_a_literal(engine, key, data):
    check_input(key, data.draw(raw_values(key), label=key), engine)


@pytest.mark.parametrize("key", KEYS)
@pytest.mark.parametrize("value", INJECTIONS, ids=range(len(INJECTIONS)))
def test_classic_injections(engine, key, value):
    check_input(key, value, engine)


@settings(max_examples=25, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(raw=st.fixed_dictionaries({k: raw_values(k) for k in KEYS if k not in BASE}))
@example(raw={"src": "10.0.0.0/8", "dst": "2001:db8::/32", "dst_port": "443,8000-8080",
              "protocol": "tcp,udp", "action": "REJECT", "account": [ACCOUNT_A],
              "region": "us-east-1", "eni": "eni-0a1b2c3d4e5f67890", "vpc": "vpc-0a1b2c3d",
              "subnet": "subnet-0a1b2c3d", "src_port": "1024-65535"})
def test_all_keys_at_once(engine, raw):
    try:
        filters = parse_filters({**BASE, **raw})
    except InvalidFilters as invalid:
        assert set(invalid.errors) <= set(raw)
        return
    check_accepted(filters, engine)


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_with_every_filter(engine, kind):
    filters = parse_filters({**BASE, "src": "10.0.0.0/8", "dst": "2001:db8::/32",
                             "dst_port": "443,8000-8080", "src_port": "1024-65535",
                             "protocol": "tcp,udp", "action": "REJECT", "account": ACCOUNT_A,
                             "region": "us-east-1", "eni": "eni-0a1b2c3d4e5f67890",
                             "vpc": "vpc-0a1b2c3d", "subnet": "subnet-0a1b2c3d"})
    check_accepted(filters, engine, kinds=(kind,))


@pytest.mark.parametrize("key, value", [
    ("account", "０１２３４５６７８９０１"),  # fullwidth digits
    ("account", "٠١٢٣٤٥٦٧٨٩٠١"),  # Arabic-Indic digits
    ("dst_port", "４４３"),
    ("src_port", "٤٤٣"),
    ("start", "１７９０００００００"),
    ("eni", "еni-0a1b2c3d4e5f67890"),  # Cyrillic е
    ("action", "АССЕРТ"),  # Cyrillic
    ("protocol", "ｔｃｐ"),
    ("protocol", "６"),
    ("region", "us-east-１"),
    ("dst", "１０.０.０.１"),
])
def test_unicode_look_alikes_are_refused(key, value):
    """A look-alike never becomes a different value than the one it resembles."""
    with pytest.raises(InvalidFilters) as refused:
        parse_filters({**BASE, key: value})
    assert key in refused.value.errors


@pytest.mark.parametrize("start, end", [("0", "99999999999999"), ("-99999999999999", "0"),
                                        (str(T0), str(10**30))])
def test_times_out_of_range_are_refused_before_they_reach_the_store(engine, start, end):
    try:
        filters = parse_filters({"start": start, "end": end})
    except InvalidFilters as invalid:
        assert set(invalid.errors) <= {"start", "end"}
        return
    engine.sql(Query("search", filters, scope=ALL_ACCOUNTS))  # must not raise


def test_validated_values_reach_sql_in_normalised_form(engine):
    """The accepted path is exercised: a CIDR with host bits comes out as its network."""
    filters = parse_filters({**BASE, "dst": "10.0.1.77/24", "eni": "ENI-0A1B2C3D"})
    assert filters.dst == ipaddress.ip_network("10.0.1.0/24")
    sql = engine.sql(Query("search", filters, scope=SCOPE))
    assert "'eni-0a1b2c3d'" in sql and "ENI-0A1B2C3D" not in sql
    check_accepted(filters, engine)
