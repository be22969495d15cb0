"""Order tickets as IBKR's gateway reads them: validation, the simulator's order record, fill prices and commissions.

``parse_ticket`` turns one ticket of ``POST /iserver/account/{acct}/orders`` (or the unwrapped ticket of a modify)
into an :class:`Order`, or returns the ``{"error": ...}`` text IBKR would answer.

Commissions (IBKR-ish fixed pricing, charged in the instrument's currency; forex in USD):

| class  | rate                                                         |
|--------|--------------------------------------------------------------|
| STK    | USD 0.005/share, min 1.00, max 1 % of value; elsewhere a % of value with a local minimum (STK_RATES) |
| OPT    | 0.65/contract, min 1.00                                      |
| FUT    | per contract: USD 0.85, EUR 1.70, GBP 1.70, JPY 110          |
| CASH   | 0.2 bp of the USD value, min USD 2.00                        |
| BOND   | 0.1 % of value, min 5.00                                     |
| CRYPTO | 0.18 % of value, min USD 1.75                                |
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any

from ibkr_sim.world.instruments import BOARD_LOT, OFF_TICK, Instrument, board_lot, on_tick, to_tick

# orderType accepted on a ticket -> (canonical, live-orders "orderType", "origOrderType")
ORDER_TYPES: dict[str, tuple[str, str, str]] = {
    "MKT": ("MKT", "Market", "MARKET"), "LMT": ("LMT", "Limit", "LIMIT"), "STP": ("STP", "Stop", "STOP"),
    "STOP_LIMIT": ("STOP_LIMIT", "Stop Limit", "STOP_LIMIT"), "STP LMT": ("STOP_LIMIT", "Stop Limit", "STOP_LIMIT"),
    "TRAIL": ("TRAIL", "Trail", "TRAIL"), "TRAILLMT": ("TRAILLMT", "Trail Limit", "TRAILLMT"),
    "TRAIL LIMIT": ("TRAILLMT", "Trail Limit", "TRAILLMT"), "MIDPRICE": ("MIDPRICE", "Mid Price", "MIDPRICE"),
}
DISPLAY = {canon: (disp, orig) for canon, disp, orig in ORDER_TYPES.values()}
STOP_TYPES = ("STP", "STOP_LIMIT", "TRAIL", "TRAILLMT")
TIFS = ("DAY", "IOC", "GTC", "OPG", "PAX", "GTD")
US_FUTURES_EXCHANGES = ("CME", "NYMEX", "COMEX", "CBOT", "CBOE", "CFE", "ECBOT", "GLOBEX")
WHOLE_UNITS = ("OPT", "FUT", "BOND")
SLIPPAGE = {"STK": 0.0001, "OPT": 0.005, "FUT": 0.0001, "CASH": 0.00001, "BOND": 0.0002, "CRYPTO": 0.0005}
STK_RATES = {"EUR": (0.0005, 1.25), "GBP": (0.0005, 3.0), "CHF": (0.0005, 1.5), "JPY": (0.0008, 80.0),
             "HKD": (0.0008, 18.0), "AUD": (0.0008, 5.0), "CAD": (0.0005, 1.0)}
FUT_PER_CONTRACT = {"USD": 0.85, "EUR": 1.70, "GBP": 1.70, "JPY": 110.0}
PRICE_FIELDS = "invalid order price fields"  # IBKR's own text for a ticket whose prices do not fit its type


@dataclass
class Order:
    """One order the simulator knows. ``price`` is the limit price, or the stop price of STP and TRAIL;
    ``aux_price`` the stop price of STOP_LIMIT and TRAILLMT; ``stop`` the live trigger level."""

    account: str
    conid: int
    side: str  # BUY / SELL
    quantity: float
    order_type: str  # canonical key of ORDER_TYPES
    tif: str
    price: float | None = None
    aux_price: float | None = None
    trailing_amt: float | None = None
    trailing_type: str | None = None
    coid: str | None = None
    parent_coid: str | None = None
    cash_qty: float | None = None
    listing_exchange: str = ""
    ticket: dict = field(default_factory=dict)
    cancelled_by: dict | None = None  # a cancel's manualIndicator and extOperator (CME Rule 536-B audit fields)
    order_id: int = 0
    parent: int | None = None  # order id of a bracket's parent
    oca: str | None = None  # orders of one OCA group (bracket children, isSingleGroup) cancel each other
    status: str = "PendingSubmit"
    filled: float = 0.0
    avg_price: float = 0.0
    commission: float = 0.0
    stop: float | None = None
    triggered: bool = False
    received: float = field(default_factory=time.time)  # its placement request arrived (before any question)
    created: float = field(default_factory=time.time)  # placed (after the last answer)
    updated: float = field(default_factory=time.time)

    @property
    def sign(self) -> int:
        return 1 if self.side == "BUY" else -1

    @property
    def remaining(self) -> float:
        return max(0.0, self.quantity - self.filled)

    @property
    def done(self) -> bool:
        return self.status in ("Filled", "Cancelled", "Inactive")


def _number(value: Any) -> float | None:
    """A finite number, or None (a string "nan" or "1e999" is no quantity or price)."""
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def ticket_conid(ticket: dict) -> int | None:
    """``conid``, or the conid of a ``conidex`` like ``"265598@SMART"``."""
    raw = ticket.get("conid")
    if raw in (None, "") and isinstance(ticket.get("conidex"), str):
        raw = ticket["conidex"].split("@")[0]
    try:
        return int(raw)  # type: ignore[arg-type]  # None and junk are refused just below
    except (TypeError, ValueError):
        return None


def is_us_future(inst: Instrument) -> bool:
    return inst.asset_class in ("FUT", "FOP") and inst.exchange.upper() in US_FUTURES_EXCHANGES


CME_536B = "is required for Futures and Futures Options contracts to remain in compliance with CME Group Rule 536-B"


def cme_problem(inst: Instrument, manual: object, operator: object) -> str | None:
    """IBKR's refusal of a US futures (or futures option) place, modify or cancel without ``manualIndicator``
    (a boolean; ``"true"``/``"false"`` in a cancel's query) or ``extOperator`` (who submitted it).

    Source: IBKR's v1 Web API docs, Place Order, Modify Order and Cancel Order ("Required for Futures and Futures
    Options contracts to remain in compliance with CME Group Rule 536-B"; a cancel "must also include the
    manualIndicator tag" regardless of how the order was submitted); IBKR's OpenAPI spec ("Orders for USFUT
    products that do not include this field will be rejected"); a live report that IBKR answers HTTP 400
    without them (stephus182/ibkr_core_mcp, docs/api-reference.md).
    """
    if not is_us_future(inst):
        return None
    if not isinstance(manual, bool):
        return f"Order rejected - reason: manualIndicator {CME_536B}"
    if not isinstance(operator, str) or not operator.strip():
        return f"Order rejected - reason: extOperator {CME_536B}"
    return None


def parse_ticket(world, ticket: Any, account: str) -> Order | str:
    """Validate one order ticket the way the gateway does; the Order, or the error text."""
    if not isinstance(ticket, dict):
        return "Bad Request: an order must be a JSON object"
    if isinstance(ticket.get("conidex"), str) and ";;;" in ticket["conidex"]:
        return "Combination (spread) orders are not supported by this gateway"
    conid = ticket_conid(ticket)
    if conid is None:
        return "Bad Request: conid is required (or conidex)"
    inst = world.instruments.get(conid)
    if inst is None:
        return f"Contract not found: no contract is available for conid {conid}"
    raw_type = str(ticket.get("orderType") or "").strip().upper()
    if raw_type not in ORDER_TYPES:
        return f"Invalid order type: {ticket.get('orderType')!r} (use MKT, LMT, STP, STOP_LIMIT, TRAIL, TRAILLMT or MIDPRICE)"
    order_type = ORDER_TYPES[raw_type][0]
    side = str(ticket.get("side") or "").strip().upper()
    if side not in ("BUY", "SELL"):
        return f"Invalid side: {ticket.get('side')!r} (use BUY or SELL)"
    quantity = _number(ticket.get("quantity"))
    if quantity is None or quantity <= 0:
        return f"Invalid quantity: {ticket.get('quantity')!r} (a positive number is required)"
    if inst.asset_class in WHOLE_UNITS and quantity != int(quantity):
        return f"Fractional quantity {quantity:g} is not supported for {inst.asset_class} contracts"
    tif = str(ticket.get("tif") or "").strip().upper()
    if tif not in TIFS:
        return f"Invalid time in force: {ticket.get('tif')!r} (use DAY, IOC, GTC, OPG or PAX)"
    # IBKR v1 docs, Place Order, tif: "GTC, OPG, DAY, IOC, PAX (CRYPTO ONLY)". Which other TIFs PAXOS refuses for
    # crypto is not documented (docs/cpapi.md section 3), so a crypto ticket may carry any of them here.
    if tif == "PAX" and inst.asset_class != "CRYPTO":
        return f"Invalid time in force: PAX is for crypto orders only, not {inst.asset_class} (use DAY, IOC, GTC or OPG)"
    price, aux = _number(ticket.get("price")), _number(ticket.get("auxPrice"))
    trail_amt = _number(ticket.get("trailingAmt"))
    trail_type = ticket.get("trailingType")
    problem = _price_problem(order_type, price, aux, trail_amt, trail_type)
    if problem:
        return problem
    if any(p is not None and not on_tick(inst, p) for p in (price if order_type != "MKT" else None, aux)):
        return OFF_TICK  # IBKR refuses a limit or stop price off the tick (ES in 0.25, IDEALPRO in half-pips)
    lot = board_lot(inst)
    if lot > 1 and quantity % lot:
        return BOARD_LOT.format(lot=lot, exchange=inst.exchange)
    return Order(
        account=account, conid=conid, side=side, quantity=quantity, order_type=order_type, tif=tif,
        price=price if order_type != "MKT" else None, aux_price=aux if order_type in ("STOP_LIMIT", "TRAILLMT") else None,
        trailing_amt=trail_amt if order_type in ("TRAIL", "TRAILLMT") else None,
        trailing_type=trail_type if order_type in ("TRAIL", "TRAILLMT") else None,
        coid=str(ticket["cOID"]) if ticket.get("cOID") not in (None, "") else None,
        parent_coid=str(ticket["parentId"]) if ticket.get("parentId") not in (None, "") else None,
        cash_qty=_number(ticket.get("cashQty")), listing_exchange=str(ticket.get("listingExchange") or ""),
        ticket=dict(ticket),
    )


def _price_problem(order_type: str, price, aux, trail_amt, trail_type) -> str | None:
    positive = lambda v: v is not None and v > 0  # noqa: E731
    if order_type == "LMT" and not positive(price):
        return f"{PRICE_FIELDS}: a LMT order needs a positive price (the limit price)"
    if order_type == "STP" and not positive(price):
        return f"{PRICE_FIELDS}: a STP order needs its stop price in price"
    if order_type in ("STOP_LIMIT", "TRAILLMT") and not (positive(price) and positive(aux)):
        return f"{PRICE_FIELDS}: a {order_type} order needs price (the limit price) and auxPrice (the stop price)"
    if order_type == "TRAIL" and not positive(price):
        return f"{PRICE_FIELDS}: a TRAIL order needs its stop price in price"
    if order_type in ("TRAIL", "TRAILLMT") and (not positive(trail_amt) or trail_type not in ("amt", "%")):
        return f"{PRICE_FIELDS}: a {order_type} order needs trailingAmt (> 0) and trailingType ('amt' or '%')"
    if order_type == "MIDPRICE" and price is not None and price <= 0:
        return f"{PRICE_FIELDS}: the price cap of a MIDPRICE order must be positive"
    return None


# ---- prices and fees --------------------------------------------------------------------------------------------
def decimals(inst: Instrument, price: float) -> int:
    if inst.asset_class == "CASH":
        return 5
    return 4 if abs(price) < 10 else 2


def tick_round(inst: Instrument, price: float) -> float:
    """A fill or trigger price on the contract's tick."""
    return to_tick(inst, price)


def market_fill_price(inst: Instrument, side: str) -> float:
    """What a marketable order pays: the current price plus a small, deterministic slippage."""
    slip = SLIPPAGE.get(inst.asset_class, 0.0001)
    return tick_round(inst, inst.price * (1 + slip if side == "BUY" else 1 - slip))


def commission(world, inst: Instrument, quantity: float, price: float) -> float:
    """IBKR-ish commission of one fill, in the instrument's currency (forex: USD)."""
    value = abs(quantity) * price * inst.multiplier
    cls, ccy = inst.asset_class, inst.currency
    if cls == "STK":
        if ccy == "USD":
            fee = min(max(1.0, 0.005 * abs(quantity)), 0.01 * value)
        else:
            pct, minimum = STK_RATES.get(ccy, (0.0005, 1.0))
            fee = max(minimum, pct * value)
    elif cls == "OPT":
        fee = max(1.0, 0.65 * abs(quantity))
    elif cls == "FUT":
        fee = abs(quantity) * FUT_PER_CONTRACT.get(ccy, 0.85 * world.rate("USD", ccy))
    elif cls == "CASH":
        fee = max(2.0, 0.00002 * value * world.rate(ccy, "USD"))
    elif cls == "BOND":
        fee = max(5.0, 0.001 * value)
    elif cls == "CRYPTO":
        fee = max(1.75, 0.0018 * value)
    else:
        fee = 1.0
    return round(fee, 2)


def commission_currency(inst: Instrument) -> str:
    return "USD" if inst.asset_class == "CASH" else inst.currency
