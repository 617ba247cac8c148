"""Saved views (issue 19): a signed-in user names the current page state (the page and the
values of its URL-bound widgets: the sidebar filters and the page's own), lists their own
views and those shared with their groups, opens one, shares it with groups they belong to,
and deletes their own.

A view is only a bookmark: opening one puts its values back into the widgets, and the page
then validates them as if typed (lib.filters) and runs its queries inside the opener's own
account scope (lib.gui.run_query). A view can never widen what its opener may see.

Kept server-side in SQLite (``<cache_dir>/views.sqlite3``): WAL, parameters only, one short
transaction per change. Every change (and every refused one) and every opening writes one
audit line (lib.audit) inside its transaction: a change that cannot be audited is rolled back.
"""

from __future__ import annotations

import ast
import json
import sqlite3
import time
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from contextlib import closing, contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from lib import i18n
from lib.access import fold, is_plain_identity
from lib.check.view import WIDGET_KEYS as CHECK_WIDGET_KEYS
from lib.explore import EXPLORE_FIELDS, condition_key
from lib.filters import KEYS as FILTER_KEYS
from lib.filters import MAX_INPUT, MAX_ITEMS

MAX_NAME = 80  # characters in a view's name, after NFKC
MAX_VIEWS_PER_USER = 200
MAX_PARAMS_BYTES = 16_384  # a view's values as JSON
MAX_ITEM_CHARS = 100  # one item of a list value (an account ID, a region)
MAX_GROUPS = 50  # groups one view is shared with
VIEW_TEXTS = i18n.catalogue("views")

# The kinds of value a widget holds, so a view puts back what the widget expects.
TEXT, LIST, FLAG, NUMBER = "text", "list", "flag", "number"
MAX_NUMBER = 1_000_000  # a number box's value (Explore's top N is at most 1000)
SHARED = {**dict.fromkeys(FILTER_KEYS, TEXT), "account": LIST, "region": LIST}
# Widgets a page binds to the URL (bind="query-params") beside the sidebar's; a page that
# binds a new one lists it here (tests/test_views.py checks every page file against this).
PAGE_KEYS: dict[str, dict[str, str]] = {
    "pages/search.py": {"search_gap_records": FLAG, "search_columns": LIST},
    "pages/check.py": dict.fromkeys(CHECK_WIDGET_KEYS.values(), TEXT),
    "pages/explore.py": {"explore_by": LIST, "explore_measure": TEXT, "explore_top": NUMBER,
                         **dict.fromkeys((condition_key(f.name) for f in EXPLORE_FIELDS), TEXT)},
}
APP_FILE = Path(__file__).resolve().parent.parent / "app.py"


class ViewError(ValueError):
    """A refused request; ``code`` names its text in lib/texts/views.toml."""

    def __init__(self, code: str, **values):
        self.code, self.values = code, values
        super().__init__(self.message("en"))

    def message(self, lang: str | None) -> str:
        return i18n.fill(VIEW_TEXTS["errors"][self.code], lang, **values_as_text(self.values))


def values_as_text(values: Mapping) -> dict[str, str]:
    return {key: str(value) for key, value in values.items()}


@dataclass(frozen=True)
class Viewer:
    """Who asks: the signed-in user's name and groups (lib.auth's User has both)."""

    name: str
    groups: tuple[str, ...] = ()


@dataclass(frozen=True)
class SavedView:
    id: int
    owner: str
    name: str
    page: str  # an app.py page file, e.g. "pages/search.py"
    params: dict
    groups: tuple[str, ...]  # shared with these groups (folded)
    created: float

    def owned_by(self, viewer: Viewer) -> bool:
        return self.owner == fold(viewer.name)

    def to_dict(self) -> dict:
        return {"id": self.id, "owner": self.owner, "name": self.name, "page": self.page,
                "params": self.params, "groups": list(self.groups), "created": self.created}


# --- rules ---------------------------------------------------------------------------------

@cache
def app_pages() -> dict[str, str]:
    """app.py's pages, {file: English title}, read from its ``st.Page(...)`` calls (without
    running it): a view may only name one of them."""
    pages = {}
    for node in ast.walk(ast.parse(APP_FILE.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "Page" and node.args:
            path = node.args[0]
            title = next((k.value for k in node.keywords if k.arg == "title"), None)
            if isinstance(path, ast.Constant) and isinstance(title, ast.Constant):
                pages[path.value] = title.value
    return pages


def _invisible(text: str) -> bool:
    return any(unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp") for c in text)


def clean_name(name: object) -> str:
    """The name as stored: NFKC, trimmed, 1 to MAX_NAME characters, nothing invisible."""
    if not isinstance(name, str):
        raise ViewError("name-empty")
    text = unicodedata.normalize("NFKC", name).strip()
    if not text:
        raise ViewError("name-empty")
    if len(text) > MAX_NAME:
        raise ViewError("name-long", limit=MAX_NAME)
    if _invisible(text):
        raise ViewError("name-invisible")
    return text


def check_page(page: object) -> str:
    if page not in app_pages():
        raise ViewError("page-unknown", page=str(page)[:100])
    return page


def keys_for(page: str) -> dict[str, str]:
    """The values a view of ``page`` holds: the sidebar's and the page's own, by kind."""
    return {**SHARED, **PAGE_KEYS.get(page, {})}


def _text(key: str, value: object) -> str:
    if not isinstance(value, str) or len(value) > MAX_INPUT or _invisible(value):
        raise ViewError("param-bad", key=key)
    return value


def _items(key: str, value: object) -> list[str]:
    if not isinstance(value, list | tuple) or len(value) > MAX_ITEMS:
        raise ViewError("param-bad", key=key)
    for item in value:
        if not isinstance(item, str) or len(item) > MAX_ITEM_CHARS or _invisible(item):
            raise ViewError("param-bad", key=key)
    return list(value)


def _flag(key: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise ViewError("param-bad", key=key)
    return value


def _number(key: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_NUMBER:
        raise ViewError("param-bad", key=key)
    return value


_CHECKS: dict[str, Callable[[str, object], object]] = {TEXT: _text, LIST: _items, FLAG: _flag,
                                                       NUMBER: _number}


def check_params(page: str, params: object) -> dict:
    """The values, checked: known keys of the page only, each of its kind and bounded; empty
    ones dropped (opening a view clears what it does not hold)."""
    if not isinstance(params, Mapping):
        raise ViewError("param-bad", key="?")
    kinds = keys_for(page)
    out = {}
    for key, value in params.items():
        if key not in kinds:
            raise ViewError("param-unknown", key=str(key)[:40])
        checked = _CHECKS[kinds[key]](key, value)
        if checked not in ("", [], False, None):
            out[key] = checked
    if len(json.dumps(out, ensure_ascii=False).encode()) > MAX_PARAMS_BYTES:
        raise ViewError("params-large", limit=MAX_PARAMS_BYTES)
    return out


def capture(page: str, state: Mapping) -> dict:
    """The current values of a page's URL-bound widgets (session state), as a view holds
    them; values of another kind than the widget's are left out."""
    raw = {}
    for key, kind in keys_for(page).items():
        value = state.get(key)
        if kind == LIST and isinstance(value, list | tuple):
            raw[key] = [str(v) for v in value]
        elif (kind == TEXT and isinstance(value, str) or kind == FLAG and isinstance(value, bool)
              or kind == NUMBER and isinstance(value, int) and not isinstance(value, bool)):
            raw[key] = value
    return check_params(page, raw)


def params_from_pairs(page: str, pairs: Iterable[str]) -> dict:
    """``KEY=VALUE`` texts (the command line) as a view's values: lists comma-separated,
    flags true or false; checked as any view's."""
    kinds, raw = keys_for(page), {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or key not in kinds:
            raise ViewError("param-unknown", key=key[:40])
        if kinds[key] == LIST:
            raw[key] = [v.strip() for v in value.split(",") if v.strip()]
        elif kinds[key] == FLAG:
            if value.lower() not in ("true", "false"):
                raise ViewError("param-bad", key=key)
            raw[key] = value.lower() == "true"
        elif kinds[key] == NUMBER:
            if not value.isdigit():
                raise ViewError("param-bad", key=key)
            raw[key] = int(value)
        else:
            raw[key] = value
    return check_params(page, raw)


def restored(view: SavedView) -> dict:
    """Every value of the view's page: the view's, and the empty value for every widget it
    does not name (opening a view leaves none of the previous search behind)."""
    empty = {TEXT: "", LIST: [], FLAG: False}
    # A number box has no empty value: one the view does not hold keeps its own.
    return {key: view.params.get(key, empty.get(kind)) for key, kind in keys_for(view.page).items()
            if key in view.params or kind != NUMBER}


def shareable(viewer: Viewer, groups: Iterable[str]) -> tuple[str, ...]:
    """The groups, folded, each one of the viewer's own (no one shares with a group they are
    not in)."""
    mine = {fold(g) for g in viewer.groups if is_plain_identity(g)}
    wanted = tuple(dict.fromkeys(fold(str(g)) for g in groups))
    for group in wanted:
        if group not in mine:
            raise ViewError("group-not-yours", group=group[:100])
    if len(wanted) > MAX_GROUPS:
        raise ViewError("groups-many", limit=MAX_GROUPS)
    return wanted


# --- the store -----------------------------------------------------------------------------

VIEWS_SCHEMA = """
CREATE TABLE IF NOT EXISTS views (
    id INTEGER PRIMARY KEY AUTOINCREMENT, owner TEXT NOT NULL, name TEXT NOT NULL,
    page TEXT NOT NULL, params TEXT NOT NULL, created REAL NOT NULL, UNIQUE (owner, name));
CREATE TABLE IF NOT EXISTS view_shares (
    view_id INTEGER NOT NULL, grp TEXT NOT NULL, PRIMARY KEY (view_id, grp));
CREATE INDEX IF NOT EXISTS view_shares_grp ON view_shares(grp);
"""

Audit = Callable[[dict], None]


class ViewStore:
    """Views in one SQLite file; every call opens its own connection (thread-safe), every
    change is one transaction that also writes its audit line (``audit(event)``; raising
    there rolls the change back)."""

    def __init__(self, path: str | Path, audit: Audit, clock=time.time):
        self.path, self._audit, self._clock = Path(path), audit, clock
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with closing(self._connect()) as db:
            db.execute("PRAGMA journal_mode=WAL")  # readers never wait for a writer
            db.executescript(VIEWS_SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, timeout=10, isolation_level=None)

    @contextmanager
    def _change(self):
        with closing(self._connect()) as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise

    def _event(self, viewer: Viewer, action: str, outcome: str = "ok", view: SavedView | None = None,
               **extra) -> None:
        event = {"event": "view", "action": action, "user": viewer.name, "outcome": outcome}
        if view is not None:
            event.update(view_id=view.id, name=view.name, page=view.page, owner=view.owner)
        self._audit({**event, **extra})

    def _refuse(self, viewer: Viewer, action: str, error: ViewError, **extra) -> ViewError:
        """Audit a refusal (outside any change), and give the error to raise."""
        self._event(viewer, action, "refused", reason=error.code, **extra)
        return error

    # reading

    def visible(self, viewer: Viewer) -> list[SavedView]:
        """The viewer's own views and those shared with one of their groups."""
        groups = json.dumps([fold(g) for g in viewer.groups if is_plain_identity(g)])
        with closing(self._connect()) as db:
            rows = db.execute(
                "SELECT id, owner, name, page, params, created FROM views WHERE owner = ? OR id "
                "IN (SELECT view_id FROM view_shares WHERE grp IN (SELECT value FROM "
                "json_each(?))) ORDER BY name, id", (fold(viewer.name), groups)).fetchall()
            shares: dict[int, list[str]] = {}
            for view_id, group in db.execute(
                    "SELECT view_id, grp FROM view_shares WHERE view_id IN (SELECT value FROM "
                    "json_each(?)) ORDER BY grp", (json.dumps([r[0] for r in rows]),)):
                shares.setdefault(view_id, []).append(group)
        return [SavedView(i, owner, name, page, json.loads(params), tuple(shares.get(i, ())), created)
                for i, owner, name, page, params, created in rows]

    def _visible_one(self, viewer: Viewer, view_id: object) -> SavedView | None:
        return next((v for v in self.visible(viewer) if v.id == view_id), None)

    def get(self, viewer: Viewer, view_id: int, action: str = "open") -> SavedView:
        """One view the viewer may see (another's unshared view is "not found": its
        existence is not told)."""
        view = self._visible_one(viewer, view_id)
        if view is None:
            raise self._refuse(viewer, action, ViewError("not-found", id=view_id),
                               view_id=view_id)
        return view

    def open(self, viewer: Viewer, view_id: int) -> SavedView:
        view = self.get(viewer, view_id)
        self._event(viewer, "open", view=view)
        return view

    # changing

    def save(self, viewer: Viewer, name: str, page: str, params: Mapping) -> SavedView:
        try:
            name, page = clean_name(name), check_page(page)
            params = check_params(page, params)
        except ViewError as error:
            raise self._refuse(viewer, "save", error) from None
        owner = fold(viewer.name)
        with self._change() as db:
            count, = db.execute("SELECT count(*) FROM views WHERE owner = ?", (owner,)).fetchone()
            if count >= MAX_VIEWS_PER_USER:
                raise self._refuse(viewer, "save", ViewError("too-many", limit=MAX_VIEWS_PER_USER))
            if db.execute("SELECT 1 FROM views WHERE owner = ? AND name = ?",
                          (owner, name)).fetchone():
                raise self._refuse(viewer, "save", ViewError("name-taken", name=name))
            created = self._clock()
            cursor = db.execute("INSERT INTO views (owner, name, page, params, created) VALUES "
                                "(?, ?, ?, ?, ?)", (owner, name, page,
                                                    json.dumps(params, ensure_ascii=False),
                                                    created))
            view = SavedView(cursor.lastrowid, owner, name, page, params, (), created)
            self._event(viewer, "save", view=view, params=params)
        return view

    def _own(self, viewer: Viewer, view_id: int, action: str) -> SavedView:
        view = self.get(viewer, view_id, action)
        if not view.owned_by(viewer):
            raise self._refuse(viewer, action, ViewError("not-owner", name=view.name),
                               view_id=view.id)
        return view

    def share(self, viewer: Viewer, view_id: int, groups: Iterable[str]) -> SavedView:
        """Share the viewer's own view with exactly these groups (none: unshare)."""
        view = self._own(viewer, view_id, "share")
        try:
            wanted = shareable(viewer, groups)
        except ViewError as error:
            raise self._refuse(viewer, "share", error, view_id=view.id) from None
        with self._change() as db:
            db.execute("DELETE FROM view_shares WHERE view_id = ?", (view.id,))
            db.executemany("INSERT INTO view_shares VALUES (?, ?)",
                           [(view.id, g) for g in wanted])
            shared = SavedView(view.id, view.owner, view.name, view.page, view.params,
                          tuple(sorted(wanted)), view.created)
            self._event(viewer, "share", view=shared, groups=list(shared.groups))
        return shared

    def delete(self, viewer: Viewer, view_id: int) -> SavedView:
        """Delete the viewer's own view (another's, even shared with them, is refused)."""
        view = self._own(viewer, view_id, "delete")
        with self._change() as db:
            db.execute("DELETE FROM view_shares WHERE view_id = ?", (view.id,))
            db.execute("DELETE FROM views WHERE id = ? AND owner = ?", (view.id, view.owner))
            self._event(viewer, "delete", view=view)
        return view


def views_path(settings) -> Path:
    from lib.config import _default_cache_dir

    return Path(settings.cache_dir or _default_cache_dir()) / "views.sqlite3"


def views_store(settings) -> ViewStore:
    """The configured store, audited into the configured audit trail."""
    from lib import audit

    return ViewStore(views_path(settings), lambda event: audit.append(settings, event))
