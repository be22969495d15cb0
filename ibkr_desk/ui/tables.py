"""What every table of the dashboard does the same way: the privacy mask and IBKR's BUY / SELL colours."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from ibkr_desk.ui import fmt

BUY_COLOUR, SELL_COLOUR = "#3b82f6", "#ef4444"
"""IBKR's own: BUY in blue, SELL in red (TWS, the Client Portal and the mobile app)."""
SIDE_CSS = f"""<style>
.st-key-ticket-side-BUY button[aria-checked="true"],
.st-key-order-submit-BUY button[data-testid="stBaseButton-primary"]
  {{background: {BUY_COLOUR} !important; border-color: {BUY_COLOUR} !important;}}
.st-key-ticket-side-SELL button[aria-checked="true"],
.st-key-order-submit-SELL button[data-testid="stBaseButton-primary"]
  {{background: {SELL_COLOUR} !important; border-color: {SELL_COLOUR} !important;}}
[class*="st-key-ticket-side-"] button[aria-checked="true"] p {{color: #fff !important;}}
</style>"""
"""The ticket's chosen side and its Submit button in IBKR's colours (the theme's red would mark a BUY as a SELL):
the keyed containers ``ticket-side-<SIDE>`` and ``order-submit-<SIDE>`` carry the side they hold."""
PNL_UP, PNL_DOWN = "#3fb950", "#f85149"
STYLE_MAX_ROWS = 1000
"""Above this many rows the table goes out unstyled: a pandas Styler formats every cell in Python on every run of
the page (0.3 s at 1,000 rows, 0.74 s at 3,000 on one core), and each viewer's page runs again on every refresh."""


def mask(frame: pd.DataFrame, config: dict[str, Any], columns: list[str]) -> None:
    """Privacy: put the mask into ``columns`` and make their columns text (a number column would mark every
    masked cell as an invalid value). Changes both in place."""
    frame[columns] = fmt.MASK
    for col in columns:
        entry = config.get(col, col)
        label = entry.get("label") if isinstance(entry, dict) else entry
        config[col] = st.column_config.TextColumn(label or col, help=entry.get("help") if isinstance(entry, dict)
                                                  else None)


def side_colour(value: object) -> str:
    side = str(value).upper()
    return (f"color: {BUY_COLOUR}; font-weight: 600" if side in ("BUY", "B", "BOT") else
            f"color: {SELL_COLOUR}; font-weight: 600" if side in ("SELL", "S", "SLD") else "")


def pnl_colour(value: object) -> str:
    if isinstance(value, int | float):
        return f"color: {PNL_UP}" if value > 0 else f"color: {PNL_DOWN}" if value < 0 else ""
    return ""


def styled(frame: pd.DataFrame, *, side: str | None = None, pnl: tuple[str, ...] = ()) -> Any:
    """The frame with BUY / SELL and P&L colours, or the frame itself when it is too long to style."""
    if len(frame) > STYLE_MAX_ROWS or (side is None and not pnl):
        return frame
    style = frame.style
    if side is not None and side in frame:
        style = style.map(side_colour, subset=[side])
    present = [c for c in pnl if c in frame]
    if present:
        style = style.map(pnl_colour, subset=present)
    return style


def side_markdown(text: str) -> str:
    """``BUY 10 AAPL ...`` with its side in IBKR's colour (Streamlit markdown)."""
    head, _, rest = text.partition(" ")
    colour = {"BUY": "blue", "SELL": "red"}.get(head.upper())
    return f":{colour}[**{head}**] {rest}" if colour else text
