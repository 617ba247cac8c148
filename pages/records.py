"""Records: browse the stored objects, read one page by page, decode pasted lines."""

import streamlit as st

from lib import audit, auth, gui, i18n, objects, records
from lib.present import plain

TEXTS = i18n.catalogue("records")

SEARCH_PAGE = "pages/search.py"
PAGE_SIZES = (50, 100, 500, 1000)

gui.leave_unless_signed_in()  # before anything is drawn (issue 21.8)
lang = gui.language()


def say(key: str, **values) -> str:
    return i18n.fill(TEXTS["texts"][key], lang, **values)


def shown(frame):
    """A table with its headings in the viewer's language (only for showing)."""
    return gui.headings(frame, TEXTS["columns"], lang)


def format_name(choice: str) -> str:
    """A format box choice in the viewer's language; version names stay as they are."""
    if choice == records.HEADER_CHOICE:
        return i18n.pick(TEXTS["choices"]["header"], lang)
    if choice == records.CUSTOM_CHOICE:
        return i18n.pick(TEXTS["choices"]["custom"], lang)
    version = choice.split()[0]
    texts = TEXTS["choices"]["default" if "(default)" in choice else "up-to"]
    named = i18n.fill(texts, "en", version=version)
    return i18n.fill(texts, lang, version=version) if named == choice else choice


st.title(say("title"))
browse_tab, paste_tab = st.tabs([say("browse"), say("paste")])


def search_button(row: records.Row, key: str) -> None:
    """One click to Search for this record's flow; filters are set in the click callback
    because the sidebar widgets already exist when the page body runs."""
    params = records.search_params(row)
    if params is None:
        return
    if st.button(say("open-in-search"), key=key, on_click=gui.set_filters, args=(params,),
                 help=say("open-help", minutes=records.SEARCH_MARGIN_S // 60)):
        st.switch_page(SEARCH_PAGE)


def show_row(row: records.Row, key: str) -> None:
    """One record explained field by field, or a malformed line laid out field by field."""
    st.code(row.raw or " ", language=None, wrap_lines=True)
    if row.error is not None:
        st.error(say("not-valid", line=row.line, error=plain(row.error)))
        gui.text_table(shown(records.misalignment(row)))
        return
    if row.assumed:
        st.caption(say("no-header"))
    # A table of text (st.table wraps it), not a grid: the explanations were cut off
    # (issue 19.5).
    gui.text_table(shown(records.explain_table(row, lang)))
    search_button(row, key)


def pick(column, label: str, folders: list[objects.Level], key: str) -> objects.Level:
    """A folder of the layout picked by the user; the script stops when there is none."""
    by_label = {f.label: f for f in folders}
    if not by_label:
        st.info(say("nothing-stored", what=label.split()[0].lower() if lang == "en" else
                    label.split("（")[0]))
        st.stop()
    return by_label[column.selectbox(label, list(by_label), key=key)]


def page_caption(page, size: int | None) -> str:
    """'records 101–200 · more follow · 96.0 KB of 104.9 MB fetched', in the viewer's
    language."""
    count = len(page.rows)
    parts = [say("records-range", first=f"{page.first:,}", last=f"{page.first + count - 1:,}")
             if count else say("no-records-on-page")]
    if page.more:
        parts.append(say("more-follow"))
    if page.bytes_read is not None:
        parts.append(say("fetched", fetched=records.human_size(page.bytes_read),
                         size=records.human_size(size)))
    return " · ".join(parts)


# The paste tab is drawn first: the browse tab stops the script when there is nothing to
# browse (or no access), and decoding pasted lines must keep working then.
with paste_tab:
    text = st.text_area(say("lines"), key="paste_text", height=150,
                        placeholder="2 123456789012 eni-0a1b2c3d 10.0.0.5 10.0.1.9 40001 443 6 "
                                    "10 840 1790000000 1790000060 ACCEPT OK")
    choice = st.selectbox(say("format"), records.FORMAT_CHOICES, key="paste_format",
                          format_func=format_name, help=say("format-help"))
    custom = ""
    if choice == records.CUSTOM_CHOICE:
        custom = st.text_input(say("field-list"), key="paste_fields",
                               placeholder="${version} ${srcaddr} ${dstaddr} … or version "
                                           "srcaddr dstaddr …")
    try:
        fmt, fmt_ok = records.chosen_format(choice, custom), True
    except ValueError as error:
        st.error(say("field-list-error", error=plain(error)))
        fmt, fmt_ok = None, False
    if text.strip() and fmt_ok:
        pasted, cut = records.decode_pasted(text, fmt)
        if cut:
            st.warning(say("first-only", count=f"{len(pasted):,}"))
        if not pasted:
            st.info(say("no-records"))
        for row in pasted:
            label = say("line", line=row.line, summary=plain(records.summary(row, lang)))
            with st.expander(label, expanded=len(pasted) <= 5 or row.error is not None):
                show_row(row, key=f"paste_search_{row.line}")

with browse_tab:
    store = objects.open_store(gui.settings(), gui.user_scope())
    st.caption(say("stored-in", location=plain(store.location)))

    try:
        cols = st.columns(4)
        account = pick(cols[0], say("account"), store.accounts(), "rec_account")
        region = pick(cols[1], say("region"), store.regions(account), "rec_region")
        date = pick(cols[2], say("date"), store.dates(region), "rec_date")
        hours = store.hours(date)
        folder = pick(cols[3], say("hour"), hours, "rec_hour") if hours else date
        stored = store.objects(folder)
    except (objects.StoreError, objects.OutOfScope) as error:
        st.error(plain(error))
        st.stop()
    if not stored:
        st.info(say("no-objects"))
        st.stop()

    zone = gui.viewer_zone()
    by_name = {o.name: o for o in stored}
    listed = say("listed-first" if len(stored) >= objects.OBJECT_LIMIT else "listed",
                 count=f"{len(stored):,}")
    name = st.selectbox(say("object", listed=listed), list(by_name), key="rec_object",
                        format_func=lambda n: records.object_label(by_name[n], zone),
                        on_change=lambda: st.session_state.update(rec_page=1))
    obj = by_name[name]
    st.caption(f"{plain(obj.name)} · {plain(records.object_label(obj, zone))}")

    size_col, page_col, filter_col = st.columns([1, 1, 3])
    size = size_col.selectbox(say("per-page"), PAGE_SIZES, index=1, key="rec_size")
    number = page_col.number_input(say("page"), min_value=1, step=1, key="rec_page")
    query = filter_col.text_input(say("filter"), key="rec_filter", help=say("filter-help"))

    try:  # audited: who read which object (issue 21)
        page = audit.read_audited(gui.settings(), auth.signed_in_user().name,
                                  auth.current_page(), store, obj, int(number), int(size))
    except audit.AuditError as error:
        st.error(say("audit-withheld", error=plain(error)))
        st.stop()
    if page.error:
        st.error(say("read-error", name=plain(obj.name), error=plain(page.error)))
    st.caption(page_caption(page, obj.size))

    try:
        rows = records.filter_rows(page.rows, query)
    except records.FilterError as error:
        st.warning(say("filter-error", error=plain(error)))
        rows = page.rows
    if query and page.rows:
        st.caption(say("matching", matching=f"{len(rows):,}", total=f"{len(page.rows):,}"))

    raw_col, parsed_col = st.columns(2)
    raw_col.markdown(f"**{say('raw')}**")
    raw_col.dataframe(shown(records.raw_table(rows)), hide_index=True, width="stretch")
    parsed_col.markdown(say("parsed"))
    picked = parsed_col.dataframe(shown(records.parsed_table(rows, lang)), hide_index=True,
                                  on_select="rerun", selection_mode="single-row",
                                  key="rec_table", width="stretch")
    chosen = picked.selection.rows if picked else []
    if rows:
        row = rows[chosen[0]] if chosen and chosen[0] < len(rows) else rows[0]
        st.subheader(say("explained", line=row.line))
        show_row(row, key="rec_search")
