"""Number formatting for the pages, with the privacy mask for screen sharing."""

from __future__ import annotations

import datetime as dt
import math
import re

from ibkr.numbers import exact, price_decimals

MASK = "•••••"
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|$<>~])")


def escape(text: str) -> str:
    """Text shown exactly as written in markdown: markdown, LaTeX and HTML characters escaped, so a name from
    IBKR or a sign-in provider can neither format nor inject anything (also where the markdown allows HTML)."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text)


QUANTITY_FORMAT = "%,.10g"
"""A NumberColumn's format for quantities and prices: every digit up to 10 significant ones (more than any
quantity or price IBKR sends), thousands separators, no padding zeros; never IBKR's number rounded to 4 digits."""


def account(account_id: str, masked: bool) -> str:
    """An account id, or with ``masked`` its letters and last three digits only (``DU6433012`` -> ``DU•••012``):
    what IBKR_MASK_ACCOUNTS shows viewers, enough to tell a team's accounts apart and no more."""
    if not masked or not account_id:
        return account_id
    letters = len(account_id) - len(account_id.lstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"))
    return account_id[:letters] + "•••" + account_id[-3:] if len(account_id) > letters + 3 else MASK


def quantity(x: float | None, masked: bool = False) -> str:
    """A quantity exactly, with thousands separators (``10,266``, ``27.2848``, ``1,000,000,000``)."""
    return MASK if masked else exact(x)


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


def drop(x: float | None) -> str:
    """The drop to a margin call; from 100 % on no fall of position value can cause one."""
    if not _bad(x) and x >= 1:
        return "none (> 100 %)"
    return pct(x)


def margin_alert(row, warning: float, danger: float) -> str | None:
    """What a margin table row (``ibkr.analytics.margin_table``) warns about, or None when all is well: its
    maintenance status (what IBKR liquidates on), and an initial utilisation of 100 % or more (negative available
    funds: IBKR refuses new positions that add margin), which no maintenance status shows."""
    no_new = row["utilisation_initial"] >= 1
    blocked = (f" Initial utilisation {pct(row['utilisation_initial'])}: available funds are negative, so IBKR "
               "refuses orders that add margin." if no_new else "")
    if row["status"] not in ("warning", "danger"):
        return f"{row['account']}:{blocked}" if no_new else None
    if row["excess_liquidity"] < 0:
        return (f"{row['account']}: excess liquidity is negative: a margin call or liquidation is due. "
                "Reduce positions or add funds now.")
    level, threshold = ("danger", danger) if row["status"] == "danger" else ("warning", warning)
    advice = " Reduce positions or add funds." if level == "danger" else ""
    if no_new:
        return (f"{row['account']}: maintenance utilisation {pct(row['utilisation_maint'])} is above the {level} "
                f"level ({threshold:.0%}).{blocked}{advice}")
    return (f"{row['account']}: maintenance utilisation {pct(row['utilisation_maint'])} is above the {level} "
            f"level ({threshold:.0%}); initial {pct(row['utilisation_initial'])}.{advice}")



def stamp(at: dt.datetime | None, *, date: bool | None = None) -> str:
    """A moment in the viewer's local zone, zone named: ``14:03:07 CET`` today, ``2026-11-30 14:03:07 CET`` on
    another day (``date`` forces either). A naive time is taken as local."""
    if at is None:
        return "—"
    local = at.astimezone()
    with_date = date if date is not None else local.date() != dt.datetime.now().astimezone().date()
    return local.strftime("%Y-%m-%d %H:%M:%S %Z" if with_date else "%H:%M:%S %Z")


def price(x: float | None, asset_class: str | None, currency: str | None, extra: int = 0) -> str:
    """A price at the decimals its instrument is quoted in (``ibkr.numbers.price_decimals``), with separators."""
    if _bad(x):
        return "—"
    return f"{x:,.{price_decimals(asset_class, currency, x) + extra}f}"
