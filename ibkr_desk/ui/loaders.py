"""The portfolio as every page reads it: one background refresher per process (``ibkr.refresher``), shared by
every viewer; analytics frames cached by the snapshot's as-of time.

No page ever loads the portfolio in its own run: at 5,000 positions per account a read is ~150 paced requests
(~20 s), and a Streamlit run blocked on it also holds back the button callbacks of that session (a Submit waited
30 s behind a reload). Pages take the refresher's last good snapshot at once; each viewer's freshness fragment
(:func:`poll`) redraws the page when a newer one has arrived. Only a page's very first run in a new process waits
(up to :data:`FIRST_WAIT` seconds) for the first load, so the first page shows data rather than "loading".
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd
import streamlit as st

from ibkr import analytics
from ibkr.gateway import AuthState
from ibkr.portfolio import PortfolioSnapshot
from ibkr_desk.ui import services

FIRST_WAIT = 90.0
"""Seconds a run waits for the process's first snapshot before it shows "loading" instead."""


def refresh_seconds() -> float:
    """How long a snapshot is served before it is loaded again: ``IBKR_REFRESH_SECONDS``, stretched by the
    refresher when a read takes longer than a third of it."""
    return services.refresher().status().interval


MIN_POLL = 1.0
"""Seconds at least between two looks of a page's freshness timer. The settings accept any positive refresh, and
every open page runs its own timer: at ``IBKR_REFRESH_SECONDS=0.1`` one viewer kept the Streamlit process at
~85 % of a core (25 % at 1 s) for no fresher data, since the refresher reads at most every 3x a read's duration."""


def poll_seconds() -> float:
    """How often a page looks for a newer snapshot (no gateway request): the refresh, from 1 s to 5 s."""
    return min(5.0, max(MIN_POLL, services.settings().refresh_seconds))


@dataclass
class Loaded:
    snapshot: PortfolioSnapshot | None
    error: str | None
    stale: bool
    waiting: bool = False  # the gateway is not ready (the prompt says what to do); nothing was asked of it
    loading: bool = False  # a load is under way (the first one, or "Refresh now")
    generation: int = 0  # the refresher's load count when this was read
    read_only: str | None = None  # why only IBKR's read-only view is shown (no brokerage session here)
    live: bool = False  # the stream was live when this was read: the page drew its live parts (``ui.live``)


READ_ONLY = {
    AuthState.COMPETING: "Read-only view: another platform (TWS, IBKR Mobile or a second Client Portal login) holds "
                         "the brokerage session. Positions, balances, ledger and margin are IBKR's read-only "
                         "portfolio data and keep refreshing; daily P&L, live orders and trading need the brokerage "
                         "session here: take over only if you mean to end the other session.",
    AuthState.NOT_CONNECTED: "Read-only view: the brokerage session is not open yet. Positions, balances, ledger "
                             "and margin are IBKR's read-only portfolio data; daily P&L, live orders and trading "
                             "wait for the brokerage session.",
}


def snapshot() -> Loaded:
    """The portfolio, or the last good one with the reason it could not be refreshed. Never loads."""
    refresher = services.refresher()
    status = refresher.status()
    state = services.gateway().state
    if not state.portfolio_readable:
        return Loaded(status.value, f"The gateway is not ready ({state.value.replace('_', ' ')}).",
                      stale=True, waiting=True, generation=status.generation, live=services.live().live)
    if status.generation == 0 and refresher.wait(0, FIRST_WAIT):
        status = refresher.status()
    snap = status.value
    stale = status.error is not None or (snap is not None and age_seconds(snap) > 2 * status.interval)
    return Loaded(snap, status.error, stale=stale, loading=status.loading_since is not None,
                  generation=status.generation, read_only=READ_ONLY.get(state), live=services.live().live)


def refresh() -> None:
    """Ask the refresher for a load now (the "Refresh now" button); the page redraws when it finished."""
    services.refresher().request()


def age_seconds(snap: PortfolioSnapshot) -> float:
    return (dt.datetime.now(dt.UTC) - snap.as_of).total_seconds()


def poll(loaded: Loaded) -> bool:
    """For a page's freshness timer, without asking the gateway: True when a full rerun would show something
    newer (a load finished, good or failed, since the page was drawn, the gateway became ready, or the stream
    went live or down: the page draws its live parts, or says the REST refresh took over)."""
    if services.live().live != loaded.live:
        return True
    if not services.gateway().state.portfolio_readable:
        return False
    return loaded.waiting or services.refresher().status().generation != loaded.generation


@st.cache_data(max_entries=8, show_spinner=False)
def frames(as_of: str, account_key: tuple[str, ...], report_currency: str, _snap: PortfolioSnapshot) -> dict:
    """Analytics for the chosen accounts, keyed by the snapshot's as-of time (the snapshot itself is not hashed)."""
    warning, danger = services.settings().margin_thresholds
    frames = analytics.snapshot_frames(_snap.only(list(account_key)), report_currency, warning=warning, danger=danger)
    frames["positions"].attrs.clear()  # its Timestamp would only make st.dataframe warn; the as_of column stays
    return frames


def positions_csv(shown: pd.DataFrame) -> Callable[[], bytes]:
    """The CSV download of the shown positions (native and base columns, FX rate, as-of), built only when the
    button is clicked (15,000 rows take ~0.5 s to write)."""
    def build() -> bytes:
        export = shown.copy()
        export["as_of"] = export["as_of"].astype(str)
        return export.to_csv(index=False).encode()

    return build
