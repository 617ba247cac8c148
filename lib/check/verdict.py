"""Connection check, the verdict: the decision on the facts, in words, with its evidence."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from lib.check.facts import (
    CheckSpec,
    Facts,
    classify,
    coverage_of,
    decide,
    evidence_of,
    infer_owners,
    side_of,
)
from lib.check.words import Words, message_for, reasons_for


@dataclass
class Verdict:
    code: str
    message: str
    reasons: list[str]
    evidence: dict
    lang: str = "en"

    def to_json(self) -> dict:
        """What the command line prints."""
        return {"verdict": self.code, "message": self.message, "reasons": self.reasons,
                "evidence": self.evidence}


def judge(rows: Iterable[Mapping], spec: CheckSpec, lang: str = "en", now: int | None = None,
          zone: str | None = None, limit: int | None = None,
          context: Mapping[str, list[dict]] | None = None) -> Verdict:
    """The verdict on rows of the ``check`` query (``Result.rows()``). ``now`` (epoch) makes
    the late-delivery note possible; ``zone`` is for times in the reasons; ``limit`` is the
    query's row limit (a full result means older records may be missing); ``context`` the
    rows of ``context_queries`` by name (what the logs could not see; issue 22)."""
    rows = list(rows)
    seen = [s for s in (classify(r, spec) for r in rows) if s is not None]
    owners = infer_owners(seen)
    facts = Facts(spec, seen, owners, [side_of(s, owners) for s in seen])
    if context is not None:
        facts.coverage = coverage_of(facts, context)
    code = decide(facts)
    words = Words(lang, spec, zone)
    reasons = reasons_for(code, facts, words, now, truncated=limit is not None and len(rows) >= limit)
    evidence = evidence_of(code, facts, truncated=limit is not None and len(rows) >= limit)
    return Verdict(code, message_for(code, facts, words), reasons, evidence, lang)
