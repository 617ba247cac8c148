"""The Cost page in Chromium, in English and Japanese: the charges per class are the command
line's (`lib.cli query --kind cost`, the same queries) on the same demo set."""

from __future__ import annotations

from browserkit import (
    ADMIN,
    cli_query,
    go_to_page,
    grid_records,
    main,
    open_url,
    page_url,
    password_of,
    screenshot,
    settle,
    sign_in,
)
from playwright.sync_api import expect


def period_table(page):
    """The selected period's charges: the page's second table (the first is the month's)."""
    frames = main(page).locator('[data-testid="stDataFrame"]')
    expect(frames.nth(1)).to_be_visible()
    return grid_records(frames.nth(1))


def bytes_per_class(rows, class_column: str = "class") -> dict[str, int]:
    found = {}
    for row in rows:
        value = int(row["bytes"].replace(",", "") or 0)
        if value:
            found[row[class_column]] = value
    return found


def test_cost_page_in_english_and_japanese(page, server, demo):
    start, end = demo.summary["start"], demo.summary["end"]
    open_url(page, page_url(server.url, "", start=start, end=end))
    sign_in(page, ADMIN, password_of(ADMIN))
    go_to_page(page, "Cost")
    expect(main(page).get_by_role("heading", name="Selected period")).to_be_visible()
    expected = {row["class"]: row["bytes"] for row in
                cli_query(demo.root, "cost", start=start, end=end) if row["bytes"]}
    assert expected and bytes_per_class(period_table(page)) == expected
    expect(main(page).get_by_text("not your invoice")).to_be_visible()
    screenshot(page, "cost")

    # Japanese: the sidebar's language box is bound to the URL (its label is the value)
    open_url(page, page_url(server.url, "cost", start=start, end=end, lang="日本語"))
    settle(page)
    expect(main(page).get_by_role("heading", name="コスト", level=1)).to_be_visible()
    expect(main(page).get_by_role("heading", name="選択した期間")).to_be_visible()
    assert bytes_per_class(period_table(page)) == expected
    expect(main(page).get_by_text("請求書ではありません")).to_be_visible()
    screenshot(page, "cost-ja")
