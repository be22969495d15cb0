"""The simulated gateway's session lifecycle over real HTTPS, as docs/cpapi.md section 1 describes IBKR's."""

from __future__ import annotations

import re
import time

import pytest
import requests

from tests.spec_validation import SpecValidator

SPEC = SpecValidator.load()


def login_through_page(sim) -> None:
    """What a person does in the browser: username/password, then the 2FA code shown on the page."""
    page = sim.http.post(f"{sim.url}/sso/Login", data={"username": "demo", "password": "demo"}, timeout=10)
    assert page.status_code == 200
    ticket = re.search(r"name='ticket' value='([^']+)'", page.text).group(1)
    code = re.search(r"id='demo-code'>(\d{6})<", page.text).group(1)
    done = sim.http.post(f"{sim.url}/sso/2fa", data={"ticket": ticket, "code": code}, timeout=10)
    assert "Client login succeeds" in done.text


def test_the_certificate_is_pinned_and_anything_else_is_refused(sim):
    # Arrange: a session that trusts only the system CAs.
    plain = requests.Session()
    plain.trust_env = False
    # Act / Assert
    with pytest.raises(requests.exceptions.SSLError):
        plain.post(f"{sim.url}/v1/api/tickle", timeout=10)
    assert sim.api("POST", "/tickle").status_code == 200


def test_no_session_until_someone_logs_in_with_2fa(start_sim):
    sim = start_sim("--no-pacing")
    assert sim.api("POST", "/tickle").status_code == 401
    assert sim.api("GET", "/portfolio/accounts").json()["error"] == "no session"
    front = sim.http.get(f"{sim.url}/", timeout=10)
    assert "Demo credentials" in front.text and "demo" in front.text
    wrong = sim.http.post(f"{sim.url}/sso/Login", data={"username": "demo", "password": "nope"}, timeout=10)
    assert wrong.status_code == 401 and "Invalid username or password" in wrong.text

    login_through_page(sim)

    tickle = sim.api("POST", "/tickle")
    assert tickle.status_code == 200
    SPEC.validate("POST", "/tickle", 200, tickle.json())
    assert tickle.json()["iserver"]["authStatus"]["authenticated"] is True


def test_a_wrong_2fa_code_does_not_log_in(start_sim):
    sim = start_sim("--no-pacing")
    page = sim.http.post(f"{sim.url}/sso/Login", data={"username": "demo", "password": "demo"}, timeout=10)
    ticket = re.search(r"name='ticket' value='([^']+)'", page.text).group(1)
    bad = sim.http.post(f"{sim.url}/sso/2fa", data={"ticket": ticket, "code": "000000x"}, timeout=10)
    assert bad.status_code == 401 and "not valid" in bad.text
    assert sim.api("POST", "/tickle").status_code == 401


def test_calls_need_accounts_first_after_login(start_sim):
    sim = start_sim("--auto-login", "--no-pacing", "--no-pnl-needs-spl")  # the REST-only quirk: empty once
    acct_free = sim.api("GET", "/iserver/account/pnl/partitioned")
    assert acct_free.status_code == 500 and "query /accounts first" in acct_free.json()["error"]
    portfolio = sim.api("GET", "/portfolio/DU1/summary")
    assert portfolio.status_code == 400 and "query /accounts first" in portfolio.json()["error"]
    sim.prime()
    first = sim.api("GET", "/iserver/account/pnl/partitioned")
    assert first.json() == {"upnl": {}}  # IBKR: empty on the first request
    second = sim.api("GET", "/iserver/account/pnl/partitioned").json()
    SPEC.validate("GET", "/iserver/account/pnl/partitioned", 200, second)
    assert len(second["upnl"]) == 3


def test_idle_timeout_ends_the_session(start_sim):
    sim = start_sim("--auto-login", "--idle-timeout", "1.5", "--no-pacing")
    assert sim.api("POST", "/tickle").status_code == 200
    time.sleep(2.0)
    assert sim.api("POST", "/tickle").status_code == 401
    assert sim.state()["session"]["sso"] is False


def test_competing_session_and_take_over(start_sim):
    sim = start_sim("--auto-login", "--no-pacing")
    sim.prime()
    sim.session_action("compete")
    status = sim.api("POST", "/iserver/auth/status").json()
    SPEC.validate("POST", "/iserver/auth/status", 200, status)
    assert status["competing"] is True and status["authenticated"] is False
    assert sim.api("GET", "/iserver/accounts").json() == {}  # ibeam #40
    no_compete = sim.api("POST", "/iserver/auth/ssodh/init", json={"publish": True, "compete": False}).json()
    assert "compete flag" in no_compete["fail"]

    taken = sim.api("POST", "/iserver/auth/ssodh/init", json={"publish": True, "compete": True})

    SPEC.validate("POST", "/iserver/auth/ssodh/init", 200, taken.json())
    assert taken.json()["authenticated"] is True and taken.json()["competing"] is False
    assert "query /accounts first" in sim.api("GET", "/iserver/account/orders").json()["error"]


def test_dropped_brokerage_session_answers_no_bridge_until_reinitialised(start_sim):
    sim = start_sim("--auto-login", "--no-pacing")
    sim.prime()
    sim.session_action("drop_brokerage")
    r = sim.api("GET", "/iserver/account/orders")
    assert r.status_code == 400 and r.json()["error"] == "Bad Request: no bridge"
    assert sim.api("GET", "/portfolio/accounts").status_code == 200  # SSO-level calls still work
    sim.api("POST", "/iserver/auth/ssodh/init", json={"publish": True, "compete": True})
    sim.api("GET", "/iserver/accounts")
    assert sim.api("POST", "/iserver/auth/status").json()["authenticated"] is True


def test_logout_and_the_portal_alias(start_sim):
    sim = start_sim("--auto-login", "--no-pacing")
    alias = sim.http.get(f"{sim.url}/v1/portal/sso/validate", timeout=10)
    SPEC.validate("GET", "/sso/validate", 200, alias.json())
    assert alias.json()["RESULT"] is True
    out = sim.api("POST", "/logout")
    SPEC.validate("POST", "/logout", 200, out.json())
    assert out.json() == {"status": True}
    assert sim.api("POST", "/tickle").status_code == 401


def test_pacing_answers_429_and_a_penalty_box(start_sim):
    sim = start_sim("--auto-login", "--penalty-seconds", "2")
    codes = [sim.api("POST", "/tickle").status_code for _ in range(3)]  # tickle: 1 request / s
    assert codes[0] == 200 and 429 in codes
    blocked = sim.api("GET", "/portfolio/accounts")
    assert blocked.status_code == 429 and "Retry-After" not in blocked.headers  # IBKR's names no Retry-After
    assert sim.stats()["rate_limited"] >= 2
    time.sleep(2.2)
    assert sim.api("GET", "/portfolio/accounts").status_code == 200
