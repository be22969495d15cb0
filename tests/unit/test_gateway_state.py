"""The gateway manager's reading of the gateway (tickle bodies -> AuthState), its pacing and its recovery rules,
against requests-mock with IBKR's verbatim payloads."""

from __future__ import annotations

import copy

import pytest
import requests

from ibkr.config import GatewayMode, Settings
from ibkr.gateway import AuthState, GatewayManager, PromptAction, PromptKind, RestartPolicy
from ibkr.gateway._http import GatewayHttp
from ibkr.gateway._state import looks_like_gateway
from ibkr.pacing import PacingLimiter
from tests.fixtures.cpapi_samples import load_sample
from tests.fixtures.ibkr_client import FakeClock

BASE = "https://gw.test:5000/v1/api"
TICKLE = f"{BASE}/tickle"
SUCCESS = load_sample("POST_tickle__success.json")


AUTH_STATUS = f"{BASE}/iserver/auth/status"


def tickle_with(**auth_status) -> dict:
    body = copy.deepcopy(SUCCESS)
    body["iserver"]["authStatus"].update(auth_status)
    return body


@pytest.fixture
def private_limiter() -> PacingLimiter:
    """A limiter of the test's own on a fake clock (the process-wide one must not see mocked 429s)."""
    clock = FakeClock()
    return PacingLimiter(clock=clock, sleep=clock.sleep)


@pytest.fixture
def http(private_limiter) -> GatewayHttp:
    waits: list[float] = []
    client = GatewayHttp(BASE, verify=False, timeout=5, sleep=waits.append, limiter=private_limiter)
    client.waits = waits  # type: ignore[attr-defined]
    return client


@pytest.mark.parametrize(
    ("response", "state"),
    [
        ({"json": SUCCESS}, AuthState.AUTHENTICATED),
        ({"json": tickle_with(authenticated=False)}, AuthState.NOT_CONNECTED),
        ({"json": tickle_with(connected=False, authenticated=False)}, AuthState.NOT_CONNECTED),
        ({"json": tickle_with(competing=True, authenticated=False)}, AuthState.COMPETING),
        # ibeam #40: authenticated AND competing after a gateway restart is still a competing session.
        ({"json": tickle_with(competing=True)}, AuthState.COMPETING),
        ({"json": {"session": "abc", "ssoExpires": 1000}}, AuthState.NOT_CONNECTED),
        ({"status_code": 401, "json": {"error": "no session"}}, AuthState.NO_SESSION),
        ({"json": {"error": "no session"}}, AuthState.NO_SESSION),
        ({"status_code": 302, "headers": {"Location": "/sso/Login?forwardTo=22&RL=1"}}, AuthState.NO_SESSION),
        ({"status_code": 200, "text": "<html>Access Denied</html>"}, AuthState.NOT_RUNNING),
        ({"json": load_sample("POST_tickle__fail.json")}, None),
        ({"status_code": 503, "json": {"error": "Service Unavailable"}}, None),
        ({"status_code": 429, "json": {"error": "Too Many Requests"}}, None),
    ],
    ids=["success-sample", "brokerage-dropped", "not-connected", "competing", "authenticated-and-competing",
         "sso-only", "401", "no-session-body", "redirect-to-login", "access-denied", "fail-sample", "503", "429"],
)
def test_a_tickle_answer_maps_to_its_rung_of_the_ladder(http, requests_mock, response, state):
    requests_mock.post(TICKLE, **response)

    probe = http.tickle()

    assert probe.state is state
    assert probe.conclusive is (state is not None)


@pytest.mark.parametrize(
    ("exc", "detail"),
    [
        (requests.exceptions.ConnectionError("[Errno 111] Connection refused"), "connection refused"),
        (requests.exceptions.ConnectTimeout("slow"), "connection timed out"),
        (requests.exceptions.ReadTimeout("slow"), "no answer before the timeout"),
        (requests.exceptions.SSLError("CERTIFICATE_VERIFY_FAILED"), "TLS failed"),
    ],
)
def test_no_answer_means_the_gateway_is_not_running(http, requests_mock, exc, detail):
    requests_mock.post(TICKLE, exc=exc)

    probe = http.tickle()

    assert probe.state is AuthState.NOT_RUNNING
    assert detail in probe.detail


def test_the_success_sample_gives_server_expiry_and_no_token_in_what_gets_logged(http, requests_mock):
    requests_mock.post(TICKLE, json=SUCCESS)

    probe = http.tickle()

    assert (probe.server_name, probe.server_version) == ("JifN19053", "Build 10.25.0p, Dec 5, 2023 5:48:12 PM")
    assert probe.sso_expires_ms == 460311
    assert probe.session_fingerprint and probe.session_fingerprint not in SUCCESS["session"]
    assert SUCCESS["session"] not in repr(probe) + probe.detail
    assert probe.session_token == SUCCESS["session"]  # kept for the websocket's cookie (the record, never a log)


def test_two_tickles_are_never_less_than_a_second_apart(http, requests_mock):
    requests_mock.post(TICKLE, json=SUCCESS)

    http.tickle()
    http.tickle()

    assert len(http.waits) == 1 and 1.0 < http.waits[0] <= 1.1


def test_sso_is_validated_at_most_once_a_minute(http, requests_mock):
    validate = requests_mock.get(f"{BASE}/sso/validate", json=load_sample("GET_sso_validate.json"))

    first = http.validate_sso()
    second = http.validate_sso()

    assert first == {"valid": True, "user": "user1234", "paper": True, "expires_ms": 415890}
    assert second is None and validate.call_count == 1


def test_what_a_gateway_answers_is_told_apart_from_other_servers(requests_mock):
    answers = {
        "no-session": {"status_code": 401},
        "tickle": {"json": SUCCESS},
        "web-server": {"status_code": 404, "text": "<html>Not Found</html>"},
        "echo": {"status_code": 200, "text": "hello"},
    }
    for name, answer in answers.items():
        requests_mock.post(f"https://{name}.test/v1/api/tickle", **answer)

    verdict = {name: looks_like_gateway(requests.post(f"https://{name}.test/v1/api/tickle")) for name in answers}

    assert verdict == {"no-session": True, "tickle": True, "web-server": False, "echo": False}


def test_restarts_back_off_and_stop_at_the_cap():
    policy = RestartPolicy(max_restarts=5, window=600, base_delay=1, max_delay=30)
    delays = []
    for now in range(5):
        assert policy.allowed(now)
        delays.append(policy.delay(now))
        policy.record(now)
    assert delays == [0, 1, 2, 4, 8]
    assert not policy.allowed(10)
    assert policy.allowed(601)  # the window slides


# ---- the recovery rules, driven through an external-mode manager (no process, no thread) ---------------------
@pytest.fixture
def manager(private_limiter) -> GatewayManager:
    settings = Settings(_env_file=None, gateway_mode=GatewayMode.EXTERNAL, gateway_url="https://gw.test:5000",
                        login_url="https://desk.example/gateway/", allow_insecure_gateway=True)
    m = GatewayManager(settings, limiter=private_limiter)
    m._keeper.http.sleep = lambda _s: None
    yield m
    m.stop()


def test_a_dropped_brokerage_session_is_reopened_once_then_a_person_is_asked(manager, requests_mock, monkeypatch):
    from ibkr.gateway import _keeper

    monkeypatch.setattr(_keeper, "INIT_GRACE_SECONDS", 0.0)
    prompts = []
    manager.on_prompt(prompts.append)
    requests_mock.post(TICKLE, json=tickle_with(authenticated=False))
    requests_mock.post(AUTH_STATUS, json={"authenticated": False, "competing": False, "connected": True, "fail": ""})
    init = requests_mock.post(f"{BASE}/iserver/auth/ssodh/init", json={"authenticated": False, "connected": True})

    manager._keeper.probe_now()  # first tickle: re-initialise (no prompt yet), never with compete
    assert init.call_count == 1 and init.last_request.json() == {"publish": True, "compete": False}
    assert prompts == []
    manager._keeper.probe_now()  # still shut: ask a person, do not loop on ssodh/init

    assert init.call_count == 1
    assert manager.state is AuthState.NOT_CONNECTED
    assert [p.kind for p in prompts] == [PromptKind.TWO_FACTOR_PENDING]
    assert prompts[0].actions == (PromptAction.REAUTHENTICATE, PromptAction.LOGOUT)


def test_after_reauthentication_the_brokerage_session_is_primed(manager, requests_mock, monkeypatch):
    from ibkr.gateway import _keeper

    monkeypatch.setattr(_keeper, "INIT_GRACE_SECONDS", 0.0)
    requests_mock.post(TICKLE, json=tickle_with(authenticated=False))
    requests_mock.post(AUTH_STATUS, json={"authenticated": False, "competing": False, "connected": True, "fail": ""})
    requests_mock.post(f"{BASE}/iserver/auth/ssodh/init", json=load_sample("POST_iserver_auth_ssodh_init.json"))
    accounts = requests_mock.get(f"{BASE}/iserver/accounts", json={"accounts": ["DU1"]})
    requests_mock.get(f"{BASE}/sso/validate", json=load_sample("GET_sso_validate.json"))

    manager._keeper.probe_now()

    assert manager.state is AuthState.AUTHENTICATED
    assert accounts.call_count == 1
    assert manager.status().sso_user == "user1234" and manager.status().paper is True


def test_a_not_connected_login_gets_time_to_open_by_itself_and_a_session_held_elsewhere_is_never_taken(
        manager, requests_mock):
    # The keeper sent ssodh/init with compete=true whenever a tickle read "not connected": the transient state
    # right after a login, and IBKR's answer once it refused to open a session TWS holds (ibeam #73). Both
    # disconnected the trader's TWS without asking.
    prompts = []
    manager.on_prompt(prompts.append)
    init = requests_mock.post(f"{BASE}/iserver/auth/ssodh/init", json={"authenticated": True, "connected": True})
    requests_mock.post(TICKLE, json=tickle_with(authenticated=False))
    requests_mock.post(AUTH_STATUS, json={"authenticated": False, "competing": False, "connected": True, "fail": ""})
    manager._keeper.probe_now()
    assert init.call_count == 0 and manager.state is AuthState.NOT_CONNECTED and prompts == []

    # IBKR's auth/status (the tickle leaves its "fail" out) once TWS holds the session.
    requests_mock.post(AUTH_STATUS, json={"authenticated": False, "competing": False, "connected": True,
                                          "fail": "Force compete capability must be used together with compete flag"})
    manager._keeper.probe_now()
    assert init.call_count == 0, "no take-over without a person"
    assert manager.state is AuthState.COMPETING
    assert [p.kind for p in prompts] == [PromptKind.COMPETING_SESSION]
    assert PromptAction.TAKE_OVER in prompts[0].actions


def test_login_prompts_carry_the_login_url_and_a_lost_session_says_expired(manager, requests_mock):
    prompts = []
    manager.on_prompt(prompts.append)
    requests_mock.get(f"{BASE}/iserver/accounts", json={"accounts": ["DU1"]})
    requests_mock.get(f"{BASE}/sso/validate", json=load_sample("GET_sso_validate.json"))
    requests_mock.post(TICKLE, [{"status_code": 401}, {"json": SUCCESS}, {"status_code": 401}, {"status_code": 401}])

    for _ in range(4):
        manager._keeper.probe_now()

    # the expiry stays said until the next login (the tickle after it used to replace it with a plain "log in")
    assert [p.kind for p in prompts] == [PromptKind.LOGIN_REQUIRED, PromptKind.SESSION_EXPIRED]
    assert all(p.login_url == "https://desk.example/gateway/" and p.login_url in p.message for p in prompts)
    assert manager.prompt is prompts[-1]


def test_a_competing_session_is_offered_take_over_and_a_broken_callback_is_contained(manager, requests_mock):
    seen = []
    manager.on_prompt(lambda p: 1 / 0)
    manager.on_prompt(seen.append)
    requests_mock.post(TICKLE, json=tickle_with(competing=True, authenticated=False))

    manager._keeper.probe_now()
    manager._keeper.probe_now()  # the same situation does not prompt twice

    assert manager.state is AuthState.COMPETING
    assert [p.kind for p in seen] == [PromptKind.COMPETING_SESSION]
    assert PromptAction.TAKE_OVER in seen[0].actions


def test_an_external_gateway_that_is_down_is_reported_not_restarted(manager, requests_mock):
    prompts = []
    manager.on_prompt(prompts.append)
    requests_mock.post(TICKLE, exc=requests.exceptions.ConnectionError("Connection refused"))

    manager._keeper.probe_now()

    assert manager.state is AuthState.NOT_RUNNING
    assert [p.kind for p in prompts] == [PromptKind.GATEWAY_DOWN]
    assert prompts[0].actions == () and "https://gw.test:5000" in prompts[0].message
    assert manager.status().restarts == 0 and manager.pid is None


@pytest.fixture
def adopting(private_limiter, monkeypatch):
    """A sim-mode manager (it starts and restarts its own gateway) using a gateway it found running: no process."""
    settings = Settings(_env_file=None, gateway_mode=GatewayMode.SIM, gateway_url="https://gw.test:5000")
    m = GatewayManager(settings, limiter=private_limiter)
    m._keeper.http.sleep = lambda _s: None
    m._keeper.owned_elsewhere = lambda: None
    yield m
    m.stop()


@pytest.mark.parametrize("listening", [True, False], ids=["still-listening", "gone"])
def test_an_adopted_gateway_that_misses_tickles_is_not_relaunched_on_its_own_port(adopting, requests_mock,
                                                                                   monkeypatch, listening):
    # REVIEW-RELIABILITY 3d: one slow tickle of a gateway found running launched a second one on the held port,
    # which failed and spent the restart budget until "automatic restarts are paused".
    from ibkr.gateway import _keeper

    monkeypatch.setattr(_keeper, "port_open", lambda host, port: listening)
    prompts = []
    adopting.on_prompt(prompts.append)
    requests_mock.post(TICKLE, exc=requests.exceptions.ReadTimeout("read timed out"))
    keeper = adopting._keeper

    keeper.probe_now()
    if not listening:  # nothing holds the port: the gateway is gone, so this manager starts its own at once
        assert keeper._restart_at is not None and [p.kind for p in prompts] == [PromptKind.GATEWAY_DOWN]
        return
    keeper.probe_now()
    assert keeper._restart_at is None and prompts == []  # two missed tickles: not an outage yet
    keeper.probe_now()
    keeper.probe_now()
    assert keeper._restart_at is None and not keeper.gave_up and adopting.status().restarts == 0
    assert [p.kind for p in prompts] == [PromptKind.GATEWAY_DOWN] and prompts[0].actions == ()
    assert "was running before this dashboard started" in prompts[0].message
    assert adopting.state is AuthState.NOT_RUNNING
    requests_mock.post(TICKLE, json=SUCCESS)
    requests_mock.get(f"{BASE}/iserver/accounts", json={"accounts": ["DU1"]})
    requests_mock.get(f"{BASE}/sso/validate", json=load_sample("GET_sso_validate.json"))
    keeper.probe_now()
    assert adopting.state is AuthState.AUTHENTICATED and keeper._unanswered == 0


def test_a_request_that_finds_the_session_gone_has_the_keeper_look_at_once_not_at_its_next_minute(manager,
                                                                                                   requests_mock):
    # REVIEW-RELIABILITY 11: a logout or competing login elsewhere was noticed only at the next 60 s tickle; until
    # then Submit and every read failed with no prompt.
    from ibkr.sessions import session_lost

    prompts = []
    manager.on_prompt(prompts.append)
    requests_mock.get(f"{BASE}/iserver/accounts", json={"accounts": ["DU1"]})
    requests_mock.get(f"{BASE}/sso/validate", json=load_sample("GET_sso_validate.json"))
    tickles = requests_mock.post(TICKLE, [{"json": SUCCESS}, {"status_code": 401}])
    keeper = manager._keeper
    keeper.watch_requests()
    keeper.probe_now()
    assert manager.state is AuthState.AUTHENTICATED
    keeper._last_tickle_at -= 3  # a few seconds later, well inside the 60 s keep-alive interval

    keeper.tick()
    assert tickles.call_count == 1  # nothing doubted: the keep-alive waits its minute
    session_lost("https://gw.test:5000")  # what the transport says when a client's request gets a 401
    keeper.tick()

    assert tickles.call_count == 2 and manager.state is AuthState.NO_SESSION
    assert [p.kind for p in prompts] == [PromptKind.SESSION_EXPIRED]
    keeper.shutdown()
    session_lost("https://gw.test:5000")  # a stopped keeper no longer listens
    assert keeper._doubted is False
