"""The Search page, driven through AppTest on a hand-made store."""

import pytest
from apptest import app, errors, sidebar_text
from storefixture import T0, record, write_object, write_three_records

from lib import timeutil


@pytest.fixture
def store(tmp_path):
    return write_three_records(tmp_path)


WINDOW = {"start": str(T0), "end": str(T0 + 3600)}


def summary(at):
    return at.dataframe[0].value


def test_search_shows_records_newest_first(monkeypatch, store):
    at = app(monkeypatch, store, **WINDOW).run()
    assert not at.exception and not errors(at)
    table = summary(at)
    assert list(table.columns) == ["Time", "Source", "Source port", "Destination",
                                   "Destination port", "Protocol", "Action", "Bytes",
                                   "Packets", "Interface", "Account", "Region"]
    assert list(table["Source"]) == ["198.51.100.7", "10.0.1.9", "10.0.0.5"]
    assert list(table["Destination port"]) == ["22 (TCP)", "40001 (TCP)", "443 (TCP)"]
    assert list(table["Action"]) == ["REJECT", "ACCEPT", "ACCEPT"]
    assert "3 rows" in at.caption[0].value


def test_rows_that_differ_only_by_interface_or_size_look_different(monkeypatch, tmp_path):
    """Issue 19, point 2: both ends of one flow logged on two interfaces looked identical in
    the table (only the CSV told them apart)."""
    write_object(tmp_path, [
        record("10.0.0.5", "10.0.1.9", 40001, 443, start=T0 + 100, eni="eni-0aaaaaaaaaaaaaaa1",
               bytes_=840),
        record("10.0.0.5", "10.0.1.9", 40001, 443, start=T0 + 100, eni="eni-0bbbbbbbbbbbbbbb2",
               bytes_=900),
    ])
    table = summary(app(monkeypatch, tmp_path, **WINDOW).run())
    assert sorted(table["Interface"]) == ["eni-0aaaaaaaaaaaaaaa1", "eni-0bbbbbbbbbbbbbbb2"]
    assert sorted(table["Bytes"]) == [840, 900] and set(table["Source port"]) == {"40001 (TCP)"}
    assert len(table.drop_duplicates()) == 2


def test_filters_narrow_the_result(monkeypatch, store):
    # AppTest drops the frame's sidebar on a second run of a st.navigation app, so each
    # state is a fresh run (the browser tests type into the real widgets).
    at = app(monkeypatch, store, dst="10.0.1.0/24", dst_port="443", **WINDOW).run()
    assert sidebar_text(at, "Destination IP or CIDR").value == "10.0.1.0/24"
    assert list(summary(at)["Source"]) == ["10.0.0.5"]


def test_times_follow_the_viewer_zone(monkeypatch, store):
    at = app(monkeypatch, store, tz="Asia/Tokyo", **WINDOW).run()
    assert summary(at)["Time"].iloc[-1].endswith("JST")


def test_epoch_times_from_a_link_read_as_times_in_the_viewer_zone(monkeypatch, store):
    at = app(monkeypatch, store, tz="Asia/Tokyo", **WINDOW).run()
    assert sidebar_text(at, "From").value == timeutil.format_iso(T0, "Asia/Tokyo")
    assert sidebar_text(at, "To").value.endswith("+09:00")
    assert "3 rows" in at.caption[0].value  # the same instants


@pytest.mark.parametrize("key, label, value, message", [
    ("dst", "Destination IP or CIDR", "10.0.0.300", "is not an IP address"),
    ("dst_port", "Destination port(s)", "70000", "0 to 65535"),
    ("end", "To", str(T0 - 60), "after the start"),  # 1970 is now out of range
    ("src", "Source IP or CIDR", "1' OR '1'='1", "is not an IP address"),
])
def test_invalid_input_names_the_field_and_runs_nothing(monkeypatch, store, key, label, value,
                                                         message):
    at = app(monkeypatch, store, **{**WINDOW, key: value}).run()
    shown = [e.value for e in at.sidebar.error]
    assert any(message in text and text.startswith(label) for text in shown), shown
    assert not at.dataframe  # nothing ran


def test_selecting_a_row_explains_every_field(monkeypatch, store):
    at = app(monkeypatch, store, search_table={"selection": {"rows": [2], "columns": []}},
             **WINDOW).run()
    details = at.dataframe[1].value
    assert "dstport" in list(details["field"])
    row = details[details["field"] == "protocol"].iloc[0]
    assert row["value"] == "6" and "TCP" in row["meaning"]
