"""Ten people at once: ten browser contexts, each signed in as a different user with a
different account scope, each searching and opening Traffic at the same time.

Every session must show exactly its own scope's answers (the command line's answer for that
scope: `query --account` for each account the user may see), none of another session's
typed filters, no result cached for another scope, and no error.

Playwright's async API drives the ten sessions concurrently from one event loop (in a
thread of its own, apart from the sync API the other browser tests use).
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import re
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

import pytest
from browserkit import (
    CHANGES,
    CHROMIUM,
    CHROMIUM_ARGS,
    CLI_ENV,
    COUNT_RUNS,
    DIAGNOSIS,
    RUN_DONE,
    RUN_TIMEOUT_MS,
    SETTLED,
    VIEWPORT,
    csv_rows,
    is_base_path_probe,
    page_url,
    password_of,
    screenshot_async,
)

from lib import cli

# A different destination port per user, typed into the sidebar after the first search:
# if one session's typed value leaked into another, that session's rows would be wrong.
# Each user gets the first port not yet taken that has traffic in their scope.
PORTS = (22, 53, 80, 3306, 3389, 5432, 6379, 8080, 123, 25, 993, 8443, 1433, 27017, 9200)
KEY_FIELDS = ("log-account", "interface-id", "srcaddr", "dstaddr", "srcport", "dstport",
              "protocol", "start", "action", "bytes")
TOTAL_TIMEOUT_S = 600
# Ten sessions share the machine: one step may wait for the nine others' runs.
STEP_TIMEOUT_MS = 3 * RUN_TIMEOUT_MS


def cli_json(*args: str) -> list[dict]:
    """`python -m lib.cli query ...`, run in this process (same code, no start-up cost)."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert cli.main(list(args)) == 0
    return json.loads(out.getvalue())


def cli_answer(data, scope, kind: str, **options) -> list[dict]:
    args = ["query", "--kind", kind, "--data", str(data), "--engine", "duckdb"]
    for account in scope:
        args += ["--account", account]
    for name, value in options.items():
        args += [f"--{name.replace('_', '-')}", str(value)]
    return cli_json(*args)


def key(row: dict) -> tuple:
    """A record's identity, as text, from a CSV row or a CLI record alike."""
    def text(value):
        value = "" if value is None else str(value)
        return value[:-2] if re.fullmatch(r"-?\d+\.0", value) else value
    return tuple(text(row.get(name, row.get(name.replace("-", "_")))) for name in KEY_FIELDS)


@dataclass
class Seen:
    """What one session showed."""

    user: str
    searches: list[list[dict]] = field(default_factory=list)
    captions: list[str] = field(default_factory=list)
    flows: int | None = None
    top_sources: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0


# --- one session, async --------------------------------------------------------------------

async def wait_run(page, after: int) -> None:
    await page.wait_for_function(RUN_DONE, arg=after, timeout=STEP_TIMEOUT_MS)


async def act(page, action) -> None:
    """Act once the page has settled: on a starved machine a key or click while the browser
    still applies the last run (URL-bound widgets are set after it) can be lost."""
    await settle(page)
    before = await page.evaluate("window.__flowscopeRuns")
    await action()
    await wait_run(page, before)


async def settle(page) -> None:
    await page.wait_for_function(SETTLED, arg=1000, timeout=STEP_TIMEOUT_MS, polling=100)


async def sign_in(page, user: str) -> None:
    """As browserkit.sign_in: fill the form once it is drawn and submit it, once."""
    form = page.locator('[data-testid="stForm"]')
    await settle(page)
    await form.get_by_label("Username", exact=True).fill(user)
    await form.get_by_label("Password", exact=True).fill(password_of(user))
    await act(page, form.get_by_role("button", name="Login").click)
    await settle(page)
    if not await page.locator('[data-testid="stSidebar"]').get_by_text("Signed in as").count():
        raise AssertionError(f"the sign-in form did not take {user}")


async def caption_for(page, count: int) -> str:
    caption = page.locator('[data-testid="stMain"]').get_by_text(
        re.compile(rf"^{count:,} rows? ·"))
    await caption.wait_for(timeout=STEP_TIMEOUT_MS)
    return await caption.inner_text()


async def download_csv(page) -> list[dict]:
    """The result as CSV, through the page's download button, with one click."""
    await settle(page)
    async with page.expect_download(timeout=STEP_TIMEOUT_MS) as info:
        await page.get_by_role("button", name="Download CSV").click()
    download = await info.value
    with open(await download.path(), "rb") as handle:
        return csv_rows(handle.read())


async def session(browser, base: str, user: str, window: dict, expected: dict) -> Seen:
    seen = Seen(user)
    began = time.monotonic()
    context = await browser.new_context(viewport=VIEWPORT, accept_downloads=True)
    await context.add_init_script(COUNT_RUNS)
    context.set_default_timeout(STEP_TIMEOUT_MS)
    page = await context.new_page()
    page.on("console", lambda m: seen.errors.append(f"console: {m.text}")
            if m.type == "error" and not is_base_path_probe(m) else None)
    page.on("pageerror", lambda e: seen.errors.append(f"pageerror: {e}"))
    pending: dict[str, float] = {}  # requests without an answer yet (for a failure's report)
    page.on("request", lambda r: pending.__setitem__(r.url, time.monotonic()))
    page.on("requestfinished", lambda r: pending.pop(r.url, None))
    page.on("requestfailed", lambda r: seen.errors.append(f"request failed: {r.url} {r.failure}"))
    try:
        # Sign in on a link that already holds the first search.
        await page.goto(page_url(base, "", dst_port=443, **window))
        await wait_run(page, 0)
        await sign_in(page, user)
        side = page.locator('[data-testid="stSidebar"]')

        seen.captions.append(await caption_for(page, len(expected["search_443"])))
        seen.searches.append(await download_csv(page))

        box = side.get_by_label("Destination port(s)", exact=True)
        await settle(page)
        await box.fill(str(expected["port"]))
        await act(page, lambda: box.press("Enter"))
        seen.captions.append(await caption_for(page, len(expected["search_port"])))
        seen.searches.append(await download_csv(page))

        link = side.locator('[data-testid="stSidebarNav"]').get_by_role("link", name="Traffic")
        await act(page, link.click)
        flows = page.locator('[data-testid="stMetric"]').filter(has_text="Flows")
        await flows.locator('[data-testid="stMetricValue"]').wait_for()
        seen.flows = int((await flows.locator('[data-testid="stMetricValue"]').inner_text())
                         .replace(",", ""))
        bars = page.locator('[data-testid="stVegaLiteChart"]').first.locator(
            'path[aria-roledescription="bar"]')
        await bars.nth(len(expected["top_sources"]) - 1).wait_for()
        for label in await bars.evaluate_all("els => els.map(e => e.getAttribute('aria-label'))"):
            seen.top_sources.append(re.search(r"talker: ([0-9a-f.:]+)", label)[1])
    except Exception as error:
        await screenshot_async(page, f"concurrency-{user}-FAILED")
        state = [await page.evaluate(DIAGNOSIS) for _ in range(3)]
        state.append(await page.evaluate(CHANGES))
        waiting = {url: round(time.monotonic() - t) for url, t in pending.items()}
        raise AssertionError(f"{user}: {error}\npage state: {state}\n"
                             f"requests waiting (s): {waiting}") from error
    finally:
        seen.seconds = time.monotonic() - began
        await context.close()
    return seen


async def all_sessions(base: str, window: dict, expected: dict) -> list[Seen]:
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            return await asyncio.gather(*(session(browser, base, user, window, answer)
                                          for user, answer in expected.items()))
        finally:
            await browser.close()


def run_in_thread(coroutine_function, *args):
    """asyncio.run in a thread of its own: the sync Playwright of the other browser tests
    (same worker) keeps its own loop in this one."""
    outcome: dict = {}

    def target():
        try:
            outcome["value"] = asyncio.run(coroutine_function(*args))
        except BaseException as error:  # noqa: BLE001 (re-raised in the caller)
            outcome["error"] = error

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(TOTAL_TIMEOUT_S)
    assert not thread.is_alive(), f"the sessions did not finish in {TOTAL_TIMEOUT_S} s"
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


# --- the test ----------------------------------------------------------------------------------

@pytest.fixture
def expected(monkeypatch, demo, scopes) -> dict:
    """Each user's answers from the command line, for their scope (raw files, no cache)."""
    for name, value in CLI_ENV.items():
        monkeypatch.setenv(name, value)
    window = {"start": demo.summary["start"], "end": demo.summary["end"]}
    answers = {}
    for user, scope in scopes.items():
        port, top_sources = next(
            (port, sources) for port in PORTS
            if port not in {a["port"] for a in answers.values()}
            and (sources := [r["srcaddr"] for r in cli_answer(
                demo.root, scope, "top-talkers", group="src", by="bytes", top=10,
                dst_port=port, **window)]))
        answers[user] = {
            "scope": scope, "port": port,
            "search_443": cli_answer(demo.root, scope, "search", dst_port=443, **window),
            "search_port": cli_answer(demo.root, scope, "search", dst_port=port, **window),
            # Traffic keeps the sidebar's filters, the typed port included.
            "summary": cli_answer(demo.root, scope, "summary", dst_port=port, **window)[0],
            "top_sources": top_sources,
        }
    return answers


def test_ten_users_at_once_each_see_only_their_own_scope(server, demo, expected, scopes,
                                                         access_files):
    assert len(set(scopes.values())) == len(scopes) == 10
    window = {"start": demo.summary["start"], "end": demo.summary["end"]}
    began = time.monotonic()
    seen = run_in_thread(all_sessions, server.url, window, expected)
    elapsed = time.monotonic() - began
    print(f"10 concurrent sessions: {elapsed:.1f} s; per session "
          + ", ".join(f"{s.user} {s.seconds:.0f} s" for s in seen))

    for observed in seen:
        answer = expected[observed.user]
        assert not observed.errors, (observed.user, observed.errors)
        for rows, wanted in zip(observed.searches, (answer["search_443"], answer["search_port"]),
                                strict=True):
            assert Counter(map(key, rows)) == Counter(map(key, wanted)), observed.user
            assert {r["log-account"] for r in rows} <= set(answer["scope"])
        assert observed.flows == answer["summary"]["flows"], observed.user
        assert observed.top_sources == answer["top_sources"], observed.user
    # The scopes really differ in what they show (the test would prove nothing otherwise).
    assert len({frozenset(map(key, s.searches[0])) for s in seen}) == 10
    assert_no_cache_hit_across_scopes(access_files["audit_file"], scopes)


def assert_no_cache_hit_across_scopes(audit_file, scopes) -> None:
    """From the audit trail: every query of a user ran in their scope, and every answer
    from the result cache was first computed for a query of the same scope (the SQL of a
    cached result is the SQL that made it)."""
    computed: set[tuple[str, str]] = set()

    for line in audit_file.read_text().splitlines():
        event = json.loads(line)
        if event.get("event") != "query" or event["user"] not in scopes:
            continue
        assert event["outcome"] == "ok", event
        assert event["scope"] == ",".join(sorted(scopes[event["user"]])), event
        made_here = (event["sql_sha256"], event["scope"])
        if event["cache_hit"]:
            assert made_here in computed, f"a cached answer from another scope: {event}"
        else:
            computed.add(made_here)
    assert computed  # the sessions' queries were audited

