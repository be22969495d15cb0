"""The gateway's websocket, streamed: P&L, live orders, executions and market data as IBKR pushes them.

One stream per gateway per process, shared by every consumer (as the pacing limiter and the session counts
are)::

    from ibkr.stream import shared_stream

    stream = shared_stream(settings)          # started on first use; the same object for the same gateway
    stream.subscribe_pnl()                    # spl: kept, and sent again after every reconnect
    stream.subscribe_orders()                 # sor
    stream.subscribe_trades()                 # str
    stream.subscribe_market_data(265598, ["31", "84", "86", "78"])   # smd, renewed before IBKR ends it
    stream.on("sor", lambda order: ...)      # typed items on the stream's thread
    stream.pnl()["DU123"].daily_pnl           # or read the latest state from any thread
    stream.health()                           # StreamHealth: state (connecting/live/down), reason, last message

:func:`close_streams` ends them all (tests, shutdown). The stream never imports Streamlit.
"""

from __future__ import annotations

import threading
from typing import Any

from ibkr.config import Settings
from ibkr.stream._book import TOPICS, StreamBook, StreamHealth, StreamState
from ibkr.stream._client import StreamClient, ssl_context, tickle_token

__all__ = ["TOPICS", "StreamBook", "StreamClient", "StreamHealth", "StreamState", "close_streams", "shared_stream",
           "ssl_context", "tickle_token"]

_lock = threading.Lock()
_streams: dict[str, StreamClient] = {}


def _key(gateway_url: str) -> str:
    return gateway_url.rstrip("/").lower()


def shared_stream(settings: Settings, **options: Any) -> StreamClient:
    """The process's stream to ``settings.gateway_url``, started; made with ``options`` (see
    :class:`StreamClient`) the first time, or again after it was closed."""
    key = _key(settings.gateway_url)
    with _lock:
        stream = _streams.get(key)
        if stream is None or stream.closed:
            stream = _streams[key] = StreamClient(settings, **options)
    return stream.start()


def close_streams() -> None:
    """Close every shared stream (idempotent)."""
    with _lock:
        streams = list(_streams.values())
        _streams.clear()
    for stream in streams:
        stream.close()
