"""Order entry: the contract picked, the ticket built from it, and what is wrong with it, as plain values.

A form (the dashboard's ticket, a CLI, a test) turns its inputs into a :class:`TicketInput`; :func:`check`
answers with the ticket (``ibkr.orders``) or the problems a trader must fix before anything can be sent, plus
warnings (a limit price far from the market) that do not block. :func:`fingerprint` names a ticket's exact
content, so a preview or a submission belongs to one ticket.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from ibkr.errors import OrderValidationError
from ibkr.numbers import exact
from ibkr.orders.base import AssetClass, OrderType, TimeInForce
from ibkr.orders.tickets import BondOrder, CryptoOrder, ForexOrder, FutureOrder, OptionOrder, OrderTicket, StockOrder

FAR_FROM_MARKET = 0.03
"""IBKR asks about limit prices more than 3 % away from the market (question o163); the ticket warns first."""

QUANTITY_FORMAT = "%.10g"
"""How a ticket form shows a quantity: :func:`check` refuses one it cannot show exactly, so the box never shows
10 while the order would carry 10.00000000001."""

NEEDS_LIMIT = ("LMT", "STOP_LIMIT")
NEEDS_STOP = ("STP", "STOP_LIMIT", "TRAIL")


@dataclass(frozen=True)
class Pick:
    """The contract the trader picked in the lookup, with what each ticket type needs to name it."""

    asset_class: str
    conid: int
    label: str
    symbol: str
    currency: str | None = None
    expiry: dt.date | None = None
    strike: float | None = None
    right: str | None = None
    contract_month: str | None = None
    pair: str | None = None


@dataclass(frozen=True)
class TicketInput:
    """Every value of the ticket's widgets (None where the trader left a field empty)."""

    account_id: str | None
    tradable: tuple[str, ...]
    pick: Pick | None
    side: str = "BUY"
    quantity: float | None = None
    order_type: str = "LMT"
    limit_price: float | None = None
    stop_price: float | None = None
    trailing_amount: float | None = None
    trailing_type: str = "amt"
    tif: str | None = None  # None: the ticket class's default (the first of tifs_for)
    outside_rth: bool = False
    last_price: float | None = None
    tick: float | None = None  # the contract's minimum price variation (secdef incrementRules), when known


@dataclass
class TicketCheck:
    """The ticket when it can be sent; otherwise ``errors``. ``warnings`` never block."""

    ticket: OrderTicket | None = None
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    hint: str | None = None  # what to do next on a ticket not filled in yet (not an error)

    @property
    def ok(self) -> bool:
        return self.ticket is not None and not self.errors


def make_ticket(inp: TicketInput) -> OrderTicket:
    """The ``ibkr.orders`` ticket for the picked contract (raises OrderValidationError on impossible values)."""
    pick = inp.pick
    if pick is None:
        raise OrderValidationError("Pick the contract first.")
    kind = inp.order_type
    common: dict[str, Any] = {
        "account_id": inp.account_id or "", "side": inp.side, "quantity": inp.quantity or 0.0, "order_type": kind,
        "limit_price": inp.limit_price if kind in NEEDS_LIMIT else None,
        "stop_price": inp.stop_price if kind in NEEDS_STOP else None,
        "trailing_amount": inp.trailing_amount if kind == "TRAIL" else None,
        "trailing_type": inp.trailing_type, "outside_rth": inp.outside_rth, "conid": pick.conid,
        **({"tif": inp.tif} if inp.tif else {}),  # none chosen: the ticket class's default
    }
    cls = AssetClass(pick.asset_class)
    if cls is AssetClass.STK:
        return StockOrder(symbol=pick.symbol, **common)
    if cls is AssetClass.OPT:
        return OptionOrder(underlying=pick.symbol, expiry=pick.expiry, strike=pick.strike, right=pick.right, **common)
    if cls is AssetClass.FUT:
        return FutureOrder(symbol=pick.symbol, contract_month=pick.contract_month or "", **common)
    if cls is AssetClass.CASH:
        return ForexOrder(pair=pick.pair or pick.symbol, **common)
    if cls is AssetClass.BOND:
        return BondOrder(description=pick.label, **common)
    return CryptoOrder(symbol=pick.symbol, **common)


def far_from_market(price: float | None, last: float | None) -> float | None:
    """The relative distance of ``price`` from ``last`` (0.05 = 5 % above), or None without both."""
    if price is None or not last or last <= 0:
        return None
    return (price - last) / last


def check(inp: TicketInput, lookup_problem: str | None = None) -> TicketCheck:
    """Everything wrong with the ticket, in a trader's words, before anything is sent."""
    errors: list[str] = []
    warnings: list[str] = []
    if not inp.account_id:
        errors.append("Choose the account the order is for.")
    elif inp.account_id not in inp.tradable:
        listed = ", ".join(inp.tradable) or "none (is the brokerage session up?)"
        errors.append(f"You may not trade in account {inp.account_id}: this session can trade {listed}. "
                      "Choose one of those accounts.")
    if lookup_problem:
        errors.append(lookup_problem)
    if inp.pick is None:
        hint = None if lookup_problem else "Type a symbol and press Enter, then pick the contract from IBKR's results."
        return TicketCheck(None, errors, warnings, hint)
    try:
        ticket = make_ticket(inp)
    except OrderValidationError as exc:
        return TicketCheck(None, errors + [exc.message], warnings)
    for problem in ticket.problems():
        if problem.startswith("Quantity must") and inp.quantity is None:
            problem = "Enter the quantity."
        if problem not in errors:
            errors.append(problem)
    quantity = inp.quantity
    if quantity is not None and math.isfinite(quantity) and float(QUANTITY_FORMAT % quantity) != quantity:
        errors.append(f"Quantity {exact(quantity)} has more digits than the quantity box shows "
                      f"({QUANTITY_FORMAT % quantity}): enter it with at most 10 significant digits.")
    if inp.order_type == "TRAIL" and inp.stop_price is None:
        errors.append("A trailing stop (TRAIL) order needs its initial stop price.")
    symbol = inp.pick.symbol
    for label, price, used in (("limit", inp.limit_price, inp.order_type in NEEDS_LIMIT),
                               ("stop", inp.stop_price, inp.order_type in NEEDS_STOP)):
        off = _off_tick(label, price, inp.tick, symbol) if used else None
        if off:
            errors.append(off)
    if inp.order_type in NEEDS_LIMIT:
        distance = far_from_market(inp.limit_price, inp.last_price)
        if distance is not None and abs(distance) > FAR_FROM_MARKET:
            where = "above" if distance > 0 else "below"
            warnings.append(
                f"The limit price {exact(inp.limit_price)} is {abs(distance):.1%} {where} the last price "
                f"{exact(inp.last_price)}. Check it is not a typo: IBKR will ask you to confirm a price more than "
                f"{FAR_FROM_MARKET:.0%} from the market.")
    if inp.last_price is None:
        warnings.append("No market price for this contract yet: IBKR will ask you to confirm an order sent "
                        "without market data.")
    return TicketCheck(None if errors else ticket, errors, warnings)


def fingerprint(ticket: OrderTicket) -> str:
    """A short id of a ticket's exact content: a preview or a submission belongs to one fingerprint."""
    text = f"{type(ticket).__name__}:{ticket.model_dump_json()}"
    return hashlib.sha1(text.encode()).hexdigest()[:16]


def _default_tick(asset_class: str, last: float | None) -> float:
    """A tick to step by when IBKR gave none: forex in half-pips, small prices in 0.0001, others in 0.01."""
    if asset_class == "CASH":
        return 0.00005
    return 0.0001 if last is not None and abs(last) < 10 else 0.01


def tick_decimals(tick: float) -> int:
    """The decimals a price on ``tick`` needs (0.25 -> 2, 0.00005 -> 5, 5 -> 0)."""
    exponent = Decimal(repr(float(tick))).normalize().as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


def price_format(asset_class: str, last: float | None, tick: float | None = None) -> tuple[float, str]:
    """Step and display format of a price input: the contract's tick and just its decimals, so the field shows
    every digit a valid price can have (an off-tick value is refused by :func:`check`, never sent rounded)."""
    step = tick or _default_tick(asset_class, last)
    return step, f"%.{tick_decimals(step)}f"


def on_tick(price: float, tick: float) -> bool:
    return math.isclose(price / tick, round(price / tick), rel_tol=0, abs_tol=1e-6)


def round_price(asset_class: str, price: float | None, tick: float | None = None) -> float | None:
    """``price`` on the tick (the nearest multiple), for a pre-filled field."""
    if price is None:
        return None
    step = tick or _default_tick(asset_class, price)
    return round(round(price / step) * step, tick_decimals(step))


def _off_tick(label: str, price: float | None, tick: float | None, symbol: str) -> str | None:
    if price is None or tick is None or price <= 0 or on_tick(price, tick):
        return None
    below = math.floor(price / tick) * tick
    digits = tick_decimals(tick)
    # never a price of zero for a positive one (0.0000001 on a 0.01 tick: use 0.01, not "0 or 0.01")
    near = [exact(p) for p in (round(below, digits), round(below + tick, digits)) if p > 0]
    return (f"The {label} price {exact(price)} is not on {symbol}'s tick of {exact(tick)}: use "
            f"{' or '.join(near)} (IBKR refuses other prices).")


def modify_problems(changes: dict[str, float], symbol: str, tick: float | None) -> list[str]:
    """What is wrong with a modify's new values (quantity, limit_price, stop_price), in a trader's words."""
    out: list[str] = []
    if "quantity" in changes and changes["quantity"] <= 0:
        out.append(f"The new quantity must be greater than zero (got {exact(changes['quantity'])}); to drop the "
                   "order, cancel it.")
    for key, label in (("limit_price", "limit"), ("stop_price", "stop")):
        if key in changes:
            if changes[key] <= 0:
                out.append(f"The new {label} price must be greater than zero (got {exact(changes[key])}).")
            elif problem := _off_tick(f"new {label}", changes[key], tick, symbol):
                out.append(problem)
    return out


def order_types_for(asset_class: str) -> list[str]:
    """Order types the ticket offers; IBKR documents all five for every class it trades here."""
    return [t.value for t in OrderType]


def tifs_for(asset_class: str) -> list[str]:
    """Times in force a ticket form offers, the ticket class's default first. Crypto: IOC, GTC and PAX (PAX is
    crypto only, IBKR v1 docs, Place Order; which other TIFs PAXOS takes is not confirmed, so no others are
    offered). Every other class: DAY, GTC, IOC and OPG."""
    if asset_class == AssetClass.CRYPTO:
        return [TimeInForce.IOC.value, TimeInForce.GTC.value, TimeInForce.PAX.value]
    return [TimeInForce.DAY.value, TimeInForce.GTC.value, TimeInForce.IOC.value, TimeInForce.OPG.value]


def tif_for(asset_class: str, held: str | None, held_for: str | None) -> str:
    """The time in force a form shows, and so sends: the one it holds while that was chosen for this asset class
    and is offered for it, else the class's default (a stock's OPG never becomes a crypto order's TIF unseen)."""
    choices = tifs_for(asset_class)
    return held if held in choices and held_for == asset_class else choices[0]
