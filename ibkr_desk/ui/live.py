"""The live parts of the pages: the "Live / Delayed" indicator, how often a live fragment redraws, and the
stream's figures laid over the snapshot's (``ibkr.analytics.live``), computed once per change for every viewer.

While the stream is live, each page's live figures sit in a fragment that redraws itself every
:data:`LIVE_SECONDS` (never the whole page); the frames it draws are cached by the stream's version, so a
second viewer, or a redraw with nothing new, costs a cache look-up. While it is down the fragments do not run on
a timer: the page is redrawn when the REST refresher brings a new snapshot, as before, and says so.
"""

from __future__ import annotations

import threading
import time

import numpy as np
import pandas as pd
import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from ibkr.analytics.live import overlay_marks, overlay_pnl
from ibkr_desk.ui import fmt, loaders, services

LIVE_SECONDS = 0.5
"""How often a live fragment redraws while the stream is live (a change shows within about this plus the redraw).
At 1 s a fill reached the open Orders page after 2.8 s in one of four runs on 2 cores (issue: within 2 s); these
fragments are small (a few figures, the day's orders), the long positions table has its own pace."""
LIVE_TABLE_SECONDS = 2.0
"""The same for the positions table, whose redraw costs more: at least this, and a second per
:data:`ROWS_PER_SECOND` rows shown (see :func:`table_seconds`)."""
ROWS_PER_SECOND = 1000
"""Each viewer's table redraw serialises every shown row and its browser lays them out again: at 15,000 rows every
2 s, a few viewers on the Positions page kept the process busy. 15,000 rows redraw every 15 s; only the largest
positions stream their prices anyway (``IBKR_STREAM_MD_LINES``), the rest are read in batches over minutes."""


VIEWERS_AT_FULL_PACE = 5
"""Up to this many viewers the live fragments redraw at the paces above; beyond it every pace stretches in
proportion (10 viewers: 1 s, 20: 2 s). Each viewer's fragments run on their own timers whether or not anything
changed, and one process draws them all: at 20 viewers redrawing every 0.5 s the process and the browsers of a
2-core machine were saturated and sessions lost their websocket (bench/load.py)."""
VIEWER_SECONDS = 30.0
"""A viewer counts while one of its script runs was seen this recently (:func:`seen`)."""
_viewers: dict[str, float] = {}
_viewers_lock = threading.Lock()


def seen() -> None:
    """Count the session of the running script as a viewer (the sidebar's freshness fragment calls it on every
    run, so every open page counts)."""
    ctx = get_script_run_ctx()
    if ctx is None:
        return
    now = time.monotonic()
    with _viewers_lock:
        _viewers[ctx.session_id] = now
        for session, at in list(_viewers.items()):
            if now - at > VIEWER_SECONDS:
                del _viewers[session]


def viewers() -> int:
    """How many sessions ran a script within :data:`VIEWER_SECONDS` (at least one: the one asking)."""
    now = time.monotonic()
    with _viewers_lock:
        return max(1, sum(1 for at in _viewers.values() if now - at <= VIEWER_SECONDS))


def paced(seconds: float) -> float:
    """``seconds`` stretched for the number of viewers (:data:`VIEWERS_AT_FULL_PACE`)."""
    return seconds * max(1.0, viewers() / VIEWERS_AT_FULL_PACE)


def table_seconds(rows: int) -> float:
    """How often the positions table of ``rows`` rows redraws while the stream is live."""
    return max(LIVE_TABLE_SECONDS, rows / ROWS_PER_SECOND)

LIVE_BADGE = ":green-badge[:material/bolt: Live]"
DELAYED_BADGE = ":orange-badge[:material/schedule: Delayed · REST every {seconds:.0f} s]"


def every(loaded: loaders.Loaded, seconds: float = LIVE_SECONDS) -> float | None:
    """A live fragment's ``run_every``: ``seconds`` (:func:`paced` for the viewers) while the stream was live
    when the page was drawn, else none (the page's freshness timer redraws it with each new snapshot)."""
    return paced(seconds) if loaded.live else None


def indicator() -> None:
    """"Live" while the stream is healthy; "Delayed · REST every N s" and why, when it is not."""
    seen()
    feed = services.live()
    if feed.live:
        st.markdown(LIVE_BADGE, help="P&L, net liquidation, excess liquidity, live orders, trades and the largest "
                                     "positions' prices stream from the gateway's websocket as they change.")
        return
    st.markdown(DELAYED_BADGE.format(seconds=loaders.refresh_seconds()),
                help="The gateway's websocket is not streaming: every figure is read over REST by the background "
                     "refresher and the page redraws when a new read arrives.")
    st.caption(f"Stream {feed.health().state.value}: {fmt.escape(feed.health().reason)}")


def pnl_frames(frames: dict, as_of: str, account_key: tuple[str, ...], report_ccy: str) -> dict:
    """``frames`` with the stream's P&L rows over ``totals`` and ``margin`` while the stream is live."""
    feed = services.live()
    if not feed.live:
        return frames
    totals, margin = _overlaid_pnl(as_of, account_key, report_ccy, feed.version("spl"), frames["totals"],
                                   frames["margin"])
    return {**frames, "totals": totals, "margin": margin}


@st.cache_data(max_entries=16, show_spinner=False)
def _overlaid_pnl(as_of: str, account_key: tuple[str, ...], report_ccy: str, version: int, _totals: pd.DataFrame,
                  _margin: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    warning, danger = services.settings().margin_thresholds
    rows = {a: r for a, r in services.live().pnl_rows().items() if a in account_key}
    return overlay_pnl(_totals, _margin, rows, warning=warning, danger=danger)


def marked_positions(positions: pd.DataFrame, as_of: str, account_key: tuple[str, ...], report_ccy: str) -> pd.DataFrame:
    """The positions frame with each conid's latest price and daily P&L (``services.position_marks``)."""
    marks = services.position_marks()
    return _overlaid_marks(as_of, account_key, report_ccy, marks.version, positions)


@st.cache_data(max_entries=4, show_spinner=False)
def _overlaid_marks(as_of: str, account_key: tuple[str, ...], report_ccy: str, version: int,
                    _positions: pd.DataFrame) -> pd.DataFrame:
    return overlay_marks(_positions, services.position_marks().marks())


def ages(at: pd.Series) -> pd.Series:
    """How old each time is, for a table: ``"4 s"``, ``"3 min"``, ``"2 h"``; ``"—"`` where never read."""
    seconds = (pd.Timestamp.now(tz="UTC") - at).dt.total_seconds()
    text = np.select([seconds.isna(), seconds < 90, seconds < 5400],
                     ["—", seconds.round().astype("Int64").astype(str) + " s",
                      (seconds / 60).round().astype("Int64").astype(str) + " min"],
                     (seconds / 3600).round().astype("Int64").astype(str) + " h")
    return pd.Series(text, index=at.index, dtype=object)
