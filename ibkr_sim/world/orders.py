"""The simulator's order book: placement with IBKR's reply-question chains, resting orders that fill when prices
move, modify, cancel, and the admin truth.

Lifecycle of one submission: the tickets are validated (``order_rules``), the questions they raise are asked one
per round (``order_questions``), each answer moving to a new single-use reply id; after the last ``confirmed:
true`` the orders are placed. Placed orders go ``PreSubmitted`` (stops not yet triggered, bracket children
waiting for their parent) or ``Submitted`` (working limits) and then ``Filled``; a cancel makes them
``PendingCancel`` and the next request (``match_resting``) makes them ``Cancelled``. Unconfirmed or rejected
submissions never become orders. Fills go through ``World.apply_fill``.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass

from ibkr_sim.world.order_questions import chain
from ibkr_sim.world.order_rules import (
    STOP_TYPES,
    Order,
    cme_problem,
    commission,
    market_fill_price,
    parse_ticket,
    tick_round,
)

FIRST_ORDER_ID = 1_370_093_239
NOT_CONFIRMED = "Order not confirmed "  # IBKR's text, trailing space included
REPLY_SECONDS = 60.0
"""How long a question waits for its answer. IBKR: the reply "must" come "immediately"; it names no figure, so
the simulator gives a person a minute to read the question."""


def duplicate(coid: str) -> dict:
    return {"error": f"Order couldn't be submitted: Local order ID={coid} is already registered."}


def missing(order_id) -> dict:
    return {"error": f"OrderID {order_id} doesn't exist"}


def accepted(order: Order) -> dict:
    return {"order_id": str(order.order_id), "order_status": order.status, "encrypt_message": "1"}


@dataclass
class Pending:
    """A submission waiting for answers: its orders, its questions and which one is being asked."""

    account: str
    orders: list[Order]
    questions: list[tuple[str, str]]
    modify: int | None = None
    asked: int = 0


class OrderBook:
    def __init__(self, sim) -> None:
        self.sim = sim
        self.orders: dict[int, Order] = {}
        self.active: list[int] = []  # ids of orders that can still fill or be cancelled
        self.coids: set[str] = set()  # cOIDs used today (IBKR: unique for 24 h)
        self.pending: dict[str, Pending] = {}  # reply id -> submission
        self.asked_at: dict[str, float] = {}  # reply id -> when its question went out (monotonic)
        self.invalidated: dict[str, str] = {}  # reply id -> why IBKR cancelled the order it asked about
        self._next_id = FIRST_ORDER_ID
        self._served_epoch: tuple | None = None  # brokerage session whose first live-orders call was answered
        self._trades_epoch: tuple | None = None  # likewise for trades

    # ---- placement ------------------------------------------------------------------------------------------------
    def submit(self, account: str, tickets: list) -> tuple[int, object]:
        """``POST /iserver/account/{acct}/orders``: questions, the accepted orders, or an error."""
        self.drop_pending("another order was submitted before the question was answered")
        orders: list[Order] = []
        for ticket in tickets:
            order = parse_ticket(self.sim.world, ticket, account)
            if isinstance(order, str):
                return 200, {"error": order}
            refused = self._cme_refusal(order)
            if refused:
                return refused
            orders.append(order)
        problem = self._structure_problem(orders, tickets)
        if problem:
            return 200, problem
        return self._ask_or_commit(Pending(account, orders, chain(self.sim, orders)))

    def _cme_refusal(self, order: Order) -> tuple[int, dict] | None:
        """IBKR's 400 for a US futures ticket without ``manualIndicator`` and ``extOperator`` (see cme_problem)."""
        problem = cme_problem(self.sim.world.instruments[order.conid], order.ticket.get("manualIndicator"),
                              order.ticket.get("extOperator"))
        return (400, {"error": problem}) if problem else None

    def _structure_problem(self, orders: list[Order], tickets: list) -> dict | None:
        coids = [o.coid for o in orders if o.coid]
        for coid in coids:
            if coid in self.coids or coids.count(coid) > 1:
                return duplicate(coid)
        children = [o for o in orders if o.parent_coid]
        for child in children:
            if child.parent_coid not in coids:
                return {"error": f"Order couldn't be submitted: parent order {child.parent_coid!r} is not part of "
                                 "this request (a bracket's parentId must be its parent's cOID)"}
        single_group = any(isinstance(t, dict) and t.get("isSingleGroup") for t in tickets)
        if len(orders) > 1 and not children and not single_group:
            return {"error": "Only one order can be submitted per request, except a bracket (parent and children "
                             "with parentId) or an OCA group (isSingleGroup)"}
        return None

    def drop_pending(self, why: str) -> None:
        """Another order request arrived while a question waited: IBKR cancels the order it asked about ("Submitting
        other orders or other requests will cancel the order", its v1 docs, Place Order Reply Confirmation)."""
        for reply_id in list(self.pending):
            self.pending.pop(reply_id)
            self.asked_at.pop(reply_id, None)
            self.invalidated[reply_id] = why

    def reply(self, reply_id: str, confirmed: bool) -> tuple[int, object]:
        """``POST /iserver/reply/{id}``: the next question, the placed orders, or an error. Ids are single-use.

        A reply id of a cancelled submission (another order request came first, or no answer within
        :data:`REPLY_SECONDS`) answers 503, as IBKR documents ("attempts to confirm invalid replies will result in
        a timeout (503)"); an id it never issued answers 400 ``reply id not found`` (seen by ibind users)."""
        asked = self.asked_at.pop(reply_id, None)
        if asked is not None and time.monotonic() - asked > REPLY_SECONDS:
            self.pending.pop(reply_id, None)
            self.invalidated[reply_id] = "not answered in time"
        if reply_id in self.invalidated:
            return 503, {"error": f"reply {reply_id} is no longer valid: {self.invalidated.pop(reply_id)}"}
        pending = self.pending.pop(reply_id, None)
        if pending is None:
            return 400, {"error": f"reply id not found: '{reply_id}'"}
        if not confirmed:
            return 200, {"error": NOT_CONFIRMED}
        pending.asked += 1
        return self._ask_or_commit(pending)

    def _ask_or_commit(self, pending: Pending) -> tuple[int, object]:
        if pending.asked < len(pending.questions):
            reply_id = str(uuid.uuid4())
            self.pending[reply_id] = pending
            self.asked_at[reply_id] = time.monotonic()
            message_id, text = pending.questions[pending.asked]
            return 200, [{"id": reply_id, "message": [text], "isSuppressed": False, "messageIds": [message_id]}]
        if pending.modify is not None:
            return self._commit_modify(pending)
        for order in pending.orders:  # a cOID may have been taken while the questions were answered
            if order.coid and order.coid in self.coids:
                return 200, duplicate(order.coid)
        by_coid: dict[str, Order] = {}
        for order in pending.orders:
            order.order_id = self._next_id
            self._next_id += 1
            order.created = order.updated = time.time()
            if order.coid:
                self.coids.add(order.coid)
                by_coid[order.coid] = order
            self.orders[order.order_id] = order
            self.active.append(order.order_id)
        group = f"oca.{pending.orders[0].order_id}"
        single_group = any(o.ticket.get("isSingleGroup") for o in pending.orders)
        for order in pending.orders:
            if order.parent_coid:
                order.parent = by_coid[order.parent_coid].order_id
                order.oca = f"oca.{order.parent}"
            elif single_group:
                order.oca = group
        for order in pending.orders:
            self._start(order)
        return 200, [accepted(o) for o in pending.orders]

    def _start(self, order: Order) -> None:
        """A placed order starts working: it may fill at once (market, marketable limit, triggered stop)."""
        order.stop = order.aux_price if order.order_type in ("STOP_LIMIT", "TRAILLMT") else (
            order.price if order.order_type in STOP_TYPES else None)
        parent = self.orders.get(order.parent) if order.parent else None
        if parent is not None and parent.status != "Filled":
            order.status = "PreSubmitted"
            return
        order.status = "PreSubmitted" if order.order_type in STOP_TYPES and not order.triggered else "Submitted"
        self._try_fill(order)
        if order.tif == "IOC" and not order.done:
            self._finish(order, "Cancelled")

    # ---- modify and cancel ------------------------------------------------------------------------------------
    def modify(self, account: str, order_id: int, ticket) -> tuple[int, object]:
        self.drop_pending("an order was modified before the question was answered")
        return self._modify(account, order_id, ticket)

    def _modify(self, account: str, order_id: int, ticket) -> tuple[int, object]:
        """``POST /iserver/account/{acct}/order/{id}``: the full ticket with changed values; same questions."""
        current = self.orders.get(order_id)
        if current is None or current.account != account:
            return 200, missing(order_id)
        if current.done or current.status == "PendingCancel":
            return 200, {"error": f"OrderID {order_id} cannot be modified: its status is {current.status}"}
        order = parse_ticket(self.sim.world, ticket, account)
        if isinstance(order, str):
            return 200, {"error": order}
        refused = self._cme_refusal(order)
        if refused:
            return refused
        if order.conid != current.conid or order.side != current.side:
            return 200, {"error": "Bad Request: the contract and side of a working order cannot be changed"}
        if order.quantity < current.filled:
            return 200, {"error": f"Bad Request: quantity {order.quantity:g} is below the filled {current.filled:g}"}
        if order.coid and order.coid != current.coid and order.coid in self.coids:
            return 200, duplicate(order.coid)
        return self._ask_or_commit(Pending(account, [order], chain(self.sim, [order]), modify=order_id))

    def _commit_modify(self, pending: Pending) -> tuple[int, object]:
        assert pending.modify is not None
        current, new = self.orders.get(pending.modify), pending.orders[0]
        if current is None or current.done or current.status == "PendingCancel":
            return 200, missing(pending.modify)
        for name in ("quantity", "order_type", "tif", "price", "aux_price", "trailing_amt", "trailing_type",
                     "cash_qty", "listing_exchange", "ticket"):
            setattr(current, name, getattr(new, name))
        if new.coid and new.coid != current.coid:
            self.coids.add(new.coid)
            current.coid = new.coid
        current.triggered = False
        current.updated = time.time()
        self._start(current)
        return 200, [accepted(current)]

    def cancel(self, account: str, order_id: int, origin: dict | None = None) -> dict:
        self.drop_pending("an order was cancelled before the question was answered")
        return self._cancel(account, order_id, origin)

    def _cancel(self, account: str, order_id: int, origin: dict | None = None) -> dict:
        """``DELETE /iserver/account/{acct}/order/{id}``: acknowledged now, ``Cancelled`` on the next request.
        ``origin`` holds the cancel's ``manualIndicator`` and ``extOperator``, kept as IBKR keeps them."""
        order = self.orders.get(order_id)
        if order is None or order.account != account:
            return missing(order_id)
        if order.done:
            return {"error": f"OrderID {order_id} cannot be cancelled: its status is {order.status}"}
        order.cancelled_by = origin
        was = order.status
        for o in [order, *self._children(order)]:
            if not o.done:
                o.status, o.updated = "PendingCancel", time.time()
        return {"msg": "Request was submitted", "order_id": str(order_id), "conid": str(order.conid),
                "account": account, "encrypt_message": "1", "order_status": was}

    # ---- matching ---------------------------------------------------------------------------------------------
    def match_resting(self) -> None:
        """Complete pending cancels, then fill every working order the current prices reach."""
        for oid in list(self.active):
            if self.orders[oid].status == "PendingCancel":
                self._finish(self.orders[oid], "Cancelled")
        for oid in list(self.active):
            order = self.orders[oid]
            if order.done:
                continue
            parent = self.orders.get(order.parent) if order.parent else None
            if parent is not None and parent.status != "Filled":
                continue
            if order.status == "PreSubmitted" and order.order_type not in STOP_TYPES:
                order.status = "Submitted"  # a bracket child whose parent filled
            self._try_fill(order)
        self.active = [oid for oid in self.active if not self.orders[oid].done]

    def _try_fill(self, order: Order) -> bool:
        inst = self.sim.world.instruments[order.conid]
        market = inst.price
        buy = order.side == "BUY"
        if order.order_type in STOP_TYPES and not order.triggered:
            self._trail(order, market)
            if order.stop is None or not (market >= order.stop if buy else market <= order.stop):
                return False
            order.triggered, order.status = True, "Submitted"
        limit = order.price if order.order_type in ("LMT", "STOP_LIMIT", "TRAILLMT", "MIDPRICE") else None
        if order.order_type == "MIDPRICE":
            fill = inst.price
            if limit is not None and (fill > limit if buy else fill < limit):
                return False
        elif limit is None:
            fill = market_fill_price(inst, order.side)
        elif buy and market <= limit:
            fill = min(limit, market_fill_price(inst, order.side))
        elif not buy and market >= limit:
            fill = max(limit, market_fill_price(inst, order.side))
        else:
            return False
        self._fill(order, tick_round(inst, fill))
        return True

    def _trail(self, order: Order, market: float) -> None:
        if order.order_type not in ("TRAIL", "TRAILLMT") or order.stop is None or not order.trailing_amt:
            return
        trail = order.trailing_amt if order.trailing_type == "amt" else market * order.trailing_amt / 100
        inst = self.sim.world.instruments[order.conid]
        moved = min(order.stop, market + trail) if order.side == "BUY" else max(order.stop, market - trail)
        moved = tick_round(inst, moved)
        if moved != order.stop:
            if order.order_type == "TRAILLMT" and order.price is not None:
                order.price = tick_round(inst, order.price + moved - order.stop)
            order.stop = moved

    def _fill(self, order: Order, price: float) -> None:
        world = self.sim.world
        qty = order.remaining
        fee = commission(world, world.instruments[order.conid], qty, price)
        fill = world.apply_fill(order.account, order.conid, order.sign * qty, price, fee, order.order_id, order.coid)
        order.avg_price = (order.avg_price * order.filled + price * qty) / (order.filled + qty)
        order.filled += qty
        order.commission = round(order.commission + fee, 2)
        order.status, order.updated = "Filled", fill.time
        if order.order_id in self.active:
            self.active.remove(order.order_id)
        for sibling in self.orders.values():  # one-cancels-all
            if order.oca and sibling.oca == order.oca and sibling is not order and not sibling.done:
                self._finish(sibling, "Cancelled")
        for child in self._children(order):
            if not child.done:
                child.status = "PreSubmitted" if child.order_type in STOP_TYPES else "Submitted"
                self._try_fill(child)

    def _finish(self, order: Order, status: str) -> None:
        order.status, order.updated = status, time.time()
        if order.order_id in self.active:
            self.active.remove(order.order_id)
        if status == "Cancelled":
            for child in self._children(order):
                if not child.done:
                    self._finish(child, "Cancelled")

    def _children(self, order: Order) -> list[Order]:
        return [o for o in self.orders.values() if o.parent == order.order_id]

    # ---- views ------------------------------------------------------------------------------------------------
    def _epoch(self) -> tuple:
        s = self.sim.session
        return s.token, sum(1 for e in s.events if e == "brokerage session initialised")

    def live(self, force: bool = False) -> list[Order] | None:
        """Orders for ``GET /iserver/account/orders``; None when IBKR answers empty (after ``force=true``, and on
        the first call of a brokerage session while the gateway builds its cache)."""
        epoch = self._epoch()
        if force or epoch != self._served_epoch:
            self._served_epoch = epoch
            return None
        return list(self.orders.values())

    def trades_warm(self) -> bool:
        """False on the first ``GET /iserver/account/trades`` of a brokerage session, which IBKR answers with an
        empty list before the real fills on the next call ("two-call warm-up", measured live 2026-07-06 by
        stephus182/ibkr_core_mcp, docs/api-reference.md ``get_trades``)."""
        epoch = self._epoch()
        warm, self._trades_epoch = self._trades_epoch == epoch, epoch
        return warm

    def state(self) -> list[dict]:
        """The truth for ``GET /sim/state``: every order placed (not the unconfirmed or rejected ones)."""
        return [{"order_id": o.order_id, "account": o.account, "conid": o.conid, "cOID": o.coid, "side": o.side,
                 "quantity": o.quantity, "order_type": o.order_type, "status": o.status, "filled": o.filled,
                 "price": o.price, "aux_price": o.aux_price,
                 # CME Rule 536-B fields as the last place or modify sent them, and as the cancel sent them
                 "origin": {k: o.ticket[k] for k in ("manualIndicator", "extOperator") if k in o.ticket},
                 "cancel_origin": o.cancelled_by,
                 # wall-clock seconds: its placement request arrived, it was placed (after the last answer), it
                 # last changed (modify, cancel, fill); tests time a click against the gateway's end with them
                 "received_at": o.received, "placed_at": o.created, "updated_at": o.updated}
                for o in self.orders.values()]
