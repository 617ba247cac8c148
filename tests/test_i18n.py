"""lib/i18n.py: one way to pick a text by language, English where a translation is missing,
and catalogues that are checked when read."""

from __future__ import annotations

import pytest

from lib import i18n

TEXTS = {"en": "{n} records from {src}", "ja": "{src} からの記録 {n} 件"}


def test_pick_takes_the_language_and_falls_back_to_english():
    assert i18n.pick(TEXTS, "ja") == "{src} からの記録 {n} 件"
    assert i18n.pick(TEXTS, "en") == "{n} records from {src}"
    assert i18n.pick({"en": "only English"}, "ja") == "only English"
    assert i18n.pick({"en": "English", "ja": ""}, "ja") == "English"
    assert i18n.pick(TEXTS, "fr") == i18n.pick(TEXTS, None) == "{n} records from {src}"


def test_fill_fills_in_the_names():
    assert i18n.fill(TEXTS, "ja", n=3, src="10.0.0.5") == "10.0.0.5 からの記録 3 件"
    assert i18n.fill(TEXTS, "xx", n=3, src="10.0.0.5") == "3 records from 10.0.0.5"
    with pytest.raises(KeyError):
        i18n.fill(TEXTS, "en", n=3)


def test_pick_all_gives_a_whole_table_in_one_language():
    table = {"a": {"en": "A", "ja": "エー"}, "b": {"en": "B"}}
    assert i18n.pick_all(table, "ja") == {"a": "エー", "b": "B"}
    assert i18n.known("ja") == "ja" and i18n.known("de") == "en"


def test_a_catalogue_is_read_by_group_and_key(tmp_path):
    path = tmp_path / "page.toml"
    path.write_text('[texts.title]\nen = "Cost"\nja = "コスト"\n\n'
                    '[texts.per-month]\nen = """\\\n{usd} a month \\\nat this rate"""\n'
                    'ja = "このペースで月 {usd}"\n\n[columns.usd]\nen = "USD"\n', encoding="utf-8")
    groups = i18n.read_catalogue(path)
    assert list(groups) == ["texts", "columns"]
    assert i18n.fill(groups["texts"]["per-month"], "en", usd="$3") == "$3 a month at this rate"
    assert i18n.pick(groups["columns"]["usd"], "ja") == "USD"


@pytest.mark.parametrize(("body", "says"), [
    ('[texts.a]\nja = "日本語だけ"\n', "[texts.a]: no English text"),
    ('[texts.a]\nen = "A"\nfr = "A"\n', "[texts.a]: unknown language(s) ['fr']"),
    ('[texts.a]\nen = "{n} records"\nja = "記録"\n', "[texts.a]: the ja text has [], English has ['n']"),
    ('[texts.a]\nen = 3\n', "[texts.a]: not a table of texts"),
    ('title = "Cost"\n', "title is not a group of texts"),
    ('[texts.a\nen = "A"\n', "bad.toml: "),
])
def test_a_catalogue_that_would_show_a_wrong_text_is_refused_by_name(tmp_path, body, says):
    path = tmp_path / "bad.toml"
    path.write_text(body, encoding="utf-8")
    with pytest.raises(i18n.CatalogueError) as refused:
        i18n.read_catalogue(path)
    assert says in str(refused.value)


@pytest.mark.parametrize("name", sorted(p.stem for p in i18n.CATALOGUES.glob("*.toml")))
def test_every_shipped_catalogue_is_whole(name):
    groups = i18n.catalogue(name)
    assert groups and all(groups.values())
    for table in groups.values():
        for texts in table.values():
            assert set(texts) == set(i18n.LANGS), texts  # every text translated


def test_the_pages_words_come_through_the_helper():
    from lib import cost
    from lib.check import view

    assert cost.say("per-month", "ja", usd="$1") == "このペースで月 $1"
    assert cost.say("per-month", "fr", usd="$1") == "$1 a month at this rate"
    assert view.proof_label({"direction": "request", "action": "REJECT", "records": 2}, "ja") \
        == "拒否された要求 (2)"
