"""The process-wide services, booted once with ``st.cache_resource``: settings, gateway manager, API client."""

from __future__ import annotations

import gc
import threading
import time
from collections import deque

import streamlit as st

from ibkr import ClientPortalClient, Settings
from ibkr.audit import AuditLog
from ibkr.gateway import AuthState, GatewayManager, Prompt
from ibkr.history import History
from ibkr.notify import Notifier
from ibkr.order_book import BookReader
from ibkr.orders.submission import Submissions
from ibkr.pacing import held_seconds
from ibkr.portfolio import PortfolioSnapshot, load_portfolio
from ibkr.refresher import Refresher
from ibkr.state import default_state_dir


@st.cache_resource
def settings() -> Settings:
    return Settings()


class PromptInbox:
    """Prompts from the manager's thread, kept for the pages (the thread never calls ``st.*``)."""

    def __init__(self, size: int = 20) -> None:
        self._items: deque[Prompt] = deque(maxlen=size)
        self._lock = threading.Lock()

    def push(self, prompt: Prompt) -> None:
        with self._lock:
            self._items.append(prompt)

    def recent(self) -> list[Prompt]:
        with self._lock:
            return list(self._items)


@st.cache_resource
def prompt_inbox() -> PromptInbox:
    return PromptInbox()


@st.cache_resource(on_release=lambda made: made.stop(timeout=0))
def notifier() -> Notifier:
    """Webhook and toasts when the gateway needs a person, margin crosses a threshold, an order fills or is
    rejected (``IBKR_NOTIFY_*``); every notification is recorded in the desk's database."""
    s = settings()
    warning, danger = s.margin_thresholds
    return Notifier(s.database_file, s.notify_webhook_url, per_hour=s.notify_per_hour, details=s.notify_details,
                    warning=warning, danger=danger)


@st.cache_resource
def gateway() -> GatewayManager:
    """The one gateway manager of this process: opening the page starts the gateway and its keep-alive."""
    manager = GatewayManager(settings())
    manager.on_prompt(prompt_inbox().push)
    notifier().watch(manager)
    manager.start()
    return manager


@st.cache_resource
def audit() -> AuditLog:
    """The audit trail of this dashboard (in the desk's database, ``IBKR_DATABASE_PATH``); the notifier hears of
    orders IBKR rejected from it."""
    log = AuditLog(settings().database_file)
    log.on_record(notifier().audited)
    return log


@st.cache_resource
def submissions() -> Submissions:
    """Every order submission of this process: a reload or a second tab sees the ones still open, and a restart
    the ones that were open when the process stopped (kept in ``<state dir>/submissions.json``). Each step of
    each goes to the audit log."""
    return Submissions(path=default_state_dir() / "submissions.json", key=settings().gateway_url, audit=audit())


@st.cache_resource
def client() -> ClientPortalClient:
    return ClientPortalClient(settings())


@st.cache_resource
def history() -> History:
    """Each account's figures every ``IBKR_HISTORY_MINUTES``, in the desk's database (the Overview's trend)."""
    warning, danger = settings().margin_thresholds
    return History(settings().database_file, settings().history_minutes, warning=warning, danger=danger)


GC_SECONDS = 60.0
"""Streamlit's full garbage collection after every script run is off (``ibkr_desk.__main__``: with many viewers it
held the GIL most of the time); the refresher collects once a minute instead, after a new snapshot replaced the
old one, so the old snapshot's frames do not wait for Python's own threshold."""


@st.cache_resource
def refresher() -> Refresher[PortfolioSnapshot]:
    """The one portfolio reader of this process: every viewer shows what it loaded last (see ``ui.loaders``)."""
    manager, api = gateway(), client()
    recorder, notify = history(), notifier()
    notify.resume_margin(recorder.last_utilisation())  # a restart does not report a level again

    collected = [time.monotonic()]

    def loaded(snap: PortfolioSnapshot) -> None:  # every good snapshot, on the refresher's thread
        recorder.record(snap)
        notify.snapshot(snap)
        if time.monotonic() - collected[0] >= GC_SECONDS:  # see GC_SECONDS
            collected[0] = time.monotonic()
            gc.collect()

    return Refresher(lambda: load_portfolio(api), settings().refresh_seconds, name="portfolio-refresher",
                     ready=lambda: manager.state.portfolio_readable, on_result=loaded, held=held_seconds).start()


LIVE_SECONDS = 8.0
"""Seconds at least between the end of one round of live orders and the next (stretched to half a round's
length; IBKR allows 1 call per 5 s)."""
TRADES_SECONDS = 20.0  # the same for trades


class OrderBook:
    """The live orders and trades of every tradable account, each kept fresh by its own background reader
    (:mod:`ibkr.order_book`). Both pause while IBKR waits for the answer to an order question (IBKR cancels
    that order when other order requests go in: docs/cpapi.md section 3.2)."""

    def __init__(self, api: ClientPortalClient, ready, on_orders=None) -> None:
        accounts = api.tradable_account_ids
        self.live = BookReader(lambda a: api.live_orders(a), accounts, LIVE_SECONDS, ready=ready,
                               name="live-orders-reader", on_result=on_orders)
        self.trades = BookReader(lambda a: api.trades(days=7, account_id=a), accounts, TRADES_SECONDS,
                                 ready=ready, name="trades-reader")

    def start(self) -> OrderBook:
        self.live.start()
        self.trades.start()
        return self

    def stop(self) -> None:
        self.live.stop(timeout=0)  # both told at once; each ends before its next account's read
        self.trades.stop()
        self.live.stop()

    def request(self, account: str | None = None) -> None:
        """Read ``account`` next, out of turn (after an order of it was sent, modified or cancelled), or every
        account again, as soon as pacing allows."""
        self.live.request(account)
        self.trades.request(account)


@st.cache_resource
def order_book() -> OrderBook:
    """The one reader of live orders and trades of this process: every viewer shows what it read last."""
    manager, api, register = gateway(), client(), submissions()
    return OrderBook(api, ready=lambda: manager.state == AuthState.AUTHENTICATED
                     and register.awaiting_answers() is None, on_orders=notifier().orders).start()


def start_background() -> None:
    """What a served dashboard runs from the moment it starts, with no page open (``ibkr_desk.serve``): the gateway
    and its keep-alive, the portfolio refresher (the history, the margin notifications) and the live-orders reader
    (the fill and rejection notifications). A hosted instance that came up at boot records and notifies before
    anyone opens it, and its first viewer finds the data loaded. Pages get the same objects."""
    refresher()
    order_book()

