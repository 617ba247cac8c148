"""Validated search filters: the only way user input reaches a query.

Every value is parsed into a typed form (ints, ``ipaddress`` networks, fixed
enumerations, IDs checked against AWS's formats). The same raw keys are used by the
command line, the sidebar widgets and the URL query string, so a search can be shared
as a link: ``to_params(parse_filters(raw)) == raw`` for normalised input.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from lib import iputil
from lib.iputil import IPNetwork
from lib.timeutil import now, parse_time

PortRange = tuple[int, int]

ACTIONS = ("ACCEPT", "REJECT")
MAX_INPUT = 2000  # characters in one raw value: more is an error, never truncated
MAX_ITEMS = 100  # values in one list filter
# Times a query may name: from 2000-01-01 (long before flow logs existed) to one day from now
# (records are never from the future; a day covers any clock or zone mistake).
EARLIEST = 946_684_800
FUTURE_MARGIN_S = 86400

_ID_PATTERNS = {
    "account": re.compile(r"[0-9]{12}"),  # ASCII: \d also takes look-alikes such as "０"
    "region": re.compile(r"[a-z]{2}(-[a-z]+)+-[0-9]{1,2}"),
    "eni": re.compile(r"eni-[0-9a-f]{8,17}"),
    "vpc": re.compile(r"vpc-[0-9a-f]{8,17}"),
    "subnet": re.compile(r"subnet-[0-9a-f]{8,17}"),
}

# Raw keys, in the order the sidebar shows them. They are also the URL parameter names.
KEYS = ("start", "end", "account", "region", "src", "dst", "src_port", "dst_port",
        "protocol", "action", "eni", "vpc", "subnet")


class InvalidValue(ValueError):
    """A value that is not valid, as a code and its values: ``str()`` is the English
    message (the command line, logs); ``message(lang)`` the viewer's language, from
    lib/texts/filters.toml."""

    def __init__(self, code: str, **values):
        self.code, self.values = code, values
        super().__init__(self.message("en"))

    def message(self, lang: str | None) -> str:
        from lib import i18n

        return i18n.fill(i18n.catalogue("filters")["errors"][self.code], lang, **self.values)


class InvalidFilters(ValueError):
    """One or more raw values are invalid: ``errors`` maps each raw key to its English
    message, ``messages(lang)`` to the message in a language."""

    def __init__(self, problems: Mapping[str, InvalidValue | str]):
        self.problems = dict(problems)
        self.errors = {key: str(problem) for key, problem in self.problems.items()}
        super().__init__("; ".join(f"{k}: {v}" for k, v in self.errors.items()))

    def messages(self, lang: str | None) -> dict[str, str]:
        return {key: problem.message(lang) if isinstance(problem, InvalidValue) else problem
                for key, problem in self.problems.items()}


@dataclass(frozen=True)
class Filters:
    start: int  # UTC epoch seconds, inclusive: a record matches when start <= record.start
    end: int  # exclusive: record.start < end
    accounts: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()
    src: IPNetwork | None = None
    dst: IPNetwork | None = None
    src_ports: tuple[PortRange, ...] = ()
    dst_ports: tuple[PortRange, ...] = ()
    protocols: tuple[int, ...] = ()
    action: str | None = None
    interface_ids: tuple[str, ...] = ()
    vpc_ids: tuple[str, ...] = ()
    subnet_ids: tuple[str, ...] = ()

    def with_(self, **changes) -> Filters:
        return replace(self, **changes)


# --- parsing single values -------------------------------------------------------------

def _items(value: str | Sequence[str] | None) -> list[str]:
    """A raw multi-value: a list, or one string separated by commas or white space."""
    if value is None:
        return []
    raw = [value] if isinstance(value, str) else list(value)
    out = []
    for part in raw:
        out.extend(p for p in re.split(r"[\s,]+", str(part)) if p)
    return out


def _check_length(value) -> None:
    text = value if isinstance(value, str) else " ".join(map(str, value or ()))
    if len(text) > MAX_INPUT:
        raise InvalidValue("too-long", length=len(text), most=MAX_INPUT)


def parse_network(text: str) -> IPNetwork:
    """An IP address or CIDR (IPv4 or IPv6); host bits of a CIDR are cleared."""
    text = text.strip()
    try:
        return iputil.parse_network(text)
    except iputil.ZoneIdError:
        raise InvalidValue("zone-id") from None  # the value is not repeated
    except ValueError:
        raise InvalidValue("not-address", value=repr(text)) from None


def parse_ports(value: str | Sequence[str]) -> tuple[PortRange, ...]:
    """'443', '1024-65535', '80,443' (or a list of those) -> ranges of valid ports."""
    ranges = []
    for item in _items(value):
        low_text, sep, high_text = item.partition("-")
        if not _is_number(low_text) or (sep and not _is_number(high_text)):
            raise InvalidValue("not-port", value=repr(item))
        low, high = int(low_text), int(high_text) if sep else int(low_text)
        if not (0 <= low <= 65535 and 0 <= high <= 65535):
            raise InvalidValue("port-range", value=repr(item))
        if low > high:
            raise InvalidValue("port-order", value=repr(item))
        ranges.append((low, high))
    if len(ranges) > MAX_ITEMS:
        raise InvalidValue("too-many-ports", most=MAX_ITEMS)
    return tuple(sorted(set(ranges)))


def _is_number(text: str) -> bool:
    """ASCII digits only: isdigit() and int() also take "４４３" and "٤٤٣"."""
    return text.isascii() and text.isdigit()


def parse_time_bounded(text: str) -> int:
    if not text.isascii():
        raise InvalidValue("time-ascii", value=repr(text))
    try:
        epoch = parse_time(text)
    except ValueError:
        raise InvalidValue("not-time", value=repr(text)) from None
    if not EARLIEST <= epoch <= now() + FUTURE_MARGIN_S:
        raise InvalidValue("time-out-of-range", value=repr(text))
    return epoch


def parse_protocols(value: str | Sequence[str]) -> tuple[int, ...]:
    from lib.glossary import protocol_number

    numbers = []
    for item in _items(value):
        number = protocol_number(item)
        if number is None:
            raise InvalidValue("not-protocol", value=repr(item))
        numbers.append(number)
    return tuple(sorted(set(numbers)))


def parse_ids(key: str, value: str | Sequence[str]) -> tuple[str, ...]:
    ids = []
    for item in _items(value):
        item = item.strip().lower()
        if not _ID_PATTERNS[key].fullmatch(item):
            raise InvalidValue(f"not-{key}", value=repr(item))
        ids.append(item)
    if len(ids) > MAX_ITEMS:
        raise InvalidValue("too-many", most=MAX_ITEMS)
    return tuple(sorted(set(ids)))


def parse_action(value: str | None) -> str | None:
    text = (value or "").strip().upper()
    if text in ("", "ANY", "ALL"):
        return None
    if text not in ACTIONS:
        raise InvalidValue("not-action", value=repr(value))
    return text


# --- the whole filter set --------------------------------------------------------------

def _single(value) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    values = [v for v in value if str(v).strip()]
    if len(values) > 1:
        raise InvalidValue("one-value")
    return str(values[0]) if values else ""


def _parse_one(key: str, value):
    _check_length(value)
    if key in ("start", "end"):
        text = _single(value).strip()
        if not text:
            raise InvalidValue("required")
        return parse_time_bounded(text)
    if key in ("src", "dst"):
        text = _single(value).strip()
        return parse_network(text) if text else None
    if key in ("src_port", "dst_port"):
        return parse_ports(value or ())
    if key == "protocol":
        return parse_protocols(value or ())
    if key == "action":
        return parse_action(_single(value))
    return parse_ids(key, value or ())


_FIELD_OF_KEY = {"start": "start", "end": "end", "account": "accounts", "region": "regions",
                 "src": "src", "dst": "dst", "src_port": "src_ports", "dst_port": "dst_ports",
                 "protocol": "protocols", "action": "action", "eni": "interface_ids",
                 "vpc": "vpc_ids", "subnet": "subnet_ids"}


def _max_range_days() -> int:
    from lib.config import load_settings

    return load_settings().max_range_days


def range_problem(start: int, end: int, max_range_days: int) -> InvalidValue | None:
    """Why a time range may not be queried, or None."""
    if start >= end:
        return InvalidValue("end-before-start")
    if end - start > max_range_days * 86400:
        return InvalidValue("range-too-long", days=f"{(end - start) / 86400:,.1f}",
                           most=max_range_days)
    return None


def range_error(start: int, end: int, max_range_days: int) -> str | None:
    """Why a time range may not be queried (in English), or None."""
    problem = range_problem(start, end, max_range_days)
    return str(problem) if problem else None


def parse_filters(raw: Mapping[str, object], max_range_days: int | None = None) -> Filters:
    """Validate every raw value; raise InvalidFilters naming each bad key. The time range
    may cover at most ``max_range_days`` (default: the setting of that name)."""
    values, errors = {}, {}
    for key in KEYS:
        try:
            values[_FIELD_OF_KEY[key]] = _parse_one(key, raw.get(key))
        except InvalidValue as error:
            errors[key] = error
        except ValueError as error:  # a message of its own (English only)
            errors[key] = str(error)
    if not errors:
        days = _max_range_days() if max_range_days is None else max_range_days
        problem = range_problem(values["start"], values["end"], days)
        if problem:
            errors["end"] = problem
    if errors:
        raise InvalidFilters(errors)
    return Filters(**{k: v for k, v in values.items() if v is not None})


def _ports_text(ranges: tuple[PortRange, ...]) -> str:
    return ",".join(str(lo) if lo == hi else f"{lo}-{hi}" for lo, hi in ranges)


def to_params(filters: Filters) -> dict[str, str]:
    """The raw form of validated filters (URL query string, CLI options); empty keys left out."""
    params = {
        "start": str(filters.start), "end": str(filters.end),
        "account": ",".join(filters.accounts), "region": ",".join(filters.regions),
        "src": str(filters.src) if filters.src else "",
        "dst": str(filters.dst) if filters.dst else "",
        "src_port": _ports_text(filters.src_ports), "dst_port": _ports_text(filters.dst_ports),
        "protocol": ",".join(map(str, filters.protocols)), "action": filters.action or "",
        "eni": ",".join(filters.interface_ids), "vpc": ",".join(filters.vpc_ids),
        "subnet": ",".join(filters.subnet_ids),
    }
    return {k: v for k, v in params.items() if v}
