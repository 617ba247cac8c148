"""The Data health page (issue 22) and Search's NODATA/SKIPDATA option and gap note, driven
through AppTest on a store with a missing hour and a SKIPDATA interval."""

import pytest
from apptest import app, errors
from healthfixture import ENI_X, ENI_Y, ENI_Z, LOG_A, LOG_B, WINDOW, write_health_store
from storefixture import ACCOUNT_A, ACCOUNT_B

PAGE = "pages/health.py"


@pytest.fixture
def store(tmp_path):
    return write_health_store(tmp_path)


def health_page(monkeypatch, store, **state):
    at = app(monkeypatch, store, **WINDOW, **state).run()
    at.switch_page(PAGE)
    return at.run()


def test_the_page_shows_flow_logs_gaps_and_hours(monkeypatch, store):
    at = health_page(monkeypatch, store)
    assert not at.exception and not errors(at), errors(at)
    assert at.title[0].value == "Data health"
    assert [s.value for s in at.subheader] == [
        "Flow logs", "SKIPDATA and NODATA intervals per interface", "Objects and records per hour"]
    logs, gaps, hours = (d.value for d in at.dataframe)
    assert list(logs["Flow log ID"]) == [LOG_A, LOG_B]
    assert list(logs["Hours without objects"])[0] == "2026-09-21 02:00"
    assert "no flow-direction" in list(logs["The field order lacks"])[1]
    assert list(gaps["Interface"]) == [ENI_Y, ENI_Z]
    assert list(gaps["Log status"]) == ["SKIPDATA", "NODATA"]
    assert list(gaps["Records"]) == [2, 1]
    assert len(hours) == 8 and list(hours["Hours without objects"]).count(LOG_A) == 1
    warnings = [w.value for w in at.warning]
    assert any(w.startswith("4 hour(s) in which a flow log delivered no object") for w in warnings)
    assert any(w.startswith("1 SKIPDATA interval(s)") for w in warnings)


def test_japanese(monkeypatch, store):
    at = health_page(monkeypatch, store, lang="ja", tz="Asia/Tokyo")
    assert not at.exception and not errors(at), errors(at)
    assert at.title[0].value == "データの健全性"
    assert at.subheader[0].value == "フローログ"
    logs, gaps, _ = (d.value for d in at.dataframe)
    assert list(logs["フローログ ID"]) == [LOG_A, LOG_B]
    assert list(logs["オブジェクトのない時間"])[0] == "2026-09-21 11:00"  # 02:00 UTC in JST
    assert "省略" in list(gaps["意味"])[0]
    assert list(gaps["開始"])[0].endswith("JST")
    assert any("SKIPDATA の期間が 1 件" in w.value for w in at.warning)


def test_a_scoped_user_sees_only_their_accounts_health(monkeypatch, store, tmp_path):
    access = tmp_path / "access.yaml"
    access.write_text(f'users:\n  local:\n    accounts: ["{ACCOUNT_B}"]\n')
    monkeypatch.setenv("FLOWSCOPE_ACCESS_FILE", str(access))
    at = health_page(monkeypatch, store)
    assert not at.exception and not errors(at), errors(at)
    logs, gaps, hours = (d.value for d in at.dataframe)
    assert list(logs["Flow log ID"]) == [LOG_B] and list(gaps["Interface"]) == [ENI_Z]
    assert set(hours["Account"]) == {ACCOUNT_B}
    assert ACCOUNT_A not in " ".join(str(v) for d in at.dataframe for v in d.value.to_numpy().ravel())


# --- Search: NODATA/SKIPDATA records on request, and the note when a gap overlaps ---------------

def search_rows(at):
    return at.dataframe[0].value


def test_search_leaves_nodata_and_skipdata_out_by_default(monkeypatch, store):
    at = app(monkeypatch, store, **WINDOW).run()
    assert not at.exception and not errors(at), errors(at)
    assert at.checkbox(key="search_gap_records").value is False
    assert set(search_rows(at)["Action"]) == {"ACCEPT"} and len(search_rows(at)) == 4
    at.checkbox(key="search_gap_records").check().run()
    actions = list(search_rows(at)["Action"])
    assert len(actions) == 7 and actions.count("SKIPDATA") == 2 and actions.count("NODATA") == 1


def test_search_notes_a_skipdata_gap_of_the_filtered_interface(monkeypatch, store):
    at = app(monkeypatch, store, **WINDOW, eni=ENI_Y).run()
    assert not at.exception and not errors(at), errors(at)
    notes = [w.value for w in at.warning if "SKIPDATA" in w.value]
    assert len(notes) == 1 and ENI_Y in notes[0] and "2026-09-21 03:01:00" in notes[0]
    other = app(monkeypatch, store, **WINDOW, eni=ENI_X).run()
    assert not [w.value for w in other.warning if "SKIPDATA" in w.value]
    account_b = app(monkeypatch, store, **WINDOW, account=[ACCOUNT_B]).run()  # NODATA only
    assert not [w.value for w in account_b.warning if "SKIPDATA" in w.value]
    account_a = app(monkeypatch, store, **WINDOW, account=[ACCOUNT_A]).run()
    assert [w.value for w in account_a.warning if ENI_Y in w.value]


def test_the_page_run_on_its_own_first_shows_only_the_sign_in(monkeypatch, tmp_path):
    """Like every page (issue 21.8): nothing is drawn, nothing queried, before the sign-in."""
    from authkit import WINDOW as AUTH_WINDOW
    from authkit import audit_lines, signed_app, write_access, write_store, write_users

    files = {"users_file": write_users(tmp_path / "users.yaml"),
             "access_file": write_access(tmp_path / "access.yaml"),
             "audit_file": tmp_path / "audit.jsonl"}
    at = signed_app(monkeypatch, write_store(tmp_path / "store"), "password", files, **AUTH_WINDOW)
    at.switch_page(PAGE)
    at.run()
    assert not at.exception
    assert "Data health" not in [t.value for t in at.title]
    assert [t.label for t in at.text_input] == ["Username", "Password"]
    assert not at.dataframe and audit_lines(files["audit_file"]) == []


def test_the_search_option_is_read_from_the_link(monkeypatch, store):
    at = app(monkeypatch, store)
    at.query_params.update({**WINDOW, "search_gap_records": "true"})
    at.run()
    assert not at.exception and not errors(at), errors(at)
    assert at.checkbox(key="search_gap_records").value is True
    assert len(search_rows(at)) == 7
