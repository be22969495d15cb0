"""What the dashboard takes from the gateway's websocket: one :class:`LiveFeed` per process, started once the
gateway is authenticated, subscribed to P&L (``spl``), live orders (``sor``) and executions (``str``), with a
version per topic so a viewer redraws only what changed, and whether the stream can be trusted right now
(:attr:`LiveFeed.live`). While it is not, the REST readers take over (``ibkr.order_book``, ``ibkr.portfolio``).

The merges of what the stream says with what REST read last (:func:`merge_orders`, :func:`merge_trades`) are
here too: ``sor`` sends changes only, so the REST read is the base and the stream's newer orders go over it.
No Streamlit here.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from ibkr._worker import Worker
from ibkr.config import Settings
from ibkr.models import Order, PartitionedPnl, PnlRow, Trade
from ibkr.stream import StreamClient, StreamHealth, StreamState, shared_stream

log = logging.getLogger(__name__)

TOPICS = ("spl", "sor", "str", "smd", "health")
"""What :meth:`LiveFeed.version` counts: IBKR's topics the dashboard shows, and the stream's health."""


class LiveFeed:
    """The process's stream as the dashboard uses it. A watcher thread opens it (``open_stream``, by default
    :func:`ibkr.stream.shared_stream`) once ``ready()`` says the gateway is authenticated, and opens it anew when
    the gateway becomes ready again after a logout (rather than waiting out the stream's backoff)."""

    def __init__(self, settings: Settings, *, ready: Callable[[], bool],
                 open_stream: Callable[[Settings], StreamClient] = shared_stream, look_seconds: float = 1.0) -> None:
        self.settings = settings
        self.enabled = settings.stream
        self._ready, self._open, self.look_seconds = ready, open_stream, look_seconds
        self._lock = threading.Lock()
        self._versions: Counter[str] = Counter()
        self._order_seen: dict[int, float] = {}  # order id -> when the stream last said something of it
        self._stream: StreamClient | None = None
        self._removers: list[Callable[[], None]] = []
        self._orders_listeners: list[Callable[[Order], None]] = []
        self._worker = Worker(self._watch, "live-feed")
        self._stop = self._worker.stopping

    # ---- lifecycle ----------------------------------------------------------------------------------------------
    def start(self) -> LiveFeed:
        if self.enabled:
            self._worker.start()
        return self

    def stop(self) -> None:
        self._worker.stop(5)
        self._detach(close=True)

    def on_orders(self, callback: Callable[[Order], None]) -> None:
        """Call ``callback`` with each ``sor`` order (on the stream's thread), whichever stream is open."""
        self._orders_listeners.append(callback)
        stream = self._stream
        if stream is not None:
            self._removers.append(stream.on("sor", callback))

    def _watch(self) -> None:
        was_ready = False
        while not self._stop.is_set():
            ready = bool(self._ready())
            stream = self._stream
            if ready and (stream is None or stream.closed or (not was_ready and not stream.health().live)):
                self._detach(close=stream is not None)  # a new session: open at once, not after the backoff
                self._attach()
            was_ready = ready
            self._stop.wait(self.look_seconds)

    def _attach(self) -> None:
        stream = self._open(self.settings)
        removers = [stream.on(topic, self._bumper(topic)) for topic in TOPICS]
        removers.append(stream.on("sor", self._order_heard))
        removers += [stream.on("sor", listener) for listener in self._orders_listeners]
        with self._lock:
            self._stream, self._removers = stream, removers
            self._versions["health"] += 1
        stream.subscribe_pnl()  # on a real gateway this also makes REST pnl/partitioned answer (REAL-GATEWAY 1.3)
        stream.subscribe_orders()
        stream.subscribe_trades()
        log.info("live feed: stream opened to %s", self.settings.gateway_url)

    def _detach(self, close: bool) -> None:
        with self._lock:
            stream, removers = self._stream, self._removers
            self._stream, self._removers = None, []
        for remove in removers:
            remove()
        if close and stream is not None:
            stream.close()

    def _bumper(self, topic: str) -> Callable[[Any], None]:
        def bump(_item: Any) -> None:
            with self._lock:
                self._versions[topic] += 1
        return bump

    def _order_heard(self, order: Order) -> None:
        with self._lock:
            self._order_seen[order.order_id] = time.time()

    # ---- readers ------------------------------------------------------------------------------------------------
    @property
    def stream(self) -> StreamClient | None:
        return self._stream

    def health(self) -> StreamHealth:
        stream = self._stream
        if stream is not None:
            return stream.health()
        reason = "off (IBKR_STREAM=false)" if not self.enabled else "waiting for the gateway's session"
        return StreamHealth(state=StreamState.DOWN if not self.enabled else StreamState.CONNECTING, reason=reason)

    @property
    def live(self) -> bool:
        """True while the stream is up and the gateway has not said the brokerage session is gone: its figures
        are current and the REST readers may rest."""
        health = self.health()
        return health.live and health.authenticated is not False

    def version(self, *topics: str) -> int:
        """How many changes the stream brought on ``topics`` (all of :data:`TOPICS` by default)."""
        with self._lock:
            return sum(self._versions[t] for t in topics or TOPICS)

    def pnl_rows(self) -> dict[str, PnlRow]:
        stream = self._stream
        return stream.pnl() if stream is not None else {}

    def partitioned(self) -> PartitionedPnl | None:
        """The ``spl`` rows as ``pnl/partitioned`` would answer them; None unless the stream is live and has
        sent some (then the REST call is not needed)."""
        rows = self.pnl_rows() if self.live else {}
        return PartitionedPnl(upnl={row.key: row for row in rows.values()}) if rows else None

    def orders(self) -> tuple[dict[int, Order], dict[int, float]]:
        """The stream's orders by id, and when the stream last spoke of each (epoch seconds)."""
        stream = self._stream
        with self._lock:
            seen = dict(self._order_seen)
        return (stream.orders() if stream is not None else {}), seen

    def trades(self) -> list[Trade]:
        stream = self._stream
        return stream.trades() if stream is not None else []


def merge_orders(rest: Sequence[Order], streamed: Mapping[int, Order], heard_at: Mapping[int, float],
                 read_at: float | None, accounts: Iterable[str] = ()) -> list[Order]:
    """The REST read of live orders with what the stream said of them since (``sor`` sends only what changed:
    its fields go over the read order's, in the read's order); an order the stream heard of first is added
    before them, the newest first. A stream order older than the read (``heard_at`` <= ``read_at``, epoch
    seconds) is left out: the read is newer. ``accounts`` limits the added orders to those accounts (all when
    empty)."""
    keep = set(accounts)
    merged = {o.order_id: o for o in rest}
    added: list[Order] = []
    for order_id, order in streamed.items():
        if read_at is not None and heard_at.get(order_id, 0.0) <= read_at:
            continue
        base = merged.get(order_id)
        if base is not None:
            merged[order_id] = base.model_copy(update={k: v for k, v in order.__dict__.items() if v is not None})
        elif not keep or order.account_id in keep:
            added.append(order)
    added.sort(key=lambda o: heard_at.get(o.order_id, 0.0), reverse=True)
    return added + list(merged.values())


def merge_trades(rest: Sequence[Trade], streamed: Sequence[Trade], accounts: Iterable[str] = ()) -> list[Trade]:
    """Executions of the REST read and of the stream, each once (by execution id)."""
    keep = set(accounts)
    merged = {t.execution_id: t for t in rest}
    for trade in streamed:
        if trade.execution_id not in merged and (not keep or (trade.account or trade.account_code) in keep):
            merged[trade.execution_id] = trade
    return sorted(merged.values(), key=lambda t: (t.trade_time_r or 0, t.execution_id), reverse=True)
