"""One websocket's subscriptions and what it was last sent, turned into the messages that are due.

A :class:`Feed` is synchronous and owns no socket: :meth:`Feed.handle` answers one text frame from the client,
:meth:`Feed.due` returns what changed in the world since the last call (session status, P&L rows, orders, fills,
market-data fields). The socket (``ibkr_sim.stream.socket``) sends what they return.

Client frames (IBKR's syntax): ``spl+{}`` / ``upl+{}``; ``sor+{}`` (optionally ``{"filters": ["Submitted"]}``) /
``uor+{}``; ``str+{}`` (``{"realtimeUpdatesOnly": true}`` skips the day's earlier executions) / ``utr``;
``smd+<conid>+{"fields": ["31", "84"]}`` (again to renew) / ``umd+<conid>+{}``; ``tic``. Anything else is
ignored, as IBKR ignores it.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

from ibkr_sim.routes.marketdata import DEFAULT_FIELDS, field_values
from ibkr_sim.stream import messages
from ibkr_sim.world.quotes import lookup, parse_conid


@dataclass
class MarketDataLine:
    """One ``smd`` subscription: its fields, what was last sent, and when it ends unless renewed."""

    conid_ex: str
    fields: list[str]
    until: float
    server_id: str
    sent: dict[str, str] = field(default_factory=dict)


class Feed:
    def __init__(self, sim, token: str, clock=time.monotonic) -> None:
        self.sim = sim
        self.token = token  # the session the socket was opened with
        self.clock = clock
        self.pnl = False
        self.order_filter: set[str] | None = None  # None: not subscribed to sor
        self.trades = False
        self.lines: dict[int, MarketDataLine] = {}
        self._status: dict[str, Any] | None = None
        self._rows: dict[str, dict] = {}
        self._order_marks: dict[int, tuple] = {}
        self._fills_sent = 0

    # ---- the client's frames ------------------------------------------------------------------------------------
    def handle(self, text: str) -> list[dict[str, Any]]:
        """The answers to one client frame (most subscriptions answer with their first data at once)."""
        topic, _, rest = text.strip().partition("+")
        args = _json_args(rest.rpartition("+")[2] if topic in ("smd", "umd") else rest)
        hub = self.sim.stream
        if topic == "tic":
            self.sim.session.touch()  # IBKR: tic keeps the session alive
            return [messages.tic_answer(self.sim)]
        if topic == "spl":
            self.pnl, self._rows, hub.spl_session = True, {}, self.token
        elif topic == "upl":
            self.pnl = False
        elif topic == "sor":
            wanted = args.get("filters")
            self.order_filter = set(wanted) if isinstance(wanted, list) and wanted else set()
            self._order_marks = {oid: _mark(o) for oid, o in self.sim.orders.orders.items()}  # changes from now on
        elif topic == "uor":
            self.order_filter = None
        elif topic == "str":
            self.trades = True
            self._fills_sent = len(self.sim.world.fills) if args.get("realtimeUpdatesOnly") is True else 0
            return [messages.trades(self.sim, self._new_fills())]
        elif topic == "utr":
            self.trades = False
        elif topic == "smd":
            self._subscribe_market_data(rest, args)
        elif topic == "umd":
            conid = parse_conid(rest.partition("+")[0])
            if conid is not None:
                self.lines.pop(conid, None)
        else:
            hub.count("ignored", topic[:8])
        return []

    def _subscribe_market_data(self, rest: str, args: dict) -> None:
        conid_ex = rest.partition("+")[0].strip()
        conid = parse_conid(conid_ex)
        inst = lookup(self.sim.world, conid) if conid is not None else None
        if conid is None or inst is None:
            return
        fields = [str(f) for f in args.get("fields") or DEFAULT_FIELDS]
        line = self.lines.get(conid)
        until = self.clock() + self.sim.config.md_stream_seconds
        if line is None or line.fields != fields:
            self.lines[conid] = MarketDataLine(conid_ex, fields, until, f"q{len(self.lines)}")
        else:
            line.until = until  # renewed: streams another md_stream_seconds
        self.sim.md_streaming.add(conid)  # the stream started, as a REST preflight starts it

    # ---- what is due --------------------------------------------------------------------------------------------
    def session_ended(self) -> bool:
        s = self.sim.session
        return not s.sso or s.token != self.token

    def due(self) -> list[dict[str, Any]]:
        """The messages the world's changes since the last call make due, status first."""
        out: list[dict[str, Any]] = []
        status = messages.status_args(self.sim)
        if status != self._status:
            self._status = status
            out.append(messages.status(status))
        if self.pnl:
            rows = self.sim.stream.pnl_rows()
            changed = {k: v for k, v in rows.items() if self._rows.get(k) != v}
            if changed:
                self._rows.update(changed)
                out.append(messages.pnl(changed))
        if self.order_filter is not None:
            changed_orders = []
            for oid, order in self.sim.orders.orders.items():
                mark = _mark(order)
                if self._order_marks.get(oid) != mark:
                    self._order_marks[oid] = mark
                    if not self.order_filter or order.status in self.order_filter:
                        changed_orders.append(order)
            if changed_orders:
                out.append(messages.orders(self.sim, changed_orders))
        if self.trades and len(self.sim.world.fills) > self._fills_sent:
            out.append(messages.trades(self.sim, self._new_fills()))
        out += self._market_data()
        return out

    def _new_fills(self) -> list:
        fills = self.sim.world.fills[self._fills_sent:]
        self._fills_sent = len(self.sim.world.fills)
        return fills

    def _market_data(self) -> list[dict[str, Any]]:
        out = []
        now = self.clock()
        memo: dict = {}  # an account's gross position value, once for every line (not once per line: at 100 lines
        # over 1,000 positions that sum held the simulator's event loop past the gateway's 10 s cut-off)
        for conid, line in list(self.lines.items()):
            if now >= line.until:  # IBKR ends an smd stream after 10 minutes unless it was renewed
                del self.lines[conid]
                self.sim.stream.count("smd_expired")
                continue
            inst = lookup(self.sim.world, conid)
            if inst is None:
                continue
            values = field_values(self.sim, inst, line.fields, memo)
            changed = {k: v for k, v in values.items() if line.sent.get(k) != v}
            if changed or not line.sent:
                line.sent.update(changed)
                out.append(messages.market_data(conid, line.conid_ex, line.server_id, changed))
        return out


def _mark(order) -> tuple:
    """What makes an order worth another ``sor`` message."""
    return order.status, order.filled, order.quantity, order.price, order.aux_price, order.updated


def _json_args(raw: str) -> dict[str, Any]:
    try:
        value = json.loads(raw) if raw.strip() else {}
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
