"""Flowscope: the frame. Page config, sign-in, shared sidebar filters, navigation."""

import streamlit as st

from lib import gui

st.set_page_config(page_title="Flowscope", page_icon=":material/lan:", layout="wide")

gui.prepare_data()
gui.sidebar_filters(*gui.known_accounts_and_regions())

PAGES = [
    st.Page("pages/search.py", title="Search", icon=":material/search:", default=True),
]
st.navigation(PAGES).run()
