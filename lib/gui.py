"""Streamlit pieces shared by the pages: the sidebar filters, the engine, running a query.

Filter widgets are bound to the URL query string (``bind="query-params"``; the widget key
is the parameter name), so the address bar always holds the whole search and a link
reopens it. Times in the URL are absolute (epoch seconds), so a shared link shows the
same records later; the quick-range picker only fills them in.
"""

from __future__ import annotations

import functools
import sqlite3
import threading
from collections import Counter
from contextlib import contextmanager
from dataclasses import replace

import streamlit as st

from lib import audit, auth, i18n, timeutil
from lib.config import Settings, load_settings
from lib.engines import EngineError, Result, get_engine
from lib.filters import KEYS, Filters, InvalidFilters, parse_filters
from lib.present import plain
from lib.query import Query, QueryError, Scope

# The frame's words and the viewer's language live in lib.uitext (the sign-in modes use them
# too); the pages keep reading them here.
from lib.uitext import _UI, LANGUAGES, label, language, ui_text
from lib.uitext import headings as headings
from lib.uitext import page_in_language as page_in_language

ZONES = ["UTC", "Asia/Tokyo", "Europe/London", "Europe/Berlin", "America/New_York",
         "America/Chicago", "America/Los_Angeles", "Asia/Singapore", "Australia/Sydney"]
QUICK_RANGES = {"15m": 15 * 60, "1h": 3600, "24h": 86400, "7d": 7 * 86400}
# The words are in lib/texts/ui.toml (see lib/i18n.py); widget keys never change with them.
# English, by key: what other modules and tests name the fields by.
QUICK_LABELS = i18n.pick_all(_UI["quick"], "en")
LABELS = i18n.pick_all(_UI["labels"], "en")
HELP = i18n.pick_all(_UI["help"], "en")


def _help(key: str) -> str | None:
    return i18n.pick(_UI["help"][key], language()) if key in _UI["help"] else None


def settings() -> Settings:
    return load_settings()


@st.cache_resource(show_spinner=False)
def _engine_for(config: Settings):
    return get_engine(config)


def engine():
    """One engine per configuration and process: it opens its connection on first query."""
    return _engine_for(settings())


def viewer_zone() -> str:
    return st.session_state.get("tz") or st.context.timezone or "UTC"


def user_scope() -> Scope:
    """The signed-in user's accounts; set by the sign-in gate in app.py. Without the gate
    (a page run on its own) no account at all."""
    leave_unless_signed_in()
    return st.session_state.get("scope", Scope(frozenset()))


def leave_unless_signed_in() -> None:
    """A page that ran without app.py's sign-in gate runs again, this time through app.py
    (see lib.auth.no_pages_folder_mode: two first requests on a new server at once). A page
    file run on its own (an AppTest of that file) sees nothing."""
    if auth.signed_in_user() is None and auth.in_app_run():
        auth.restart_as_app_run()
        st.rerun()  # restarted once already: run again all the same, never ungated


def _set_quick_range() -> None:
    choice = st.session_state.get("quick_range")
    if choice in QUICK_RANGES:
        fill_range(QUICK_RANGES[choice])


def fill_range(seconds: int, end: int | None = None) -> None:
    """Set the From/To fields to an absolute range ending now (minute-aligned)."""
    end = end if end is not None else timeutil.now() // 60 * 60 + 60
    zone = viewer_zone()
    st.session_state["start"] = timeutil.format_iso(end - seconds, zone)
    st.session_state["end"] = timeutil.format_iso(end, zone)


def set_filters(raw: dict[str, str]) -> None:
    """Replace the sidebar filters (drill-down from another page), before switch_page."""
    for key in KEYS:
        value = raw.get(key, "")
        st.session_state[key] = [v for v in value.split(",") if v] if key in (
            "account", "region") else value
    st.session_state["start"] = timeutil.format_iso(int(raw["start"]), viewer_zone())
    st.session_state["end"] = timeutil.format_iso(int(raw["end"]), viewer_zone())


PENDING_FILTERS = "_pending_filters"  # session state: filters a drill-down opens


def drill_down(raw: dict[str, str], page: str = "pages/search.py") -> None:
    """Open `page` with the sidebar filters replaced by `raw` (a click on a chart).

    A page runs after the sidebar is drawn, and Streamlit refuses to change a drawn
    widget's value: the filters wait in session state and sidebar_filters() applies them
    on the next run, before drawing. `query_params={}`: switch_page's default clears the
    URL, which Streamlit refuses while widgets are bound to it (the widgets refill it).
    """
    st.session_state[PENDING_FILTERS] = dict(raw)
    # The way back: the page it was drilled from and that page's filters (issue 19.9).
    trail = st.session_state.setdefault(DRILL_TRAIL, [])
    trail[:] = [*trail[-(DRILL_TRAIL_MAX - 1):], (auth.current_page(), raw_filters())]
    st.switch_page(page, query_params={})


DRILL_TRAIL = "_drill_trail"  # session state: [(page, its filters)] before each drill-down
DRILL_TRAIL_MAX = 20


def _back_from_drill_down() -> None:
    """Browser Back from a drill-down: the earlier page with its earlier filters.

    The filters live in session state, shared by every page, and a value set in code
    outlives the address: Back showed the drill-down's filters on the previous page and
    wrote them into its address. A run that comes from the browser's history (Back,
    Forward) on the page a drill-down left puts that page's filters back, before the
    sidebar is drawn. Any other run (a click on the navigation, a typed filter) keeps the
    filters as they are."""
    trail = st.session_state.get(DRILL_TRAIL)
    if not trail or not _from_browser_history():
        return
    page, left = trail[-1]
    if page == auth.current_page():
        trail.pop()
        st.session_state.update(left)
        # This run would still fill the fields from the address, which the browser gave
        # with the drill-down's filters; the next run writes them from session state.
        st.rerun()


def _from_browser_history() -> bool:
    """Whether this run was caused by the browser's Back or Forward (Streamlit knows, but
    says so only in the run's context)."""
    from streamlit.runtime.scriptrunner_utils.script_run_context import get_script_run_ctx

    context = get_script_run_ctx()
    return bool(context and getattr(context, "is_history_navigation", False))


# Pages whose content the filters do not narrow (Records browses stored objects and decodes
# pasted lines): there the filters sit in a collapsed box that says so (issue 19.12). They are
# still drawn, so their values and the URL survive the visit.
FILTERS_UNUSED_ON = {"Records": i18n.catalogue("records")["sidebar"]["filters-unused"]}


def sidebar_filters(known_accounts: list[str], known_regions: list[str]) -> None:
    """Draw the shared filter widgets; their values live in session state and the URL."""
    pending = st.session_state.pop(PENDING_FILTERS, None)
    if pending:
        set_filters(pending)
    else:
        _back_from_drill_down()
    _readable_times()
    if not st.session_state.get("start") and not st.session_state.get("end"):
        fill_range(86400, end=st.session_state.get("default_end"))
    lang = language()
    unused = FILTERS_UNUSED_ON.get(auth.current_page())
    side = st.sidebar.expander(i18n.pick(unused, lang)) if unused else st.sidebar
    _filter_widgets(side, known_accounts, known_regions, lang, nested=unused is None)
    st.sidebar.selectbox(ui_text("zone"), _zones(), key="tz", bind="query-params")
    st.sidebar.selectbox(ui_text("language"), list(LANGUAGES), key="lang",
                         format_func=LANGUAGES.get, bind="query-params")
    st.sidebar.button(ui_text("refresh"), key=REFRESH_KEY, help=ui_text("refresh-help"))


def _filter_widgets(side, known_accounts: list[str], known_regions: list[str], lang: str,
                    nested: bool) -> None:
    """The filters in `side` (the sidebar, or a box in it: then no box inside, which
    Streamlit refuses)."""
    quick = i18n.pick_all(_UI["quick"], lang)
    side.selectbox(ui_text("quick-range"), list(QUICK_RANGES), index=None, key="quick_range",
                   format_func=quick.get, placeholder=ui_text("quick-placeholder"),
                   on_change=_set_quick_range)
    for key in ("start", "end"):
        side.text_input(label(key), key=key, help=_help(key), bind="query-params")
        _error_slot(key, side)
    side.multiselect(label("account"), known_accounts, key="account", bind="query-params",
                     accept_new_options=True, placeholder=ui_text("all-accounts"))
    _error_slot("account", side)
    side.multiselect(label("region"), known_regions, key="region", bind="query-params",
                     accept_new_options=True, placeholder=ui_text("all-regions"))
    _error_slot("region", side)
    for key in ("src", "dst", "src_port", "dst_port", "protocol"):
        side.text_input(label(key), key=key, help=_help(key), bind="query-params")
        _error_slot(key, side)
    any_action = ui_text("any-action")
    side.selectbox(label("action"), ["", "ACCEPT", "REJECT"], key="action",
                   format_func=lambda a: a or any_action, bind="query-params")
    _error_slot("action", side)
    ids = side.expander(ui_text("more-ids")) if nested else side
    for key in ("eni", "vpc", "subnet"):
        ids.text_input(label(key), key=key, bind="query-params")
        _error_slot(key, ids)


# The sidebar's refresh button: True during the one run after it is clicked.
REFRESH_KEY = "refresh_results"


def _readable_times() -> None:
    """From/To given as epoch seconds (a hand-made link, or typed) are shown as ISO times in
    the viewer's zone, and the address follows. A link's first run rewrites the address and
    runs again at once: Streamlit fills URL-bound fields from the address the run began
    with, whatever session state holds, so only a new run shows the rewritten time."""
    rewrote_link = False
    for key in ("start", "end"):
        value = st.session_state.get(key)
        if isinstance(value, str) and value.strip().isdigit():
            st.session_state[key] = timeutil.format_iso(int(value), viewer_zone())
        in_link = st.query_params.get(key)
        if key not in st.session_state and in_link and in_link.strip().isdigit():
            st.query_params[key] = timeutil.format_iso(int(in_link), viewer_zone())
            rewrote_link = True
    if rewrote_link:
        st.rerun()


def _zones() -> list[str]:
    """The browser's zone first, so the box starts on the zone the From/To fields and the
    results already use (viewer_zone() before the box exists); never listed twice."""
    browser = st.context.timezone
    return ([browser] if browser else []) + [z for z in ZONES if z != browser]


def _error_slot(key: str, where=None) -> None:
    """A place under the field `key` (in `where`, the sidebar by default) for its error."""
    st.session_state.setdefault("_error_slots", {})[key] = (where or st.sidebar).empty()


def raw_filters() -> dict:
    return {key: st.session_state.get(key) for key in KEYS}


def current_filters() -> Filters | None:
    """The validated sidebar filters, or None after showing each error beside its field."""
    leave_unless_signed_in()
    try:
        return parse_filters(raw_filters(), settings().max_range_days)
    except InvalidFilters as invalid:
        slots = st.session_state.get("_error_slots", {})
        said = []
        for key, message in invalid.messages(language()).items():
            slot = slots.get(key)
            field = label(key) if key in LABELS else key
            said.append(f"{plain(field)}: {plain(message)}")
            (slot.error if slot else st.sidebar.error)(said[-1])
        # The messages themselves at the top of the page too: the sidebar's may be out of
        # sight, below the fold (issue 19.12).
        st.warning(ui_text("invalid-filters") + "\n\n" + "\n".join(f"- {m}" for m in said))
        return None


class TooManyQueries(RuntimeError):
    """The user already has as many queries running as the setting allows."""

    def __init__(self, running: int, limit: int):
        self.running, self.limit = running, limit
        super().__init__(ui_text("too-many", "en", running=running, limit=limit))

    def message(self, lang: str) -> str:
        return ui_text("too-many", lang, running=self.running, limit=self.limit)


class UserSlots:
    """Queries running now, per user, over every session and tab of this server process."""

    def __init__(self):
        self._lock = threading.Lock()
        self._running: Counter[str] = Counter()

    def running(self, user: str) -> int:
        with self._lock:
            return self._running[user]

    @contextmanager
    def take(self, user: str, limit: int):
        """Hold one of the user's ``limit`` slots while the block runs (0: no limit)."""
        with self._lock:
            if limit > 0 and self._running[user] >= limit:
                raise TooManyQueries(self._running[user], limit)
            self._running[user] += 1
        try:
            yield
        finally:
            with self._lock:
                self._running[user] -= 1
                if self._running[user] <= 0:
                    del self._running[user]


QUERY_SLOTS = UserSlots()  # module state: shared by every session of the process


def _signed_in_user():
    """The user who passed the gate, or None after saying so."""
    leave_unless_signed_in()
    user = auth.signed_in_user()
    if user is None:
        st.warning(ui_text("sign-in-first"))
    return user


def _in_session_scope(query: Query) -> Query:
    """The query narrowed to the session's own scope: a query never reads more than the
    signed-in user may see, whatever scope the page gave it (no session scope: nothing)."""
    return replace(query, scope=user_scope().narrowed_to(query.scope))


def _show_failure(error: Exception) -> None:
    if isinstance(error, audit.AuditError):
        st.error(ui_text("audit-withheld", error=plain(error)))
    else:
        st.error(plain(error))


def _warn_out_of_scope(queries) -> None:
    hidden = sorted({a for q in queries for a in auth.out_of_scope(q)})
    if hidden:
        st.warning(ui_text("out-of-scope", accounts=plain(", ".join(hidden))))


def run_query(query: Query) -> Result | None:
    """Run a query on the configured engine, audited; failures become messages on the page.
    Only for a user who passed the sign-in gate, within the session's scope; results are
    withheld if the audit trail cannot be written."""
    return run_all({"query": query})["query"]


def _budgeted(run_query, user: str, refresh: bool):
    """The user's daily Athena scan budget (athena_user_daily_bytes): checked before a
    query that is not cached, charged with what it scanned. (Safe in worker threads.)"""
    from lib.engines.athena import BUDGET

    config, cached_engine = settings(), engine()

    def run(query):
        if refresh or cached_engine.cache.get(cached_engine.cache_key(query)) is None:
            BUDGET.check(config, user)
        result = run_query(query)
        BUDGET.spend(user, result)
        return result

    return run


def run_all(queries: dict) -> dict:
    """Independent queries at once (a page view's), audited, with one progress line;
    {key: Result, or None where it failed (the failure is shown)}. The whole view holds one
    of the user's max_concurrent_queries_per_user slots. A rerun while they run stops them."""
    from lib import traffic

    user = _signed_in_user()
    if user is None:
        return dict.fromkeys(queries)
    queries = {key: _in_session_scope(query) for key, query in queries.items()}
    config, page, run = settings(), auth.current_page(), engine().run
    refresh = bool(st.session_state.get(REFRESH_KEY))
    states: dict = {}
    budgeted = _budgeted(lambda query: run_query(query), user.name, refresh)
    running = threading.local()  # each worker's own query runner (its own progress)

    def run_query(query):
        return running.run(query)

    def run_one(key, query, cancelled):
        def progress(state):
            states[key] = state
            if cancelled.is_set():
                raise traffic.Superseded

        running.run = functools.partial(run, refresh=refresh, progress=progress)
        return audit.run_audited(config, user.name, page, query, budgeted)

    line, lang = st.empty(), language()  # read once, not on every tick
    try:
        with QUERY_SLOTS.take(user.name, config.max_concurrent_queries_per_user):
            outcomes = traffic.run_concurrently(
                run_one, queries,
                tick=lambda: line.caption(plain(traffic.progress_line(states, lang))))
    except TooManyQueries as error:
        st.warning(error.message(language()))
        return dict.fromkeys(queries)
    finally:
        line.empty()
    results = {}
    for key, outcome in outcomes.items():
        results[key] = None
        if isinstance(outcome, audit.AuditError | EngineError | QueryError):
            _show_failure(outcome)
        elif isinstance(outcome, BaseException):
            raise outcome
        else:
            results[key] = outcome
    _warn_out_of_scope(queries.values())
    return results


def text_table(frame, hide_index: bool = True) -> None:
    """A table of text that wraps (st.table), for reading: st.table draws each cell as
    Markdown, so every cell, heading and row label goes through plain() first (values
    come from the logs and from pasted lines)."""
    shown = frame.map(plain)
    shown.columns = [plain(c) for c in shown.columns]
    shown.index = [plain(i) for i in shown.index]
    st.table(shown, hide_index=hide_index)


def query_caption(result: Result) -> str:
    rows = result.table.num_rows
    parts = [ui_text("rows-one" if rows == 1 else "rows", rows=f"{rows:,}"),
             f"{result.elapsed_s:.2f} s", result.engine]
    if result.cache_hit:  # what the first run cost is not what this one cost
        parts.append(ui_text("from-cache-athena" if result.engine == "athena" else "from-cache"))
    else:
        if result.scanned_bytes is not None:
            parts.append(ui_text("scanned", mb=f"{result.scanned_bytes / 1e6:,.1f}"))
        if result.cost_usd is not None:
            parts.append(f"${result.cost_usd:,.4f}")
    if result.reused_result:
        parts.append(ui_text("reused"))
    return " · ".join(parts)


def show_result_notes(result: Result) -> None:
    """The query's SQL on request, and anything that was left out."""
    if result.skipped:
        st.warning(ui_text("skipped", count=len(result.skipped)) + "\n\n"
                   + "\n".join(f"- {plain(s)}" for s in result.skipped[:20]))
    with st.expander(ui_text("sql")):
        st.code(result.sql if len(result.sql) < 50_000 else result.sql[:50_000] + "\n…",
                language="sql")


def prepare_data() -> None:
    """With no configured data directory, make demo data on first start (progress shown)."""
    config = settings()
    if config.engine != "duckdb" or config.data_dir:
        _show_layout_warnings(config)
        refresh_columnar_cache(config)
        return
    from lib.demo import demo_info, ensure_demo_data

    if demo_info(config.demo_dir) is None:
        bar = st.progress(0.0, text=ui_text("creating-demo"))
        ensure_demo_data(config, progress=lambda done, text: bar.progress(min(done, 1.0), text))
        bar.empty()
    else:
        ensure_demo_data(config)
    st.session_state.setdefault("default_end", demo_info(config.demo_dir)["end"])
    refresh_columnar_cache(config)


@st.cache_resource(show_spinner=False)
def _layout_check(config: Settings):
    """One background check per configuration, shared by every session."""
    from lib.athena_ddl import LayoutCheck

    return LayoutCheck(config)


LAYOUT_CHECK_EVERY_S = 3600
LAYOUT_WAIT_S = 0.5  # a quick bucket answers within the first run; a slow one never holds it


def _show_layout_warnings(config: Settings) -> None:
    """Flow logs the Athena table would read with the wrong field order (sampled from the
    bucket once an hour per configuration, in the background: a large bucket's listing
    never holds up a page). Until the first check ends, a line says it runs."""
    if config.engine != "athena" or not config.s3_location:
        return
    check = _layout_check(config)
    check.refresh(every_s=LAYOUT_CHECK_EVERY_S)
    check.wait(LAYOUT_WAIT_S)
    if check.warnings is None:
        st.caption(ui_text("layout-checking"))
    for warning in check.warnings or ():
        st.warning(warning)


@st.cache_resource(show_spinner=False)
def _columnar_build(root: str, cache_dir: str):
    from lib.columnar import BackgroundBuild

    return BackgroundBuild(root, cache_dir)


def refresh_columnar_cache(config: Settings) -> None:
    """Bring the embedded engine's columnar cache up to date in the background (at most once
    a minute); queries stay correct meanwhile (objects not yet converted are read raw)."""
    if config.engine != "duckdb" or not config.columnar_cache:
        return
    from lib.columnar import cache_dir_for
    from lib.engines import data_dir

    root = data_dir(config)
    job = _columnar_build(root, str(cache_dir_for(config, root)))
    if job.refresh(every_s=60, throttle_s=0.01):
        job.wait(PROGRESS_AFTER_S)  # a build with nothing to convert ends here: nothing to draw
    if job.running and job.done > 0:  # converting (not just checking for new objects)
        _columnar_progress(job)
    elif job.error:
        st.sidebar.caption(ui_text("cache-failed", error=plain(job.error)))


PROGRESS_AFTER_S = 0.2


def _columnar_progress(job) -> None:
    """A sidebar line on the build's progress as of this run; it moves on the next click.
    No timer (``st.fragment(run_every=…)``) on purpose: it reran every open page every 2 s
    during a build, and at the build's end made all of them run in full at once."""
    st.sidebar.progress(min(job.done, 1.0),
                        text=ui_text("cache-progress", message=plain(job.message)))


@st.cache_data(ttl=60, show_spinner=False)
def _stored_accounts_and_regions(root: str) -> list[tuple[str, str]]:
    from lib.store import accounts_and_regions

    return accounts_and_regions(root)


@st.cache_data(ttl=300, show_spinner=False)
def _bucket_accounts_and_regions(location: str, scope_key: str, _config, _scope
                                 ) -> tuple[list[str], list[str]]:
    """The central bucket's account and region folders, as the Records page lists them.
    A bucket that cannot be listed gives no choices (accounts and regions can still be
    typed), and that too is kept a while: the sidebar is drawn on every rerun."""
    from lib import objects

    try:
        return objects.accounts_and_regions(objects.open_store(_config, _scope))
    except (objects.StoreError, objects.OutOfScope):
        return [], []


def known_accounts_and_regions() -> tuple[list[str], list[str]]:
    """Choices for the account and region filters: what the store holds, within scope
    (with Athena: the folders of s3_location, when it is set)."""
    config = settings()
    if config.engine != "duckdb":
        if not config.s3_location:
            return [], []
        scope = user_scope()
        return _bucket_accounts_and_regions(config.s3_location, scope.key, config, scope)
    from lib.engines import data_dir

    pairs = _stored_accounts_and_regions(data_dir(config))
    scope = user_scope()
    accounts = sorted({a for a, _ in pairs if scope.allows(a)})
    regions = sorted({r for a, r in pairs if scope.allows(a)})
    return accounts, regions


# --- saved views (issue 19; rules and storage in lib.views) -------------------------------

VIEW_PICK, VIEW_NAME, VIEW_GROUPS = "views_pick", "views_name", "views_groups"
_VIEW_NOTE = "_views_note"  # session state: (kind, text) the box shows once, after a change
_VIEW_SWITCH = "_views_switch"  # session state: the page an opened view goes to


def _viewer():
    from lib import views

    user = auth.signed_in_user()
    return views.Viewer(user.name, tuple(user.groups)) if user else None


def _page_file(title: str) -> str | None:
    from lib import views

    return next((path for path, t in views.app_pages().items() if t == title), None)


def _view_action(act) -> None:
    """Run one request on the views store (a button's callback); its outcome is noted for
    the box to show. Refusals and audit failures become messages, nothing is lost."""
    from lib import views

    viewer = _viewer()
    if viewer is None:
        return
    try:
        st.session_state[_VIEW_NOTE] = ("success", act(views.views_store(settings()), viewer))
    except views.ViewError as error:
        st.session_state[_VIEW_NOTE] = ("error", error.message(language()))
    except audit.AuditError as error:
        st.session_state[_VIEW_NOTE] = ("error", _view_text("audit-failed", error=str(error)))
    except (OSError, sqlite3.Error) as error:
        st.session_state[_VIEW_NOTE] = ("error", _view_text("unavailable", error=str(error)))


def _view_text(key: str, **values) -> str:
    from lib import views

    return i18n.fill(views.VIEW_TEXTS["texts"][key], language(), **values)


def _save_view() -> None:
    page = _page_file(auth.current_page())  # the page the button was clicked on

    def save(store, viewer):
        view = store.save(viewer, st.session_state.get(VIEW_NAME, ""), page or "",
                          _captured(page))
        st.session_state[VIEW_NAME] = ""  # saved: the field is free for the next one
        st.session_state[VIEW_PICK] = view.id
        return _view_text("saved", name=view.name)

    _view_action(save)


def _captured(page: str | None) -> dict:
    from lib import views

    return views.capture(page, st.session_state) if page else {}


def _open_view() -> None:
    """Put the view's values into the widgets (a callback runs before any widget is drawn,
    so this is allowed) and note its page; the box then switches to it."""
    def open_(store, viewer):
        from lib import views

        view = store.get(viewer, st.session_state.get(VIEW_PICK))
        if not auth.signed_in_user().grant.allows_page(views.app_pages()[view.page]):
            raise views.ViewError("page-not-allowed")
        view = store.open(viewer, view.id)  # audited
        for key, value in views.restored(view).items():
            st.session_state[key] = value
        st.session_state[_VIEW_SWITCH] = view.page
        return ""

    _view_action(open_)


def _share_view() -> None:
    def share(store, viewer):
        view = store.share(viewer, st.session_state.get(VIEW_PICK),
                           st.session_state.get(VIEW_GROUPS) or [])
        if not view.groups:
            return _view_text("unshared", name=view.name)
        return _view_text("shared", name=view.name, groups=", ".join(view.groups))

    _view_action(share)


def _delete_view() -> None:
    def delete(store, viewer):
        view = store.delete(viewer, st.session_state.get(VIEW_PICK))
        st.session_state[VIEW_PICK] = None
        return _view_text("deleted", name=view.name)

    _view_action(delete)


def saved_views_box() -> None:
    """The sidebar's saved views: name the current page state, open one of the user's views
    or one shared with their groups, share or delete one's own. Called by app.py after
    the navigation (the current page is known) and before the page runs."""
    from lib import views

    viewer, user = _viewer(), auth.signed_in_user()
    if viewer is None:
        return
    target = st.session_state.pop(_VIEW_SWITCH, None)
    if target and target != _page_file(auth.current_page()):
        # The values are in session state already; an empty address lets the widgets write
        # theirs (Streamlit refuses to clear an address bound to widgets otherwise).
        st.switch_page(target, query_params={})
    try:
        listed = [v for v in views.views_store(settings()).visible(viewer)
                  if user.grant.allows_page(views.app_pages().get(v.page, ""))]
    except (OSError, sqlite3.Error) as error:  # the pages work on without saved views
        st.sidebar.caption(_view_text("unavailable", error=plain(error)))
        return
    with st.sidebar.expander(_view_text("title"), expanded=bool(
            st.session_state.get(_VIEW_NOTE))):
        _view_note()
        st.text_input(_view_text("name"), key=VIEW_NAME, max_chars=views.MAX_NAME,
                      help=_view_text("name-help"))
        st.button(_view_text("save"), key="views_save", on_click=_save_view)
        _view_list(listed, viewer)


def _view_note() -> None:
    note = st.session_state.pop(_VIEW_NOTE, None)
    if note and note[1]:
        (st.success if note[0] == "success" else st.error)(plain(note[1]))


def _view_label(view, viewer) -> str:
    from lib import views

    page = page_title_in_language(views.app_pages().get(view.page, view.page))
    if view.owned_by(viewer):
        return _view_text("mine", name=view.name, page=page)
    return _view_text("theirs", name=view.name, page=page, owner=view.owner)


def page_title_in_language(title: str) -> str:
    texts = _UI["pages"].get(title)
    return i18n.pick(texts, language()) if texts else title


def _view_list(listed, viewer) -> None:
    if not listed:
        st.caption(_view_text("none"))
        return
    by_id = {v.id: v for v in listed}
    if st.session_state.get(VIEW_PICK) not in by_id:
        st.session_state[VIEW_PICK] = None
    chosen = st.selectbox(_view_text("pick"), list(by_id), key=VIEW_PICK, index=None,
                          format_func=lambda i: _view_label(by_id[i], viewer),
                          placeholder=_view_text("placeholder"))
    if chosen is None:
        return
    view = by_id[chosen]
    st.button(_view_text("open"), key="views_open", on_click=_open_view, type="primary")
    if not view.owned_by(viewer):
        st.caption(_view_text("not-yours", owner=plain(view.owner)))
        return
    _view_sharing(view, viewer)
    st.button(_view_text("delete"), key="views_delete", on_click=_delete_view)


def _view_sharing(view, viewer) -> None:
    from lib.access import fold, is_plain_identity

    groups = sorted({fold(g) for g in viewer.groups if is_plain_identity(g)})  # as views does
    if not groups:
        st.caption(_view_text("no-groups"))
        return
    st.session_state.setdefault(VIEW_GROUPS, [])
    if st.session_state.get("_views_groups_of") != view.id:  # another view: its own sharing
        st.session_state[VIEW_GROUPS] = [g for g in view.groups if g in groups]
        st.session_state["_views_groups_of"] = view.id
    st.multiselect(_view_text("share-with"), groups, key=VIEW_GROUPS)
    st.button(_view_text("share"), key="views_share", on_click=_share_view)
