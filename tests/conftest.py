"""Shared fixtures: the simulated gateway as a real HTTPS server in a child process, stopped after use."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from ibkr.gateway import SimProcess

ROOT = Path(__file__).resolve().parents[1]

ARTIFACTS = ROOT / "test-artifacts"


class SimHandle:
    """A running simulator: its origin, pinned certificate, an HTTPS session and the admin API."""

    def __init__(self, proc: SimProcess) -> None:
        self.proc = proc
        self.paced = "--no-pacing" not in proc.args  # the simulator enforces IBKR's pacing limits
        self.url = proc.url or ""
        self.cert = proc.cert
        self.http = requests.Session()
        self.http.verify = str(self.cert)
        self.http.trust_env = False

    def api(self, method: str, path: str, **kwargs) -> requests.Response:
        return self.http.request(method, f"{self.url}/v1/api{path}", timeout=30, **kwargs)

    def admin(self, method: str, path: str, **kwargs) -> dict:
        r = self.http.request(method, f"{self.url}/sim/{path}", timeout=30, **kwargs)
        r.raise_for_status()
        return r.json()

    def state(self) -> dict:
        return self.admin("GET", "state")

    def stats(self) -> dict:
        return self.admin("GET", "stats")

    def session_action(self, action: str) -> dict:
        return self.admin("POST", "session", json={"action": action})

    def fault(self, **spec) -> dict:
        return self.admin("POST", "faults", json=spec)

    def clear_faults(self) -> dict:
        return self.admin("DELETE", "faults")

    def prime(self) -> None:
        """What a client does after login: /iserver/accounts and /portfolio/accounts."""
        assert self.api("GET", "/iserver/accounts").status_code == 200
        assert self.api("GET", "/portfolio/accounts").status_code == 200

    def close(self) -> None:
        self.http.close()
        self.proc.stop()


@pytest.fixture(scope="session", autouse=True)
def _state_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Nothing a test runs keeps state (logs, the pacing windows) in the user's own ~/.local/state."""
    saved = os.environ.get("XDG_STATE_HOME")
    os.environ["XDG_STATE_HOME"] = str(tmp_path_factory.mktemp("state-home"))
    yield
    if saved is None:
        os.environ.pop("XDG_STATE_HOME", None)
    else:
        os.environ["XDG_STATE_HOME"] = saved


@pytest.fixture(scope="session")
def cert_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("sim-cert")


@pytest.fixture(scope="session")
def start_sim(cert_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator:
    """Factory: ``start_sim("--auto-login", "--positions", "100")`` -> SimHandle; all stopped at session end."""
    handles: list[SimHandle] = []
    logs = tmp_path_factory.mktemp("sim-logs")

    def start(*args: str) -> SimHandle:
        argv = ["--port", "0", "--tick-seconds", "0", *args]
        proc = SimProcess(argv, cert_dir, log_path=logs / f"sim-{len(handles)}.log")
        proc.start()
        handle = SimHandle(proc)
        handles.append(handle)
        return handle

    yield start
    for handle in handles:
        handle.close()


@pytest.fixture(scope="module")
def sim(start_sim) -> Iterator[SimHandle]:
    """A logged-in simulator with frozen prices and no pacing, shared by one test module. REST's pnl/partitioned
    answers without a websocket (the tests of the REST client need no socket)."""
    handle = start_sim("--auto-login", "--no-pacing", "--no-pnl-needs-spl")
    yield handle
    handle.close()


@pytest.fixture
def own_sim(start_sim) -> Iterator[SimHandle]:
    """A logged-in, primed simulator for one test alone (tests that log out, compete or log in again)."""
    handle = start_sim("--auto-login", "--no-pacing")
    handle.prime()
    yield handle
    handle.close()


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


def chromium_or_skip() -> str:
    """Debian's Chromium; under CI a missing browser fails instead of skipping."""
    path = "/usr/bin/chromium"
    if not os.path.exists(path):
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail("Debian's chromium is not installed at /usr/bin/chromium (make test installs it)")
        pytest.skip("Debian's chromium is not installed; run `make test` to install it")
    return path


CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
