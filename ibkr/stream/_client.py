"""``StreamClient``: one websocket to a gateway, on its own thread, kept up for as long as it is wanted.

Why websockets' threaded client (``websockets.sync.client``): the library is thread-based (the gateway keeper,
the refresher, the order readers are threads; the dashboard's Streamlit runs its own event loop), and websockets
is the maintained reference implementation of the protocol, already the simulator's server, with per-call
timeouts on ``recv`` that let one thread also keep time for the keep-alive, the renewals and the watchdog.

The loop: read the session token with ``POST /tickle`` (the library's client: its TLS settings, its pacing) ->
open ``wss://<gateway>/v1/api/ws`` with the cookie ``api=<token>`` and the same TLS trust -> on IBKR's
``system``/``success`` the stream is live: every kept subscription is sent again -> ``tic`` every
``tic_seconds``, ``smd`` renewed every ``renew_seconds`` (IBKR ends it after 10 minutes) -> when the socket
closes, no message came for ``stale_seconds`` (heartbeats come every 10 s), or the gateway answers "waiting for
session" (a renewed session), the stream is down with the reason, and it tries again after a backoff (doubling,
with jitter, up to ``backoff_max``), reading the token again.
"""

from __future__ import annotations

import json
import logging
import random
import ssl
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI
from websockets.sync.client import ClientConnection, connect

from ibkr._worker import Worker
from ibkr.config import Settings
from ibkr.errors import IbkrError, NotAuthenticated
from ibkr.models import Order, PnlRow, Trade
from ibkr.stream._book import StreamBook, StreamHealth, StreamState

log = logging.getLogger(__name__)
_wire = logging.getLogger("ibkr.stream.wire")
_wire.setLevel(logging.INFO)  # websockets logs handshake headers at DEBUG: the session cookie stays out of logs


class _Refused(Exception):
    """The gateway did not take the session (``waiting for session``, or closed before ``system``)."""


def ssl_context(verify: bool | Path) -> ssl.SSLContext:
    """The trust the REST transport uses (``Settings.tls_verify``): a pinned certificate or CA bundle, the
    system's CAs, or none."""
    if isinstance(verify, Path):
        return ssl.create_default_context(cafile=str(verify))
    context = ssl.create_default_context()
    if not verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def tickle_token(settings: Settings) -> Callable[[], str]:
    """The session token source: ``POST /tickle`` through the library's client (its transport, TLS, pacing)."""
    from ibkr.client import ClientPortalClient

    client = ClientPortalClient(settings)

    def token() -> str:
        session = client.tickle().session
        if not session:
            raise NotAuthenticated("the gateway has no session; log in at the gateway page", endpoint="/tickle")
        return session

    return token


class StreamClient:
    """The websocket to one gateway. ``start()`` and ``close()`` are idempotent; see :mod:`ibkr.stream`."""

    def __init__(self, settings: Settings, *, token: Callable[[], str] | None = None, tic_seconds: float = 30.0,
                 renew_seconds: float = 540.0, stale_seconds: float = 35.0, backoff_base: float = 0.5,
                 backoff_max: float = 30.0, open_timeout: float = 10.0) -> None:
        self.settings = settings
        self.url = settings.gateway_url.rstrip("/").replace("https://", "wss://", 1).replace("http://", "ws://", 1)
        self.url += "/v1/api/ws"
        self.book = StreamBook()
        self._token = token or tickle_token(settings)
        self._ssl = ssl_context(settings.tls_verify) if self.url.startswith("wss://") else None
        self.tic_seconds, self.renew_seconds, self.stale_seconds = tic_seconds, renew_seconds, stale_seconds
        self.backoff_base, self.backoff_max, self.open_timeout = backoff_base, backoff_max, open_timeout
        self._subscriptions: dict[str, str] = {}  # key -> the frame that (re)subscribes it
        self._lock = threading.Lock()
        self._socket: ClientConnection | None = None
        self._worker = Worker(self._run, "ibkr-stream")
        self._stop = self._worker.stopping

    # ---- lifecycle --------------------------------------------------------------------------------------------
    def start(self) -> StreamClient:
        self._worker.start()
        return self

    def close(self) -> None:
        self._stop.set()
        socket = self._socket
        if socket is not None:
            socket.close()
        self._worker.stop(10)
        self.book.set_health(StreamState.DOWN, "closed")

    @property
    def closed(self) -> bool:
        return self._stop.is_set()

    # ---- what consumers use -----------------------------------------------------------------------------------
    def subscribe_pnl(self) -> None:
        """``spl``: daily P&L, net liquidation, unrealised P&L, excess liquidity per account (:meth:`pnl`).
        On a real gateway it also makes ``pnl/partitioned`` answer (REAL-GATEWAY 1.3)."""
        self.subscribe("spl", "spl+{}")

    def subscribe_orders(self, statuses: list[str] | None = None) -> None:
        """``sor``: orders as they are placed, fill, change or are cancelled (:meth:`orders`); only changes are
        sent, so read ``/iserver/account/orders`` once first and again after every reconnect."""
        self.subscribe("sor", "sor+" + json.dumps({"filters": statuses} if statuses else {}))

    def subscribe_trades(self) -> None:
        """``str``: the day's executions, then each new one (:meth:`trades`)."""
        self.subscribe("str", "str+{}")

    def subscribe_market_data(self, conid: int, fields: list[str] | tuple[str, ...]) -> None:
        """``smd+<conid>``: the field codes' latest strings (:meth:`market_data`), renewed before IBKR's
        10-minute end."""
        self.subscribe(f"smd+{conid}", f"smd+{conid}+" + json.dumps({"fields": [str(f) for f in fields]}))

    def unsubscribe_market_data(self, conid: int) -> None:
        self.unsubscribe(f"smd+{conid}", f"umd+{conid}+{{}}")

    def market_data_conids(self) -> list[int]:
        """The conids whose ``smd`` subscription is kept."""
        with self._lock:
            return [int(k.partition("+")[2]) for k in self._subscriptions if k.startswith("smd+")]

    def on(self, topic: str, callback: Callable[[Any], None]) -> Callable[[], None]:
        """Call ``callback`` on the stream's thread with each typed item of ``topic`` (``spl``: PnlRow, ``sor``:
        Order, ``str``: Trade, ``smd``: MarketDataUpdate, ``sts``: StreamStatus, ``ntf``/``blt``: Notification,
        ``health``: StreamHealth). Keep it quick; returns the function that removes it."""
        return self.book.on(topic, callback)

    def pnl(self) -> dict[str, PnlRow]:
        """The latest ``spl`` row per account id."""
        return self.book.pnl()

    def orders(self) -> dict[int, Order]:
        """Orders the stream has reported, by order id, each as of its latest update."""
        return self.book.orders()

    def trades(self) -> list[Trade]:
        """Executions the stream has reported, oldest first, each once."""
        return self.book.trades()

    def market_data(self, conid: int) -> dict[str, str]:
        """The latest string of every field code the stream has sent for ``conid``."""
        return self.book.market_data(conid)

    def health(self) -> StreamHealth:
        return self.book.health

    def wait_until(self, condition: Callable[[], bool], timeout: float) -> bool:
        """Block until ``condition()`` holds after some message or health change, at most ``timeout`` s."""
        return self.book.wait_until(condition, timeout)

    # ---- subscriptions ----------------------------------------------------------------------------------------
    def subscribe(self, key: str, frame: str) -> None:
        """Keep ``frame`` subscribed under ``key``: sent now if the stream is live, and after every reconnect."""
        with self._lock:
            self._subscriptions[key] = frame
        self._send(frame)

    def unsubscribe(self, key: str, frame: str) -> None:
        with self._lock:
            self._subscriptions.pop(key, None)
        self._send(frame)

    def _send(self, frame: str) -> bool:
        socket = self._socket
        if socket is None or not self.book.health.live:
            return False  # sent once the stream is live
        try:
            socket.send(frame)
            return True
        except (ConnectionClosed, OSError):
            return False  # the reader sees the close and reconnects; the subscription is kept

    # ---- the thread -------------------------------------------------------------------------------------------
    def _run(self) -> None:
        failures = 0
        while not self._stop.is_set():
            self.book.set_health(StreamState.CONNECTING, f"opening {self.url}")
            try:
                went_live = self._connect_once()
                reason = "the gateway closed the stream"
            except NotAuthenticated as exc:
                went_live, reason = False, f"no session: {exc}"
            except _Refused as exc:
                went_live, reason = False, str(exc)
            except (IbkrError, OSError, InvalidHandshake, InvalidURI, ConnectionClosed, TimeoutError) as exc:
                went_live, reason = False, f"{type(exc).__name__}: {exc}"
            finally:
                self._socket = None
            if self._stop.is_set():
                break
            failures = 0 if went_live else failures + 1
            delay = min(self.backoff_max, self.backoff_base * 2 ** failures) * (0.5 + random.random() / 2)
            self.book.set_health(StreamState.DOWN, f"{reason}; retrying in {delay:.1f} s")
            self._stop.wait(delay)

    def _connect_once(self) -> bool:
        """One connection, until it ends; True if it went live."""
        token = self._token()
        with connect(self.url, ssl=self._ssl, additional_headers={"Cookie": f"api={token}"},
                     open_timeout=self.open_timeout, close_timeout=2, logger=_wire,
                     user_agent_header="ibkr-desk/0.1") as socket:
            self._socket = socket
            if self._stop.is_set():
                return False
            return self._read(socket)

    def _read(self, socket: ClientConnection) -> bool:
        live = False
        tic_at = renew_at = heard_at = time.monotonic()
        while not self._stop.is_set():
            try:
                raw = socket.recv(timeout=0.5)
            except TimeoutError:
                raw = None
            except ConnectionClosed:
                if not live:
                    raise _Refused("the gateway closed the stream before it said the session was valid") from None
                return True
            now = time.monotonic()
            if raw is not None:
                heard_at = now
                message = _parse(raw)
                if message.get("message") == "waiting for session":
                    raise _Refused("the gateway does not know this session (waiting for session)")
                if not live and message.get("topic") == "system" and "success" in message:
                    live = True
                    self.book.set_health(StreamState.LIVE, "streaming", connected=True)
                    self._resubscribe(socket)
                    renew_at = now
                self.book.dispatch(message)
            elif now - heard_at > self.stale_seconds:
                socket.close()
                raise TimeoutError(f"no message from the gateway for {self.stale_seconds:.0f} s")
            if live and now - tic_at >= self.tic_seconds:
                tic_at = now
                socket.send("tic")
            if live and now - renew_at >= self.renew_seconds:
                renew_at = now
                self._resubscribe(socket, only="smd+")
        return live

    def _resubscribe(self, socket: ClientConnection, only: str = "") -> None:
        with self._lock:
            frames = [f for k, f in self._subscriptions.items() if k.startswith(only)]
        for frame in frames:
            socket.send(frame)


def _parse(raw: str | bytes) -> dict:
    try:
        message = json.loads(raw)
    except ValueError:
        log.warning("the gateway sent a frame that is not JSON (%d bytes)", len(raw))
        return {}
    return message if isinstance(message, dict) else {}
