"""Driving Flowscope in a real browser: Playwright's sync API on Debian's Chromium.

Streamlit pages are drawn by a script that reruns on every interaction. An init script
counts the runs the server reports finished (its WebSocket messages) in
``window.__flowscopeRuns``, so a step can wait for *the run it caused*, not an earlier one,
and then for the page to be drawn (the app root's ``data-test-script-state`` is
``notRunning`` and nothing has changed for a moment).
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
# --headless etc.: no display here; the --disable-* flags keep the closed network from
# flooding the log with refused connections (Chromium's own background traffic).
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
SCREENSHOTS = ROOT / "artifacts" / "screenshots"
RUN_TIMEOUT_MS = 90_000  # a run on a busy 2-core CI machine, several browsers at once
VIEWPORT = {"width": 1400, "height": 1000}
ADMIN = "alice"  # sees every account


def password_of(user: str) -> str:
    return f"{user}-secret-password"

# A run is counted when the server says it finished: a ForwardMsg whose `script_finished`
# field (number 6) holds any status but FINISHED_EARLY_FOR_RERUN (2). The app root's
# `data-test-script-state` alone misses runs: when a run's messages arrive together (a busy
# browser, a fast run) React applies "running" and "not running" in one render and the
# attribute never changes. __flowscopeChanged is the last DOM change or message: a page
# is drawn once a finished run is followed by a short quiet.
COUNT_RUNS = """
(() => {
  window.__flowscopeRuns = 0;
  window.__flowscopeMessages = 0;
  window.__flowscopeChanged = performance.now();
  const SCRIPT_FINISHED = 6, FINISHED_EARLY_FOR_RERUN = 2;
  const varint = (bytes, at) => {
    let value = 0, shift = 0, byte;
    do { byte = bytes[at++]; value += (byte & 0x7f) * 2 ** shift; shift += 7; }
    while (byte & 0x80 && at < bytes.length);
    return [value, at];
  };
  const finishesRun = (bytes) => {  // the top-level fields of one ForwardMsg
    let at = 0, key, value;
    while (at < bytes.length) {
      [key, at] = varint(bytes, at);
      const wire = key & 7;
      if (wire === 0) {
        [value, at] = varint(bytes, at);
        if (key >>> 3 === SCRIPT_FINISHED) return value !== FINISHED_EARLY_FOR_RERUN;
      } else if (wire === 2) { [value, at] = varint(bytes, at); at += value; }
      else if (wire === 1) at += 8;
      else if (wire === 5) at += 4;
      else return false;
    }
    return false;
  };
  const Native = window.WebSocket;
  window.WebSocket = class extends Native {
    constructor(...args) {
      super(...args);
      this.addEventListener('message', (event) => {
        window.__flowscopeChanged = performance.now();
        window.__flowscopeMessages++;
        if (event.data instanceof ArrayBuffer && finishesRun(new Uint8Array(event.data)))
          window.__flowscopeRuns++;
      });
    }
  };
  new MutationObserver(() => { window.__flowscopeChanged = performance.now(); })
    .observe(document, {attributes: true, childList: true, characterData: true, subtree: true});
})();
"""
# The run counted after `after` has finished and its page is drawn (quiet for 150 ms).
RUN_DONE = """(after) => {
  const app = document.querySelector('[data-testid="stApp"]');
  return window.__flowscopeRuns > after && app !== null
      && app.getAttribute('data-test-script-state') === 'notRunning'
      && performance.now() - window.__flowscopeChanged > 150;
}"""
# A page is settled when no run has ended, no message come and nothing been redrawn for a
# while (a chart still drawing, a component still loading).
SETTLED = """(quietMs) => {
  const app = document.querySelector('[data-testid="stApp"]');
  return window.__flowscopeRuns > 0 && app !== null
      && app.getAttribute('data-test-script-state') === 'notRunning'
      && performance.now() - window.__flowscopeChanged > quietMs;
}"""


# --- the server --------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Server:
    url: str
    process: subprocess.Popen
    log: Path
    env: dict = field(default_factory=dict)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=15)


def start_server(env_overrides: dict[str, str], log: Path, timeout_s: float = 90) -> Server:
    """`streamlit run app.py` on 127.0.0.1 and a free port; returns once /_stcore/health is ok."""
    port = free_port()
    env = {**os.environ, **env_overrides}
    command = [sys.executable, "-m", "streamlit", "run", "app.py",
               "--server.address", "127.0.0.1", "--server.port", str(port),
               "--server.headless", "true", "--browser.gatherUsageStats", "false",
               "--server.fileWatcherType", "none"]
    handle = open(log, "wb")  # noqa: SIM115 (kept open for the server's lifetime)
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=handle,
                               stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"streamlit exited ({process.returncode}):\n{log.read_text()}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as answer:
                if answer.status == 200:
                    return Server(url, process, log, env_overrides)
        except OSError:
            time.sleep(0.3)
    process.kill()
    raise RuntimeError(f"streamlit did not become healthy in {timeout_s} s:\n{log.read_text()}")


# --- the data and the CLI ----------------------------------------------------------------

# The expected answers: the command line on the raw files (no columnar cache, no config
# file), so the app's cached path is checked against the plain one.
CLI_ENV = {"FLOWSCOPE_COLUMNAR_CACHE": "false", "FLOWSCOPE_CONFIG": os.devnull}


def cli(*args: str, env: dict | None = None) -> str:
    """`python -m lib.cli ...` as a user would type it; stdout, raising on failure."""
    done = subprocess.run([sys.executable, "-m", "lib.cli", *args], cwd=ROOT, check=False,
                          capture_output=True, text=True,
                          env={**os.environ, **CLI_ENV, **(env or {})})
    if done.returncode != 0:
        raise AssertionError(f"lib.cli {' '.join(args)} exited {done.returncode}:\n{done.stderr}")
    return done.stdout


def make_demo(out: Path, records: int, seed: int, days: float = 0.25) -> dict:
    """A small demo set (lib/generator.py); its summary, scenarios included. It ends two
    days ago: no day folder is recent, so the app's background cache refresh (every
    minute) finds nothing to convert and draws no progress while a test runs."""
    end = (int(time.time()) - 2 * 86400) // 300 * 300
    return json.loads(cli("demo", "--out", str(out), "--records", str(records), "--days",
                          str(days), "--seed", str(seed), "--end", str(end)))


def build_cache(data: Path, env: dict) -> None:
    """Build the columnar cache before the server starts, as an operator would: the app
    then has no background build drawing progress (a fragment rerunning every 2 s)."""
    cli("cache", "build", "--data", str(data), env={**env, "FLOWSCOPE_COLUMNAR_CACHE": "true"})


def cli_query(data: Path, kind: str, accounts=(), **options) -> list[dict]:
    args = ["query", "--kind", kind, "--data", str(data), "--engine", "duckdb"]
    for account in accounts:
        args += ["--account", account]
    for name, value in options.items():
        args += [f"--{name.replace('_', '-')}", str(value)]
    return json.loads(cli(*args))


# --- the page ------------------------------------------------------------------------------

def new_context(browser):
    """A fresh browser profile: its own cookies (so its own sign-in), runs counted."""
    context = browser.new_context(viewport=VIEWPORT, accept_downloads=True)
    context.add_init_script(COUNT_RUNS)
    context.set_default_timeout(RUN_TIMEOUT_MS)
    return context


def runs(page) -> int:
    return page.evaluate("window.__flowscopeRuns")


def wait_run(page, after: int, timeout_ms: int = RUN_TIMEOUT_MS) -> None:
    """Wait for a script run that finished after the count `after` was read."""
    page.wait_for_function(RUN_DONE, arg=after, timeout=timeout_ms)


def settle(page, quiet_ms: int = 1000, timeout_ms: int = RUN_TIMEOUT_MS) -> None:
    page.wait_for_function(SETTLED, arg=quiet_ms, timeout=timeout_ms, polling=100)


def act(page, action, timeout_ms: int = RUN_TIMEOUT_MS) -> None:
    """Do something that reruns the script, then wait for that run to finish."""
    before = runs(page)
    action()
    wait_run(page, before, timeout_ms)


def open_url(page, url: str, timeout_ms: int = RUN_TIMEOUT_MS) -> None:
    page.goto(url)
    wait_run(page, 0, timeout_ms)


def page_url(base: str, path: str = "", **params) -> str:
    query = urlencode({k: v for k, v in params.items() if v not in (None, "")}, doseq=True)
    return f"{base}/{path}" + (f"?{query}" if query else "")


def sidebar(page):
    return page.locator('[data-testid="stSidebar"]')


def main(page):
    return page.locator('[data-testid="stMain"]')


def type_into(page, label: str, text: str, where=None) -> None:
    """Type into a text field and press Enter (Streamlit commits a text input then)."""
    box = (where or page).get_by_label(label, exact=True)
    box.fill(text)
    act(page, lambda: box.press("Enter"))


def sign_in(page, username: str, password: str) -> None:
    """Fill the sign-in form once it is drawn, and submit it, once: the form must take
    what was typed (nothing reruns the page behind the user's back: lib.page_cookies)."""
    form = page.locator('[data-testid="stForm"]')
    settle(page)
    form.get_by_label("Username", exact=True).fill(username)
    form.get_by_label("Password", exact=True).fill(password)
    act(page, lambda: form.get_by_role("button", name="Login").click())
    settle(page)
    if page.get_by_text("The user name or password is not correct.").count():
        raise AssertionError(f"signing in as {username} was refused")
    if not sidebar(page).get_by_text("Signed in as").count():
        raise AssertionError(f"the sign-in form did not take {username}")
    if form.count():
        raise AssertionError("the sign-in form is still shown once signed in")


def go_to_page(page, title: str) -> None:
    """Click a page's link in the sidebar navigation and arrive on that page (its title),
    with one click, also just after a sign-in."""
    link = page.locator('[data-testid="stSidebarNav"]').get_by_role("link", name=title)
    act(page, link.click)
    settle(page)
    heading = main(page).get_by_role("heading", name=title, exact=True, level=1)
    if not heading.count():
        raise AssertionError(f"the {title!r} link did not open its page")


def grid_rows(frame, expect_rows: bool = True) -> list[list[str]]:
    """The cells of a st.dataframe, from the grid's accessible table (header first). The
    grid draws on a canvas and lists only the rows in view: keep tables short. The table
    is filled in after the grid appears: wait for a cell unless no rows are expected."""
    if expect_rows:
        frame.locator('table[role="grid"] [role="gridcell"]').first.wait_for(state="attached")
    rows = []
    for row in frame.locator('table[role="grid"] tr').all():
        cells = row.locator('[role="columnheader"], [role="gridcell"]').all_inner_texts()
        rows.append([c.strip() for c in cells])
    return rows


def grid_records(frame, expect_rows: bool = True) -> list[dict[str, str]]:
    rows = grid_rows(frame, expect_rows)
    if not rows:
        return []
    header = rows[0]
    return [dict(zip(header, row, strict=False)) for row in rows[1:]]


ROW_HEIGHT, HEADER_HEIGHT = 35, 35  # glide-data-grid defaults used by st.dataframe


def select_row(page, frame, index: int) -> None:
    """Tick a row's selection box: a click on the canvas, where the grid draws it."""
    box = frame.bounding_box()
    x = box["x"] + 18
    y = box["y"] + HEADER_HEIGHT + ROW_HEIGHT * index + ROW_HEIGHT / 2
    act(page, lambda: page.mouse.click(x, y))


def download(page, button_label: str) -> bytes:
    with page.expect_download() as info:
        page.get_by_role("button", name=button_label).click()
    return Path(info.value.path()).read_bytes()


def csv_rows(data: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(data.decode())))


def caption_numbers(text: str) -> int | None:
    match = re.search(r"([\d,]+) rows", text)
    return int(match[1].replace(",", "")) if match else None


def safe_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name)


def screenshot(page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{safe_name(name)}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


async def screenshot_async(page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{safe_name(name)}.png"
    await page.screenshot(path=str(path), full_page=True)
    return path


DIAGNOSIS = """() => ({runs: window.__flowscopeRuns, messages: window.__flowscopeMessages,
  state: document.querySelector('[data-testid="stApp"]')?.getAttribute('data-test-script-state'),
  quietMs: Math.round(performance.now() - window.__flowscopeChanged),
  stale: document.querySelectorAll('[data-stale="true"]').length})"""
# What changes on a page that does not settle: the DOM changes seen in one second, by kind
# and element, most frequent first (for a failure's report).
CHANGES = """() => new Promise((resolve) => {
  const seen = {};
  const name = (node) => node.nodeType === 1
    ? `${node.tagName.toLowerCase()}[${node.getAttribute('data-testid') || ''}]`
    : `text in ${node.parentElement?.tagName.toLowerCase()}`;
  const observer = new MutationObserver((mutations) => {
    for (const m of mutations) {
      const what = `${m.type}${m.attributeName ? ' ' + m.attributeName : ''} ${name(m.target)}`;
      seen[what] = (seen[what] || 0) + 1;
    }
  });
  observer.observe(document, {attributes: true, childList: true, characterData: true,
                              subtree: true});
  const messages = window.__flowscopeMessages;
  setTimeout(() => {
    observer.disconnect();
    resolve({messages: window.__flowscopeMessages - messages,
             changes: Object.entries(seen).sort((a, b) => b[1] - a[1]).slice(0, 8)});
  }, 1000);
})"""


# Streamlit's own probe when a page is opened by its path (/check): the frontend asks
# /check/_stcore/health and /check/_stcore/host-config to find the app's base path, gets
# 404, then uses /. Chromium logs each 404 as a console error; nothing failed.
BASE_PATH_PROBE = re.compile(r"/[^/?#]+/_stcore/(health|host-config)$")


def is_base_path_probe(message) -> bool:
    return (message.text.startswith("Failed to load resource: the server responded with a "
                                    "status of 404")
            and bool(BASE_PATH_PROBE.search(message.location.get("url", ""))))


@dataclass
class ConsoleLog:
    """Errors the page logged: console.error messages and uncaught exceptions."""

    errors: list[str] = field(default_factory=list)

    def watch(self, page) -> None:
        page.on("console", self._console)
        page.on("pageerror", lambda e: self.errors.append(f"pageerror: {e}"))

    def _console(self, message) -> None:
        if message.type == "error" and not is_base_path_probe(message):
            self.errors.append(f"console: {message.text} @ {message.location}")
