"""One background thread that keeps a value (the portfolio snapshot) fresh for every reader of a process.

Readers never load: they take :meth:`Refresher.status` (the last good value, the last failure, whether a load
is under way) and show it at once, so a click on Submit is never queued behind a 20 s portfolio read, and ten
viewers cost the gateway what one costs. "Refresh now" is :meth:`Refresher.request`: it asks the thread, it
does not load beside it.

The schedule adapts to what a load costs: the next load starts ``max(interval, headroom x last duration)``
after the previous one finished, so a read that takes 20 s at 5,000 positions per account runs at most a third
of the time and leaves IBKR's pacing budget to orders, the keep-alive and the other endpoints. The duration
leaves out the time the load's thread was only held back (``held()``, e.g. :func:`ibkr.pacing.held_seconds`:
waiting for an endpoint allowed once per 5 s costs the gateway nothing); counted, it stretched a 2 s read at
3 x 5,000 positions to one refresh every ~27 s. After a failure
the thread waits one interval (or IBKR's ``Retry-After``, whichever is longer) before it asks again; a gateway
that is not ready (no session) is not asked at all.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from ibkr.errors import IbkrError, RateLimited

log = logging.getLogger(__name__)

T = TypeVar("T")

MIN_GAP = 2.0
"""Seconds between the end of one load and a requested ("Refresh now") next one: a hammered button loads once."""


@dataclass(frozen=True)
class RefreshStatus(Generic[T]):
    """What readers show: the last good value and, when the last load failed, why and when."""

    value: T | None
    error: str | None  # the last load's failure, None after a good load
    failed_at: dt.datetime | None
    loading_since: dt.datetime | None  # a load under way (None: idle)
    last_duration: float | None  # seconds the last finished load took, less the time it was only held back
    interval: float  # the effective interval: the configured one, stretched for slow loads
    generation: int  # counts finished loads (good or failed): a reader redraws when it changed


class Refresher(Generic[T]):
    """Load ``load()`` every ``interval`` seconds (stretched to ``headroom`` x its duration) on a daemon thread,
    while ``ready()`` says the source can answer. ``clock`` is monotonic seconds (injectable for tests)."""

    def __init__(self, load: Callable[[], T], interval: float, *, ready: Callable[[], bool] = lambda: True,
                 headroom: float = 3.0, name: str = "refresher", clock: Callable[[], float] = time.monotonic,
                 on_result: Callable[[T], None] | None = None, held: Callable[[], float] = lambda: 0.0) -> None:
        if interval <= 0:
            raise ValueError(f"interval must be positive, got {interval}")
        self._load, self._ready, self._clock, self._held = load, ready, clock, held
        self._on_result = on_result  # called on the thread with each good value (history, notifications)
        self.interval, self.headroom, self.name = interval, headroom, name
        self._cond = threading.Condition()
        self._value: T | None = None
        self._error: str | None = None
        self._failed_at: dt.datetime | None = None
        self._loading_since: dt.datetime | None = None
        self._duration: float | None = None
        self._generation = 0
        self._due = 0.0  # monotonic time of the next scheduled load (0: as soon as ready)
        self._finished = -MIN_GAP
        self._requested = False
        self._stopping = False
        self._thread: threading.Thread | None = None

    # ---- readers ------------------------------------------------------------------------------------------------
    def status(self) -> RefreshStatus[T]:
        with self._cond:
            return RefreshStatus(self._value, self._error, self._failed_at, self._loading_since, self._duration,
                                 self._effective_interval(), self._generation)

    def request(self, again: bool = False) -> None:
        """Load again as soon as allowed (the "Refresh now" button); a load under way is the answer to it,
        unless ``again``: then another load follows it (something changed after it began)."""
        with self._cond:
            if self._loading_since is None or again:
                self._requested = True
                self._cond.notify_all()

    def wait(self, after_generation: int, timeout: float) -> bool:
        """Block until a load newer than ``after_generation`` finished (good or failed); False on timeout."""
        deadline = self._clock() + timeout
        with self._cond:
            while self._generation <= after_generation:
                left = deadline - self._clock()
                if left <= 0:
                    return False
                self._cond.wait(min(left, 0.5))
            return True

    # ---- the thread ---------------------------------------------------------------------------------------------
    def start(self) -> Refresher[T]:
        with self._cond:
            if self._thread is None or not self._thread.is_alive():
                self._stopping = False
                self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
                self._thread.start()
        return self

    def stop(self, timeout: float = 30.0) -> None:
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
            thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    @property
    def stopping(self) -> bool:
        """True once :meth:`stop` was called: a long load can end early."""
        return self._stopping

    def _effective_interval(self) -> float:
        return max(self.interval, self.headroom * (self._duration or 0.0))

    def _next_wait(self) -> float:
        """Seconds until the next load may start (called with the lock held); 0 means now."""
        now = self._clock()
        if self._requested:
            return max(0.0, self._finished + MIN_GAP - now)
        return max(0.0, self._due - now)

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._stopping and self._next_wait() > 0:
                    self._cond.wait(min(self._next_wait(), 1.0))
                if self._stopping:
                    return
            if not self._ready():
                with self._cond:  # no session: nothing to ask; look again in a moment (or when asked)
                    self._cond.wait(0.5)
                continue
            self._load_once()

    def _load_once(self) -> None:
        started, held = self._clock(), self._held()
        with self._cond:
            self._requested = False
            self._loading_since = dt.datetime.now(dt.UTC)
        value: T | None = None
        error: str | None = None
        retry_after = 0.0
        try:
            value = self._load()
        except RateLimited as exc:
            error, retry_after = exc.message, float(exc.retry_after or 0.0)
        except IbkrError as exc:
            error = exc.message
        except Exception as exc:  # a bug in a load must not end the thread: say it and try again later
            log.exception("%s: load failed", self.name)
            error = f"The load failed unexpectedly ({type(exc).__name__}: {exc})."
        finished = self._clock()
        with self._cond:
            self._loading_since = None
            self._finished = finished
            self._generation += 1
            if error is None:
                self._value, self._error, self._failed_at = value, None, None
                self._duration = max(0.0, finished - started - (self._held() - held))
                self._due = finished + self._effective_interval()
            else:
                self._error, self._failed_at = error, dt.datetime.now(dt.UTC)
                self._due = finished + max(self._effective_interval(), retry_after)
                log.info("%s: load failed (%s); next try in %.0f s", self.name, error, self._due - finished)
            self._cond.notify_all()
        if error is None and self._on_result is not None:
            try:
                self._on_result(value)  # type: ignore[arg-type]
            except Exception:  # what a listener does with a value must not end the thread
                log.exception("%s: on_result failed", self.name)
