"""The dashboard under ``streamlit.testing.v1.AppTest``, in this process, with its own GatewayManager starting
the simulator: used by the page tests (tests/integration/test_pages.py) and the render bench (bench/dashboard.py).

    with DashboardHarness(tmp_path, positions=100) as dash:
        at = dash.boot()                       # first run starts the gateway; waits for the login; runs again
        dash.page(at, "positions")             # switch_page + run
        dash.sim_state()                       # GET /sim/state, the truth
    # on exit: the manager (and the simulator it started) stopped, Streamlit's caches cleared, env restored

Every harness clears ``st.cache_data`` and ``st.cache_resource`` on entry and exit. ``cache_resource`` holds the
GatewayManager, so it is stopped first: clearing alone would leave its simulator process running.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import requests
import streamlit as st
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "ibkr_desk" / "app.py"
PAGES = ("overview", "positions", "margin", "currency", "gateway")
RUN_TIMEOUT = 180.0  # the cold first load at 5,000 positions per account pages through ~150 paced requests


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def clear_streamlit_caches() -> None:
    """Stop the cached GatewayManager (if one was booted), then clear both of Streamlit's caches and the
    process-wide pacing limiter: each harness has a gateway of its own, so the windows and a 429 pause of an
    earlier one (its simulator gone) must not hold this one's requests back."""
    from ibkr.pacing import LIMITER
    from ibkr.stream import close_streams
    from ibkr_desk.ui import services

    if _booted["manager"]:
        services.position_marks().stop()
        services.refresher().stop()
        services.order_book().stop()
        services.live().stop()
        services.gateway().stop()
        _booted["manager"] = False
    close_streams()
    st.cache_data.clear()
    st.cache_resource.clear()
    LIMITER.reset()


_booted = {"manager": False}  # True once an AppTest run has created (and so started) the cached GatewayManager


class DashboardHarness:
    """Environment, caches and the simulator for one dashboard under AppTest (see the module docstring)."""

    def __init__(self, tmp: Path, *, positions: int | None = None, **settings: str) -> None:
        self.tmp = Path(tmp)
        self.port = free_port()
        self.url = f"https://localhost:{self.port}"
        self.env = {
            "IBKR_GATEWAY_MODE": "sim", "IBKR_GATEWAY_URL": self.url, "IBKR_SIM_AUTO_LOGIN": "true",
            "IBKR_SIM_TICK_SECONDS": "0", "IBKR_SIM_CERT_DIR": str(self.tmp / "cert"),
            "XDG_STATE_HOME": str(self.tmp / "state"), "XDG_CACHE_HOME": str(self.tmp / "cache"),
            **({"IBKR_SIM_POSITIONS": str(positions)} if positions else {}),
            **{f"IBKR_{k.upper()}": v for k, v in settings.items()},
        }
        self._saved: dict[str, str | None] = {}
        self._http: requests.Session | None = None
        self.sim_pid: int | None = None

    # ---- lifecycle ----------------------------------------------------------------------------------------------
    def __enter__(self) -> DashboardHarness:
        self._saved = {k: os.environ.get(k) for k in self.env}
        os.environ.update(self.env)
        clear_streamlit_caches()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._http is not None:
            self._http.close()
        clear_streamlit_caches()
        for k, v in self._saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v

    def stopped_cleanly(self, timeout: float = 10.0) -> bool:
        """After exit: the simulator process is gone and nothing listens on its port."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            alive = self.sim_pid is not None and Path(f"/proc/{self.sim_pid}").exists()
            if not alive and not port_open(self.port):
                return True
            time.sleep(0.1)
        return False

    # ---- the app ------------------------------------------------------------------------------------------------
    def app(self) -> AppTest:
        return AppTest.from_file(str(APP), default_timeout=RUN_TIMEOUT)

    @property
    def manager(self):
        from ibkr_desk.ui import services

        return services.gateway()

    def boot(self, at: AppTest | None = None, timeout: float = 60.0) -> AppTest:
        """Run the app once (it starts the gateway manager and the simulator), wait until the gateway is
        authenticated, then run it again so the page draws the portfolio."""
        from ibkr.gateway import AuthState

        at = at or self.app()
        at.run()
        _booted["manager"] = True
        self.sim_pid = self.manager.pid
        if not self.manager.wait_for(AuthState.AUTHENTICATED, timeout=timeout):
            raise RuntimeError(f"the gateway did not authenticate: {self.manager.state}")
        return at.run()

    def page(self, at: AppTest, name: str) -> AppTest:
        return at.switch_page(f"app_pages/{name}.py").run()

    # ---- the simulator's admin API ------------------------------------------------------------------------------
    @property
    def http(self) -> requests.Session:
        if self._http is None:
            self._http = requests.Session()
            self._http.verify = str(self.tmp / "cert" / "cert.pem")
            self._http.trust_env = False
        return self._http

    def admin(self, method: str, path: str, **kwargs) -> dict:
        r = self.http.request(method, f"{self.url}/sim/{path}", timeout=60, **kwargs)
        r.raise_for_status()
        return r.json()

    def sim_state(self) -> dict:
        return self.admin("GET", "state")

    def api(self, path: str) -> dict | list:
        r = self.http.get(f"{self.url}/v1/api{path}", timeout=60)
        r.raise_for_status()
        return r.json()


@contextmanager
def streamlit_process(argv: Sequence[str], port: int, log_path: Path, env: dict[str, str] | None = None,
                      ) -> Iterator[subprocess.Popen]:
    """A Streamlit server started as ``argv`` (its own session: its children end with it), waited for until its
    health endpoint on ``port`` answers (up to 60 s), stopped on exit: SIGTERM, then SIGKILL of its group after
    15 s. Its console goes to ``log_path``."""
    with open(log_path, "w") as log:
        proc = subprocess.Popen(list(argv), cwd=ROOT, env=env, stdout=log, stderr=log, start_new_session=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if requests.get(f"http://127.0.0.1:{port}/_stcore/health", timeout=2).ok:
                    break
            except requests.RequestException:
                time.sleep(0.3)
        try:
            yield proc
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(5)


@contextmanager
def streamlit_app(tmp: Path, *, args: Sequence[str] = (), ui_port: int | None = None,
                  **settings: str) -> Iterator[dict]:
    """``python -m ibkr_desk`` (``streamlit run ibkr_desk/app.py``) in a child process whose GatewayManager starts the simulator; both stopped on exit.

    ``settings`` are IBKR_* settings by field name (``sim_auto_login="true"``), ``args`` more command-line options
    (``--secrets.files``), ``ui_port`` a port chosen beforehand (an OIDC redirect names it). Yields the app's ``url``, the
    ``gateway`` origin, a ``truth`` session pinned to the simulator's certificate (for /sim/...), the ``log`` and the
    Streamlit process's ``pid`` (bench/load.py samples its memory).
    The file watcher is off, so edits to the tree during a run cannot reload modules under the test.
    """
    gw_port, ui_port = free_port(), ui_port or free_port()
    env = dict(os.environ, IBKR_GATEWAY_MODE="sim", IBKR_GATEWAY_URL=f"https://localhost:{gw_port}",
               IBKR_SIM_CERT_DIR=str(tmp / "cert"), IBKR_SIM_TICK_SECONDS="0",
               XDG_STATE_HOME=str(tmp / "state"), XDG_CACHE_HOME=str(tmp / "cache"))
    env.update({f"IBKR_{k.upper()}": str(v) for k, v in settings.items()})
    log_path = tmp / "streamlit.log"
    argv = [sys.executable, "-m", "ibkr_desk", "--server.port", str(ui_port), "--server.headless", "true",
            "--server.fileWatcherType", "none", *args]
    with streamlit_process(argv, ui_port, log_path, env) as proc:
        truth = requests.Session()
        truth.verify, truth.trust_env = str(tmp / "cert" / "cert.pem"), False  # REQUESTS_CA_BUNDLE cannot override
        try:
            yield {"url": f"http://127.0.0.1:{ui_port}", "gateway": f"https://localhost:{gw_port}", "truth": truth,
                   "log": log_path, "pid": proc.pid}
        finally:
            truth.close()
    deadline = time.monotonic() + 15  # the simulator ends with the dashboard, on a loaded machine a moment later
    while any(port_open(port) for port in (gw_port, ui_port)) and time.monotonic() < deadline:
        time.sleep(0.2)
    for port in (gw_port, ui_port):
        assert not port_open(port), f"something still listens on {port} after the app stopped"


DRAWN = """() => !document.querySelector('[data-testid="stStatusWidget"]')
    && !document.querySelector('[data-stale="true"]')
    && [...document.querySelectorAll('[data-testid="stPlotlyChart"], .js-plotly-plot')]
        .every(p => p.querySelector('.main-svg'))"""
"""True once Streamlit finished the run and every plotly chart on the page has drawn its SVG."""


def wait_drawn(page, timeout: float = 180_000) -> None:
    """Wait (polling, no fixed sleep) until the page is drawn, then two animation frames for the last layout."""
    page.wait_for_function(DRAWN, timeout=timeout)
    page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")


def run_until(at, done, timeout: float = 60.0, what: str = "what was expected"):
    """Run the AppTest again until ``done(at)``: what a background thread delivers (the portfolio refresher, an
    order sent on its own thread) shows on a later run, as the browser's fragments redraw it."""
    deadline = time.monotonic() + timeout
    while not done(at.run()):
        if time.monotonic() > deadline:
            raise AssertionError(f"the page never showed {what}")
        time.sleep(0.3)
    return at
