"""The sign-in cookie reaches the browser even when the page moves on at once.

The cookie is written by a script in the page (lib.page_cookies). Drawn in the sign-in run
only, it was lost whenever the next run replaced it before the browser had mounted it: the
html element's code is fetched on first use, and a run follows a sign-in at once (the
sidebar rewrites epoch times as text; a user clicks on). The tab was signed in, the next
tab of the same browser was not. Here the html element's code is held back until the user
has moved to another page, which makes that race certain."""

from __future__ import annotations

import re

from browserkit import (
    ADMIN,
    go_to_page,
    open_url,
    page_url,
    password_of,
    settle,
    sidebar,
    sign_in,
)
from playwright.sync_api import expect

AUTH_COOKIE = "flowscope_auth"
HTML_CHUNK = re.compile(r"/static/js/Html\.[^/]+\.js$")


def test_the_cookie_is_set_when_the_page_moves_on_before_the_script_mounts(page, context,
                                                                            server, demo):
    held = []

    def hold(route) -> None:
        held.append(route)  # answered only when released below

    page.route(HTML_CHUNK, hold)
    end = demo.summary["end"]
    open_url(page, page_url(server.url, "", start=str(end - 3600), end=str(end)))
    sign_in(page, ADMIN, password_of(ADMIN))
    go_to_page(page, "Traffic")
    assert held, "the html element's code was not asked for: nothing was held back"
    for route in held:
        route.continue_()
    page.unroute(HTML_CHUNK, hold)
    settle(page)
    page.wait_for_function("document.cookie.includes('flowscope_auth=')", timeout=10_000)
    assert any(c["name"] == AUTH_COOKIE for c in context.cookies())

    again = context.new_page()  # the next tab is signed in too
    open_url(again, server.url)
    expect(sidebar(again).get_by_text("Signed in as")).to_be_visible()
    again.close()
