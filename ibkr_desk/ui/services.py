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
from ibkr.live import LiveFeed, merge_orders
from ibkr.notify import Notifier
from ibkr.order_book import AccountRead, BookReader
from ibkr.orders.submission import Submissions
from ibkr.pacing import held_seconds
from ibkr.portfolio import PortfolioSnapshot, load_portfolio
from ibkr.position_marks import PositionMarks
from ibkr.refresher import Refresher
from ibkr.state import default_state_dir
from ibkr.stream import shared_stream


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


@st.cache_resource(on_release=lambda made: made.stop())
def live() -> LiveFeed:
    """The process's one websocket to the gateway (``ibkr.live``), opened once the gateway is authenticated and
    subscribed to P&L, live orders and trades; every viewer reads it. ``IBKR_STREAM=false`` leaves it closed."""
    manager = gateway()
    # The stream opens with the session token the keeper's last tickle read (this process's, or the gateway
    # service's from its record), never a tickle of its own: beside the keeper's, that got the keeper a 429 and
    # the machine IBKR's penalty (tests/integration/test_service_units.py).
    return LiveFeed(settings(), ready=lambda: manager.state == AuthState.AUTHENTICATED,
                    open_stream=lambda s: shared_stream(s, token=manager.session_token)).start()


GC_SECONDS = 60.0
"""Streamlit's full garbage collection after every script run is off (``ibkr_desk.__main__``: with many viewers it
held the GIL most of the time); the refresher collects once a minute instead, after a new snapshot replaced the
old one, so the old snapshot's frames do not wait for Python's own threshold."""


@st.cache_resource
def refresher() -> Refresher[PortfolioSnapshot]:
    """The one portfolio reader of this process: every viewer shows what it loaded last (see ``ui.loaders``).
    While the stream is live, daily P&L comes from it rather than from REST ``pnl/partitioned``."""
    manager, api, feed = gateway(), client(), live()
    recorder, notify = history(), notifier()
    notify.resume_margin(recorder.last_utilisation())  # a restart does not report a level again

    collected = [time.monotonic()]

    def loaded(snap: PortfolioSnapshot) -> None:  # every good snapshot, on the refresher's thread
        recorder.record(snap)
        notify.snapshot(snap)
        if time.monotonic() - collected[0] >= GC_SECONDS:  # see GC_SECONDS
            collected[0] = time.monotonic()
            gc.collect()

    return Refresher(lambda: load_portfolio(api, streamed_pnl=feed.partitioned), settings().refresh_seconds,
                     name="portfolio-refresher", ready=lambda: manager.state.portfolio_readable, on_result=loaded,
                     held=held_seconds).start()


LIVE_SECONDS = 8.0
"""Seconds at least between the end of one round of live orders and the next (stretched to half a round's
length; IBKR allows 1 call per 5 s)."""
TRADES_SECONDS = 20.0  # the same for trades
STREAMING_SECONDS = 120.0
"""While the stream is live, a round of live orders or trades over REST only this often (and after every
reconnect: ``sor`` sends changes only, so what changed while it was down is read): a check that the stream
still says everything (cpapi.md 5.3: a real gateway once sent no ``sor`` at all)."""


class OrderBook:
    """The live orders and trades of every tradable account, each kept fresh by its own background reader
    (:mod:`ibkr.order_book`). Both pause while IBKR waits for the answer to an order question (IBKR cancels
    that order when other order requests go in: docs/cpapi.md section 3.2)."""

    def __init__(self, api: ClientPortalClient, ready, on_orders=None, feed: LiveFeed | None = None) -> None:
        accounts = api.tradable_account_ids
        self.feed = feed
        self._rounds: dict[str, tuple[int, float]] = {}  # reader -> (stream connects, monotonic time) of its last
        self._asked: set[str] = set()  # readers asked for a round (request()) that have not finished one since

        def finished(key: str, then=None):
            def done(book) -> None:
                self._rounds[key] = self._mark()
                self._asked.discard(key)
                if then is not None:
                    then(book)
            return done

        self.live = BookReader(lambda a: api.live_orders(a), accounts, LIVE_SECONDS,
                               ready=lambda: ready() and self._wanted("live"), name="live-orders-reader",
                               on_result=finished("live", on_orders))
        self.trades = BookReader(lambda a: api.trades(days=7, account_id=a), accounts, TRADES_SECONDS,
                                 ready=lambda: ready() and self._wanted("trades"), name="trades-reader",
                                 on_result=finished("trades"))

    def streamed(self, on_orders) -> None:
        """While the stream is live, ``on_orders`` (the notifier) hears of each ``sor`` change at once, as the
        REST book with the stream's changes over it (the REST reader now reads only now and then)."""
        def heard(_order) -> None:
            streamed, heard_at = self.feed.orders() if self.feed else ({}, {})
            on_orders({a: AccountRead(merge_orders(r.items, streamed, heard_at,
                                                   r.as_of.timestamp() if r.as_of else None, [a]), r.as_of, r.error)
                       for a, r in self.live.book().items()})
        if self.feed is not None:
            self.feed.on_orders(heard)

    def _mark(self) -> tuple[int, float]:
        return (self.feed.health().connects if self.feed else 0), time.monotonic()

    def _wanted(self, key: str) -> bool:
        """Whether the REST reader should read now: always while the stream is not live; while it is, when asked
        (:meth:`request`), once after every (re)connect and then every :data:`STREAMING_SECONDS`."""
        if self.feed is None or not self.feed.live or key in self._asked:
            return True
        last = self._rounds.get(key)
        connects, now = self._mark()
        return last is None or last[0] != connects or now - last[1] >= STREAMING_SECONDS

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
        account again, as soon as pacing allows (while the stream is live too: a check that it said it)."""
        self._asked.update(("live", "trades"))
        self.live.request(account)
        self.trades.request(account)


@st.cache_resource
def order_book() -> OrderBook:
    """The one reader of live orders and trades of this process: every viewer shows what it read last."""
    manager, api, register, notify = gateway(), client(), submissions(), notifier()
    book = OrderBook(api, ready=lambda: manager.state == AuthState.AUTHENTICATED
                     and register.awaiting_answers() is None, on_orders=notify.orders, feed=live())
    book.streamed(notify.orders)
    return book.start()


@st.cache_resource(on_release=lambda made: made.stop(timeout=0))
def position_marks() -> PositionMarks:
    """The one reader of every position's price and daily P&L (``ibkr.position_marks``): the largest
    ``IBKR_STREAM_MD_LINES`` stream, the rest are read by snapshot in the background; every viewer reads it."""
    manager, api, feed, portfolio, s = gateway(), client(), live(), refresher(), settings()

    def positions():
        snap = portfolio.status().value
        return snap.positions if snap else []

    return PositionMarks(api, positions, stream=lambda: feed.stream, live=lambda: feed.live,
                         ready=lambda: manager.state == AuthState.AUTHENTICATED, lines=s.stream_md_lines,
                         per_second=s.snapshot_per_second, cycle_seconds=s.refresh_seconds).start()


def start_background() -> None:
    """What a served dashboard runs from the moment it starts, with no page open (``ibkr_desk.serve``): the gateway
    and its keep-alive, the stream, the portfolio refresher (the history, the margin notifications), the
    live-orders reader (the fill and rejection notifications) and the positions' marks. A hosted instance that came up at boot records and notifies before
    anyone opens it, and its first viewer finds the data loaded. Pages get the same objects."""
    live()
    refresher()
    order_book()
    position_marks()

