"""Browsing and reading stored objects in a local directory (lib/objects.py) and the record
helpers the Records page uses (lib/records.py). test_objects_s3.py runs the same tree on S3."""

import gzip
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from storefixture import ACCOUNT_A, ACCOUNT_B, T0, V5_FORMAT, object_path, record, write_object

from lib import objects, records
from lib.config import Settings
from lib.query import Scope
from lib.schema import DEFAULT_FORMAT, VERSION_FORMATS

DAY2 = T0 + 86400
EVERY_ACCOUNT = Scope(None)
HIVE_REGION = "ap-northeast-1"
FOUR = [
    record("10.0.0.5", "10.0.1.9", 40001, 443, start=T0 + 100),
    record("198.51.100.7", "10.0.0.5", 51515, 22, start=T0 + 160, action="REJECT"),
    record("10.0.0.5", "10.0.1.9", None, None, proto=1, start=T0 + 200),
    record(None, None, None, None, proto=None, start=T0 + 240, packets=None, bytes_=None,
           action=None, status="NODATA"),
]


def _hive_path(root: Path, account: str, hour: int, name_time: str) -> Path:
    folder = (root / "AWSLogs" / f"aws-account-id={account}" / "aws-service=vpcflowlogs"
              / f"aws-region={HIVE_REGION}" / "year=2026" / "month=09" / "day=21"
              / f"hour={hour:02d}")
    return folder / (f"{account}_vpcflowlogs_{HIVE_REGION}_fl-0b0b0b0b0b0b0b0b0_{name_time}"
                     f"_1234abcd.log.gz")


def _gzip_lines(lines: list[str]) -> bytes:
    return gzip.compress(("\n".join(lines) + "\n").encode(), mtime=0)


def _line(rec: dict, fmt=DEFAULT_FORMAT) -> str:
    return " ".join("-" if rec.get(n) is None else str(rec[n]) for n in fmt)


def build_tree(root: Path) -> dict[str, Path]:
    """A store with every layout the browser must handle; returns the objects by role."""
    made = {"four": write_object(root, FOUR, delivered=T0 + 600)}
    many = [record("10.0.0.7", "10.0.2.2", 1000 + i, 5432, start=T0 + i) for i in range(120)]
    made["many"] = write_object(root, many, delivered=T0 + 900, flow_log="fl-0aaaaaaaaaaaaaaa1")
    # A custom (v5, reordered) format object on the next day: the header gives the order.
    v5 = record("10.0.0.5", "52.94.0.10", 40002, 443, start=DAY2 + 60, vpc_id="vpc-0abc1234",
                flow_direction="egress", traffic_path=8, tcp_flags=19, type="IPv4")
    made["v5"] = write_object(root, [v5], delivered=DAY2 + 600, fmt=V5_FORMAT)
    # A corrupt object: ten good records, then a gzip member whose data is garbage.
    corrupt = object_path(root, ACCOUNT_A, "us-east-1", T0 + 1200, "fl-0ccccccccccccccc1")
    good = _gzip_lines([" ".join(DEFAULT_FORMAT)] + [_line(r) for r in many[:10]])
    corrupt.write_bytes(good + b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff" + b"\xff\xfe" * 64)
    made["corrupt"] = corrupt
    # A Parquet object as AWS writes them: SQL-style column names, typed columns.
    parquet = object_path(root, ACCOUNT_A, "us-east-1", DAY2 + 900, "fl-0ddddddddddddddd1"
                          ).with_suffix("").with_suffix(".parquet")
    parquet = parquet.with_name(parquet.name.replace(".parquet", ".log.parquet"))
    table = pa.table({
        "version": pa.array([2] * 30, pa.int32()), "account_id": [ACCOUNT_A] * 30,
        "srcaddr": ["10.0.3.3"] * 30, "dstaddr": ["10.0.4.4"] * 30,
        "srcport": pa.array([2000 + i for i in range(30)], pa.int32()),
        "dstport": pa.array([443] * 29 + [None], pa.int32()),
        "protocol": pa.array([6] * 30, pa.int32()),
        "start": pa.array([DAY2 + i for i in range(30)], pa.int64()),
        "end": pa.array([DAY2 + i + 60 for i in range(30)], pa.int64()),
        "action": ["ACCEPT"] * 30, "log_status": ["OK"] * 30})
    pq.write_table(table, parquet, row_group_size=10)
    made["parquet"] = parquet
    # Account B: Hive-compatible names and hourly folders.
    for hour in (0, 1):
        path = _hive_path(root, ACCOUNT_B, hour, f"20260921T{hour:02d}05Z")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(_gzip_lines([" ".join(DEFAULT_FORMAT), _line(record(
            "10.9.0.1", "10.9.0.2", 3000 + hour, 53, proto=17, account=ACCOUNT_B,
            start=T0 + hour * 3600))]))
        made[f"hive{hour}"] = path
    return made


@pytest.fixture
def tree(tmp_path):
    return tmp_path, build_tree(tmp_path)


def local_store(root, scope=EVERY_ACCOUNT) -> objects.ObjectStore:
    objects.clear_caches()
    return objects.open_store(Settings(data_dir=str(root)), scope)


def find(store, name: str):
    """The StoredObject of a file name, found by walking the layout like the page does."""
    for account in store.accounts():
        for region in store.regions(account):
            for date in store.dates(region):
                for folder in store.hours(date) or [date]:
                    for obj in store.objects(folder):
                        if obj.name == name:
                            return obj
    raise AssertionError(f"{name} not listed")


# --- browsing ------------------------------------------------------------------------------

def test_the_layout_is_browsed_level_by_level(tree):
    root, made = tree
    store = local_store(root)
    assert [a.label for a in store.accounts()] == [ACCOUNT_A, ACCOUNT_B]
    a, b = store.accounts()
    assert [r.label for r in store.regions(a)] == ["us-east-1"]
    [east] = store.regions(a)
    assert [d.label for d in store.dates(east)] == ["2026-09-22", "2026-09-21"]  # newest first
    day1 = store.dates(east)[1]
    assert store.hours(day1) == []  # a daily layout: objects are in the day folder
    listed = store.objects(day1)
    assert [o.name for o in listed] == sorted(p.name for p in (
        made["four"], made["many"], made["corrupt"]))
    four = next(o for o in listed if o.path == str(made["four"]))
    assert four.size == made["four"].stat().st_size
    assert four.delivered == T0 + 600 and four.flow_log_id == "fl-0123456789abcdef0"
    assert four.account == ACCOUNT_A and four.region == "us-east-1"


def test_hive_names_and_hourly_folders(tree):
    root, made = tree
    store = local_store(root)
    b = store.accounts()[1]
    assert b.hive and b.label == ACCOUNT_B
    [region] = store.regions(b)
    assert region.label == HIVE_REGION
    [day] = store.dates(region)
    assert day.label == "2026-09-21"
    assert [h.label for h in store.hours(day)] == ["00", "01"]
    [obj] = store.objects(store.hours(day)[1])
    assert obj.path == str(made["hive1"]) and obj.delivered == T0 + 3600 + 300
    assert store.objects(day) == []  # nothing directly in an hourly layout's day folder


def test_parquet_names_give_their_flow_log_and_time(tree):
    root, made = tree
    obj = find(local_store(root), made["parquet"].name)
    assert obj.flow_log_id == "fl-0ddddddddddddddd1" and obj.delivered == DAY2 + 900


def test_an_account_in_both_folder_styles_is_listed_twice(tree):
    root, _ = tree
    (root / "AWSLogs" / f"aws-account-id={ACCOUNT_A}").mkdir()
    labels = [a.label for a in local_store(root).accounts()]
    assert labels == [ACCOUNT_A, f"{ACCOUNT_A} (Hive-style folders)", ACCOUNT_B]


def test_object_listing_stops_at_the_limit(tree):
    root, _ = tree
    store = local_store(root)
    day1 = store.dates(store.regions(store.accounts()[0])[0])[1]
    assert len(store.objects(day1, limit=2)) == 2


def test_an_empty_or_missing_store_lists_nothing(tmp_path):
    store = local_store(tmp_path / "nothing-here")
    assert store.accounts() == []


# --- account scope -------------------------------------------------------------------------

def test_scope_hides_other_accounts_and_refuses_their_objects(tree):
    root, made = tree
    everything = local_store(root)
    b_object = find(everything, made["hive0"].name)
    b_folder = everything.accounts()[1]
    only_a = local_store(root, Scope(frozenset({ACCOUNT_A})))
    assert [a.label for a in only_a.accounts()] == [ACCOUNT_A]
    with pytest.raises(objects.OutOfScope):
        only_a.regions(b_folder)
    with pytest.raises(objects.OutOfScope):
        only_a.objects(b_folder)
    with pytest.raises(objects.OutOfScope):
        only_a.read_page(b_object)
    # The path decides the account, not the fields of the object handed in.
    disguised = objects.StoredObject(b_object.path, ACCOUNT_A, "us-east-1", None, None, 0)
    with pytest.raises(objects.OutOfScope):
        only_a.read_page(disguised)


def test_paths_outside_the_store_are_refused(tree, tmp_path_factory):
    root, _ = tree
    outside = tmp_path_factory.mktemp("elsewhere") / "x.log"
    outside.write_text("secret\n")
    store = local_store(root)
    for path in (str(outside), str(root / "AWSLogs" / ".." / ".." / outside.name)):
        with pytest.raises(objects.OutOfScope):
            store.read_page(objects.StoredObject(path, ACCOUNT_A, "", None, None, 0))


# --- reading -------------------------------------------------------------------------------

def test_a_page_holds_records_with_their_raw_lines(tree):
    root, made = tree
    page = local_store(root).read_page(find(local_store(root), made["four"].name), 1, 100)
    assert page.error is None and not page.more and page.kind == "text"
    assert [r.line for r in page.rows] == [2, 3, 4, 5]  # line 1 is the header
    first = page.rows[0]
    assert first.raw == _line(FOUR[0]) and first.fields == DEFAULT_FORMAT
    assert first.record["dstport"] == 443 and first.record["account-id"] == ACCOUNT_A
    nodata = page.rows[3]
    assert nodata.record["log-status"] == "NODATA" and nodata.record["srcaddr"] is None


def test_pages_follow_each_other_without_overlap(tree):
    root, made = tree
    store = local_store(root)
    many = find(store, made["many"].name)
    first, second, third = (store.read_page(many, n, 50) for n in (1, 2, 3))
    assert first.more and second.more and not third.more
    assert [len(p.rows) for p in (first, second, third)] == [50, 50, 20]
    assert first.rows[0].record["srcport"] == 1000 and third.rows[-1].record["srcport"] == 1119
    assert second.first == 51 and second.rows[0].record["srcport"] == 1050
    assert store.read_page(many, 9, 50).rows == []


def test_a_custom_format_is_read_from_the_header(tree):
    root, made = tree
    [row] = local_store(root).read_page(find(local_store(root), made["v5"].name)).rows
    assert row.fields == tuple(V5_FORMAT)
    assert row.record["flow-direction"] == "egress" and row.record["traffic-path"] == 8
    explained = records.explain_table(row).set_index("field")
    assert explained.loc["tcp-flags", "meaning"] == "SYN-ACK + FIN"
    assert "internet gateway" in explained.loc["traffic-path", "meaning"]


def test_a_corrupt_gzip_object_keeps_the_records_before_the_damage(tree):
    root, made = tree
    page = local_store(root).read_page(find(local_store(root), made["corrupt"].name), 1, 100)
    assert len(page.rows) == 10 and all(r.error is None for r in page.rows)
    assert page.error and "gzip" in page.error and "after line 11" in page.error


def test_a_parquet_object_shows_its_rows_with_aws_names(tree):
    root, made = tree
    store = local_store(root)
    obj = find(store, made["parquet"].name)
    page = store.read_page(obj, 3, 12)  # rows 25-30 span the last row group
    assert page.kind == "parquet" and page.error is None and not page.more
    assert [r.line for r in page.rows] == [25, 26, 27, 28, 29, 30]
    last = page.rows[-1]
    assert last.record["srcport"] == 2029 and last.record["dstport"] is None
    assert last.record["log-status"] == "OK" and "account-id" in last.record
    assert last.raw.split()[5] == "-"  # the missing dstport, as a text line would show it
    assert store.read_page(obj, 1, 12).more


def test_an_unreadable_parquet_object_is_reported(tree):
    root, made = tree
    made["parquet"].write_bytes(b"PAR1 not really")
    store = local_store(root)
    page = store.read_page(find(store, made["parquet"].name))
    assert page.rows == [] and page.error.startswith("not a readable Parquet object")


# --- records: filtering, explaining, pasting ------------------------------------------------

@pytest.fixture
def four_rows(tree):
    root, made = tree
    return local_store(root).read_page(find(local_store(root), made["four"].name)).rows


@pytest.mark.parametrize("query, ports", [
    ("", [443, 22, None, None]),
    ("dstport=443", [443]),
    ("dstport=https", [443]),
    ("protocol=icmp", [None]),
    ("protocol=6 action=REJECT", [22]),
    ("action!=ACCEPT", [22, None]),  # NODATA has no action
    ("log_status=NODATA", [None]),
    ("srcaddr=-", [None]),
    ("198.51.100", [22]),
    ("HTTPS", [443]),  # words also match the decoded summary
    ('"10.0.0.5 10.0.1.9"', [443, None]),
    ("action=reject", [22]),  # any case
    ("srcaddr=10.0.0.0/24", [443, None]),
    ("dstaddr!=10.0.1.0/24", [22, None]),
])
def test_filter_rows(four_rows, query, ports):
    assert [r.record.get("dstport") for r in records.filter_rows(four_rows, query)] == ports


@pytest.mark.parametrize("query, message", [
    ("colour=red", "no field 'colour'"),
    ('"unclosed', "close the quote"),
    # Values no record can hold: a typo, said as such instead of an empty page.
    ("dstport=abc", "dstport takes a port number from 0 to 65535 or a service name"),
    ("dstport=99999", "'99999' is neither"),
    ("protocol=tcpp", "protocol takes a number from 0 to 255"),
    ("action=rejected", "action is one of ACCEPT, REJECT"),
    ("log_status=skip", "log-status is one of OK, NODATA, SKIPDATA"),
    ("srcaddr=10.0.0.999", "srcaddr takes an IP address or a CIDR"),
    ("bytes=lots", "bytes takes a whole number"),
])
def test_bad_filters_say_what_is_wrong(four_rows, query, message):
    with pytest.raises(records.FilterError, match=message):
        records.filter_rows(four_rows, query)


def test_tables_keep_integers_and_show_not_applicable(four_rows):
    table = records.parsed_table(four_rows)
    assert str(table["dstport"].dtype) == "Int64" and table["dstport"].iloc[0] == 443
    assert table["summary"].iloc[0] == "TCP 10.0.0.5:40001 → 10.0.1.9:443 (HTTPS) · ACCEPT"
    assert table["summary"].iloc[2] == "ICMP 10.0.0.5 → 10.0.1.9 · ACCEPT"
    assert table["summary"].iloc[3].startswith("NODATA")
    nodata = records.explain_table(four_rows[3]).set_index("field")
    assert nodata.loc["srcaddr", "value"] == "- (not applicable)"
    assert "no traffic" in nodata.loc["srcaddr", "meaning"]
    icmp = records.explain_table(four_rows[2], "ja").set_index("field")
    assert icmp.loc["srcport", "value"] == "- (該当なし)" and "ICMP" in icmp.loc["srcport", "meaning"]


def test_search_params_give_the_five_tuple_around_the_time(four_rows):
    assert records.search_params(four_rows[1]) == {
        "src": "198.51.100.7", "dst": "10.0.0.5", "src_port": "51515", "dst_port": "22",
        "protocol": "6", "start": str(T0 + 160 - 900), "end": str(T0 + 220 + 900)}
    icmp = records.search_params(four_rows[2])
    assert "dst_port" not in icmp and icmp["protocol"] == "1"
    assert records.search_params(four_rows[3]) is None  # NODATA: no flow to search for


def test_pasted_lines_with_a_header_in_a_custom_order():
    header = " ".join(V5_FORMAT)
    line = _line(record("10.0.0.5", "10.0.1.9", 40001, 443, vpc_id="vpc-0abc1234",
                        flow_direction="ingress"), V5_FORMAT)
    rows, cut = records.decode_pasted(f"{header}\n{line}\n")
    assert not cut and [r.line for r in rows] == [2]
    assert rows[0].record["flow-direction"] == "ingress" and not rows[0].assumed


def test_pasted_lines_without_a_header_are_read_as_v2_or_the_chosen_format():
    v2 = _line(FOUR[0])
    [row], _ = records.decode_pasted(v2)
    assert row.assumed and row.record["dstport"] == 443
    fmt = records.chosen_format("v3 (all fields up to v3)")
    assert fmt == VERSION_FORMATS["v3 (all fields up to v3)"]
    [short], _ = records.decode_pasted(v2, fmt)
    assert "expected 21 fields, found 14" in short.error


def test_custom_field_lists():
    assert records.chosen_format(records.HEADER_CHOICE) is None
    assert records.chosen_format(records.CUSTOM_CHOICE, "${srcaddr} ${dstaddr}") == (
        "srcaddr", "dstaddr")
    with pytest.raises(ValueError, match="not a field name"):
        records.chosen_format(records.CUSTOM_CHOICE, "srcaddr $dst!addr")


def test_malformed_lines_are_laid_out_field_by_field():
    missing = " ".join(_line(FOUR[0]).split()[:-1])
    [row], _ = records.decode_pasted(missing)
    table = records.misalignment(row)
    assert row.error.startswith("expected 14 fields, found 13")
    assert table.iloc[-1]["field"] == "log-status" and table.iloc[-1]["problem"].startswith(
        "missing")
    bad = _line(FOUR[0]).replace(" 443 ", " https ")
    [row], _ = records.decode_pasted(bad)
    table = records.misalignment(row).set_index("field")
    assert table.loc["dstport", "value found"] == "https"
    assert "not a number" in table.loc["dstport", "problem"]
    assert (table.drop(index="dstport")["problem"] == "").all()
    shifted = _line(FOUR[0]).replace(" 40001 ", " ")  # a value dropped in the middle
    [row], _ = records.decode_pasted(shifted)
    problems = records.misalignment(row).set_index("field")["problem"]
    assert problems["srcport"] == "" and problems["protocol"] == ""  # 443 and 6 still numbers
    assert problems["action"] == "" and problems["log-status"].startswith("missing")
    assert problems["end"] == "not a number"  # 'ACCEPT' landed in end: shifted from here


def test_pasting_is_bounded():
    text = "\n".join([_line(FOUR[0])] * 30)
    rows, cut = records.decode_pasted(text, limit=20)
    assert len(rows) == 20 and cut


def test_human_sizes():
    assert [records.human_size(n) for n in (None, 999, 1500, 104_857_600, 3 * 10**12)] == [
        "?", "999 bytes", "1.5 KB", "104.9 MB", "3,000.0 GB"]


@pytest.mark.parametrize("location, expected", [
    ("s3://logs", ("logs", "")),
    ("s3://logs/central/", ("logs", "central")),
    ("s3://logs/org/central/AWSLogs/", ("logs", "org/central")),
])
def test_s3_locations(location, expected):
    assert objects.parse_s3_location(location) == expected


@pytest.mark.parametrize("location", ["logs/central", "s3:///central", "https://x"])
def test_bad_s3_locations_are_explained(location):
    with pytest.raises(objects.StoreError, match="s3://bucket/prefix"):
        objects.parse_s3_location(location)


def test_fields_newer_than_v8_pass_through_and_are_explained_as_such():
    rows, _ = records.decode_pasted("version srcaddr encryption-status\n10 10.0.0.5 1\n")
    [row] = rows
    assert row.record["encryption-status"] == "1" and row.record["version"] == 10
    table = records.explain_table(row).set_index("field")
    assert "does not know yet" in table.loc["encryption-status", "explanation"]
    assert list(records.parsed_table(rows).columns) == [
        "line", "summary", "version", "srcaddr", "encryption-status"]
