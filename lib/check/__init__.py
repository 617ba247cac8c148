"""Connection check: did traffic from A to B on port P get through, and where was it stopped?

``judge(rows, spec)`` turns the records of the ``check`` query (both directions of the
conversation in one query) into a ``Verdict``: a code, a one-sentence message (English or
Japanese), its reasons and the evidence. How records are read: see lib.check.facts.

The package holds one concern per module:

* ``facts``: the inputs, the records classified by direction and interface, the decision
  (``decide``) and the evidence;
* ``words``: every English/Japanese text and the reasons chosen from the facts;
* ``verdict``: ``Verdict`` and ``judge``, which tie the facts to the words;
* ``view``: the timeline, the page's tables, its share link and the demo cases.

This module re-exports what the page, the command line and the tests use.
"""

from lib.check.facts import (
    CHECK_LIMIT,
    REQUEST,
    RESPONSE,
    SIDE_DESTINATION,
    SIDE_SOURCE,
    SIDE_UNKNOWN,
    CheckSpec,
    Owner,
    Seen,
    check_query,
    classify,
    context_queries,
    decide,
    decide_on_records,
    infer_owners,
    parse_check,
    record_key,
    search_filters,
    side_of,
)
from lib.check.verdict import Verdict, judge
from lib.check.view import (
    WIDGET_KEYS,
    demo_cases,
    demo_inputs,
    evidence_table,
    gaps_table,
    interfaces_table,
    proof_label,
    share_query,
    timeline_bucket,
    timeline_chart,
    timeline_chart_frame,
    timeline_rows,
)

__all__ = [
    "CHECK_LIMIT", "REQUEST", "RESPONSE", "SIDE_DESTINATION", "SIDE_SOURCE", "SIDE_UNKNOWN",
    "WIDGET_KEYS", "CheckSpec", "Owner", "Seen", "Verdict", "timeline_bucket", "check_query",
    "classify", "decide", "demo_cases", "demo_inputs", "evidence_table", "infer_owners",
    "interfaces_table", "judge", "parse_check", "proof_label", "record_key", "search_filters",
    "share_query", "side_of", "timeline_chart", "timeline_chart_frame", "timeline_rows",
    "context_queries", "decide_on_records", "gaps_table",
]
