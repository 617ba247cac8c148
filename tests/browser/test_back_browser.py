"""Issue 19.9: browser Back after a drill-down shows the previous page's view (its filters),
not the drill-down's."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

from browserkit import (
    ADMIN,
    act,
    go_to_page,
    main,
    open_url,
    page_url,
    password_of,
    settle,
    sidebar,
    sign_in,
)
from playwright.sync_api import expect


def test_back_after_a_drill_down_shows_the_earlier_filters(page, server, demo):
    start, end = demo.summary["start"], demo.summary["end"]
    open_url(page, page_url(server.url, "", start=start, end=end))
    sign_in(page, ADMIN, password_of(ADMIN))
    go_to_page(page, "Traffic")
    source_box = sidebar(page).get_by_label("Source IP or CIDR", exact=True)
    from_box = sidebar(page).get_by_label("From", exact=True)
    before = (from_box.input_value(), source_box.input_value())
    assert before[1] == ""
    bars = main(page).locator('[data-testid="stVegaLiteChart"]').first.locator(
        'path[aria-roledescription="bar"]')
    expect(bars.first).to_be_visible()
    talker = re.search(r"talker: ([0-9a-f.:]+)", bars.first.get_attribute("aria-label"))[1]

    act(page, bars.first.click)  # drill down: Search on that source
    expect(main(page).get_by_role("heading", name="Search", level=1)).to_be_visible()
    expect(source_box).to_have_value(re.compile(rf"^{re.escape(talker)}(/32|/128)?$"))

    act(page, page.go_back)
    settle(page)
    expect(main(page).get_by_role("heading", name="Traffic", level=1)).to_be_visible()
    expect(source_box).to_have_value("")
    assert (from_box.input_value(), source_box.input_value()) == before
    assert "src" not in parse_qs(urlsplit(page.url).query), page.url
    assert urlsplit(page.url).path.endswith("/traffic")
