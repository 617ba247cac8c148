"""The sidebar line on the columnar cache's background build (lib.gui)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from streamlit.testing.v1 import AppTest

from lib import gui


@dataclass
class Build:
    """lib.columnar.BackgroundBuild at a chosen moment (a real build is over too fast to
    catch mid-way on a test's small store)."""

    running: bool
    done: float = 0.0
    message: str = ""
    error: str | None = None

    def refresh(self, every_s: float, throttle_s: float) -> bool:
        return False

    def wait(self, seconds: float) -> None:
        pass


def draw_cache_line() -> None:
    from lib import gui
    from lib.config import Settings

    gui.refresh_columnar_cache(Settings(engine="duckdb", columnar_cache=True))


@pytest.fixture
def page(monkeypatch, tmp_path):
    monkeypatch.setenv("FLOWSCOPE_DATA_DIR", str(tmp_path))

    def with_build(build: Build) -> AppTest:
        monkeypatch.setattr(gui, "_columnar_build", lambda root, cache_dir: build)
        return AppTest.from_function(draw_cache_line, default_timeout=30).run()
    return with_build


def progress_texts(at: AppTest) -> list[str]:
    return [p.text for p in at.sidebar.get("progress")]


def test_a_converting_build_shows_its_progress(page):
    at = page(Build(running=True, done=0.4, message="12 objects, 3,400 records"))
    assert progress_texts(at) == ["Preparing fast queries: 12 objects, 3,400 records. Results "
                                  "are complete meanwhile (read from the raw files)."]
    assert at.sidebar.get("progress")[0].proto.value == 40


def test_a_build_that_only_checks_for_new_objects_draws_nothing(page):
    assert progress_texts(page(Build(running=True, done=0.0, message="listing the store"))) == []
    assert progress_texts(page(Build(running=False, done=1.0))) == []


def test_a_failed_build_says_queries_read_raw_files(page):
    at = page(Build(running=False, error="OSError: disk full"))
    assert [c.value for c in at.sidebar.caption] == [
        "Fast-query cache not updated (OSError: disk full); queries read raw files."]
