"""Records: browse the stored objects, read one page by page, decode pasted lines."""

import streamlit as st

from lib import audit, auth, gui, objects, records
from lib.present import plain

SEARCH_PAGE = "pages/search.py"
PAGE_SIZES = (50, 100, 500, 1000)

gui.leave_unless_signed_in()  # before anything is drawn (issue 21.8)
st.title("Records")
lang = gui.language()
browse_tab, paste_tab = st.tabs(["Browse stored objects", "Decode pasted lines"])


def search_button(row: records.Row, key: str) -> None:
    """One click to Search for this record's flow; filters are set in the click callback
    because the sidebar widgets already exist when the page body runs."""
    params = records.search_params(row)
    if params is None:
        return
    if st.button("Open this flow in Search", key=key, on_click=gui.set_filters, args=(params,),
                 help="Source, destination, ports and protocol of this record, "
                      f"{records.SEARCH_MARGIN_S // 60} minutes either side of its time."):
        st.switch_page(SEARCH_PAGE)


def show_row(row: records.Row, key: str) -> None:
    """One record explained field by field, or a malformed line laid out field by field."""
    st.code(row.raw or " ", language=None, wrap_lines=True)
    if row.error is not None:
        st.error(f"Line {row.line} is not a valid record: {plain(row.error)}")
        st.dataframe(records.misalignment(row), hide_index=True, width="stretch")
        return
    if row.assumed:
        st.caption("No header line: read as the default (v2) format.")
    st.dataframe(records.explain_table(row, lang), hide_index=True, width="stretch")
    search_button(row, key)


def pick(column, label: str, folders: list[objects.Folder], key: str) -> objects.Folder:
    """A folder of the layout picked by the user; the script stops when there is none."""
    by_label = {f.label: f for f in folders}
    if not by_label:
        st.info(f"Nothing stored here: no {label.split()[0].lower()} folders.")
        st.stop()
    return by_label[column.selectbox(label, list(by_label), key=key)]


# The paste tab is drawn first: the browse tab stops the script when there is nothing to
# browse (or no access), and decoding pasted lines must keep working then.
with paste_tab:
    text = st.text_area("Flow log lines", key="paste_text", height=150,
                        placeholder="2 123456789012 eni-0a1b2c3d 10.0.0.5 10.0.1.9 40001 443 6 "
                                    "10 840 1790000000 1790000060 ACCEPT OK")
    choice = st.selectbox("Format", records.FORMAT_CHOICES, key="paste_format",
                          help="Without a header line the lines are read in the chosen format.")
    custom = ""
    if choice == records.CUSTOM_CHOICE:
        custom = st.text_input("Field list", key="paste_fields",
                               placeholder="${version} ${srcaddr} ${dstaddr} … or version "
                                           "srcaddr dstaddr …")
    try:
        fmt, fmt_ok = records.chosen_format(choice, custom), True
    except ValueError as error:
        st.error(f"Field list: {plain(error)}")
        fmt, fmt_ok = None, False
    if text.strip() and fmt_ok:
        pasted, cut = records.decode_pasted(text, fmt)
        if cut:
            st.warning(f"Only the first {len(pasted):,} records are decoded.")
        if not pasted:
            st.info("No records in the text (only a header, blank or comment lines).")
        for row in pasted:
            label = f"Line {row.line}: {plain(records.summary(row, lang))}"
            with st.expander(label, expanded=len(pasted) <= 5 or row.error is not None):
                show_row(row, key=f"paste_search_{row.line}")

with browse_tab:
    store = objects.open_store(gui.settings(), gui.user_scope())
    st.caption(f"Stored objects in {plain(store.location)}")

    try:
        cols = st.columns(4)
        account = pick(cols[0], "Account", store.accounts(), "rec_account")
        region = pick(cols[1], "Region", store.regions(account), "rec_region")
        date = pick(cols[2], "Date (UTC)", store.dates(region), "rec_date")
        hours = store.hours(date)
        folder = pick(cols[3], "Hour (UTC)", hours, "rec_hour") if hours else date
        stored = store.objects(folder)
    except (objects.StoreError, objects.OutOfScope) as error:
        st.error(plain(error))
        st.stop()
    if not stored:
        st.info("No objects in this folder.")
        st.stop()

    zone = gui.viewer_zone()
    by_name = {o.name: o for o in stored}
    listed = (f"the first {len(stored):,} in this folder" if len(stored) >= objects.OBJECT_LIMIT
              else f"{len(stored):,} in this folder")
    name = st.selectbox(f"Object ({listed})", list(by_name), key="rec_object",
                        format_func=lambda n: records.object_label(by_name[n], zone),
                        on_change=lambda: st.session_state.update(rec_page=1))
    obj = by_name[name]
    st.caption(f"{plain(obj.name)} · {plain(records.object_label(obj, zone))}")

    size_col, page_col, filter_col = st.columns([1, 1, 3])
    size = size_col.selectbox("Records per page", PAGE_SIZES, index=1, key="rec_size")
    number = page_col.number_input("Page", min_value=1, step=1, key="rec_page")
    query = filter_col.text_input(
        "Filter this page", key="rec_filter",
        help="Words found in the line (quotes keep spaces) and field=value or field!=value, "
             "all of which must match: 'dstport=443 action=REJECT', 'protocol=tcp', "
             "'log-status=NODATA'.")

    try:  # audited: who read which object (issue 21)
        page = audit.read_audited(gui.settings(), auth.signed_in_user().name,
                                  auth.current_page(), store, obj, int(number), int(size))
    except audit.AuditError as error:
        st.error(f"{plain(error)}. Records are withheld until the audit trail works again.")
        st.stop()
    if page.error:
        st.error(f"{plain(obj.name)} could not be read to the end of this page: {plain(page.error)}. "
                 "The records before the problem are shown; the rest of the page works.")
    st.caption(records.page_caption(page.first, len(page.rows), page.more, page.bytes_read,
                                    obj.size))

    try:
        rows = records.filter_rows(page.rows, query)
    except records.FilterError as error:
        st.warning(f"Filter: {plain(error)}")
        rows = page.rows
    if query and page.rows:
        st.caption(f"{len(rows):,} of {len(page.rows):,} records on this page match the filter")

    raw_col, parsed_col = st.columns(2)
    raw_col.markdown("**Raw lines**")
    raw_col.dataframe(records.raw_table(rows), hide_index=True, width="stretch")
    parsed_col.markdown("**Parsed** (select a row to explain it)")
    picked = parsed_col.dataframe(records.parsed_table(rows, lang), hide_index=True,
                                  on_select="rerun", selection_mode="single-row",
                                  key="rec_table", width="stretch")
    chosen = picked.selection.rows if picked else []
    if rows:
        row = rows[chosen[0]] if chosen and chosen[0] < len(rows) else rows[0]
        st.subheader(f"Line {row.line} explained")
        show_row(row, key="rec_search")
