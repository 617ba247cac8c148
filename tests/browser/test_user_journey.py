"""Flowscope as a user meets it, in Chromium: sign in, search, read a record, share the link,
drill down from a chart, read raw records, check a connection, sign out.

Expected answers come from the command line (`python -m lib.cli query|check`), which runs
the same queries through the same lib code, on the same demo set.
"""

from __future__ import annotations

import re
import time
from urllib.parse import parse_qsl, urlsplit

import pytest
from browserkit import (
    ADMIN,
    act,
    cli,
    cli_query,
    go_to_page,
    grid_records,
    main,
    new_context,
    open_url,
    page_url,
    password_of,
    screenshot,
    select_row,
    settle,
    sidebar,
    sign_in,
    type_into,
)
from playwright.sync_api import expect

from lib import timeutil


def dataframes(page):
    return main(page).locator('[data-testid="stDataFrame"]')


def signed_in(page, server, **params) -> None:
    open_url(page, page_url(server.url, "", **params))
    sign_in(page, ADMIN, password_of(ADMIN))


def choose(page, label: str, option: str, where=None) -> None:
    """Pick an option of a select box as a user does: open it, click the option."""
    (where or page).get_by_label(label, exact=True).click()
    act(page, lambda: page.get_by_role("option", name=option, exact=True).click())


def assert_same_rows(shown: list[dict[str, str]], expected: list[dict[str, str]]) -> None:
    """The same rows, compared on the columns both grids drew (the grid draws only the
    columns in view, and the table is wider than the page)."""
    columns = set(shown[0]) & set(expected[0])
    assert {"Time", "Source", "Destination", "Destination port"} <= columns
    assert [{c: r[c] for c in columns} for r in shown] == [{c: r[c] for c in columns}
                                                           for r in expected]


def search_rows(page, count: int) -> list[dict[str, str]]:
    """The Search result's rows, once the caption names the expected number of them (an
    earlier run's result stays on screen until the new one replaces it)."""
    caption = main(page).get_by_text(re.compile(rf"^{count:,} rows? ·"))
    expect(caption.first).to_be_visible()
    settle(page)  # a run cut short by a rerun can leave a second, stale copy until it ends
    expect(caption).to_have_count(1)
    return grid_records(dataframes(page).first, expect_rows=count > 0)


@pytest.fixture
def extra_contexts(browser, console):
    """Further browser contexts (another person), their console errors counted too."""
    made = []

    def make():
        context = new_context(browser)
        context.on("page", console.watch)
        made.append(context)
        return context

    yield make
    for context in made:
        context.close()


def test_visitors_see_only_the_sign_in(page, server, demo):
    case = demo.scenario("connected")
    open_url(page, page_url(server.url, "", start=case["start"], end=case["end"],
                            dst=case["dst"]))
    settle(page)
    form = page.locator('[data-testid="stForm"]')
    expect(form.get_by_label("Username", exact=True)).to_be_visible()
    expect(sidebar(page).get_by_label("Destination IP or CIDR", exact=True)).to_have_count(0)
    expect(dataframes(page)).to_have_count(0)
    screenshot(page, "sign-in")
    form.get_by_label("Username", exact=True).fill(ADMIN)
    form.get_by_label("Password", exact=True).fill("not-the-password")
    act(page, lambda: form.get_by_role("button", name="Login").click())
    expect(page.get_by_text("The user name or password is not correct.")).to_be_visible()
    expect(dataframes(page)).to_have_count(0)


def test_search_by_destination_and_port_details_and_shared_link(page, context, server, demo,
                                                                  extra_contexts):
    case = demo.scenario("connected")
    start, end = case["start"] - 60, case["end"] + 60
    signed_in(page, server)
    side = sidebar(page)
    type_into(page, "From", str(start), side)
    type_into(page, "To", str(end), side)
    type_into(page, "Destination IP or CIDR", case["dst"], side)
    type_into(page, "Destination port(s)", str(case["dst_port"]), side)

    expected = cli_query(demo.root, "search", start=start, end=end, dst=case["dst"],
                         dst_port=case["dst_port"])
    rows = search_rows(page, len(expected))
    assert 0 < len(rows) == len(expected)
    assert all(r["Destination"] == case["dst"] for r in rows)
    assert all(r["Destination port"].startswith(f"{case['dst_port']} ") for r in rows)
    assert [r["Source"] for r in rows] == [e["srcaddr"] for e in expected]
    screenshot(page, "search")

    # A row's details: every field of the record, explained.
    select_row(page, dataframes(page).first, 0)
    expect(main(page).get_by_role("heading", name="Record details")).to_be_visible()
    details = {r["field"]: r for r in grid_records(dataframes(page).nth(1))}
    assert details["dstport"]["value"] == str(case["dst_port"])
    assert details["srcaddr"]["value"] == expected[0]["srcaddr"]
    assert details["protocol"]["meaning"].startswith("TCP")
    screenshot(page, "search-details")

    # From/To typed as epoch seconds now read as times; the link names the same instants.
    assert not side.get_by_label("From", exact=True).input_value().isdigit()
    # The address bar holds the whole search: the same link shows the same records.
    link = page.url
    params = dict(parse_qsl(urlsplit(link).query))
    assert params["dst"] == case["dst"] and timeutil.parse_time(params["start"]) == start
    again = context.new_page()
    open_url(again, link)
    assert_same_rows(search_rows(again, len(rows)), rows)
    # A hand-made link with epoch seconds reads as times from its first run on.
    epoch_link = page_url(server.url, "", start=start, end=end, dst=case["dst"],
                          dst_port=case["dst_port"])
    by_hand = context.new_page()
    open_url(by_hand, epoch_link)
    assert_same_rows(search_rows(by_hand, len(rows)), rows)
    settle(by_hand)  # a field bound to the address is filled just after the run is drawn
    shown_from = sidebar(by_hand).get_by_label("From", exact=True).input_value()
    assert not shown_from.isdigit() and timeutil.parse_time(shown_from) == start
    # ... also for a colleague, who signs in first.
    colleague = extra_contexts().new_page()
    open_url(colleague, link)
    sign_in(colleague, ADMIN, password_of(ADMIN))
    assert_same_rows(search_rows(colleague, len(rows)), rows)
    screenshot(colleague, "search-shared-link")


def test_traffic_bar_opens_search_filtered_to_it(page, server, demo):
    start, end = demo.summary["start"], demo.summary["end"]
    signed_in(page, server, start=start, end=end)
    go_to_page(page, "Traffic")
    expect(main(page).get_by_role("heading", name="Top talkers")).to_be_visible()
    top = cli_query(demo.root, "top-talkers", group="src", by="bytes", top=10, start=start,
                    end=end)
    sources_chart = main(page).locator('[data-testid="stVegaLiteChart"]').first
    bars = sources_chart.locator('path[aria-roledescription="bar"]')
    expect(bars).to_have_count(len(top))
    first = bars.first
    talker = re.search(r"talker: ([0-9a-f.:]+)", first.get_attribute("aria-label"))[1]
    assert talker == top[0]["srcaddr"]
    screenshot(page, "traffic")

    act(page, first.click)
    source_box = sidebar(page).get_by_label("Source IP or CIDR", exact=True)
    expect(source_box).to_have_value(re.compile(rf"^{re.escape(talker)}(/32|/128)?$"))
    expect(main(page).get_by_role("heading", name="Search")).to_be_visible()
    expected = cli_query(demo.root, "search", src=talker, start=start, end=end)
    rows = search_rows(page, len(expected))
    assert rows and all(r["Source"] == talker for r in rows)
    assert f"src={talker}" in page.url
    screenshot(page, "traffic-drill-down")


AUTH_COOKIE = "flowscope_auth"  # Settings.auth_cookie_name
MALFORMED = "2 123456789012 eni-0a1b2c3d 10.0.0.5 10.0.1.9 40001 443 6 10 840 1790000000 ACCEPT OK"


def test_records_browse_an_object_and_explain_a_malformed_line(page, server, demo):
    signed_in(page, server)
    go_to_page(page, "Records")
    account = sorted(demo.accounts)[-1]
    choose(page, "Account", account, main(page))
    expect(main(page).get_by_text("Raw lines")).to_be_visible()
    object_box = main(page).get_by_label(re.compile(r"^Object \("))
    expect(object_box).to_be_visible()
    expect(main(page).get_by_role("heading", name=re.compile(r"^Line \d+ explained"))).to_be_visible()
    caption = main(page).get_by_text(re.compile(rf"^{account}_vpcflowlogs_")).first
    expect(caption).to_be_visible()
    screenshot(page, "records-browse")

    main(page).get_by_role("tab", name="Decode pasted lines").click()  # no rerun: in the page
    box = main(page).get_by_label("Flow log lines", exact=True)
    box.fill(MALFORMED)
    act(page, lambda: box.press("Control+Enter"))
    explanation = main(page).get_by_text(re.compile(r"^Line 1 is not a valid record:"))
    expect(explanation).to_be_visible()
    expect(explanation).to_contain_text("expected 14 fields, found 13")
    screenshot(page, "records-malformed-line")


@pytest.mark.parametrize("name", ["rejected-inbound"])
def test_connection_check_of_a_demo_case(page, server, demo, name):
    case = demo.scenario(name)
    signed_in(page, server)
    go_to_page(page, "Connection check")
    choose(page, "Try a demo case", f"{name}: {case['src']} → {case['dst']}", main(page))
    verdict = main(page).get_by_text(re.compile(r"^verdict: "))
    expect(verdict).to_contain_text(case["verdict"])
    start = case["start"] - case["start"] % 60
    expected = cli("check", "--data", str(demo.root), "--src", case["src"], "--dst", case["dst"],
                   "--dst-port", str(case["dst_port"]), "--protocol", str(case["protocol"]),
                   "--start", str(start), "--end", str(case["end"] - case["end"] % 60 + 60))
    assert f'"verdict": "{case["verdict"]}"' in expected
    screenshot(page, "connection-check")


def test_a_shared_connection_check_opens_for_a_colleague_after_sign_in(page, server, demo,
                                                                       extra_contexts):
    """The check's share link names its page (/check): someone not signed in signs in first
    and lands on that check, with the same verdict."""
    case = demo.scenario("response-rejected")
    signed_in(page, server)
    go_to_page(page, "Connection check")
    choose(page, "Try a demo case", f"{case['name']}: {case['src']} → {case['dst']}",
           main(page))
    verdict = main(page).get_by_text(re.compile(r"^verdict: "))
    expect(verdict).to_contain_text(case["verdict"])
    link = main(page).locator('[data-testid="stCode"]').filter(has_text="/check?").inner_text()
    assert link.startswith(f"{server.url}/check?")
    colleague = extra_contexts().new_page()
    open_url(colleague, link.strip())
    sign_in(colleague, ADMIN, password_of(ADMIN))
    heading = main(colleague).get_by_role("heading", name="Connection check")
    expect(heading.first).to_be_visible()
    settle(colleague)
    expect(heading).to_have_count(1)
    expect(main(colleague).get_by_text(re.compile(r"^verdict: "))).to_contain_text(
        case["verdict"])
    screenshot(colleague, "connection-check-shared-link")


def test_a_reload_keeps_the_sign_in(page, context, server):
    """The sign-in's cookie is written by a script in the page (lib.page_cookies): it is
    there at once, strict to this site, and a new tab of the same browser is signed in."""
    signed_in(page, server)
    cookie = next(c for c in context.cookies() if c["name"] == AUTH_COOKIE)
    assert cookie["sameSite"] == "Strict" and cookie["path"] == "/"
    assert cookie["expires"] > time.time() + 3600
    again = context.new_page()
    open_url(again, server.url)
    expect(sidebar(again).get_by_text("Signed in as")).to_be_visible()
    expect(again.locator('[data-testid="stForm"]')).to_have_count(0)


def test_sign_out(page, context, server):
    signed_in(page, server)
    assert any(c["name"] == AUTH_COOKIE for c in context.cookies())
    act(page, lambda: sidebar(page).get_by_role("button", name="Sign out").click())
    expect(page.get_by_text("You have signed out.")).to_be_visible()
    expect(dataframes(page)).to_have_count(0)
    assert not any(c["name"] == AUTH_COOKIE for c in context.cookies())  # deleted at once
    open_url(page, server.url)  # a reload asks again
    expect(page.locator('[data-testid="stForm"]').get_by_label("Username", exact=True)
           ).to_be_visible()
    screenshot(page, "signed-out")
