"""Flowscope: the frame. Page config, sign-in, shared sidebar filters, navigation."""

import streamlit as st

from lib import auth, gui

PAGES = [
    st.Page("pages/search.py", title="Search", icon=":material/search:", default=True),
    st.Page("pages/check.py", title="Connection check", icon=":material/troubleshoot:"),
    st.Page("pages/traffic.py", title="Traffic", icon=":material/bar_chart:"),
    st.Page("pages/explore.py", title="Explore", icon=":material/query_stats:"),
    st.Page("pages/cost.py", title="Cost", icon=":material/payments:"),
    st.Page("pages/records.py", title="Records", icon=":material/description:"),
    st.Page("pages/health.py", title="Data health", icon=":material/monitor_heart:"),
]

# An emoji favicon is drawn in the browser; a ":material/…" one is fetched from
# fonts.gstatic.com, which an internal network blocks (a console error on every page).
st.set_page_config(page_title="Flowscope", page_icon="🌐", layout="wide")
# Nothing but the sign-in until the visitor is signed in; sets the user's account scope.
user = auth.gate(gui.settings(), PAGES)

gui.prepare_data()
page = auth.navigation(PAGES, user)  # only the pages this user may open
gui.sidebar_filters(*gui.known_accounts_and_regions())  # after: it knows the page (issue 19.12)
gui.saved_views_box()  # after the navigation: it saves the page being shown
page.run()
