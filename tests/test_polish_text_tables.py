"""Issue 19.5 drew the check's evidence and a record's explanation as st.table, which wraps
text but draws each cell as Markdown: values from pasted lines and logs must show as the
text they are (lib.present.plain), never as a link or markup."""

from apptest import app

from lib.present import plain

LINK = "[click](https://evil.example/)"


def test_a_pasted_lines_values_are_text_in_its_tables(monkeypatch, tmp_path):
    line = f"2 123456789012 eni-0a1b2c3d 10.0.0.5 10.0.1.9 40001 {LINK} 6 10 840 1790000000 " \
           "1790000060 ACCEPT OK"
    at = app(monkeypatch, tmp_path, paste_text=line).run()
    at.switch_page("pages/records.py").run()
    assert not at.exception
    layout = at.tabs[1].table[0].value.set_index("field")
    assert layout.loc["dstport", "value found"] == plain(LINK) != LINK
    cells = [str(v) for v in layout.to_numpy().ravel()]
    assert LINK not in cells and not any("](" in c and "\\]" not in c for c in cells)
