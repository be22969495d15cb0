"""The confirmation questions ("reply messages") the gateway asks before it transmits an order.

Each question is ``(messageId, text)``. The texts are IBKR's where a verbatim copy is public:

- o354: IBKR's own example payload (cpapi-samples, orderReplyMessageExample).
- o163, o383, o451, o403, o10331: IBKR's OpenAPI description of ``/iserver/questions/suppress`` and payloads
  captured by public clients (``price exceeds \\nthe Percentage constraint of 3%.``; ibind matches it with the
  newlines removed, so the spacing matters).
- o10153: captured live by several public clients ("<h4>Confirm Mandatory Cap Price</h4>...").
- o10151: "<h4>Market Order Confirmation</h4>&nbsp;A Market Order is an instruction to trade your order at any
  available price" is from live captures (ibind's QuestionType.MARKET_ORDER_CONFIRMATION matches it); the rest of
  the paragraph is ours.
- o10288: IBKR documents only its purpose ("risks associated with market orders for Crypto"); the text is ours.
"""

from __future__ import annotations

from ibkr_sim.world.instruments import Instrument
from ibkr_sim.world.order_rules import STOP_TYPES, Order, decimals

ARE_YOU_SURE = "Are you sure you want to submit this order?"
PERCENTAGE_CONSTRAINT = 0.03
SIZE_LIMITS = {"STK": 500}
TOTAL_VALUE_LIMIT_USD = 100_000
VALUE_LIMITED = ("STK", "OPT", "BOND", "CRYPTO")

NO_MARKET_DATA = ("You are submitting an order without market data. We strongly recommend against this as it may "
                  f"result in erroneous and unexpected trades.\n{ARE_YOU_SURE}")
STOP_ORDER = ("You are about to submit a stop order. Please be aware of the various stop order types available and "
              f"the risks associated with each one.\n{ARE_YOU_SURE}")
WILL_TRIGGER = f"This order will most likely trigger and fill immediately.\n{ARE_YOU_SURE}"
MARKET_ORDER = ("<h4>Market Order Confirmation</h4>&nbsp;A Market Order is an instruction to trade your order at any "
                "available price. A market order may increase the likelihood of a fill and the speed of execution, but "
                "it provides no price protection and may fill at a price far lower/higher than the current displayed "
                "bid/ask.")
CAP_PRICE = ("<h4>Confirm Mandatory Cap Price</h4>To avoid trading at a price that is not consistent with a fair and "
             "orderly market, IB may set a cap (for a buy order) or floor (for a sell order). THIS MAY CAUSE AN ORDER "
             "THAT WOULD OTHERWISE BE MARKETABLE NOT TO BE TRADED.")
CRYPTO_MARKET = ("<h4>Cryptocurrency Market Order Confirmation</h4>Cryptocurrency markets can move quickly and "
                 "liquidity can be thin. A market order provides no price protection and may fill at a price far from "
                 f"the last displayed price.\n{ARE_YOU_SURE}")
# whatif's "warn": IBKR's example payload, verbatim (typos included)
WHATIF_NO_MARKET_DATA = ("21/You are trying to submit an order without having market data for this instrument. \n"
                         "IB strongly recommends against this kind of blind trading which may result in \n"
                         "erroreous or unexpected trades.")
WHATIF_MARKET_ORDER = "22/" + MARKET_ORDER


def listing(inst: Instrument) -> str:
    """The contract as IBKR writes it inside a question: ``AAPL NASDAQ.NMS``."""
    exchange = "NASDAQ.NMS" if inst.exchange == "NASDAQ" else inst.exchange
    name = {"CASH": inst.pair, "OPT": inst.description, "FUT": inst.description, "BOND": inst.description}.get(
        inst.asset_class) or inst.symbol
    return f"{name} {exchange}"


def quantity_text(quantity: float) -> str:
    return f"{quantity:.0f}" if quantity == int(quantity) else f"{quantity:g}"


def questions_for(sim, order: Order) -> list[tuple[str, str]]:
    """Every question this order raises, in the order the gateway asks them."""
    world = sim.world
    inst = world.instruments[order.conid]
    market = inst.price
    head = f'{order.side} {quantity_text(order.quantity)} {listing(inst)}'
    out: list[tuple[str, str]] = []
    if order.conid not in sim.md_streaming:
        out.append(("o354", NO_MARKET_DATA))
    limit = order.price if order.order_type in ("LMT", "STOP_LIMIT", "TRAILLMT") else None
    if limit and market > 0 and abs(limit - market) / market > PERCENTAGE_CONSTRAINT:
        shown = f"{limit:.{decimals(inst, limit)}f}"
        out.append(("o163", f'The following order "{head} @ {shown}" price exceeds \nthe Percentage constraint '
                            f"of 3%.\n{ARE_YOU_SURE}"))
    size_limit = SIZE_LIMITS.get(inst.asset_class)
    if size_limit and order.quantity > size_limit:
        out.append(("o383", f'The following order "{head}" size exceeds the Size Limit of {size_limit}.\n'
                            f"{ARE_YOU_SURE}"))
    if inst.asset_class in VALUE_LIMITED:
        value_usd = order.quantity * (order.price or market) * inst.multiplier * world.rate(inst.currency, "USD")
        if value_usd > TOTAL_VALUE_LIMIT_USD:
            out.append(("o451", f'The following order "{head}" value estimate of {value_usd:,.2f} USD exceeds \nthe '
                                f"Total Value Limit of {TOTAL_VALUE_LIMIT_USD:,} USD.\n{ARE_YOU_SURE}"))
    if order.order_type in STOP_TYPES:
        stop = order.aux_price if order.order_type in ("STOP_LIMIT", "TRAILLMT") else order.price
        if stop is not None and (market >= stop if order.side == "BUY" else market <= stop):
            out.append(("o403", WILL_TRIGGER))
        out.append(("o10331", STOP_ORDER))
    if order.order_type == "MKT":
        if inst.asset_class == "CRYPTO":
            out.append(("o10288", CRYPTO_MARKET))
        else:
            out += [("o10151", MARKET_ORDER), ("o10153", CAP_PRICE)]
    return out


def chain(sim, orders: list[Order]) -> list[tuple[str, str]]:
    """The questions of a whole submission (a bracket asks once per distinct question), minus suppressed ones."""
    seen: list[tuple[str, str]] = []
    for order in orders:
        for question in questions_for(sim, order):
            if question not in seen and question[0] not in sim.session.suppressed:
                seen.append(question)
    return seen
