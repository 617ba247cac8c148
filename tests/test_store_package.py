"""lib/store: one package reads the store for every module; no import circles through it."""

from __future__ import annotations

import ast
from pathlib import Path

from storefixture import ACCOUNT_A, T0, record, write_object

from lib.store import layout
from lib.store.backends import LocalBackend

LIB = Path(__file__).resolve().parent.parent / "lib"
MINE = ("lib.store", "lib.columnar", "lib.engines.duckdb_engine", "lib.objects", "lib.parser")


def _module(path: Path) -> str:
    parts = list(path.relative_to(LIB.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph() -> dict[str, set[str]]:
    """Every lib module -> the lib modules it imports (at the top or inside functions)."""
    modules = {_module(p): p for p in LIB.rglob("*.py")}
    graph = {}
    for name, path in modules.items():
        found = set()
        for node in ast.walk(ast.parse(path.read_text())):
            targets = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                targets = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            found |= {t for t in targets if t in modules and t != name}
        # A package naming its own submodule (a factory) is no circle: Python imports the
        # package before any of its submodules anyway.
        graph[name] = {t for t in found if not t.startswith(name + ".")}
    return graph


def cycle_through(graph: dict[str, set[str]], start: str) -> list[str] | None:
    """A path start -> ... -> start, if there is one."""
    stack, seen = [(start, [start])], set()
    while stack:
        node, path = stack.pop()
        for nxt in graph.get(node, ()):
            if nxt == start:
                return [*path, start]
            if nxt not in seen:
                seen.add(nxt)
                stack.append((nxt, [*path, nxt]))
    return None


def test_the_store_modules_are_in_no_import_circle():
    graph = import_graph()
    mine = [m for m in graph if m.startswith(MINE)]
    assert "lib.store.layout" in mine and "lib.store.reading" in mine
    assert {m: cycle_through(graph, m) for m in mine} == dict.fromkeys(mine)


def test_the_old_readers_are_gone():
    assert not (LIB / "rawread.py").exists() and not (LIB / "store.py").exists()


def test_the_walk_finds_hive_style_and_hourly_folders(tmp_path):
    plain = write_object(tmp_path, [record("10.0.0.1", "10.0.0.2", 1, 2, start=T0)],
                         delivered=T0 + 300)
    hive_dir = (tmp_path / "AWSLogs" / f"aws-account-id={ACCOUNT_A}" / "aws-service=vpcflowlogs"
                / "aws-region=us-east-1" / "year=2026" / "month=09" / "day=21" / "hour=00")
    hive_dir.mkdir(parents=True)
    (hive_dir / plain.name.replace("fl-", "fl-9")).write_bytes(plain.read_bytes())
    backend = LocalBackend(tmp_path)
    folders = layout.all_folders(backend)
    assert {f.hive for f in folders} == {False, True}
    for folder in folders:
        assert layout.Folder.from_rel(folder.rel) == folder
        assert len(layout.list_day(backend, folder)) == 1
