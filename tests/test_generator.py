"""lib.generator: S3 layout, formats, determinism, realism and connection scenarios.

Files are read back with plain gzip (and DuckDB once), not with lib.parser.
"""

from __future__ import annotations

import gzip
import json
import os
import re
from collections import Counter
from datetime import UTC, datetime

import duckdb
import pytest

from lib import cli, generator, schema

END = 1764115200 + 3 * 3600 + 1200  # 2025-11-26T03:20Z: a midnight lies inside the data
N = 3000

KEY = re.compile(
    r"^AWSLogs/(?P<acc>\d{12})/vpcflowlogs/(?P<reg>[a-z]{2}-[a-z]+-\d)/"
    r"(?P<y>\d{4})/(?P<m>\d{2})/(?P<d>\d{2})/"
    r"(?P=acc)_vpcflowlogs_(?P=reg)_(?P<fl>fl-0[0-9a-f]{16})_"
    r"(?P<ts>\d{8}T\d{4}Z)_(?P<hash>[0-9a-f]{8})\.log\.gz$")


def _files(root) -> list[str]:
    out = []
    for d, _, names in os.walk(root):
        out += [os.path.relpath(os.path.join(d, n), root).replace(os.sep, "/") for n in names]
    return sorted(out)


def _read(root) -> tuple[list[dict], list[dict]]:
    """(objects, records): every record as a dict of its header's fields plus where it was."""
    objects, records = [], []
    for rel in _files(root):
        if rel in ("scenarios.json", "topology.json"):
            continue
        m = KEY.match(rel)
        assert m, rel
        with gzip.open(os.path.join(root, rel), "rt", encoding="ascii") as f:
            lines = f.read().splitlines()
        header = lines[0].split(" ")
        slot = int(datetime.strptime(m["ts"], "%Y%m%dT%H%MZ").replace(tzinfo=UTC).timestamp())
        obj = {"rel": rel, "header": header, "slot": slot, "n": len(lines) - 1, **m.groupdict()}
        objects.append(obj)
        for line in lines[1:]:
            values = line.split(" ")
            assert len(values) == len(header), (rel, line)
            rec = dict(zip(header, values, strict=True))
            rec["_obj"] = obj
            records.append(rec)
    return objects, records


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("demo")
    calls = []
    summary = generator.generate(root, records=N, days=2, seed=7, end=END,
                                 progress=lambda f, m: calls.append((f, m)))
    objects, records = _read(root)
    return {"root": root, "summary": summary, "objects": objects, "records": records,
            "calls": calls, "fl": {f["id"]: f for f in summary.flow_logs}}


def test_layout_and_names(data):
    s = data["summary"]
    files = _files(data["root"])
    assert "scenarios.json" in files and "topology.json" in files
    assert len(data["objects"]) == s.objects == len(files) - 2
    seen = set()
    for o in data["objects"]:
        fl = data["fl"][o["fl"]]
        assert (o["acc"], o["reg"]) == (fl["account"], fl["region"])
        ts = datetime.fromtimestamp(o["slot"], UTC)
        assert (o["y"], o["m"], o["d"]) == (f"{ts:%Y}", f"{ts:%m}", f"{ts:%d}")
        assert o["slot"] % 300 == 0
        assert (o["fl"], o["slot"]) not in seen  # one object per flow log per slot
        seen.add((o["fl"], o["slot"]))
        assert o["n"] > 0
        with open(os.path.join(data["root"], o["rel"]), "rb") as f:
            raw = f.read(10)
        assert raw[:3] == b"\x1f\x8b\x08" and raw[3] == 0  # no FNAME in the gzip header
        assert raw[4:8] == b"\0\0\0\0"  # mtime 0
    assert s.bytes == sum(os.path.getsize(os.path.join(data["root"], o["rel"]))
                          for o in data["objects"])
    assert {o["acc"] for o in data["objects"]} == set(s.accounts)
    assert {o["reg"] for o in data["objects"]} == set(s.regions) == {
        "us-east-1", "eu-west-1", "ap-northeast-1"}
    # not every account in every region; 1-2 flow logs per account-region
    pairs = Counter((f["account"], f["region"]) for f in s.flow_logs)
    assert len(pairs) < len(s.accounts) * len(s.regions)
    assert set(pairs.values()) == {1, 2}
    assert all(re.fullmatch(r"fl-0[0-9a-f]{16}", f["id"]) for f in s.flow_logs)


def test_headers_and_formats(data):
    headers = Counter(tuple(o["header"]) for o in data["objects"])
    assert len(headers) >= 3
    assert schema.DEFAULT_FORMAT in headers
    assert generator.V5_FORMAT in headers and generator.V8_FORMAT in headers
    assert headers.most_common(1)[0][0] == schema.DEFAULT_FORMAT
    for o in data["objects"]:
        assert o["header"] == data["fl"][o["fl"]]["fields"]
        assert all(name in schema.BY_NAME for name in o["header"])
    versions = {(tuple(r["_obj"]["header"]), r["version"]) for r in data["records"]}
    assert versions == {(schema.DEFAULT_FORMAT, "2"), (generator.V5_FORMAT, "5"),
                        (generator.V8_FORMAT, "8")}
    v8 = [r for r in data["records"] if "reject-reason" in r]
    assert Counter(r["reject-reason"] for r in v8).keys() == {"-", "BPA"}
    assert all(r["action"] == "REJECT" for r in v8 if r["reject-reason"] == "BPA")
    v5 = [r for r in data["records"] if "traffic-path" in r and r["log-status"] == "OK"]
    assert {r["flow-direction"] for r in v5} == {"ingress", "egress"}
    assert all(r["traffic-path"] == "-" for r in v5 if r["flow-direction"] == "ingress")
    assert {r["traffic-path"] for r in v5 if r["flow-direction"] == "egress"} <= set("12378")
    flags = Counter(r["tcp-flags"] for r in v5 if r["protocol"] == "6")
    assert {"2", "3", "19"} <= flags.keys()
    assert any(r["pkt-src-aws-service"] != "-" or r["pkt-dst-aws-service"] != "-" for r in v5)


def test_record_count_is_exact(data, tmp_path):
    # NODATA/SKIPDATA and scenario lines count as records; header lines do not
    assert len(data["records"]) == N == data["summary"].records
    s = generator.generate(tmp_path, records=777, days=1, seed=3, end=END)
    assert s.records == 777 == len(_read(tmp_path)[1])
    with pytest.raises(ValueError):
        generator.generate(tmp_path / "x", records=10, days=1, end=END)
    assert not (tmp_path / "x").exists()


def test_deterministic(data, tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    generator.generate(a, records=N, days=2, seed=7, end=END)
    generator.generate(b, records=N, days=2, seed=7, end=END)
    files = _files(a)
    assert files == _files(b) == _files(data["root"])
    for rel in files:
        assert (a / rel).read_bytes() == (b / rel).read_bytes() == (data["root"] / rel).read_bytes()
    c = tmp_path / "c"
    generator.generate(c, records=N, days=2, seed=8, end=END)
    assert _files(c) != files


def test_reject_share(data):
    actions = Counter(r["action"] for r in data["records"])
    assert abs(actions["REJECT"] / N - 0.05) < 0.01
    assert actions["-"] == data["summary"].record_counts["NODATA"] + \
        data["summary"].record_counts["SKIPDATA"]


def test_account_ids_keep_leading_zeros(data):
    accounts = data["summary"].accounts
    assert len(accounts) == 4 and all(re.fullmatch(r"\d{12}", a) for a in accounts)
    zero = [a for a in accounts if a.startswith("0")]
    assert zero
    in_zero = [r for r in data["records"] if r["_obj"]["acc"] == zero[0] and "account-id" in r]
    assert in_zero and {r["account-id"] for r in in_zero} <= {zero[0], "unknown"}
    assert any(r["account-id"] == zero[0] for r in in_zero)


def test_delivery_slots(data):
    s = data["summary"]
    next_day = 0
    for r in data["records"]:
        start, end = int(r["start"]), int(r["end"])
        interval = data["fl"][r["_obj"]["fl"]]["interval"]
        window_end = start // interval * interval + interval
        assert s.start <= start <= end < s.end
        assert end < window_end  # start and end within one aggregation window
        assert 300 <= r["_obj"]["slot"] - window_end <= 600  # delivered 5-10 min later
        day = datetime.fromtimestamp(start, UTC).strftime("%Y%m%d")
        next_day += r["_obj"]["y"] + r["_obj"]["m"] + r["_obj"]["d"] > day
    assert next_day >= 3  # records from just before midnight sit in the next day's folder
    assert {f["interval"] for f in s.flow_logs} == {60, 600}


def test_realism(data):
    recs = data["records"]
    ok = [r for r in recs if r["log-status"] == "OK"]
    status = Counter(r["log-status"] for r in recs)
    assert status["NODATA"] >= 1 and status["SKIPDATA"] >= 1
    for r in recs:
        if r["log-status"] != "OK":
            assert r["srcaddr"] == r["dstaddr"] == r["packets"] == r["action"] == "-"
            assert r["interface-id"].startswith("eni-") and r["start"].isdigit()
    protocols = Counter(r["protocol"] for r in ok)
    assert {"6", "17", "1"} <= protocols.keys() and protocols["6"] > 0.8 * len(ok)
    assert all(r["srcport"] == r["dstport"] == "0" for r in ok if r["protocol"] == "1")
    v6 = sum(":" in r["srcaddr"] for r in ok)
    assert 0.01 < v6 / len(ok) < 0.10
    assert all((":" in r["srcaddr"]) == (r.get("type", "IPv6" if ":" in r["srcaddr"] else "IPv4")
                                         == "IPv6") for r in ok)
    for r in ok:
        packets, nbytes = int(r["packets"]), int(r["bytes"])
        assert 40 * packets <= nbytes <= 1500 * packets
    assert any(int(r["bytes"]) > 2**31 for r in ok)
    enis = {r["interface-id"] for r in recs}
    assert 150 <= len(enis) <= 400 and all(re.fullmatch(r"eni-0[0-9a-f]{16}", e) for e in enis)
    assert any(r.get("instance-id") == "-" for r in ok)
    assert any(r.get("instance-id", "").startswith("i-0") for r in ok)
    dports = Counter(r["dstport"] for r in ok if r["action"] == "ACCEPT")
    assert {"443", "80", "5432", "6379"} <= dports.keys()
    # heavy tail: the top 5 % of interfaces carry most of the bytes
    by_eni = Counter()
    for r in ok:
        by_eni[r["interface-id"]] += int(r["bytes"])
    top = sum(v for _, v in by_eni.most_common(max(1, len(by_eni) // 20)))
    assert top > 0.5 * sum(by_eni.values())
    # most accepted TCP records have their response (reversed 5-tuple) on the same interface
    keys = {(r["interface-id"], r["srcaddr"], r["dstaddr"], r["srcport"], r["dstport"])
            for r in ok}
    tcp = [r for r in ok if r["protocol"] == "6" and r["action"] == "ACCEPT"]
    paired = sum((r["interface-id"], r["dstaddr"], r["srcaddr"], r["dstport"], r["srcport"])
                 in keys for r in tcp)
    assert paired > 0.9 * len(tcp)
    # port scan: one source, many ports, rejected
    rejected = [r for r in ok if r["action"] == "REJECT"]
    per_src = Counter(r["srcaddr"] for r in rejected)
    scanner = per_src.most_common(1)[0][0]
    assert len({(r["dstaddr"], r["dstport"]) for r in rejected if r["srcaddr"] == scanner}) > 10
    # NACL: inbound request ACCEPT, response REJECT from the service port to an ephemeral port
    nacl = [r for r in rejected if r["srcport"] in ("443", "80")
            and int(r["dstport"]) >= 1024 and not r["srcaddr"].startswith("198.51.100.")]
    assert nacl and all((r["interface-id"], r["dstaddr"], r["srcaddr"], r["dstport"],
                         r["srcport"]) in keys for r in nacl)
    # ephemeral client ports on outbound requests from interfaces
    out = [r for r in tcp if r["dstport"] == "443" and r["srcaddr"].startswith("10.")]
    assert out and all(32768 <= int(r["srcport"]) <= 65535 for r in out)


def _pair_records(records, sc):
    return [r for r in records if {r["srcaddr"], r["dstaddr"]} & {sc["src"], sc["dst"]}]


def test_scenarios(data):
    s = data["summary"]
    assert json.loads((data["root"] / "scenarios.json").read_text()) == s.scenarios
    verdicts = Counter(sc["verdict"] for sc in s.scenarios)
    assert verdicts.keys() == {"connected", "rejected-inbound", "rejected-outbound",
                               "response-rejected", "no-response", "no-records"}
    assert any(":" in sc["src"] and sc["verdict"] == "connected" for sc in s.scenarios)
    assert any(sc["protocol"] == 1 and sc["verdict"] == "connected" for sc in s.scenarios)
    addresses = Counter(a for sc in s.scenarios for a in (sc["src"], sc["dst"]))
    assert max(addresses.values()) == 1  # dedicated addresses
    for sc in s.scenarios:
        assert set(sc) >= {"verdict", "src", "dst", "dst_port", "protocol", "start", "end",
                           "description"}
        assert s.start <= sc["start"] < sc["end"] <= s.end and sc["description"]
        recs = _pair_records(data["records"], sc)
        # the addresses appear only in this scenario's records, only with each other
        assert all({r["srcaddr"], r["dstaddr"]} == {sc["src"], sc["dst"]} for r in recs)
        assert len(recs) == sc["records"]
        assert all(sc["start"] <= int(r["start"]) <= int(r["end"]) < sc["end"] for r in recs)
        assert all(r["protocol"] == str(sc["protocol"]) for r in recs)
        req = [r for r in recs if r["srcaddr"] == sc["src"]]
        rsp = [r for r in recs if r["srcaddr"] == sc["dst"]]
        assert all(r["dstport"] == str(sc["dst_port"]) for r in req)
        assert all(r["srcport"] == str(sc["dst_port"]) for r in rsp)
        at = {(r["interface-id"], r["srcaddr"] == sc["src"], r["action"]) for r in recs}
        src_if, dst_if = sc["src_interface"], sc["dst_interface"]
        v = sc["verdict"]
        if v == "connected":
            assert at == {(src_if, True, "ACCEPT"), (src_if, False, "ACCEPT"),
                          (dst_if, True, "ACCEPT"), (dst_if, False, "ACCEPT")}
        elif v == "rejected-inbound":
            assert at == {(src_if, True, "ACCEPT"), (dst_if, True, "REJECT")}
        elif v == "rejected-outbound":
            assert at == {(src_if, True, "REJECT")}
        elif v == "response-rejected":
            assert {(a, b, c) for a, b, c in at} == {(dst_if, True, "ACCEPT"),
                                                      (dst_if, False, "REJECT")}
            assert all(int(r["dstport"]) >= 1024 for r in rsp)
        elif v == "no-response":
            assert at == {(src_if, True, "ACCEPT")} and not rsp
            assert all(r["tcp-flags"] == "2" for r in recs)
        elif v == "no-records":
            assert recs == []
        if v != "no-records":
            assert len(recs) >= 3
        if sc["protocol"] == 1:
            assert all(r["srcport"] == r["dstport"] == "0" for r in recs)


def test_progress_calls(data):
    fractions = [f for f, _ in data["calls"]]
    assert fractions[0] == 0.0 and fractions[-1] == 1.0
    assert fractions == sorted(fractions) and len(fractions) >= 4
    assert all(isinstance(m, str) and m for _, m in data["calls"])


def test_duckdb_reads_mixed_formats(data):
    # one object per flow log: mixed field orders, read by name
    first = {}
    for o in data["objects"]:
        first.setdefault(o["fl"], os.path.join(data["root"], o["rel"]))
    con = duckdb.connect()
    rows = con.execute(
        "SELECT \"account-id\", version, count(*) FROM read_csv(?, delim=' ', header=true,"
        " nullstr='-', all_varchar=true, union_by_name=true) GROUP BY ALL",
        [sorted(first.values())]).fetchall()
    assert {r[1] for r in rows} == {"2", "5", "8"}
    assert any(r[0] and r[0].startswith("0") and len(r[0]) == 12 for r in rows)
    expected = sum(o["n"] for o in data["objects"] if os.path.join(data["root"], o["rel"])
                   in first.values())
    assert sum(r[2] for r in rows) == expected


def test_epoch_of():
    assert generator.epoch_of("1764115200") == 1764115200
    assert generator.epoch_of("2025-11-26T00:00:00Z") == 1764115200
    assert generator.epoch_of("2025-11-26T01:00:00+01:00") == 1764115200
    assert generator.epoch_of("2025-11-26 00:00") == 1764115200
    with pytest.raises(ValueError):
        generator.epoch_of("yesterday")


def test_cli_demo(tmp_path, capsys):
    code = cli.main(["demo", "--out", str(tmp_path), "--records", "400", "--days", "1",
                     "--seed", "2", "--end", "2025-11-26T00:00:00Z"])
    out, err = capsys.readouterr()
    assert code == cli.EXIT_OK
    summary = json.loads(out)
    assert summary["records"] == 400 and summary["end"] == 1764115200
    assert len(summary["scenarios"]) >= 8
    assert "100%" in err and "[" in err
    assert len(_read(tmp_path)[1]) == 400
    assert cli.main(["demo", "--out", str(tmp_path / "y"), "--records", "5"]) == cli.EXIT_USAGE
    assert cli.main(["demo", "--out", str(tmp_path / "y"), "--end", "soon"]) == cli.EXIT_USAGE
    assert not (tmp_path / "y").exists()
