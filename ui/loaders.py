"""Cached loaders: one portfolio read shared by every viewer for ``refresh_seconds``; analytics frames cached
by the snapshot's as-of time."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import streamlit as st

from ibkr import analytics
from ibkr.errors import IbkrError
from ibkr.gateway import AuthState
from ibkr.portfolio import PortfolioSnapshot, load_portfolio
from ui import services

REFRESH_SECONDS = services.settings().refresh_seconds


@st.cache_data(ttl=REFRESH_SECONDS, show_spinner="Loading positions and balances from the gateway...",
               max_entries=2)
def _snapshot() -> PortfolioSnapshot:
    return load_portfolio(services.client())


@dataclass
class Loaded:
    snapshot: PortfolioSnapshot | None
    error: str | None
    stale: bool


def snapshot() -> Loaded:
    """The portfolio, or the last good one with the reason it could not be refreshed."""
    store = services.last_good()
    state = services.gateway().state
    if state != AuthState.AUTHENTICATED:
        return Loaded(store.get("snapshot"), f"The gateway is not ready ({state.value.replace('_', ' ')}).",
                      stale=True)
    try:
        snap = _snapshot()
    except IbkrError as exc:
        return Loaded(store.get("snapshot"), exc.message, stale=True)
    store["snapshot"] = snap
    return Loaded(snap, None, stale=False)


def refresh() -> None:
    _snapshot.clear()


@st.cache_data(max_entries=8, show_spinner=False)
def frames(as_of: str, account_key: tuple[str, ...], report_currency: str, _snap: PortfolioSnapshot) -> dict:
    """Analytics for the chosen accounts, keyed by the snapshot's as-of time (the snapshot itself is not hashed)."""
    snap = _snap.only(list(account_key))
    base = snap.base_currency
    positions = analytics.positions_frame(snap.positions, snap.ledgers, base, as_of=snap.as_of,
                                          report_currency=report_currency)
    return {
        "positions": positions,
        "totals": analytics.account_totals(positions, snap.ledgers, base, pnl=snap.pnl, summaries=snap.summaries,
                                           report_currency=report_currency),
        "margin": analytics.margin_table(snap.summaries, snap.ledgers, base, report_currency,
                                         warning=services.settings().margin_warning_pct / 100,
                                         danger=services.settings().margin_danger_pct / 100),
        "exposure": analytics.fx_exposure(positions, snap.ledgers, base, report_currency),
        "exposure_by_class": analytics.fx_exposure_by_asset_class(positions, snap.ledgers, base, report_currency),
    }


def empty_frame() -> pd.DataFrame:
    return pd.DataFrame()
