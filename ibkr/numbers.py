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
