"""Brokerage sessions of each gateway, counted for the whole process.

Some of IBKR's reads answer empty on the first call of a brokerage session while the gateway builds its cache
(live orders and trades: docs/cpapi.md section 3.3). Whether a call is the first of a session is a property of
the gateway's session, not of one client: the gateway keeper may re-open the session, the nightly reset may end
it, another client of the same process may have been first. So every party that learns a session ended or began
says so here, and a client compares the count it last saw with the current one.

- :func:`new_brokerage_session` is called by the keeper when it primes a new session (a new login, or the
  brokerage session opened again), and by the transport whenever the gateway says there is no session.
- :func:`brokerage_session` is the current count for a gateway (any integer; only changes matter).
- :func:`session_lost` is called by the transport when the gateway answers a request with "no session" (401,
  "no bridge"); :func:`on_session_lost` lets the gateway keeper hear of it at once instead of at its next
  keep-alive tickle (60 s), so the login prompt comes in a second or two.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)
_lock = threading.Lock()
_count: dict[str, int] = {}
_lost_listeners: dict[str, list[Callable[[], None]]] = {}


def _key(gateway_url: str) -> str:
    return gateway_url.rstrip("/").lower()


def brokerage_session(gateway_url: str) -> int:
    """How many brokerage sessions of this gateway the process has seen begin or end."""
    with _lock:
        return _count.get(_key(gateway_url), 0)


def new_brokerage_session(gateway_url: str) -> None:
    """The gateway's brokerage session ended or a new one began: warm-ups start over."""
    with _lock:
        key = _key(gateway_url)
        _count[key] = _count.get(key, 0) + 1


def on_session_lost(gateway_url: str, listener: Callable[[], None]) -> Callable[[], None]:
    """Call ``listener`` (no arguments, quickly, on the caller's thread) whenever a request to this gateway finds
    its session gone. Returns the function that unsubscribes it."""
    key = _key(gateway_url)
    with _lock:
        _lost_listeners.setdefault(key, []).append(listener)

    def unsubscribe() -> None:
        with _lock:
            if listener in _lost_listeners.get(key, []):
                _lost_listeners[key].remove(listener)

    return unsubscribe


def session_lost(gateway_url: str) -> None:
    """A request found the gateway without a session: what comes next is another session, and who keeps the
    session looks now."""
    new_brokerage_session(gateway_url)
    with _lock:
        listeners = list(_lost_listeners.get(_key(gateway_url), []))
    for listener in listeners:
        try:
            listener()
        except Exception:  # noqa: BLE001 - the request's own error is what its caller must see
            log.exception("a session-lost listener failed")

