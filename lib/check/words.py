"""Connection check, the words: every English and Japanese text of the check (verdict
messages, reasons, table headings and labels) and the reasons chosen from the facts."""

from __future__ import annotations

from collections import Counter

from lib import glossary, i18n, timeutil
from lib.check.facts import (
    INCOMPLETE,
    RECENT_S,
    REQUEST,
    RESPONSE,
    RST,
    SIDE_DESTINATION,
    SIDE_SOURCE,
    SIDE_UNKNOWN,
    SYN,
    SYN_ACK,
    CheckSpec,
    Facts,
    Seen,
    counts_of,
    decide_on_records,
    flags_of,
    network_text,
)

# The texts are in lib/texts/check.toml (see lib/i18n.py).
_CATALOGUE = i18n.catalogue("check")
WORDS = _CATALOGUE["texts"]  # verdict messages and reasons
HEADINGS = _CATALOGUE["columns"]  # the page's table headings; request/response label directions
HOW = _CATALOGUE["how"]  # how an interface's side was told, in plain words
PROOF_LABELS = {(direction, action): _CATALOGUE["proof"][f"{direction}-{action.lower()}"]
                for direction in (REQUEST, RESPONSE) for action in ("ACCEPT", "REJECT")}


class Words:
    """Texts in one language, with the check's addresses and service filled in."""

    def __init__(self, lang: str, spec: CheckSpec, zone: str | None):
        self.lang = i18n.known(lang)
        self.zone = zone or "UTC"
        self.common = {"src": network_text(spec.src), "dst": network_text(spec.dst),
                       "service": self.service(spec),
                       "protocol": "/".join(glossary.protocol_name(p) for p in spec.protocols)
                       or "TCP/UDP"}

    def say(self, key: str, **values) -> str:
        """The text; its '-one' form when it counts one thing (no 'record(s)')."""
        if values.get("n") == 1 and f"{key}-one" in WORDS:
            key = f"{key}-one"
        return i18n.fill(WORDS[key], self.lang, **{**self.common, **values})

    def time(self, epoch: int | None) -> str:
        return timeutil.format_local(epoch, self.zone) or "-"

    def service(self, spec: CheckSpec) -> str:
        protocols = "/".join(glossary.protocol_name(p) for p in spec.protocols)
        ports = spec.port_ranges
        if not ports:
            return protocols or i18n.pick(WORDS["any-port"], self.lang)
        text = ",".join(str(lo) if lo == hi else f"{lo}-{hi}" for lo, hi in ports)
        named = (glossary.port_service(ports[0][0], spec.protocols[0] if spec.protocols else None)
                 if len(ports) == 1 and ports[0][0] == ports[0][1] else None)
        words = f"{protocols} " if protocols else ""
        return f"{words}{i18n.pick(WORDS['port'], self.lang)} {text}" + (f" ({named})" if named else "")


def _interfaces_text(items: list[Seen]) -> str:
    names = sorted({s.interface for s in items})
    return ", ".join(names[:3]) + (f" (+{len(names) - 3})" if len(names) > 3 else "")


def _count_reasons(facts: Facts, w: Words) -> list[str]:
    out = []
    for direction, missing in ((REQUEST, "no-requests"), (RESPONSE, "no-responses")):
        items = facts.pick(direction)
        if not items:
            out.append(w.say(missing))
            continue
        out.append(w.say(
            "count-" + direction, n=len(items), **counts_of(items),
            bytes=f"{sum(s.row.get('bytes') or 0 for s in items):,}",
            first=w.time(min(s.row["start"] for s in items)),
            last=w.time(max(s.row.get("end") or s.row["start"] for s in items))))
    return out


def _rejected_request_reasons(facts: Facts, w: Words) -> list[str]:
    out = []
    for side, key in ((SIDE_SOURCE, "rejected-at-source"), (SIDE_DESTINATION, "rejected-at-destination"),
                      (SIDE_UNKNOWN, "rejected-side-unknown")):
        items = facts.pick(REQUEST, "REJECT", side)
        if items:
            out.append(w.say(key, n=len(items), interfaces=_interfaces_text(items)))
    accepted_out = facts.pick(REQUEST, "ACCEPT", SIDE_SOURCE)
    if accepted_out and facts.pick(REQUEST, "REJECT", SIDE_DESTINATION):
        out.append(w.say("accepted-at-source", interfaces=_interfaces_text(accepted_out)))
    return out


def _response_rejected_reasons(facts: Facts, w: Words) -> list[str]:
    out = [w.say("stateful")]
    for side, key in ((SIDE_DESTINATION, "nacl-destination"), (SIDE_SOURCE, "nacl-source"),
                      (SIDE_UNKNOWN, "nacl-unknown")):
        items = facts.pick(RESPONSE, "REJECT", side)
        if items:
            ports = sorted({s.row.get("dstport") for s in items if s.row.get("dstport")})
            shown = ", ".join(map(str, ports[:5])) + (", …" if len(ports) > 5 else "")
            out.append(w.say(key, interfaces=_interfaces_text(items),
                             ports=shown or w.say("none")))
    return out


def _no_response_reasons(facts: Facts, w: Words) -> list[str]:
    requests = facts.pick(REQUEST, "ACCEPT")
    protocols = {s.row.get("protocol") for s in requests}
    out = []
    if 6 in protocols:
        flags = flags_of(s for s in requests if s.row.get("protocol") == 6)
        if flags is None:
            out.append(w.say("no-flags"))
        elif flags & SYN:
            out.append(w.say("syn-only", flags=flags))
    at_destination = facts.pick(REQUEST, "ACCEPT", SIDE_DESTINATION)
    at_source = facts.pick(REQUEST, "ACCEPT", SIDE_SOURCE)
    if at_destination:
        out.append(w.say("reached-destination", interfaces=_interfaces_text(at_destination)))
    elif at_source:
        out.append(w.say("left-source-only", interfaces=_interfaces_text(at_source)))
    elif requests:
        out.append(w.say("accepted-side-unknown", interfaces=_interfaces_text(requests)))
    connectionless = sorted(p for p in protocols if p is not None and p != 6)
    if connectionless:
        out.append(w.say("connectionless",
                         protocol="/".join(glossary.protocol_name(p) for p in connectionless)))
    return out


def _change_reasons(facts: Facts, w: Words) -> list[str]:
    """For mixed results: whether the rejections all came before or after the successes."""
    failures = [s.row["start"] for s in facts.pick(action="REJECT")]
    successes = [s.row["start"] for s in facts.pick(RESPONSE, "ACCEPT")]
    if not failures or not successes:
        return []
    if max(failures) < min(successes):
        return [w.say("rejected-then-ok", time=w.time(min(successes)))]
    if max(successes) < min(failures):
        return [w.say("ok-then-rejected", time=w.time(max(successes)))]
    return []


def _tcp_answer_reasons(code: str, facts: Facts, w: Words) -> list[str]:
    tcp = [s for s in facts.pick(RESPONSE, "ACCEPT") if s.row.get("protocol") == 6]
    flags = flags_of(tcp)
    if flags is None:
        return []
    if code == "refused" or (flags & RST and flags & SYN_ACK != SYN_ACK):
        return [w.say("rst", flags=flags)]
    return [w.say("handshake", flags=flags)] if flags & SYN_ACK == SYN_ACK else []


def _reject_reason_reasons(facts: Facts, w: Words) -> list[str]:
    values = Counter(s.row["reject_reason"] for s in facts.pick(action="REJECT")
                     if s.row.get("reject_reason"))
    out = [w.say("reject-reason", n=n, value=value,
                 meaning=glossary.reject_reason_label(value, w.lang))
           for value, n in sorted(values.items())]
    if "BPA" in values:
        out.append(w.say("bpa"))
    return out


def _owner_reasons(facts: Facts, w: Words) -> list[str]:
    """How the sides were told, once per way of telling (the same explanation for the source's
    and the destination's interface was said twice: issue 19.11)."""
    told: dict[str, list[str]] = {}
    for interface, owner in sorted(facts.owners.items()):
        if owner.how == "flow-direction":
            continue
        side = next((sd for s, sd in zip(facts.seen, facts.sides, strict=True) if s.interface == interface),
                    SIDE_UNKNOWN)
        if side != SIDE_UNKNOWN:
            item = w.say("owner-item", interface=interface, side=w.say("side-" + side))
            told.setdefault(owner.how, []).append(
                item + (f" ({owner.address})" if owner.address else ""))
    return [w.say("owner-" + how, assigned=w.say("list-separator").join(items))
            for how, items in told.items()]


def _gap_reasons(facts: Facts, w: Words) -> list[str]:
    """Each SKIPDATA interval and hour without records of the checked interfaces."""
    c = facts.coverage
    if c is None:
        return []
    out = [w.say("gap-skipdata", interface=g.interface_id,
                 side=w.say("side-" + (c.side_of(g.interface_id) or "unknown")),
                 account=g.account, region=g.region, first=w.time(g.start), last=w.time(g.end))
           for g in c.gaps]
    out += [w.say("gap-missing-hour", account=m.account, region=m.region, first=w.time(m.start),
                  last=w.time(m.end)) for m in c.missing]
    return out


def message_for(code: str, facts: Facts, w: Words) -> str:
    """The verdict in one sentence; incomplete-logs names the first gap (interface or
    account, from-to in the viewer's zone)."""
    if code != INCOMPLETE or facts.coverage is None:
        return w.say("message-" + code)
    c = facts.coverage
    if c.gaps:
        g = c.gaps[0]
        gap = w.say("gap-short-skipdata", interface=g.interface_id,
                    side=w.say("side-" + (c.side_of(g.interface_id) or "unknown")),
                    first=w.time(g.start), last=w.time(g.end))
    else:
        m = c.missing[0]
        gap = w.say("gap-short-missing-hour", account=m.account, region=m.region,
                    first=w.time(m.start), last=w.time(m.end))
    return w.say("message-" + code, gap=gap)


def reasons_for(code: str, facts: Facts, w: Words, now: int | None, truncated: bool
             ) -> list[str]:
    if code == INCOMPLETE:  # the gaps first, then what the records that exist show
        shown = decide_on_records(facts)
        return (_gap_reasons(facts, w) + [w.say("records-show", verdict=w.say("message-" + shown))]
                + _record_reasons(shown, facts, w, now, truncated))
    out = _record_reasons(code, facts, w, now, truncated)
    if facts.incomplete:  # a verdict on records that were seen stands, with a caveat
        out += [w.say("gap-caveat"), *_gap_reasons(facts, w)]
    return out


def _record_reasons(code: str, facts: Facts, w: Words, now: int | None, truncated: bool
                    ) -> list[str]:
    spec = facts.spec
    recent = now is not None and spec.end > now - RECENT_S
    if code == "no-records":
        out = ([w.say("recent")] if recent else []) + [w.say("not-logged")]
    else:
        out = _count_reasons(facts, w)
        if code in ("connected", "intermittent", "refused"):
            out += _tcp_answer_reasons(code, facts, w)
        if facts.pick(REQUEST, "REJECT"):
            out += _rejected_request_reasons(facts, w)
        if facts.pick(RESPONSE, "REJECT"):
            out += _response_rejected_reasons(facts, w)
        if code == "no-response":
            out += _no_response_reasons(facts, w)
        if code == "intermittent":
            out += _change_reasons(facts, w)
        out += _reject_reason_reasons(facts, w)
        if code not in ("connected", "refused"):
            out += _owner_reasons(facts, w)
        if recent and code in ("no-response", "rejected", "rejected-outbound",
                               "rejected-inbound", "response-rejected"):
            out.append(w.say("recent"))
    if spec.ports_ignored:
        out.append(w.say("ports-ignored"))
    if truncated:
        out.append(w.say("truncated", n=f"{len(facts.seen):,}"))
    return out
