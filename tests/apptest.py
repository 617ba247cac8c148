"""Helpers for driving app.py with streamlit.testing (AppTest) against a given store."""

from __future__ import annotations

from pathlib import Path

import streamlit as st
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parent.parent


def app(monkeypatch, data_dir, page: str | None = None, **state) -> AppTest:
    """app.py on `data_dir`, with session state (filters) set, not yet run."""
    monkeypatch.setenv("FLOWSCOPE_DATA_DIR", str(data_dir))
    monkeypatch.setenv("FLOWSCOPE_ENGINE", "duckdb")
    monkeypatch.setenv("FLOWSCOPE_AUTH_MODE", "none")
    st.cache_data.clear()
    st.cache_resource.clear()
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=30)
    for key, value in state.items():
        at.session_state[key] = value
    if page:
        at.switch_page(page)
    return at


def sidebar_text(at: AppTest, label: str):
    return next(w for w in at.sidebar.text_input if w.label == label)


def errors(at: AppTest) -> list[str]:
    return [e.value for e in at.error]
