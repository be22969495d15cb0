"""Cached loaders: one portfolio read shared by every viewer, refreshed every ``refresh_seconds`` in the
background; analytics frames cached by the snapshot's as-of time.

At 5,000 positions per account a portfolio read is ~150 paced requests (~20 s), so nobody waits for a scheduled
refresh: once the snapshot is ``refresh_seconds`` old the next run still gets it at once and a new one loads in the
background (``refresh_mode="background"``); each viewer's freshness fragment (:func:`poll`) redraws the page when
it has arrived. Only the very first load, "Refresh now", and a snapshot older than twice the interval are waited
for. The snapshot lives in ``st.cache_resource`` (shared, not copied: unpickling 15,000 position models cost ~1 s
per rerun under ``st.cache_data``); it is immutable.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd
import streamlit as st

from ibkr import analytics
from ibkr.errors import IbkrError
from ibkr.gateway import AuthState
from ibkr.portfolio import PortfolioSnapshot, load_portfolio
from ibkr_desk.ui import services

_LOADERS: dict[float, Callable[[], PortfolioSnapshot]] = {}


def refresh_seconds() -> float:
    """How long a snapshot is served before it is loaded again (``IBKR_REFRESH_SECONDS``)."""
    return services.settings().refresh_seconds


def poll_seconds() -> float:
    """How often a page looks for a newer snapshot (no gateway request)."""
    return min(5.0, refresh_seconds())


def _load() -> PortfolioSnapshot:
    snap = load_portfolio(services.client())
    services.last_good()["snapshot"] = snap  # also when loaded in the background, for poll()
    return snap


def _loader() -> Callable[[], PortfolioSnapshot]:
    """The shared snapshot's cache (``st.cache_resource``: one object for every viewer), made on first use with the
    settings' refresh interval as its ttl, so nothing reads the settings when the module is imported."""
    ttl = refresh_seconds()
    loader = _LOADERS.get(ttl)
    if loader is None:
        loader = _LOADERS[ttl] = st.cache_resource(
            ttl=ttl, max_entries=1, refresh_mode="background",
            show_spinner="Loading positions and balances from the gateway...")(_load)
    return loader


def _snapshot() -> PortfolioSnapshot:
    return _loader()()


@dataclass
class Loaded:
    snapshot: PortfolioSnapshot | None
    error: str | None
    stale: bool
    waiting: bool = False  # the gateway is not ready (the prompt says what to do); nothing was asked of it


def _failing() -> tuple[float, str] | None:
    """The last failed load (monotonic time, reason) while it waits out one refresh interval."""
    failed = services.last_good().get("failure")
    return failed if failed and time.monotonic() - failed[0] < refresh_seconds() else None


def snapshot() -> Loaded:
    """The portfolio, or the last good one with the reason it could not be refreshed.

    A failed load is remembered (for every viewer) until the next refresh is due or someone presses "Refresh
    now": reruns in between show the last good data at once instead of waiting on the gateway's retries again.
    """
    store = services.last_good()
    state = services.gateway().state
    if state != AuthState.AUTHENTICATED:
        return Loaded(store.get("snapshot"), f"The gateway is not ready ({state.value.replace('_', ' ')}).",
                      stale=True, waiting=True)
    failed = _failing()
    if failed:
        return Loaded(store.get("snapshot"), failed[1], stale=True)
    try:
        snap = _snapshot()
    except IbkrError as exc:
        store["failure"] = (time.monotonic(), exc.message)
        return Loaded(store.get("snapshot"), exc.message, stale=True)
    store.pop("failure", None)
    store["snapshot"] = snap
    return Loaded(snap, None, stale=False)


def refresh() -> None:
    """Load again on the next run (the "Refresh now" button), also right after a failure."""
    services.last_good().pop("failure", None)
    _loader().clear()  # type: ignore[attr-defined]


def age_seconds(snap: PortfolioSnapshot) -> float:
    return (dt.datetime.now(dt.UTC) - snap.as_of).total_seconds()


def poll(loaded: Loaded) -> bool:
    """For a page's freshness timer, without waiting on the gateway: True when a full rerun would show newer data
    (a background load finished) or must load it itself (the shown snapshot is about to expire for good). When the
    shown snapshot is due, this starts its background refresh."""
    if services.gateway().state != AuthState.AUTHENTICATED:
        return False
    latest, shown = services.last_good().get("snapshot"), loaded.snapshot
    if latest is not None and (shown is None or latest.as_of > shown.as_of):
        return True
    if shown is None or _failing():
        return False
    age, interval = age_seconds(shown), refresh_seconds()
    if age >= 2 * interval - poll_seconds():
        return True
    if age >= interval:
        try:
            _snapshot()  # the cached one comes back at once; a fresh one starts loading in the background
        except IbkrError:
            return True  # it had expired after all: the full run shows why
    return False


@st.cache_data(max_entries=8, show_spinner=False)
def frames(as_of: str, account_key: tuple[str, ...], report_currency: str, _snap: PortfolioSnapshot) -> dict:
    """Analytics for the chosen accounts, keyed by the snapshot's as-of time (the snapshot itself is not hashed)."""
    snap = _snap.only(list(account_key))
    base = snap.base_currency
    warning, danger = services.settings().margin_thresholds
    positions = analytics.positions_frame(snap.positions, snap.ledgers, base, as_of=snap.as_of,
                                          report_currency=report_currency)
    frames = {
        "positions": positions,
        "totals": analytics.account_totals(positions, snap.ledgers, base, pnl=snap.pnl, summaries=snap.summaries,
                                           report_currency=report_currency),
        "margin": analytics.margin_table(snap.summaries, snap.ledgers, base, report_currency,
                                         warning=warning, danger=danger),
        "exposure": analytics.fx_exposure(positions, snap.ledgers, base, report_currency),
        "exposure_by_class": analytics.fx_exposure_by_asset_class(positions, snap.ledgers, base, report_currency),
    }
    positions.attrs.clear()  # its Timestamp would only make st.dataframe warn; the as_of column stays
    return frames


def positions_csv(shown: pd.DataFrame) -> Callable[[], bytes]:
    """The CSV download of the shown positions (native and base columns, FX rate, as-of), built only when the
    button is clicked (15,000 rows take ~0.5 s to write)."""
    def build() -> bytes:
        export = shown.copy()
        export["as_of"] = export["as_of"].astype(str)
        return export.to_csv(index=False).encode()

    return build
