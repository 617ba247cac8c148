"""The docs stay true: every setting, every command-line subcommand and every lib module is
documented where a newcomer looks for it."""

from __future__ import annotations

import argparse
import re
from dataclasses import fields
from pathlib import Path

from lib import cli
from lib.config import Settings

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()
DOCS = README + "".join(p.read_text() for p in sorted((ROOT / "docs").glob("*.md")))


def section(text: str, title: str) -> str:
    """The body of a '## title' section of the README."""
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", text, re.S | re.M)
    assert match, f"README has no '## {title}' section"
    return match.group(1)


def subcommands() -> list[str]:
    parser = cli.build_parser()
    actions = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return sorted(actions[0].choices)


def lib_modules() -> list[str]:
    """lib/x.py as 'lib/x.py'; a package's modules as 'lib/pkg/x.py' (its __init__: 'lib/pkg/')."""
    found = []
    for path in sorted((ROOT / "lib").rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        if path.name == "__init__.py":
            if path.parent.name != "lib":
                found.append(rel.removesuffix("__init__.py"))
            continue
        found.append(rel)
    return found


def test_every_setting_is_documented():
    missing = [f.name for f in fields(Settings) if f"`{f.name}`" not in DOCS]
    assert not missing, f"settings without a row in README.md or docs/*.md: {missing}"


def test_every_subcommand_is_in_the_readme_command_line_section():
    commands = section(README, "Command line")
    names = subcommands()
    assert "query" in names and "check" in names
    missing = [n for n in names if f"python -m lib.cli {n}" not in commands]
    assert not missing, f"subcommands missing from README's Command line: {missing}"


def test_every_lib_module_is_in_the_readme_layout():
    layout = section(README, "Layout")
    missing = [m for m in lib_modules() if m not in layout]
    assert not missing, f"lib modules missing from README's Layout: {missing}"


def test_the_layout_names_no_module_that_is_gone():
    layout = section(README, "Layout")
    named = re.findall(r"^\s*(lib/[\w/]+(?:\.py|/))", layout, re.M)
    gone = [n for n in named if not (ROOT / n).exists()]
    assert not gone, f"README's Layout names files that do not exist: {gone}"


def test_the_readme_starts_with_the_two_commands():
    head = README.split("---", 1)[0]
    assert "python -m pip install -r requirements.txt && python -m streamlit run app.py" in head
    ci = (ROOT / ".ci" / "run").read_text()
    test_command = re.search(r"^    (python -m pip install -r requirements-dev\.txt && .+)$",
                             head, re.M)
    assert test_command and test_command.group(1) in ci
