"""What the stream has said, kept for readers: the latest P&L row per account, live orders by id, the day's
executions, the latest market-data fields per conid, the session status and the stream's health; and the
callbacks registered per topic.

Written by the stream's thread only (:meth:`StreamBook.dispatch`, :meth:`StreamBook.set_health`); read from any
thread. Readers get copies; :meth:`StreamBook.wait_until` blocks until a condition over the book holds.
"""

from __future__ import annotations

import enum
import logging
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from pydantic import ValidationError

from ibkr.models import MarketDataUpdate, Notification, Order, PnlRow, StreamStatus, Trade

log = logging.getLogger(__name__)

TOPICS = ("spl", "sor", "str", "smd", "sts", "ntf", "blt", "health")
"""What a callback can be registered for: IBKR's topics, and ``health`` for the stream's own state."""


class StreamState(enum.Enum):
    CONNECTING = "connecting"
    LIVE = "live"
    DOWN = "down"


@dataclass(frozen=True)
class StreamHealth:
    """``state`` with ``reason`` (why it is not live, or what it is doing), when the last message of any kind came
    (epoch seconds, heartbeats included), when the state began, and how many times the stream went live (a
    reader that keeps its own copy of orders re-reads them over REST when this grows: ``sor`` sends changes
    only, and changes made while the stream was down are not sent again)."""

    state: StreamState = StreamState.CONNECTING
    reason: str = "not started"
    last_message_at: float | None = None
    since: float = 0.0
    connects: int = 0
    authenticated: bool | None = None  # the brokerage session per the last sts

    @property
    def live(self) -> bool:
        return self.state is StreamState.LIVE


Callback = Callable[[Any], None]


class StreamBook:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._callbacks: dict[str, list[Callback]] = defaultdict(list)
        self.health = StreamHealth(since=time.time())
        self.status: StreamStatus | None = None
        self._pnl: dict[str, PnlRow] = {}
        self._orders: dict[int, dict[str, Any]] = {}  # raw, merged: IBKR may send only what changed
        self._trades: dict[str, Trade] = {}
        self._fields: dict[int, dict[str, str]] = {}
        self.last_message_monotonic = time.monotonic()
        self._generation = 0  # grows with every change; wait_until's condition is asked again

    # ---- readers ----------------------------------------------------------------------------------------------
    def pnl(self) -> dict[str, PnlRow]:
        with self._lock:
            return dict(self._pnl)

    def orders(self) -> dict[int, Order]:
        with self._lock:
            raw = list(self._orders.values())
        return {o.order_id: o for o in (Order.model_validate(r) for r in raw)}

    def trades(self) -> list[Trade]:
        with self._lock:
            return sorted(self._trades.values(), key=lambda t: (t.trade_time_r or 0, t.execution_id))

    def market_data(self, conid: int) -> dict[str, str]:
        with self._lock:
            return dict(self._fields.get(conid, {}))

    def wait_until(self, condition: Callable[[], bool], timeout: float) -> bool:
        """Block until ``condition()`` is true (it is asked again after every change the stream makes), or
        ``timeout`` seconds passed; returns its last value."""
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                seen = self._generation
            if condition():
                return True
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            with self._changed:
                if self._generation == seen:
                    self._changed.wait(min(left, 0.5))

    # ---- callbacks --------------------------------------------------------------------------------------------
    def on(self, topic: str, callback: Callback) -> Callable[[], None]:
        if topic not in TOPICS:
            raise ValueError(f"topic must be one of {', '.join(TOPICS)}")
        with self._lock:
            self._callbacks[topic].append(callback)

        def remove() -> None:
            with self._lock:
                if callback in self._callbacks[topic]:
                    self._callbacks[topic].remove(callback)

        return remove

    def _emit(self, topic: str, items: list[Any]) -> None:
        with self._lock:
            callbacks = list(self._callbacks.get(topic, ()))
        for callback in callbacks:
            for item in items:
                try:
                    callback(item)
                except Exception:  # noqa: BLE001 - one consumer's bug must not stop the stream
                    log.exception("a %s stream callback failed", topic)

    # ---- writers (the stream's thread) ------------------------------------------------------------------------
    def set_health(self, state: StreamState, reason: str, *, connected: bool = False) -> None:
        with self._changed:
            old = self.health
            if old.state is state and old.reason == reason and not connected:
                return
            self.health = replace(old, state=state, reason=reason, since=time.time(),
                                  connects=old.connects + connected)
            health = self.health
            self._generation += 1
            self._changed.notify_all()
        log.info("stream %s: %s", state.value, reason)
        self._emit("health", [health])

    def dispatch(self, message: dict[str, Any]) -> None:
        """Take in one message; typed items go to the topic's callbacks after the book is updated."""
        topic = str(message.get("topic", "")).partition("+")[0]
        args = message.get("args")
        try:
            with self._changed:
                self.last_message_monotonic = time.monotonic()
                self.health = replace(self.health, last_message_at=time.time())
                items = self._apply(topic, message, args)
                self._generation += 1
                self._changed.notify_all()
        except ValidationError as exc:
            log.warning("a %s message did not parse: %s", topic, exc.errors()[:1])
            return
        if items:
            self._emit(topic, items)

    def _apply(self, topic: str, message: dict[str, Any], args: Any) -> list[Any]:
        """Update the book (lock held) and return the typed items of the message."""
        if topic == "spl" and isinstance(args, dict):
            rows = [PnlRow.model_validate({"key": k, **v}) for k, v in args.items() if isinstance(v, dict)]
            self._pnl.update({row.acct_id: row for row in rows})
            return rows
        if topic == "sor" and isinstance(args, list):
            changed = []
            for raw in args:
                if isinstance(raw, dict) and raw.get("orderId") is not None:
                    merged = {**self._orders.get(int(raw["orderId"]), {}), **raw}
                    order = Order.model_validate(merged)
                    self._orders[order.order_id] = merged
                    changed.append(order)
            return changed
        if topic == "str" and isinstance(args, list):
            fills = [Trade.model_validate(t) for t in args if isinstance(t, dict)]
            self._trades.update({t.execution_id: t for t in fills})
            return fills
        if topic == "smd" and message.get("conid") is not None:
            update = MarketDataUpdate.model_validate(message)
            self._fields.setdefault(update.conid, {}).update(update.fields)
            return [update]
        if topic == "sts" and isinstance(args, dict):
            self.status = StreamStatus.model_validate(args)
            if self.status.authenticated is not None:
                self.health = replace(self.health, authenticated=self.status.authenticated)
            return [self.status]
        if topic in ("ntf", "blt") and args:
            return [Notification.model_validate(a) for a in (args if isinstance(args, list) else [args])
                    if isinstance(a, dict)]
        return []
