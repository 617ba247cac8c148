"""Data health: is every account, region and interface logged, and where can the logs not tell?"""

import streamlit as st

from lib import gui, health
from lib.present import plain
from lib.store.backends import StoreError

gui.leave_unless_signed_in()  # before anything is drawn (issue 21.8)
lang, zone = gui.language(), gui.viewer_zone()
st.title(health.health_text("title", lang))
st.caption(health.health_text("caption", lang))
filters = gui.current_filters()
if filters is None:
    st.stop()

scope = gui.user_scope()
results = gui.run_all({"hours": health.hours_query(filters, scope),
                       "gaps": health.gaps_query(filters, scope)})
if any(result is None for result in results.values()):
    st.stop()
try:
    report = health.collect(results["hours"].rows(), results["gaps"].rows(),
                            health.store_backend(gui.settings()), filters, scope, lang)
except (StoreError, OSError) as error:
    st.error(plain(health.health_text("store-error", lang, error=error)))
    st.stop()

for note in report.notes:
    st.info(note)
missing = health.missing_for(report)
if missing:
    st.warning(health.health_text("missing", lang, n=len(missing)))
skipped = health.overlapping(report.gaps)
if skipped:
    st.warning(health.health_text("skipped", lang, n=len(skipped)))
if report.gaps_limited:
    st.caption(health.health_text("limited", lang, n=health.GAP_LIMIT))

st.subheader(health.health_text("flow-logs", lang))
if report.flow_logs:
    st.dataframe(health.flow_logs_frame(report, zone, lang), hide_index=True, width="stretch")
else:
    st.info(health.health_text("no-objects", lang))

st.subheader(health.health_text("gaps", lang))
if report.gaps:
    st.dataframe(health.gaps_frame(report.gaps, zone, lang), hide_index=True, width="stretch")
else:
    st.info(health.health_text("no-gaps", lang))

st.subheader(health.health_text("hours", lang))
if report.hours:
    st.altair_chart(health.hours_chart(report, lang), width="stretch")
    st.dataframe(health.hours_frame(report, zone, lang), hide_index=True, width="stretch")
