"""`streamlit run app.py` on a fresh machine: demo data made on the first visit, then the
visitor opens a second page, whose From/To must still hold the time range. A new server's
first run is a pages-folder run whose widgets get ids no later run gives them; the second
page then found these URL-bound fields empty, until lib.auth.restart_as_app_run started
such runs over. Only a new server with no demo data yet shows this first visit (the
session server of conftest.py serves a prepared store), so this test starts its own, with
a small demo set."""

import pytest
from browserkit import act, new_context, settle, sidebar, start_server
from playwright.sync_api import expect


@pytest.fixture
def demo_server(tmp_path):
    env = {"FLOWSCOPE_CONFIG": str(tmp_path / "none.toml"), "FLOWSCOPE_AUTH_MODE": "none",
           "FLOWSCOPE_ENGINE": "duckdb", "FLOWSCOPE_CACHE_DIR": str(tmp_path / "cache"),
           "FLOWSCOPE_DATA_DIR": "", "FLOWSCOPE_DEMO_RECORDS": "20000",
           "FLOWSCOPE_DEMO_DAYS": "1", "FLOWSCOPE_AUDIT_FILE": str(tmp_path / "audit.jsonl")}
    server = start_server(env, tmp_path / "streamlit.log")
    yield server
    server.stop()


def test_the_time_range_stays_filled_on_the_first_visit_of_a_second_page(browser, demo_server):
    context = new_context(browser)
    try:
        page = context.new_page()
        page.goto(demo_server.url)
        expect(page.get_by_text(" rows · ").first).to_be_visible()
        settle(page)
        start = sidebar(page).get_by_label("From", exact=True).input_value()
        assert start
        link = sidebar(page).locator('[data-testid="stSidebarNav"]').get_by_role(
            "link", name="Connection check")
        act(page, link.click)
        settle(page)
        assert sidebar(page).get_by_label("From", exact=True).input_value() == start
        assert sidebar(page).get_by_label("To", exact=True).input_value()
    finally:
        context.close()
