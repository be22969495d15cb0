"""The per-run context every page reads: the snapshot, the chosen accounts, the report currency, the masks."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import streamlit as st

from ibkr.analytics import TOTAL_LABEL
from ibkr.errors import IbkrError
from ibkr.portfolio import PortfolioSnapshot
from ibkr_desk import auth
from ibkr_desk.ui import chrome, fmt, loaders, services, state
from ibkr_desk.ui import live as ui_live

_KEY = "_page_context"


@dataclass
class Context:
    loaded: loaders.Loaded
    account_ids: list[str]
    _drawn: PortfolioSnapshot | None = None  # the snapshot once data_or_stop said what it had to

    @property
    def masked(self) -> bool:
        return bool(st.session_state.get(state.PRIVACY, False))

    @property
    def report_ccy(self) -> str:
        return st.session_state.get(state.REPORT_CCY) or "USD"

    def snapshot(self) -> PortfolioSnapshot:
        """The snapshot to draw (its warnings are drawn once a run: a live fragment asks again quietly)."""
        if self._drawn is None:
            self._drawn = chrome.data_or_stop(self.loaded)
        return self._drawn

    def frames(self, *, live: bool = False, marks: bool = False) -> dict:
        """The analytics frames of the snapshot; ``live``: with the stream's P&L rows over totals and margin
        (while it is live); ``marks``: with each position's latest price and daily P&L (``ui.live``)."""
        snap = self.snapshot()
        as_of, key = snap.as_of.isoformat(), tuple(self.account_ids)
        frames = loaders.frames(as_of, key, self.report_ccy, snap)
        if live:
            frames = ui_live.pnl_frames(frames, as_of, key, self.report_ccy)
        if marks:
            frames = {**frames, "positions": ui_live.marked_positions(frames["positions"], as_of, key,
                                                                      self.report_ccy)}
        if not auth.masks_accounts():
            return frames
        masked = {}  # the cached frames stay whole: a copy whose account column is masked
        for name, frame in frames.items():
            if "account" in getattr(frame, "columns", ()):
                frame = frame.copy()
                frame["account"] = frame["account"].map(lambda a: fmt.account(a, a != TOTAL_LABEL))
            masked[name] = frame
        return masked


def boot() -> Context:
    """Called by app.py on every run: services, sidebar, gateway prompt."""
    try:
        services.gateway()  # starts the gateway and its keep-alive on first use (not cached when it fails)
    except IbkrError as exc:  # a held port, a missing certificate, no Java: say it, never a traceback
        st.error(f"The gateway could not be started: {exc.message} Reload the page once it is fixed.",
                 icon=":material/power_off:")
        st.stop()
    loaded = loaders.snapshot()
    ids = chrome.sidebar(loaded)
    chrome.trading_banner(loaded)
    chrome.gateway_prompt()
    toast_notifications()
    ctx = Context(loaded, ids)
    st.session_state[_KEY] = ctx
    return ctx


_NOTIFIED = "_notifications_seen"
TOAST_MINUTES = 10
"""A session's first run toasts the notifications of the last minutes; later runs those recorded since."""


def toast_notifications() -> None:
    """A toast for each notification (``ibkr.notify``) this session has not seen yet."""
    notifier = services.notifier()
    seen = st.session_state.get(_NOTIFIED)
    since = None if seen is not None else dt.datetime.now(dt.UTC) - dt.timedelta(minutes=TOAST_MINUTES)
    fresh = notifier.recent(seen or 0, since=since)
    for note in fresh:
        st.toast(note.text, icon=TOAST_ICONS.get(note.kind, ":material/notifications:"))
    st.session_state[_NOTIFIED] = fresh[-1].id if fresh else (seen if seen is not None else notifier.last_id())


TOAST_ICONS = {"gateway": ":material/person_alert:", "margin": ":material/warning:", "order": ":material/receipt:"}


def context() -> Context:
    """The context boot() made for this run (boot() itself when a page runs without app.py)."""
    ctx = st.session_state.get(_KEY)
    return ctx if ctx is not None else boot()
