"""The Records page, driven through AppTest on the hand-made tree of test_objects.py."""

import pytest
from apptest import app, errors
from storefixture import ACCOUNT_A, ACCOUNT_B, V5_FORMAT, record
from test_objects import FOUR, _line, build_tree

from lib import objects
from lib.present import plain

PAGE = "pages/records.py"
DAY1 = {"rec_date": "2026-09-21"}


def records_app(monkeypatch, data_dir, **state):
    """app.py on the Records page, not yet run. The frame runs first (sign-in gate, scope),
    then the page: an AppTest switched to a page before its first run skips the frame."""
    objects.clear_caches()
    at = app(monkeypatch, data_dir, **state)
    at.run()
    return at.switch_page(PAGE)


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    root = tmp_path_factory.mktemp("store")
    return root, build_tree(root)


def browse(at):
    return at.tabs[0]


def paste(at):
    return at.tabs[1]


def raw_lines(at) -> list[str]:
    return list(browse(at).dataframe[0].value["raw"])


def parsed(at):
    return browse(at).dataframe[1].value


def explained(at):
    return browse(at).table[0].value.set_index("field")  # a table: nothing cut off (19.5)


def captions(block) -> list[str]:
    return [c.value for c in block.caption]


def test_browsing_down_to_an_object_shows_raw_and_parsed_side_by_side(monkeypatch, store):
    root, made = store
    at = records_app(monkeypatch, root, **DAY1, rec_object=made["four"].name).run()
    assert not at.exception and not errors(at)
    tab = browse(at)
    assert tab.selectbox(key="rec_account").options == [ACCOUNT_A, ACCOUNT_B]
    assert tab.selectbox(key="rec_region").options == ["us-east-1"]
    assert tab.selectbox(key="rec_date").options == ["2026-09-22", "2026-09-21"]
    shown = tab.selectbox(key="rec_object").options  # delivery time · flow log · size
    assert shown[0] == (f"2026-09-21 00:10:00 UTC · fl-0123456789abcdef0 · "
                        f"{made['four'].stat().st_size} bytes")
    assert raw_lines(at) == [_line(r) for r in FOUR]
    table = parsed(at)
    assert list(table["line"]) == [2, 3, 4, 5]
    assert list(table["dstport"])[:2] == [443, 22] and list(table["action"])[:2] == [
        "ACCEPT", "REJECT"]
    assert table["summary"][0] == "TCP 10.0.0.5:40001 → 10.0.1.9:443 (HTTPS) · ACCEPT"
    assert "records 1–4" in captions(tab)[-1]
    # The first record is explained until another is selected.
    assert tab.subheader[0].value == "Line 2 explained"
    assert explained(at).loc["dstport", "meaning"] == "HTTPS"


def test_selecting_a_record_explains_it_in_the_chosen_language(monkeypatch, store):
    root, made = store
    at = records_app(monkeypatch, root, **DAY1, rec_object=made["four"].name, lang="ja",
                     rec_table={"selection": {"rows": [3], "columns": []}}).run()
    # The whole page follows the language since issue 19, point 4 (headings included).
    assert browse(at).subheader[0].value == "5 行目の説明"
    nodata = browse(at).table[0].value.set_index("フィールド")
    assert nodata.loc["srcaddr", "値"] == plain("- (該当なし)")  # st.table: Markdown
    assert "NODATA" in nodata.loc["srcaddr", "意味"]
    assert "送信元" in nodata.loc["srcaddr", "説明"]
    assert not browse(at).button  # a NODATA record has no flow to search for


@pytest.mark.parametrize("query, lines", [
    ("action=REJECT", [3]),
    ("protocol=icmp", [4]),
    ("dstport=https", [2]),
    ("10.0.1.9", [2, 4]),
    ("log-status!=OK", [5]),
])
def test_filtering_the_loaded_page(monkeypatch, store, query, lines):
    root, made = store
    at = records_app(monkeypatch, root, **DAY1, rec_object=made["four"].name,
                     rec_filter=query).run()
    assert list(parsed(at)["line"]) == lines
    assert len(raw_lines(at)) == len(lines)
    assert f"{len(lines)} of 4 records on this page match the filter" in captions(browse(at))


def test_a_bad_filter_is_explained_and_the_page_stays(monkeypatch, store):
    root, made = store
    at = records_app(monkeypatch, root, **DAY1, rec_object=made["four"].name,
                     rec_filter="colour=red").run()
    assert not at.exception
    assert any("no field 'colour'" in w.value for w in browse(at).warning)
    assert len(raw_lines(at)) == 4


def test_reading_page_by_page(monkeypatch, store):
    root, made = store
    at = records_app(monkeypatch, root, **DAY1, rec_object=made["many"].name,
                     rec_page=2).run()
    table = parsed(at)
    assert len(table) == 20 and table["srcport"].iloc[0] == 1100
    assert "records 101–120" in captions(browse(at))[-1]
    first = records_app(monkeypatch, root, **DAY1, rec_object=made["many"].name,
                        rec_size=50).run()
    assert len(parsed(first)) == 50 and "more follow" in captions(browse(first))[-1]


def test_a_corrupt_gzip_object_is_explained_and_the_page_keeps_working(monkeypatch, store):
    root, made = store
    at = records_app(monkeypatch, root, **DAY1, rec_object=made["corrupt"].name,
                     paste_text=_line(FOUR[1])).run()
    assert not at.exception
    [message] = errors(at)
    assert "could not be read" in message and "gzip" in message and "after line 11" in message
    assert len(raw_lines(at)) == 10  # the records before the damage
    assert paste(at).expander[0].label.startswith("Line 1: TCP 198.51.100.7:51515")


def test_parquet_and_custom_format_objects(monkeypatch, store):
    root, made = store
    at = records_app(monkeypatch, root, rec_object=made["parquet"].name).run()
    table = parsed(at)
    assert len(table) == 30 and list(table.columns[2:5]) == ["version", "account-id", "srcaddr"]
    v5 = records_app(monkeypatch, root, rec_object=made["v5"].name).run()
    assert explained(v5).loc["flow-direction", "meaning"] == "outgoing (egress)"
    assert list(parsed(v5).columns[2:]) == V5_FORMAT


def test_hive_names_and_hourly_folders(monkeypatch, store):
    root, _ = store
    at = records_app(monkeypatch, root, rec_account=ACCOUNT_B, rec_hour="01").run()
    tab = browse(at)
    assert tab.selectbox(key="rec_region").options == ["ap-northeast-1"]
    assert tab.selectbox(key="rec_hour").options == ["00", "01"]
    assert parsed(at)["srcport"].iloc[0] == 3001


def test_scope_limits_what_can_be_browsed(monkeypatch, store, tmp_path):
    root, _ = store
    access = tmp_path / "access.yaml"
    access.write_text(f'users:\n  local:\n    accounts: ["{ACCOUNT_B}"]\n')
    monkeypatch.setenv("FLOWSCOPE_ACCESS_FILE", str(access))
    at = records_app(monkeypatch, root, rec_account=ACCOUNT_A).run()
    assert not at.exception
    assert browse(at).selectbox(key="rec_account").options == [ACCOUNT_B]
    assert all(ACCOUNT_A not in line for line in raw_lines(at))


def test_an_empty_store_says_so_and_pasting_still_works(monkeypatch, tmp_path):
    at = records_app(monkeypatch, tmp_path, paste_text=_line(FOUR[0])).run()
    assert not at.exception
    assert [i.value for i in browse(at).info] == ["Nothing stored here: no account folders."]
    assert paste(at).table[0].value.set_index("field").loc["dstport", "meaning"] == "HTTPS"


def test_one_click_opens_search_on_the_flow(monkeypatch, store):
    root, made = store
    at = records_app(monkeypatch, root, **DAY1, rec_object=made["four"].name,
                     rec_table={"selection": {"rows": [1], "columns": []}}).run()
    at.button(key="rec_search").click().run()
    assert not at.exception
    assert at.title[0].value == "Search"
    state = at.session_state
    assert (state["src"], state["dst"], state["src_port"], state["dst_port"],
            state["protocol"]) == ("198.51.100.7", "10.0.0.5", "51515", "22", "6")
    assert state["start"] == "2026-09-20T23:47:40Z"  # 15 minutes before the record's start


# --- decoding pasted lines ---------------------------------------------------------------

def test_pasted_lines_with_a_header_are_each_explained(monkeypatch, tmp_path):
    lines = [" ".join(V5_FORMAT), _line(record("10.0.0.5", "10.0.1.9", 40001, 443,
                                                flow_direction="egress", traffic_path=2),
                                         V5_FORMAT),
             _line(record("10.0.0.5", "10.0.1.9", 40001, 53, proto=17), V5_FORMAT)]
    at = records_app(monkeypatch, tmp_path, paste_text="\n".join(lines)).run()
    tab = paste(at)
    assert [e.label for e in tab.expander] == [
        "Line 2: TCP 10.0.0.5:40001 → 10.0.1.9:443 (HTTPS) · ACCEPT",
        "Line 3: UDP 10.0.0.5:40001 → 10.0.1.9:53 (DNS) · ACCEPT"]
    first = tab.table[0].value.set_index("field")
    assert "internet gateway" in first.loc["traffic-path", "meaning"]
    assert first.loc["vpc-id", "value"] == plain("- (not applicable)")  # st.table: Markdown
    assert [b.key for b in tab.button] == ["paste_search_2", "paste_search_3"]


def test_malformed_pasted_lines_say_which_field_and_why(monkeypatch, tmp_path):
    bad_port = _line(FOUR[0]).replace(" 443 ", " https ")
    short = " ".join(_line(FOUR[1]).split()[:-1])
    at = records_app(monkeypatch, tmp_path,
                     paste_text="\n".join([bad_port, _line(FOUR[2]), short])).run()
    assert not at.exception
    tab = paste(at)
    assert [e.value for e in tab.error] == [
        "Line 1 is not a valid record: field 'dstport' is not a number: 'https'",
        "Line 3 is not a valid record: expected 14 fields, found 13; there was no header line, "
        "so the default v2 format was assumed: give the format"]
    layout = tab.table[0].value.set_index("field")
    assert layout.loc["dstport", "value found"] == "https"
    assert "not a number" in layout.loc["dstport", "problem"]
    assert tab.table[2].value.iloc[-1]["problem"].startswith("missing")
    assert tab.expander[1].label.startswith("Line 2: ICMP")  # the good line between them


def test_a_chosen_version_or_custom_field_list(monkeypatch, tmp_path):
    line = "vpc-0abc1234 10.0.0.5 10.0.1.9 6 2"
    at = records_app(monkeypatch, tmp_path, paste_text=line, paste_format="Custom field list",
                     paste_fields="${vpc-id} ${srcaddr} ${dstaddr} ${protocol} ${tcp-flags}"
                     ).run()
    table = paste(at).table[0].value.set_index("field")
    assert table.loc["tcp-flags", "meaning"] == "SYN" and table.loc["protocol", "meaning"] == "TCP"
    wrong = records_app(monkeypatch, tmp_path, paste_text=_line(FOUR[0]),
                        paste_format="v5 (all fields up to v5)").run()
    assert "expected 29 fields, found 14" in paste(wrong).error[0].value


def test_a_bad_custom_field_list_is_explained(monkeypatch, tmp_path):
    at = records_app(monkeypatch, tmp_path, paste_text="1 2", paste_format="Custom field list",
                     paste_fields="srcaddr srcaddr").run()
    assert not at.exception
    assert [e.value for e in paste(at).error] == [
        "Field list: the format lists field 'srcaddr' twice"]
    assert not paste(at).expander


def test_text_without_records(monkeypatch, tmp_path):
    at = records_app(monkeypatch, tmp_path, paste_text="# just a comment\n\n").run()
    assert [i.value for i in paste(at).info] == [
        "No records in the text (only a header, blank or comment lines)."]


def test_times_in_object_labels_follow_the_viewer_zone(monkeypatch, store):
    root, made = store
    at = records_app(monkeypatch, root, **DAY1, rec_object=made["four"].name,
                     tz="Asia/Tokyo").run()
    assert browse(at).selectbox(key="rec_object").options[0].startswith("2026-09-21 09:10:00 JST")
