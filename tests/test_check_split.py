"""lib/check holds one concern per module (issue 20): facts and decision, words, verdict, view;
each layer imports only the ones below it, and nothing in lib imports back in a circle."""

from __future__ import annotations

from test_store_package import cycle_through, import_graph

import lib.check

# Each layer and what it may import of the package (the layers below it).
LAYERS = {
    "lib.check.facts": set(),
    "lib.check.words": {"lib.check.facts"},
    "lib.check.verdict": {"lib.check.facts", "lib.check.words"},
    "lib.check.view": {"lib.check.facts", "lib.check.words", "lib.check.verdict"},
}


def test_each_layer_imports_only_the_layers_below_it():
    graph = import_graph()
    for module, allowed in LAYERS.items():
        assert {m for m in graph[module] if m.startswith("lib.check")} <= allowed, module


def test_the_check_and_the_i18n_helper_are_in_no_import_circle():
    graph = import_graph()
    mine = [m for m in graph if m == "lib.i18n" or m.startswith("lib.check")]
    assert set(LAYERS) | {"lib.check", "lib.i18n"} <= set(mine)
    assert {m: cycle_through(graph, m) for m in mine} == dict.fromkeys(mine)


def test_the_package_offers_what_the_page_and_the_cli_use():
    used = {"CHECK_LIMIT", "WIDGET_KEYS", "CheckSpec", "check_query", "demo_cases",
            "demo_inputs", "evidence_table", "interfaces_table", "judge", "parse_check",
            "proof_label", "share_query", "timeline_chart"}
    assert used <= set(lib.check.__all__)
    assert all(getattr(lib.check, name) is not None for name in lib.check.__all__)
