"""The simulator's own API under ``/sim/`` (not IBKR's): the truth, statistics, session actions, faults, clock."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from ibkr_sim.routes.base import NO_SESSION_SHAPES, json_body

MAX_TICKS = 1000
"""Price moves one /sim/clock call may ask for."""

SESSION_ACTIONS = ("expire", "compete", "logout", "drop_brokerage", "login")


def routes(sim) -> list[Route]:
    async def state(request: Request):
        truth = sim.world.state()
        truth["orders"] = sim.orders.state()
        s = sim.session
        truth["session"] = {"sso": s.sso, "authenticated": s.authenticated, "competing": s.competing,
                            "held_elsewhere": s.held_elsewhere,
                            "connected": s.connected, "primed_iserver": s.primed_iserver,
                            "primed_portfolio": s.primed_portfolio, "events": s.events[-20:]}
        return JSONResponse(truth)

    async def stats(request: Request):
        return JSONResponse(sim.stats())

    async def session_action(request: Request):
        body = await json_body(request) or {}
        action = body.get("action")
        if isinstance(body.get("incomplete_secdef"), bool):
            sim.session.incomplete_secdef = body["incomplete_secdef"]
            if action is None and "no_session" not in body:
                return JSONResponse({"incomplete_secdef": sim.session.incomplete_secdef})
        if "no_session" in body:  # how requests without a session are answered from now on
            if body["no_session"] not in NO_SESSION_SHAPES:
                return JSONResponse({"error": f"no_session must be one of {', '.join(NO_SESSION_SHAPES)}"},
                                    status_code=400)
            sim.session.no_session_shape = body["no_session"]
            if action is None:
                return JSONResponse({"no_session": sim.session.no_session_shape})
        if action not in SESSION_ACTIONS:
            return JSONResponse({"error": f"action must be one of {', '.join(SESSION_ACTIONS)}"}, status_code=400)
        s = sim.session
        {"expire": lambda: s.end("expired (admin)"), "compete": s.compete, "logout": lambda: s.end("logout (admin)"),
         "drop_brokerage": s.drop_brokerage, "login": s.login}[action]()
        sim.stream.nudge()
        return JSONResponse({"action": action, "sso": s.sso, "authenticated": s.authenticated,
                             "competing": s.competing})

    async def faults(request: Request):
        if request.method == "DELETE":
            sim.faults.clear()
        elif request.method == "POST":
            body = await json_body(request)
            if not isinstance(body, dict):
                return JSONResponse({"error": "send a JSON object describing the fault"}, status_code=400)
            try:
                sim.faults.add(body)
            except (TypeError, ValueError) as exc:
                return JSONResponse({"error": str(exc)}, status_code=400)
        return JSONResponse({"faults": sim.faults.describe()})

    async def clock(request: Request):
        body = await json_body(request) or {}
        try:
            ticks = int(body.get("ticks", 1))
        except (TypeError, ValueError):
            return JSONResponse({"error": "ticks must be an integer"}, status_code=400)
        if not 0 <= ticks <= MAX_TICKS:  # 20,000 ticks froze the simulator for a minute
            return JSONResponse({"error": f"ticks must be from 0 to {MAX_TICKS}"}, status_code=400)
        sim.world.advance(ticks)
        sim.orders.match_resting()
        sim.stream.nudge()
        return JSONResponse({"ticks": sim.world.ticks})

    async def pacing(request: Request):
        body = await json_body(request) or {}
        if "enabled" in body:
            sim.pacer.enabled = bool(body["enabled"])
        sim.pacer.release()
        return JSONResponse({"enabled": sim.pacer.enabled, "rate_limited": sim.pacer.rate_limited})

    async def stream(request: Request):
        """``{"action": "drop"}`` closes every open websocket (1012, service restart); ``{"refuse": true}``
        closes new ones at once until ``{"refuse": false}``: a gateway whose websocket is down while REST works."""
        body = await json_body(request) or {}
        hub = sim.stream
        if isinstance(body.get("refuse"), bool):
            hub.refusing = body["refuse"]
        elif body.get("action") != "drop":
            return JSONResponse({"error": 'send {"action": "drop"} or {"refuse": true|false}'}, status_code=400)
        dropped = await hub.drop() if body.get("action") == "drop" or hub.refusing else 0
        return JSONResponse({"dropped": dropped, "refusing": hub.refusing, "open": len(hub.wakeups)})

    return [
        Route("/sim/stream", stream, methods=["POST"]),
        Route("/sim/state", state, methods=["GET"]),
        Route("/sim/stats", stats, methods=["GET"]),
        Route("/sim/session", session_action, methods=["POST"]),
        Route("/sim/faults", faults, methods=["GET", "POST", "DELETE"]),
        Route("/sim/clock", clock, methods=["POST"]),
        Route("/sim/pacing", pacing, methods=["POST"]),
    ]
