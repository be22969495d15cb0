"""Transport: TLS settings that hold against the environment, error mapping, retries, priming, pacing on 429."""

from __future__ import annotations

import logging
import warnings

import pytest
import requests

from ibkr.config import Settings
from ibkr.errors import (
    AccessDenied,
    BrokerageSessionMissing,
    ConfigurationError,
    GatewayBusy,
    GatewayUnavailable,
    IbkrError,
    InvalidResponse,
    NotAuthenticated,
    RateLimited,
    RequestRejected,
    UnknownAccount,
)
from ibkr.transport import Transport
from tests.fixtures.ibkr_client import BASE

ORDER = "/iserver/account/DU1/orders"


def make_transport(limiter, sleeps, **settings_kw) -> Transport:
    settings = Settings(**{"gateway_url": "https://gw.test:5000", "verify_ssl": False, "allow_insecure_gateway": True,
                           **settings_kw})
    return Transport(settings, limiter=limiter, sleep=sleeps.append, rng=lambda: 0.5)


# -- TLS, timeouts, bodies ---------------------------------------------------------------------------------------

@pytest.fixture
def hostile_env(monkeypatch, tmp_path):
    bundle = tmp_path / "corporate-ca.pem"
    bundle.write_text("not the gateway's CA")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(bundle))
    monkeypatch.setenv("CURL_CA_BUNDLE", str(bundle))
    return bundle


def test_verify_false_holds_when_requests_ca_bundle_is_set(hostile_env, gateway, limiter, sleeps):
    transport = make_transport(limiter, sleeps, verify_ssl=False)
    gateway.add("GET", "/sso/validate", json_body={"RESULT": True})

    transport.get("/sso/validate")

    assert gateway.requests()[-1].verify is False


def test_verify_cert_path_holds_when_requests_ca_bundle_is_set(hostile_env, gateway, limiter, sleeps, tmp_path):
    cert = tmp_path / "gateway.pem"
    cert.write_text("-----BEGIN CERTIFICATE-----")
    transport = make_transport(limiter, sleeps, verify_ssl=str(cert))
    gateway.add("GET", "/sso/validate", json_body={"RESULT": True})

    transport.get("/sso/validate")

    assert gateway.requests()[-1].verify == str(cert)


def test_verify_true_still_verifies(gateway, limiter, sleeps, monkeypatch):
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    transport = make_transport(limiter, sleeps, verify_ssl=True)
    gateway.add("GET", "/sso/validate", json_body={"RESULT": True})

    transport.get("/sso/validate")

    assert gateway.requests()[-1].verify is True


def test_a_missing_certificate_file_is_a_configuration_error(limiter, sleeps, tmp_path):
    with pytest.raises(ConfigurationError, match="does not exist"):
        make_transport(limiter, sleeps, verify_ssl=str(tmp_path / "nope.pem"))


def test_insecure_warning_silenced_only_for_an_unverified_gateway(limiter, sleeps):
    def silenced(host: str) -> bool:
        text = f"Unverified HTTPS request is being made to host '{host}'. Adding certificate verification..."
        return any(f[0] == "ignore" and f[1] is not None and f[1].match(text) for f in warnings.filters)

    make_transport(limiter, sleeps, verify_ssl=False, gateway_url="https://unverified.test:5000")
    make_transport(limiter, sleeps, verify_ssl=True, gateway_url="https://verified.test:5000")

    assert silenced("unverified.test")
    assert not silenced("verified.test")


def test_empty_post_sends_content_length_zero_and_the_timeout(transport, gateway):
    gateway.add("POST", "/tickle", json_body={"session": "x"})

    transport.post("/tickle", idempotent=True)

    sent = gateway.requests("POST", "/tickle")[-1]
    assert sent.headers["Content-Length"] == "0"
    assert sent.timeout == 2.0


def test_redirects_are_not_followed_to_a_login_page(transport, gateway):
    gateway.add("POST", "/iserver/auth/status", status=302, headers={"Location": "/sso/Login?forwardTo=22"})

    with pytest.raises(NotAuthenticated, match="Log in at https://gw.test:5000/"):
        transport.post("/iserver/auth/status", idempotent=True)

    assert gateway.count() == 1


# -- error mapping --------------------------------------------------------------------------------------------

ERROR_SHAPES = [
    ("401", dict(status_code=401, json={"error": "not authorized"}), NotAuthenticated, "Log in at"),
    ("no session", dict(status_code=200, json={"error": "no session"}), NotAuthenticated, "Log in at"),
    ("no bridge", dict(status_code=400, json={"error": "Bad Request: no bridge", "statusCode": 400}),
     BrokerageSessionMissing, "nobody needs to log in"),
    ("401 no bridge", dict(status_code=401, json={"error": "no bridge", "statusCode": 401}),  # BEZANT's body
     BrokerageSessionMissing, "nobody needs to log in"),
    ("302 sso", dict(status_code=302, headers={"Location": "https://gw.test:5000/sso/Dispatcher"}),
     NotAuthenticated, "login page"),
    ("403", dict(status_code=403, text="Forbidden"), AccessDenied, "ips.allow"),
    ("html access denied", dict(status_code=200, text="<html><body>Access Denied</body></html>",
                                headers={"Content-Type": "text/html"}), AccessDenied, "ips.allow"),
    ("404 access denied", dict(status_code=404, text="Access Denied"), AccessDenied, "ips.allow"),
    ("html page", dict(status_code=200, text="<html>Gateway</html>", headers={"Content-Type": "text/html"}),
     InvalidResponse, "instead of JSON"),
    ("broken json", dict(status_code=200, text='{"accounts": ['), InvalidResponse, "instead of JSON"),
    ("500", dict(status_code=500, json={"error": "internal"}), GatewayBusy, "500"),
    ("502", dict(status_code=502, text="Bad Gateway"), GatewayBusy, "502"),
    ("503", dict(status_code=503, text=""), GatewayBusy, "503"),
    ("429", dict(status_code=429, json={"error": "Too Many Requests"}), RateLimited, "Wait"),
    ("unknown account", dict(status_code=400, json={"error": "Invalid account: U999"}), UnknownAccount, "U999"),
    ("account not found", dict(status_code=404, json={"error": "Account U999 not found"}), UnknownAccount, "U999"),
    ("400 error", dict(status_code=400, json={"error": "OrderID 1 doesn't exist"}), RequestRejected, "doesn't"),
    ("404 json", dict(status_code=404, json={"error": "no such conid"}), RequestRejected, "no such conid"),
    ("connection refused", dict(exc=requests.exceptions.ConnectionError("refused")), GatewayUnavailable, "running"),
    ("timeout", dict(exc=requests.exceptions.ReadTimeout("slow")), GatewayUnavailable, "within 2 s"),
    ("tls", dict(exc=requests.exceptions.SSLError("CERTIFICATE_VERIFY_FAILED")), ConfigurationError,
     "IBKR_VERIFY_SSL"),
]


@pytest.mark.parametrize("case, response, error, words", ERROR_SHAPES, ids=[c[0] for c in ERROR_SHAPES])
def test_every_error_shape_maps_to_its_exception(transport, gateway, case, response, error, words):
    gateway.add("POST", ORDER, response)

    with pytest.raises(error) as caught:
        transport.post(ORDER, json={"orders": []})

    assert type(caught.value) is error
    assert words in str(caught.value)
    assert caught.value.endpoint == f"POST {ORDER}"
    assert gateway.count("POST", ORDER) == 1  # an order request is never re-sent


@pytest.mark.parametrize("path, response, words", [
    ("/iserver/account/order/status/99", dict(status_code=503, text=""), "earlier sessions"),
    ("/iserver/marketdata/history", dict(status_code=500, json={"error": "Chart data unavailable"}),
     "no chart data"),
    ("/portfolio/U1/allocation", dict(status_code=500, json={"error": "internal"}), "without positions"),
    ("/portfolio/U9/summary", dict(status_code=500, json={"error": "accountId is not correct"}), "does not know"),
])
def test_a_5xx_that_means_the_same_every_time_is_not_retried_and_says_what_it_means(transport, gateway, path,
                                                                                   response, words):
    gateway.add("GET", path, response)

    with pytest.raises(RequestRejected) as caught:
        transport.get(path)

    assert words in str(caught.value)
    assert gateway.count("GET", path) == 1, "not retried: the answer would be the same"


def test_the_gateways_own_503_elsewhere_is_still_transient_and_retried(transport, gateway):
    gateway.add("GET", "/portfolio/accounts", dict(status_code=503, text=""), dict(json=[]))

    assert transport.get("/portfolio/accounts") == []
    assert gateway.count("GET", "/portfolio/accounts") == 2


def test_non_json_error_never_surfaces_a_json_traceback(transport, gateway):
    gateway.add("GET", "/portfolio/accounts", text="<html>oops", headers={"Content-Type": "text/html"})

    with pytest.raises(IbkrError) as caught:
        transport.get("/portfolio/accounts")

    assert "JSONDecodeError" not in repr(caught.value) and caught.value.__cause__ is None


def test_error_bodies_and_logs_carry_no_session_tokens(transport, gateway, caplog):
    gateway.add("POST", "/tickle", json_body={"session": "bb665d0f55b6289d70bc7380089fc96f", "ssoExpires": 1},
                headers={"Set-Cookie": "x-sess-uuid=cookie-secret-42"})
    gateway.add("GET", "/iserver/accounts", status=400,
                json={"error": "Invalid account", "sessionId": "65ee8a41.0000001e"})
    caplog.set_level(logging.DEBUG)

    transport.post("/tickle", idempotent=True)
    with pytest.raises(UnknownAccount) as caught:
        transport.get("/iserver/accounts")

    assert caught.value.body["sessionId"] == "***"
    for secret in ("bb665d0f55b6289d70bc7380089fc96f", "cookie-secret-42", "65ee8a41.0000001e"):
        assert secret not in caplog.text


# -- retries ---------------------------------------------------------------------------------------------------

def test_get_is_retried_on_503_with_growing_backoff(transport, gateway, sleeps):
    gateway.add("GET", "/portfolio/accounts", {"status_code": 503}, {"status_code": 503}, {"json": []})

    assert transport.get("/portfolio/accounts") == []

    assert gateway.count("GET", "/portfolio/accounts") == 3
    assert len(sleeps) == 2 and sleeps[1] > sleeps[0] > 0


def test_get_retries_are_bounded(transport, gateway, sleeps):
    gateway.add("GET", "/portfolio/accounts", status_code=500)

    with pytest.raises(GatewayBusy):
        transport.get("/portfolio/accounts")

    assert gateway.count("GET", "/portfolio/accounts") == transport.max_retries + 1


def test_get_is_retried_after_a_timeout_and_a_dropped_connection(transport, gateway):
    gateway.add("GET", "/iserver/accounts", {"exc": requests.exceptions.ConnectTimeout},
                {"exc": requests.exceptions.ConnectionError}, {"json": {"accounts": ["DU1"]}})

    assert transport.get("/iserver/accounts") == {"accounts": ["DU1"]}

    assert gateway.count("GET", "/iserver/accounts") == 3


def test_idempotent_post_is_retried(transport, gateway):
    gateway.add("POST", "/tickle", {"status_code": 502}, {"json": {"session": "x"}})

    transport.post("/tickle", idempotent=True)

    assert gateway.count("POST", "/tickle") == 2


@pytest.mark.parametrize("path", [ORDER, "/iserver/reply/abc", "/iserver/account/DU1/order/1"])
@pytest.mark.parametrize("failure", [{"status_code": 503}, {"exc": requests.exceptions.ReadTimeout},
                                     {"exc": requests.exceptions.ConnectionError}])
def test_order_requests_are_never_retried(transport, gateway, path, failure):
    gateway.add("POST", path, failure, {"json": [{"order_id": "1"}]})

    with pytest.raises(GatewayUnavailable):
        transport.post(path, json={"confirmed": True})

    assert gateway.count("POST", path) == 1


def test_cancel_is_never_retried(transport, gateway):
    gateway.add("DELETE", "/iserver/account/DU1/order/7", {"status_code": 500}, {"json": {"msg": "ok"}})

    with pytest.raises(GatewayBusy):
        transport.delete("/iserver/account/DU1/order/7")

    assert gateway.count("DELETE", "/iserver/account/DU1/order/7") == 1


# -- 429 -------------------------------------------------------------------------------------------------------

def test_429_honours_retry_after_then_succeeds(transport, gateway, clock):
    gateway.add("GET", "/portfolio/DU1/ledger", {"status_code": 429, "headers": {"Retry-After": "3"}},
                {"json": {"USD": {"cashbalance": 1}}})
    started = clock()

    transport.get("/portfolio/DU1/ledger")

    assert gateway.count("GET", "/portfolio/DU1/ledger") == 2
    assert clock() - started >= 3.0


def test_429_penalty_box_raises_rate_limited_and_holds_back_later_requests(transport, gateway):
    gateway.add("GET", "/portfolio/DU1/ledger", status_code=429, headers={"Retry-After": "600"})
    gateway.add("GET", "/portfolio/DU1/summary", json_body={})

    with pytest.raises(RateLimited) as caught:
        transport.get("/portfolio/DU1/ledger")
    with pytest.raises(RateLimited):
        transport.get("/portfolio/DU1/summary")

    assert caught.value.retry_after == 600
    assert gateway.count() == 1  # the second request never reached the gateway


def test_429_budget_is_bounded(transport, gateway):
    gateway.add("GET", "/portfolio/DU1/ledger", status_code=429, headers={"Retry-After": "1"})

    with pytest.raises(RateLimited):
        transport.get("/portfolio/DU1/ledger")

    assert gateway.count() == transport.rate_limit_retries + 1


# -- "Please query /accounts first" ----------------------------------------------------------------------------

def test_iserver_call_primes_with_iserver_accounts_and_retries_once(transport, gateway):
    gateway.add("GET", "/iserver/account/orders", {"status_code": 500, "json": {"error": "Please query /accounts first"}},
                {"json": {"orders": []}})
    gateway.add("GET", "/iserver/accounts", json_body={"accounts": ["DU1"]})

    assert transport.get("/iserver/account/orders") == {"orders": []}

    assert gateway.count("GET", "/iserver/accounts") == 1
    assert gateway.count("GET", "/iserver/account/orders") == 2


def test_portfolio_call_primes_with_portfolio_accounts(transport, gateway):
    gateway.add("GET", "/portfolio/DU1/summary",
                {"status_code": 400, "json": {"error": "Bad Request: please query /accounts first"}}, {"json": {}})
    gateway.add("GET", "/portfolio/accounts", json_body=[])

    transport.get("/portfolio/DU1/summary")

    assert gateway.count("GET", "/portfolio/accounts") == 1
    assert gateway.count("GET", "/iserver/accounts") == 0


def test_order_call_that_needs_priming_is_primed_but_not_resent(transport, gateway):
    gateway.add("POST", ORDER, {"status_code": 500, "json": {"error": "Please query /accounts first"}},
                {"json": [{"order_id": "1"}]})
    gateway.add("GET", "/iserver/accounts", json_body={"accounts": ["DU1"]})

    with pytest.raises(RequestRejected, match="NOT sent again"):
        transport.post(ORDER, json={"orders": [{}]})

    assert gateway.count("POST", ORDER) == 1
    assert gateway.count("GET", "/iserver/accounts") == 1


def test_priming_that_does_not_help_is_reported(transport, gateway):
    gateway.add("GET", "/iserver/account/trades", status_code=500, json={"error": "Please query /accounts first"})
    gateway.add("GET", "/iserver/accounts", json_body={"accounts": ["DU1"]})

    with pytest.raises(RequestRejected, match="still asks"):
        transport.get("/iserver/account/trades")

    assert gateway.count("GET", "/iserver/account/trades") == 2


# -- lifecycle -------------------------------------------------------------------------------------------------

def test_close_is_idempotent_and_a_closed_transport_refuses_requests(transport, gateway):
    gateway.add("POST", "/tickle", json_body={})

    transport.close()
    transport.close()

    with pytest.raises(IbkrError, match="closed"):
        transport.post("/tickle", idempotent=True)
    assert gateway.count() == 0
    assert BASE.endswith("/v1/api")


def test_a_429_without_retry_after_is_ibkrs_penalty_box_nothing_is_retried_inside_it(transport, gateway, clock):
    # IBKR sends no Retry-After; the transport paused 0.25-0.5 s, retried twice and the dashboard asked again on
    # the next refresh: the way to a permanent block.
    from ibkr.pacing import PENALTY_SECONDS

    gateway.add("GET", "/portfolio/DU1/ledger", status_code=429, json_body={"error": "Too Many Requests"})
    gateway.add("GET", "/portfolio/DU1/summary", json_body={})

    with pytest.raises(RateLimited) as caught:
        transport.get("/portfolio/DU1/ledger")
    assert caught.value.retry_after == PENALTY_SECONDS >= 600
    assert gateway.count() == 1
    with pytest.raises(RateLimited):
        transport.get("/portfolio/DU1/summary")  # held back, not sent
    assert gateway.count() == 1
    assert transport.limiter.paused_for() > PENALTY_SECONDS - 5
