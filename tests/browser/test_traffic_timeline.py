"""Issue 19, point 3: rejected traffic shows in "Traffic over time" whatever the measure.
Stacked on one scale with bytes (the default), a few large accepted transfers left the
rejected bars a pixel high; each action now has its own row and scale, and a rejected bar
still opens Search on its time and action."""

from __future__ import annotations

from browserkit import (
    ADMIN,
    SCREENSHOTS,
    act,
    go_to_page,
    main,
    open_url,
    page_url,
    password_of,
    sidebar,
    sign_in,
)
from playwright.sync_api import expect


def test_rejected_bars_are_visible_and_open_search(page, server, demo):
    start, end = demo.summary["start"], demo.summary["end"]
    open_url(page, page_url(server.url, "", start=start, end=end))
    sign_in(page, ADMIN, password_of(ADMIN))
    go_to_page(page, "Traffic")
    heading = main(page).get_by_role("heading", name="Traffic over time")
    expect(heading).to_be_visible()
    timeline = main(page).locator('[data-testid="stVegaLiteChart"]').filter(
        has=page.locator('path[aria-label*="Action: REJECT"]'))
    expect(timeline).to_have_count(1)
    timeline.scroll_into_view_if_needed()
    rejected = timeline.locator('path[aria-roledescription="bar"][aria-label*="Action: REJECT"]')
    heights = [box["height"] for box in (bar.bounding_box() for bar in rejected.all()) if box]
    assert heights and max(heights) >= 40, heights  # a full row, not a sliver on the bytes
    timeline.screenshot(path=str(SCREENSHOTS / "traffic-timeline.png"))

    tallest = rejected.nth(heights.index(max(heights)))
    act(page, tallest.click)
    expect(main(page).get_by_role("heading", name="Search")).to_be_visible()
    expect(sidebar(page).get_by_role("combobox", name="Action")).to_have_value("REJECT")
