"""The Connection check page, driven through AppTest on a hand-made store."""

import json

import pytest
from apptest import app, errors
from storefixture import T0, record, write_object

from lib import check

PAGE = "pages/check.py"
CLIENT, SERVER = "10.0.0.5", "10.0.1.9"
WINDOW = {"start": str(T0), "end": str(T0 + 3600)}
INPUTS = {"check_src": CLIENT, "check_dst": SERVER, "check_port": "3306",
          "check_protocol": "tcp"}


def check_app(monkeypatch, data_dir, **state):
    """app.py on the check page, run. The frame runs first (sign-in gate, scope): an AppTest
    switched to a page before its first run skips the frame."""
    at = app(monkeypatch, data_dir, **state)
    at.run()
    return at.switch_page(PAGE).run()


@pytest.fixture
def store(tmp_path):
    write_object(tmp_path, [
        record(CLIENT, SERVER, 40001, 3306, start=T0 + 100, eni="eni-0aaaaaaaaaaaaaaa1"),
        record(CLIENT, SERVER, 40001, 3306, start=T0 + 100, eni="eni-0bbbbbbbbbbbbbbb2",
               action="REJECT"),
    ])
    (tmp_path / "scenarios.json").write_text(json.dumps([{
        "name": "rejected-inbound", "verdict": "rejected-inbound", "src": CLIENT, "dst": SERVER,
        "dst_port": 3306, "protocol": 6, "start": T0 + 100, "end": T0 + 200}]))
    return tmp_path


def page_text(at) -> str:
    return " ".join(str(e.value) for e in [*at.markdown, *at.error, *at.warning, *at.success,
                                            *at.info, *at.caption])


def test_asks_for_source_and_destination(monkeypatch, store):
    at = check_app(monkeypatch, store, **WINDOW)
    assert not at.exception
    assert {t.label for t in at.text_input if t.key in check.WIDGET_KEYS.values()} == {
        "Source IP or CIDR", "Destination IP or CIDR", "Destination port", "Protocol"}
    assert "Enter a source and a destination" in at.info[0].value
    assert not at.dataframe  # nothing ran


def test_verdict_reasons_evidence_and_proof(monkeypatch, store):
    at = check_app(monkeypatch, store, **WINDOW, **INPUTS)
    assert not at.exception
    verdict = at.error[0].value
    assert "Blocked at the destination" in verdict and SERVER in verdict
    assert "verdict: `rejected-inbound`" in at.caption[1].value
    assert "eni-0bbbbbbbbbbbbbbb2" in page_text(at)
    evidence = at.table[0].value  # one row per measure, a column per direction (19.5)
    assert list(evidence.loc["Rejected"]) == ["1", "0"]
    assert list(evidence.loc["Accepted"]) == ["1", "0"]
    sides = at.table[1].value
    assert dict(zip(sides["Interface"], sides["Side"], strict=True)) == {
        "eni-0aaaaaaaaaaaaaaa1": "source", "eni-0bbbbbbbbbbbbbbb2": "destination"}
    assert [b.label for b in at.button] == ["Open in Search: Rejected requests (1)",
                                            "Open in Search: Accepted requests (1)"]
    link = at.code[-2].value if len(at.code) > 1 else at.code[0].value
    assert any("check_src=10.0.0.5" in c.value and "check_port=3306" in c.value
               for c in at.code), link


def test_japanese(monkeypatch, store):
    at = check_app(monkeypatch, store, lang="ja", **WINDOW, **INPUTS)
    assert at.error[0].value.startswith("**宛先で遮断")


def test_invalid_input_names_the_field_and_runs_nothing(monkeypatch, store):
    at = check_app(monkeypatch, store, **WINDOW,
             **{**INPUTS, "check_dst": "10.0.1.300", "check_port": "70000"})
    shown = errors(at)
    assert any(t.startswith("Destination IP or CIDR:") and "not an IP address" in t
               for t in shown), shown
    assert any(t.startswith("Destination port:") and "0 to 65535" in t for t in shown)
    assert not at.dataframe


def test_proof_button_opens_search_filtered_to_the_records(monkeypatch, store):
    at = check_app(monkeypatch, store, **WINDOW, **INPUTS)
    at.button(key="check_proof_0").click().run()
    assert not at.exception and at.title[0].value == "Search"
    # The frame's sidebar applies the drill-down filters on its next run, which AppTest
    # skips after a page switch (see tests/apptest.py): check what is handed over.
    handed = at.session_state["_pending_filters"]
    assert handed == {"start": str(T0 + 100), "end": str(T0 + 101), "src": CLIENT,
                      "dst": SERVER, "dst_port": "3306", "protocol": "6",
                      "action": "REJECT", "eni": "eni-0bbbbbbbbbbbbbbb2"}


def test_demo_case_fills_the_inputs(monkeypatch, store):
    at = check_app(monkeypatch, store, **WINDOW)
    case = at.selectbox(key="check_demo")
    assert case.options == [f"rejected-inbound: {CLIENT} → {SERVER}"]
    case.select_index(0).run()
    assert at.session_state["check_src"] == CLIENT
    assert at.session_state["check_port"] == "3306"
    assert "Blocked at the destination" in at.error[0].value
