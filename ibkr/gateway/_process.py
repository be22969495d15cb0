"""The gateway processes the manager runs, the checks before it starts one, and the restart policy.

- ``sim``: ``python -m ibkr_sim`` on the port of ``gateway_url`` (:mod:`ibkr.gateway._simulator`), ready as soon
  as it prints its ``ready`` line; its certificate is pinned.
- ``local``: IBKR's gateway, ``bin/run.sh root/conf.yaml`` run from ``gateway_dir`` in its own process group, so
  stopping it stops the Java process too; it is ready once it answers ``/tickle``.
- ``external``: no process.

A listener already on the port is inspected first: a gateway is used as it is; anything else is a
ConfigurationError. Process output goes to a log file (:func:`default_log_dir`), never to the console.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import re
import shutil
import signal
import socket
import subprocess
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Protocol

import requests

from ibkr.config import Settings
from ibkr.errors import ConfigurationError
from ibkr.gateway._http import GatewayHttp
from ibkr.gateway._state import Probe, looks_like_gateway, parse_tickle
from ibkr.state import default_state_dir, open_private

LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1")
IBKR_DOWNLOAD = "https://download2.interactivebrokers.com/portal/clientportal.gw.zip"


def default_log_dir() -> Path:
    """A per-user folder for gateway logs: ``<default_state_dir()>/logs`` (``~/.local/state/ibkr-desk/logs``)."""
    return default_state_dir() / "logs"


def keeper_pid_file(settings: Settings) -> Path:
    """Where ``python -m ibkr.gateway start`` writes its pid for the gateway port of ``settings``."""
    return default_log_dir().parent / f"gateway-{settings.gateway_port}.pid"


def pid_in(path: Path) -> int | None:
    """The pid in ``path`` if that process is alive and is ``python -m ibkr.gateway``."""
    try:
        pid = int(path.read_text().strip())
        os.kill(pid, 0)
    except (OSError, ValueError):
        return None
    cmdline = Path(f"/proc/{pid}/cmdline")
    if cmdline.exists() and b"ibkr.gateway" not in cmdline.read_bytes():
        return None  # the pid was reused by something else
    return pid


def keeper_elsewhere(settings: Settings) -> int | None:
    """The pid of a ``python -m ibkr.gateway start`` that runs the gateway of ``settings``, if it is not this
    process (the gateway service of deploy/systemd): that process owns the gateway, everyone else only uses it."""
    pid = pid_in(keeper_pid_file(settings))
    return pid if pid != os.getpid() else None


# ---- checks ---------------------------------------------------------------------------------------------------
def check_local_host(settings: Settings) -> None:
    """sim and local mode start a gateway on this machine, so gateway_url must point at it."""
    if settings.gateway_host not in LOCAL_HOSTS:
        raise ConfigurationError(
            f"IBKR_GATEWAY_MODE={settings.gateway_mode.value} starts a gateway on this machine, but IBKR_GATEWAY_URL "
            f"points at {settings.gateway_host}. Use https://localhost:PORT, or IBKR_GATEWAY_MODE=external.")


def check_sim(settings: Settings) -> None:
    check_local_host(settings)
    if not settings.gateway_url.startswith("https://"):
        raise ConfigurationError("The simulated gateway serves HTTPS only: set IBKR_GATEWAY_URL=https://localhost:PORT.")


def check_local(settings: Settings) -> Path:
    """The gateway folder, after checking it has bin/run.sh and root/conf.yaml, Java works and the port agrees."""
    check_local_host(settings)
    folder = settings.gateway_dir
    if folder is None:
        raise ConfigurationError("IBKR_GATEWAY_MODE=local needs IBKR_GATEWAY_DIR, the unpacked clientportal.gw "
                                 f"folder (download {IBKR_DOWNLOAD} and unzip it).")
    folder = Path(folder).expanduser()
    if not folder.is_dir():
        raise ConfigurationError(f"IBKR_GATEWAY_DIR={folder} is not a folder. Point it at the unpacked clientportal.gw "
                                 f"folder (download {IBKR_DOWNLOAD}).")
    for part in ("bin/run.sh", "root/conf.yaml"):
        if not (folder / part).is_file():
            raise ConfigurationError(f"{folder} has no {part}; IBKR_GATEWAY_DIR must be the unpacked clientportal.gw "
                                     "folder (the one that holds bin/, dist/ and root/).")
    java = shutil.which("java")
    if not java:
        raise ConfigurationError("IBKR's gateway needs Java, and `java` is not on PATH. Install Java 11 or newer "
                                 "(e.g. apt-get install openjdk-17-jre-headless) or use IBKR_GATEWAY_MODE=sim.")
    try:
        done = subprocess.run([java, "-version"], capture_output=True, timeout=20, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ConfigurationError(f"`{java} -version` did not run ({exc}); fix the Java installation.") from exc
    if done.returncode != 0:
        raise ConfigurationError(f"`{java} -version` failed with exit code {done.returncode}; fix the Java "
                                 "installation.")
    conf = (folder / "root" / "conf.yaml").read_text(encoding="utf-8", errors="replace")
    port = re.search(r"^\s*listenPort\s*:\s*(\d+)", conf, re.MULTILINE)
    if port and int(port.group(1)) != settings.gateway_port:
        raise ConfigurationError(
            f"root/conf.yaml says listenPort: {port.group(1)} but IBKR_GATEWAY_URL uses port {settings.gateway_port}; "
            "make them the same.")
    ssl = re.search(r"^\s*listenSsl\s*:\s*(true|false)", conf, re.MULTILINE | re.IGNORECASE)
    if ssl and (ssl.group(1).lower() == "true") != settings.gateway_url.startswith("https://"):
        raise ConfigurationError(
            f"root/conf.yaml says listenSsl: {ssl.group(1)} but IBKR_GATEWAY_URL is {settings.gateway_url}; use "
            "https:// when listenSsl is true and http:// when it is false.")
    return folder


def port_open(host: str, port: int, timeout: float = 1.0) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def inspect_listener(settings: Settings, http: GatewayHttp) -> Probe | None:
    """None when nothing listens on the gateway's port; the tickle probe when a gateway does.

    Raises ConfigurationError when the port is held by something that is not an IBKR gateway.
    """
    host, port = settings.gateway_host, settings.gateway_port
    if not port_open(host, port):
        return None
    held = f"Port {port} on {host} is held by something that is not an IBKR gateway"
    fix = "Stop that program or point IBKR_GATEWAY_URL at another port."
    trusted = http.session.verify
    missing = isinstance(trusted, str) and not Path(trusted).exists()
    # without the certificate the listener is identified unverified (nothing secret is sent), then named
    try:
        response = http.tickle_response(**({"verify": False} if missing else {}))
    except requests.exceptions.SSLError as exc:
        if "CERTIFICATE_VERIFY_FAILED" in str(exc):
            trusted = http.session.verify
            raise ConfigurationError(
                f"Port {port} on {host} speaks TLS with a certificate that is not the one trusted ({trusted}). If it is "
                "your gateway, set IBKR_VERIFY_SSL to its certificate (or false); otherwise stop it or use another "
                "port.", endpoint="POST /tickle") from exc
        raise ConfigurationError(f"{held}: it does not speak TLS. {fix}", endpoint="POST /tickle") from exc
    except requests.RequestException as exc:
        raise ConfigurationError(f"{held}: it accepts connections but does not answer HTTP requests "
                                 f"({type(exc).__name__}). {fix}", endpoint="POST /tickle") from exc
    if not looks_like_gateway(response):
        raise ConfigurationError(f"{held}: it answered HTTP {response.status_code} to POST /v1/api/tickle. {fix}",
                                 endpoint="POST /tickle", status=response.status_code)
    if missing:
        raise ConfigurationError(
            f"A gateway answers on port {port} of {host}, but the certificate to trust it, {trusted}, does not "
            "exist (the simulator writes it when it starts; another one may use another IBKR_SIM_CERT_DIR). Stop "
            "that gateway so this one starts its own, or set IBKR_VERIFY_SSL to its certificate (or false).",
            endpoint="POST /tickle")
    return parse_tickle(response)


# ---- processes ------------------------------------------------------------------------------------------------
class ChildProcess:
    """What the manager reads of a gateway process it started: its pid, exit code and whether it still runs."""

    _popen: subprocess.Popen[Any] | None = None

    @property
    def pid(self) -> int | None:
        return self._popen.pid if self._popen else None

    @property
    def returncode(self) -> int | None:
        return self._popen.poll() if self._popen else None

    def alive(self) -> bool:
        return self._popen is not None and self._popen.poll() is None


class GatewayProcess(Protocol):
    kind: str
    ready_on_start: bool  # True when start() returns only once the gateway listens
    log_path: Path

    @property
    def pid(self) -> int | None: ...
    @property
    def returncode(self) -> int | None: ...
    def start(self) -> None: ...
    def alive(self) -> bool: ...
    def stop(self, timeout: float = 5.0) -> None: ...


class LocalGateway(ChildProcess):
    """IBKR's Client Portal Gateway: ``bin/run.sh root/conf.yaml`` in ``folder``, in a new process group."""

    kind = "local"
    ready_on_start = False

    def __init__(self, folder: Path, log_path: Path) -> None:
        self.folder = folder
        self.log_path = log_path
        self._popen: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None


    def start(self) -> None:
        run = self.folder / "bin" / "run.sh"
        cmd = ["bin/run.sh", "root/conf.yaml"] if os.access(run, os.X_OK) else ["bash", "bin/run.sh", "root/conf.yaml"]
        self._log = open_private(self.log_path, "ab")  # closed in stop(); 0600: IBKR's gateway logs its session
        self._log.write(f"---- {dt.datetime.now().isoformat(timespec='seconds')} {' '.join(cmd)} in {self.folder}\n"
                        .encode())
        self._log.flush()
        self._popen = subprocess.Popen(cmd, cwd=self.folder, stdout=self._log, stderr=subprocess.STDOUT,
                                       stdin=subprocess.DEVNULL, start_new_session=True)

    def stop(self, timeout: float = 5.0) -> None:
        """SIGTERM to the whole process group (run.sh and Java), SIGKILL if it lingers. Idempotent."""
        proc, self._popen = self._popen, None
        if proc is not None:
            for sig in (signal.SIGTERM, signal.SIGKILL):
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(proc.pid, sig)  # the group outlives run.sh when Java is its child
                if _group_gone(proc, timeout):
                    break
        if self._log is not None:
            self._log.close()
            self._log = None


def _group_gone(proc: subprocess.Popen[bytes], timeout: float) -> bool:
    """Wait until no process of ``proc``'s group is left (reaping the leader ourselves)."""
    deadline = time.monotonic() + timeout
    while True:
        proc.poll()
        try:
            os.killpg(proc.pid, 0)
        except (ProcessLookupError, PermissionError):
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)


@dataclass
class RestartPolicy:
    """At most ``max_restarts`` automatic restarts in ``window`` seconds; the first at once, then 1, 2, 4 ... s."""

    max_restarts: int = 5
    window: float = 600.0
    base_delay: float = 1.0
    max_delay: float = 30.0
    _times: deque[float] = field(default_factory=deque)

    def _recent(self, now: float) -> int:
        while self._times and self._times[0] <= now - self.window:
            self._times.popleft()
        return len(self._times)

    def allowed(self, now: float) -> bool:
        return self._recent(now) < self.max_restarts

    def delay(self, now: float) -> float:
        n = self._recent(now)
        return 0.0 if n == 0 else min(self.max_delay, self.base_delay * 2 ** (n - 1))

    def record(self, now: float) -> None:
        self._times.append(now)

    def reset(self) -> None:
        self._times.clear()
