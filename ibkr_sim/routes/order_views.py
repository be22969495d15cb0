"""How orders, fills and previews look in IBKR's responses: live orders, single order status, trades and whatif.

Every object carries every key of IBKR's example payload with the example's JSON types (numbers where the example
has numbers, strings where it has strings). Prices the order does not have (a market order's limit, the average
price before a fill) are empty strings.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

from ibkr_sim.world.accounting import margin
from ibkr_sim.world.instruments import Instrument, required
from ibkr_sim.world.order_questions import WHATIF_MARKET_ORDER, WHATIF_NO_MARKET_DATA, quantity_text
from ibkr_sim.world.order_rules import DISPLAY, Order, commission, commission_currency, decimals, market_fill_price
from ibkr_sim.world.world import Fill

TIF_TEXT = {"DAY": "Day", "GTC": "GTC", "IOC": "IOC", "OPG": "OPG", "PAX": "PAX", "GTD": "GTD"}
TIF_LIVE = {"DAY": "CLOSE"}  # live orders show a DAY order's time in force as "CLOSE" (IBKR's example)
CCP_STATUS = {"PendingSubmit": "0", "PreSubmitted": "0", "Submitted": "1", "Filled": "2", "PendingCancel": "1",
              "Cancelled": "3", "Inactive": "4", "WarnState": "1"}
STATUS_TEXT = {"PendingSubmit": "Order Pending Submit", "PreSubmitted": "Order Pre-Submitted",
               "Submitted": "Order Submitted", "Filled": "Order Filled", "PendingCancel": "Order Pending Cancel",
               "Cancelled": "Order Cancelled", "Inactive": "Order Inactive", "WarnState": "Order Warning"}
UNITS = {"STK": "Shares", "OPT": "Contracts", "FUT": "Contracts", "BOND": "Bonds"}


def money(inst: Instrument, value: float | None) -> str:
    return "" if value is None else f"{value:.{decimals(inst, value)}f}"


def yymmdd(epoch: float) -> str:
    return dt.datetime.fromtimestamp(epoch, dt.UTC).strftime("%y%m%d%H%M%S")


def _descriptions(inst: Instrument) -> tuple[str, str | None]:
    if inst.asset_class in ("OPT", "FUT"):
        rest = inst.description[len(inst.symbol):].strip()
        return inst.symbol, rest or None
    if inst.asset_class == "CASH":
        return required(inst.pair, "pair"), None
    if inst.asset_class == "BOND":
        return inst.description, None
    return inst.symbol, None


def _route(order: Order, inst: Instrument) -> str:
    if order.listing_exchange:
        return order.listing_exchange
    return "SMART" if inst.asset_class in ("STK", "OPT", "BOND") else inst.exchange


def description(order: Order, inst: Instrument, with_contract: bool = False) -> str:
    """IBKR's ``orderDesc``: ``Bought 10 Limit 150.00, Day``."""
    done = order.status == "Filled"
    verb = ("Bought" if done else "Buy") if order.side == "BUY" else ("Sold" if done else "Sell")
    words = [verb, quantity_text(order.quantity)]
    if with_contract:
        words.append(_descriptions(inst)[0])
    kind = DISPLAY[order.order_type][0]
    if order.order_type in ("MKT", "MIDPRICE") and order.price is None:
        words.append(kind)
    elif order.order_type in ("STOP_LIMIT", "TRAILLMT"):
        words.append(f"{kind} {money(inst, order.price)}, Stop {money(inst, order.stop or order.aux_price)}")
    else:
        words.append(f"{kind} {money(inst, order.stop if order.order_type == 'TRAIL' else order.price)}")
    return " ".join(words) + f", {TIF_TEXT.get(order.tif, order.tif)}"


def live_order(sim, order: Order) -> dict:
    """One element of ``GET /iserver/account/orders``."""
    inst = sim.world.instruments[order.conid]
    desc1, desc2 = _descriptions(inst)
    route = _route(order, inst)
    done = order.status == "Filled"
    out = {
        "acct": order.account, "account": order.account, "conid": order.conid,
        "conidex": str(order.conid) if route == "SMART" else f"{order.conid}@{route}",
        "orderId": order.order_id, "cashCcy": inst.currency,
        "sizeAndFills": quantity_text(order.quantity) if done else
        f"{quantity_text(order.filled)}/{quantity_text(order.quantity)}",
        "orderDesc": description(order, inst), "description1": desc1, "ticker": inst.symbol,
        "secType": inst.asset_class, "listingExchange": inst.exchange, "exchange": route,
        "remainingQuantity": float(order.remaining), "filledQuantity": float(order.filled),
        "totalSize": float(order.quantity), "totalCashSize": float(order.cash_qty or 0.0),
        "companyName": inst.name, "status": order.status, "order_ccp_status": order.status,
        "origOrderType": DISPLAY[order.order_type][1], "supportsTaxOpt": "0",
        "lastExecutionTime": yymmdd(order.updated), "lastExecutionTime_r": int(order.updated * 1000),
        "orderType": DISPLAY[order.order_type][0], "bgColor": "#FFFFFF", "fgColor": "#000000",
        "order_ref": order.coid or "", "timeInForce": TIF_LIVE.get(order.tif, order.tif), "side": order.side,
        "price": money(inst, order.price), "avgPrice": money(inst, order.avg_price) if order.filled else "",
        "isEventTrading": "0", "taxOptimizerId": "",
    }
    if desc2:
        out["description2"] = desc2
    if order.stop is not None:
        out["auxPrice"] = money(inst, order.stop)
    if order.parent:
        out["parentId"] = order.parent
    return out


def order_status(sim, order: Order, request_id: int) -> dict:
    """``GET /iserver/account/order/status/{id}``."""
    inst = sim.world.instruments[order.conid]
    done = order.done
    side = "B" if order.side == "BUY" else "S"
    filled_text = (f"{'Bought' if side == 'B' else 'Sold'} {quantity_text(order.filled)} @ "
                   f"{money(inst, order.avg_price)}") if order.filled else ""
    return {
        "account": order.account, "alert_active": 1, "allowed_duplicate_opposite": True,
        "available_chart_periods": "#R|1", "average_price": money(inst, order.avg_price) if order.filled else "",
        "bg_color": "#000000", "fg_color": "#FFFFFF", "bgColor": "#000000", "fgColor": "#FFFFFF",
        "cannot_cancel_order": done, "child_order_type": "A" if order.parent else "0", "company_name": inst.name,
        "conid": order.conid, "conidex": str(order.conid), "contract_description_1": _descriptions(inst)[0],
        "cum_fill": str(float(order.filled)), "currency": inst.currency, "deactivate_order": False,
        "editable_fields": "", "exit_strategy_chart_description": filled_text,
        "exit_strategy_display_price": money(inst, inst.price), "exit_strategy_tool_availability": "1",
        "listing_exchange": inst.exchange, "option_acct": "c", "order_ccp_status": CCP_STATUS[order.status],
        "order_clearing_account": order.account, "order_description": description(order, inst),
        "order_description_with_contract": description(order, inst, with_contract=True),
        "order_id": order.order_id, "order_not_editable": done, "order_status": order.status,
        "order_status_description": STATUS_TEXT[order.status], "order_time": yymmdd(order.created),
        "order_type": DISPLAY[order.order_type][1], "request_id": str(request_id), "sec_type": inst.asset_class,
        "server_id": "0", "side": side, "size": str(float(order.remaining)),
        "size_and_fills": quantity_text(order.filled) if order.filled else
        f"0/{quantity_text(order.quantity)}", "sub_type": None, "symbol": inst.symbol, "tif": order.tif,
        "total_size": str(float(order.quantity)),
    }


def trade(sim, fill: Fill) -> dict:
    """One execution of ``GET /iserver/account/trades``."""
    inst = sim.world.instruments[fill.conid]
    price = money(inst, fill.price)
    verb = "Bought" if fill.side == "B" else "Sold"
    stamp = dt.datetime.fromtimestamp(fill.time, dt.UTC)
    return {
        "account": fill.account, "accountCode": fill.account, "account_allocation_name": fill.account,
        "clearing_id": "IB", "clearing_name": "IB", "commission": f"{fill.commission:.2f}",
        "company_name": inst.name, "conid": fill.conid, "conidEx": str(fill.conid),
        "contract_description_1": _descriptions(inst)[0], "exchange": inst.exchange,
        "execution_id": fill.execution_id, "is_event_trading": "0", "liquidation_trade": "0",
        "listing_exchange": inst.exchange, "net_amount": round(fill.quantity * fill.price * inst.multiplier, 2),
        "order_description": f"{verb} {quantity_text(fill.quantity)} @ {price} on {inst.exchange}",
        "order_id": fill.order_id, "order_ref": fill.order_ref or "", "price": price,
        "sec_type": inst.asset_class, "side": fill.side, "size": float(fill.quantity),
        "submitter": sim.session.user, "supports_tax_opt": "1", "symbol": inst.symbol,
        "trade_time": stamp.strftime("%Y%m%d-%H:%M:%S"), "trade_time_r": int(fill.time * 1000),
    }


def _whole(value: float) -> str:
    text = f"{value:,.0f}"
    return "0" if text == "-0" else text


def _units(value: float) -> str:
    return f"{value:,.0f}" if value == int(value) else f"{value:,.4f}".rstrip("0").rstrip(".")


def _triple(before: float, after: float, fmt=_whole) -> dict:
    if fmt is _whole:  # IBKR's whole-unit strings add up: current + change == after
        before, after = round(before), round(after)
    return {"current": fmt(before), "change": fmt(after - before), "after": fmt(after)}


def whatif(sim, order: Order) -> dict:
    """``POST .../orders/whatif``: the order's amount and commission, and equity with loan, initial and
    maintenance margin (account base currency) before and after a hypothetical fill, as IBKR's strings."""
    world = sim.world
    acct = world.accounts[order.account]
    inst = world.instruments[order.conid]
    price = order.price if order.order_type != "MKT" and order.price else market_fill_price(inst, order.side)
    fee = commission(world, inst, order.quantity, price)
    gross = order.quantity * price * inst.multiplier
    ticks, world.tick_seconds = world.tick_seconds, 0  # freeze the clock: before and after see the same prices
    try:
        before = margin(world, acct)
        cash, holdings, fills = dict(acct.cash), {c: replace(h) for c, h in acct.holdings.items()}, len(world.fills)
        held = acct.holdings[order.conid].position if order.conid in acct.holdings else 0.0
        try:
            world.apply_fill(acct.id, order.conid, order.sign * order.quantity, price, fee, 0, None)
            after = margin(world, acct)
        finally:
            acct.cash, acct.holdings = cash, holdings
            del world.fills[fills:]
    finally:
        world.tick_seconds = ticks
    fee_ccy = commission_currency(inst)
    unit = UNITS.get(inst.asset_class, inst.symbol)
    fee_local = fee * world.rate(fee_ccy, inst.currency)
    total = gross + fee_local if order.side == "BUY" else gross - fee_local
    warn = WHATIF_NO_MARKET_DATA if order.conid not in sim.md_streaming else (
        WHATIF_MARKET_ORDER if order.order_type == "MKT" else "")
    return {
        "amount": {"amount": f"{gross:,.2f} {inst.currency} ({_units(order.quantity)} {unit})",
                   "commission": f"{fee:,.2f}".rstrip("0").rstrip(".") + f" {fee_ccy}",
                   "total": f"{total:,.2f} {inst.currency}"},
        "equity": _triple(before["equitywithloanvalue"], after["equitywithloanvalue"]),
        "initial": _triple(before["initmarginreq"], after["initmarginreq"]),
        "maintenance": _triple(before["maintmarginreq"], after["maintmarginreq"]),
        "position": _triple(held, held + order.sign * order.quantity, _units),
        "error": None, "warn": warn,
    }
