"""``wss://HOST:PORT/v1/api/ws``: the gateway's websocket over the simulator's TLS server.

Authentication, as IBKR's v1 docs describe it ("Establishing the Websocket with Client Portal Gateway"): the
upgrade request carries the cookie ``api=<session>``, the ``session`` that ``POST /tickle`` answers (ibind sends it
as ``api={"session": "<session>"}``; both are read). A socket opened without it, or with the token of a session
that ended, is accepted and told ``{"message": "waiting for session"}`` (IBKR's documented answer); it may then
send ``{"session": "<session>"}`` (IBKR's older scheme). Without a valid session within
``SESSION_WAIT_SECONDS`` (or after a wrong one) the simulator closes it with 1008, policy violation: what a real
gateway does next is not documented, and a client must not take an open socket for a working one.

An authenticated socket gets ``system`` (the user name), ``act`` and ``sts`` at once, a heartbeat every
``heartbeat_seconds``, ``sts`` again whenever the session changes (competing, brokerage session dropped or
reopened), and the topics it subscribed (``ibkr_sim.stream.feed``). When the session ends (logout, expiry, a
new login) it gets a last ``sts`` with ``authenticated: false`` and is closed (1000).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from typing import Any

from starlette.websockets import WebSocket, WebSocketDisconnect

from ibkr_sim.stream import messages
from ibkr_sim.stream.feed import Feed
from ibkr_sim.stream.hub import PUSH_SECONDS

log = logging.getLogger(__name__)

SESSION_WAIT_SECONDS = 3.0
POLICY_VIOLATION = 1008


def cookie_token(websocket: WebSocket) -> str:
    """The session token of the ``api`` cookie: ``api=<token>`` or ibind's ``api={"session": "<token>"}``."""
    raw = websocket.cookies.get("api", "").strip()
    if raw.startswith("{"):
        with contextlib.suppress(ValueError):
            value = json.loads(raw)
            return str(value.get("session", "")) if isinstance(value, dict) else ""
    return raw


def endpoint(sim):
    hub = sim.stream

    async def send(websocket: WebSocket, message: dict[str, Any]) -> None:
        await websocket.send_text(json.dumps(message))
        hub.sent[str(message.get("topic", "message")).partition("+")[0]] += 1

    async def authenticate(websocket: WebSocket) -> str | None:
        token = cookie_token(websocket)
        if valid(token):
            return token
        await send(websocket, messages.WAITING)
        try:
            text = await asyncio.wait_for(websocket.receive_text(), SESSION_WAIT_SECONDS)
            hub.received["session"] += 1
            token = str(json.loads(text).get("session", ""))
        except (TimeoutError, ValueError, AttributeError):
            token = ""
        return token if valid(token) else None

    def valid(token: str) -> bool:
        s = sim.session
        s.expire_if_idle()
        return bool(token) and s.sso and token == s.token

    async def serve(websocket: WebSocket) -> None:
        await websocket.accept()
        hub.count("connections")
        if hub.refusing:  # /sim/stream {"refuse": true}
            hub.count("refused")
            await websocket.close(1013, "try again later")
            return
        try:
            token = await authenticate(websocket)
        except WebSocketDisconnect:
            return
        if token is None:
            hub.count("refused")
            await websocket.close(POLICY_VIOLATION, "no session")
            return
        feed, wake = Feed(sim, token), asyncio.Event()
        lock = asyncio.Lock()  # one writer at a time: pushes, answers and heartbeats keep their order
        hub.wakeups.add(wake)
        hub.sockets.add(websocket)
        try:
            async with lock:
                await send(websocket, messages.system_success(sim))
                await send(websocket, messages.account_update(sim))
                live = await push(websocket, feed)
            if live:
                async with asyncio.TaskGroup() as tasks:  # either ending (a disconnect) cancels the other
                    tasks.create_task(read(websocket, feed, lock))
                    tasks.create_task(pushes(websocket, feed, wake, lock))
        except* (WebSocketDisconnect, RuntimeError, OSError):
            pass  # the client went away (RuntimeError, OSError: sent to a socket uvicorn already closed)
        finally:
            hub.wakeups.discard(wake)
            hub.sockets.discard(websocket)

    async def push(websocket: WebSocket, feed: Feed) -> bool:
        """Send what is due; False (and the socket closed) when the session it was opened with has ended."""
        sim.orders.match_resting()  # resting orders fill when prices have moved, as on a REST request
        for message in feed.due():
            await send(websocket, message)
        if feed.session_ended():
            await send(websocket, messages.status({**messages.status_args(sim), "authenticated": False}))
            await websocket.close(1000, "session ended")
            return False
        return True

    async def read(websocket: WebSocket, feed: Feed, lock: asyncio.Lock) -> None:
        while True:
            text = await websocket.receive_text()
            hub.received[text.strip().partition("+")[0][:8]] += 1
            async with lock:
                if not await push(websocket, feed):  # what was due goes out before the answer
                    raise WebSocketDisconnect(1000)
                for message in feed.handle(text):
                    await send(websocket, message)

    async def pushes(websocket: WebSocket, feed: Feed, wake: asyncio.Event, lock: asyncio.Lock) -> None:
        beat = time.monotonic()
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), PUSH_SECONDS)
            wake.clear()
            async with lock:
                if time.monotonic() - beat >= sim.config.heartbeat_seconds:
                    beat = time.monotonic()
                    await send(websocket, messages.heartbeat())
                if not await push(websocket, feed):
                    raise WebSocketDisconnect(1000)

    return serve
