"""Retries under the simulator's injected faults (``POST /sim/faults``): reads and idempotent POSTs are retried,
bounded; an order is sent exactly once, whatever the gateway does.

A fault with ``phase="before"`` answers (or drops) before the request reaches the simulated gateway, so it is not
in ``/sim/stats``; how often it fired is in ``GET /sim/faults`` while it lives (it is gone once ``count`` fired).
"""

from __future__ import annotations

import pytest

from ibkr import GatewayBusy, OrderStatusUnknown, StockOrder
from tests.integration.client_support import client_for, requests_to


@pytest.fixture(scope="module", autouse=True)
def _primed_session(sim):
    sim.prime()  # so a retry below is a retry, not the "query /accounts first" handling


@pytest.fixture
def client(sim):
    sim.clear_faults()
    with client_for(sim) as c:
        yield c
    sim.clear_faults()


@pytest.fixture(scope="module")
def account_id(sim) -> str:
    return sim.state()["accounts"][0]["id"]


def live_faults(sim) -> list[dict]:
    return sim.admin("GET", "faults")["faults"]


def test_a_summary_answering_503_twice_is_retried_and_the_call_succeeds(sim, client, account_id):
    expected = sim.api("GET", f"/portfolio/{account_id}/summary").json()["netliquidation"]["amount"]
    sim.fault(paths=[f"/portfolio/{account_id}/summary"], methods=["GET"], status=503, count=2)

    summary = client.account_summary(account_id)

    assert summary.net_liquidation == expected
    assert live_faults(sim) == [], "both 503s were served before the call succeeded"


def test_a_read_answered_200_with_an_error_raises_it_and_never_becomes_empty_data(sim, client, account_id):
    # IBKR answers some failed reads 200 {"error": ...}; the client returned it and the lenient models made an
    # account summary with every figure empty (blank margin on the page, no error).
    from ibkr.errors import RequestRejected

    sim.fault(paths=[f"/portfolio/{account_id}/summary"], methods=["GET"], error="failed to process request",
              count=1)
    with pytest.raises(RequestRejected) as caught:
        client.account_summary(account_id)
    assert "failed to process request" in caught.value.message
    assert client.account_summary(account_id).net_liquidation is not None  # the next answer is data again


def test_a_dropped_connection_on_a_get_is_retried(sim, client, account_id):
    expected = sim.api("GET", f"/portfolio/{account_id}/ledger").json()["BASE"]["netliquidationvalue"]
    sim.fault(paths=[f"/portfolio/{account_id}/ledger"], methods=["GET"], drop=True, count=1)
    handled = requests_to(sim, f"GET /portfolio/{account_id}/ledger")

    ledger = client.ledger(account_id)

    assert ledger.base.net_liquidation_value == expected
    assert live_faults(sim) == [], "the connection was dropped once"
    assert requests_to(sim, f"GET /portfolio/{account_id}/ledger") == handled + 1


def test_an_idempotent_post_is_retried_too(sim, client, account_id):
    sim.fault(paths=[f"/portfolio/{account_id}/positions/invalidate"], methods=["POST"], status=502, count=1)
    handled = requests_to(sim, f"POST /portfolio/{account_id}/positions/invalidate")

    assert client.invalidate_positions(account_id).message == "success"
    assert requests_to(sim, f"POST /portfolio/{account_id}/positions/invalidate") == handled + 1


def test_a_get_that_keeps_failing_gives_up_after_a_bounded_number_of_tries(sim, client, account_id):
    sim.fault(paths=[f"/portfolio/{account_id}/summary"], methods=["GET"], status=503, count=50)

    with pytest.raises(GatewayBusy) as raised:
        client.account_summary(account_id)

    assert "503" in str(raised.value) and "try again" in str(raised.value)
    assert live_faults(sim)[0]["fired"] == 1 + client.transport.max_retries


def test_an_order_answered_503_is_sent_once_and_reported_as_unknown_not_retried(sim, client, account_id):
    orders_path = f"/iserver/account/{account_id}/orders"
    placed_before = len(sim.state()["orders"])
    posts_before = requests_to(sim, f"POST {orders_path}")
    # The gateway handles the POST, then its answer is replaced by a 503.
    sim.fault(paths=["/iserver/account/*/orders"], methods=["POST"], status=503, phase="after", count=5)
    ticket = StockOrder(account_id=account_id, symbol="MSFT", side="BUY", quantity=3, order_type="LMT",
                        limit_price=410)

    with pytest.raises(OrderStatusUnknown) as raised:
        client.place_order(ticket, accept={"o354"})

    message = str(raised.value)
    assert "503" in message and "not among the live orders" in message and "before placing it again" in message
    assert raised.value.coid
    assert requests_to(sim, f"POST {orders_path}") == posts_before + 1, "the order POST was sent exactly once"
    assert live_faults(sim)[0]["fired"] == 1
    assert not any(k.startswith("POST /iserver/reply/") for k in sim.stats()["requests"]), "no question answered"
    state = sim.state()
    assert len(state["orders"]) == placed_before and not [o for o in state["orders"] if o["cOID"] == raised.value.coid]


def test_a_placement_cut_off_by_the_gateways_empty_503_is_resolved_by_its_coid(sim, client, account_id):
    # The gateway itself answers a request it gave up on with an empty 503 ("x-response-time: 10000ms", IBEAM #38);
    # the order may have been placed. Here it was: the client finds it by cOID and reports it, never re-sent.
    orders_path = f"/iserver/account/{account_id}/orders"
    (snap,) = client.snapshot([265598])  # the quote first: IBKR places it without a question
    limit = round(snap.last_price * 0.98, 2)
    posts_before = requests_to(sim, f"POST {orders_path}")
    sim.fault(paths=["/iserver/account/*/orders"], methods=["POST"], cutoff=True, latency=1, phase="after", count=1)
    ticket = StockOrder(account_id=account_id, symbol="AAPL", side="BUY", quantity=2, order_type="LMT",
                        limit_price=limit)

    result = client.place_order(ticket)

    assert result.found_after_timeout is True and result.order_id
    assert requests_to(sim, f"POST {orders_path}") == posts_before + 1, "sent exactly once"
    (placed,) = [o for o in sim.state()["orders"] if o["cOID"] == result.coid]
    assert str(placed["order_id"]) == result.order_id
    client.cancel(account_id, result.order_id)


@pytest.mark.parametrize("shape", ["401", "302", "200"])
def test_every_pre_login_shape_of_a_real_gateway_says_log_in(sim, account_id, shape):
    # Real gateways answer a request without a session with 401, a 302 to /sso/Login, or 200 {"error": "no
    # session"} (IBEAM, BEZANT); each must read as "log in", never as data or as a busy gateway.
    from ibkr import NotAuthenticated
    from ibkr.gateway import AuthState
    from ibkr.gateway._http import GatewayHttp

    sim.admin("POST", "session", json={"no_session": shape, "action": "logout"})
    try:
        with client_for(sim) as client:
            with pytest.raises(NotAuthenticated) as raised:
                client.account_summary(account_id)
            assert "Log in at" in str(raised.value)
        http = GatewayHttp(client.settings.api_base, verify=str(sim.cert))
        try:
            assert http.tickle().state is AuthState.NO_SESSION
        finally:
            http.close()
    finally:
        sim.admin("POST", "session", json={"no_session": "401", "action": "login"})
        sim.prime()
