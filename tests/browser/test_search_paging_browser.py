"""Search in Chromium (issue 19, points 2, 6 and 13): the pages "Older records" opens are the
command line's search, row for row, in the downloaded CSVs (with readable times in the
viewer's zone); the columns a link names are the table's; and a slow search shows
"Searching the records…" (English and Japanese) until its table appears, not a blank page."""

from __future__ import annotations

import pytest
from browserkit import (
    ADMIN,
    act,
    cli_query,
    csv_rows,
    download,
    grid_rows,
    main,
    open_url,
    page_url,
    password_of,
    screenshot,
    settle,
    sign_in,
    start_server,
)
from fake_athena import shared_fake
from playwright.sync_api import expect
from storefixture import T0

from lib.config import Settings

PAGE = Settings().search_limit  # the server runs with the default
KEY = ("start", "srcaddr", "dstaddr", "srcport", "dstport", "interface-id", "bytes", "packets")
ZONE = "Asia/Tokyo"


def keys(records) -> list[tuple[str, ...]]:
    return [tuple("" if r.get(k) is None else str(r[k]) for k in KEY) for r in records]


def table(page):
    return main(page).locator('[data-testid="stDataFrame"]').first


def caption(page):
    """The result's caption (rows, time, engine, page)."""
    return main(page).get_by_text(" rows · ")


def click(page, name: str, now_showing: str) -> None:
    main(page).get_by_role("button", name=name).click()
    expect(caption(page)).to_contain_text(now_showing)
    settle(page)


def test_pages_are_the_command_line_search_and_the_csv_has_local_times(page, server, demo):
    start, end = demo.summary["start"], demo.summary["end"]
    every = cli_query(demo.root, "search", start=start, end=end, limit=10 * PAGE)
    expected = [r for r in every if r.get("log-status") not in ("NODATA", "SKIPDATA")]
    assert len(expected) > PAGE  # the demo needs a second page

    open_url(page, page_url(server.url, "", start=start, end=end, tz=ZONE))
    sign_in(page, ADMIN, password_of(ADMIN))
    expect(caption(page)).to_contain_text(f"page 1, records 1–{PAGE:,}")
    expect(main(page).get_by_role("button", name="Newer (back to first)")).to_be_disabled()
    first = csv_rows(download(page, "Download CSV"))

    click(page, "Older records", f"page 2, records {PAGE + 1:,}–")
    second = csv_rows(download(page, "Download CSV"))
    screenshot(page, "search-page-2")
    assert len(first) == PAGE and second
    assert keys(first + second) == keys(expected[:len(first) + len(second)])
    # the CSV's readable times: the viewer's zone, named in the header, the same instants
    assert list(first[0])[list(first[0]).index("start") + 1] == f"start_time ({ZONE})"
    assert first[0][f"start_time ({ZONE})"].endswith("+09:00")

    click(page, "Newer (back to first)", "page 1, records 1–")
    assert keys(csv_rows(download(page, "Download CSV"))) == keys(first)


def test_a_link_names_the_columns_and_their_order(page, server, demo):
    start, end = demo.summary["start"], demo.summary["end"]
    open_url(page, page_url(server.url, "", start=start, end=end,
                            search_columns=["Bytes", "Interface", "Source", "Time"]))
    sign_in(page, ADMIN, password_of(ADMIN))
    assert grid_rows(table(page))[0][-4:] == ["Bytes", "Interface", "Source", "Time"]
    # removing one in the chooser redraws the table and rewrites the link
    act(page, main(page).get_by_role("button", name="Remove Interface").click)
    settle(page)
    assert grid_rows(table(page))[0][-3:] == ["Bytes", "Source", "Time"]
    assert "search_columns=Bytes&search_columns=Source&search_columns=Time" in page.url


# --- a slow search: Athena (the fake) holding each query QUEUED, then RUNNING ---------------

@pytest.fixture(scope="module")
def athena_server(tmp_path_factory):
    """A server on the fake Athena, no sign-in (it listens on 127.0.0.1 only)."""
    fake = shared_fake()
    fake.reset()
    folder = tmp_path_factory.mktemp("athena-server")
    env = {**fake.environment_variables(),
           **{f"FLOWSCOPE_{key.upper()}": str(value)
              for key, value in fake.settings().__dict__.items() if key.startswith("athena_")},
           "FLOWSCOPE_CONFIG": str(folder / "none.toml"), "FLOWSCOPE_ENGINE": "athena",
           "FLOWSCOPE_AUTH_MODE": "none", "FLOWSCOPE_CACHE_DIR": str(folder / "cache"),
           "FLOWSCOPE_DATA_DIR": str(fake.store_root),
           "FLOWSCOPE_ATHENA_RESULT_REUSE_MINUTES": "0"}
    running = start_server(env, folder / "streamlit.log")
    yield fake, running
    running.stop()


@pytest.mark.parametrize("lang, searching, heading", [
    ("", "Searching the records…", "Time"),
    ("日本語", "記録を検索しています…", "時刻"),
])
def test_a_slow_search_says_it_is_searching(page, athena_server, lang, searching, heading):
    fake, server = athena_server
    window = {"start": str(T0), "end": str(T0 + 86400 + (3600 if lang else 1800))}  # not cached
    with fake.slow(polls=4):  # about 4 s: QUEUED and RUNNING, 4 polls each of 0.5 s
        page.goto(page_url(server.url, "", lang=lang, **window))
        expect(main(page).get_by_text(searching)).to_be_visible()
        screenshot(page, f"search-searching-{'ja' if lang else 'en'}")
        assert not main(page).locator('[data-testid="stDataFrame"]').count()
        expect(table(page)).to_be_visible()
    settle(page)
    expect(main(page).get_by_text(searching)).to_have_count(0)
    assert grid_rows(table(page))[0][0] == heading
