"""IBKR's pacing limits (docs/cpapi.md section 6), enforced per client IP with a penalty box, as the gateway does."""

from __future__ import annotations

import re
import time
from collections import defaultdict, deque

GLOBAL_PER_SECOND = 10
# (method or None, path regex, max requests, window seconds)
ENDPOINT_LIMITS: list[tuple[str | None, re.Pattern[str], int, float]] = [
    (None, re.compile(p), n, w) for p, n, w in [
        (r"^/iserver/marketdata/snapshot$", 10, 1.0),
        (r"^/iserver/scanner/params$", 1, 900.0),
        (r"^/iserver/scanner/run$", 1, 1.0),
        (r"^/iserver/account/trades$", 1, 5.0),
        (r"^/iserver/account/orders$", 1, 5.0),
        (r"^/iserver/account/pnl/partitioned$", 1, 5.0),
        (r"^/portfolio/accounts$", 1, 5.0),
        (r"^/portfolio/subaccounts$", 1, 5.0),
        (r"^/portfolio/subaccounts2$", 1, 5.0),  # docs/cpapi.md section 2, as the client paces it
        (r"^/pa/(performance|summary|transactions)$", 1, 900.0),
        (r"^/fyi/", 1, 1.0),
        (r"^/tickle$", 1, 1.0),
        (r"^/sso/validate$", 1, 60.0),
    ]
]


class Pacer:
    """Sliding windows per (client, limit); a violator is answered 429 for ``penalty_seconds``."""

    def __init__(self, penalty_seconds: float = 600.0, enabled: bool = True) -> None:
        self.penalty_seconds = penalty_seconds
        self.enabled = enabled
        self.rate_limited = 0
        self._hits: dict[tuple[str, str], deque[float]] = defaultdict(deque)
        self._penalty_until: dict[str, float] = {}

    def check(self, client: str, method: str, path: str) -> float | None:
        """Record a request; return the seconds left in the penalty box if it must be answered 429."""
        if not self.enabled:
            return None
        now = time.monotonic()
        until = self._penalty_until.get(client, 0.0)
        if until > now:
            self.rate_limited += 1
            return until - now
        limits = [("*", GLOBAL_PER_SECOND, 1.0)]
        limits += [(rx.pattern, n, w) for m, rx, n, w in ENDPOINT_LIMITS if (m in (None, method)) and rx.search(path)]
        for key, n, window in limits:
            hits = self._hits[(client, key)]
            while hits and hits[0] <= now - window:
                hits.popleft()
            if len(hits) >= n:
                self._penalty_until[client] = now + self.penalty_seconds
                self.rate_limited += 1
                return self.penalty_seconds
        for key, _, _ in limits:
            self._hits[(client, key)].append(now)
        return None

    def release(self) -> None:
        """Empty the penalty box (admin)."""
        self._penalty_until.clear()
        self._hits.clear()
