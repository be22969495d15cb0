"""An advisor's login against the simulated gateway (``--subaccounts``): load_portfolio reads every sub-account,
past /portfolio/subaccounts' 100, each listed (primed) before its summary, ledger and positions are asked for.

The bulk test runs 250 sub-accounts without pacing, on either side (its 770 requests took 96 s inside the client's
8-a-second budget, the 13 subaccounts2 pages 72 s more at 1 per 5.5 s); the paced one lists 101 sub-accounts through the process-wide limiter, so the subaccounts2 pages (1 per 5 s) are paced
as in production and ``rate_limited == 0`` in ``/sim/stats`` says the client never provoked a 429.
"""

from __future__ import annotations

import pytest

from ibkr import LIMITER, ClientPortalClient, Settings
from ibkr.pacing import PacingLimiter
from ibkr.portfolio import load_portfolio
from tests.integration.client_support import client_for, requests_to


@pytest.fixture(scope="module")
def advisor(start_sim):
    handle = start_sim("--auto-login", "--subaccounts", "250", "--no-pacing")
    yield handle
    handle.close()


def unpaced_client(sim) -> ClientPortalClient:
    """A client of a ``--no-pacing`` simulator without IBKR's limits, the global budget included."""
    limiter = PacingLimiter(rules=(), global_limit=10_000)
    return ClientPortalClient(Settings(gateway_url=sim.url, verify_ssl=sim.cert), limiter=limiter)


def positions_by_account(rows) -> dict[str, dict[int, float]]:
    out: dict[str, dict[int, float]] = {}
    for p in rows:
        out.setdefault(p.acct_id, {})[p.conid] = p.position
    return out


def test_load_portfolio_of_an_advisor_reads_all_250_subaccounts(advisor):
    truth = advisor.state()
    master = truth["master"]
    expected = {a["id"]: {p["conid"]: p["position"] for p in a["positions"]} for a in truth["accounts"]}
    assert master.startswith("DF") and len(expected) == 251

    with unpaced_client(advisor) as client:
        snapshot = load_portfolio(client)

    assert snapshot.account_ids == [a["id"] for a in truth["accounts"]], "the master, then every sub-account"
    assert positions_by_account(snapshot.positions) == {k: v for k, v in expected.items() if v}
    assert set(snapshot.summaries) == set(snapshot.ledgers) == set(expected)
    stats = advisor.stats()["requests"]
    assert stats.get("GET /portfolio/subaccounts") == 1
    assert requests_to(advisor, "GET /portfolio/subaccounts2") == 13, "pages 0-12, the last one short"
    assert advisor.stats()["rate_limited"] == 0
    assert not snapshot.warnings


def test_a_paced_advisor_past_100_is_listed_without_a_429(start_sim):
    LIMITER.reset()  # a fresh simulator: nothing the limiter remembers applies to it
    paced = start_sim("--auto-login", "--subaccounts", "101", "--subaccount-positions", "1", "--penalty-seconds", "2")
    try:
        truth = paced.state()
        with client_for(paced) as client:
            listed = client.position_account_ids()
            last = listed[-1]
            summary = client.account_summary(last)  # the 101st, listed by subaccounts2 page 5 only

        assert listed == [a["id"] for a in truth["accounts"]]
        assert summary.net_liquidation is not None
        assert requests_to(paced, "GET /portfolio/subaccounts2") == 6
        assert paced.stats()["rate_limited"] == 0
    finally:
        paced.close()
