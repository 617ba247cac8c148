"""The Streamlit internals lib.auth_runtime relies on, pinned to the version it was written
for (issue 20). An upgrade of Streamlit that changes any of them fails here, by name, rather
than reopening the gate's holes (issue 21.8) silently."""

import inspect
import subprocess
import sys
from pathlib import Path

import streamlit

from lib import auth_runtime

ROOT = Path(__file__).resolve().parent.parent


def test_the_installed_streamlit_is_the_one_the_workarounds_are_for():
    assert streamlit.__version__ == auth_runtime.STREAMLIT_VERSION, (
        "Streamlit changed: check lib/auth_runtime.py against the new version (pages-folder "
        "mode, script run context, st.navigation), then update STREAMLIT_VERSION")


def test_the_pages_folder_switch_is_where_the_workaround_sets_it():
    from streamlit.runtime.pages_manager import PagesManager

    assert "uses_pages_directory" in vars(PagesManager)
    source = inspect.getsource(PagesManager.__init__)
    assert "PagesManager.uses_pages_directory is None" in source  # decided once per process
    from streamlit.runtime.scriptrunner import script_runner

    assert "if PagesManager.uses_pages_directory:" in inspect.getsource(script_runner)


def test_the_run_context_has_what_restart_and_requested_page_use():
    from streamlit.runtime.pages_manager import PagesManager
    from streamlit.runtime.scriptrunner_utils.script_run_context import (
        ScriptRunContext,
        ThreadState,
    )

    for name in ("set_current_page_script_hash", "set_script_intent", "main_script_hash",
                 "intended_page_name", "intended_page_script_hash", "main_script_path"):
        assert hasattr(PagesManager, name), name
    assert "pages_manager" in ScriptRunContext.__dataclass_fields__
    assert "main_script_path" in ScriptRunContext.__dataclass_fields__
    assert hasattr(ThreadState, "get")


def test_the_password_sign_in_uses_no_third_party_cookie_component():
    """streamlit-authenticator's cookie model printed token errors (a visitor's text) to the
    log; the gate no longer imports it, and nothing is patched at import."""
    code = ("import sys, lib.auth; from streamlit.runtime.pages_manager import PagesManager; "
            "print('streamlit_authenticator' in sys.modules, PagesManager.uses_pages_directory)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60, check=True, cwd=ROOT)
    assert out.stdout.split() == ["False", "None"]  # importing the gate changes nothing
