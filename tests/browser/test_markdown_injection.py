"""Security review point 1 in Chromium: a crafted shared link (and pasted log text) shows
its Markdown as text. The review's repro: a zone ID carrying a "sign in" link, an image and
styling in a /check link. AppTest sees Markdown sources; only a browser shows what Streamlit
renders from them (links, images, bare URLs it autolinks)."""

from __future__ import annotations

import re

from browserkit import (
    ADMIN,
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

LINK = "[sign in](https://evil.example/login)"
IMAGE = "![x](https://evil.example/i.png)"
CRAFTED = f"{LINK} {IMAGE} <style>*{{color:red}}</style> **bold** www.evil.example"
WORD_JOINER = "\u2060"
# List filters (ports) split at spaces: one item holding a link, an image and a tag.
ONE_ITEM = "[signin](https://evil.example/login)![x](https://evil.example/i.png)<b>x</b>"


def assert_nothing_live(page) -> None:
    """No link, image or style of the crafted value anywhere on the page."""
    assert page.locator('a[href*="evil.example"]').count() == 0
    assert page.locator('img[src*="evil.example"]').count() == 0
    assert page.locator("main style, [data-testid='stSidebar'] style").filter(
        has_text="color:red").count() == 0


def shown(locator) -> str:
    return locator.inner_text().replace(WORD_JOINER, "")


def test_a_crafted_check_link_shows_its_text_and_nothing_else(page, server, demo):
    window = {"start": str(demo.summary["end"] - 3600), "end": str(demo.summary["end"])}
    open_url(page, page_url(server.url, "check", check_src=f"fe80::1%{CRAFTED}",
                            check_dst=CRAFTED, check_port=ONE_ITEM, **window))
    sign_in(page, ADMIN, password_of(ADMIN))
    alerts = main(page).locator('[data-testid="stAlert"]')
    expect(alerts.filter(has_text="zone ID").first).to_be_visible()  # refused, not echoed
    port = alerts.filter(has_text="is not a port").first  # echoed: as the user wrote it
    assert ONE_ITEM in shown(port)
    address = alerts.filter(has_text="is not an IP address").first
    assert LINK in shown(address) and IMAGE in shown(address)
    assert "**bold**" in shown(address) and "www.evil.example" in shown(address)
    assert_nothing_live(page)


def test_a_crafted_search_link_shows_its_text_in_the_sidebar(page, server, demo):
    window = {"start": str(demo.summary["end"] - 3600), "end": str(demo.summary["end"])}
    open_url(page, page_url(server.url, "", src=f"fe80::1%{CRAFTED}", dst=CRAFTED, **window))
    sign_in(page, ADMIN, password_of(ADMIN))
    errors = sidebar(page).locator('[data-testid="stAlert"]')
    expect(errors.filter(has_text="zone ID").first).to_be_visible()
    assert LINK in shown(errors.filter(has_text="is not an IP address").first)
    assert_nothing_live(page)


def test_pasted_log_text_is_shown_as_text(page, server):
    open_url(page, page_url(server.url, ""))
    sign_in(page, ADMIN, password_of(ADMIN))
    go_to_page(page, "Records")
    main(page).get_by_role("tab", name="Decode pasted lines").click()
    box = main(page).get_by_label("Flow log lines", exact=True)
    box.fill("2 123456789012 eni-0a1b2c3d 10.0.0.5 10.0.1.9 "
             "[signin](https://evil.example/login)![x](https://evil.example/i.png) 443 6 10 840 "
             "1790000000 1790000060 ACCEPT OK")
    act(page, lambda: box.press("Control+Enter"))
    explanation = main(page).get_by_text(re.compile(r"^Line 1 is not a valid record:"))
    expect(explanation).to_be_visible()
    assert "[signin](https://evil.example/login)" in shown(explanation)
    assert_nothing_live(page)
