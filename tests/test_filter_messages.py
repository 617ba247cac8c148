"""Why a filter value is refused, in the viewer's language (issue 19.4): every message of
lib/filters.py has Japanese, the pages show it, and the English (what the command line
prints) is unchanged."""

from __future__ import annotations

import pytest
from apptest import app
from storefixture import T0, write_three_records

from lib import i18n
from lib.filters import InvalidFilters, parse_filters

WINDOW = {"start": str(T0), "end": str(T0 + 3600)}
BAD = {"src": "10.0.0.999", "dst": "fe80::1%eth0", "src_port": "70000", "dst_port": "abc",
       "protocol": "nope", "action": "maybe", "account": "12", "region": "mars",
       "eni": "eni-x", "vpc": "vpc-x", "subnet": "subnet-x"}


def refused(raw) -> InvalidFilters:
    with pytest.raises(InvalidFilters) as caught:
        parse_filters(raw, max_range_days=31)
    return caught.value


def test_every_message_has_japanese_of_its_own():
    errors = i18n.catalogue("filters")["errors"]
    assert len(errors) >= 20
    for code, texts in errors.items():
        assert texts.get("ja") and texts["ja"] != texts["en"], code


def test_each_bad_value_is_refused_in_japanese_and_in_the_same_english():
    invalid = refused({**WINDOW, **BAD})
    assert set(invalid.errors) == set(BAD)
    english, japanese = invalid.messages("en"), invalid.messages("ja")
    assert english == invalid.errors
    assert english["dst_port"] == "'abc' is not a port (use N, N-M or N,M)"
    assert japanese["dst_port"] == "'abc' はポートではありません（N、N-M、N,M の形で入力してください）"
    for key, message in japanese.items():
        assert "is not" not in message and "required" not in message, (key, message)
        assert any("\u3040" <= ch <= "\u30ff" for ch in message), (key, message)


def test_time_range_problems_are_said_in_japanese():
    backwards = refused({"start": str(T0 + 60), "end": str(T0)})
    assert backwards.messages("ja")["end"] == "終了は開始より後にしてください"
    too_long = refused({"start": str(T0), "end": str(T0 + 40 * 86400)})
    assert too_long.messages("ja")["end"].startswith("期間が 40.0 日あります")
    assert refused({"start": "", "end": "yesterday"}).messages("ja") == {
        "start": "入力が必要です",
        "end": "日時ではありません: 'yesterday'（ISO 8601 形式、例: 2026-11-26T09:00Z、またはエポック秒で入力してください）"}


def test_the_search_page_says_it_in_japanese(monkeypatch, tmp_path):
    store = write_three_records(tmp_path)
    at = app(monkeypatch, store, **WINDOW, dst_port="abc", lang="ja")
    at.run(timeout=60)
    shown = " ".join(w.value for w in [*at.warning, *at.error])
    assert "はポートではありません" in shown
    assert "is not a port" not in shown


def test_the_check_page_says_its_refusal_in_japanese(monkeypatch, tmp_path):
    store = write_three_records(tmp_path)
    at = app(monkeypatch, store, **WINDOW, lang="ja", check_src="10.0.0.1", check_dst="10.0.0.2",
             check_port="99999")
    at.run(timeout=60)
    at.switch_page("pages/check.py").run(timeout=60)
    shown = " ".join(e.value for e in at.error)
    assert "0 から 65535 まで" in shown
    assert "ports run from" not in shown


def test_explore_conditions_are_refused_in_japanese_and_the_same_english():
    from lib import explore

    bad = {"dstport": "abc", "action": "maybe", "interface-id": "eni-x", "tcp-flags": "999",
           "pkt-dst-aws-service": "s3!", "srcaddr": "10.0.0.999"}
    with pytest.raises(explore.InvalidConditions) as caught:
        explore.parse_conditions(bad)
    invalid = caught.value
    assert set(invalid.errors) == set(bad)
    assert invalid.messages("en") == invalid.errors
    assert invalid.errors["interface-id"] == ("'eni-x' is not an interface ID, "
                                              "e.g. eni-0a1b2c3d4e5f67890")
    for name, message in invalid.messages("ja").items():
        assert "is not" not in message and "give whole" not in message, (name, message)
        assert any("\u3040" <= ch <= "\u30ff" for ch in message), (name, message)
