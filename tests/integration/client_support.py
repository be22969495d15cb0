"""What the client integration tests (test_client_*.py) share: a client pinned to a simulator's certificate, the
simulator's truth read as plain numbers, and a recorder of every response the client received. Not a test module.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import requests

from ibkr import ClientPortalClient, Settings
from ibkr.pacing import PacingLimiter
from tests.spec_validation import SpecValidator


def client_for(sim, **settings: Any) -> ClientPortalClient:
    """A client of ``sim`` over HTTPS with the simulator's certificate pinned (as a user configures it).

    Against a simulator that enforces IBKR's pacing the client uses the process-wide limiter, as in production;
    against one started with ``--no-pacing`` (tests that are not about pacing) it gets a limiter of its own without
    IBKR's per-endpoint rules, so nothing waits 5.5 s for a live-orders slot and no test inherits another's."""
    limiter = None if sim.paced else PacingLimiter(rules=())
    return ClientPortalClient(Settings(gateway_url=sim.url, verify_ssl=sim.cert, **settings), limiter=limiter)


def requests_to(sim, key: str) -> int:
    """How many requests ``"METHOD /path"`` reached the simulator's handlers (``/sim/stats``)."""
    return sim.stats()["requests"].get(key, 0)


def holdings(state: dict, account_id: str) -> dict[int, dict]:
    """conid -> position dict of one account in ``/sim/state``."""
    acct = next(a for a in state["accounts"] if a["id"] == account_id)
    return {p["conid"]: p for p in acct["positions"]}


def quantity(state: dict, account_id: str, conid: int) -> float:
    """The account's position in ``conid`` per ``/sim/state`` (0 when it holds none)."""
    held = holdings(state, account_id).get(conid)
    return held["position"] if held else 0.0


def orders_with_coid(state: dict, coid: str) -> list[dict]:
    return [o for o in state["orders"] if o["cOID"] == coid]


@dataclass
class Exchange:
    method: str
    url: str
    status: int
    body: Any


@dataclass
class ResponseRecorder:
    """Hooked into a client's ``requests.Session``: every response the client received, parsed when JSON."""

    seen: list[Exchange] = field(default_factory=list)

    def attach(self, client: ClientPortalClient) -> ResponseRecorder:
        client.transport.session.hooks["response"].append(self._record)
        return self

    def _record(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        try:
            body = response.json()
        except ValueError:
            body = None
        self.seen.append(Exchange(response.request.method or "", response.url, response.status_code, body))

    def validate(self, spec: SpecValidator) -> int:
        """Validate every JSON 200 answer against IBKR's spec (AssertionError otherwise); returns how many."""
        answers = [x for x in self.seen if x.status == 200 and x.body is not None]
        for x in answers:
            spec.validate(x.method, x.url, 200, x.body)
        return len(answers)
