"""Browser end-to-end fixtures: one demo set, one `streamlit run` and one Chromium per worker.

Every test here is marked ``browser`` (deselect with ``-m "not browser"``). Under
pytest-xdist each worker that runs a browser file starts its own server on a free port.
The server signs people in with passwords (streamlit-authenticator): ``alice`` sees every
account; ``u01``…``u10`` each see a different set of the demo accounts (for the concurrency
test). A failing test keeps a screenshot of its page under artifacts/screenshots/.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from pathlib import Path

import pytest
from browserkit import (
    ADMIN,
    CHROMIUM,
    CHROMIUM_ARGS,
    RUN_TIMEOUT_MS,
    SCREENSHOTS,
    ConsoleLog,
    Server,
    build_cache,
    make_demo,
    new_context,
    password_of,
    safe_name,
    screenshot,
    start_server,
)
from playwright.sync_api import expect

from lib.access import add_user

HERE = Path(__file__).resolve().parent
COOKIE_KEY = "browser-tests-cookie-key-" + "k" * 32
expect.set_options(timeout=RUN_TIMEOUT_MS)  # a busy CI machine; a pass never waits this long


def pytest_configure(config):
    config.addinivalue_line("markers", "browser: drives a real Chromium against `streamlit run`")


def pytest_collection_modifyitems(config, items):
    missing = not Path(CHROMIUM).exists()
    for item in items:
        if HERE in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.browser)
            if missing:
                item.add_marker(pytest.mark.skip(reason=f"{CHROMIUM} is not installed"))


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


# --- data, users, server --------------------------------------------------------------

@dataclass(frozen=True)
class Demo:
    root: Path
    summary: dict

    @property
    def accounts(self) -> list[str]:
        return self.summary["accounts"]

    @property
    def scenarios(self) -> list[dict]:
        return self.summary["scenarios"]

    def scenario(self, name: str) -> dict:
        return next(s for s in self.scenarios if s["name"] == name)


@pytest.fixture(scope="session")
def demo(tmp_path_factory) -> Demo:
    root = tmp_path_factory.mktemp("demo")
    return Demo(root, make_demo(root, records=2000, seed=5))


def user_scopes(accounts: list[str]) -> dict[str, tuple[str, ...]]:
    """u01…u10: every single account, then pairs: ten different scopes."""
    sets = [(a,) for a in accounts] + list(itertools.combinations(accounts, 2))
    return {f"u{n:02d}": tuple(s) for n, s in enumerate(sets[:10], start=1)}


@pytest.fixture(scope="session")
def scopes(demo) -> dict[str, tuple[str, ...]]:
    return user_scopes(demo.accounts)


@pytest.fixture(scope="session")
def access_files(tmp_path_factory, scopes) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("access")
    users = folder / "users.yaml"
    add_user(users, ADMIN, "Alice Admin", "alice@example.com", password_of(ADMIN))
    for user in scopes:
        add_user(users, user, f"User {user}", f"{user}@example.com", password_of(user))
    lines = ["users:", f"  {ADMIN}:", '    accounts: ["*"]']
    for user, accounts in scopes.items():
        lines += [f"  {user}:", "    accounts: [" + ", ".join(f'"{a}"' for a in accounts) + "]"]
    access = folder / "access.yaml"
    access.write_text("\n".join(lines) + "\n")
    return {"users_file": users, "access_file": access, "audit_file": folder / "audit.jsonl"}


@pytest.fixture(scope="session")
def server(tmp_path_factory, demo, access_files):
    folder = tmp_path_factory.mktemp("server")
    env = {
        "FLOWSCOPE_CONFIG": str(folder / "none.toml"),  # no developer's flowscope.toml
        "FLOWSCOPE_DATA_DIR": str(demo.root),
        "FLOWSCOPE_CACHE_DIR": str(folder / "cache"),
        "FLOWSCOPE_ENGINE": "duckdb",
        "FLOWSCOPE_AUTH_MODE": "password",
        "FLOWSCOPE_COOKIE_KEY": COOKIE_KEY,
        **{f"FLOWSCOPE_{name.upper()}": str(path) for name, path in access_files.items()},
    }
    build_cache(demo.root, env)
    running: Server = start_server(env, folder / "streamlit.log")
    yield running
    running.stop()


# --- the browser -------------------------------------------------------------------------

@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def console():
    return ConsoleLog()


@pytest.fixture
def context(browser, console):
    """A browser context (one person); every page opened in it has its console watched."""
    context = new_context(browser)
    context.on("page", console.watch)
    yield context
    context.close()


@pytest.fixture
def page(request, context, console):
    """A page whose console errors fail the test; a failing test keeps its screenshot."""
    for old in SCREENSHOTS.glob(f"{safe_name(request.node.name)}-FAILED-*.png"):
        old.unlink()  # a failure's screenshot stays until the test runs again
    page = context.new_page()
    yield page
    call = getattr(request.node, "report_call", None)
    if call is not None and call.failed:
        for number, open_page in enumerate(context.pages):
            screenshot(open_page, f"{request.node.name}-FAILED-{number}")
    assert not console.errors, "\n".join(console.errors)
