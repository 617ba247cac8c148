"""Connection check: did traffic from A to B get through, and if not, where was it stopped?"""

import streamlit as st

from lib import check, gui, i18n, present, rulehints, timeutil
from lib.check.view import evidence_by_measure
from lib.engines import data_dir
from lib.filters import InvalidFilters
from lib.present import plain

TEXTS = i18n.catalogue("checkpage")
SEARCH_COLUMNS = i18n.catalogue("search")["columns"]
ALERTS = {"connected": st.success, "intermittent": st.warning, "refused": st.warning,
          "no-response": st.warning, "no-records": st.info, "incomplete-logs": st.warning}


def use_demo_case() -> None:
    """Fill the inputs and the sidebar's time range from the chosen demo case."""
    case = st.session_state.get("check_demo")
    if not case:
        return
    inputs = check.demo_inputs(case)
    for key, widget in check.WIDGET_KEYS.items():
        st.session_state[widget] = inputs[key]
    for key in ("start", "end"):
        st.session_state[key] = timeutil.format_iso(int(inputs[key]), gui.viewer_zone())


gui.leave_unless_signed_in()  # before anything is drawn (issue 21.8)
lang = gui.language()
LABELS = i18n.pick_all(TEXTS["labels"], lang)
HELP = i18n.pick_all(TEXTS["help"], lang)


def say(key: str, **values) -> str:
    return i18n.fill(TEXTS["texts"][key], lang, **values)


st.title(say("title"))
st.caption(say("caption"))

config = gui.settings()
cases = check.demo_cases(data_dir(config)) if config.engine == "duckdb" else []
if cases:
    st.selectbox(say("demo"), cases, index=None, key="check_demo",
                 format_func=lambda c: f"{c['name']}: {c['src']} → {c['dst']}",
                 placeholder=say("demo-placeholder"), on_change=use_demo_case)

left, right = st.columns(2)
for column, key in ((left, "src"), (right, "dst"), (left, "dst_port"), (right, "protocol")):
    column.text_input(LABELS[key], key=check.WIDGET_KEYS[key], help=HELP[key],
                      bind="query-params")

raw = {**gui.raw_filters(), **{k: st.session_state.get(w) for k, w in check.WIDGET_KEYS.items()}}
if not (raw["src"] or "").strip() or not (raw["dst"] or "").strip():
    st.info(say("enter"))
    st.stop()
try:
    filters = check.parse_check(raw)
except InvalidFilters as invalid:
    for key, message in invalid.messages(lang).items():
        field = LABELS.get(key) or (gui.label(key, lang) if key in gui.LABELS else key)
        st.error(f"{field}: {plain(message)}")
    st.stop()

# The check's records and, beside them, what the logs could not see (issue 22).
scope = gui.user_scope()
results = gui.run_all({"check": check.check_query(filters, scope),
                       **check.context_queries(filters, scope)})
if any(found is None for found in results.values()):
    st.stop()
result = results.pop("check")
rows = result.rows()
spec = check.CheckSpec.from_filters(filters)
zone = gui.viewer_zone()
verdict = check.judge(rows, spec, lang=lang, now=timeutil.now(), zone=zone,
                      limit=check.CHECK_LIMIT,
                      context={name: found.rows() for name, found in results.items()})

# The words hold addresses, interface IDs and values read from the logs: text, not Markdown.
ALERTS.get(verdict.code, st.error)(f"**{plain(verdict.message)}**")
st.caption(say("verdict", code=verdict.code) + gui.query_caption(result))
st.markdown("\n".join(f"- {plain(reason)}" for reason in verdict.reasons))

# Which security group or network ACL blocks it today (issue 18): only with an inventory.
if verdict.code in rulehints.HINTED_VERDICTS and rulehints.inventory_configured(config):
    with st.spinner(rulehints.text("reading", lang)):
        hints = rulehints.check_hints(config, filters, rows, verdict.code, lang, zone, scope=scope)
    st.subheader(rulehints.text("heading", lang))
    st.markdown("\n".join(f"- {plain(note)}" for note in hints["rules_notes"]))
    for error in hints["rules_errors"]:
        st.warning(plain(error))

gaps = check.gaps_table(verdict, zone)
if gaps is not None:
    st.subheader(i18n.pick(check.words.WORDS["gaps-heading"], lang))
    st.dataframe(gaps, hide_index=True, width="stretch")
if rows:
    st.subheader(say("evidence"))
    # Tables of text (st.table wraps it), not grids: nothing is cut off (issue 19.5).
    gui.text_table(evidence_by_measure(verdict, zone), hide_index=False)
    gui.text_table(check.interfaces_table(verdict))
    st.altair_chart(check.timeline_chart(rows, spec, zone, lang), width="stretch")
    st.subheader(say("proof"))
    for number, group in enumerate(verdict.evidence["proof"]):
        label = plain(check.proof_label(group, lang))
        if st.button(say("open", label=label), key=f"check_proof_{number}"):
            gui.drill_down(group["search"])
        with st.expander(say("keys", label=label)):
            st.code("\n".join(group["keys"]), language=None)
    st.dataframe(gui.headings(present.search_summary(rows, zone), SEARCH_COLUMNS, lang),
                 hide_index=True, width="stretch")

st.caption(say("share"))
# The sidebar's language box writes its label to the URL, the zone box the zone name.
link = check.share_query(filters, {"lang": gui.LANGUAGES.get(lang, ""), "tz": zone})
st.code(f"{(st.context.url or '').split('?')[0]}?{link}", language=None)
gui.show_result_notes(result)
