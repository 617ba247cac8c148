"""`lib.cli demo --ec2-endpoint-url` (issue 18): the demo's network made in EC2 (a moto
server), so that every rejected demo case names its blocking security group or network ACL
through `lib.cli check --explain-rules`; the connected cases get no finding."""

from __future__ import annotations

import json

import pytest
from s3kit import isolate_aws, moto_endpoint

from lib import cli

ROLE = "flowscope-inventory"
# What each rejected case's story says blocks it, as (kind, direction, leg, missing rule).
EXPECTED = {
    "rejected-inbound": [("security-group", "inbound", "request",
                          {"protocol": "tcp", "ports": "3306", "cidr_or_group": "group"})],
    "rejected-outbound": [("security-group", "outbound", "request",
                           {"protocol": "tcp", "ports": "9200", "cidr_or_group": "group"})],
    "response-rejected": [("network-acl", "outbound", "response",
                           {"protocol": "tcp", "ports": "1024-65535",
                            "cidr_or_group": "198.51.100.77/32"})],
    "connected": [], "no-records": [], "connected-icmp": [],
}


@pytest.fixture(scope="module")
def endpoint():
    yield from moto_endpoint()


@pytest.fixture(scope="module")
def demo(endpoint, tmp_path_factory):
    """One demo with its network in moto (the accounts through the inventory role)."""
    tmp = tmp_path_factory.mktemp("demo-ec2")
    patch = pytest.MonkeyPatch()
    isolate_aws(patch, tmp)
    patch.setenv("FLOWSCOPE_CACHE_DIR", str(tmp / "cache"))
    patch.setenv("FLOWSCOPE_INVENTORY_ROLE_NAME", ROLE)
    out = tmp / "demo"
    code = cli.main(["demo", "--out", str(out), "--records", "3000", "--days", "1",
                     "--ec2-endpoint-url", endpoint])
    assert code == 0
    yield out
    patch.undo()


def check(capsys, demo_dir, endpoint, case: dict) -> dict:
    args = ["check", "--data", str(demo_dir), "--src", case["src"], "--dst", case["dst"],
            "--protocol", str(case["protocol"]), "--start", str(case["start"] - 60),
            "--end", str(case["end"] + 60), "--explain-rules", "--ec2-endpoint-url", endpoint]
    if case["protocol"] != 1:
        args += ["--dst-port", str(case["dst_port"])]
    capsys.readouterr()
    assert cli.main(args) == 0
    return json.loads(capsys.readouterr().out)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_demo_case_gets_the_hint_its_story_tells(demo, endpoint, capsys, name, monkeypatch):
    monkeypatch.setenv("FLOWSCOPE_INVENTORY_ROLE_NAME", ROLE)
    cases = {c["name"]: c for c in json.loads((demo / "scenarios.json").read_text())}
    out = check(capsys, demo, endpoint, cases[name])
    assert out["rules_errors"] == []
    got = [(r["kind"], r["direction"], r["leg"],
            {**r["missing"], "cidr_or_group": "group"} if r["missing"]["cidr_or_group"]
            .startswith("sg-") else r["missing"]) for r in out["rules"]]
    assert got == EXPECTED[name]
    if name == "rejected-inbound":  # the server's group, named as the demo made it
        assert out["rules"][0]["id"].startswith("sg-")
        assert any("Add to sg-" in note and "port 3306" in note for note in out["rules_notes"])


def test_the_demo_network_matches_the_topology(demo):
    made = json.loads((demo / "topology.json").read_text())
    assert len(made["vpcs"]) == 11 and len(made["interfaces"]) > 300
