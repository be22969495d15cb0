"""Client-side pacing: keep every request inside IBKR's limits (docs/cpapi.md section 6) instead of provoking a 429.

IBKR answers a burst over its limits with 429 and may put the caller's IP in a penalty box for 10-15 minutes,
so the client paces itself. There is ONE limiter per process (:data:`LIMITER`, returned by
:func:`default_limiter`), shared by every thread and every :class:`~ibkr.transport.Transport`::

    with LIMITER.slot("GET", "/portfolio/DU1/positions/0"):
        send the request

A slot is granted when every rule that matches the request allows it; until then the caller sleeps. Rules are
sliding windows ("at most N requests in any W seconds"), each a safety margin below IBKR's number:

- the whole gateway: 9 requests in any 1 s (IBKR: 10/s). A sliding window rather than a 9-token bucket,
  because a full bucket lets 9 + 9 requests into one second; the window never lets a 10th into any second,
  whether IBKR counts per fixed second, per rolling second or with a 10-token bucket;
- per endpoint (method + path template), e.g. ``/iserver/account/orders`` 1 per 5.5 s (IBKR: 1 per 5 s);
- ``/iserver/marketdata/history`` additionally at most 5 requests in flight at once (IBKR: 5 concurrent).

After a 429 the transport calls :meth:`PacingLimiter.pause`, which holds every request of the process back
until IBKR's ``Retry-After`` has passed. The clock and the sleep function are injectable for tests.

IBKR's limits outlive a process: a dashboard restarted within a minute must not send a second ``/sso/validate``
(1 per minute), nor anything during a penalty. :meth:`PacingLimiter.persist` keeps the windows of 5 s and longer,
and a pause in force, in a small file per gateway (the gateway manager points it at its state folder), so the
next process starts where this one stopped.
"""

from __future__ import annotations

import bisect
import logging
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from ibkr.errors import RateLimited
from ibkr.state import read_json, write_json

__all__ = ["LIMITER", "DEFAULT_RULES", "PacingLimiter", "PacingRule", "default_limiter", "held_seconds"]

log = logging.getLogger(__name__)

SAFETY = 1.1  # windows are 10% longer than IBKR's
PERSISTED_PERIOD = 5.0  # windows at least this long (and a 429 pause) are kept on disk for the next process


_held = threading.local()


def held_seconds() -> float:
    """Seconds the calling thread has slept so far waiting for an endpoint's own limit or a 429 pause, not for
    the whole gateway's rate: time in which its requests cost the gateway nothing. A reader that judges its cost
    by how long a read took (:class:`ibkr.refresher.Refresher`) leaves this out: waiting 5 s for
    ``/portfolio/accounts`` (1 per 5 s) is not 5 s of the gateway's budget."""
    return getattr(_held, "seconds", 0.0)


@dataclass(frozen=True)
class PacingRule:
    """At most ``limit`` requests in any ``period`` seconds (and at most ``concurrent`` in flight) for a path."""

    name: str
    pattern: re.Pattern[str]
    limit: int
    period: float
    method: str | None = None
    concurrent: int | None = None

    def matches(self, method: str, path: str) -> bool:
        return (self.method is None or self.method == method) and self.pattern.search(path) is not None


def _rule(method: str | None, pattern: str, limit: int, period: float, concurrent: int | None = None) -> PacingRule:
    return PacingRule(
        name=f"{method or '*'} {pattern}", pattern=re.compile(pattern), limit=limit, period=period * SAFETY,
        method=method, concurrent=concurrent,
    )


GATEWAY_CUTOFF_SECONDS = 10.0
"""The Client Portal Gateway ends a request IBKR has not answered after 10 s (its empty 503 with
``x-response-time: 10000ms``): a request the client stopped waiting for earlier may still reach IBKR until then,
so it counts in its windows as if it finished then."""
PENALTY_SECONDS = 900.0
"""How long everything is held back after a 429 that names no ``Retry-After`` (IBKR's never does: docs/cpapi.md
section 6 documents none). IBKR puts the IP in a penalty box for 10 minutes (its web API docs) or 15 (its v1
docs, "Pacing Limitations"); this takes the longer, safer reading, because a repeat violator can be blocked for
good. Nothing is retried inside it."""

GLOBAL_LIMIT = 8  # IBKR: 10/s through the gateway; room for the keep-alive thread
GLOBAL_PERIOD = 1.0

# IBKR's per-endpoint limits (docs/cpapi.md section 6), each with the 10% margin of SAFETY on its window.
DEFAULT_RULES: tuple[PacingRule, ...] = (
    _rule("GET", r"^/iserver/marketdata/snapshot$", 9, 1.0),
    _rule("GET", r"^/iserver/marketdata/history$", 50, 60.0, concurrent=5),
    _rule("GET", r"^/iserver/scanner/params$", 1, 900.0),
    _rule("POST", r"^/iserver/scanner/run$", 1, 1.0),
    _rule("GET", r"^/iserver/account/trades$", 1, 5.0),
    _rule("GET", r"^/iserver/account/orders$", 1, 5.0),
    _rule("GET", r"^/iserver/account/pnl/partitioned$", 1, 5.0),
    _rule("GET", r"^/portfolio/accounts$", 1, 5.0),
    _rule("GET", r"^/portfolio/subaccounts2?$", 1, 5.0),
    _rule("POST", r"^/pa/(performance|summary|transactions)$", 1, 900.0),
    _rule(None, r"^/fyi/", 1, 1.0),
    _rule(None, r"^/tickle$", 1, 1.0),
    _rule("GET", r"^/sso/validate$", 1, 60.0),
)

PRIORITY = re.compile(r"^/(tickle|sso/validate|iserver/auth/status|iserver/reauthenticate|iserver/reply/"
                      r"|iserver/notification|iserver/account/[^/]+/orders?(/|$))")
"""The fast lane: the keep-alive and every order action (place, preview, answer, modify, cancel). While one of
them waits for a slot, no other request is admitted, so a Submit never queues behind a portfolio read's 150
paged requests, and the session is never lost for want of a tickle."""


@dataclass
class _Window:
    """One sliding window. A request occupies it from its admission until ``period`` after it finished: while in
    flight it has not necessarily reached the gateway yet (a busy machine, a new TLS connection), so it must not
    age out of the window and let the next ones through to arrive together with it."""

    rule: PacingRule
    stamps: deque[float] = field(default_factory=deque)  # when each request finished (an unanswered one: the cut-off)
    in_flight: int = 0

    def wait_needed(self, now: float) -> float | None:
        """Seconds until one more request fits; None when only a request in flight finishing can make room."""
        while self.stamps and self.stamps[0] <= now - self.rule.period:
            self.stamps.popleft()
        over = len(self.stamps) + self.in_flight - self.rule.limit
        if over < 0:
            return 0.0
        if over >= len(self.stamps):
            return None
        return self.stamps[over] + self.rule.period - now

    def has_room(self) -> bool:
        return self.rule.concurrent is None or self.in_flight < self.rule.concurrent


class _Admitted(list):
    """The windows a request was admitted to, and when."""

    def __init__(self, windows: list[_Window], admitted_at: float) -> None:
        super().__init__(windows)
        self.admitted_at = admitted_at


@dataclass
class Slot:
    """A request's place in its windows (:meth:`PacingLimiter.slot`)."""

    unanswered: bool = False  # it timed out: it may still reach IBKR until the gateway's cut-off


class PacingLimiter:
    """A thread-safe set of sliding windows: a global one and one per endpoint rule.

    ``clock`` returns seconds (monotonic); ``sleep`` waits. Tests pass a fake clock whose ``sleep`` advances it.
    """

    def __init__(
        self,
        rules: tuple[PacingRule, ...] = DEFAULT_RULES,
        *,
        global_limit: int = GLOBAL_LIMIT,
        global_period: float = GLOBAL_PERIOD,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        observer: Callable[[str, str, float], None] | None = None,
    ) -> None:
        self.clock = clock
        self.sleep = sleep
        self.observer = observer  # called as observer(method, path, admitted_at) for every admitted request
        self._lock = threading.Lock()
        self._released = threading.Condition(self._lock)
        self._global = _Window(PacingRule("global", re.compile(""), global_limit, global_period))
        self._windows = [_Window(rule) for rule in rules]
        self._paused_until = 0.0
        self._store: tuple[Path, str] | None = None  # (file, gateway key) of persist()
        self._wall: Callable[[], float] = time.time
        self._urgent = 0  # fast-lane requests waiting for a slot (see PRIORITY)
        self.waits = 0  # how many times a caller had to sleep (for benchmarks and tests)
        self.admitted = 0

    def rules_for(self, method: str, path: str) -> list[PacingRule]:
        """The endpoint rules that apply to a request (the global window always applies too)."""
        return [w.rule for w in self._windows if w.rule.matches(method.upper(), path)]

    def pause(self, seconds: float) -> None:
        """Hold every request of the process back for ``seconds`` (after a 429)."""
        with self._lock:
            self._paused_until = max(self._paused_until, self.clock() + max(0.0, seconds))
            self._save()

    def ready_in(self, method: str, path: str) -> float:
        """Seconds until a request could be admitted without waiting (0: now); for callers that would rather skip
        a request than wait for it (the keep-alive's once-a-minute ``/sso/validate``). A slot still in flight
        counts as its window's period."""
        method = method.upper()
        with self._lock:
            now = self.clock()
            windows = [self._global] + [w for w in self._windows if w.rule.matches(method, path)]
            needed = [w.wait_needed(now) for w in windows]
            return max([self._paused_until - now, 0.0] + [w.rule.period if n is None else n
                                                          for w, n in zip(windows, needed, strict=True)])

    # ---- state that outlives the process ----------------------------------------------------------------------
    def persist(self, path: Path, key: str, *, wall: Callable[[], float] = time.time) -> None:
        """Keep the long windows and a pause in force in ``path`` under ``key`` (the gateway's origin), and take
        up what an earlier process left there for that key. A missing or unreadable file is a fresh start."""
        with self._lock:
            self._store, self._wall = (Path(path), key), wall
            saved = read_json(Path(path)).get(key, {})
            offset = self.clock() - wall()  # wall-clock time -> this limiter's clock
            now = self.clock()
            for w in self._windows:
                if w.rule.period < PERSISTED_PERIOD:
                    continue
                earlier = [t + offset for t in saved.get("stamps", {}).get(w.rule.name, [])
                           if isinstance(t, int | float) and now - w.rule.period < t + offset <= now]
                w.stamps = deque(sorted({*w.stamps, *earlier}))
            paused = saved.get("paused_until")
            if isinstance(paused, int | float):
                self._paused_until = max(self._paused_until, paused + offset)

    def _save(self) -> None:
        """Write the long windows and the pause (called with the lock held); a write that fails is only logged."""
        if self._store is None:
            return
        path, key = self._store
        offset = self._wall() - self.clock()
        mine = {"stamps": {w.rule.name: [round(t + offset, 3) for t in w.stamps]
                           for w in self._windows if w.rule.period >= PERSISTED_PERIOD and w.stamps},
                "paused_until": round(self._paused_until + offset, 3) if self._paused_until > self.clock() else 0}
        try:
            state = read_json(path)
            state[key] = mine
            write_json(path, state)
        except OSError as exc:
            log.warning("could not keep the pacing state in %s: %s", path, exc)

    def paused_for(self) -> float:
        """Seconds left of a pause set by :meth:`pause` (0 when none)."""
        with self._lock:
            return max(0.0, self._paused_until - self.clock())

    def acquire(self, method: str, path: str, *, max_pause: float | None = None) -> list[_Window]:
        """Block until the request may be sent and record it; returns the windows to :meth:`release`.

        Raises :class:`~ibkr.errors.RateLimited` when a 429 pause has longer to run than ``max_pause`` seconds,
        so a dashboard shows "wait" instead of hanging for IBKR's 10-minute penalty box.
        """
        method = method.upper()
        windows = [self._global] + [w for w in self._windows if w.rule.matches(method, path)]
        urgent = PRIORITY.search(path) is not None
        if urgent:
            with self._lock:
                self._urgent += 1
        try:
            while True:
                with self._lock:
                    now = self.clock()
                    paused = self._paused_until - now
                    if paused > 0 and max_pause is not None and paused > max_pause:
                        raise RateLimited(
                            f"IBKR rate-limited this machine; requests are held back for another {paused:.0f} s. "
                            "Wait before refreshing.",
                            retry_after=paused, endpoint=f"{method} {path}",
                        )
                    if not urgent and self._urgent:
                        self._released.wait(timeout=0.05)  # the fast lane goes first
                        continue
                    needed = [w.wait_needed(now) for w in windows]
                    if not all(w.has_room() for w in windows) or None in needed:
                        self._released.wait(timeout=0.05)  # a request in flight must finish first
                        continue
                    wait = max([paused] + [n for n in needed if n is not None])
                    held = wait > (needed[0] or 0.0)  # another rule than the gateway's rate holds it back
                    if wait <= 0:
                        for w in windows:
                            w.in_flight += 1
                        self.admitted += 1
                        if self.observer is not None:
                            self.observer(method, path, now)
                        return _Admitted(windows, now)
                    self.waits += 1
                self.sleep(wait)
                if held:
                    _held.seconds = held_seconds() + wait
        finally:
            if urgent:
                with self._lock:
                    self._urgent -= 1
                    self._released.notify_all()

    def release(self, windows: list[_Window], *, unanswered: bool = False) -> None:
        """Mark a request acquired with :meth:`acquire` as finished (frees a concurrency slot).

        From now the request counts in its windows for one more period: the gateway counts a request when it
        arrives, which can be any time until it finished (a new TLS connection, a busy pool, a starved CPU), so
        counting it from admission to finish plus the period keeps the windows true at the gateway's end too,
        however long it was held up. ``unanswered``: the client stopped waiting (its timeout) before an answer
        came, so the request may still reach IBKR until the gateway's own cut-off; it counts as finished then
        (a retry after a 2 s timeout made a 429 when the slow gateway passed the first try on later).
        """
        with self._lock:
            now = self.clock()
            admitted = getattr(windows, "admitted_at", now)
            finished = max(now, admitted + GATEWAY_CUTOFF_SECONDS) if unanswered else now
            for w in windows:
                w.in_flight = max(0, w.in_flight - 1)
                # in order of when each counts until: an unanswered request's stamp lies ahead of the requests
                # answered after it, which must still age out at their own time (appending them after it as
                # max(now, last) held every later request in the window until the cut-off had passed too)
                bisect.insort(w.stamps, finished)
            if any(w.rule.period >= PERSISTED_PERIOD for w in windows):
                self._save()
            self._released.notify_all()

    @contextmanager
    def slot(self, method: str, path: str, *, max_pause: float | None = None) -> Iterator[Slot]:
        """Context manager around one request: waits for a slot, frees it when the request is done. Set the
        slot's ``unanswered`` when the request timed out (see :meth:`release`)."""
        windows = self.acquire(method, path, max_pause=max_pause)
        held = Slot()
        try:
            yield held
        finally:
            self.release(windows, unanswered=held.unanswered)

    def reset(self) -> None:
        """Forget every recorded request and pause (tests, or after the gateway restarted)."""
        with self._lock:
            for w in [self._global, *self._windows]:
                w.stamps.clear()
            self._paused_until = 0.0


LIMITER = PacingLimiter()
"""The process-wide limiter every Transport uses unless told otherwise."""


def default_limiter() -> PacingLimiter:
    """The process-wide limiter (:data:`LIMITER`)."""
    return LIMITER
