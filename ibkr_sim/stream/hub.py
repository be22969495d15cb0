"""The simulator's websocket hub: the open sockets, what they are sent, and the wake-up after a change.

REST handlers and admin actions call :meth:`StreamHub.nudge` after they changed the world (an order placed or
filled, the clock moved, the session changed); every socket then looks at once for what is due instead of at its
next poll (``PUSH_SECONDS``, IBKR's 500 ms watchlist interval). The counters are served in ``/sim/stats`` as
``ws``.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from typing import Any

from ibkr_sim.world.accounting import pnl_rows

PUSH_SECONDS = 0.5
"""How often a socket looks for changes without a nudge (prices move on the wall clock)."""


class StreamHub:
    def __init__(self, sim) -> None:
        self.sim = sim
        self.wakeups: set[asyncio.Event] = set()  # one per open socket
        self.sockets: set[Any] = set()  # the open websockets (/sim/stream drops them)
        self.refusing = False  # /sim/stream {"refuse": true}: new sockets are closed at once
        self.spl_session = ""  # the session token a socket last subscribed spl with (REAL-GATEWAY 1.3)
        self.counts: Counter[str] = Counter()
        self.sent: Counter[str] = Counter()
        self.received: Counter[str] = Counter()
        self._pnl_key: tuple | None = None
        self._pnl: dict[str, dict] = {}

    def nudge(self) -> None:
        """The world or the session changed: every socket looks for what is due now."""
        for event in self.wakeups:
            event.set()

    async def drop(self) -> int:
        """Close every open socket (1012, "service restart"): the admin knob ``/sim/stream``."""
        sockets = list(self.sockets)
        for websocket in sockets:
            with contextlib.suppress(RuntimeError, OSError):
                await websocket.close(1012, "dropped by /sim/stream")
        self.counts["dropped"] += len(sockets)
        self.nudge()
        return len(sockets)

    def count(self, kind: str, detail: str | None = None) -> None:
        self.counts[kind if detail is None else f"{kind}:{detail}"] += 1

    def pnl_rows(self) -> dict[str, dict]:
        """The ``spl`` rows, computed once per world state however many sockets ask."""
        world = self.sim.world
        world.catch_up()
        key = (world.ticks, len(world.fills))
        if key != self._pnl_key:
            self._pnl, self._pnl_key = pnl_rows(world), key
        return self._pnl

    def stats(self) -> dict[str, Any]:
        return {"open": len(self.wakeups), **dict(self.counts), "sent": dict(self.sent),
                "received": dict(self.received), "sent_total": sum(self.sent.values())}
