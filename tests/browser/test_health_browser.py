"""The Data health page in Chromium, in English and Japanese: its flow logs and gap
intervals are the command line's (`lib.cli query --kind health`, the same code) on the
same demo set."""

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


def tables(page) -> list[list[dict[str, str]]]:
    """The page's first two tables: the flow logs, then the gap intervals (or none)."""
    frames = main(page).locator('[data-testid="stDataFrame"]')
    expect(frames.first).to_be_visible()
    return [grid_records(frames.nth(n)) for n in range(min(frames.count(), 2))]


def test_health_page_in_english_and_japanese(page, server, demo):
    start, end, account = demo.summary["start"], demo.summary["end"], demo.accounts[0]
    expected = cli_query(demo.root, "health", accounts=[account], start=start, end=end)
    flow_logs = sorted(f["flow_log_id"] for f in expected["flow_logs"])
    gaps = [g["interface_id"] for g in expected["gaps"]]
    assert flow_logs and gaps  # the demo has flow logs and NODATA/SKIPDATA records there

    open_url(page, page_url(server.url, "", start=start, end=end, account=account))
    sign_in(page, ADMIN, password_of(ADMIN))
    go_to_page(page, "Data health")
    expect(main(page).get_by_role("heading", name="Flow logs")).to_be_visible()
    logs, gap_rows = tables(page)
    assert sorted(r["Flow log ID"] for r in logs) == flow_logs
    assert {r["Account"] for r in logs} == {account}
    assert [r["Interface"] for r in gap_rows] == gaps[:len(gap_rows)] and gap_rows
    screenshot(page, "health")

    # Japanese: the sidebar's language box is bound to the URL (its label is the value)
    open_url(page, page_url(server.url, "health", start=start, end=end, account=account,
                            lang="日本語"))
    settle(page)
    expect(main(page).get_by_role("heading", name="データの健全性", level=1)).to_be_visible()
    expect(main(page).get_by_role("heading", name="フローログ", exact=True)).to_be_visible()
    logs, gap_rows = tables(page)
    assert sorted(r["フローログ ID"] for r in logs) == flow_logs
    assert [r["インターフェイス"] for r in gap_rows] == gaps[:len(gap_rows)] and gap_rows
    screenshot(page, "health-ja")
