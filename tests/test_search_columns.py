"""The Search table's columns (issue 19, point 2): every field can be shown, in the order
chosen, the choice kept in the link, headings in the viewer's language."""

import pytest
from apptest import app, errors
from storefixture import T0, V5_FORMAT, record, write_object, write_three_records

from lib import i18n, present, schema

WINDOW = {"start": str(T0), "end": str(T0 + 3600)}
DEFAULT_HEADINGS = ["Time", "Source", "Source port", "Destination", "Destination port",
                    "Protocol", "Action", "Bytes", "Packets", "Interface", "Account", "Region"]


@pytest.fixture
def store(tmp_path):
    return write_three_records(tmp_path)


def columns(at) -> list[str]:
    return list(at.dataframe[0].value.columns)


def test_every_field_and_the_stored_folder_can_be_chosen(monkeypatch, store):
    at = app(monkeypatch, store, **WINDOW).run()
    assert not at.exception and not errors(at)
    chooser = at.multiselect(key="search_columns")
    expected = [f.name for f in schema.FIELDS] + ["log-account", "log-region"]
    assert sorted(present.SEARCH_HEADINGS) == sorted(expected)
    assert len(chooser.options) == len(expected)
    assert chooser.value == list(present.DEFAULT_SEARCH_FIELDS)
    assert columns(at) == DEFAULT_HEADINGS


def test_every_heading_has_english_and_japanese():
    table = i18n.catalogue("search")["columns"]
    for heading in present.SEARCH_HEADINGS.values():
        assert table[heading]["en"] == heading and table[heading]["ja"], heading
    japanese = [table[h]["ja"] for h in present.SEARCH_HEADINGS.values()]
    assert len(set(japanese)) == len(japanese)  # no two columns look the same


def test_the_table_follows_the_chosen_order(monkeypatch, store):
    at = app(monkeypatch, store, **WINDOW).run()
    at.multiselect(key="search_columns").set_value(["bytes", "dstport", "srcaddr",
                                                     "interface-id"]).run()
    assert not at.exception
    table = at.dataframe[0].value
    assert list(table.columns) == ["Bytes", "Destination port", "Source", "Interface"]
    assert list(table["Destination port"]) == ["22 (TCP)", "40001 (TCP)", "443 (TCP)"]


def test_a_link_reopens_the_chosen_columns(monkeypatch, store):
    at = app(monkeypatch, store)
    at.query_params.update({**WINDOW, "search_columns": ["Packets", "Time", "Account"]})
    at.run()
    assert at.multiselect(key="search_columns").value == ["packets", "start", "log-account"]
    assert columns(at) == ["Packets", "Time", "Account"]


def test_a_japanese_link_reopens_them_with_japanese_headings(monkeypatch, store):
    at = app(monkeypatch, store)
    at.query_params.update({**WINDOW, "lang": "日本語",
                            "search_columns": ["バイト数", "送信元", "TCP フラグ"]})
    at.run()
    assert at.multiselect(key="search_columns").value == ["bytes", "srcaddr", "tcp-flags"]
    assert columns(at) == ["バイト数", "送信元", "TCP フラグ"]


def test_japanese_headings_on_the_default_table(monkeypatch, store):
    at = app(monkeypatch, store, lang="ja", **WINDOW).run()
    table = i18n.catalogue("search")["columns"]
    assert columns(at) == [table[h]["ja"] for h in DEFAULT_HEADINGS]
    assert "プロトコル" in columns(at)
    options = at.multiselect(key="search_columns").options
    assert "プロトコル" in options and "Protocol" not in options
    assert at.multiselect(key="search_columns").label == "表示する列 (この順)"


def test_no_column_chosen_shows_the_default_ones(monkeypatch, store):
    at = app(monkeypatch, store, **WINDOW).run()
    at.multiselect(key="search_columns").set_value([]).run()
    assert not at.exception and columns(at) == DEFAULT_HEADINGS


# --- the cells -----------------------------------------------------------------------------

def v5_row() -> dict:
    values = record("10.0.0.5", "10.0.1.9", 40001, 443, start=T0 + 100, tcp_flags=18,
                    vpc_id="vpc-0a", flow_direction="egress", traffic_path=2)
    row = {schema.field_for(name).column: values.get(name) for name in V5_FORMAT}
    return row | {"log_account": "012345678901", "log_region": "eu-west-1"}


def test_cells_read_as_words_where_the_value_is_a_code():
    frame = present.search_summary([v5_row()], "Asia/Tokyo",
                                   ["end", "protocol", "tcp-flags", "traffic-path", "vpc-id",
                                    "flow-direction", "log-region", "reject-reason"])
    row = frame.iloc[0]
    assert row["End"] == "2026-09-21 09:02:40 JST"
    assert row["Protocol"] == "TCP" and row["TCP flags"] == "18 (SYN, ACK)"
    assert row["Traffic path"] == 2 and str(frame["Traffic path"].dtype) == "Int64"
    assert row["VPC"] == "vpc-0a" and row["Flow direction"] == "egress"
    assert row["Region"] == "eu-west-1" and row["Reject reason"] == ""


def test_a_choice_keeps_only_known_fields_once_in_its_order():
    assert present.search_fields(["bytes", "nope", "srcaddr", "bytes"]) == ("bytes", "srcaddr")
    assert present.search_fields([]) == present.DEFAULT_SEARCH_FIELDS
    assert present.search_fields(None) == present.DEFAULT_SEARCH_FIELDS


def test_a_v5_store_shows_its_extra_fields(monkeypatch, tmp_path):
    write_object(tmp_path, [record("10.0.0.5", "10.0.1.9", 40001, 443, start=T0 + 100,
                                   tcp_flags=2, vpc_id="vpc-0a", subnet_id="subnet-0b",
                                   instance_id="i-0c", region="eu-west-1", az_id="euw1-az1",
                                   type="IPv4", pkt_srcaddr="10.0.0.5", pkt_dstaddr="10.0.1.9",
                                   flow_direction="egress", traffic_path=1)], fmt=V5_FORMAT)
    at = app(monkeypatch, tmp_path, **WINDOW).run()
    at.multiselect(key="search_columns").set_value(["vpc-id", "subnet-id", "tcp-flags",
                                                     "az-id"]).run()
    assert at.dataframe[0].value.iloc[0].to_dict() == {
        "VPC": "vpc-0a", "Subnet": "subnet-0b", "TCP flags": "2 (SYN)", "AZ ID": "euw1-az1"}
