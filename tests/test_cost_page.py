"""The Cost page through AppTest on the hand-built cost store: the bytes of every class as the
rules say, on both engines; the account scope; English and Japanese; drill-down to Search."""

from __future__ import annotations

import functools

import pytest
import streamlit as st
from apptest import ROOT, app, errors
from costfixture import EXPECTED_A, EXPECTED_B, SAVINGS_A, WINDOW, build_cost_store
from fake_athena import shared_fake
from storefixture import ACCOUNT_A, ACCOUNT_B
from streamlit.testing.v1 import AppTest

from lib import cost, gui
from lib.engines.athena import AthenaEngine

PAGE = "pages/cost.py"


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    return build_cost_store(tmp_path_factory.mktemp("cost_page"))


@pytest.fixture(autouse=True)
def quiet(monkeypatch):
    monkeypatch.setenv("FLOWSCOPE_CONFIG", "/nonexistent")
    monkeypatch.setenv("FLOWSCOPE_AUDIT_FILE", "/dev/null")
    monkeypatch.delenv("FLOWSCOPE_PRICES", raising=False)


def cost_page(monkeypatch, store, **state) -> AppTest:
    at = app(monkeypatch, store, **WINDOW, **state).run()
    at.switch_page(PAGE)
    return at.run()


def tables(at) -> dict:
    """The page's tables by name: the keyed ones (drivers, savings) by key, the others in
    order (month to date, the period, the prices); savings None when there are none."""
    keyed = {f.key: f.value for f in at.dataframe if f.key}
    plain = [f.value for f in at.dataframe if not f.key]
    assert len(plain) == 3 and cost.DRIVERS_KEY in keyed, keyed.keys()
    found = dict(zip(("month", "period", "prices"), plain, strict=True))
    found["drivers"] = keyed[cost.DRIVERS_KEY]
    found["savings"] = keyed.get(cost.SAVINGS_KEY)
    return found


def class_bytes(frame) -> dict[str, int]:
    return {row["class"]: int(row["bytes"]) for _, row in frame.iterrows() if row["bytes"]}


def test_every_class_on_the_page_is_what_the_rules_say(monkeypatch, store):
    at = cost_page(monkeypatch, store, account=[ACCOUNT_A])
    assert not at.exception and not errors(at), errors(at)
    assert at.title[0].value == "Cost"
    found = tables(at)
    assert class_bytes(found["period"]) == EXPECTED_A
    assert list(found["period"].columns) == ["class", "charge", "GiB", "USD", "bytes"]
    usd = {row["class"]: row["USD"] for _, row in found["period"].iterrows()}
    assert usd["nat-gateway"] == pytest.approx(round(EXPECTED_A["nat-gateway"] / 2**30 * 0.045, 6))
    assert class_bytes(found["month"]) == {}  # the store lies months before today
    assert at.metric[1].value == cost.dollars(sum(usd.values()))
    savings = found["savings"]
    assert {(r["change"], r["service"]): int(r["bytes"]) for _, r in savings.iterrows()
            if r["change"] != "co-locate"} == SAVINGS_A
    pairs = found["drivers"]  # by pair unless another grouping is chosen
    nat = pairs[pairs["class"] == "nat-gateway"].iloc[0]
    assert (nat["srcaddr"], nat["dstaddr"], int(nat["bytes"])) == ("52.216.1.1", "10.0.1.10",
                                                                   7_000_000)
    # the v2 flow log's bytes are unknown: the page says which logs to switch to v5
    warning = next(w.value for w in at.warning if "could not be classified" in w.value)
    assert f"account {ACCOUNT_A}, region us-east-1, VPC not in the format" in warning
    assert any("not your invoice" in m.value for m in at.markdown)


def test_a_scoped_user_sees_only_their_accounts_costs(monkeypatch, store, tmp_path):
    access = tmp_path / "access.yaml"
    access.write_text(f'users:\n  local:\n    accounts: ["{ACCOUNT_B}"]\n')
    monkeypatch.setenv("FLOWSCOPE_ACCESS_FILE", str(access))
    at = cost_page(monkeypatch, store)
    assert not at.exception and not errors(at), errors(at)
    found = tables(at)
    assert class_bytes(found["period"]) == EXPECTED_B
    accounts = cost_page(monkeypatch, store, **{cost.DRIVER_GROUP_KEY: "account"})
    assert set(tables(accounts)["drivers"]["log_account"]) == {ACCOUNT_B}
    assert found["savings"] is None
    assert any("No savings found" in i.value for i in at.info)


def test_japanese(monkeypatch, store):
    at = cost_page(monkeypatch, store, account=[ACCOUNT_A], lang="ja")
    assert not at.exception and not errors(at), errors(at)
    assert at.title[0].value == "コスト"
    subheaders = [s.value for s in at.subheader]
    assert subheaders[0].startswith("今月の累計") and subheaders[1] == "選択した期間"
    assert "料金の推移" in subheaders and "変更による節約額" in subheaders
    period = at.dataframe[1].value
    assert "料金の種類" in period.columns
    assert "NAT ゲートウェイ処理" in set(period["料金の種類"])
    assert class_bytes(period) == EXPECTED_A
    assert any("請求書ではありません" in m.value for m in at.markdown)
    assert any("分類できませんでした" in w.value for w in at.warning)


def test_a_selected_driver_opens_search_on_its_records(monkeypatch, store):
    at = app(monkeypatch, store, **WINDOW, account=[ACCOUNT_A]).run()
    at.switch_page(PAGE).run()
    pairs = tables(at)["drivers"]
    row = int(pairs.index[pairs["class"] == "cross-az"][0])
    at.session_state[cost.DRIVERS_KEY] = {"selection": {"rows": [row], "columns": []}}
    at.run()
    assert not at.exception
    assert at.title[0].value == "Search"
    picked = pairs.iloc[row]
    pending = at.session_state[gui.PENDING_FILTERS]
    host = f"{picked['srcaddr']}/32", f"{picked['dstaddr']}/32"
    assert (pending["src"], pending["dst"]) == host
    assert pending["account"] == ACCOUNT_A and pending["start"] == WINDOW["start"]
    # the Search page the browser then shows (see test_traffic_page.opened_search)
    search = app(monkeypatch, store, **{gui.PENDING_FILTERS: pending}).run()
    assert not search.exception and not errors(search)
    assert (search.session_state["src"], search.session_state["dst"]) == host


def test_a_selected_saving_opens_search_on_the_pair(monkeypatch, store):
    at = app(monkeypatch, store, **WINDOW, account=[ACCOUNT_A]).run()
    at.switch_page(PAGE).run()
    savings = tables(at)["savings"]
    row = int(savings.index[savings["change"] == "co-locate"][0])
    at.session_state[cost.SAVINGS_KEY] = {"selection": {"rows": [row], "columns": []}}
    at.run()
    assert at.title[0].value == "Search"
    pending = at.session_state[gui.PENDING_FILTERS]
    assert (pending["src"], pending["dst"]) == ("10.0.1.10/32", "10.0.2.20/32")


def test_bad_prices_are_shown_not_run(monkeypatch, store):
    monkeypatch.setenv("FLOWSCOPE_PRICES", '{"us-east-1": {"nat-gateway": -1}}')
    at = cost_page(monkeypatch, store)
    assert not at.exception
    assert any("prices.us-east-1.nat-gateway" in e for e in errors(at))
    assert len(at.dataframe) == 0


# --- the same page on the Athena engine ------------------------------------------------------

@pytest.fixture
def athena_page(store, monkeypatch):
    fake = shared_fake()
    fake.load_store(store)
    fake.use_in_app(monkeypatch, {
        "FLOWSCOPE_ENGINE": "athena", "FLOWSCOPE_AUTH_MODE": "none",
        "FLOWSCOPE_DATA_DIR": str(store), "FLOWSCOPE_ATHENA_CACHE_TTL_S": "0",
        "FLOWSCOPE_ATHENA_RESULT_REUSE_MINUTES": "0"})
    monkeypatch.setattr(AthenaEngine, "__init__",
                        functools.partialmethod(AthenaEngine.__init__, poll_interval=0.01))
    fake.reset()
    st.cache_data.clear()
    st.cache_resource.clear()
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    for key, value in {**WINDOW, "account": [ACCOUNT_A]}.items():
        at.session_state[key] = value
    yield at
    st.cache_resource.clear()
    fake.load_store(fake.store_root)


def test_the_page_on_athena_shows_the_same_charges(athena_page):
    at = athena_page.run()
    at.switch_page(PAGE).run()
    assert not at.exception and not errors(at), errors(at)
    found = tables(at)
    assert class_bytes(found["period"]) == EXPECTED_A
    assert any("athena" in c.value for c in at.caption)


def test_drivers_by_interface_open_search_on_the_interface(monkeypatch, store):
    at = app(monkeypatch, store, **WINDOW, account=[ACCOUNT_A],
             **{cost.DRIVER_GROUP_KEY: "interface"}).run()
    at.switch_page(PAGE).run()
    drivers = tables(at)["drivers"]
    assert "interface_id" in drivers.columns
    nat = drivers[drivers["class"] == "nat-gateway"].iloc[0]
    assert int(nat["bytes"]) == 400_000 + 7_000_000  # app1's traffic to S3 through the NAT
    row = int(drivers.index[drivers["class"] == "nat-gateway"][0])
    at.session_state[cost.DRIVERS_KEY] = {"selection": {"rows": [row], "columns": []}}
    at.run()
    assert at.session_state[gui.PENDING_FILTERS]["eni"] == nat["interface_id"]
