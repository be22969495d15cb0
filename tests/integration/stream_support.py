"""What the websocket tests share: a raw socket to a simulator (websockets' threaded client, the simulator's
certificate pinned), reading until a message that matches, and a market order placed through the REST API with
its questions answered. Not a test module."""

from __future__ import annotations

import json
import ssl
import time
from collections.abc import Callable
from typing import Any

from websockets.sync.client import ClientConnection, connect


def ws_url(sim) -> str:
    return sim.url.replace("https://", "wss://", 1) + "/v1/api/ws"


def session_token(sim) -> str:
    return sim.api("POST", "/tickle").json()["session"]


def open_socket(sim, cookie: str | None = "token") -> ClientConnection:
    """A socket with ``Cookie: api=<cookie>``; ``"token"`` means the session's current token, None no cookie."""
    if cookie == "token":
        cookie = session_token(sim)
    headers = {"Cookie": f"api={cookie}"} if cookie is not None else None
    return connect(ws_url(sim), ssl=ssl.create_default_context(cafile=str(sim.cert)), additional_headers=headers,
                   open_timeout=10)


def read_until(socket: ClientConnection, match: Callable[[dict], bool], timeout: float = 10.0,
               seen: list[dict] | None = None) -> dict:
    """The first message ``match`` accepts (every message read lands in ``seen``); AssertionError after
    ``timeout`` seconds without one."""
    deadline = time.monotonic() + timeout
    while (left := deadline - time.monotonic()) > 0:
        try:
            message = json.loads(socket.recv(timeout=left))
        except TimeoutError:
            break
        if seen is not None:
            seen.append(message)
        if match(message):
            return message
    raise AssertionError(f"no matching message within {timeout:.0f} s (read: {seen and seen[-5:]})")


def topic(name: str) -> Callable[[dict], bool]:
    return lambda m: str(m.get("topic", "")).partition("+")[0] == name


def connected(socket: ClientConnection) -> list[dict]:
    """Read the greeting of an authenticated socket (system, act, sts) and return it."""
    seen: list[dict] = []
    read_until(socket, topic("sts"), seen=seen)
    return seen


def place_market_order(sim, account: str, conid: int, side: str, quantity: float) -> int:
    """A market order through ``/iserver/account/{acct}/orders``, every question answered yes; its order id."""
    body: Any = sim.api("POST", f"/iserver/account/{account}/orders",
                        json={"orders": [{"conid": conid, "orderType": "MKT", "side": side, "quantity": quantity,
                                          "tif": "DAY"}]}).json()
    while isinstance(body, list) and body and "id" in body[0]:
        body = sim.api("POST", f"/iserver/reply/{body[0]['id']}", json={"confirmed": True}).json()
    assert isinstance(body, list) and "order_id" in body[0], body
    return int(body[0]["order_id"])


def wait_for(condition: Callable[[], bool], timeout: float = 15.0, every: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(every)
    return condition()


class AppGateway:
    """The simulator of a ``streamlit_app`` (tests/dashboard_harness.py) as :func:`place_market_order` wants it:
    ``api(method, path, ...)``, and its admin API."""

    def __init__(self, app: dict) -> None:
        self.app = app

    def api(self, method: str, path: str, **kwargs):
        return self.app["truth"].request(method, f"{self.app['gateway']}/v1/api{path}", timeout=30, **kwargs)

    def admin(self, method: str, path: str, **kwargs) -> dict:
        r = self.app["truth"].request(method, f"{self.app['gateway']}/sim/{path}", timeout=30, **kwargs)
        r.raise_for_status()
        return r.json()
