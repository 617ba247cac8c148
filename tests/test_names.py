"""One meaning per name: a public name is defined (def, class or assignment at module level)
in one lib module only; other modules import it. A second definition of the same name is a
second meaning waiting to be confused with the first (issue 20)."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

LIB = Path(__file__).resolve().parent.parent / "lib"

# Collisions still there, in modules other work owns (issue 20 names them); a name leaves
# this list when it is renamed. Nothing may be added to it.
PENDING = {
    # One role, several implementations or layers (each module's own of the same thing):
    "identity",  # each sign-in mode's identity(settings)
    "main",  # each entry point (lib.auth for the container, lib.cli)
    "build_cost", "build_cost_savings",  # lib.query's kind builders call lib.cost's
    "accounts_and_regions", "clear_caches",  # the store, its layout, the Records browser
    "parse_network",  # lib.filters' names the field in its message; lib.iputil's does not
}


def _defined(node: ast.stmt) -> list[str]:
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return [node.name]
    if isinstance(node, ast.Assign):
        return [n.id for target in node.targets for n in ast.walk(target)
                if isinstance(n, ast.Name)]
    if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
        return [node.target.id]
    return []


def definitions(root: Path = LIB) -> dict[str, list[str]]:
    """Public module-level names -> the lib modules that define them."""
    found: dict[str, list[str]] = defaultdict(list)
    for path in sorted(root.rglob("*.py")):
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            for name in _defined(node):
                if not name.startswith("_"):
                    found[name].append(path.relative_to(root.parent).as_posix())
    return found


def test_actions_and_parse_time_have_one_meaning():
    found = definitions()
    assert found["ACTIONS"] == ["lib/filters.py"]
    assert found["parse_time"] == ["lib/timeutil.py"]


def test_no_new_name_means_two_things():
    collisions = {name: where for name, where in definitions().items() if len(where) > 1}
    new = {name: where for name, where in collisions.items() if name not in PENDING}
    assert not new, f"names defined in more than one lib module: {new}"


def test_the_walk_sees_every_kind_of_definition(tmp_path):
    pkg = tmp_path / "lib"
    pkg.mkdir()
    (pkg / "a.py").write_text("from x import B\nA = 1\nC: int = 2\ndef f(): pass\n_p = 3\n")
    (pkg / "b.py").write_text("A, D = 1, 2\nclass f: pass\n")
    found = definitions(pkg)
    assert found["A"] == ["lib/a.py", "lib/b.py"] and found["f"] == ["lib/a.py", "lib/b.py"]
    assert found["C"] == ["lib/a.py"] and "B" not in found and "_p" not in found
