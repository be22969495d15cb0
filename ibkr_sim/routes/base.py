"""How the simulator's IBKR endpoints are declared and guarded.

A route module declares handlers with ``@endpoints.route(METHOD, "/path/{param}", access=...)`` on its own
:class:`Endpoints` table. The guard in front
of every handler does what the real gateway does before the handler runs: counts the request, applies
pacing (429 and the penalty box), expires an idle session, and refuses calls the session cannot make yet:

- ``access="sso"``: needs the SSO session (browser login); otherwise 401.
- ``access="portfolio"``: also needs ``/portfolio/accounts`` to have been called since login.
- ``access="iserver"``: also needs the brokerage session (else ``no bridge``) and ``/iserver/accounts``
  since it was (re)opened (else "Please query /accounts first").
- ``primes="portfolio" | "iserver"``: calling this endpoint satisfies that priming rule.

Handlers are ``async def handler(sim, request)`` and return JSON-able data, or ``(status, data)``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

Handler = Callable[[Any, Request], Awaitable[Any]]


@dataclass(frozen=True)
class EndpointSpec:
    method: str
    path: str
    access: str
    primes: str | None
    handler: Handler


class Endpoints:
    """One route module's table of IBKR endpoints; :mod:`ibkr_sim.routes` lists every module's table by name.

        endpoints = Endpoints()

        @endpoints.route("GET", "/portfolio/accounts", access="sso", primes="portfolio")
        async def portfolio_accounts(sim: Simulator, request: Request) -> Any: ...
    """

    def __init__(self) -> None:
        self.specs: list[EndpointSpec] = []

    def __iter__(self) -> Iterator[EndpointSpec]:
        return iter(self.specs)

    def route(self, method: str, path: str, *, access: str = "iserver",
              primes: str | None = None) -> Callable[[Handler], Handler]:
        """Declare an IBKR endpoint (path without the ``/v1/api`` prefix)."""
        assert access in ("sso", "portfolio", "iserver"), access

        def deco(fn: Handler) -> Handler:
            self.specs.append(EndpointSpec(method.upper(), path, access, primes, fn))
            return fn

        return deco


def error(status: int, message: str, with_code: bool = True) -> tuple[int, dict]:
    """IBKR's error body: ``{"error": "...", "statusCode": N}``."""
    body: dict[str, Any] = {"error": message}
    if with_code:
        body["statusCode"] = status
    return status, body


NO_SESSION_SHAPES = ("401", "302", "200")


def no_session(shape: str) -> Response:
    """The gateway's answer to a request without a session, in one of the shapes real gateways send."""
    if shape == "302":
        return Response(status_code=302, headers={"Location": "/sso/Login?forwardTo=22&RL=1&ip2loc=on"})
    if shape == "200":
        return JSONResponse({"error": "no session"})
    return to_response(error(401, "no session"))


def api_path(request: Request) -> str:
    """The request path with the ``/v1/api`` or ``/v1/portal`` prefix removed."""
    return api_path_of(request.url.path)


def api_path_of(path: str) -> str:
    for prefix in ("/v1/api", "/v1/portal"):
        if path.startswith(prefix):
            return path[len(prefix):] or "/"
    return path


def to_response(result: Any) -> Response:
    if isinstance(result, Response):
        return result
    status = 200
    if isinstance(result, tuple):
        status, result = result
    return JSONResponse(result, status_code=status)


def guarded(sim: Any, spec: EndpointSpec) -> Callable[[Request], Awaitable[Response]]:
    """Wrap a handler with the gateway's checks, in the order the gateway applies them."""

    async def run(request: Request) -> Response:
        path = api_path(request)
        sim.count(f"{request.method} {path}")
        client = request.client.host if request.client else "?"
        penalty = sim.pacer.check(client, request.method, path)
        if penalty is not None:
            # No Retry-After: IBKR documents none and its gateway sends none (docs/cpapi.md section 6); a client
            # must know the penalty box lasts 10-15 minutes.
            return JSONResponse({"error": "Too Many Requests", "statusCode": 429}, status_code=429)
        session = sim.session
        session.expire_if_idle()
        if not session.sso:
            return no_session(session.no_session_shape)
        session.touch()
        if spec.access in ("portfolio", "iserver") and spec.primes != spec.access:
            if spec.access == "iserver" and not session.authenticated:
                return to_response(error(400, "Bad Request: no bridge"))
            primed = session.primed_iserver if spec.access == "iserver" else session.primed_portfolio
            if not primed:
                if spec.access == "iserver":
                    return to_response(error(500, "Please query /accounts first", with_code=False))
                return to_response(error(400, "Bad Request: please query /accounts first"))
        sim.world.catch_up()
        sim.orders.match_resting()  # resting orders fill when prices have moved
        response = to_response(await spec.handler(sim, request))
        sim.stream.nudge()  # the websocket pushes what this request changed (a fill, a session change) at once
        return response

    return run


MAX_BODY = 1 << 20
"""Bytes a request body may have (an order ticket is a few hundred): more is not read."""


async def json_body(request: Request) -> Any:
    """The request's JSON body, or None when it is empty, not JSON, too large (:data:`MAX_BODY`), nested past
    Python's recursion limit, holds NaN or Infinity, or is not sent as JSON (a ``text/plain`` form post from
    another site must not reach an order endpoint)."""
    import json

    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind and kind != "application/json" and not kind.endswith("+json"):
        return None
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY:
        return None
    raw = b""
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > MAX_BODY:
            return None
    if not raw.strip():
        return None

    def refuse(constant: str) -> None:
        raise ValueError(f"{constant} is not JSON")

    try:
        return json.loads(raw, parse_constant=refuse)
    except (ValueError, RecursionError):
        return None
