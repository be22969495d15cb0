"""Session endpoints: tickle, auth status (POST, GET fallback), brokerage session init, logout, SSO validate."""

from __future__ import annotations

import inspect

import pytest

import ibkr
from ibkr import ClientPortalClient, Settings
from ibkr.errors import NotAuthenticated
from ibkr.models import AuthStatus, TickleResponse


def test_tickle_reads_the_brokerage_status(client, gateway):
    gateway.add("POST", "/tickle", sample="POST_tickle__success.json")

    tickle = client.tickle()

    assert isinstance(tickle, TickleResponse) and tickle.ok
    assert tickle.auth_status.authenticated and not tickle.auth_status.competing
    assert tickle.sso_expires == 460311 and tickle.hmds == {"error": "no bridge"}


def test_tickle_failure_shape_is_a_model_not_an_exception(client, gateway):
    gateway.add("POST", "/tickle", sample="POST_tickle__fail.json")

    tickle = client.tickle()

    assert not tickle.ok and tickle.error == "failed to process request" and tickle.auth_status is None


@pytest.mark.parametrize("response", [{"status_code": 401}, {"json": {"error": "no session"}}])
def test_tickle_without_a_session_asks_the_user_to_log_in(client, gateway, response):
    gateway.add("POST", "/tickle", response)

    with pytest.raises(NotAuthenticated, match="Log in at https://gw.test:5000/"):
        client.tickle()


def test_auth_status_is_a_post(client, gateway):
    gateway.add("POST", "/iserver/auth/status", sample="POST_iserver_auth_status.json")

    status = client.auth_status()

    assert status.healthy and status.server_info.server_name == "JifN19053"
    assert gateway.count("GET") == 0


def test_auth_status_falls_back_to_get_when_the_post_is_refused(client, gateway):
    gateway.add("POST", "/iserver/auth/status", status=405, json={"error": "Method Not Allowed"})
    gateway.add("GET", "/iserver/auth/status", json_body={"authenticated": False, "connected": True,
                                                           "competing": True, "fail": ""})

    status = client.auth_status()

    assert status.competing and not status.healthy
    assert gateway.count("POST", "/iserver/auth/status") == 1 and gateway.count("GET", "/iserver/auth/status") == 1


def test_init_brokerage_session_competes_and_primes_iserver_accounts(client, gateway):
    gateway.add("POST", "/iserver/auth/ssodh/init", sample="POST_iserver_auth_ssodh_init.json")
    gateway.add("GET", "/iserver/accounts", sample="GET_iserver_accounts.json")

    status = client.init_brokerage_session()

    assert status.authenticated
    assert gateway.body("POST", "/iserver/auth/ssodh/init") == {"publish": True, "compete": True}
    assert gateway.count("GET", "/iserver/accounts") == 1
    assert client.tradable_account_ids() == ["U1234567"]


def test_init_that_does_not_authenticate_does_not_prime(client, gateway):
    gateway.add("POST", "/iserver/auth/ssodh/init", json_body={"authenticated": False, "connected": True,
                                                              "fail": "Force compete capability must be used"})

    status = client.init_brokerage_session(compete=False)

    assert not status.authenticated and "compete" in status.fail
    assert gateway.body("POST", "/iserver/auth/ssodh/init") == {"publish": True, "compete": False}
    assert gateway.count("GET", "/iserver/accounts") == 0


def test_reauthenticate_logout_and_sso_validate(client, gateway):
    gateway.add("POST", "/iserver/reauthenticate", json_body={"message": "triggered"})
    gateway.add("POST", "/logout", sample="POST_logout.json")
    gateway.add("GET", "/sso/validate", sample="GET_sso_validate.json")

    reauth = client.reauthenticate()
    logout = client.logout()
    sso = client.sso_validate()

    assert isinstance(reauth, AuthStatus) and reauth.message == "triggered"
    assert logout.status is True
    assert sso.result and sso.is_paper and sso.expires == 415890


def test_client_is_a_context_manager_and_close_is_idempotent(settings, limiter):
    with ClientPortalClient(settings, limiter=limiter) as client:
        assert not client.closed

    client.close()

    assert client.closed


def test_package_exports_the_client():
    assert ibkr.ClientPortalClient is ClientPortalClient and ibkr.Settings is Settings


def test_every_endpoint_method_names_its_endpoint_and_links_ibkrs_docs():
    methods = [m for _, m in inspect.getmembers(ClientPortalClient, inspect.isfunction) if hasattr(m, "ibkr_endpoint")]
    endpoints = {m.ibkr_endpoint for m in methods}

    assert len(methods) >= 40
    for method in methods:
        verb, path = method.ibkr_endpoint
        assert f"``{verb} {path}``" in method.__doc__
        assert "https://www.interactivebrokers.com/campus/ibkr-api-page/webapi-ref/#tag/" in method.__doc__
    for wanted in [("POST", "/tickle"), ("GET", "/portfolio/{accountId}/positions/{pageId}"),
                   ("GET", "/iserver/marketdata/snapshot"), ("POST", "/iserver/account/{accountId}/orders"),
                   ("DELETE", "/iserver/account/{accountId}/order/{orderId}"), ("GET", "/trsrv/futures")]:
        assert wanted in endpoints
