"""The simulated gateway as a command: ``python -m ibkr_sim`` in a child process, ready once it prints
``ready https://HOST:PORT``. The library knows the simulator only as this command (it never imports it).

- :class:`SimProcess`: one child process with the given options (the tests and benchmarks use it directly).
- :class:`SimGateway`: the manager's sim mode, started from :class:`~ibkr.config.SimSettings` on the port of
  ``gateway_url``; secrets reach the child through its environment, never its command line.

Whoever starts one stops it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import IO

from ibkr.config import Settings
from ibkr.errors import GatewayUnavailable
from ibkr.gateway._process import ChildProcess
from ibkr.state import open_private

COMMAND = (sys.executable, "-m", "ibkr_sim")


class SimProcess:
    """A simulator child process. ``url`` and ``cert`` are known once :meth:`start` returns."""

    def __init__(self, args: list[str], cert_dir: Path, log_path: Path | None = None,
                 env: dict[str, str] | None = None) -> None:
        self.args = list(args)
        self.cert_dir = Path(cert_dir)
        self.log_path = log_path
        self.env = dict(env or {})
        self.proc: subprocess.Popen[str] | None = None
        self.url: str | None = None
        self._log: IO[str] | None = None

    @property
    def cert(self) -> Path:
        return self.cert_dir / "cert.pem"

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    def start(self, timeout: float = 30.0) -> str:
        """Start the process and return its origin (``https://127.0.0.1:PORT``)."""
        # --parent-pid: the simulator ends with this process, so a launcher killed with -9 leaves no orphan
        cmd = [*COMMAND, *self.args, "--cert-dir", str(self.cert_dir), "--parent-pid", str(os.getpid())]
        if self.log_path:
            self._log = open_private(self.log_path, "a")  # 0600, like every log of the desk
        env = dict(os.environ, PYTHONUNBUFFERED="1", **self.env)
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=self._log or subprocess.DEVNULL,
                                     stdin=subprocess.DEVNULL, text=True, env=env, start_new_session=True)
        line = self._read_ready(timeout)
        self.url = line.split(" ", 1)[1].strip()
        # Keep draining stdout so the child never blocks on a full pipe.
        threading.Thread(target=self._drain, daemon=True).start()
        return self.url

    def _read_ready(self, timeout: float) -> str:
        assert self.proc and self.proc.stdout
        stdout = self.proc.stdout
        box: list[str] = []
        reader = threading.Thread(target=lambda: box.append(stdout.readline()), daemon=True)
        reader.start()
        reader.join(timeout)
        line = box[0] if box else ""
        if not line.startswith("ready "):
            code = self.proc.poll()
            self.stop()
            where = f" (see {self.log_path})" if self.log_path else ""
            what = f"exited with code {code}" if code is not None else f"did not start within {timeout:.0f}s"
            raise GatewayUnavailable(f"the simulated gateway {what}{where}")
        return line

    def _drain(self) -> None:
        proc = self.proc
        if proc and proc.stdout:
            for line in proc.stdout:
                if self._log:
                    self._log.write(line)

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout: float = 5.0) -> None:
        """Terminate the process (then kill it) and wait for it. Idempotent."""
        proc, self.proc = self.proc, None
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout)
        if proc is not None and proc.stdout:
            proc.stdout.close()
        if self._log:
            self._log.close()
            self._log = None

    def __enter__(self) -> SimProcess:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @staticmethod
    def wait_gone(pid: int, timeout: float = 5.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return True
            time.sleep(0.05)
        return False


class SimGateway(ChildProcess):
    """The manager's sim mode: ``python -m ibkr_sim`` with ``settings.sim`` on the port of ``gateway_url``."""

    kind = "sim"
    ready_on_start = True

    def __init__(self, settings: Settings, log_path: Path, startup_timeout: float = 30.0) -> None:
        self.settings = settings
        self.log_path = log_path
        self.cert_dir = settings.sim.cert_folder
        self.startup_timeout = startup_timeout
        self._proc: SimProcess | None = None
        self._popen: subprocess.Popen[str] | None = None

    def args(self) -> list[str]:
        s = self.settings
        host = "127.0.0.1" if s.gateway_host == "localhost" else s.gateway_host
        return ["--host", host, "--port", str(s.gateway_port), *s.sim.argv()]

    def start(self) -> None:
        self._proc = SimProcess(self.args(), self.cert_dir, log_path=self.log_path, env=self.settings.sim.secret_env())
        self._proc.start(timeout=self.startup_timeout)
        self._popen = self._proc.proc

    def stop(self, timeout: float = 5.0) -> None:
        if self._proc is not None:
            self._proc.stop(timeout)
