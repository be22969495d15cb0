"""Rebuild the ticket of a live order this client did not place, so it can be modified (IBKR wants it whole)."""

from __future__ import annotations

from typing import Any

from ibkr.endpoints._base import EndpointGroup
from ibkr.errors import OrderValidationError
from ibkr.orders import AssetClass, ConidOrder, OrderType, TimeInForce

_TYPES = {"LIMIT": "LMT", "LMT": "LMT", "MARKET": "MKT", "MKT": "MKT", "STOP": "STP", "STP": "STP",
          "STOP_LIMIT": "STOP_LIMIT", "STOPLIMIT": "STOP_LIMIT", "STP_LMT": "STOP_LIMIT", "STOP LIMIT": "STOP_LIMIT",
          "TRAIL": "TRAIL", "TRAILING STOP": "TRAIL", "TRAILING_STOP": "TRAIL"}


class OrderRebuilder(EndpointGroup):
    def rebuild_ticket(self, account_id: str, order_id: int | str) -> ConidOrder:
        """A :class:`ConidOrder` with what ``/iserver/account/orders`` (and the order status) show of an order.

        Live orders do not show every field (no trailing amount; the stop of a stop-limit only sometimes), so a
        ticket rebuilt from them may need those values in ``changes`` or the caller's ``original`` ticket.
        """
        orders = self.live_orders(account_id)  # type: ignore[attr-defined]
        order = next((o for o in orders if str(o.order_id) == str(order_id)), None)
        if order is None or order.conid is None:
            raise OrderValidationError(
                f"Order {order_id} is not among the working orders of {account_id}; there is nothing to modify."
            )
        kind = _TYPES.get((order.orig_order_type or order.order_type or "").strip().upper())
        sec_type = (order.sec_type or "STK").upper()
        if kind is None or sec_type not in AssetClass.__members__:
            raise OrderValidationError(
                f"Order {order_id} ({order.orig_order_type or order.order_type} {sec_type}) cannot be rebuilt "
                "from the live orders: pass the original ticket as original=."
            )
        tif = (order.time_in_force or "").upper()
        if tif not in TimeInForce.__members__:
            tif = (self.order_status(order_id).tif or "").upper()  # type: ignore[attr-defined]
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
        side = {"B": "BUY", "S": "SELL"}.get((order.side or "").upper(), (order.side or "").upper())
        exchange = order.exchange if sec_type in ("CASH", "CRYPTO") else None
        return ConidOrder(
            account_id=account_id, conid=order.conid, sec_type=sec_type, side=side, quantity=order.total_size or 0,
            order_type=kind, tif=tif, outside_rth=bool(order.outside_rth), exchange=exchange,
            name=order.ticker or order.description1, **prices,
        )
