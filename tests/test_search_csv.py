"""The Search CSV (issue 19, point 13): beside each epoch time the same instant, readable, in
ISO 8601 in the viewer's zone, the zone named in its header; the injection guards stay."""

import csv
import io
from datetime import datetime

from storefixture import T0

from lib import present

ROW = {"start": T0 + 100, "end": T0 + 160, "srcaddr": "=HYPERLINK(\"https://evil.example\")",
       "dstaddr": "10.0.1.9", "bytes": 840, "log_account": "012345678901",
       "log_region": "us-east-1"}


def read(data: bytes) -> tuple[list[str], list[dict]]:
    reader = csv.DictReader(io.StringIO(data.decode(), newline=""))
    rows = list(reader)
    return list(reader.fieldnames), rows


def test_times_in_the_viewer_zone_beside_the_epochs():
    header, rows = read(present.csv_bytes([ROW], "Asia/Tokyo"))
    start = header.index("start")
    assert header[start:start + 2] == ["start", "start_time (Asia/Tokyo)"]
    end = header.index("end")
    assert header[end:end + 2] == ["end", "end_time (Asia/Tokyo)"]
    assert rows[0]["start_time (Asia/Tokyo)"] == "2026-09-21T09:01:40+09:00"
    assert rows[0]["end_time (Asia/Tokyo)"] == "2026-09-21T09:02:40+09:00"
    # the same instant as the epoch, whatever reads it
    assert datetime.fromisoformat(rows[0]["start_time (Asia/Tokyo)"]).timestamp() == T0 + 100
    assert rows[0]["start"] == str(T0 + 100)


def test_a_zone_with_summer_time_names_its_own_offset():
    summer = present.csv_bytes([ROW], "Europe/Paris")
    winter = present.csv_bytes([ROW | {"start": T0 + 100 + 90 * 86400}], "Europe/Paris")
    assert read(summer)[1][0]["start_time (Europe/Paris)"].endswith("+02:00")
    assert read(winter)[1][0]["start_time (Europe/Paris)"].endswith("+01:00")


def test_utc_when_no_zone_or_an_unknown_one():
    for zone in (None, "UTC", "Not/AZone", "=cmd|' /C calc'!A0"):
        header, rows = read(present.csv_bytes([ROW], zone))
        assert "start_time (UTC)" in header, zone
        assert rows[0]["start_time (UTC)"] == "2026-09-21T00:01:40+00:00"


def test_a_record_without_times_has_empty_time_cells():
    _, rows = read(present.csv_bytes([ROW | {"end": None}], "Asia/Tokyo"))
    assert rows[0]["end_time (Asia/Tokyo)"] == "" and rows[0]["end"] == ""


def test_injection_guards_stay():
    _, rows = read(present.csv_bytes([ROW], "Asia/Tokyo"))
    assert rows[0]["srcaddr"] == "'=HYPERLINK(\"https://evil.example\")"
    assert rows[0]["log-account"] == "012345678901" and rows[0]["bytes"] == "840"


def test_numbers_stay_whole_beside_a_record_without_them():
    """A NODATA record has no ports or bytes: the others' stay 40001, not 40001.0."""
    nodata = {"start": T0 + 200, "end": T0 + 260, "log_status": "NODATA", "srcport": None,
              "bytes": None, "log_account": "012345678901", "log_region": "us-east-1"}
    _, rows = read(present.csv_bytes([ROW | {"srcport": 40001}, nodata], "UTC"))
    assert rows[0]["srcport"] == "40001" and rows[0]["bytes"] == "840"
    assert rows[1]["srcport"] == "" and rows[1]["bytes"] == "" and rows[1]["start"] == str(T0 + 200)
