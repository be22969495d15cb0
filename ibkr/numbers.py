"""Numbers as a trader reads them: exact, never rounded behind their back, never in exponent form.

    exact(10266)        -> "10,266"        (a position's size: every digit)
    exact(27.2848)      -> "27.2848"
    exact(1e9)          -> "1,000,000,000" (not "1e+09")
    exact(229.123456)   -> "229.123456"    (what a ticket sends is what it shows)

``exact`` writes the shortest text that reads back as the same float (Python's own ``repr``), with thousands
separators. Rounding, where a figure is rounded on purpose (money to the cent, ratios to 0.1 %), is the
caller's and is labelled there.
"""

from __future__ import annotations

import math
from decimal import Decimal

NONE = "—"


def exact(value: float | int | None) -> str:
    """``value`` with every digit it has and thousands separators; ``—`` for None, NaN or infinity."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return NONE
    number = Decimal(repr(float(value))) if isinstance(value, float) else Decimal(int(value))
    if number == number.to_integral_value():
        number = number.quantize(Decimal(1))
    text = format(number, ",f")
    return "0" if text == "-0" else text


def price_decimals(asset_class: str | None, currency: str | None, price: float | None) -> int:
    """The decimals a price of this kind is quoted in: what TWS shows for it, not the digits of IBKR's mark.

    Stocks 2 (JPY 1, below 1 unit 4), options 2, futures 2 (below 10, as currency futures: 5), forex 5 (JPY
    crosses and other pairs above 20: 3), bonds 3 (% of par), crypto 2 (below 1 unit 6). A position's mark price
    (``mktPrice``) is a model price with up to 10 digits; the dashboard shows it at these decimals and says so.
    """
    cls = (asset_class or "").upper()
    size = abs(price) if price is not None and math.isfinite(price) else 1.0
    if cls == "CASH":
        return 3 if size >= 20 else 5
    if cls == "BOND":
        return 3
    if cls in ("FUT", "FOP"):
        return 5 if size < 10 else 2
    if cls == "CRYPTO":
        return 6 if size < 1 else 2
    if cls in ("OPT", "WAR", "IOPT"):
        return 2 if size >= 0.1 else 3
    if (currency or "").upper() == "JPY":
        return 1
    return 4 if size < 1 else 2
