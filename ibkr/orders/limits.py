"""Fat-finger limits: the desk's own ceilings on one order, checked before anything is sent.

IBKR's questions (o383 "size exceeds the Size Limit", o163 price far from the market) are one click from going
through; a professional ticket refuses first. Three ceilings, from the settings (:class:`OrderLimits`):

- quantity: at most ``max_quantity`` units (shares, contracts, base-currency units, face value);
- notional: the order's value at most ``max_notional_pct`` % of the account's net liquidation (both in the
  account's base currency, through the account ledger's exchange rate);
- margin: the maintenance utilisation the what-if says the order would leave at most ``max_margin_pct`` %.

:func:`limit_problems` returns the ceilings an order breaks, each in a sentence that names the figures and the
setting to change; an empty list means none.
"""

from __future__ import annotations

from dataclasses import dataclass

from ibkr.models import Ledger
from ibkr.numbers import exact


@dataclass(frozen=True)
class OrderLimits:
    max_quantity: float = 1_000_000.0
    max_notional_pct: float = 50.0
    max_margin_pct: float = 90.0


@dataclass(frozen=True)
class OrderSize:
    """What the limits look at: the ticket's size and price, and the account's scale."""

    quantity: float
    price: float | None  # the limit price, else the last price
    multiplier: float = 1.0  # the contract's (100 for US options; bonds are quoted per 100 of face value)
    fx_to_base: float | None = 1.0  # one unit of the contract's currency in the account's base currency
    net_liquidation: float | None = None  # the account's, in its base currency
    base_currency: str = ""
    maint_utilisation_after: float | None = None  # from the what-if, as a fraction

    @property
    def notional_base(self) -> float | None:
        if self.price is None or self.fx_to_base is None:
            return None
        return abs(self.quantity) * self.price * self.multiplier * self.fx_to_base


def limit_problems(limits: OrderLimits, size: OrderSize) -> list[str]:
    out: list[str] = []
    if abs(size.quantity) > limits.max_quantity:
        out.append(f"Quantity {exact(size.quantity)} is above this desk's limit of {exact(limits.max_quantity)} "
                   "per order (IBKR_MAX_ORDER_QUANTITY).")
    notional, nlv = size.notional_base, size.net_liquidation
    if notional is not None and nlv and nlv > 0 and notional > limits.max_notional_pct / 100 * nlv:
        ccy = f" {size.base_currency}".rstrip()
        out.append(f"The order's value, about {notional:,.0f}{ccy}, is {notional / nlv:.0%} of the account's net "
                   f"liquidation ({nlv:,.0f}{ccy}); this desk's limit is {limits.max_notional_pct:g} % "
                   "(IBKR_MAX_ORDER_NOTIONAL_PCT).")
    after = size.maint_utilisation_after
    if after is not None and after > limits.max_margin_pct / 100:
        out.append(f"IBKR's what-if says the order would leave maintenance margin utilisation at {after:.1%}; "
                   f"this desk's limit is {limits.max_margin_pct:g} % (IBKR_MAX_MARGIN_UTILISATION_PCT).")
    return out


def order_size(quantity: float | None, price: float | None, *, asset_class: str, currency: str | None,
               multiplier: float | None, ledger: Ledger | None, net_liquidation: float | None,
               base_currency: str | None, maint_utilisation_after: float | None = None) -> OrderSize | None:
    """The :class:`OrderSize` of a ticket from what the dashboard holds: the contract's currency and multiplier
    (``ContractInfo``), the account's ledger (exchange rates to its base) and net liquidation. None without a
    quantity. A bond's price is per 100 of face value; a contract without a multiplier counts 1."""
    if quantity is None:
        return None
    mult = 0.01 if asset_class == "BOND" else (multiplier or 1.0)
    if not currency or currency == base_currency:
        fx: float | None = 1.0
    else:
        entry = ledger.get(currency) if ledger is not None else None
        fx = entry.exchange_rate if entry is not None else None
    return OrderSize(quantity, price, mult, fx, net_liquidation, base_currency or "", maint_utilisation_after)
