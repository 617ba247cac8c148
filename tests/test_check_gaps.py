"""The connection check knows what it cannot see (issue 22): a verdict that rests on absence
becomes `incomplete-logs` when the source's or destination's interface logged SKIPDATA over
the window, or its account and region delivered no record at all for part of it; the same
cases without the gap keep `no-response` / `no-records`; verdicts on records that were seen
keep their code with a caveat. On DuckDB and on the fake Athena (the same queries)."""

import json

import pytest
from fake_athena import fake_over
from storefixture import ACCOUNT_A, ACCOUNT_B, T0, V5_FORMAT, record, write_object

from lib import check
from lib.check import CheckSpec, judge, parse_check
from lib.cli import main
from lib.engines.athena import AthenaEngine
from lib.engines.duckdb_engine import DuckDBEngine
from lib.query import ALL_ACCOUNTS, Scope

H = 3600
ENI = {name: f"eni-0{n:016x}" for n, name in enumerate(
    ("x1", "y1", "x2", "y2", "x3", "y3"), start=0xabc0)}
ADDR = {"x1": "10.1.0.11", "y1": "10.1.1.21", "x2": "10.1.0.12", "y2": "10.1.1.22",
        "x3": "10.2.0.13", "y3": "10.2.1.23"}
ACCOUNT_OF = {"x1": ACCOUNT_A, "y1": ACCOUNT_A, "x2": ACCOUNT_A, "y2": ACCOUNT_A,
              "x3": ACCOUNT_B, "y3": ACCOUNT_B}
MISSING_HOUR = 4  # account B, eu-west-1 delivered nothing in this hour


def v5(a, b, sport, dport, at, start, fwd=True, action="ACCEPT", flags=None):
    """A record logged at `at`'s interface of a -> b (request when fwd, else response)."""
    src, dst = (a, b) if fwd else (b, a)
    return record(ADDR[src], ADDR[dst], sport if fwd else dport, dport if fwd else sport,
                  start=start, action=action, eni=ENI[at], account=ACCOUNT_OF[at],
                  flow_direction="egress" if at == src else "ingress",
                  tcp_flags=flags if flags is not None else (3 if fwd else 19))


def conversation(a, b, port, start):
    return [v5(a, b, 40000, port, at, start + (0 if fwd else 1), fwd)
            for at in (a, b) for fwd in (True, False)]


def skipdata(at, first, last):
    out = []
    for window in range(first - first % 60, last, 60):
        r = record(None, None, None, None, proto=None, start=window + 1, packets=None,
                   bytes_=None, action=None, eni=ENI[at], status="SKIPDATA",
                   account=ACCOUNT_OF[at])
        r["end"] = window + 59
        out.append(r)
    return out


def window(hour):
    return T0 + hour * H + 1800, T0 + hour * H + 2400


def hour_records(hour):
    """Background at 5 past every hour, and the cases of that hour."""
    out = {ACCOUNT_A: [], ACCOUNT_B: []}
    t = T0 + hour * H + 300
    out[ACCOUNT_A] += conversation("x1", "y1", 443, t) + conversation("x2", "y2", 443, t)
    if hour != MISSING_HOUR:
        out[ACCOUNT_B] += conversation("x3", "y3", 443, t)
    start, end = window(hour)
    if hour == 1:  # requests without an answer: y1's interface skipped records, y2's did not
        for n in range(3):
            out[ACCOUNT_A] += [v5("x1", "y1", 41000 + n, 443, "x1", start + 60 * n, flags=2),
                               v5("x2", "y2", 41000 + n, 443, "x2", start + 60 * n, flags=2)]
        out[ACCOUNT_A] += skipdata("y1", start - 300, end + 300)
    if hour == 2:  # no records for port 8443: x1's interface skipped records, x2's did not
        out[ACCOUNT_A] += skipdata("x1", start - 300, end + 300)
    if hour == 3:  # connected, while y1's interface skipped records for a while
        out[ACCOUNT_A] += conversation("x1", "y1", 443, start + 30)
        out[ACCOUNT_A] += skipdata("y1", start + 200, start + 400)
    return out


def write_store(root):
    for hour in range(7):
        for account, records in hour_records(hour).items():
            if records:
                write_object(root, records, account=account,
                             region="us-east-1" if account == ACCOUNT_A else "eu-west-1",
                             flow_log="fl-0aaaaaaaaaaaaaaa1" if account == ACCOUNT_A
                             else "fl-0bbbbbbbbbbbbbbb2", fmt=V5_FORMAT)
    return root


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    return write_store(tmp_path_factory.mktemp("gaps"))


@pytest.fixture(scope="module")
def fake(store):
    """The shared fake Athena, over this module's store (then back to its own)."""
    yield from fake_over(store)


@pytest.fixture(scope="module", params=["duckdb", "athena"])
def engine(request, store):
    if request.param == "duckdb":
        yield DuckDBEngine(str(store))
        return
    fake = request.getfixturevalue("fake")
    with pytest.MonkeyPatch.context() as monkeypatch:
        for key, value in fake.environment_variables().items():
            monkeypatch.setenv(key, value)
        fake.reset()
        yield AthenaEngine(fake.settings(), poll_interval=0.01)


def verdict(engine, a, b, port, hour, lang="en", scope=ALL_ACCOUNTS, zone=None):
    start, end = window(hour)
    filters = parse_check({"start": str(start), "end": str(end), "src": ADDR[a], "dst": ADDR[b],
                           "dst_port": str(port), "protocol": "tcp"})
    rows = engine.run(check.check_query(filters, scope)).rows()
    context = {name: engine.run(query).rows()
               for name, query in check.context_queries(filters, scope).items()}
    return judge(rows, CheckSpec.from_filters(filters), lang=lang, zone=zone, context=context)


def test_no_answer_with_skipdata_at_the_destination_is_incomplete(engine):
    v = verdict(engine, "x1", "y1", 443, 1)
    assert v.code == "incomplete-logs"
    assert v.evidence["records_show"] == "no-response"
    (gap,) = v.evidence["gaps"]
    assert (gap["interface_id"], gap["side"], gap["status"]) == (ENI["y1"], "destination", "SKIPDATA")
    start, end = window(1)
    assert gap["start"] < start and gap["end"] >= end - 1 and gap["records"] >= 10
    assert v.message.startswith(f"The logs cannot tell: the destination's interface {ENI['y1']} "
                                "logged SKIPDATA (records lost) from 2026-09-21 01:")
    assert v.reasons[0].startswith(f"Interface {ENI['y1']} (the destination's, account {ACCOUNT_A}")
    assert any(r.startswith("What the records that do exist show: No answer") for r in v.reasons)
    assert v.evidence["request"]["accepted"] == 3  # the records seen are still the evidence
    assert [g["direction"] for g in v.evidence["proof"]] == ["request"]


def test_no_answer_without_a_gap_stays_no_response(engine):
    v = verdict(engine, "x2", "y2", 443, 1)
    assert v.code == "no-response"
    assert v.evidence["gaps"] == [] and v.evidence["missing_hours"] == []
    assert "records_show" not in v.evidence


def test_no_records_with_skipdata_at_the_source_is_incomplete(engine):
    v = verdict(engine, "x1", "y1", 8443, 2)
    assert v.code == "incomplete-logs" and v.evidence["records_show"] == "no-records"
    assert [(g["interface_id"], g["side"]) for g in v.evidence["gaps"]] == [(ENI["x1"], "source")]
    assert v.message.startswith("The logs cannot tell")


def test_no_records_without_a_gap_stays_no_records(engine):
    assert verdict(engine, "x2", "y2", 8443, 2).code == "no-records"


def test_an_hour_without_any_record_of_the_account_and_region_is_incomplete(engine):
    v = verdict(engine, "x3", "y3", 8443, MISSING_HOUR)
    assert v.code == "incomplete-logs" and v.evidence["gaps"] == []
    assert v.evidence["missing_hours"] == [{
        "account": ACCOUNT_B, "region": "eu-west-1", "start": T0 + MISSING_HOUR * H,
        "end": T0 + (MISSING_HOUR + 1) * H, "start_utc": "2026-09-21T04:00:00Z",
        "end_utc": "2026-09-21T05:00:00Z"}]
    assert v.reasons[0].startswith(f"Account {ACCOUNT_B} in eu-west-1 delivered no flow log")
    assert v.message == (f"The logs cannot tell: account {ACCOUNT_B} in eu-west-1 delivered no "
                         "record at all from 2026-09-21 04:00:00 UTC to 2026-09-21 05:00:00 UTC, "
                         f"so the missing records of traffic from {ADDR['x3']} to {ADDR['y3']} "
                         "on TCP port 8443 (HTTPS alternate) prove nothing.")
    assert verdict(engine, "x3", "y3", 8443, MISSING_HOUR - 1).code == "no-records"


def test_a_verdict_on_records_seen_keeps_its_code_with_a_caveat(engine):
    v = verdict(engine, "x1", "y1", 443, 3)
    assert v.code == "connected"
    assert [g["interface_id"] for g in v.evidence["gaps"]] == [ENI["y1"]]
    assert any(r.startswith("Caveat: the logs of the interfaces checked have gaps") for r in v.reasons)


def test_japanese_words_and_the_gaps_table(engine):
    v = verdict(engine, "x1", "y1", 443, 1, lang="ja", zone="Asia/Tokyo")
    assert v.code == "incomplete-logs" and v.message.startswith(
        f"ログでは判断できません: 宛先のインターフェイス {ENI['y1']} が 2026-09-21 10:")  # JST
    assert v.reasons[0].startswith(f"インターフェイス {ENI['y1']}（宛先、アカウント {ACCOUNT_A}")
    table = check.gaps_table(v, "Asia/Tokyo")
    assert list(table.columns) == ["インターフェイス", "側", "アカウント", "リージョン", "ログの状態",
                                   "開始", "終了", "記録数"]
    assert list(table["インターフェイス"]) == [ENI["y1"]] and list(table["側"]) == ["宛先"]
    assert table["開始"][0].endswith("JST")
    english = check.gaps_table(verdict(engine, "x3", "y3", 8443, MISSING_HOUR))
    assert list(english["Account"]) == [ACCOUNT_B] and list(english["Interface"]) == ["-"]
    assert check.gaps_table(verdict(engine, "x2", "y2", 443, 1)) is None


def test_the_context_stays_within_the_scope(engine):
    """A user who may see only account B learns nothing of A's interfaces or gaps."""
    v = verdict(engine, "x1", "y1", 443, 1, scope=Scope(frozenset({ACCOUNT_B})))
    assert v.code == "no-records" and v.evidence["gaps"] == []


def test_the_command_line_says_incomplete_logs(store, capsys):
    start, end = window(1)
    args = ["check", "--data", str(store), "--src", ADDR["x1"], "--dst", ADDR["y1"],
            "--dst-port", "443", "--protocol", "tcp", "--start", str(start), "--end", str(end)]
    assert main(args) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["verdict"] == "incomplete-logs"
    assert out["evidence"]["gaps"][0]["interface_id"] == ENI["y1"]
    args[args.index(ADDR["x1"])], args[args.index(ADDR["y1"])] = ADDR["x2"], ADDR["y2"]
    assert main(args) == 0
    assert json.loads(capsys.readouterr().out)["verdict"] == "no-response"


def test_every_demo_case_with_gaps_gets_its_verdict(tmp_path):
    from lib.generator import generate

    summary = generate(tmp_path, records=1000, days=0.5, seed=5, end=T0 + 86400, gap_cases=True)
    engine = DuckDBEngine(str(tmp_path))
    got = {}
    for case in check.demo_cases(tmp_path):
        filters = parse_check(check.demo_inputs(case))
        rows = engine.run(check.check_query(filters, ALL_ACCOUNTS)).rows()
        context = {name: engine.run(q).rows()
                   for name, q in check.context_queries(filters, ALL_ACCOUNTS).items()}
        got[case["name"]] = judge(rows, CheckSpec.from_filters(filters), context=context).code
    assert got == {case["name"]: case["verdict"] for case in summary.scenarios}
    assert list(got.values()).count("incomplete-logs") == 3


# --- the Connection check page ------------------------------------------------------------------

@pytest.mark.parametrize("lang,heading,interface_column", [
    ("en", "Gaps in the logs", "Interface"), ("ja", "ログの欠落", "インターフェイス")])
def test_the_page_says_incomplete_logs_and_lists_the_gap(monkeypatch, store, lang, heading,
                                                         interface_column):
    from apptest import app, errors

    start, end = window(1)
    at = app(monkeypatch, store, start=str(start), end=str(end), lang=lang,
             check_src=ADDR["x1"], check_dst=ADDR["y1"], check_port="443", check_protocol="tcp")
    at.run()
    at.switch_page("pages/check.py").run()
    assert not at.exception and not errors(at), errors(at)
    assert any("incomplete-logs" in c.value for c in at.caption)
    message = {"en": "The logs cannot tell", "ja": "ログでは判断できません"}[lang]
    assert any(message in w.value for w in at.warning)
    assert heading in [s.value for s in at.subheader]
    gaps = next(d.value for d in at.dataframe if interface_column in d.value.columns
                and len(d.value.columns) == 8)
    assert list(gaps[interface_column]) == [ENI["y1"]]
