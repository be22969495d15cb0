"""Number formatting for the pages, with the privacy mask for screen sharing."""

from __future__ import annotations

import math

MASK = "•••••"


def _bad(x: object) -> bool:
    return x is None or (isinstance(x, float) and (math.isnan(x) or math.isinf(x)))


def money(x: float | None, ccy: str = "", masked: bool = False, decimals: int = 0) -> str:
    if _bad(x):
        return "—"
    if masked:
        return f"{MASK} {ccy}".strip()
    return f"{x:,.{decimals}f} {ccy}".strip()


def signed_money(x: float | None, ccy: str = "", masked: bool = False) -> str:
    if _bad(x):
        return "—"
    if masked:
        return f"{MASK} {ccy}".strip()
    return f"{x:+,.0f} {ccy}".strip()


def pct(x: float | None, decimals: int = 1) -> str:
    """A fraction shown as a percentage (ratios are not masked: they reveal no amounts)."""
    return "—" if _bad(x) else f"{x * 100:.{decimals}f} %"
