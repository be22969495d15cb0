"""Order queries: live orders (first-call-empty handled), single order status, trades, question suppression, and
the ticket of a live order rebuilt from them (to modify an order this client did not place)."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from pydantic import RootModel, model_validator

from ibkr.endpoints._base import EndpointGroup, ibkr_endpoint
from ibkr.errors import OrderValidationError
from ibkr.models import LiveOrders, Order, OrderStatus, QuestionsSuppressed, Trade
from ibkr.orders import AssetClass, ConidOrder, OrderType, TimeInForce, order_type_named, side_named

log = logging.getLogger(__name__)
TAG = "Trading Orders"


class _TradeList(RootModel[list[Trade]]):
    """``GET /iserver/account/trades``: a list of executions (an empty body is none)."""

    @model_validator(mode="before")
    @classmethod
    def _none_is_empty(cls, data: Any) -> Any:
        return [] if data is None else data


class OrderQueryEndpoints(EndpointGroup):
    """The read side of IBKR's "Orders" group."""

    @ibkr_endpoint("GET", "/iserver/account/orders", TAG)
    def live_orders(
        self, account_id: str | None = None, *, force: bool = False, filters: Iterable[str] | None = None
    ) -> list[Order]:
        """Working orders, and those filled or cancelled in this brokerage session.

        IBKR answers the first call of a session (and any call with ``force=true``, which refreshes its cache)
        with no orders, so an empty first answer is asked once more; the pacing limiter spaces the calls 5.5 s
        apart (IBKR allows one per 5 s). Pass ``account_id`` on multi-account logins (an omitted account can give
        a false empty answer).
        """
        path = "/iserver/account/orders"
        params = {"accountId": account_id, "filters": ",".join(filters) if filters else None}
        if force:
            self._get(LiveOrders, path, {**params, "force": True})
            self._forget_warm(path)
        return self._warm_get(LiveOrders, path, params, lambda r: not r.orders).orders

    @ibkr_endpoint("GET", "/iserver/account/order/status/{orderId}", TAG)
    def order_status(self, order_id: int | str) -> OrderStatus:
        """One order's status and fills (orders of the current brokerage session only; older ones give 503)."""
        return self._get(OrderStatus, f"/iserver/account/order/status/{order_id}")

    @ibkr_endpoint("GET", "/iserver/account/trades", TAG)
    def trades(self, days: int | None = None, *, account_id: str | None = None) -> list[Trade]:
        """Executions of the last ``days`` days (1 to 7; IBKR's default is the current day).

        Like live orders, IBKR answers the first call of a brokerage session with an empty list, so an empty
        first answer is asked once more (5.5 s later, IBKR's pacing). Pass ``account_id`` with several accounts:
        without it IBKR answers for the selected account only.
        """
        if days is not None and not 1 <= days <= 7:
            raise ValueError(f"IBKR keeps executions for at most 7 days; asked for {days}.")
        params = {"days": days, "accountId": account_id}
        return self._warm_get(_TradeList, "/iserver/account/trades", params, lambda r: not r.root).root

    @ibkr_endpoint("POST", "/iserver/questions/suppress", TAG)
    def suppress_questions(self, message_ids: Iterable[str]) -> QuestionsSuppressed:
        """Tell IBKR to stop asking these questions (e.g. ``"o163"``) for this brokerage session.

        Suppressed questions are answered "yes" by IBKR itself, so use it only for ids a person chose; resend the
        full list when adding one (IBKR replaces it).
        """
        body = {"messageIds": list(dict.fromkeys(message_ids))}
        return self._post(QuestionsSuppressed, "/iserver/questions/suppress", body, idempotent=True)

    def find_live_order(self, account_id: str | None, coid: str) -> Order | None:
        """The live order placed with ``coid``, or None. At most three calls: plain, then force and plain again."""
        params = {"accountId": account_id} if account_id else None
        for force in (False, True):
            if force:
                self._get(LiveOrders, "/iserver/account/orders", {**(params or {}), "force": True})
            orders = self._get(LiveOrders, "/iserver/account/orders", params).orders
            match = next((o for o in orders if o.order_ref == coid), None)
            if match is not None:
                return match
        return None

    def rebuild_ticket(self, account_id: str, order_id: int | str) -> ConidOrder:
        """A :class:`ConidOrder` with what ``/iserver/account/orders`` (and the order status) show of an order.

        Live orders do not show every field (no trailing amount; the stop of a stop-limit only sometimes), so a
        ticket rebuilt from them may need those values in ``changes`` or the caller's ``original`` ticket.
        """
        orders = self.live_orders(account_id)
        order = next((o for o in orders if str(o.order_id) == str(order_id)), None)
        if order is None or order.conid is None:
            raise OrderValidationError(
                f"Order {order_id} is not among the working orders of {account_id}; there is nothing to modify."
            )
        kind = order_type_named(order.orig_order_type or order.order_type or "")
        sec_type = (order.sec_type or "STK").upper()
        if kind not in OrderType.__members__ or sec_type not in AssetClass.__members__:
            raise OrderValidationError(
                f"Order {order_id} ({order.orig_order_type or order.order_type} {sec_type}) cannot be rebuilt "
                "from the live orders: pass the original ticket as original=."
            )
        tif = (order.time_in_force or "").upper()
        if tif not in TimeInForce.__members__:
            tif = (self.order_status(order_id).tif or "").upper()
        if tif not in TimeInForce.__members__:
            raise OrderValidationError(
                f"Order {order_id} has time in force {tif or '?'}, which this client cannot send back: pass the "
                "original ticket as original=."
            )
        prices: dict[str, Any] = {}
        if kind in (OrderType.LMT, OrderType.STOP_LIMIT):
            prices["limit_price"] = order.price
        if kind == OrderType.STP:
            prices["stop_price"] = order.price
        if kind == OrderType.STOP_LIMIT:
            prices["stop_price"] = order.aux_price
        side = side_named(order.side)
        exchange = order.exchange if sec_type in ("CASH", "CRYPTO") else None
        return ConidOrder(
            account_id=account_id, conid=order.conid, sec_type=sec_type, side=side, quantity=order.total_size or 0,
            order_type=kind, tif=tif, outside_rth=bool(order.outside_rth), exchange=exchange,
            name=order.ticker or order.description1, **prices,
        )
