"""Security review, point 1: text from a link or from the logs never becomes Markdown.

The pages are walked through AppTest with crafted values (a link, an image, HTML, a colour
directive, bare web addresses) in the URL's filters, the check inputs, pasted lines and the
stored records themselves; no element's Markdown (bodies, labels, help) may carry a live
link, image or tag. CSV cells that a spreadsheet would read as formulas are neutralised.
"""

from __future__ import annotations

import csv
import io
import re

import pandas as pd
import pytest
from apptest import app, errors
from google.protobuf.message import Message
from storefixture import T0, record, write_object

from lib import present

LINK = "[sign in](https://evil.example)"
IMAGE = "![x](https://evil.example/i.png)"
CRAFTED = f"{LINK} {IMAGE} <style>*{{color:red}}</style> :red[x] www.evil.example a@evil.example"
NO_SPACES = "[signin](https://evil.example)![x](https://evil.example/i.png)<style>"
WINDOW = {"start": str(T0), "end": str(T0 + 3600)}
BAD_FLOW_LOG = "fl-0badbadbadbadbad0"


# --- what counts as live Markdown ------------------------------------------------------------

def _unescaped(body: str) -> str:
    """The body with every backslash-escaped character replaced by a neutral one, so only
    characters Markdown would act on remain."""
    return re.sub(r"\\.", "_", body, flags=re.S)


def _rendered_text(body: str) -> str:
    """The text Markdown shows once escapes are resolved (where Streamlit autolinks)."""
    return re.sub(r"\\(.)", r"\1", body, flags=re.S)


def live_markup(body: str) -> list[str]:
    """What in a Markdown body would render as a link, image, tag or directive."""
    raw, shown = _unescaped(body), _rendered_text(body)
    found = [m.group(0) for m in re.finditer(r"\]\(|!\[|<[A-Za-z/!?]|:[a-z-]+\[", raw)]
    found += re.findall(r"(?i)(?:https?://|www\.)evil\.example|[\w.+-]@evil\.example", shown)
    return found


def test_the_detector_sees_raw_markup_and_not_escaped_text():
    assert live_markup(CRAFTED)  # the crafted value itself is live Markdown
    assert len(live_markup(f"**{CRAFTED}**")) >= 6
    assert live_markup(present.plain(CRAFTED)) == []


def markdown_bodies(at) -> list[str]:
    """Every string an AppTest run shows through Markdown: element bodies (markdown,
    caption, alerts, headings), labels (widgets, buttons, expanders, tabs) and help."""
    out = []

    def strings(message):
        if not isinstance(message, Message):  # some nodes hold a list of messages
            for item in message if hasattr(message, "__iter__") else ():
                if isinstance(item, Message):
                    strings(item)
            return
        for field, value in message.ListFields():
            repeated = not isinstance(value, str | bytes | Message) and hasattr(value, "__iter__")
            values = list(value) if repeated else [value]
            for item in values:
                if field.message_type is not None:
                    strings(item)
                elif field.name in ("body", "label", "help") and isinstance(item, str):
                    out.append(item)

    def walk(node):
        proto = getattr(node, "proto", None)
        if proto is not None:
            strings(proto)
        for child in getattr(node, "children", {}).values():
            walk(child)

    walk(at._tree)
    return out


def assert_no_live_markup(at) -> None:
    bodies = markdown_bodies(at)
    assert bodies, "nothing was collected: the walk is broken"
    offending = {body: live_markup(body) for body in bodies if live_markup(body)}
    assert not offending, offending


# --- the helper ------------------------------------------------------------------------------

@pytest.mark.parametrize("value", [CRAFTED, NO_SPACES, "# heading\n\n- item\n> quote", "1. list",
                                   "- item", "  + item", "2) x", "= x", "&lt;b&gt; &#60;i>",
                                   "`code` $x^2$ **bold** _it_ ~~s~~ | a | b |", "a__b__ _c_d_ e_ _f",
                                   "<script>alert(1)</script>", "HTTPS://evil.example"])
def test_plain_keeps_the_text_and_kills_the_markup(value):
    shown = present.plain(value)
    assert live_markup(shown) == []
    assert "\n" not in shown and "\r" not in shown  # one line: no new block can start
    # what a reader sees is the value (line breaks as spaces, word joiners invisible)
    assert _rendered_text(shown).replace("\u2060", "") == re.sub(r"[\r\n]+", " ", value)


def test_plain_leaves_ordinary_text_readable():
    for text in ("eni-0a1b2c3d 10.0.0.5 日本語", "2001:db8::5/128", "2026-11-26T09:00Z",
                 "012345678901_vpcflowlogs_us-east-1_fl-0a_20260921T0025Z_bad0.log.gz"):
        assert present.plain(text) == text  # addresses and times stay searchable as typed


# --- the pages -----------------------------------------------------------------------------

@pytest.fixture
def store(tmp_path):
    """Records whose stored text is crafted: an interface ID holding a link and an image."""
    write_object(tmp_path, [
        record("10.0.0.5", "10.0.1.9", 40001, 3306, start=T0 + 100, eni=NO_SPACES,
               action="REJECT"),
        record("10.0.0.5", "10.0.1.9", 40002, 3306, start=T0 + 160, eni="eni-0aaaaaaaaaaaaaaa1"),
    ])
    # and a malformed line whose bad value is crafted, in an object of its own
    write_object(tmp_path, [record("10.0.0.5", "10.0.1.9", NO_SPACES, 3306, start=T0 + 200)],
                 flow_log=BAD_FLOW_LOG)
    return tmp_path


def page_app(monkeypatch, data_dir, page, **state):
    at = app(monkeypatch, data_dir, **state)
    at.run()
    return at.switch_page(page).run()


def test_search_filters_from_a_link(monkeypatch, store):
    """The review's repro: a zone ID carrying Markdown in a shared link's src."""
    at = app(monkeypatch, store, **WINDOW, src=f"fe80::1%{CRAFTED}", dst=CRAFTED,
             src_port=CRAFTED, protocol=CRAFTED, eni=NO_SPACES).run()
    assert not at.exception
    shown = " ".join(errors(at))
    assert "zone ID" in shown and "evil" in shown  # the value is named, as text
    assert not at.dataframe  # nothing ran
    assert_no_live_markup(at)


def test_check_inputs_from_a_link(monkeypatch, store):
    at = page_app(monkeypatch, store, "pages/check.py", **WINDOW,
                  check_src=f"fe80::1%{CRAFTED}", check_dst="10.0.1.9",
                  check_port=CRAFTED, check_protocol=CRAFTED)
    assert not at.exception
    assert "zone ID" in " ".join(errors(at))
    assert_no_live_markup(at)


def test_check_verdict_and_reasons_with_crafted_log_content(monkeypatch, store):
    at = page_app(monkeypatch, store, "pages/check.py", **WINDOW, check_src="10.0.0.5",
                  check_dst="10.0.1.9", check_port="3306", check_protocol="tcp")
    assert not at.exception
    reasons = " ".join(m.value for m in at.markdown)
    assert "evil" in reasons  # the crafted interface ID is named in the reasons, as text
    assert_no_live_markup(at)


@pytest.mark.parametrize("page", ["pages/search.py", "pages/traffic.py"])
def test_search_and_traffic_over_crafted_log_content(monkeypatch, store, page):
    at = page_app(monkeypatch, store, page, **WINDOW)
    assert not at.exception and not errors(at)
    assert at.dataframe  # the crafted records were read and shown (as table cells)
    assert_no_live_markup(at)


def test_records_pasted_lines_and_filter(monkeypatch, tmp_path):
    at = app(monkeypatch, tmp_path, paste_text=(
        f"2 123456789012 {NO_SPACES} 10.0.0.5 10.0.1.9 40001 443 6 10 840 1790000000 "
        "1790000060 ACCEPT OK\n"
        f"2 123456789012 eni-0a1b2c3d {NO_SPACES} 10.0.1.9 40001 443 6 10 840 1790000000 "
        "1790000060 ACCEPT OK\n"
        f"2 123456789012 eni-0a1b2c3d 10.0.0.5 10.0.1.9 {NO_SPACES} 443 6 10 840 1790000000 "
        "1790000060 ACCEPT OK"))
    at.run()
    at.switch_page("pages/records.py").run()
    assert not at.exception
    assert len(at.expander) == 3
    assert "evil" in " ".join(errors(at))  # the bad value is named, as text
    assert_no_live_markup(at)


def test_records_custom_field_list(monkeypatch, tmp_path):
    at = app(monkeypatch, tmp_path, paste_text="x", paste_format="Custom field list",
             paste_fields=CRAFTED)
    at.run()
    at.switch_page("pages/records.py").run()
    assert not at.exception and errors(at)
    assert_no_live_markup(at)


def test_records_browsing_a_stored_object_with_a_crafted_line(monkeypatch, store):
    at = app(monkeypatch, store, rec_filter=f'"{CRAFTED}"')
    at.run()
    at.switch_page("pages/records.py").run()
    bad = next(o for o in at.selectbox(key="rec_object").options if BAD_FLOW_LOG in o)
    at.selectbox(key="rec_object").set_value(bad).run()
    at.text_input(key="rec_filter").set_value("").run()
    assert not at.exception
    assert "evil" in " ".join(errors(at))  # the stored line's bad value, named as text
    assert_no_live_markup(at)


# --- CSV -----------------------------------------------------------------------------------

def test_csv_cells_that_start_a_formula_are_neutralised():
    rows = [{"srcaddr": "=HYPERLINK(\"https://evil.example\")", "dstaddr": "+1", "action": "-2+3",
             "interface_id": "@SUM(A1)", "log_status": "\tTAB", "vpc_id": "\rCR",
             "srcport": -1, "dstport": 443, "bytes": -5, "log_account": "012345678901"}]
    text = present.csv_bytes(rows).decode()
    cells = next(csv.DictReader(io.StringIO(text, newline="")))
    assert cells["srcaddr"] == "'=HYPERLINK(\"https://evil.example\")"
    assert cells["dstaddr"] == "'+1" and cells["action"] == "'-2+3"
    assert cells["interface-id"] == "'@SUM(A1)"
    assert cells["log-status"] == "'\tTAB" and cells["vpc-id"] == "'\rCR"
    # numbers stay numbers: a negative number is a value, not a formula
    assert cells["srcport"] == "-1" and cells["bytes"] == "-5" and cells["dstport"] == "443"
    assert cells["log-account"] == "012345678901"


def test_safe_csv_keeps_numeric_columns_numeric_and_headers_safe():
    frame = pd.DataFrame({"n": [-5, 3], "x": [-1.5, None], "=h": ["ok", "-x"]})
    lines = present.safe_csv(frame).split("\r\n")[:-1]
    assert lines == ["n,x,'=h", "-5,-1.5,ok", "3,,'-x"]


# --- zone IDs ------------------------------------------------------------------------------

@pytest.mark.parametrize("text", ["fe80::1%eth0", f"fe80::1%{NO_SPACES}", "fe80::%x/64",
                                  "::ffff:10.0.0.1%1", "fe80::1%25eth0"])
def test_addresses_with_a_zone_id_are_refused_everywhere(text):
    from lib import iputil
    from lib.filters import InvalidFilters, parse_filters
    from lib.query import QueryError, check_addresses

    with pytest.raises(InvalidFilters) as invalid:
        parse_filters({**WINDOW, "src": text})
    assert "zone ID" in invalid.value.errors["src"]
    with pytest.raises(ValueError, match="zone ID"):
        iputil.parse_network(text)
    assert iputil.address_key(text.split("/")[0]) is None
    with pytest.raises(QueryError):
        check_addresses((text.split("/")[0],))


# --- identities from an identity provider ------------------------------------------------------

def test_names_from_the_identity_provider_are_text(monkeypatch, tmp_path):
    """OIDC claims are whatever the provider holds (often user-editable display names)."""
    from authkit import signed_app, write_access, write_store
    from test_auth_oidc import AUTH_SECRETS

    files = {"access_file": write_access(tmp_path / "access.yaml"),
             "audit_file": tmp_path / "audit.jsonl"}
    at = signed_app(monkeypatch, write_store(tmp_path / "store"), "oidc", files, **WINDOW)
    at.secrets["auth"] = AUTH_SECRETS
    at.user = {"is_logged_in": True, "email": f"{NO_SPACES}@evil.example", "email_verified": True,
               "name": CRAFTED}
    at.run()
    assert not at.exception
    assert "no account is granted" in " ".join(errors(at))
    assert "evil" in " ".join(c.value for c in at.sidebar.caption)  # named, as text
    assert_no_live_markup(at)
