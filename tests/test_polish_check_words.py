"""Issue 19.11: the Connection check's wording after picking a demo case — protocol names (not
6/1), one reason per way the sides were told, "Known from" in plain words, no "record(s)",
and demo case names that are the README's."""

import json
import re

import pytest
from apptest import ROOT, app
from storefixture import T0, record, write_object

from lib import check, generator

PAGE = "pages/check.py"
SEED = 1  # the README's addresses are the default seed's


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    out = tmp_path_factory.mktemp("check_demo")
    generator.generate(out, records=3000, days=1, seed=SEED)
    return out


def picked(monkeypatch, data_dir, name: str, lang: str = "en"):
    """The check page after choosing the demo case `name` in "Try a demo case"."""
    at = app(monkeypatch, data_dir, lang=lang).run()
    at.switch_page(PAGE).run()
    box = at.selectbox(key="check_demo")
    index = next(n for n, option in enumerate(box.options) if option.startswith(name + ":"))
    box.select_index(index).run()
    assert not at.exception
    return at


def reasons(at) -> list[str]:
    return [line[2:] for m in at.markdown for line in m.value.splitlines()
            if line.startswith("- ")]


def known_from(at) -> list[str]:
    return [table.value for table in at.table if "Known from" in table.value.columns
            or "判断の根拠" in table.value.columns][0].iloc[:, -1].tolist()


def test_a_demo_case_fills_the_protocol_by_name(monkeypatch, demo):
    at = picked(monkeypatch, demo, "rejected-inbound")
    assert at.session_state["check_protocol"] == "TCP"
    at = picked(monkeypatch, demo, "connected-icmp")
    assert at.session_state["check_protocol"] == "ICMP"
    assert at.session_state["check_port"] == ""


def test_sides_told_apart_are_explained_once_in_plain_words(monkeypatch, demo):
    at = picked(monkeypatch, demo, "rejected-inbound")
    told = [r for r in reasons(at) if "told apart" in r]
    assert len(told) == 1, reasons(at)
    assert "is the source's (10.73.16.172)" in told[0]
    assert "is the destination's (10.73.32.98)" in told[0]
    assert known_from(at) == ["the same flow passed one interface and was stopped at the other"] * 2
    ja = picked(monkeypatch, demo, "rejected-inbound", lang="ja")
    assert known_from(ja) == ["同じフローが一方を通り、もう一方で止められた"] * 2
    assert sum("次のように判断しました" in r for r in reasons(ja)) == 1


def test_flow_direction_is_named_in_plain_words(monkeypatch, demo):
    at = picked(monkeypatch, demo, "rejected-outbound")
    assert known_from(at) == ["the direction written in its records"]


def test_no_record_s(monkeypatch, demo):
    at = picked(monkeypatch, demo, "rejected-inbound")
    assert not [r for r in reasons(at) if "(s)" in r]
    assert "3 request records were rejected on the destination's interface" in " ".join(
        reasons(at))


def test_one_record_is_singular(monkeypatch, tmp_path):
    client, server = "10.0.0.5", "10.0.1.9"
    write_object(tmp_path, [
        record(client, server, 40001, 3306, start=T0 + 100, eni="eni-0aaaaaaaaaaaaaaa1"),
        record(client, server, 40001, 3306, start=T0 + 100, eni="eni-0bbbbbbbbbbbbbbb2",
               action="REJECT")])
    at = app(monkeypatch, tmp_path, start=str(T0), end=str(T0 + 3600), check_src=client,
             check_dst=server, check_port="3306", check_protocol="TCP").run()
    at.switch_page(PAGE).run()
    said = " ".join(reasons(at))
    assert "1 request record was rejected on the destination's interface" in said
    assert "2 request records from 10.0.0.5" in said


def readme_cases() -> list[dict]:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Try the connection check", 1)[1].split("\n## ", 1)[0]
    table = [line for line in section.splitlines() if line.startswith("| ")][2:]  # no heading
    rows = [[cell.strip().strip("`") for cell in line.strip("|").split("|")] for line in table]
    return [{"name": r[0], "src": r[1], "dst": r[2], "port": r[3], "protocol": r[4],
             "verdict": r[5]} for r in rows]


def test_demo_case_names_and_addresses_are_the_readmes(demo):
    cases = check.demo_cases(demo)
    written = [{"name": c["name"], "src": c["src"], "dst": c["dst"],
                "port": "–" if c["protocol"] == 1 else str(c["dst_port"]),
                "protocol": {6: "TCP", 1: "ICMP"}[c["protocol"]], "verdict": c["verdict"]}
               for c in cases]
    assert readme_cases() == written
    assert json.loads((demo / "scenarios.json").read_text())  # the page's own list
    assert all(re.fullmatch(r"[a-z0-9-]+", c["name"]) for c in written)
