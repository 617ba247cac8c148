"""Failed password sign-ins: a bounded table and a growing back-off, per user name and client.

A lock-out keyed on the user name alone lets anyone keep any user out by failing on
purpose. Here failures are counted per (user name, client address): after
``login_max_failures`` failures within ``login_lockout_s``, that client must wait before
trying that name again, ``login_backoff_s`` doubled for every further failure, at most
``login_lockout_s``. The real user on another address is not slowed down at all. The
client address is the connection's, or, behind a load balancer, the entry of
X-Forwarded-For that the trusted proxy added (``trusted_proxy_hops``): one the client
cannot forge.

The table holds at most ``MAX_KEYS`` keys (least recently failed dropped first) and
``MAX_PER_KEY`` times per key, so a flood of made-up names costs bounded memory.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict, deque

MAX_KEYS = 10_000
MAX_PER_KEY = 64


class FailedSignIns:
    """Failed sign-ins per key over a sliding window, shared by every session of the
    process (each replica counts its own)."""

    def __init__(self, clock=time.monotonic, max_keys: int = MAX_KEYS):
        self._clock = clock
        self._max_keys = max_keys
        self._lock = threading.Lock()
        self._times: OrderedDict = OrderedDict()

    def __len__(self) -> int:
        return len(self._times)

    def _recent(self, key, window_s: float) -> deque:
        times = self._times.get(key)
        if times is None:
            return deque()
        while times and times[0] <= self._clock() - window_s:
            times.popleft()
        if not times:
            del self._times[key]
        return times

    def count(self, key, window_s: float) -> int:
        with self._lock:
            return len(self._recent(key, window_s))

    def add(self, key) -> None:
        with self._lock:
            times = self._times.pop(key, None) or deque(maxlen=MAX_PER_KEY)
            times.append(self._clock())
            self._times[key] = times  # most recent last
            while len(self._times) > self._max_keys:
                self._times.popitem(last=False)

    def wait_s(self, key, max_failures: int, window_s: float, backoff_s: float) -> float:
        """Seconds this key must still wait before its next attempt (0: may try now)."""
        with self._lock:
            times = self._recent(key, window_s)
            over = len(times) - max_failures
            if over < 0:
                return 0.0
            delay = min(backoff_s * 2 ** min(over, 30), window_s)
            return max(0.0, times[-1] + delay - self._clock())

    def clear(self, key=None) -> None:
        with self._lock:
            if key is None:
                self._times.clear()
            else:
                self._times.pop(key, None)


def client_address(peer: str | None, headers, trusted_hops: int) -> str:
    """The client's address: the connection's peer, or with ``trusted_hops`` proxies in
    front (an ALB is one), the X-Forwarded-For entry the nearest trusted proxy appended.
    Entries left of it are whatever the client sent and are ignored."""
    if trusted_hops > 0 and headers:
        forwarded = headers.get("X-Forwarded-For") or headers.get("x-forwarded-for") or ""
        entries = [e.strip() for e in forwarded.split(",") if e.strip()]
        if len(entries) >= trusted_hops:
            return entries[-trusted_hops]
    return peer or "unknown"
