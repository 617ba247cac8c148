"""Issue 19, point 4: every page in Japanese in Chromium, sidebar included, with a
screenshot of each (artifacts/screenshots/ja-*.png). The Language box is bound to the URL:
its label, 日本語, is the value."""

from __future__ import annotations

import pytest
from browserkit import ADMIN, main, open_url, page_url, password_of, screenshot, settle, sign_in
from playwright.sync_api import expect

# (URL path, the page's Japanese title, a Japanese text of the page's own below the title)
PAGES = [
    ("", "検索", "CSV をダウンロード"),
    ("check", "疎通確認", "確認する送信元と宛先を入力してください。"),
    ("traffic", "トラフィック", "通信量の多い相手"),
    ("cost", "コスト", "選択した期間"),
    ("records", "レコード", "貼り付けた行をデコード"),
]
# The sidebar's labels in Japanese, and English words it must not show any more.
SIDEBAR_JA = ["期間のクイック選択", "開始", "終了", "送信元 IP / CIDR", "宛先ポート", "タイムゾーン"]
SIDEBAR_EN = ["Quick range", "Source IP or CIDR", "Destination port(s)", "Time zone",
              "Refresh results", "Sign out", "Search", "Connection check", "Traffic", "Records",
              "Data health"]
NAVIGATION_JA = ["検索", "疎通確認", "トラフィック", "コスト", "レコード", "データの健全性"]


@pytest.fixture
def signed_in(page, server, demo):
    open_url(page, page_url(server.url, "", start=demo.summary["start"],
                            end=demo.summary["end"]))
    sign_in(page, ADMIN, password_of(ADMIN))
    return page


@pytest.mark.parametrize(("path", "title", "text"), PAGES)
def test_each_page_in_japanese(signed_in, server, demo, path, title, text):
    page = signed_in
    open_url(page, page_url(server.url, path, start=demo.summary["start"],
                            end=demo.summary["end"], lang="日本語"))
    settle(page)
    expect(main(page).get_by_role("heading", name=title, level=1)).to_be_visible()
    expect(main(page).get_by_text(text).first).to_be_visible()
    side = page.locator('[data-testid="stSidebar"]')
    # On Records the filters are folded into a box that says they are not used there
    # (issue 19.12): drawn, in Japanese, out of sight; the time zone stays in sight.
    folded = path == "records"
    if folded:
        expect(side.get_by_text("フィルター（他のページ用", exact=False).first).to_be_visible()
    for label in SIDEBAR_JA:
        shown = side.get_by_text(label, exact=True).first
        if folded and label != "タイムゾーン":
            expect(shown).to_be_attached()
        else:
            expect(shown).to_be_visible()
    expect(side.get_by_role("button", name="結果を更新")).to_be_visible()
    expect(side.get_by_role("button", name="サインアウト")).to_be_visible()
    for name in NAVIGATION_JA:  # the page names; their links (URLs) stay the same
        expect(side.get_by_role("link", name=name)).to_be_visible()
    expect(side.get_by_role("link", name="トラフィック")).to_have_attribute(
        "href", f"{server.url}/traffic")
    for word in SIDEBAR_EN:
        assert side.get_by_text(word, exact=True).count() == 0, word
    screenshot(page, f"ja-{path or 'search'}")
