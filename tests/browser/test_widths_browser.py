"""Issue 19.5: at 1400 px and 1024 px wide nothing is cut off — the summary metrics, the
scans table's columns (Traffic), the check's evidence and interfaces, the explanation of a
record (Records). Checked in the DOM: no element clips its text (scrollWidth > clientWidth)
and no grid scrolls sideways."""

from __future__ import annotations

import pytest
from browserkit import (
    ADMIN,
    COUNT_RUNS,
    RUN_TIMEOUT_MS,
    main,
    open_url,
    page_url,
    password_of,
    screenshot,
    settle,
    sign_in,
)
from playwright.sync_api import expect

from lib import i18n
from lib.check.words import HEADINGS
from lib.uitext import LANGUAGES

# Elements whose text must show whole: metric values and labels, the cells of st.table,
# and the scroller of every grid in view (a grid wider than its place scrolls sideways).
CLIPPED = """(selector) => Array.from(document.querySelectorAll(selector))
  .filter(el => el.offsetParent !== null && el.scrollWidth > el.clientWidth + 1)
  .map(el => {
    const grid = el.closest('[data-testid="stDataFrame"]');
    const text = grid ? Array.from(grid.querySelectorAll('[role=columnheader]'))
      .map(h => h.innerText.trim()).join('|') : el.innerText;
    return `${el.tagName.toLowerCase()}: ${text.slice(0, 80)} (${el.scrollWidth} > ${el.clientWidth})`;
  })"""
METRICS = '[data-testid="stMetricValue"], [data-testid="stMetricValue"] *, ' \
          '[data-testid="stMetricLabel"] p'
TABLES = '[data-testid="stTable"], [data-testid="stTable"] td, [data-testid="stTable"] th'
GRIDS = '[data-testid="stDataFrame"] .dvn-scroller'


@pytest.fixture(params=[1400, 1024], ids=["1400px", "1024px"])
def wide(request, browser, server, console):
    """A signed-in page `request.param` pixels wide."""
    context = browser.new_context(viewport={"width": request.param, "height": 1000})
    context.add_init_script(COUNT_RUNS)
    context.set_default_timeout(RUN_TIMEOUT_MS)
    context.on("page", console.watch)
    page = context.new_page()
    open_url(page, page_url(server.url, ""))
    sign_in(page, ADMIN, password_of(ADMIN))
    yield page
    context.close()
    assert not console.errors, "\n".join(console.errors)


def clipped(page, selector: str) -> list[str]:
    return page.evaluate(CLIPPED, selector)


def shown(page, url: str) -> None:
    open_url(page, url)
    settle(page, quiet_ms=1500)


@pytest.mark.parametrize("lang", ["en", "ja"])
def test_traffic_metrics_and_scans_fit(wide, server, demo, lang):
    page = wide
    shown(page, page_url(server.url, "traffic", start=demo.summary["start"],
                         end=demo.summary["end"], lang=LANGUAGES[lang]))
    expect(main(page).locator('[data-testid="stMetricValue"]')).to_have_count(6)
    scans = main(page).locator('[data-testid="stDataFrame"]').first
    expect(scans).to_be_visible()
    scans.scroll_into_view_if_needed()
    settle(page)
    screenshot(page, f"widths-traffic-{lang}-{page.viewport_size['width']}")
    assert clipped(page, METRICS) == []
    assert clipped(page, GRIDS) == []


@pytest.mark.parametrize("lang", ["en", "ja"])
def test_check_evidence_and_interfaces_fit(wide, server, demo, lang):
    page = wide
    case = demo.scenario("rejected-inbound")
    shown(page, page_url(server.url, "check", start=str(case["start"] - 60),
                         end=str(case["end"] + 60), check_src=case["src"],
                         check_dst=case["dst"], check_port=str(case["dst_port"]),
                         check_protocol="TCP", lang=LANGUAGES[lang]))
    tables = main(page).locator('[data-testid="stTable"]')
    expect(tables).to_have_count(2)
    expect(tables.first).to_contain_text(i18n.pick(HEADINGS["first"], lang))
    screenshot(page, f"widths-check-{lang}-{page.viewport_size['width']}")
    assert clipped(page, TABLES) == []


def test_record_explanations_fit(wide, server):
    page = wide
    shown(page, page_url(server.url, "records"))
    explained = main(page).locator('[data-testid="stTable"]').first
    expect(explained).to_contain_text("explanation")
    screenshot(page, f"widths-records-{page.viewport_size['width']}")
    assert clipped(page, TABLES) == []


def test_cost_tables_fit(wide, server, demo):
    page = wide
    shown(page, page_url(server.url, "cost", start=demo.summary["start"],
                         end=demo.summary["end"]))
    grids = main(page).locator('[data-testid="stDataFrame"]')
    expect(grids.last).to_be_visible()  # the prices, drawn last
    screenshot(page, f"widths-cost-{page.viewport_size['width']}")
    assert grids.count() >= 4
    assert clipped(page, GRIDS) == []
    assert clipped(page, METRICS) == []
