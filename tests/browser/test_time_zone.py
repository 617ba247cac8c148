"""Issue 19, point 1: one time zone on the whole page. With the browser in Asia/Tokyo or
America/New_York (zones the Time zone box lists) the From/To fields were filled in local time
while the box said UTC and the results were in UTC; with Europe/Paris (not listed) all was
local. Every browser zone now gives local times everywhere and the box names that zone."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from browserkit import (
    ADMIN,
    COUNT_RUNS,
    RUN_TIMEOUT_MS,
    VIEWPORT,
    grid_records,
    main,
    open_url,
    page_url,
    password_of,
    sidebar,
    sign_in,
)
from playwright.sync_api import expect

from lib import timeutil


@pytest.mark.parametrize("zone", ["Asia/Tokyo", "America/New_York", "Europe/Paris"])
def test_the_browser_zone_is_used_everywhere(browser, server, demo, zone):
    context = browser.new_context(viewport=VIEWPORT, timezone_id=zone)
    context.add_init_script(COUNT_RUNS)
    context.set_default_timeout(RUN_TIMEOUT_MS)
    page = context.new_page()
    try:
        end = demo.summary["end"]
        open_url(page, page_url(server.url, "", start=str(end - 3600), end=str(end)))
        sign_in(page, ADMIN, password_of(ADMIN))
        offset = datetime.fromtimestamp(end, ZoneInfo(zone)).strftime("%z")
        expected_end = timeutil.format_iso(end, zone)
        assert expected_end.endswith(f"{offset[:3]}:{offset[3:]}")
        expect(sidebar(page).get_by_label("To", exact=True)).to_have_value(expected_end)
        expect(sidebar(page).get_by_role("combobox", name="Time zone")).to_have_value(zone)
        frame = main(page).locator('[data-testid="stDataFrame"]').first
        times = [row["Time"] for row in grid_records(frame)]
        abbreviation = datetime.fromtimestamp(end, ZoneInfo(zone)).strftime("%Z")
        assert times and all(t.endswith(abbreviation) for t in times), times[:3]
    finally:
        context.close()
