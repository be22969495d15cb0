"""Fault injection for tests and demos (``POST /sim/faults``): latency, error statuses, dropped connections.

A fault matches requests by method and path glob (the API path without ``/v1/api``), lasts for a number of
matching requests and/or seconds, and fires with a probability ``rate``. ``phase="after"`` lets the request be
handled first (an order is placed) and then delays or drops the answer, which is how a client's timeout on a
successful placement is reproduced.
"""

from __future__ import annotations

import asyncio
import fnmatch
import json
import random
import time
from dataclasses import asdict, dataclass, field
from typing import Any

from ibkr_sim.routes.base import api_path_of


@dataclass
class Fault:
    paths: list[str] = field(default_factory=lambda: ["*"])
    methods: list[str] = field(default_factory=list)  # empty: any
    latency: float = 0.0
    status: int | None = None
    error: str | None = None  # the answer's {"error": ...} text; with no status, IBKR's 200 {"error": ...} shape
    drop: bool = False
    # the gateway's own cut-off: an empty-body 503 with "x-response-time: 10000ms" (IBEAM #38), after the request
    # was held ``latency`` seconds (10 on a real gateway); with phase "after" the request was handled (an order
    # placed) before the cut-off answers, so the client cannot tell whether it was
    cutoff: bool = False
    # a raw answer instead of the handler's: an HTML "Access Denied" page (ips.allow), JSON cut off mid-way
    body: str | None = None
    content_type: str = "application/json"
    rate: float = 1.0
    count: int | None = None
    seconds: float | None = None
    phase: str = "before"  # "before" or "after" the handler runs
    created: float = field(default_factory=time.monotonic)
    fired: int = 0

    def matches(self, method: str, path: str) -> bool:
        if self.methods and method.upper() not in {m.upper() for m in self.methods}:
            return False
        return any(fnmatch.fnmatchcase(path, p) for p in self.paths)

    def alive(self) -> bool:
        if self.count is not None and self.fired >= self.count:
            return False
        return not (self.seconds is not None and time.monotonic() - self.created > self.seconds)


class FaultTable:
    def __init__(self, seed: int = 0) -> None:
        self.faults: list[Fault] = []
        self._rng = random.Random(seed)

    def add(self, spec: dict[str, Any]) -> Fault:
        """Add a fault; a spec that would break every later call (a wrong type, a status that is no HTTP
        status, a latency of an hour) is refused with a ValueError saying which field."""
        unknown = sorted(set(spec) - set(Fault.__dataclass_fields__) | set(spec) & {"created", "fired"})
        if unknown:
            raise ValueError(f"unknown fault fields: {', '.join(unknown)}")
        allowed = dict(spec)
        if isinstance(allowed.get("paths"), str):
            allowed["paths"] = [allowed["paths"]]
        _check(allowed)
        fault = Fault(**allowed)
        if fault.phase not in ("before", "after"):
            raise ValueError("phase must be 'before' or 'after'")
        self.faults.append(fault)
        return fault

    def clear(self) -> None:
        self.faults.clear()

    def pick(self, method: str, path: str) -> Fault | None:
        self.faults = [f for f in self.faults if f.alive()]
        for f in self.faults:
            if f.matches(method, path) and self._rng.random() < f.rate:
                f.fired += 1
                return f
        return None

    def describe(self) -> list[dict]:
        return [{k: v for k, v in asdict(f).items() if k != "created"} for f in self.faults if f.alive()]


MAX_LATENCY = 120.0


def _check(spec: dict[str, Any]) -> None:
    def number(name: str, low: float, high: float) -> None:
        value = spec.get(name)
        if value is None:
            return
        if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
            raise ValueError(f"{name} must be a number from {low:g} to {high:g}, got {value!r}")

    for name in ("paths", "methods"):
        value = spec.get(name)
        if value is not None and (not isinstance(value, list) or not all(isinstance(v, str) for v in value)):
            raise ValueError(f"{name} must be a list of strings, got {value!r}")
    number("latency", 0, MAX_LATENCY)
    number("rate", 0, 1)
    number("seconds", 0, 24 * 3600)
    if spec.get("status") is not None and not (isinstance(spec["status"], int) and 100 <= spec["status"] <= 599):
        raise ValueError(f"status must be an HTTP status (100-599), got {spec['status']!r}")
    if spec.get("count") is not None and not (isinstance(spec["count"], int) and spec["count"] >= 0):
        raise ValueError(f"count must be a whole number, got {spec['count']!r}")
    for name in ("drop", "cutoff"):
        if name in spec and not isinstance(spec[name], bool):
            raise ValueError(f"{name} must be true or false, got {spec[name]!r}")
    for name in ("error", "body", "content_type"):
        if spec.get(name) is not None and not isinstance(spec[name], str):
            raise ValueError(f"{name} must be a string, got {spec[name]!r}")


def _drop_connection(send: Any) -> bool:
    """Close the TCP connection under uvicorn without answering (the client sees a dropped connection)."""
    cycle = getattr(send, "__self__", None)
    transport = getattr(cycle, "transport", None)
    if transport is None:
        return False
    transport.close()
    return True


class FaultMiddleware:
    """Outermost ASGI layer, so it holds uvicorn's own ``send`` (needed to drop a connection)."""

    def __init__(self, app: Any, table: FaultTable) -> None:
        self.app = app
        self.table = table

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(("/v1/api", "/v1/portal")):
            await self.app(scope, receive, send)
            return

        fault = self.table.pick(scope["method"], api_path_of(scope["path"]))
        if fault is None:
            await self.app(scope, receive, send)
            return
        if fault.phase == "before":
            if not await _disrupt(fault, send):
                await self.app(scope, receive, send)
            return
        # after: run the handler, hold its answer back, then delay/drop/replace it.
        messages: list[dict] = []

        async def hold(message: dict) -> None:
            messages.append(message)

        await self.app(scope, receive, hold)
        if not await _disrupt(fault, send):
            for message in messages:
                await send(message)


async def _disrupt(fault: Fault, send: Any) -> bool:
    """Apply a fault's latency, then drop the connection or answer its error status; True if it answered."""
    if fault.latency:
        await asyncio.sleep(fault.latency)
    if fault.drop and _drop_connection(send):
        return True
    if fault.cutoff:
        await send({"type": "http.response.start", "status": 503,
                    "headers": [(b"content-length", b"0"), (b"x-response-time", b"10000ms")]})
        await send({"type": "http.response.body", "body": b""})
        return True
    if fault.body is not None:
        raw = fault.body.encode()
        await send({"type": "http.response.start", "status": fault.status or 200,
                    "headers": [(b"content-type", fault.content_type.encode()),
                                (b"content-length", str(len(raw)).encode())]})
        await send({"type": "http.response.body", "body": raw})
        return True
    if fault.status or fault.error:
        await _send_error(send, fault.status or 200, fault.error)
        return True
    return False


async def _send_error(send: Any, status: int, error: str | None = None) -> None:
    texts = {500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout"}
    shape = {"error": error or texts.get(status, "error")} | ({"statusCode": status} if status != 200 else {})
    body = json.dumps(shape).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
