"""The systemd units in deploy/systemd, run the way systemd runs them, with no browser.

The gateway keeper (``ibkr-desk-gateway.service``) and the dashboard (``ibkr-desk.service``) are started as child
processes from the units' own ``ExecStart``, ``Environment`` and ``EnvironmentFile`` lines (the file being
deploy/ibkr-desk.env.example plus this test's settings), so the units cannot drift from what is tested. The
simulator's session has a 6 s idle timeout; no page is ever opened; the keeper alone must keep the session alive
past three idle timeouts. A GatewayManager like the dashboard's ``services.gateway()`` follows the keeper
(IBKR_GATEWAY_KEEPER=service, from the dashboard's unit): it shows the keeper's state, never starts a gateway and
never keeps the session a second time; the running dashboard's Gateway page, read over Streamlit's websocket
(no browser), says so. Both services are stopped with SIGTERM, as ``systemctl stop`` does, and must leave nothing
behind.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
import websocket
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ClientState_pb2 import ClientState
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

from tests.dashboard_harness import free_port, port_open

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
UNITS = ROOT / "deploy" / "systemd"
GATEWAY_UNIT = UNITS / "ibkr-desk-gateway.service"
DESK_UNIT = UNITS / "ibkr-desk.service"
ENV_EXAMPLE = ROOT / "deploy" / "ibkr-desk.env.example"
VENV_PYTHON = "/opt/ibkr-desk/.venv/bin/python"  # the units' interpreter: the project venv of the install
IDLE_TIMEOUT = 6.0
STOP_SECONDS = 30.0  # TimeoutStopSec of both units


# ---- reading the units as systemd does (the part of the syntax they use) -----------------------------------------
def service_section(unit: Path) -> list[tuple[str, str]]:
    """The ``[Service]`` assignments of ``unit`` in order (keys repeat: Environment=)."""
    section, out = None, []
    for raw in unit.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            section = line.strip("[]")
        elif section == "Service":
            key, _, value = line.partition("=")
            out.append((key.strip(), value.strip()))
    return out


def values(unit: Path, key: str) -> list[str]:
    return [v for k, v in service_section(unit) if k == key]


def env_file(path: Path) -> dict[str, str]:
    """``EnvironmentFile=`` syntax: VAR=value lines, # comments."""
    out = {}
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if line and not line.startswith(("#", ";")) and "=" in line:
            key, _, value = line.partition("=")
            out[key.strip()] = value.strip()
    return out


def expand(text: str, specifiers: dict[str, str], env: dict[str, str] | None = None) -> str:
    """systemd's %-specifiers, then (in ExecStart) ``${VAR}`` from the service's environment."""
    text = re.sub(r"%(.)", lambda m: specifiers[m.group(1)], text)
    if env is not None:
        text = re.sub(r"\$\{(\w+)\}", lambda m: env[m.group(1)], text)
    return text


def service_command(unit: Path, specifiers: dict[str, str], env_path: Path) -> tuple[list[str], dict[str, str]]:
    """argv and environment of ``unit``'s ExecStart: Environment= lines, then the EnvironmentFile (which systemd
    applies after them), the interpreter being this project's venv."""
    (exec_start,) = values(unit, "ExecStart")
    (env_file_line,) = values(unit, "EnvironmentFile")
    assert env_file_line.lstrip("-") == "/etc/ibkr-desk/ibkr-desk.env"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("IBKR_", "XDG_", "STREAMLIT_", "DESK_"))}
    for assignment in values(unit, "Environment"):
        for part in shlex.split(assignment):
            key, _, value = part.partition("=")
            env[key] = expand(value, specifiers)
    env.update(env_file(env_path))
    argv = shlex.split(expand(exec_start, specifiers, env))
    assert argv[0] == VENV_PYTHON, f"{unit.name} does not run the project venv's python: {argv[0]}"
    return [sys.executable, *argv[1:]], env


# ---- processes ---------------------------------------------------------------------------------------------------
def sim_pids(port: int) -> list[int]:
    """Every ``python -m ibkr_sim`` process serving ``port`` on this machine."""
    pids = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            argv = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"ibkr_sim" in argv and b"--port" in argv and argv[argv.index(b"--port") + 1:][:1] == [str(port).encode()]:
            pids.append(int(proc.name))
    return pids


def sigterm(proc: subprocess.Popen, log: Path) -> int:
    """``systemctl stop``: SIGTERM to the main process, SIGKILL to the group after TimeoutStopSec."""
    proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(STOP_SECONDS)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(5)
        raise AssertionError(f"pid {proc.pid} ignored SIGTERM for {STOP_SECONDS:.0f} s; log:\n{log.read_text()}") from None


def page_texts(port: int, page: str, timeout: float = 90.0) -> list[str]:
    """Every string of one run of ``page`` of the dashboard on ``port``, asked over Streamlit's websocket as the
    browser's script does (a rerun BackMsg, then the ForwardMsgs up to ``script_finished``): no browser."""

    def strings(msg, out: list[str]) -> list[str]:
        for field, value in msg.ListFields():
            for item in value if field.is_repeated else [value]:
                if field.type == field.TYPE_MESSAGE:
                    strings(item, out)
                elif field.type == field.TYPE_STRING:
                    out.append(item)
        return out

    ws = websocket.create_connection(f"ws://127.0.0.1:{port}/_stcore/stream", host=f"127.0.0.1:{port}",
                                     origin=f"http://127.0.0.1:{port}", subprotocols=["streamlit"], timeout=timeout)
    try:
        ws.send_binary(BackMsg(rerun_script=ClientState(query_string="", page_name=page)).SerializeToString())
        texts: list[str] = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            msg = ForwardMsg()
            msg.ParseFromString(ws.recv())
            strings(msg, texts)
            if msg.WhichOneof("type") == "script_finished":
                return texts
        raise AssertionError(f"the {page} page did not finish within {timeout:.0f} s")
    finally:
        ws.close()


def until(check, timeout: float, what: str, log: Path | None = None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            result = check()
        except requests.RequestException:
            result = None
        if result:
            return result
        time.sleep(0.3)
    raise AssertionError(f"{what} within {timeout:.0f} s" + (f"; log:\n{log.read_text()[-4000:]}" if log else ""))


@pytest.fixture
def deployment(tmp_path: Path):
    """The state and cache directories systemd would create (%S, %C) and the EnvironmentFile, under tmp_path."""
    var_lib, var_cache = tmp_path / "var-lib", tmp_path / "var-cache"
    for d in (var_lib / "ibkr-desk", var_cache / "ibkr-desk"):
        d.mkdir(parents=True, mode=0o700)
    gw_port, ui_port = free_port(), free_port()
    settings = {
        "IBKR_GATEWAY_MODE": "sim", "IBKR_GATEWAY_URL": f"https://localhost:{gw_port}",
        "IBKR_SIM_AUTO_LOGIN": "true", "IBKR_SIM_IDLE_TIMEOUT": str(IDLE_TIMEOUT), "IBKR_TICKLE_SECONDS": "2",
        "IBKR_SIM_TICK_SECONDS": "0", "DESK_PORT": str(ui_port),
    }
    env_path = tmp_path / "ibkr-desk.env"
    env_path.write_text(ENV_EXAMPLE.read_text() + "\n# the test's\n"
                        + "".join(f"{k}={v}\n" for k, v in settings.items()))
    return {"specifiers": {"S": str(var_lib), "C": str(var_cache), "%": "%"}, "env_path": env_path,
            "gw_port": gw_port, "ui_port": ui_port, "state": var_lib / "ibkr-desk", "tmp": tmp_path}


def test_units_verify():
    """``systemd-analyze verify`` accepts both units (with this venv's python where the install's would be)."""
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed")
    here = Path(os.environ.get("TMPDIR", "/tmp"))
    copies = []
    for unit in (GATEWAY_UNIT, DESK_UNIT):
        copy = here / f"verify-{os.getpid()}-{unit.name}"
        copy.write_text(unit.read_text().replace(VENV_PYTHON, sys.executable))
        copies.append(copy)
    try:
        out = subprocess.run([analyze, "verify", *map(str, copies)], capture_output=True, text=True, timeout=60)
    finally:
        for copy in copies:
            copy.unlink()
    assert out.returncode == 0, out.stdout + out.stderr


def test_units_declare_what_the_deploy_guide_promises():
    for unit in (GATEWAY_UNIT, DESK_UNIT):
        service = dict(service_section(unit))
        assert service["Restart"] == "on-failure"
        assert service["NoNewPrivileges"] == "true"
        assert service["ProtectSystem"] == "strict"
        assert service["StateDirectory"] == "ibkr-desk"  # writable under ProtectSystem=strict
        assert service["PrivateTmp"] == "true"
        assert service["UMask"] == "0077"
        assert "ProtectProc" not in service  # the dashboard reads the keeper's /proc/<pid>/cmdline
    assert values(GATEWAY_UNIT, "ExecStart")[0].split()[1:] == ["-m", "ibkr.gateway", "start"]
    assert values(DESK_UNIT, "ExecStart")[0].split()[1:3] == ["-m", "ibkr_desk"]
    unit_section = DESK_UNIT.read_text().split("[Service]")[0]
    assert re.search(r"^Wants=.*\bibkr-desk-gateway\.service\b", unit_section, re.M)
    assert re.search(r"^After=.*\bibkr-desk-gateway\.service\b", unit_section, re.M)


def test_keeper_service_keeps_the_session_alive_with_no_browser(deployment, monkeypatch):
    d = deployment
    gw_port, ui_port, tmp = d["gw_port"], d["ui_port"], d["tmp"]
    keeper_argv, keeper_env = service_command(GATEWAY_UNIT, d["specifiers"], d["env_path"])
    desk_argv, desk_env = service_command(DESK_UNIT, d["specifiers"], d["env_path"])
    cert = Path(keeper_env["IBKR_SIM_CERT_DIR"]) / "cert.pem"
    assert Path(keeper_env["IBKR_SIM_CERT_DIR"]).is_relative_to(d["state"])
    truth = requests.Session()
    truth.trust_env = False
    gw = f"https://localhost:{gw_port}"
    ui = f"http://127.0.0.1:{ui_port}"
    keeper_log, desk_log = tmp / "keeper.log", tmp / "desk.log"
    keeper = desk = None
    try:
        with open(keeper_log, "w") as out:
            keeper = subprocess.Popen(keeper_argv, cwd=ROOT, env=keeper_env, stdout=out, stderr=out,
                                      stdin=subprocess.DEVNULL, start_new_session=True)
        until(cert.exists, 60, "the simulator wrote no certificate", keeper_log)
        truth.verify = str(cert)

        def session() -> dict:
            """The simulator's session, after it applied its idle timeout: its login page (``GET /``) ends an
            idle session without counting as activity (the expiry is otherwise checked on API calls only)."""
            page = truth.get(f"{gw}/", timeout=10)
            state = truth.get(f"{gw}/sim/state", timeout=10).json()["session"]
            return {**state, "login_page_says_logged_in": "Client login succeeds" in page.text}

        until(lambda: session()["authenticated"], 60, "the keeper's simulator never authenticated", keeper_log)
        with open(desk_log, "w") as out:
            desk = subprocess.Popen(desk_argv, cwd=ROOT, env=desk_env, stdout=out, stderr=out,
                                    stdin=subprocess.DEVNULL, start_new_session=True)
        until(lambda: truth.get(f"{ui}/_stcore/health", timeout=2).ok, 90, "the dashboard never answered", desk_log)

        (sim_pid,) = sim_pids(gw_port)
        assert sim_pid not in (keeper.pid, desk.pid)
        assert f"--idle-timeout\0{IDLE_TIMEOUT}\0" in Path(f"/proc/{sim_pid}/cmdline").read_text()
        assert str(keeper.pid) == (d["state"] / f"gateway-{gw_port}.pid").read_text().strip()

        # The dashboard's manager (services.gateway(), in this process with the dashboard's environment) follows
        # the keeper: its state, its gateway's pid, the keeper's pid; and leaves the gateway running when it stops.
        from ibkr.config import load_settings
        from ibkr.gateway import AuthState, GatewayManager, _service

        for key in [k for k in os.environ if k.startswith(("IBKR_", "XDG_"))]:
            monkeypatch.delenv(key)
        for key, value in desk_env.items():
            monkeypatch.setenv(key, value)
        monkeypatch.chdir(tmp)  # no .env of the working tree
        assert desk_env["IBKR_GATEWAY_KEEPER"] == "service"
        manager = GatewayManager(load_settings()).start()
        try:
            assert manager.follower is not None
            assert manager.wait_for(AuthState.AUTHENTICATED, timeout=30), manager.status()
            status = manager.status()
            assert (status.keeper_pid, status.pid, status.managed) == (keeper.pid, sim_pid, False), status
            assert status.sso_user == "demo" and status.last_tickle_result, status
        finally:
            manager.stop()
        assert sim_pids(gw_port) == [sim_pid] and session()["authenticated"]

        # With the keeper's pid file naming a live keeper and no gateway answering yet (the gateway service
        # starting or restarting it), the dashboard waits instead of starting a second gateway, and still when no
        # keeper runs at all: in this deployment the service keeps the gateway, whatever happens to it.
        other_port = free_port()
        monkeypatch.setenv("IBKR_GATEWAY_URL", f"https://localhost:{other_port}")
        monkeypatch.setattr(_service, "GONE_SECONDS", 1.0)
        pid_file = d["state"] / f"gateway-{other_port}.pid"
        pid_file.write_text(str(keeper.pid))
        waiting = GatewayManager(load_settings()).start()
        try:
            assert waiting.wait_for(AuthState.NOT_RUNNING, timeout=15), waiting.status()
            time.sleep(3)  # several ticks, each of which would have started one
            assert waiting.pid is None and sim_pids(other_port) == [] and not port_open(other_port)
            assert waiting.prompt is not None and f"service (pid {keeper.pid}) is starting" in waiting.prompt.message
            pid_file.unlink()
            until(lambda: "systemctl start ibkr-desk-gateway" in getattr(waiting.prompt, "message", ""), 10,
                  "no prompt to start the gateway service")
            time.sleep(3)
            assert waiting.follower is not None and sim_pids(other_port) == [] and not port_open(other_port)
        finally:
            waiting.stop()
        # IBKR_GATEWAY_KEEPER=auto (a desk on a workstation): once no keeper is left, the dashboard keeps the
        # session itself and runs a gateway of its own, as a dashboard alone does.
        monkeypatch.setenv("IBKR_GATEWAY_KEEPER", "auto")
        pid_file.write_text(str(keeper.pid))
        alone = GatewayManager(load_settings()).start()
        try:
            assert alone.follower is not None
            pid_file.unlink()
            until(lambda: sim_pids(other_port), 30, "the manager never started its own gateway")
            assert alone.follower is None and alone.wait_for(AuthState.AUTHENTICATED, timeout=30), alone.status()
        finally:
            alone.stop()
        until(lambda: not sim_pids(other_port) and not port_open(other_port), 10, "the manager's own gateway stayed")

        # From here only the keeper talks to the gateway's API.
        watched_from = time.monotonic()
        tickles_before = truth.get(f"{gw}/sim/stats", timeout=10).json()["requests"]

        # Past three idle timeouts with no page open, the session is the one logged in at the start.
        while time.monotonic() - watched_from < 3 * IDLE_TIMEOUT + 2:
            now = session()
            assert now["authenticated"] and now["connected"] and now["login_page_says_logged_in"], now
            time.sleep(1.0)
        now = session()
        assert now["authenticated"], now
        assert now["events"].count("login") == 1 and not [e for e in now["events"] if e.startswith("session ended")]
        tickles = truth.get(f"{gw}/sim/stats", timeout=10).json()["requests"]
        tickle_key = next(k for k in tickles if k.endswith("/tickle"))
        assert tickles[tickle_key] > tickles_before.get(tickle_key, 0)  # the keeper (no page) tickled
        assert sim_pids(gw_port) == [sim_pid]  # one simulator, the keeper's, all along
        assert truth.get(f"{ui}/_stcore/health", timeout=5).ok
        assert keeper.poll() is None and desk.poll() is None

        # Opened now, without a browser, the dashboard's Gateway page shows the keeper's gateway and state.
        texts = page_texts(ui_port, "gateway")
        line = next((t for t in texts if t.startswith(f"Gateway **{gw}**")), None)
        assert line is not None, texts
        assert f"process {sim_pid}" in line and f"kept alive by the gateway service (python -m ibkr.gateway start, " \
            f"pid {keeper.pid})" in line, line
        assert texts[texts.index("State") + 1] == "authenticated", texts
        time.sleep(3 * 2 + 1)  # three of the keeper's tickles with the page's session open
        stats = truth.get(f"{gw}/sim/stats", timeout=10).json()
        assert stats["rate_limited"] == 0, stats
        # One priming and one SSO validation, both the keeper's, and one read of the tradable accounts, the
        # dashboard's (its live-orders and trades readers, started with it, share it): a dashboard keeping the
        # session too would have primed /iserver/accounts again on its first tickle and tickled beside the keeper.
        assert stats["requests"].get("GET /iserver/accounts") == 2, stats
        assert stats["requests"].get("GET /sso/validate") == 1, stats
        assert sim_pids(gw_port) == [sim_pid] and session()["authenticated"]
        # The dashboard streams too: its websocket opened with the session the keeper's tickle read (from the
        # keeper's record, no tickle of its own), and a page drawn now says Live.
        assert stats["ws"].get("connections", 0) >= 1 and not stats["ws"].get("refused"), stats["ws"]
        assert any("Live]" in t for t in page_texts(ui_port, "gateway")), "the sidebar does not say Live"

        # systemctl stop: the dashboard first (it is ordered after the gateway), then the keeper.
        desk_code = sigterm(desk, desk_log)
        desk = None
        assert session()["authenticated"] and sim_pids(gw_port) == [sim_pid]  # the dashboard left it alone
        assert sigterm(keeper, keeper_log) == 0, keeper_log.read_text()
        keeper = None
        assert desk_code == 0, desk_log.read_text()
        until(lambda: not sim_pids(gw_port), 10, "a simulator process stayed after the keeper stopped")
        for port in (gw_port, ui_port):
            assert not port_open(port), f"something still listens on {port}"
        assert not (d["state"] / f"gateway-{gw_port}.pid").exists()
    finally:
        truth.close()
        for proc in (desk, keeper):
            if proc is not None and proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(5)
        for pid in sim_pids(gw_port):
            os.kill(pid, signal.SIGKILL)
