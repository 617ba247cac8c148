"""Connection check: every verdict on a hand-made store (DuckDB, through the `check` query
kind), the pure verdict function, the timeline numbers and the command line."""

import json
from urllib.parse import parse_qsl

import altair as alt
import pandas as pd
import pytest
import sqlglot
from sqlglot import exp
from storefixture import ACCOUNT_A, ACCOUNT_B, T0, V5_FORMAT, record, write_object

from lib import charts, check, timeutil
from lib.check import CheckSpec, Owner, judge, parse_check
from lib.cli import main
from lib.engines.duckdb_engine import DuckDBEngine
from lib.filters import InvalidFilters, parse_filters
from lib.query import ALL_ACCOUNTS, Query, Scope, Target, render
from lib.schema import DEFAULT_FORMAT

V8_FORMAT = list(DEFAULT_FORMAT) + ["tcp-flags", "flow-direction", "reject-reason"]
ENI_A, ENI_B = "eni-0aaaaaaaaaaaaaaa1", "eni-0bbbbbbbbbbbbbbb2"
CLIENT, SERVER = "10.0.0.5", "10.0.1.9"


def conversation(src, dst, sport, dport, at_src=("ACCEPT", "ACCEPT"),
                 at_dst=("ACCEPT", "ACCEPT"), start=T0 + 100, proto=6, v5=False, **extra):
    """Records of one connection: (request, response) actions on the source's interface
    (ENI_A) and the destination's (ENI_B); None leaves a record out."""
    out = []
    for eni, (req, rsp), egress_first in ((ENI_A, at_src, True), (ENI_B, at_dst, False)):
        for action, fwd in ((req, True), (rsp, False)):
            if action is None:
                continue
            values = dict(extra)
            if v5:
                values.update(flow_direction="egress" if fwd == egress_first else "ingress",
                              tcp_flags=3 if fwd else 19)
            out.append(record(src if fwd else dst, dst if fwd else src,
                              sport if fwd else dport, dport if fwd else sport, proto=proto,
                              start=start + (0 if fwd else 1), action=action, eni=eni,
                              **values))
    return out


def verdict_for(store, src, dst, port=None, protocol="tcp", scope=ALL_ACCOUNTS, limit=1000,
                start=T0, end=T0 + 3600, **kw):
    filters = parse_check({"start": str(start), "end": str(end), "src": src, "dst": dst,
                           "dst_port": port, "protocol": protocol})
    result = DuckDBEngine(str(store)).run(check.check_query(filters, scope, limit=limit))
    return judge(result.rows(), CheckSpec.from_filters(filters), limit=limit, **kw), result


def interfaces(verdict):
    return {i["interface_id"]: i["side"] for i in verdict.evidence["interfaces"]}


# --- every verdict, through the engine -------------------------------------------------------

def test_connected_both_directions_in_one_query(tmp_path):
    write_object(tmp_path, conversation(CLIENT, SERVER, 40001, 443, v5=True), fmt=V5_FORMAT)
    write_object(tmp_path, [record(CLIENT, SERVER, 40002, 22, start=T0 + 5)],  # other port
                 flow_log="fl-0fedcba9876543210")
    v, result = verdict_for(tmp_path, CLIENT, SERVER, "443")
    assert v.code == "connected"
    assert result.sql.count("SELECT") >= 1 and result.table.num_rows == 4
    req, rsp = v.evidence["request"], v.evidence["response"]
    assert (req["records"], req["accepted"], req["bytes"]) == (2, 2, 2000)
    assert req["first_seen"] == T0 + 100 and rsp["first_seen"] == T0 + 101
    assert req["at_source"] == {"accepted": 1, "rejected": 0}
    assert interfaces(v) == {ENI_A: "source", ENI_B: "destination"}
    assert rsp["tcp_flags"] == [19] and any("SYN-ACK" in r for r in v.reasons)
    assert v.message.startswith("Connected") and "TCP port 443 (HTTPS)" in v.message


def test_rejected_inbound_without_flow_direction(tmp_path):
    # v2: the source's interface lets the request out, the destination's rejects it.
    write_object(tmp_path, conversation(CLIENT, SERVER, 40001, 3306, at_src=("ACCEPT", None),
                                        at_dst=("REJECT", None)))
    v, _ = verdict_for(tmp_path, CLIENT, SERVER, "3306")
    assert v.code == "rejected-inbound"
    assert interfaces(v) == {ENI_A: "source", ENI_B: "destination"}
    assert any("inbound rules" in r and ENI_B in r for r in v.reasons)
    assert v.evidence["proof"][0]["direction"] == "request"
    assert v.evidence["proof"][0]["action"] == "REJECT"


def test_rejected_outbound_v5_flow_direction(tmp_path):
    write_object(tmp_path, conversation(CLIENT, SERVER, 40001, 9200, at_src=("REJECT", None),
                                        at_dst=(None, None), v5=True), fmt=V5_FORMAT)
    v, _ = verdict_for(tmp_path, CLIENT, SERVER, "9200")
    assert v.code == "rejected-outbound"
    assert v.evidence["interfaces"][0]["how"] == "flow-direction"
    assert any("outbound rules" in r for r in v.reasons)


def test_response_rejected_by_network_acl_v8(tmp_path):
    web = "198.51.100.7"
    write_object(tmp_path, [
        record(web, SERVER, 51515, 443, start=T0 + 100, eni=ENI_B, version=8, tcp_flags=2,
               flow_direction="ingress"),
        record(SERVER, web, 443, 51515, start=T0 + 101, eni=ENI_B, version=8, tcp_flags=18,
               flow_direction="egress", action="REJECT"),
    ], fmt=V8_FORMAT)
    v, _ = verdict_for(tmp_path, web, SERVER, "443")
    assert v.code == "response-rejected"
    text = " ".join(v.reasons)
    assert "stateful" in text and "network ACL" in text and "51515" in text
    assert "leaving the destination's interface" in text


def test_no_response_syn_only(tmp_path):
    remote = "203.0.113.80"
    write_object(tmp_path, [record(CLIENT, remote, 40001 + i, 443, start=T0 + 100 + i * 60,
                                   eni=ENI_A, version=5, tcp_flags=2, flow_direction="egress")
                            for i in range(3)], fmt=V5_FORMAT)
    v, _ = verdict_for(tmp_path, CLIENT, remote, "443")
    assert v.code == "no-response"
    text = " ".join(v.reasons)
    assert "SYN" in text and "nothing was logged at the destination" in text
    assert v.evidence["request"]["records"] == 3 and v.evidence["response"]["records"] == 0


def test_no_records_says_when_the_window_is_recent(tmp_path):
    write_object(tmp_path, [record("10.9.9.9", SERVER, 40001, 443)])
    v, _ = verdict_for(tmp_path, CLIENT, SERVER, "443", now=T0 + 3600)
    assert v.code == "no-records"
    assert "5-10 minutes" in v.reasons[0]
    old, _ = verdict_for(tmp_path, CLIENT, SERVER, "443", now=T0 + 86400)
    assert not any("5-10 minutes" in r for r in old.reasons)


def test_ipv6_connected(tmp_path):
    a, b = "2001:db8::10", "2001:db8:0:1::20"
    write_object(tmp_path, conversation(a, b, 50000, 443, v5=True), fmt=V5_FORMAT)
    v, _ = verdict_for(tmp_path, a, "2001:db8:0:1::/64", "443")
    assert v.code == "connected"
    assert v.evidence["response"]["accepted"] == 2


def test_icmp_has_no_ports(tmp_path):
    write_object(tmp_path, conversation(CLIENT, SERVER, 0, 0, proto=1))
    v, result = verdict_for(tmp_path, CLIENT, SERVER, "443", protocol="icmp")
    assert v.code == "connected" and result.table.num_rows == 4
    where = sqlglot.parse_one(result.sql, read="duckdb").args["where"].sql("duckdb")
    assert "dstport" not in where and "srcport" not in where
    assert any("ICMP has no ports" in r for r in v.reasons)
    assert "ICMP" in v.message


def test_cidr_source_and_address_inference(tmp_path):
    # Only the destination's interface is logged (v2); three sources from one /24 are
    # rejected. Its own address is the one all its records share.
    write_object(tmp_path, [record(f"10.0.0.{h}", SERVER, 40000 + h, 5432, start=T0 + h,
                                   eni=ENI_B, action="REJECT") for h in (5, 6, 7)])
    v, _ = verdict_for(tmp_path, "10.0.0.0/24", SERVER, "5432")
    assert v.code == "rejected-inbound"
    assert v.evidence["interfaces"] == [{
        "interface_id": ENI_B, "account": ACCOUNT_A, "region": "us-east-1",
        "side": "destination", "address": SERVER, "how": "constant"}]
    assert "10.0.0.0/24" in v.message


def test_reject_reason_bpa_is_decoded(tmp_path):
    write_object(tmp_path, [record("198.51.100.9", SERVER, 51000, 22, eni=ENI_B, version=8,
                                   tcp_flags=2, flow_direction="ingress", action="REJECT",
                                   reject_reason="BPA")], fmt=V8_FORMAT)
    v, _ = verdict_for(tmp_path, "198.51.100.9", SERVER, "22")
    assert v.code == "rejected-inbound"
    assert v.evidence["request"]["reject_reasons"] == {"BPA": 1}
    assert any("Block Public Access" in r for r in v.reasons)


def test_intermittent_after_a_rule_change(tmp_path):
    rejected = conversation(CLIENT, SERVER, 40001, 443, at_src=("ACCEPT", None),
                            at_dst=("REJECT", None), start=T0 + 100)
    fixed = conversation(CLIENT, SERVER, 40002, 443, start=T0 + 900)
    write_object(tmp_path, rejected + fixed)
    v, _ = verdict_for(tmp_path, CLIENT, SERVER, "443")
    assert v.code == "intermittent"
    assert any("rule was probably changed" in r for r in v.reasons)


def test_refused_by_reset(tmp_path):
    rows = conversation(CLIENT, SERVER, 40001, 8080, v5=True)
    for r in rows:
        r["tcp-flags"] = 2 if r["srcaddr"] == CLIENT else 4
    write_object(tmp_path, rows, fmt=V5_FORMAT)
    v, _ = verdict_for(tmp_path, CLIENT, SERVER, "8080")
    assert v.code == "refused" and any("RST" in r for r in v.reasons)


def test_side_unknown_when_the_records_cannot_tell(tmp_path):
    write_object(tmp_path, [record(CLIENT, SERVER, 40001, 9200, eni=ENI_A, action="REJECT")])
    v, _ = verdict_for(tmp_path, CLIENT, SERVER, "9200")
    assert v.code == "rejected" and interfaces(v) == {ENI_A: "unknown"}


def test_scope_hides_other_accounts(tmp_path):
    write_object(tmp_path, conversation(CLIENT, SERVER, 40001, 443), account=ACCOUNT_B)
    v, _ = verdict_for(tmp_path, CLIENT, SERVER, "443", scope=Scope(frozenset({ACCOUNT_A})))
    assert v.code == "no-records"
    v, _ = verdict_for(tmp_path, CLIENT, SERVER, "443", scope=Scope(frozenset({ACCOUNT_B})))
    assert v.code == "connected"


def test_a_full_result_is_reported_as_truncated(tmp_path):
    write_object(tmp_path, conversation(CLIENT, SERVER, 40001, 443))
    v, _ = verdict_for(tmp_path, CLIENT, SERVER, "443", limit=2)
    assert v.evidence["truncated"] and any("newest 2" in r for r in v.reasons)


def test_proof_filters_open_exactly_those_records_in_search(tmp_path):
    write_object(tmp_path, conversation(CLIENT, SERVER, 40001, 443, at_src=("ACCEPT", None),
                                        at_dst=("REJECT", None))
                 + [record(CLIENT, SERVER, 40009, 443, start=T0 + 2000, eni=ENI_A)])
    v, _ = verdict_for(tmp_path, CLIENT, SERVER, "443")
    engine = DuckDBEngine(str(tmp_path))
    for group in v.evidence["proof"]:
        rows = engine.run(Query("search", parse_filters(group["search"]), scope=ALL_ACCOUNTS)).rows()
        assert sorted(check.record_key(r) for r in rows) == sorted(group["keys"])
        assert len(rows) == group["records"]


# --- the demo data's cases ----------------------------------------------------------------------

def test_every_demo_case_gets_its_verdict(tmp_path):
    from lib.generator import generate

    summary = generate(tmp_path, records=1000, days=0.5, seed=5, end=T0 + 86400)
    engine = DuckDBEngine(str(tmp_path))
    got = {}
    for case in check.demo_cases(tmp_path):
        filters = parse_check(check.demo_inputs(case))
        result = engine.run(check.check_query(filters, ALL_ACCOUNTS))
        got[case["name"]] = judge(result.rows(), CheckSpec.from_filters(filters)).code
    assert got == {case["name"]: case["verdict"] for case in summary.scenarios}
    assert set(got.values()) >= {"connected", "rejected-inbound", "rejected-outbound",
                                 "response-rejected", "no-response", "no-records"}


# --- the query kind in both dialects ------------------------------------------------------------

@pytest.mark.parametrize("dialect", ["duckdb", "athena"])
def test_check_kind_renders_in_both_dialects(dialect):
    target = Target(dialect, exp.Table(this=exp.to_identifier("flows_source")))
    filters = parse_check({"start": str(T0), "end": str(T0 + 60), "src": "10.0.0.0/24",
                           "dst": "2001:db8::1", "dst_port": "443", "protocol": "tcp"})
    sql = render(check.check_query(filters, ALL_ACCOUNTS), target)
    parsed = sqlglot.parse_one(sql, read=dialect)
    where = parsed.args["where"].sql(dialect=dialect)
    assert '"dstport" = 443' in where and '"srcport" = 443' in where and " OR " in where
    order = [o.this.name for o in parsed.find(exp.Order).expressions]
    assert order[0] == "start" and len(order) == len(set(order)) == len(parsed.selects)


# --- the pure function ---------------------------------------------------------------------------

SPEC = CheckSpec(parse_filters({"src": CLIENT, "start": str(T0), "end": str(T0 + 1)}).src,
                 parse_filters({"src": SERVER, "start": str(T0), "end": str(T0 + 1)}).src,
                 ((443, 443),), (6,), T0, T0 + 3600)


def row(src, dst, sport, dport, eni, action="ACCEPT", **extra):
    return {"srcaddr": src, "dstaddr": dst, "srcport": sport, "dstport": dport, "protocol": 6,
            "interface_id": eni, "action": action, "start": T0, "end": T0 + 5, "bytes": 100,
            "packets": 1, **extra}


def test_classify_directions_ports_and_versions():
    assert check.classify(row(CLIENT, SERVER, 40001, 443, ENI_A), SPEC).direction == "request"
    assert check.classify(row(SERVER, CLIENT, 443, 40001, ENI_A), SPEC).direction == "response"
    assert check.classify(row(CLIENT, SERVER, 40001, 80, ENI_A), SPEC) is None
    assert check.classify(row("::1", SERVER, 40001, 443, ENI_A), SPEC) is None
    assert check.classify({**row(CLIENT, SERVER, 0, 0, ENI_A), "protocol": 1}, SPEC) is None
    icmp = CheckSpec(SPEC.src, SPEC.dst, ((443, 443),), (1,))
    assert icmp.ports_ignored
    assert check.classify({**row(CLIENT, SERVER, 0, 0, ENI_A), "protocol": 1}, icmp)


def seen(*rows):
    return [check.classify(r, SPEC) for r in rows]


def test_owner_rules():
    egress = row(CLIENT, SERVER, 1, 443, ENI_A, flow_direction="egress")
    assert check.infer_owners(seen(egress)) == {ENI_A: Owner(CLIENT, "flow-direction")}
    pair = seen(row(CLIENT, SERVER, 1, 443, ENI_A), row(CLIENT, SERVER, 1, 443, ENI_B, "REJECT"))
    assert check.infer_owners(pair) == {ENI_A: Owner(CLIENT, "accept-reject"),
                                        ENI_B: Owner(SERVER, "accept-reject")}
    wide = CheckSpec(parse_filters({"src": "0.0.0.0/0", "start": str(T0), "end": str(T0 + 1)}).src,
                     SPEC.dst, SPEC.ports, SPEC.protocols)
    internet = [check.classify(row("203.0.113.9", SERVER, 1, 443, ENI_B), wide)]
    assert check.infer_owners(internet) == {ENI_B: Owner(SERVER, "private")}
    # one interface known by flow-direction, the other owns the other address
    both = seen(egress, row(CLIENT, SERVER, 1, 443, ENI_B))
    assert check.infer_owners(both)[ENI_B] == Owner(SERVER, "complement")
    assert check.infer_owners(seen(row(CLIENT, SERVER, 1, 443, ENI_A))) == {}


def test_decide_prefers_the_failure_that_stopped_the_traffic():
    def code(*rows):
        return judge(rows, SPEC).code

    ok_req = row(CLIENT, SERVER, 1, 443, ENI_A, flow_direction="egress")
    ok_rsp = row(SERVER, CLIENT, 443, 1, ENI_A, flow_direction="ingress")
    dropped_rsp = {**ok_rsp, "action": "REJECT"}
    assert code() == "no-records"
    assert code(ok_req) == "no-response"
    assert code(ok_req, ok_rsp) == "connected"
    assert code(ok_req, dropped_rsp) == "response-rejected"
    # accepted leaving the destination, rejected arriving at the source: not connected
    left_b = row(SERVER, CLIENT, 443, 1, ENI_B, flow_direction="egress")
    assert code(ok_req, left_b, dropped_rsp) == "response-rejected"
    assert code({**ok_req, "action": "REJECT"}) == "rejected-outbound"


def test_japanese_words():
    v = judge([row(CLIENT, SERVER, 1, 443, ENI_A, flow_direction="egress", tcp_flags=2)], SPEC,
              lang="ja")
    assert v.code == "no-response" and v.message.startswith("応答なし")
    assert any("SYN" in r and "応答していません" in r for r in v.reasons)
    assert "要求 (A → B)" in set(check.evidence_table(v).iloc[:, 0])


def test_verdict_is_json_for_the_command_line():
    v = judge([row(CLIENT, SERVER, 1, 443, ENI_A, flow_direction="egress")], SPEC)
    out = json.loads(json.dumps(v.to_json()))
    assert out["verdict"] == "no-response" and out["evidence"]["request"]["records"] == 1
    assert out["evidence"]["request"]["first_seen_utc"].endswith("Z")


def test_timeline_numbers_and_chart():
    rows = [row(CLIENT, SERVER, 1, 443, ENI_A), row(CLIENT, SERVER, 2, 443, ENI_B, "REJECT"),
            {**row(SERVER, CLIENT, 443, 1, ENI_A), "start": T0 + 400}]
    timeline = check.timeline_rows(rows, SPEC, bucket=300)
    assert timeline == [
        {"bucket_start": T0, "direction": "request", "action": "ACCEPT", "records": 1,
         "bytes": 100},
        {"bucket_start": T0, "direction": "request", "action": "REJECT", "records": 1,
         "bytes": 100},
        {"bucket_start": T0 + 300, "direction": "response", "action": "ACCEPT", "records": 1,
         "bytes": 100}]
    frame = check.timeline_chart_frame(timeline, "Asia/Tokyo")
    # T0 is a UTC midnight: 09:00 in Tokyo
    assert [str(t) for t in frame["time"]] == ["2026-09-21 09:00:00", "2026-09-21 09:00:00",
                                               "2026-09-21 09:05:00"]
    assert list(frame["direction"]) == ["requests (A → B)", "requests (A → B)",
                                        "responses (B → A)"]
    chart = check.timeline_chart(rows, SPEC, "Asia/Tokyo")
    assert isinstance(chart, alt.Chart)
    spec = chart.to_dict()
    assert spec["encoding"]["color"]["scale"]["domain"] == ["ACCEPT", "REJECT"]
    assert "Asia/Tokyo" in spec["encoding"]["x"]["title"]
    assert spec["encoding"]["x"]["scale"]["domain"] == ["2026-09-21T09:00:00",
                                                        "2026-09-21T10:00:00"]  # the window
    assert "domain" not in charts.check_timeline(frame, "UTC").to_dict()["encoding"]["x"]["scale"]
    drawn = pd.DataFrame(next(iter(spec["datasets"].values())))
    assert list(drawn["records"]) == [1, 1, 1] and list(drawn["action"]) == [
        "ACCEPT", "REJECT", "ACCEPT"]
    assert check.timeline_bucket(3600) == 60 and check.timeline_bucket(7 * 86400) == 3 * 3600


def test_parse_check_names_every_bad_input():
    with pytest.raises(InvalidFilters) as error:
        parse_check({"start": str(T0), "end": str(T0 + 60), "src": "10.0.0.300",
                     "dst_port": "70000"})
    assert list(error.value.errors) == ["src", "dst", "dst_port"]


def test_share_query_reopens_the_same_check():
    filters = parse_check({"start": str(T0), "end": str(T0 + 60), "src": "10.0.0.0/24",
                           "dst": SERVER, "dst_port": "443", "protocol": "tcp",
                           "account": [ACCOUNT_A]})
    params = dict(parse_qsl(check.share_query(filters, {"lang": "日本語", "tz": "Asia/Tokyo"})))
    assert params["lang"] == "日本語" and params["tz"] == "Asia/Tokyo"
    # Times a person can read, in the sharer's zone, that still name the same instant.
    assert params["start"] == timeutil.format_iso(T0, "Asia/Tokyo")
    assert params["start"].endswith("+09:00")
    assert params["check_src"] == "10.0.0.0/24" and params["check_dst"] == SERVER
    back = {key: params.get(widget) for key, widget in check.WIDGET_KEYS.items()}
    assert parse_check({**params, **back}) == filters


def test_demo_cases(tmp_path):
    assert check.demo_cases(tmp_path) == []
    case = {"name": "icmp", "verdict": "connected", "src": CLIENT, "dst": SERVER,
            "dst_port": 0, "protocol": 1, "start": T0 + 17, "end": T0 + 500}
    (tmp_path / "scenarios.json").write_text(json.dumps([case]))
    assert check.demo_cases(tmp_path) == [case]
    inputs = check.demo_inputs(case)
    assert inputs["dst_port"] == "" and int(inputs["start"]) <= T0 + 17
    assert int(inputs["end"]) >= T0 + 500


# --- the command line ---------------------------------------------------------------------------

def test_cli_prints_the_verdict(tmp_path, capsys):
    write_object(tmp_path, conversation(CLIENT, SERVER, 40001, 3306, at_src=("ACCEPT", None),
                                        at_dst=("REJECT", None)))
    code = main(["check", "--data", str(tmp_path), "--engine", "duckdb", "--src", CLIENT,
                 "--dst", SERVER, "--dst-port", "3306", "--protocol", "tcp",
                 "--start", str(T0), "--end", str(T0 + 3600)])
    out = json.loads(capsys.readouterr().out)
    assert code == 0 and out["verdict"] == "rejected-inbound"
    assert out["message"].startswith("Blocked at the destination")
    assert out["evidence"]["request"]["rejected"] == 1


@pytest.mark.parametrize("args, named", [
    (["--src", "10.0.0.300", "--dst", SERVER], "--src"),
    (["--src", CLIENT], "--dst"),
    (["--src", CLIENT, "--dst", SERVER, "--dst-port", "70000"], "--dst-port"),
    (["--src", CLIENT, "--dst", SERVER, "--protocol", "nope"], "--protocol"),
    (["--src", CLIENT, "--dst", SERVER, "--limit", "0"], "--limit"),
])
def test_cli_invalid_input_exits_2_naming_the_option(tmp_path, capsys, args, named):
    code = main(["check", "--data", str(tmp_path), "--start", str(T0), "--end", str(T0 + 60),
                 *args])
    assert code == 2 and f"error: {named}:" in capsys.readouterr().err
