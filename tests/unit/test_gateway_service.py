"""The gateway service's record and a dashboard that follows it (ibkr.gateway._service), without a gateway.

The keeper is a real process whose command line names ``ibkr.gateway`` (as ``python -m ibkr.gateway start``
does), its pid file and status file real files in a temporary state folder.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from ibkr.config import Settings
from ibkr.errors import NotAuthenticated
from ibkr.gateway import AuthState, GatewayManager, PromptKind, _service
from ibkr.gateway._process import keeper_pid_file
from ibkr.gateway._record import StateRecord
from ibkr.sessions import brokerage_session


@pytest.fixture
def settings(tmp_path, monkeypatch) -> Settings:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    return Settings(_env_file=None, gateway_mode="external", gateway_url="https://localhost:59123",
                    gateway_keeper="service")


@pytest.fixture
def keeper() -> Iterator[subprocess.Popen]:
    """A live process whose command line says ibkr.gateway, standing in for the keeper."""
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)", "ibkr.gateway", "start"])
    # until it has exec'd, the child's command line is pytest's, and pid_in rightly says it is no keeper
    deadline = time.monotonic() + 10
    while b"ibkr.gateway" not in Path(f"/proc/{proc.pid}/cmdline").read_bytes() and time.monotonic() < deadline:
        time.sleep(0.01)
    yield proc
    proc.kill()
    proc.wait(5)


def publish(settings: Settings, keeper_pid: int, **fields) -> None:
    record = {"state": "authenticated", "pid": 4242, "sso_user": "ada", "paper": True, "server_name": "SimGW01",
              "last_tickle_result": "HTTP 200 tickle: authenticated, connected", "events": [], "prompt": None,
              "keeper_pid": keeper_pid, "written_at": time.time(), "brokerage_sessions": 1, **fields}
    path = _service.status_file(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record))


def write_pid(settings: Settings, pid: int) -> None:
    path = keeper_pid_file(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(str(pid))


def test_a_follower_shows_the_keepers_state_and_its_prompt(settings, keeper):
    write_pid(settings, keeper.pid)
    publish(settings, keeper.pid)
    record = StateRecord()
    follower = _service.ServiceFollower(settings, record, http=None)  # type: ignore[arg-type]  # no request made

    assert follower.refresh() is AuthState.AUTHENTICATED
    status = follower.status(running=True)
    assert (status.keeper_pid, status.pid, status.sso_user, status.paper, status.managed) == \
        (keeper.pid, 4242, "ada", True, False)
    assert record.sso == {"user": "ada", "paper": True}

    prompt = {"kind": "login_required", "message": "Log in at https://localhost:59123/", "actions": ["log_in"],
              "state": "no_session", "login_url": "https://localhost:59123/", "at": "2026-12-02T09:00:00+00:00"}
    publish(settings, keeper.pid, state="no_session", prompt=prompt, sso_user=None, paper=None)
    assert follower.refresh() is AuthState.NO_SESSION
    assert record.prompt is not None and record.prompt.kind is PromptKind.LOGIN_REQUIRED
    assert record.prompt.message == "Log in at https://localhost:59123/" and record.sso == {}

    publish(settings, keeper.pid)
    follower.refresh()
    assert record.prompt is None and record.state is AuthState.AUTHENTICATED


def test_a_stale_record_or_a_missing_keeper_is_not_running_and_says_what_to_do(settings, keeper, monkeypatch):
    write_pid(settings, keeper.pid)
    publish(settings, keeper.pid, written_at=time.time() - _service.STALE_SECONDS - 1)
    record = StateRecord()
    follower = _service.ServiceFollower(settings, record, http=None)  # type: ignore[arg-type]

    assert follower.refresh() is AuthState.NOT_RUNNING
    assert record.prompt is not None and "stopped reporting" in record.prompt.message

    publish(settings, keeper.pid + 100000)  # a record left by an earlier keeper
    follower.refresh()
    assert f"service (pid {keeper.pid}) is starting" in record.prompt.message

    keeper.kill()
    keeper.wait(5)
    follower.refresh()
    assert record.state is AuthState.NOT_RUNNING
    assert "systemctl start ibkr-desk-gateway" in record.prompt.message
    monkeypatch.setattr(_service, "GONE_SECONDS", 0.0)
    assert not follower.abandoned()  # IBKR_GATEWAY_KEEPER=service: the service keeps it, however long it is away


def test_a_new_brokerage_session_of_the_keeper_restarts_this_process_warm_ups(settings, keeper):
    write_pid(settings, keeper.pid)
    publish(settings, keeper.pid, brokerage_sessions=3)
    follower = _service.ServiceFollower(settings, StateRecord(), http=None)  # type: ignore[arg-type]
    follower.refresh()
    before = brokerage_session(settings.gateway_url)
    follower.refresh()
    assert brokerage_session(settings.gateway_url) == before
    publish(settings, keeper.pid, brokerage_sessions=4)
    follower.refresh()
    assert brokerage_session(settings.gateway_url) == before + 1


def test_a_manager_follows_by_the_setting_or_a_running_keeper_but_the_keeper_never_follows(settings, keeper):
    assert GatewayManager(settings).follower is not None  # service
    auto = settings.model_copy(update={"gateway_keeper": "auto"})
    assert GatewayManager(auto).follower is None  # no keeper runs
    write_pid(settings, keeper.pid)
    assert GatewayManager(auto).follower is not None
    assert GatewayManager(settings, follow=False).follower is None  # python -m ibkr.gateway start


def test_the_keeper_publishes_its_status_privately_and_withdraws_it(settings):
    from ibkr.gateway import GatewayManager as Manager

    status = Manager(settings, follow=False).status()
    publisher = _service.Publisher(settings)
    publisher.maybe(status, reloads=2)
    path = _service.status_file(settings)
    data = json.loads(path.read_text())
    assert path.name == "gateway-59123.status.json" and path.stat().st_mode & 0o777 == 0o600
    assert data["state"] == "not_running" and data["reloads"] == 2 and isinstance(data["written_at"], float)
    publisher.withdraw()
    assert not path.exists()


def test_the_keeper_hands_its_session_token_to_followers_through_its_private_record_only(settings, keeper):
    """A follower's websocket opens with the keeper's session (``Cookie: api=<tickle.session>``), read from the
    keeper's 0600 record: no tickle of its own beside the keeper's. The token is in no status a page shows."""
    from ibkr.gateway import GatewayManager as Manager

    status = Manager(settings, follow=False).status()
    _service.Publisher(settings).maybe(status, session_token="s3cr3t-session")
    path = _service.status_file(settings)
    assert json.loads(path.read_text())["session_token"] == "s3cr3t-session"
    assert path.stat().st_mode & 0o777 == 0o600
    assert "s3cr3t" not in json.dumps(status.as_dict())

    write_pid(settings, keeper.pid)
    manager = Manager(settings)  # IBKR_GATEWAY_KEEPER=service: follows
    follower = manager.follower
    assert follower is not None
    publish(settings, keeper.pid, session_token="s3cr3t-session")
    follower.refresh()
    assert manager.session_token() == "s3cr3t-session"
    assert "s3cr3t" not in json.dumps(manager.status().as_dict())

    publish(settings, keeper.pid, state="no_session", session_token="s3cr3t-session")  # a logout: no session
    follower.refresh()
    with pytest.raises(NotAuthenticated, match="not published a session"):
        manager.session_token()
    publish(settings, keeper.pid, session_token="new-session")
    follower.refresh()
    assert manager.session_token() == "new-session"
    publish(settings, keeper.pid, written_at=time.time() - _service.STALE_SECONDS - 1)  # a keeper that hangs
    follower.refresh()
    with pytest.raises(NotAuthenticated):
        manager.session_token()
