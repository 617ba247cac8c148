"""The words of the frame and the sidebar in the viewer's language (lib/texts/ui.toml), and
that language. Its own module: the sign-in modes (lib.auth_*) need these words too, and
lib.gui imports lib.auth, so they cannot come from lib.gui without an import circle."""

from __future__ import annotations

import copy

import streamlit as st

from lib import i18n

LANGUAGES = {"en": "English", "ja": "日本語"}
_UI = i18n.catalogue("ui")


def ui_text(key: str, lang: str | None = None, **values) -> str:
    """A sidebar or shared text in the viewer's language (or `lang`), values filled in."""
    return i18n.fill(_UI["texts"][key], lang or language(), **values)


def page_in_language(page):
    """An st.Page named in the viewer's language for the navigation. Only the shown title
    changes: the URL and the page's identity come from its url_path, and access mappings
    and the audit keep the English title (lib/auth.py maps it back)."""
    title = _UI["pages"].get(page.title)
    if title is None:
        return page
    shown = copy.copy(page)
    shown._title = i18n.pick(title, language())  # st.Page has no setter for its title
    return shown


def label(key: str, lang: str | None = None) -> str:
    """A filter field's label in the viewer's language."""
    return i18n.pick(_UI["labels"][key], lang or language())


def headings(frame, table: i18n.Table, lang: str | None = None):
    """A table with its column headings in the viewer's language (headings a catalogue
    table lists, by their English name; others as they are). Only for showing: rows and
    their order stay, so a selected row is the same row."""
    return frame.rename(columns=i18n.pick_all(table, lang or language()))


def language() -> str:
    """The Language box's choice; before the box is drawn in a run that opens a link, the
    link's (the box writes its label, 日本語, to the URL), so the sidebar above it follows."""
    chosen = st.session_state.get("lang")
    if chosen is None:
        in_link = st.query_params.get("lang")
        chosen = next((code for code, name in LANGUAGES.items() if in_link in (code, name)), None)
    return i18n.known(chosen)
