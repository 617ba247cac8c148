"""Times: UTC epoch seconds inside queries; zones only for display."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


def now() -> int:
    return int(time.time())


def parse_time(text: str) -> int:
    """ISO 8601 (UTC when it names no zone) or epoch seconds -> epoch seconds.

    Raises ValueError with a message a person can act on.
    """
    text = str(text).strip()
    if text.lstrip("-").isdigit():
        return int(text)
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"not a time: {text!r} (use ISO 8601, e.g. 2026-11-26T09:00Z, "
                         "or epoch seconds)") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp())


def iso_utc(epoch: int | None) -> str | None:
    if epoch is None:
        return None
    return datetime.fromtimestamp(int(epoch), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def format_local(epoch: int | None, zone_name: str | None) -> str | None:
    """A record time in the viewer's zone, e.g. '2026-11-26 18:05:00 JST'."""
    if epoch is None:
        return None
    moment = datetime.fromtimestamp(int(epoch), zone(zone_name))
    return moment.strftime("%Y-%m-%d %H:%M:%S %Z")


def format_iso(epoch: int, zone_name: str | None) -> str:
    """An editable ISO 8601 time in the viewer's zone, e.g. '2026-11-26T18:05+09:00'."""
    moment = datetime.fromtimestamp(int(epoch), zone(zone_name))
    text = moment.isoformat(timespec="seconds" if moment.second else "minutes")
    return text.replace("+00:00", "Z")
