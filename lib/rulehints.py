"""Rule hints for a connection check (issue 18): the check's folders read into the
inventory (interfaces and today's rules), then ``lib.rules`` on its two addresses. What the
command line's ``check --explain-rules`` prints and the Connection check page shows."""

from __future__ import annotations

from lib import i18n, inventory
from lib.querycore import ALL_ACCOUNTS, Scope
from lib.rules import REJECTED_VERDICTS, explain, notes, rule_words, sentence
from lib.schema import LOG_ACCOUNT, LOG_REGION


def _single_port(filters) -> tuple[bool, int | None]:
    """(usable, port): one port or none (ICMP) is usable; a range or a list is not."""
    if not filters.dst_ports:
        return True, None
    if len(filters.dst_ports) == 1 and filters.dst_ports[0][0] == filters.dst_ports[0][1]:
        return True, filters.dst_ports[0][0]
    return False, None


def check_folders(filters, rows, scope: Scope = ALL_ACCOUNTS) -> list[tuple[str, str]]:
    """The account and region folders whose rules a check needs: where its records were
    logged, and the accounts and regions it names; only those of the user's scope."""
    folders = {(r[LOG_ACCOUNT], r[LOG_REGION]) for r in rows
               if r.get(LOG_ACCOUNT) and r.get(LOG_REGION)}
    folders |= {(a, r) for a in filters.accounts for r in filters.regions}
    return sorted((a, r) for a, r in folders if scope.allows(a))


def check_hints(settings, filters, rows, code: str, lang: str = "en", zone: str | None = None,
                store=None, refresh: bool = True, scope: Scope = ALL_ACCOUNTS) -> dict:
    """The rule hints of one check, as the command line prints them and the page shows them:
    ``rules`` (the findings), ``rules_notes`` (plain words: when the rules were read, what
    is not known, each finding with the rule to add) and ``rules_errors`` (folders whose
    rules could not be read). The inventory is refreshed first for the check's folders
    (older than ``inventory_ttl_s`` only) unless ``refresh`` is False. Only interfaces of
    ``scope``'s accounts are read and looked at: another account's interface holding one of
    the addresses is treated as unknown, never named."""
    words = rule_words()
    port_ok, port = _single_port(filters)
    if (filters.src is None or filters.dst is None or filters.src.num_addresses != 1
            or filters.dst.num_addresses != 1 or len(filters.protocols) != 1 or not port_ok):
        return {"rules": [], "rules_notes": [i18n.fill(words["needs-single"], lang)],
                "rules_errors": []}
    store = store or inventory.inventory_store(settings)
    errors = []
    folders = check_folders(filters, rows, scope)
    if refresh and folders:
        report = inventory.refresh(settings, folders, store)
        errors = [f"{account} {region}: {why}" for account, region, why in report.failed]
    rejected = [r["start"] for r in rows if r.get("action") == "REJECT" and r.get("start")]
    when = max(rejected) if rejected else filters.end - 1
    explanation = explain(store, str(filters.src.network_address),
                          str(filters.dst.network_address), filters.protocols[0], port, when,
                          allows=scope.allows)
    return {"rules": explanation.to_json(),
            "rules_notes": notes(explanation, code, lang, zone)
            + [sentence(f, lang) for f in explanation.findings],
            "rules_errors": errors}


def inventory_configured(settings) -> bool:
    """Whether the page should read rules: an EC2 endpoint or a role is set, or an
    inventory has been read before (``lib.cli inventory refresh``). Without any, the Connection
    check stays as it was (no EC2 call from the page)."""
    return bool(settings.ec2_endpoint_url or settings.inventory_role_name
                or inventory.inventory_path(settings).exists())


HINTED_VERDICTS = REJECTED_VERDICTS + ("intermittent",)


def text(key: str, lang: str = "en") -> str:
    """One of the rule hints' words (lib/texts/rules.toml), for the page."""
    return i18n.pick(rule_words()[key], lang)
