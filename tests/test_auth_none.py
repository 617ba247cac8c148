"""Mode `none` (no sign-in) runs only on a loopback address; otherwise the app refuses."""

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from apptest import app
from authkit import WINDOW, audit_lines, shown_sources, write_access, write_store

from lib.auth import listen_problem

ROOT = Path(__file__).resolve().parent.parent
REFUSAL = "refuses to start"


@pytest.mark.parametrize("address, serving", [
    ("127.0.0.1", True), ("127.0.0.2", True), ("::1", True), ("[::1]", True),
    ("localhost", True), ("unix:///tmp/flowscope.sock", True),
    (None, False),  # AppTest / bare runs: no server listens at all
])
def test_loopback_addresses_are_allowed(address, serving):
    assert listen_problem(address, serving) is None


@pytest.mark.parametrize("address, shown", [
    ("0.0.0.0", "0.0.0.0"), ("::", "::"), ("10.0.1.7", "10.0.1.7"),
    ("flowscope.corp.example", "flowscope.corp.example"),
    (None, "every interface"),  # a real server with no address listens everywhere
])
def test_other_addresses_are_refused_with_the_reason(address, shown):
    message = listen_problem(address, True)
    assert REFUSAL in message and shown in message and "auth_mode" in message


def test_apptest_runs_without_sign_in_and_sees_every_account(monkeypatch, tmp_path):
    at = app(monkeypatch, write_store(tmp_path / "store"), **WINDOW).run()
    assert not at.exception and not at.error
    assert shown_sources(at) == {"10.1.0.5", "10.2.0.5", "10.3.0.5"}
    assert any("no sign-in" in c.value for c in at.sidebar.caption)


def test_an_access_mapping_also_limits_the_local_user(monkeypatch, tmp_path):
    access = write_access(tmp_path / "access.toml",
                          '[users.local]\naccounts = ["123456789012"]\n')
    at = app(monkeypatch, write_store(tmp_path / "store"), account=["012345678901"], **WINDOW)
    monkeypatch.setenv("FLOWSCOPE_ACCESS_FILE", str(access))
    at.run()
    assert shown_sources(at) == set()  # asked for A, may see only B: nothing
    assert any("012345678901" in w.value and "may not see" in w.value for w in at.warning)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str, timeout: float = 5) -> str:
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return response.read().decode()


def _serve_and_run_script(address: str, tmp_path: Path) -> tuple[str, str]:
    """Start `streamlit run app.py`, make it run the script once: (check answer, log)."""
    port = _free_port()
    env = {**os.environ, "FLOWSCOPE_AUTH_MODE": "none",
           "FLOWSCOPE_DATA_DIR": str(write_store(tmp_path / "store")),
           "FLOWSCOPE_AUDIT_FILE": str(tmp_path / "audit.jsonl"),
           "FLOWSCOPE_ENGINE": "duckdb"}
    log = tmp_path / "server.log"
    with open(log, "w") as out:
        server = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "app.py", "--server.address", address,
             "--server.port", str(port), "--server.headless", "true",
             "--server.scriptHealthCheckEnabled", "true"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if _get(f"http://127.0.0.1:{port}/_stcore/health") == "ok":
                    break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(log.read_text()) from None
                time.sleep(0.2)
        # The script runs once per session; this endpoint runs it in a session of its own
        # and answers after that session's first run. A new server's first run starts over
        # (lib.auth.restart_as_app_run) and the check ends there: ask twice.
        for _ in range(2):
            answer = _get(f"http://127.0.0.1:{port}/_stcore/script-health-check", timeout=120)
    finally:
        server.terminate()
        server.wait(timeout=30)
    return answer, log.read_text()


def test_a_server_on_every_interface_refuses(tmp_path):
    _, log = _serve_and_run_script("0.0.0.0", tmp_path)
    assert REFUSAL in log and "0.0.0.0" in log
    assert audit_lines(tmp_path / "audit.jsonl") == []  # no page ran, no query


# --- issue 21, point 6 ---------------------------------------------------------------------

def test_an_explicit_opt_in_lets_mode_none_listen_on_the_network():
    assert REFUSAL in listen_problem("0.0.0.0", True)
    assert "auth_none_allow_network" in listen_problem("0.0.0.0", True)
    assert listen_problem("0.0.0.0", True, allow_network=True) is None


def test_only_loopback_host_names_are_accepted_by_default():
    """DNS rebinding: Streamlit's Host check with the shipped config.toml."""
    import tomllib

    from streamlit import config
    from streamlit.web.server.starlette.starlette_websocket import is_host_allowed

    shipped = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    before = config.get_option("server.allowedHosts")
    config.set_option("server.allowedHosts", shipped["server"]["allowedHosts"])
    try:
        for host in ("localhost:8501", "127.0.0.1:8501", "[::1]:8501", "localhost"):
            assert is_host_allowed(host), host
        for host in ("rebind.attacker.example", "rebind.attacker.example:8501",
                     "10.0.0.5:8501", None):
            assert not is_host_allowed(host), host
    finally:
        config.set_option("server.allowedHosts", before)
