"""The Connection check page names the rule that blocks a rejected flow (issue 18) when an
EC2 inventory is configured (a moto server here), in English and Japanese; without one the
page stays as it was and calls no EC2."""

from __future__ import annotations

import boto3
import pytest
from apptest import app
from s3kit import isolate_aws, moto_endpoint
from storefixture import T0, record, write_object
from test_rules import own_account, two_tier

PAGE = "pages/check.py"
REGION = "af-south-1"  # a region no other test of this process writes to
WINDOW = {"start": str(T0), "end": str(T0 + 3600)}
INPUTS = {"check_src": "10.0.1.10", "check_dst": "10.0.2.20", "check_port": "443",
          "check_protocol": "tcp"}


@pytest.fixture(scope="module")
def endpoint():
    yield from moto_endpoint()


@pytest.fixture(scope="module")
def network(endpoint):
    return two_tier(boto3.client("ec2", region_name=REGION, endpoint_url=endpoint,
                                 aws_access_key_id="test", aws_secret_access_key="test"), REGION)


def store(root, account: str, server_eni: str):
    write_object(root, [record("10.0.1.10", "10.0.2.20", 51000 + n, 443, start=T0 + 60 * n,
                               action="REJECT", account=account, eni=server_eni)
                        for n in range(3)], account=account, region=REGION)
    return root


def run_check(monkeypatch, root, **state):
    at = app(monkeypatch, root, **WINDOW, **INPUTS, **state)
    at.run(timeout=60)
    return at.switch_page(PAGE).run(timeout=60)


def markdown(at) -> str:
    return " ".join(m.value for m in at.markdown)


def test_a_rejected_check_names_the_group_and_the_acl(monkeypatch, tmp_path, endpoint, network):
    isolate_aws(monkeypatch, tmp_path)
    monkeypatch.setenv("FLOWSCOPE_EC2_ENDPOINT_URL", endpoint)
    monkeypatch.setenv("FLOWSCOPE_CACHE_DIR", str(tmp_path / "cache"))
    root = store(tmp_path / "logs", own_account(endpoint), network["server"])
    at = run_check(monkeypatch, root)
    assert not at.exception
    assert "Which rule blocks it (today's configuration)" in [h.value for h in at.subheader]
    text = markdown(at)
    assert f"Add to {network['web_sg']} (web): inbound, TCP, port 443, source {network['client_sg']}" in text
    assert f"Network ACL {network['acl']}" in text and "1024-65535" in text
    japanese = run_check(monkeypatch, root, lang="ja")
    assert "どのルールが遮断しているか（現在の設定）" in [h.value for h in japanese.subheader]
    assert f"{network['web_sg']} (web) に追加" in markdown(japanese)


def test_without_an_inventory_the_page_reads_no_rules(monkeypatch, tmp_path, endpoint, network):
    isolate_aws(monkeypatch, tmp_path)
    monkeypatch.delenv("FLOWSCOPE_EC2_ENDPOINT_URL", raising=False)
    monkeypatch.setenv("FLOWSCOPE_CACHE_DIR", str(tmp_path / "cache"))
    root = store(tmp_path / "logs", own_account(endpoint), network["server"])
    at = run_check(monkeypatch, root)
    assert not at.exception
    assert "Which rule blocks it (today's configuration)" not in [h.value for h in at.subheader]
    assert not (tmp_path / "cache" / "inventory.sqlite3").exists()
