"""The process-wide pacing limiter against a simulated gateway that enforces IBKR's limits (docs/cpapi.md section 6).

The simulator answers a client that breaks a limit with 429 and a penalty box (2 s here; IBKR's lasts 10-15 min),
so ``rate_limited == 0`` in ``/sim/stats`` means the client never provoked one.
"""

from __future__ import annotations

import threading
import time

import pytest

from ibkr import LIMITER
from tests.integration.client_support import client_for, requests_to

THREADS = 4


@pytest.fixture(scope="module")
def paced(start_sim):
    LIMITER.reset()  # a fresh simulator: nothing the limiter remembers applies to it
    handle = start_sim("--auto-login", "--positions", "250", "--penalty-seconds", "2")
    yield handle
    handle.close()


def refresh(sim) -> tuple[list, dict, dict]:
    """What one dashboard refresh does, on its own client: positions, then summary and ledger of every account."""
    with client_for(sim) as client:
        positions = client.all_positions()
        accounts = list(dict.fromkeys(p.acct_id for p in positions))
        summaries = {a: client.account_summary(a) for a in accounts}
        ledgers = {a: client.ledger(a) for a in accounts}
    return positions, summaries, ledgers


def test_four_threads_refreshing_at_once_never_get_a_429(paced):
    truth = {(a["id"], p["conid"]): p["position"] for a in paced.state()["accounts"] for p in a["positions"]}
    assert len(truth) == 750
    results: list[tuple] = []
    errors: list[BaseException] = []
    start = threading.Barrier(THREADS)

    def run() -> None:
        start.wait()
        try:
            results.append(refresh(paced))
        except BaseException as exc:  # reported below, with the thread's error
            errors.append(exc)

    threads = [threading.Thread(target=run, name=f"refresh-{n}") for n in range(THREADS)]
    began = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    elapsed = time.monotonic() - began

    assert not errors, f"a refresh failed: {errors[0]!r}"
    stats = paced.stats()
    assert stats["rate_limited"] == 0, "the gateway answered 429: the client broke IBKR's pacing"
    assert len(results) == THREADS
    for positions, summaries, ledgers in results:
        assert {(p.acct_id, p.conid): p.position for p in positions} == truth
        assert all(s.net_liquidation for s in summaries.values()) and len(summaries) == 3
        assert {a: ledgers[a].base.net_liquidation_value for a in ledgers} == {
            a: s.net_liquidation for a, s in summaries.items()}
    # /portfolio/accounts is limited to one call per 5 s: four threads on four clients had to queue behind one
    # limiter (had each client its own, the gateway would have answered 429 above).
    assert stats["requests"]["GET /portfolio/accounts"] == THREADS
    assert elapsed >= (THREADS - 1) * 5.0

    # The simulator does enforce the limit: two raw calls in a row get a 429.
    codes = [paced.api("GET", "/portfolio/accounts").status_code for _ in range(2)]
    assert 429 in codes
    assert paced.stats()["rate_limited"] >= 1


def test_a_429_that_comes_anyway_holds_every_request_back_for_ibkrs_penalty_and_retries_nothing(paced):
    # IBKR's 429 names no Retry-After; the client retried twice within half a second and asked again on the next
    # refresh, inside the penalty box.
    from ibkr import LIMITER
    from ibkr.errors import RateLimited
    from ibkr.pacing import PENALTY_SECONDS

    account_id = paced.state()["accounts"][0]["id"]
    # Someone else on this machine bursts past the limit: the gateway puts the IP in its penalty box.
    while paced.api("GET", "/portfolio/accounts").status_code != 429:
        pass
    limited = paced.stats()["rate_limited"]
    summaries = requests_to(paced, f"GET /portfolio/{account_id}/summary")
    try:
        with client_for(paced) as client:
            with pytest.raises(RateLimited) as caught:
                client.account_summary(account_id)
            assert caught.value.retry_after == PENALTY_SECONDS
            with pytest.raises(RateLimited):
                client.account_summary(account_id)  # held back here: never sent
        stats = paced.stats()
        assert stats["rate_limited"] == limited + 1, "one 429, then nothing more was sent"
        assert requests_to(paced, f"GET /portfolio/{account_id}/summary") == summaries + 1  # the second never left
        assert LIMITER.paused_for() > PENALTY_SECONDS - 60
    finally:
        LIMITER.reset()
