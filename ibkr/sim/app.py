"""The simulated Client Portal Gateway as a Starlette app: IBKR's API under ``/v1/api`` (and ``/v1/portal``),
the browser login at ``/``, and the simulator's own admin API under ``/sim/``."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from starlette.applications import Starlette
from starlette.routing import Route

from ibkr.sim import admin, login, routes_contracts, routes_marketdata, routes_orders, routes_portfolio, routes_session
from ibkr.sim.api import ENDPOINTS, guarded
from ibkr.sim.faults import FaultMiddleware, FaultTable
from ibkr.sim.orders import OrderBook
from ibkr.sim.pacing import Pacer
from ibkr.sim.session import Session
from ibkr.sim.world import World

ROUTE_MODULES = (routes_session, routes_portfolio, routes_contracts, routes_marketdata, routes_orders)


@dataclass(frozen=True)
class SimConfig:
    seed: int = 7
    accounts: int = 3
    positions: int = 20
    auto_login: bool = False
    idle_timeout: float = 300.0
    user: str = "demo"
    password: str = "demo"
    tick_seconds: float = 5.0
    penalty_seconds: float = 600.0
    pacing: bool = True


class Simulator:
    """All mutable state of one simulated gateway."""

    def __init__(self, config: SimConfig) -> None:
        self.config = config
        self.world = World(config.seed, config.accounts, config.positions, config.tick_seconds)
        self.session = Session(idle_timeout=config.idle_timeout, user=config.user, password=config.password)
        self.pacer = Pacer(config.penalty_seconds, enabled=config.pacing)
        self.faults = FaultTable(config.seed)
        self.orders = OrderBook(self)
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
        return {"requests": dict(self.requests), "rate_limited": self.pacer.rate_limited}

    def account_ids(self) -> list[str]:
        return list(self.world.accounts)


def create_app(config: SimConfig | None = None) -> Any:
    """The ASGI app (Starlette wrapped in the fault-injection layer). ``app.state.sim`` is the Simulator."""
    sim = Simulator(config or SimConfig())
    routes: list[Route] = []
    for prefix in ("/v1/api", "/v1/portal"):
        for spec in ENDPOINTS:
            routes.append(Route(prefix + spec.path, guarded(sim, spec), methods=[spec.method]))
    routes += login.routes(sim) + admin.routes(sim)
    app = Starlette(routes=routes)
    app.state.sim = sim
    wrapped = FaultMiddleware(app, sim.faults)
    wrapped.state = app.state  # type: ignore[attr-defined]
    return wrapped
