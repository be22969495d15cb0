"""Live orders and trades as pandas frames: one row per order or execution, IBKR's names made the ticket's.

    orders_frame(client.live_orders(account))   # order_id, status, instrument, side, type, quantity, ...
    trades_frame(client.trades(days=7))         # time, account, instrument, side, quantity, price, ...

``type`` is the ticket's order type (LMT, STP, ...) and ``side`` BUY or SELL, whatever IBKR called them: the
names are mapped once, in :mod:`ibkr.orders` (``order_type_named``, ``side_named``).
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

from ibkr.models import Order, Trade
from ibkr.orders import order_type_named, side_named


def _time(epoch_ms: int | None) -> dt.datetime | None:
    return dt.datetime.fromtimestamp(epoch_ms / 1000).astimezone() if epoch_ms else None


def order_kind(order: Order) -> str:
    """The ticket order type (LMT, STP...) of a live order, which IBKR names "Limit" / "LIMIT"."""
    return order_type_named(order.orig_order_type or order.order_type or "")


def orders_frame(orders: list[Order]) -> pd.DataFrame:
    """One row per live order, newest first."""
    rows = [{
        "order_id": o.order_id, "account": o.account_id,
        "instrument": " ".join(p for p in (o.description1 or o.ticker, o.description2) if p),
        "asset_class": o.sec_type, "side": o.side, "type": order_kind(o), "quantity": o.total_size,
        "filled": o.filled_quantity, "remaining": o.remaining_quantity, "price": o.price, "stop": o.aux_price,
        "avg_price": o.avg_price, "tif": o.time_in_force, "status": o.status, "updated": _time(o.last_execution_time_r),
        "coid": o.order_ref,
    } for o in orders]
    frame = pd.DataFrame(rows, columns=["order_id", "status", "instrument", "side", "type", "quantity", "filled",
                                        "remaining", "price", "stop", "avg_price", "tif", "account", "asset_class",
                                        "updated", "coid"])
    for col in ("quantity", "filled", "remaining", "price", "stop", "avg_price"):
        frame[col] = pd.to_numeric(frame[col], errors="coerce")
    frame["tif"] = frame["tif"].replace({"CLOSE": "DAY"})  # IBKR's live orders call a DAY order "CLOSE"
    return frame.sort_values(["updated", "order_id"], ascending=False, na_position="last").reset_index(drop=True)


def trades_frame(trades: list[Trade]) -> pd.DataFrame:
    """One row per execution, newest first."""
    rows = [{
        "time": _time(t.trade_time_r), "account": t.account or t.account_code,
        "instrument": t.contract_description_1 or t.symbol, "asset_class": t.sec_type,
        "side": side_named(t.side), "quantity": t.size, "price": t.price,
        "commission": t.commission, "net_amount": t.net_amount, "exchange": t.exchange, "order_id": t.order_id,
        "coid": t.order_ref, "execution_id": t.execution_id,
    } for t in trades]
    frame = pd.DataFrame(rows, columns=["time", "account", "instrument", "asset_class", "side", "quantity", "price",
                                        "commission", "net_amount", "exchange", "order_id", "coid", "execution_id"])
    for col in ("quantity", "price", "commission", "net_amount"):
        frame[col] = pd.to_numeric(frame[col], errors="coerce")
    return frame.sort_values("time", ascending=False, na_position="last").reset_index(drop=True)
