"""Workarounds for Streamlit's runtime that the sign-in gate depends on, in one place.

They use Streamlit internals (``PagesManager``, the script run context, ``st.navigation``
run semantics) of the version pinned in ``STREAMLIT_VERSION``;
tests/test_auth_runtime_contract.py fails when the installed Streamlit no longer has what
they use, so an upgrade is a decision, not a surprise. Nothing here runs at import: the
gate applies ``no_pages_folder_mode`` on first use (lib.auth_common.signed_in_user, gate).

- Streamlit runs a requested ``pages/<file>.py`` on its own (no app.py, so no gate) until
  a run has called ``st.navigation``; ``no_pages_folder_mode`` ends that mode and starts
  such a run over as a run of app.py (``restart_as_app_run``), keeping the page the
  address named (``keep_requested_page``).
- A run that stops without registering a navigation makes Streamlit list ``pages/`` and
  open them without app.py: ``stop_here`` registers a hidden one of stand-in pages.
"""

from __future__ import annotations

import threading
from pathlib import Path

import streamlit as st

STREAMLIT_VERSION = "1.67.0"  # the version whose internals these workarounds use
REQUESTED_PAGE_KEY = "_requested_page"  # session state: the page the address named

_applied = threading.Event()  # no_pages_folder_mode has run in this process


def no_pages_folder_mode() -> None:
    """Streamlit runs a requested pages/ file on its own (no app.py, so no sign-in) until a
    run calls st.navigation, so a new server's first request could open a page ungated.
    Flowscope's pages are reached only through app.py's navigation: say so at once, on the
    first use of the gate in this process (lib.auth_common.signed_in_user, which the gate
    and every page call before drawing anything), and start that first run over as a run
    of the app (restart_as_app_run). Once per process, like Streamlit's own decision (a
    later run that is still a pages-folder run is restarted by the gate or the page)."""
    from streamlit.runtime.pages_manager import PagesManager

    if _applied.is_set():
        return
    _applied.set()
    was_pages_folder_run = PagesManager.uses_pages_directory is not False
    PagesManager.uses_pages_directory = False
    if was_pages_folder_run and in_app_run():
        restart_as_app_run()


RESTARTED_KEY = "_restarted_as_app_run"  # session state: this session's run was started over


def is_pages_folder_app_run() -> bool:
    """True while app.py runs as the start page of a pages-folder run: a session's first
    run that began before no_pages_folder_mode took effect (two first visitors of a new
    server at once). Its widgets get ids no later run gives them: a sign-in form drawn
    now would drop what is typed into it."""
    from streamlit.runtime.scriptrunner_utils.script_run_context import (
        ThreadState,
        get_script_run_ctx,
    )

    ctx = get_script_run_ctx(suppress_warning=True)
    return (ctx is not None and in_app_run()
            and ThreadState.get().active_script_hash != ctx.pages_manager.main_script_hash)


def restart_as_app_run() -> None:
    """Start this run over, before it draws anything, as a run of app.py that names no
    page but keeps the one the address named (a shared link to /check opens the check
    after the sign-in). Once per session: a run that still is not an app run goes on."""
    from streamlit.runtime.scriptrunner_utils.script_run_context import get_script_run_ctx

    if st.session_state.get(RESTARTED_KEY):
        return
    st.session_state[RESTARTED_KEY] = True
    keep_requested_page()
    get_script_run_ctx().pages_manager.set_current_page_script_hash("")
    st.rerun()


def keep_requested_page() -> None:
    """Keep the page a visitor's address named (a shared link to /check) through the
    sign-in. A browser names that page only on the session's first run; if that run is cut
    short by a rerun (a new server's first runs start over, see restart_as_app_run; a
    click comes before the first run reached st.navigation), the rerun names no page and
    Streamlit would open the start page. The name is kept in session state and asked for
    again until a signed-in navigation has reached it."""
    from streamlit.runtime.scriptrunner_utils.script_run_context import get_script_run_ctx

    ctx = get_script_run_ctx(suppress_warning=True)
    if ctx is None:
        return
    manager = ctx.pages_manager
    if manager.intended_page_name:
        st.session_state[REQUESTED_PAGE_KEY] = manager.intended_page_name
    elif (REQUESTED_PAGE_KEY in st.session_state
          and manager.intended_page_script_hash in ("", manager.main_script_hash)):
        manager.set_script_intent("", st.session_state[REQUESTED_PAGE_KEY])


def in_app_run() -> bool:
    """True inside a script run of the app (app.py is the main script), not a bare import
    or an AppTest of one page file."""
    from streamlit.runtime.scriptrunner_utils.script_run_context import get_script_run_ctx

    ctx = get_script_run_ctx(suppress_warning=True)
    return ctx is not None and Path(ctx.main_script_path).name == "app.py"


def _nothing() -> None:
    """What every page is while nobody is signed in: nothing."""


_this_run = threading.local()  # the app's pages, for the run in this (script) thread


def set_pages(pages) -> None:
    """The app's st.Page list for this run (stop_here keeps their addresses)."""
    _this_run.pages = pages


def _stand_ins(pages) -> list:
    """The app's pages by address only, each running nothing: the address a visitor opened
    (a shared link to a page) stays as it is through the sign-in."""
    if not pages:
        return [st.Page(_nothing, title="Sign in", url_path="sign-in")]
    return [st.Page(_nothing, title=p.title, url_path=p.url_path or "start",
                    default=not p.url_path) for p in pages]


def stop_here() -> None:
    """End the run showing only what was drawn so far. A navigation is registered (hidden)
    even so: a run without one makes Streamlit list pages/ and open them without app.py."""
    st.navigation(_stand_ins(getattr(_this_run, "pages", None)), position="hidden").run()
    st.stop()


def serving() -> bool:
    """True under `streamlit run`; AppTest swaps the runtime for a mock and serves nothing."""
    from streamlit import runtime
    from streamlit.runtime import Runtime

    return runtime.exists() and type(runtime.get_instance()) is Runtime
