import gzip

import pytest

from lib.parser import (
    FlowLogReadError,
    looks_like_header,
    open_text,
    parse_file,
    parse_format,
    parse_lines,
    parse_text,
    read_header,
)
from lib.schema import DEFAULT_FORMAT

# Small records written for these tests (documentation address ranges, made-up ids).
HEADER = " ".join(DEFAULT_FORMAT)
ACCEPT = "2 012345678901 eni-0aaa1111bbbb2222c 198.51.100.7 10.0.1.20 49152 443 6 12 3400 1700000000 1700000060 ACCEPT OK"
REJECT = "2 012345678901 eni-0aaa1111bbbb2222c 203.0.113.9 10.0.1.20 51000 22 6 1 40 1700000000 1700000060 REJECT OK"
NODATA = "2 012345678901 eni-0aaa1111bbbb2222c - - - - - - - 1700000100 1700000160 - NODATA"
SKIPDATA = "2 012345678901 eni-0ccc3333dddd4444e - - - - - - - 1700000100 1700000160 - SKIPDATA"
IPV6 = "2 012345678901 eni-0aaa1111bbbb2222c 2001:db8:10::5 2001:db8:20::7 40000 22 6 5 900 1700000000 1700000060 ACCEPT OK"
HUGE = "2 012345678901 eni-0aaa1111bbbb2222c 10.0.1.20 10.0.2.30 40000 5432 6 3000000 5000000000 1700000000 1700000060 ACCEPT OK"


def records(rows):
    return [r for r in rows if "_error" not in r]


def errors(rows):
    return [r for r in rows if "_error" in r]


def test_header_line_gives_names_and_types():
    [rec] = parse_text(f"{HEADER}\n{ACCEPT}\n", file="x.log")
    assert rec["srcaddr"] == "198.51.100.7"
    assert rec["dstport"] == 443 and rec["bytes"] == 3400 and rec["start"] == 1700000000
    assert rec["action"] == "ACCEPT" and rec["log-status"] == "OK"
    assert rec["_file"] == "x.log" and rec["_line"] == 2
    assert list(rec)[:14] == list(DEFAULT_FORMAT) and list(rec)[14:] == ["_file", "_line"]


def test_account_id_keeps_leading_zeros():
    [rec] = parse_text(ACCEPT, fmt=DEFAULT_FORMAT)
    assert rec["account-id"] == "012345678901"


def test_headerless_with_given_format_and_its_header_skipped():
    rows = parse_text(f"{HEADER}\n{ACCEPT}\n{REJECT}", fmt=DEFAULT_FORMAT)
    assert [r["_line"] for r in rows] == [2, 3] and not errors(rows)


def test_headerless_without_format_assumes_the_default_format():
    rows = parse_text(f"{ACCEPT}\n{REJECT}")
    assert [r["action"] for r in rows] == ["ACCEPT", "REJECT"]


def test_headerless_custom_lines_without_format_explain_the_assumption():
    [row] = parse_text("i-0123 eni-0aaa 10.0.0.1 10.0.0.2")
    assert row["_error"].startswith("expected 14 fields, found 4")
    assert "no header line" in row["_error"]


def test_custom_field_order():
    text = ("instance-id interface-id srcaddr dstaddr pkt-srcaddr pkt-dstaddr tcp-flags\n"
            "- eni-0aaa 10.0.1.5 10.0.0.220 10.0.1.5 203.0.113.5 19\n")
    [rec] = parse_text(text)
    assert rec["instance-id"] is None and rec["pkt-dstaddr"] == "203.0.113.5"
    assert rec["tcp-flags"] == 19
    assert list(rec)[:2] == ["instance-id", "interface-id"]


def test_runs_of_spaces_tabs_and_trailing_whitespace():
    messy = ACCEPT.replace(" 443 ", "  \t443   ") + "  \t\r\n"
    [rec] = parse_text(f"{HEADER}\n{messy}")
    assert rec["dstport"] == 443 and rec["log-status"] == "OK"


def test_blank_comment_ellipsis_and_repeated_header_lines_are_skipped():
    text = f"\n{HEADER}\n\n{ACCEPT}\n# {REJECT}\n   # indented comment\n...\n{HEADER}\n{REJECT}\n\n"
    rows = parse_text(text)
    assert [r["_line"] for r in rows] == [4, 9] and not errors(rows)


def test_trailing_hash_comment_is_ignored():
    [rec] = parse_text(f"{HEADER}\n{ACCEPT} #response traffic")
    assert rec["log-status"] == "OK"


def test_nodata_and_skipdata_dashes_become_none():
    nodata, skipdata = parse_text(f"{NODATA}\n{SKIPDATA}", fmt=DEFAULT_FORMAT)
    assert nodata["log-status"] == "NODATA" and skipdata["log-status"] == "SKIPDATA"
    for rec in (nodata, skipdata):
        assert [rec[f] for f in ("srcaddr", "srcport", "protocol", "bytes", "action")] == [None] * 5
        assert rec["start"] == 1700000100


def test_ipv6_addresses():
    [rec] = parse_text(IPV6, fmt=DEFAULT_FORMAT)
    assert rec["srcaddr"] == "2001:db8:10::5" and rec["dstaddr"] == "2001:db8:20::7"


def test_bytes_above_32_bits():
    [rec] = parse_text(HUGE, fmt=DEFAULT_FORMAT)
    assert rec["bytes"] == 5_000_000_000 > 2**31


def test_unknown_header_field_passes_through_as_text():
    text = f"{HEADER} resource-id flow-extra\n{ACCEPT} nat-0123 17\n"
    [rec] = parse_text(text)
    assert rec["resource-id"] == "nat-0123" and rec["flow-extra"] == "17"


def test_transit_gateway_style_header_is_recognised():
    text = "resource-type tgw-id packets-lost-no-route\nTransitGateway tgw-0001 13\n"
    assert parse_text(text)[0]["tgw-id"] == "tgw-0001"


def test_wrong_field_count_is_reported_and_other_lines_still_parse():
    short = ACCEPT.rsplit(" ", 1)[0]
    rows = parse_text(f"{HEADER}\n{short}\n{ACCEPT} extra\n{REJECT}")
    assert [e["_error"] for e in errors(rows)] == ["expected 14 fields, found 13",
                                                   "expected 14 fields, found 15"]
    assert errors(rows)[0] == {"_file": None, "_line": 2, "_error": "expected 14 fields, found 13",
                               "_raw": short}
    assert [r["_line"] for r in records(rows)] == [4]


@pytest.mark.parametrize("bad", ["abc", "-5", "4.2", "1_000", "٣"])
def test_non_number_in_number_field(bad):
    line = ACCEPT.replace(" 443 ", f" {bad} ")
    [row] = parse_text(line, fmt=DEFAULT_FORMAT)
    assert row["_error"] == f"field 'dstport' is not a number: '{bad}'"
    assert row["_raw"] == line


def test_number_too_large_for_its_column_type():
    [row] = parse_text(ACCEPT.replace(" 443 ", " 99999999999 "), fmt=DEFAULT_FORMAT)
    assert "too large" in row["_error"] and "dstport" in row["_error"]


def test_header_that_differs_from_given_format_is_reported():
    [row] = parse_text("version srcaddr dstaddr\n", fmt=DEFAULT_FORMAT)
    assert "header" in row["_error"]


def test_a_new_header_switches_the_format_for_following_lines():
    text = f"{HEADER}\n{ACCEPT}\nsrcaddr dstaddr\n10.0.0.1 10.0.0.2\n"
    first, second = parse_text(text)
    assert first["action"] == "ACCEPT" and second == {"srcaddr": "10.0.0.1",
                                                      "dstaddr": "10.0.0.2",
                                                      "_file": None, "_line": 4}


def test_duplicate_header_field_is_reported_not_overwritten():
    [row] = parse_text("srcaddr srcaddr\n10.0.0.1 10.0.0.2\n")
    assert row["_error"] == "the format lists field 'srcaddr' twice"


def test_parse_lines_never_raises_on_odd_content():
    odd = ["\x00\x01", "\ufffd\ufffd", "- - -", "version", "   ", "#", "…", "\u3000", "x" * 5000]
    rows = list(parse_lines(odd, file="odd"))
    assert all("_error" in r for r in rows)


def test_looks_like_header():
    assert looks_like_header(list(DEFAULT_FORMAT))
    assert looks_like_header(["log_status", "srcaddr"])
    assert not looks_like_header(["i-0123", "eni-0aaa"])  # name-like values, no field names
    assert not looks_like_header(["bogus", "line"])
    assert not looks_like_header([])


def test_parse_format():
    assert parse_format(HEADER) == DEFAULT_FORMAT
    assert parse_format("${version} ${account-id} ${srcaddr}") == ("version", "account-id",
                                                                    "srcaddr")
    assert parse_format("version,srcaddr, dstaddr") == ("version", "srcaddr", "dstaddr")
    assert parse_format("log_status ecs_task_id resource_id") == ("log-status", "ecs-task-id",
                                                                   "resource_id")


@pytest.mark.parametrize("bad", ["", "   ", "${}", "version ver$ion", "srcaddr srcaddr", "${x"])
def test_parse_format_rejects_bad_formats(bad):
    with pytest.raises(ValueError):
        parse_format(bad)


# --- files ---------------------------------------------------------------------------------

@pytest.fixture
def plain(tmp_path):
    path = tmp_path / "plain.log"
    path.write_text(f"{HEADER}\n{ACCEPT}\n{NODATA}\n")
    return path


@pytest.fixture
def gz(tmp_path):
    path = tmp_path / "object.log.gz"
    path.write_bytes(gzip.compress(f"{HEADER}\n{ACCEPT}\n{REJECT}\n".encode()))
    return path


def test_parse_plain_file(plain):
    rows = list(parse_file(plain))
    assert [r["_line"] for r in rows] == [2, 3] and rows[0]["_file"] == str(plain)


def test_parse_gzip_file(gz):
    assert [r["action"] for r in parse_file(gz)] == ["ACCEPT", "REJECT"]


def test_gzip_is_detected_by_content_not_name(gz, tmp_path):
    renamed = tmp_path / "renamed.txt"
    renamed.write_bytes(gz.read_bytes())
    assert len(list(parse_file(renamed))) == 2
    named_gz = tmp_path / "actually-plain.log.gz"
    named_gz.write_text(f"{HEADER}\n{ACCEPT}\n")
    assert len(list(parse_file(named_gz))) == 1


def test_concatenated_gzip_members(tmp_path):
    path = tmp_path / "multi.gz"
    path.write_bytes(gzip.compress(f"{HEADER}\n{ACCEPT}\n".encode())
                     + gzip.compress(f"{HEADER}\n{REJECT}\n".encode()))
    assert [r["_line"] for r in parse_file(path)] == [2, 4]


def test_missing_file_raises_read_error(tmp_path):
    with pytest.raises(FlowLogReadError, match="file not found") as raised:
        list(parse_file(tmp_path / "nope.log"))
    assert raised.value.path.endswith("nope.log") and raised.value.reason == "file not found"


def test_directory_raises_read_error(tmp_path):
    with pytest.raises(FlowLogReadError, match="directory"):
        list(parse_file(tmp_path))


def test_truncated_gzip_yields_good_records_then_raises(tmp_path):
    body = HEADER + "\n" + "\n".join(ACCEPT.replace("49152", str(40000 + i)) for i in range(3000))
    data = gzip.compress(body.encode())
    path = tmp_path / "cut.gz"
    path.write_bytes(data[: len(data) // 2])
    got = []
    with pytest.raises(FlowLogReadError, match="truncated") as raised:
        for rec in parse_file(path):  # one by one: keep what came before the error
            got.append(rec)  # noqa: PERF402
    assert 0 < len(got) < 3000 and not errors(got)
    assert [r["srcport"] for r in got] == [40000 + i for i in range(len(got))]
    assert "after line" in raised.value.reason


def test_corrupt_gzip_raises_read_error(tmp_path):
    path = tmp_path / "bad.gz"
    path.write_bytes(b"\x1f\x8b\x08\x00" + b"\x00" * 6 + b"not deflate data at all" * 4)
    with pytest.raises(FlowLogReadError, match="gzip"):
        list(parse_file(path))


def test_invalid_utf8_does_not_raise(tmp_path):
    path = tmp_path / "latin1.log"
    path.write_bytes(f"{HEADER}\n".encode() + ACCEPT.replace("eni-0aaa", "eni-\xe90aa").encode(
        "latin-1") + b"\n")
    [rec] = parse_file(path)
    assert "\ufffd" in rec["interface-id"]


def test_utf8_bom_and_crlf(tmp_path):
    path = tmp_path / "windows.log"
    path.write_bytes(f"\ufeff{HEADER}\r\n{ACCEPT}\r\n".encode())
    [rec] = parse_file(path)
    assert rec["log-status"] == "OK" and rec["version"] == 2


def test_open_text_yields_lines(gz):
    assert next(iter(open_text(gz))).startswith("version account-id")


def test_read_header(plain, gz, tmp_path):
    assert read_header(plain) == DEFAULT_FORMAT
    assert read_header(gz) == DEFAULT_FORMAT
    headerless = tmp_path / "headerless.log"
    headerless.write_text(f"\n{ACCEPT}\n")
    assert read_header(headerless) is None
    empty = tmp_path / "empty.log"
    empty.write_text("")
    assert read_header(empty) is None
    with pytest.raises(FlowLogReadError):
        read_header(tmp_path / "missing.log")
