"""Saved views in Chromium (issue 19), in English and Japanese: save the Search page with its
filters from the sidebar, reload, and open the view from another page: the browser goes to
Search with the filters back in the sidebar and the address bar."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

from browserkit import (
    ADMIN,
    act,
    go_to_page,
    grid_records,
    main,
    open_url,
    page_url,
    password_of,
    screenshot,
    settle,
    sidebar,
    sign_in,
)
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import expect


def saved_views_box(page, title: str):
    """The sidebar's saved-views expander, opened."""
    box = sidebar(page).locator('[data-testid="stExpander"]').filter(has_text=title)
    header = box.locator("summary")
    if box.locator("details").get_attribute("open") is None:
        header.click()  # drawn in the browser only: no run
    return box


def choose(page, box, list_label: str, option: str) -> None:
    """Pick a view in the box's list. The first click on a list just after a page load is
    sometimes taken by a redraw and opens nothing: open it again until the option shows."""
    listed = box.get_by_role("combobox", name=list_label, exact=True)
    wanted = page.get_by_role("option", name=option, exact=True)
    for _ in range(5):
        settle(page)
        listed.click()
        try:
            wanted.wait_for(timeout=3000)
            break
        except PlaywrightTimeout:
            page.keyboard.press("Escape")
    act(page, wanted.click)


def open_view(page, box, list_label: str, option: str, button: str) -> None:
    choose(page, box, list_label, option)
    act(page, lambda: box.get_by_role("button", name=button, exact=True).click())
    settle(page)


def shown_actions(page, column: str) -> set[str]:
    frame = main(page).locator('[data-testid="stDataFrame"]').first
    expect(frame).to_be_visible()
    return {row[column] for row in grid_records(frame)}


def test_save_reload_and_open_a_view_in_english_and_japanese(page, server, demo):
    end = demo.summary["end"]
    window = {"start": str(end - 6 * 3600), "end": str(end)}
    open_url(page, page_url(server.url, "", action="REJECT", **window))
    sign_in(page, ADMIN, password_of(ADMIN))
    assert shown_actions(page, "Action") == {"REJECT"}

    box = saved_views_box(page, "Saved views")
    box.get_by_label("Name of this view", exact=True).fill("Rejected, last 6 hours")
    act(page, lambda: box.get_by_role("button", name="Save this view").click())
    expect(box.get_by_text("Saved “Rejected, last 6 hours”.")).to_be_visible()
    screenshot(page, "views-saved")

    # Reload on another page without the filter: every action, until the view is opened
    open_url(page, page_url(server.url, "traffic", **window))
    settle(page)
    expect(main(page).get_by_role("heading", name="Traffic", level=1)).to_be_visible()
    box = saved_views_box(page, "Saved views")
    open_view(page, box, "Your views and views shared with you",
              "Rejected, last 6 hours · Search", "Open this view")
    expect(main(page).get_by_role("heading", name="Search", exact=True, level=1)).to_be_visible()
    assert parse_qs(urlparse(page.url).query).get("action") == ["REJECT"]
    assert shown_actions(page, "Action") == {"REJECT"}
    screenshot(page, "views-opened")

    # Japanese: the same view from the Japanese sidebar
    open_url(page, page_url(server.url, "traffic", lang="日本語", **window))
    settle(page)
    box = saved_views_box(page, "保存したビュー")
    expect(box.get_by_label("このビューの名前", exact=True)).to_be_visible()
    open_view(page, box, "自分のビューと共有されたビュー", "Rejected, last 6 hours · 検索", "このビューを開く")
    expect(main(page).get_by_role("heading", name="検索", exact=True, level=1)).to_be_visible()
    assert parse_qs(urlparse(page.url).query).get("action") == ["REJECT"]
    assert shown_actions(page, "アクション") == {"REJECT"}
    screenshot(page, "views-opened-ja")
    go_to_page(page, "疎通確認")  # the navigation still works after a view was opened
