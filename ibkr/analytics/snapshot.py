"""Every figure the dashboard draws from one :class:`~ibkr.portfolio.PortfolioSnapshot`, computed together: the
positions frame, the account totals, the margin table and the FX exposure (total and by asset class). The pages
(``ibkr_desk.ui.loaders.frames``) and the analytics benchmark (``bench/analytics.py``) both call this."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from ibkr.analytics.definitions import DEFAULT_DANGER, DEFAULT_WARNING
from ibkr.analytics.exposure import fx_exposure, fx_exposure_by_asset_class
from ibkr.analytics.margin import margin_table
from ibkr.analytics.positions import positions_frame
from ibkr.analytics.totals import account_totals

if TYPE_CHECKING:
    from ibkr.portfolio import PortfolioSnapshot


def snapshot_frames(snap: PortfolioSnapshot, report_currency: str | None = None, *,
                    warning: float = DEFAULT_WARNING, danger: float = DEFAULT_DANGER) -> dict[str, pd.DataFrame]:
    """``positions``, ``totals``, ``margin``, ``exposure`` and ``exposure_by_class`` of ``snap``, in
    ``report_currency`` (default: the first account's base currency)."""
    base = snap.base_currency
    positions = positions_frame(snap.positions, snap.ledgers, base, as_of=snap.as_of, report_currency=report_currency)
    return {
        "positions": positions,
        "totals": account_totals(positions, snap.ledgers, base, pnl=snap.pnl, summaries=snap.summaries,
                                 report_currency=report_currency),
        "margin": margin_table(snap.summaries, snap.ledgers, base, report_currency, warning=warning, danger=danger),
        "exposure": fx_exposure(positions, snap.ledgers, base, report_currency),
        "exposure_by_class": fx_exposure_by_asset_class(positions, snap.ledgers, base, report_currency),
    }
