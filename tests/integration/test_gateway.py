"""The gateway manager against the simulated gateway over real HTTPS: it starts the simulator itself on a free
port (sim mode) or runs a clientportal.gw-shaped folder (local mode), keeps the session alive, restarts a killed
gateway, recovers the brokerage session, and prompts when a person must act.

The simulator is the truth: ``/sim/state`` says whether the session lives. It applies its idle timeout when a
request arrives, so :meth:`SimAdmin.session` first loads the login page (which neither needs nor touches the
session) and then reads the state.
"""

from __future__ import annotations

import json
import os
import shlex
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests

from ibkr import ConfigurationError, Settings, SimSettings
from ibkr.gateway import AuthState, GatewayManager, Prompt, PromptAction, PromptKind, SimProcess
from ibkr.gateway._keeper import FAST_PROBE_SECONDS as FAST_PROBE

ROOT = Path(__file__).resolve().parents[2]
KEEPALIVE_ONLY = {"POST /tickle", "GET /iserver/accounts", "GET /sso/validate"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(predicate: Callable[[], object], timeout: float = 20.0, what: str = "condition") -> float:
    """Poll ``predicate`` (exceptions count as "not yet") until it is truthy; return the seconds it took."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        try:
            if predicate():
                return time.monotonic() - start
        except requests.RequestException:
            pass
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")


class SimAdmin:
    """The simulator's own admin API (not IBKR's), with the simulator's certificate pinned."""

    def __init__(self, url: str, cert: Path) -> None:
        self.url = url
        self.http = requests.Session()
        self.http.verify = str(cert)
        self.http.trust_env = False
        self.http.headers["Connection"] = "close"  # no idle connection to hold the simulator's shutdown back

    def session(self) -> dict:
        self.http.get(f"{self.url}/", timeout=10)  # lets the simulator apply its idle timeout
        return self.http.get(f"{self.url}/sim/state", timeout=10).json()["session"]

    def act(self, action: str) -> None:
        self.http.post(f"{self.url}/sim/session", json={"action": action}, timeout=10).raise_for_status()

    def requests_seen(self) -> dict[str, int]:
        return self.http.get(f"{self.url}/sim/stats", timeout=10).json()["requests"]


class Inbox:
    """A prompt callback that remembers the prompts and the threads it was called on."""

    def __init__(self) -> None:
        self.prompts: list[Prompt] = []
        self.threads: set[str] = set()

    def __call__(self, prompt: Prompt) -> None:
        self.prompts.append(prompt)
        self.threads.add(threading.current_thread().name)

    def kinds(self) -> list[PromptKind]:
        return [p.kind for p in self.prompts]


@pytest.fixture
def managers(cert_dir, tmp_path):
    """Factory for managers in sim mode on a free port (auto-login, 1 s tickle); every one is stopped after."""
    made: list[GatewayManager] = []

    def make(port: int | None = None, **fields) -> GatewayManager:
        settings = {"gateway_mode": "sim", "gateway_url": f"https://localhost:{port or free_port()}",
                    "sim_cert_dir": cert_dir, "tickle_seconds": 1, "sim_auto_login": True, "sim_idle_timeout": 60,
                    "sim_tick_seconds": 0, "sim_penalty_seconds": 1, **fields}
        sim = SimSettings(_env_file=None, **{k.removeprefix("sim_"): v for k, v in settings.items() if k.startswith("sim_")})
        own = {k: v for k, v in settings.items() if not k.startswith("sim_")}
        manager = GatewayManager(Settings(_env_file=None, sim=sim, **own), log_dir=tmp_path / "logs")
        made.append(manager)
        return manager

    yield make
    for manager in made:
        manager.stop()


def admin_for(manager: GatewayManager, cert_dir: Path) -> SimAdmin:
    return SimAdmin(manager.settings.gateway_url, cert_dir / "cert.pem")


def report(what: str, seconds: float) -> None:
    print(f"\n[gateway recovery] {what}: {seconds:.2f} s")


# ---- keep-alive ---------------------------------------------------------------------------------------------
def test_the_keep_alive_holds_the_session_through_four_idle_timeouts(managers, start_sim, cert_dir):
    # Arrange: a 3 s idle timeout, twice: one simulator kept alive by the manager, one left alone.
    manager = managers(sim_idle_timeout=3).start()
    kept = admin_for(manager, cert_dir)
    alone = start_sim("--auto-login", "--idle-timeout", "3")
    assert manager.wait_for(AuthState.AUTHENTICATED, timeout=10)

    # Act: no traffic but the manager's for more than four idle timeouts.
    time.sleep(13)

    # Assert
    session = kept.session()
    assert session["sso"] and session["authenticated"], session
    assert not any("session ended" in e for e in session["events"]), session["events"]
    seen = kept.requests_seen()
    assert set(seen) <= KEEPALIVE_ONLY and seen["POST /tickle"] >= 10, seen
    assert manager.state is AuthState.AUTHENTICATED
    alone.http.get(f"{alone.url}/", timeout=10)
    assert alone.state()["session"]["sso"] is False
    assert "session ended: idle timeout" in alone.state()["session"]["events"]


def primed_manager(managers, cert_dir, *callbacks) -> tuple[GatewayManager, Inbox, SimAdmin]:
    """Arrange: an auto-login manager with ``callbacks`` and an Inbox registered, started and primed once."""
    inbox = Inbox()
    manager = managers()
    for callback in (*callbacks, inbox):
        manager.on_prompt(callback)
    manager.start()
    admin = admin_for(manager, cert_dir)
    wait_until(lambda: admin.session()["primed_iserver"], what="the first priming")
    return manager, inbox, admin


# ---- supervision --------------------------------------------------------------------------------------------
def test_a_killed_gateway_is_restarted_and_authenticated_again(managers, cert_dir):
    manager, inbox, admin = primed_manager(managers, cert_dir)
    killed = manager.pid

    os.kill(killed, signal.SIGKILL)
    took = wait_until(lambda: manager.pid not in (None, killed) and manager.state is AuthState.AUTHENTICATED
                      and admin.session()["primed_iserver"], what="a new, authenticated and primed gateway")

    report("kill -9 -> AUTHENTICATED and primed", took)
    assert SimProcess.wait_gone(killed)
    assert PromptKind.GATEWAY_DOWN in inbox.kinds()
    assert manager.prompt is None  # resolved once authenticated again
    assert manager.status().restarts == 1
    assert inbox.threads == {f"ibkr-gateway-manager-{manager.settings.gateway_port}"}


def test_a_killed_gateway_without_auto_login_comes_back_asking_for_a_login(managers):
    inbox = Inbox()
    manager = managers(sim_auto_login=False)
    manager.on_prompt(inbox)
    manager.start()
    assert manager.wait_for(AuthState.NO_SESSION, timeout=10)
    killed = manager.pid

    os.kill(killed, signal.SIGKILL)
    wait_until(lambda: manager.pid not in (None, killed) and manager.state is AuthState.NO_SESSION
               and len(inbox.prompts) == 3, what="the restarted gateway's login prompt")

    assert inbox.kinds() == [PromptKind.LOGIN_REQUIRED, PromptKind.GATEWAY_DOWN, PromptKind.LOGIN_REQUIRED]
    login = inbox.prompts[-1]
    assert login.login_url == manager.settings.effective_login_url and login.login_url in login.message
    assert login.actions == (PromptAction.LOG_IN,)


# ---- session recovery ---------------------------------------------------------------------------------------
def test_a_competing_session_prompts_and_take_over_wins_it_back(managers, cert_dir):
    broken = lambda prompt: 1 / 0  # noqa: E731 - a broken callback must not stop the others
    manager, inbox, admin = primed_manager(managers, cert_dir, broken)

    admin.act("compete")
    noticed = wait_until(lambda: PromptKind.COMPETING_SESSION in inbox.kinds(), what="the competing prompt")
    assert manager.state is AuthState.COMPETING
    assert PromptAction.TAKE_OVER in inbox.prompts[-1].actions
    started = time.monotonic()
    state = manager.take_over()
    took = time.monotonic() - started

    report("compete -> COMPETING_SESSION prompt", noticed)
    report("take_over() -> AUTHENTICATED and primed", took)
    assert state is AuthState.AUTHENTICATED
    session = admin.session()
    assert session["authenticated"] and not session["competing"] and session["primed_iserver"]
    assert manager.prompt is None


def test_a_session_tws_holds_is_never_taken_over_by_a_reauthenticate_only_by_a_persons_take_over(
        managers, cert_dir):
    # After a plain re-open attempt IBKR answers competing:false with a "Force compete" fail (ibeam #73); the
    # keeper read that as "not connected" and sent compete=true by itself, disconnecting the trader's TWS.
    manager, inbox, admin = primed_manager(managers, cert_dir)
    admin.act("compete")
    wait_until(lambda: PromptKind.COMPETING_SESSION in inbox.kinds(), what="the competing prompt")

    manager.reauthenticate()  # a person's re-authenticate is not a take over
    session = admin.session()
    assert not session["authenticated"] and not session["competing"], "IBKR's shape after the refusal"
    time.sleep(3 * FAST_PROBE)  # several keep-alive probes of that shape
    assert manager.state is AuthState.COMPETING
    assert admin.session()["held_elsewhere"], "the keeper took the session from TWS without asking"
    assert manager.take_over() is AuthState.AUTHENTICATED


def test_a_dropped_brokerage_session_is_reopened_and_primed_without_bothering_anyone(managers, cert_dir):
    manager, inbox, admin = primed_manager(managers, cert_dir)

    admin.act("drop_brokerage")
    took = wait_until(lambda: (s := admin.session())["authenticated"] and s["primed_iserver"], what="re-priming")

    report("drop_brokerage -> AUTHENTICATED and re-primed", took)
    assert "brokerage session initialised" in admin.session()["events"]
    assert manager.state is AuthState.AUTHENTICATED
    assert inbox.prompts == []


def test_an_expired_session_asks_for_a_login_and_a_new_login_is_picked_up(managers, cert_dir):
    manager, inbox, admin = primed_manager(managers, cert_dir)

    admin.act("expire")
    wait_until(lambda: inbox.kinds() == [PromptKind.SESSION_EXPIRED], what="the expiry prompt")
    admin.act("login")  # what the person does in the browser
    wait_until(lambda: manager.state is AuthState.AUTHENTICATED and admin.session()["primed_iserver"],
               what="the new login to be picked up and primed")

    assert manager.prompt is None


def test_logout_ends_the_session_and_asks_for_a_login(managers, cert_dir):
    inbox = Inbox()
    manager = managers().start()
    manager.on_prompt(inbox)
    assert manager.wait_for(AuthState.AUTHENTICATED, timeout=10)

    state = manager.logout()

    assert state is AuthState.NO_SESSION
    assert admin_for(manager, cert_dir).session()["sso"] is False
    assert inbox.kinds() == [PromptKind.LOGIN_REQUIRED]


# ---- modes and ports ----------------------------------------------------------------------------------------
def fake_gateway_folder(tmp_path: Path, port: int, cert_dir: Path) -> Path:
    """A clientportal.gw folder whose bin/run.sh starts the simulator where IBKR's starts Java."""
    folder = tmp_path / "clientportal.gw"
    (folder / "bin").mkdir(parents=True)
    (folder / "root").mkdir()
    run = folder / "bin" / "run.sh"
    run.write_text("#!/bin/sh\n# IBKR's run.sh: java -server ... GatewayStart --conf ../$1\n"
                   f"exec {shlex.quote(sys.executable)} -m ibkr_sim --port {port} --cert-dir "
                   f"{shlex.quote(str(cert_dir))} --auto-login --tick-seconds 0 --penalty-seconds 1\n")
    run.chmod(0o755)
    (folder / "root" / "conf.yaml").write_text(f"ip2loc: \"US\"\nlistenPort: {port}\nlistenSsl: true\n")
    return folder


@pytest.fixture
def fake_java(tmp_path, monkeypatch) -> Path:
    bin_dir = tmp_path / "fake-bin"
    bin_dir.mkdir()
    java = bin_dir / "java"
    java.write_text("#!/bin/sh\necho 'openjdk version \"17.0.9\" 2023-10-17' >&2\n")
    java.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    return java


def test_local_mode_runs_the_gateway_folder_and_cannot_tell_it_from_ibkrs(managers, tmp_path, cert_dir, fake_java):
    port = free_port()
    folder = fake_gateway_folder(tmp_path, port, cert_dir)
    inbox = Inbox()
    manager = managers(port=port, gateway_mode="local", gateway_dir=folder, verify_ssl=cert_dir / "cert.pem")
    manager.on_prompt(inbox)

    manager.start()
    assert manager.wait_for(AuthState.AUTHENTICATED, timeout=20)
    first = manager.pid
    os.kill(first, signal.SIGKILL)
    wait_until(lambda: manager.pid not in (None, first) and manager.state is AuthState.AUTHENTICATED,
               what="the local gateway to be restarted")

    status = manager.status()
    assert (status.mode, status.managed, status.server_name) == ("local", True, "SimGW01")
    assert inbox.kinds() == [PromptKind.GATEWAY_DOWN]
    assert "ready https://" in Path(status.log_path).read_text()  # the gateway's output went to its log
    second = manager.pid
    manager.stop()
    assert SimProcess.wait_gone(second)


def _no_folder(folder: Path, monkeypatch) -> Path:
    return folder.parent / "missing"


def _no_run_script(folder: Path, monkeypatch) -> Path:
    (folder / "bin" / "run.sh").unlink()
    return folder


def _port_disagrees(folder: Path, monkeypatch) -> Path:
    (folder / "root" / "conf.yaml").write_text("listenPort: 5000\nlistenSsl: true\n")
    return folder


def _no_java(folder: Path, monkeypatch) -> Path:
    monkeypatch.setenv("PATH", str(folder / "bin"))
    return folder


@pytest.mark.parametrize(
    ("arrange", "message"),
    [
        (_no_folder, "IBKR_GATEWAY_DIR=.*missing is not a folder"),
        (_no_run_script, "has no bin/run.sh"),
        (_port_disagrees, "listenPort: 5000 but IBKR_GATEWAY_URL uses port"),
        (_no_java, "needs Java, and `java` is not on PATH"),
    ],
    ids=["no-folder", "no-run-script", "port-disagrees", "no-java"],
)
def test_local_mode_says_what_is_wrong_with_the_setup(managers, tmp_path, cert_dir, fake_java, monkeypatch,
                                                      arrange, message):
    port = free_port()
    gateway_dir = arrange(fake_gateway_folder(tmp_path, port, cert_dir), monkeypatch)
    manager = managers(port=port, gateway_mode="local", gateway_dir=gateway_dir)

    with pytest.raises(ConfigurationError, match=message):
        manager.start()
    assert manager.pid is None and manager.state is AuthState.NOT_RUNNING


@pytest.fixture
def plain_tcp_server():
    """A TCP server that answers anything with a line of plain text (no TLS, not a gateway)."""
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                continue
            with conn:
                conn.settimeout(1)
                try:
                    conn.recv(4096)
                    conn.sendall(b"HTTP/1.0 200 OK\r\n\r\nhello\r\n")
                except OSError:
                    pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    thread.join(2)
    server.close()


@pytest.mark.parametrize("mode", ["sim", "external"])
def test_a_port_held_by_something_that_is_not_a_gateway_is_a_clear_error(managers, plain_tcp_server, mode):
    manager = managers(port=plain_tcp_server, gateway_mode=mode)

    with pytest.raises(ConfigurationError, match=f"Port {plain_tcp_server} .*not an IBKR gateway.*TLS"):
        manager.start()
    assert manager.pid is None and manager.state is AuthState.NOT_RUNNING


def test_a_held_port_is_a_clear_error_also_before_the_simulator_ever_wrote_its_certificate(managers,
                                                                                          plain_tcp_server, tmp_path):
    # On a fresh machine the simulator's certificate does not exist yet: the port check ended in a raw OSError
    # ("Could not find a suitable TLS CA certificate bundle") instead of saying who holds the port.
    manager = managers(port=plain_tcp_server, sim_cert_dir=tmp_path / "no-cert-yet")

    with pytest.raises(ConfigurationError, match=f"Port {plain_tcp_server} .*not an IBKR gateway.*TLS"):
        manager.start()
    assert manager.pid is None and not (tmp_path / "no-cert-yet" / "cert.pem").exists()


def test_a_gateway_whose_certificate_is_missing_here_is_named_not_a_raw_os_error(managers, start_sim, tmp_path):
    running = start_sim("--auto-login")
    manager = managers(port=urlsplit(running.url).port, sim_cert_dir=tmp_path / "other-cert-dir")

    with pytest.raises(ConfigurationError, match="A gateway answers on port .* certificate to trust it"):
        manager.start()
    assert running.proc.alive(), "the gateway found running is left alone"


def test_a_gateway_already_running_is_used_and_left_running(managers, start_sim):
    running = start_sim("--auto-login")
    manager = managers(port=urlsplit(running.url).port)

    manager.start()
    assert manager.wait_for(AuthState.AUTHENTICATED, timeout=10)
    assert manager.pid is None and manager.status().managed is False
    manager.stop()

    assert running.proc.alive()
    assert running.state()["session"]["sso"] is True


def test_stop_joins_the_thread_and_leaves_no_process(managers):
    manager = managers().start()
    assert manager.wait_for(AuthState.AUTHENTICATED, timeout=10)
    pid, name = manager.pid, f"ibkr-gateway-manager-{manager.settings.gateway_port}"

    manager.stop()
    manager.stop()  # idempotent

    assert name not in {t.name for t in threading.enumerate()}  # joined within stop()'s 2 s
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", manager.settings.gateway_port), timeout=1).close()
    assert manager.state is AuthState.NOT_RUNNING and manager.pid is None


def test_the_operator_command_reports_the_state(managers, cert_dir):
    manager = managers(tickle_seconds=30).start()  # one tickler at a time: the simulator paces tickles per IP
    assert manager.wait_for(AuthState.AUTHENTICATED, timeout=10)
    env = dict(os.environ, IBKR_GATEWAY_MODE="sim", IBKR_SIM_CERT_DIR=str(cert_dir),
               IBKR_GATEWAY_URL=manager.settings.gateway_url)
    # The status command tickles too: one tickle a second per IP (IBKR's limit, and its 429 is a 10-15 minute
    # penalty box), so an operator's check right on the keeper's heels would be a violation.
    time.sleep(1.2)

    up = subprocess.run([sys.executable, "-m", "ibkr.gateway", "status", "--json"], env=env, capture_output=True,
                        text=True, timeout=30, cwd=ROOT)
    manager.stop()
    down = subprocess.run([sys.executable, "-m", "ibkr.gateway", "status"], env=env, capture_output=True,
                          text=True, timeout=30, cwd=ROOT)

    assert up.returncode == 0, up.stderr
    assert json.loads(up.stdout)["state"] == "authenticated"
    assert down.returncode == 2 and "Gateway not running" in down.stdout


def test_restarting_the_gateway_keeper_twice_within_a_minute_provokes_no_429(start_sim, tmp_path):
    # IBKR allows one /sso/validate a minute, and a new process knows nothing of the last one's requests unless
    # the limiter's state outlives it: three starts of `python -m ibkr.gateway start` against one paced gateway.
    sim = start_sim("--auto-login", "--penalty-seconds", "600")
    env = dict(os.environ, IBKR_GATEWAY_MODE="external", IBKR_GATEWAY_URL=sim.url, IBKR_VERIFY_SSL=str(sim.cert),
               IBKR_TICKLE_SECONDS="30", XDG_STATE_HOME=str(tmp_path / "state"))
    validations = []
    for _ in range(3):
        keeper = subprocess.Popen([sys.executable, "-m", "ibkr.gateway", "start"], env=env, stdout=subprocess.PIPE,
                                  stderr=subprocess.DEVNULL, text=True, stdin=subprocess.DEVNULL)
        try:
            first = keeper.stdout.readline()  # printed once the session is seen (or after 30 s without one)
            assert "(AUTHENTICATED)" in first, first
            time.sleep(1.5)  # the keeper primes and validates right after it sees the session
            validations.append(sim.stats()["requests"].get("GET /sso/validate", 0))
        finally:
            keeper.terminate()
            keeper.wait(15)
            keeper.stdout.close()

    stats = sim.stats()
    assert stats["rate_limited"] == 0, stats
    assert validations == [1, 1, 1]  # the second and third process saw the first one's validation and waited
    assert (tmp_path / "state" / "ibkr-desk" / "pacing.json").stat().st_mode & 0o777 == 0o600
