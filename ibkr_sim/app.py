"""The simulated Client Portal Gateway as a Starlette app: IBKR's API under ``/v1/api`` (and ``/v1/portal``),
the browser login at ``/``, and the simulator's own admin API under ``/sim/``."""

from __future__ import annotations

from collections import Counter
from typing import Any

from starlette.applications import Starlette
from starlette.routing import Route, WebSocketRoute

from ibkr.config import SimSettings
from ibkr_sim.infra import admin, login
from ibkr_sim.infra.faults import FaultMiddleware, FaultTable
from ibkr_sim.infra.pacing import Pacer
from ibkr_sim.infra.session import Session
from ibkr_sim.routes import ENDPOINTS
from ibkr_sim.routes.base import guarded
from ibkr_sim.stream.hub import StreamHub
from ibkr_sim.stream.socket import endpoint as websocket_endpoint
from ibkr_sim.world.accounting import bring_near_margin
from ibkr_sim.world.orders import OrderBook
from ibkr_sim.world.world import World


class Simulator:
    """All mutable state of one simulated gateway."""

    def __init__(self, config: SimSettings) -> None:
        self.config = config
        self.world = World(config.seed, config.accounts, config.positions, config.tick_seconds, today=config.today,
                           subaccounts=config.subaccounts, subaccount_positions=config.subaccount_positions)
        if config.accounts >= 2:  # a demo a trader recognises: one account close to a margin warning
            bring_near_margin(self.world, list(self.world.accounts.values())[-1])
        self.session = Session(idle_timeout=config.idle_timeout, user=config.user,
                               password=config.password.get_secret_value())
        self.pacer = Pacer(config.penalty_seconds, enabled=config.pacing)
        self.faults = FaultTable(config.seed)
        self.orders = OrderBook(self)
        self.stream = StreamHub(self)  # the websocket's open sockets and counters
        self.requests: Counter[str] = Counter()
        # IBKR quirks that depend on what was asked before:
        self.positions_cache: dict[str, list[int]] = {}  # account -> conids, until invalidated
        self.pnl_served = ""  # the session token pnl/partitioned last answered; {} the first time
        self.md_streaming: set[int] = set()  # conids whose snapshot preflight happened
        self.searched_symbols: set[str] = set()  # secdef/search before strikes/info
        if config.auto_login:
            self.session.login()

    def count(self, key: str) -> None:
        self.requests[key] += 1

    def stats(self) -> dict[str, Any]:
        return {"requests": dict(self.requests), "rate_limited": self.pacer.rate_limited, "ws": self.stream.stats()}

    def account_ids(self) -> list[str]:
        return list(self.world.accounts)


def create_app(config: SimSettings | None = None) -> Any:
    """The ASGI app (Starlette wrapped in the fault-injection layer). ``app.state.sim`` is the Simulator.

    Without ``config`` the world is the default one (seed 7, 3 accounts ...), whatever the environment says."""
    sim = Simulator(config or SimSettings.model_construct())
    routes: list[Route | WebSocketRoute] = []
    for prefix in ("/v1/api", "/v1/portal"):
        for spec in ENDPOINTS:
            routes.append(Route(prefix + spec.path, guarded(sim, spec), methods=[spec.method]))
        routes.append(WebSocketRoute(prefix + "/ws", websocket_endpoint(sim)))
    routes += login.routes(sim) + admin.routes(sim)
    app = Starlette(routes=routes)
    app.state.sim = sim
    wrapped = FaultMiddleware(app, sim.faults)
    wrapped.state = app.state  # type: ignore[attr-defined]
    return wrapped
