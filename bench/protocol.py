"""A Streamlit session without a browser: Streamlit's own WebSocket protocol, spoken directly.

bench/load.py --protocol drives many of these at once, so a load test measures the server
rather than the Chromium processes that would share its cores. A session does what the
browser does: it opens ``/_stcore/stream``, sends a ``BackMsg.rerun_script`` (the page, the
address's query string and every widget value it holds), and reads ``ForwardMsg``s. From
them it learns the pages (the ``navigation`` message), the widget IDs (each widget element
carries its ID; keyed widgets end in ``-<key>``) and the address the app writes
(``page_info_changed``). A view is done at the first ``script_finished`` that is not a run
cut short for a rerun; an ``exception`` element makes it a failure.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from urllib.parse import urlencode

from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

FINISHED = (ForwardMsg.FINISHED_SUCCESSFULLY, ForwardMsg.FINISHED_WITH_COMPILE_ERROR)
# The element types that carry a widget ID (the sidebar's fields and buttons).
WIDGET_TYPES = ("text_input", "selectbox", "multiselect", "button", "number_input",
                "checkbox", "radio", "date_input", "text_area", "download_button")


class ViewFailed(RuntimeError):
    pass


@dataclass
class ViewResult:
    seconds: float
    runs: int  # script runs the view took (a rerun the app asks for counts)
    elements: dict[str, int] = field(default_factory=dict)  # element type -> count drawn


class ProtocolSession:
    """One simulated visitor of a Streamlit app."""

    def __init__(self, base_url: str, timeout_s: float = 120.0):
        self.url = base_url.replace("http://", "ws://").rstrip("/") + "/_stcore/stream"
        self.origin = base_url.rstrip("/")
        self.timeout_s = timeout_s
        self.pages: dict[str, str] = {}  # url path name ("search") -> page script hash
        self.widgets: dict[str, str] = {}  # widget ID -> element type
        self.states: dict = {}  # widget ID -> the WidgetState we set
        self.query_string = ""
        self.page_hash = ""
        self._socket = None

    async def __aenter__(self) -> ProtocolSession:
        from websockets.asyncio.client import connect

        self._socket = await connect(self.url, subprotocols=["streamlit"], max_size=None,
                                     origin=self.origin, open_timeout=self.timeout_s)
        return self

    async def __aexit__(self, *exc) -> None:
        await self._socket.close()

    # --- what a person does ------------------------------------------------------------------
    async def open(self, page: str = "", **params) -> ViewResult:
        """Open the app at /<page>?params, as a typed address would."""
        self.query_string = urlencode(params)
        self.page_hash = self.pages.get(page, "")
        return await self._rerun(page_name=page)

    async def go_to(self, page: str) -> ViewResult:
        """Click a page in the navigation."""
        if page not in self.pages:
            raise ViewFailed(f"no page {page!r} in the navigation ({sorted(self.pages)})")
        self.page_hash = self.pages[page]
        return await self._rerun()

    async def type_into(self, key: str, text: str) -> ViewResult:
        """Type into the text field with this widget key (the value sent as the browser
        sends it when the field loses focus)."""
        widget = self.widget_id(key)
        state = self.states.setdefault(widget, _widget_state(widget))
        state.string_value = text
        return await self._rerun()

    def widget_id(self, key: str) -> str:
        matches = [w for w in self.widgets if w.endswith(f"-{key}")]
        if len(matches) != 1:
            raise ViewFailed(f"widget key {key!r} matched {len(matches)} widgets")
        return matches[0]

    # --- the protocol --------------------------------------------------------------------------
    async def _rerun(self, page_name: str = "") -> ViewResult:
        message = BackMsg()
        rerun = message.rerun_script
        rerun.query_string = self.query_string
        rerun.page_script_hash = self.page_hash
        rerun.page_name = page_name
        rerun.widget_states.widgets.extend(self.states.values())
        began = time.perf_counter()
        await self._socket.send(message.SerializeToString())
        return await asyncio.wait_for(self._until_finished(began), self.timeout_s)

    async def _until_finished(self, began: float) -> ViewResult:
        runs, elements = 0, {}
        while True:
            msg = ForwardMsg()
            msg.ParseFromString(await self._socket.recv())
            kind = msg.WhichOneof("type")
            if kind == "delta":
                self._read_delta(msg, elements)
            elif kind == "navigation":
                self._read_navigation(msg)
            elif kind == "new_session":
                self.page_hash = msg.new_session.page_script_hash or self.page_hash
            elif kind == "page_info_changed":
                self.query_string = msg.page_info_changed.query_string
            elif kind == "script_finished":
                runs += 1
                if msg.script_finished in FINISHED:
                    if "exception" in elements:
                        raise ViewFailed(f"the page raised an exception ({runs} runs)")
                    return ViewResult(time.perf_counter() - began, runs, elements)

    def _read_navigation(self, msg: ForwardMsg) -> None:
        """Pages by the path a link names; the default page also by its own name and ''."""
        self.pages = {}
        for page in msg.navigation.app_pages:
            self.pages[page.url_pathname] = page.page_script_hash
            if page.is_default:
                self.pages[""] = self.pages[page.page_name.lower()] = page.page_script_hash

    def _read_delta(self, msg: ForwardMsg, elements: dict[str, int]) -> None:
        delta = msg.delta
        if delta.WhichOneof("type") != "new_element":
            return
        element = delta.new_element
        kind = element.WhichOneof("type")
        elements[kind] = elements.get(kind, 0) + 1
        if kind in WIDGET_TYPES:
            widget = getattr(element, kind)
            if widget.id:
                self.widgets[widget.id] = kind


def _widget_state(widget: str):
    from streamlit.proto.WidgetStates_pb2 import WidgetState

    return WidgetState(id=widget)
