"""Issue 19, point 4: with the Language box on 日本語 every page, the sidebar included, is in
Japanese: titles, captions, labels, help, placeholders, buttons and table headings. Addresses,
ports, AWS values (ACCEPT/REJECT, account IDs, regions) and the SQL stay as they are."""

import re

import pytest
from apptest import app, errors
from google.protobuf.json_format import MessageToDict
from storefixture import T0, record, write_object, write_three_records
from test_traffic_queries import WINDOW as TRAFFIC_WINDOW
from test_traffic_queries import write_traffic_store

WINDOW = {"start": str(T0), "end": str(T0 + 3600)}

# English UI words that must not be left on a Japanese page. Chosen not to clash with what
# stays English on purpose: addresses, ports, protocol names, ACCEPT/REJECT, account IDs,
# regions, engine names ("duckdb"), setting names (athena_cache_ttl_s), "SQL", "CIDR", "ID".
ENGLISH = ["Search", "Traffic", "Records", "Connection check", "Quick range", "Time zone",
           "Refresh", "Accounts", "Regions", "Source", "Destination", "Interface", "Subnet",
           "Action", "Protocol", "From", "Any", "rows", "row", "newest", "Select", "Download",
           "Record", "details", "Measure", "How many", "Summary", "Top talkers", "over time",
           "Rejected", "Accepted", "Numbers", "scans", "Browse", "Decode", "Format", "Page",
           "Filter", "Open", "Share", "Evidence", "Try a demo case", "Enter", "Local use",
           "Last", "Choose", "All", "previous", "Changes", "Labels", "Time", "Bytes",
           "Packets", "Flows", "Sources", "Account", "Region", "Hour", "Date", "Object",
           "field", "value", "meaning", "explanation", "stored", "lines", "Line", "Nothing"]
WORD = re.compile(r"\b(" + "|".join(re.escape(w) for w in ENGLISH) + r")\b")
SHOWN = ("label", "body", "placeholder", "help", "options", "tabs", "caption", "text")
NOT_SHOWN_AS_UI = ("code", "exception")  # SQL, record lines, links: data, not words


@pytest.fixture
def store(tmp_path):
    return write_three_records(tmp_path)


def shown_strings(message: dict) -> list[str]:
    """The visible strings of an element's or block's protobuf, as a dict."""
    found = []
    for name, value in message.items():
        if isinstance(value, dict):
            found += shown_strings(value)
        elif name in SHOWN:
            found += [str(v) for v in value] if isinstance(value, list) else [str(value)]
    return found


def texts_of(node) -> list[str]:
    """Every visible word of an AppTest node and its children: labels, bodies, help,
    placeholders, options, tab and expander labels, and the headings of tables."""
    children = getattr(node, "children", None)
    if children is not None:
        proto = getattr(node, "proto", None)
        own = shown_strings(MessageToDict(proto)) if proto is not None else []
        return own + [t for c in children.values() for t in texts_of(c)]
    if node.type in NOT_SHOWN_AS_UI:
        return []
    if node.type in ("dataframe", "arrow_data_frame"):
        return [str(c) for c in node.value.columns]
    return shown_strings(MessageToDict(node.proto))


def english_left(at) -> list[str]:
    return sorted({f"{word!r} in {text!r}" for text in texts_of(at._tree)
                   for word in WORD.findall(text)})




def labels(at) -> set[str]:
    return {w.label for w in [*at.sidebar.text_input, *at.sidebar.selectbox,
                              *at.sidebar.multiselect]}


def test_the_word_list_catches_the_english_page(monkeypatch, store):
    """The check itself: the same page in English has plenty of the listed words."""
    at = app(monkeypatch, store, **WINDOW).run()
    left = " ".join(english_left(at))
    for word in ("Search", "Quick range", "Destination", "Download", "Refresh", "Time"):
        assert repr(word) in left


def test_search_in_japanese(monkeypatch, store):
    at = app(monkeypatch, store, lang="ja", **WINDOW).run()
    assert not at.exception and not errors(at)
    assert at.title[0].value == "検索"
    assert {"開始", "終了", "アカウント", "リージョン", "送信元 IP / CIDR", "宛先 IP / CIDR",
            "宛先ポート", "プロトコル", "アクション", "タイムゾーン"} <= labels(at)
    assert at.sidebar.button[0].label == "結果を更新"
    assert list(at.dataframe[0].value.columns)[:5] == ["時刻", "送信元", "送信元ポート", "宛先",
                                                      "宛先ポート"]
    assert "3 行" in at.caption[0].value
    assert english_left(at) == []


def test_a_link_in_japanese_draws_the_sidebar_in_japanese_at_once(monkeypatch, store):
    """The Language box is drawn last: the fields above it follow the link's language in
    the first run already (the box writes its label, 日本語, to the URL)."""
    at = app(monkeypatch, store, **WINDOW)
    at.query_params["lang"] = "日本語"
    at.run()
    assert at.sidebar.text_input[0].label == "開始"
    assert at.title[0].value == "検索"


def test_switching_the_language_keeps_the_typed_filters(monkeypatch, store):
    at = app(monkeypatch, store, dst="10.0.0.5", dst_port="22", **WINDOW).run()
    assert list(at.dataframe[0].value["Source"]) == ["198.51.100.7"]
    at.session_state["lang"] = "ja"
    at.run()
    assert at.title[0].value == "検索"
    assert at.session_state["dst"] == "10.0.0.5" and at.session_state["dst_port"] == "22"
    assert list(at.dataframe[0].value["送信元"]) == ["198.51.100.7"]


def sidebar_ids(at) -> dict[str, str]:
    return {w.key: w.id for w in [*at.sidebar.text_input, *at.sidebar.selectbox,
                                  *at.sidebar.multiselect, *at.sidebar.button]}


def test_the_sidebar_widgets_are_the_same_widgets_in_both_languages(monkeypatch, store):
    """Streamlit keeps a widget's value while its ID stays; the ID is made from the key
    (the URL parameter), never from the words, so a switch of language loses nothing.
    (AppTest drops the frame's sidebar on a second run: compare two first runs. The first
    app of a process runs once more through the sign-in restart, which gives its widgets
    other IDs: that run is left out.)"""
    app(monkeypatch, store, **WINDOW).run()
    english = sidebar_ids(app(monkeypatch, store, **WINDOW).run())
    japanese = sidebar_ids(app(monkeypatch, store, lang="ja", **WINDOW).run())
    assert len(english) >= 15 and english == japanese


def test_traffic_in_japanese(monkeypatch, tmp_path):
    store = write_traffic_store(tmp_path)
    at = app(monkeypatch, store, lang="ja", **TRAFFIC_WINDOW).run()
    at.switch_page("pages/traffic.py")
    at.run()
    assert not at.exception and not errors(at)
    assert at.title[0].value == "トラフィック"
    assert [h.value for h in at.subheader][:4] == ["概要", "通信量の多い相手", "トラフィックの推移",
                                                   "拒否されたトラフィック"]
    assert [m.label for m in at.metric] == ["フロー数", "バイト数", "パケット数", "送信元", "宛先",
                                           "拒否率"]
    assert [t.label for t in at.tabs] == ["送信元", "宛先", "送信元と宛先の組"]
    # the scans table first; then the numbers behind the charts, in one box (issue 19.12)
    assert "相手" in at.dataframe[1].value.columns
    assert [e.label for e in at.expander] == ["各グラフの数値と SQL"]
    assert english_left(at) == []


def test_records_in_japanese(monkeypatch, tmp_path):
    from test_objects import build_tree

    made = build_tree(tmp_path)
    at = app(monkeypatch, tmp_path, lang="ja", rec_date="2026-09-21",
             rec_object=made["four"].name,
             paste_text="2 123456789012 eni-0a1b2c3d 10.0.0.5 10.0.1.9 40001 443 6 10 840 "
                        "1790000000 1790000060 ACCEPT OK").run()
    at.switch_page("pages/records.py")
    at.run()
    assert not at.exception and not errors(at)
    assert at.title[0].value == "レコード"
    assert [t.label for t in at.tabs] == ["保存オブジェクトを参照", "貼り付けた行をデコード"]
    browse, paste = at.tabs
    assert browse.selectbox(key="rec_account").label == "アカウント"
    assert list(browse.dataframe[0].value.columns) == ["行", "元の行"]
    assert paste.selectbox(key="paste_format").value == \
        "Header line in the text (v2 when there is none)"  # the value, not its words
    assert "テキスト内のヘッダー行（なければ v2）" in paste.selectbox(key="paste_format").options
    assert any(b.label == "このフローを検索で開く" for b in at.button)
    assert english_left(at) == []


def test_check_in_japanese(monkeypatch, tmp_path):
    from test_page_check import INPUTS
    from test_page_check import WINDOW as CHECK_WINDOW

    write_object(tmp_path, [
        record("10.0.0.5", "10.0.1.9", 40001, 3306, start=T0 + 100, eni="eni-0aaaaaaaaaaaaaaa1"),
        record("10.0.0.5", "10.0.1.9", 40001, 3306, start=T0 + 100, eni="eni-0bbbbbbbbbbbbbbb2",
               action="REJECT"),
    ])
    at = app(monkeypatch, tmp_path, lang="ja", **CHECK_WINDOW, **INPUTS).run()
    at.switch_page("pages/check.py")
    at.run()
    assert not at.exception
    assert at.title[0].value == "疎通確認"
    assert {w.label for w in at.text_input} == {"送信元 IP / CIDR", "宛先 IP / CIDR",
                                                "宛先ポート", "プロトコル"}
    assert at.button[0].label.startswith("検索で開く: ")
    assert [h.value for h in at.subheader] == ["根拠", "根拠となる記録"]
    assert list(at.dataframe[-1].value.columns)[:2] == ["時刻", "送信元"]
    assert english_left(at) == []


def test_traffic_charts_in_japanese():
    """Altair charts are opaque to AppTest: their words are checked on the builders."""
    from lib import charts, traffic
    from lib.filters import parse_filters

    filters = parse_filters(WINDOW)
    rows = [{"bucket_start": T0 + 60, "action": "REJECT", "flows": 3, "bytes": 120,
             "packets": 3}]
    frame = traffic.timeline_frame(rows, filters, 60, "Asia/Tokyo")
    timeline = charts.stacked_timeline(frame, "flows", "JST", traffic.bucket_text(86400, "ja"),
                                       "ja").to_dict()
    accepted, rejected = timeline["vconcat"]
    assert timeline["title"] == "1 日ごとのフロー数"
    assert [v["title"]["text"] for v in (accepted, rejected)] == ["許可（ACCEPT）", "拒否（REJECT）"]
    assert accepted["encoding"]["x"]["title"] == "時刻（JST）"
    assert accepted["encoding"]["x"]["axis"]["format"] == "%b %d"  # whole days, as in English
    assert accepted["encoding"]["y"]["title"] == "フロー数"
    heatmap = charts.rejection_heatmap(traffic.heatmap_frame([], filters, "UTC"), "UTC",
                                       "ja").to_dict()
    assert heatmap["title"] == "時間帯と宛先ポート別の拒否フロー数"
    assert heatmap["encoding"]["x"]["title"] == "時間帯（UTC）"
    talkers = traffic.talkers_frame([{"srcaddr": "10.0.0.5", "bytes": 5, "packets": 1,
                                      "flows": 1}], "src", {})
    bars = charts.bars(talkers, "talker", "bytes", ["srcaddr"], lang="ja").to_dict()
    assert bars["encoding"]["x"]["title"] == "バイト数"
    assert [t["title"] for t in bars["encoding"]["tooltip"]] == [
        "相手", "所有者", "バイト数", "パケット数", "フロー数"]


def test_progress_and_scans_in_japanese():
    from lib import traffic

    assert traffic.progress_line({}, "ja") == "この画面のクエリを実行中…"
    assert traffic.progress_line({}) == "Running the view's queries…"
    scans = traffic.scans_frame([{"srcaddr": "192.0.2.66", "max_ports": 25, "max_hosts": 1,
                                  "scan_hours": 1, "flows": 30, "first_start": T0,
                                  "last_start": T0 + 60}], "UTC", "ja")
    assert list(scans["pattern"]) == ["多数のポート（垂直スキャン）"]
    assert list(traffic.traffic_columns(scans, "ja").columns)[:2] == ["送信元", "パターン"]


@pytest.mark.parametrize("name", ["ui", "search", "traffic", "records", "checkpage", "check",
                                  "cost"])
def test_every_page_text_has_japanese(name):
    """A text added in English only would show in English on a Japanese page."""
    from lib import i18n

    missing = [f"[{group}.{key}]" for group, table in i18n.catalogue(name).items()
               for key, texts in table.items() if not texts.get("ja")]
    assert missing == [], f"{name}.toml: no Japanese for {missing}"


def test_every_page_has_its_name_in_both_languages():
    """A page added beside the catalogue (Data health was) kept its English name in the
    Japanese navigation."""
    import ast
    from pathlib import Path

    from lib import i18n

    app = ast.parse((Path(__file__).resolve().parent.parent / "app.py").read_text())
    titles = [k.value.value for node in ast.walk(app) if isinstance(node, ast.Call)
              and getattr(node.func, "attr", "") == "Page"
              for k in node.keywords if k.arg == "title"]
    names = i18n.catalogue("ui")["pages"]
    assert titles and all(names.get(t, {}).get("ja") for t in titles), titles
