"""Session handling of ClientPortalClient against the simulated gateway's session ladder (docs/cpapi.md section 1):
a dropped brokerage session, a re-initialised one that must be primed with /accounts first, a logged-out gateway,
and TLS pinned to the simulator's certificate whatever REQUESTS_CA_BUNDLE says.
"""

from __future__ import annotations

import certifi
import pytest

from ibkr import (
    BrokerageSessionMissing,
    ClientPortalClient,
    ConfigurationError,
    NotAuthenticated,
    OrderAccepted,
    OrderRejected,
    Settings,
    StockOrder,
)
from tests.integration.client_support import client_for, requests_to

AAPL = 265598


@pytest.fixture
def logged_in(sim):
    """Every test starts from a fresh login with both /accounts calls made, as after the client's first refresh."""
    sim.session_action("login")
    sim.prime()
    yield sim
    sim.session_action("login")


@pytest.fixture
def client(logged_in):
    with client_for(logged_in) as c:
        yield c


@pytest.fixture(scope="module")
def account_id(sim) -> str:
    return sim.state()["accounts"][0]["id"]


def searchable(client) -> bool:
    """A trading-side (/iserver) read without a per-endpoint pacing limit."""
    return [r.conid for r in client.secdef_search("AAPL")][:1] == [AAPL]


def test_a_dropped_brokerage_session_raises_not_authenticated_saying_what_to_do(sim, client, account_id):
    assert searchable(client)
    sim.session_action("drop_brokerage")

    with pytest.raises(NotAuthenticated) as raised:
        client.secdef_search("AAPL")

    message = str(raised.value)
    assert isinstance(raised.value, BrokerageSessionMissing), "no bridge is not a login problem"
    assert "brokerage session is not open" in message and "nobody needs to log in again" in message
    # The read-only portfolio still answers (the SSO session is valid) ...
    assert client.account_summary(account_id).net_liquidation
    # ... and re-initialising through the client brings trading back (it primes /iserver/accounts itself).
    assert client.init_brokerage_session().authenticated is True
    assert searchable(client)


def test_after_a_reinit_elsewhere_query_accounts_first_is_primed_and_the_read_retried_once(sim, client):
    # The brokerage session is re-opened by something else (the gateway keeper, another tab).
    sim.session_action("drop_brokerage")
    assert sim.api("POST", "/iserver/auth/ssodh/init", json={"publish": True, "compete": True}).status_code == 200
    refused = sim.api("GET", "/iserver/secdef/search", params={"symbol": "AAPL"})
    assert (refused.status_code, refused.json()) == (500, {"error": "Please query /accounts first"})
    primes, searches = requests_to(sim, "GET /iserver/accounts"), requests_to(sim, "GET /iserver/secdef/search")

    assert searchable(client)

    assert requests_to(sim, "GET /iserver/accounts") == primes + 1
    assert requests_to(sim, "GET /iserver/secdef/search") == searches + 2, "asked, primed, asked once more"


def test_after_a_new_login_the_portfolio_is_primed_with_portfolio_accounts(sim, client, account_id):
    expected = client.account_summary(account_id).net_liquidation
    sim.session_action("login")  # a new login: neither /accounts call has been made in it
    primes = requests_to(sim, "GET /portfolio/accounts")

    assert client.account_summary(account_id).net_liquidation == expected
    assert requests_to(sim, "GET /portfolio/accounts") == primes + 1


def test_an_order_refused_for_priming_is_not_sent_again_by_itself(sim, client, account_id):
    ticket = StockOrder(account_id=account_id, symbol="IBM", side="BUY", quantity=1, order_type="LMT",
                        limit_price=210)  # resting, within 3% of the market
    client.tradable_account_ids()  # the client knows the accounts from before the re-init
    sim.session_action("drop_brokerage")
    sim.api("POST", "/iserver/auth/ssodh/init", json={"publish": True, "compete": True})
    posts = requests_to(sim, f"POST /iserver/account/{account_id}/orders")
    placed = len(sim.state()["orders"])

    with pytest.raises(OrderRejected) as raised:
        client.place_order(ticket, accept={"o354"})

    assert "NOT sent again" in str(raised.value) and "send it again" in str(raised.value)
    assert requests_to(sim, f"POST /iserver/account/{account_id}/orders") == posts + 1
    assert len(sim.state()["orders"]) == placed
    # The session is primed now: placing the order again is what the trader does, and it works.
    assert isinstance(client.place_order(ticket, accept={"o354"}), OrderAccepted)
    assert len(sim.state()["orders"]) == placed + 1


def test_a_logged_out_gateway_answers_401_and_the_client_says_where_to_log_in(sim, client):
    sim.session_action("logout")

    for call in (client.tickle, client.all_positions):
        with pytest.raises(NotAuthenticated) as raised:
            call()
        assert raised.value.status == 401
        assert f"Log in at {sim.url}/" in str(raised.value)


def test_the_pinned_certificate_holds_when_requests_ca_bundle_points_elsewhere(logged_in, monkeypatch):
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", certifi.where())
    monkeypatch.setenv("CURL_CA_BUNDLE", certifi.where())

    with client_for(logged_in) as pinned:
        assert pinned.tickle().iserver.auth_status.authenticated is True

    # The pin is real: trusting anything else fails, with a message saying what to set.
    for verify in (True, certifi.where()):
        with ClientPortalClient(Settings(gateway_url=logged_in.url, verify_ssl=verify)) as other:
            with pytest.raises(ConfigurationError) as raised:
                other.tickle()
            assert "IBKR_VERIFY_SSL" in str(raised.value)
