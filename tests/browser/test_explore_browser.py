"""The Explore page (issue 19) in Chromium, in English and Japanese: a link with the page's
state opens the same grouping as the command line's `query --kind group` (the same code) on
the same demo set, as a table and a chart; a selected row opens Search on its records."""

from __future__ import annotations

import re

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
    select_row,
    settle,
    sidebar,
    sign_in,
)
from playwright.sync_api import expect


def table(page) -> list[dict[str, str]]:
    frame = main(page).locator('[data-testid="stDataFrame"]').first
    expect(frame).to_be_visible()
    return grid_records(frame)


def chart(page):
    found = main(page).locator('[data-testid="stVegaLiteChart"]')
    expect(found.first).to_be_visible()
    return found.first


def number(text: str) -> int:
    return int(text.replace(",", ""))


def test_explore_in_english_and_japanese(page, server, demo):
    start, end, account = demo.summary["start"], demo.summary["end"], demo.accounts[0]
    expected = cli_query(demo.root, "group", accounts=[account], by="dstport,action",
                         measure="flows", top=5, start=start, end=end)
    assert len(expected) == 5

    open_url(page, page_url(server.url, "", start=start, end=end, account=account))
    sign_in(page, ADMIN, password_of(ADMIN))
    # A link holds the view: fields, measure and top N (the widgets' labels, as the
    # address bar shows them)
    open_url(page, page_url(server.url, "explore", start=start, end=end, account=account,
                            explore_by=["Destination port", "Action"], explore_top="5"))
    settle(page)
    expect(main(page).get_by_role("heading", name="Explore", level=1)).to_be_visible()
    rows = table(page)
    assert [(number(r["Destination port"]), r["Action"], number(r["Flows"])) for r in rows] == \
        [(e["dstport"], e["action"], e["flows"]) for e in expected]
    # A heatmap: ports across, actions down (Vega draws on a canvas, named by its axes)
    drawn = chart(page)
    expect(drawn).to_contain_text(re.compile(r"Flows.*Destination port.*Action"))
    expect(drawn.locator('[aria-roledescription="rect mark"]').first).to_be_attached()
    screenshot(page, "explore")

    # Japanese, grouped by the hour: a line over time
    open_url(page, page_url(server.url, "explore", start=start, end=end, account=account,
                            lang="日本語", explore_by=["時", "アクション"], explore_top="5"))
    settle(page)
    expect(main(page).get_by_role("heading", name="探索", level=1)).to_be_visible()
    rows = table(page)
    assert rows and set(rows[0]) >= {"時", "アクション", "フロー数"}
    drawn = chart(page)  # a line over time, one per action
    expect(drawn).to_contain_text(re.compile(r"時刻（.+）.*グループ"))
    expect(drawn.locator('[aria-roledescription="line mark"]').first).to_be_attached()
    screenshot(page, "explore-ja")

    # A row opens Search on its records
    open_url(page, page_url(server.url, "explore", start=start, end=end, account=account,
                            explore_by=["Destination port", "Action"], explore_top="5"))
    settle(page)
    select_row(page, main(page).locator('[data-testid="stDataFrame"]').first, 0)
    settle(page)
    expect(main(page).get_by_role("heading", name="Search", level=1)).to_be_visible()
    expect(sidebar(page).get_by_label("Destination port(s)", exact=True)).to_have_value(
        str(expected[0]["dstport"]))
    expect(sidebar(page).get_by_role("combobox", name="Action")).to_have_value(
        expected[0]["action"])
    # Back on Explore: the page itself, not the drill-down again
    go_to_page(page, "Explore")
    expect(main(page).locator('[data-testid="stDataFrame"]').first).to_be_visible()
