"""SessionKeeper: what the manager decides on each tick, from what the gateway says (docs/cpapi.md 1.8).

Every second it checks that the gateway process it started is alive (restarting it with backoff, at most 5 times
in 10 minutes) and tickles when a tickle is due: every ``tickle_seconds`` while authenticated and primed, every
2 s otherwise (so a browser login is picked up quickly). Then, by what the tickle says:

- AUTHENTICATED: clear the prompt; prime ``GET /iserver/accounts`` once per session (and after every
  re-authentication); validate SSO (at most once a minute).
- NOT_CONNECTED (logged in, brokerage session shut): ``ssodh/init`` once; if the next tickle still says so,
  prompt TWO_FACTOR_PENDING.
- COMPETING: prompt COMPETING_SESSION (take over is a person's decision: it disconnects their other platform).
- NO_SESSION: prompt LOGIN_REQUIRED, or SESSION_EXPIRED when this gateway had a login.
- NOT_RUNNING: restart our process (or start one if the gateway we were using went away); in external mode, or
  once restarts are exhausted, prompt GATEWAY_DOWN. While ``python -m ibkr.gateway start`` runs for the port in
  another process (the gateway service), that process owns the gateway: this one never starts one, it waits.

Only the manager's thread calls it (or the caller's, when the manager is not started).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from ibkr.config import GatewayMode, Settings
from ibkr.errors import IbkrError
from ibkr.gateway._http import GatewayHttp
from ibkr.gateway._process import (
    GatewayProcess,
    LocalGateway,
    RestartPolicy,
    check_local,
    keeper_elsewhere,
    port_open,
)
from ibkr.gateway._prompts import competing_prompt, gateway_down_prompt, login_prompt, two_factor_prompt
from ibkr.gateway._record import StateRecord
from ibkr.gateway._simulator import SimGateway
from ibkr.gateway._state import AuthState, Probe
from ibkr.pacing import PacingLimiter
from ibkr.sessions import new_brokerage_session, on_session_lost

FAST_PROBE_SECONDS = 2.0  # tickle interval while not authenticated
DOUBT_SECONDS = 2.0  # at least this long between tickles a failed request asks for
UNANSWERED_LIMIT = 3  # failed tickles in a row before a live process of ours counts as hung
INIT_GRACE_SECONDS = 6.0  # a login's brokerage session opening by itself before the keeper asks (ssodh/init)


def _held_elsewhere(probe: Probe) -> bool:
    """IBKR's answer after it refused to open the session without compete (ibeam #73): another platform has it."""
    return "compete" in (probe.fail or "").lower()


class SessionKeeper:
    def __init__(self, settings: Settings, record: StateRecord, log_path: Path, policy: RestartPolicy,
                 startup_timeout: float, limiter: PacingLimiter | None = None) -> None:
        self.settings = settings
        self.mode = settings.gateway_mode
        self.record = record
        self.log_path = log_path
        self.policy = policy
        self.startup_timeout = startup_timeout
        self.limiter = limiter
        self.stopping: Callable[[], bool] = lambda: False
        self.process: GatewayProcess | None = None
        self.adopted = False  # a gateway that was already running is being used
        self.restarts = 0
        self.gave_up = False
        self._http: GatewayHttp | None = None
        self._started_at = 0.0  # monotonic time our process was launched
        self._restart_at: float | None = None  # monotonic time of the next automatic restart
        self._unanswered = 0
        self._last_tickle_at = float("-inf")
        self.pending_probe: Probe | None = None  # an answer already in hand (from the check at start)
        self._had_session = False  # the current gateway had a login (so losing it means "expired")
        self._reinit_tried = False
        self._not_connected_since: float | None = None
        self._primed_for: str | None = None  # session fingerprint /iserver/accounts was primed for
        self._doubted = False  # a request found no session while we thought there was one: tickle now
        self._unwatch: Callable[[], None] | None = None

    @property
    def http(self) -> GatewayHttp:
        if self._http is None:
            s = self.settings
            verify = s.tls_verify if isinstance(s.tls_verify, bool) else str(s.tls_verify)
            self._http = GatewayHttp(s.api_base, verify, timeout=s.request_timeout, limiter=self.limiter)
        return self._http

    @property
    def managed(self) -> bool:
        """Whether the manager runs (or would start) the gateway process."""
        return self.mode is not GatewayMode.EXTERNAL

    def watch_requests(self) -> None:
        """Hear at once when a client's request finds the session gone (``ibkr.sessions.session_lost``): the
        next tick tickles instead of waiting up to ``tickle_seconds`` (60 s) to notice, so the login or competing
        prompt comes within a couple of seconds of the first failed request."""
        if self._unwatch is None:
            self._unwatch = on_session_lost(self.settings.gateway_url, self._doubt)

    def _doubt(self) -> None:
        self._doubted = True

    def shutdown(self) -> GatewayProcess | None:
        """Close the HTTP session and stop our process (never one we did not start); returns what was stopped."""
        if self._unwatch is not None:
            self._unwatch()
            self._unwatch = None
        if self._http is not None:
            self._http.close()  # first: an open connection would slow the gateway's own shutdown
            self._http = None
        process, self.process = self.process, None
        if process is not None:
            self.record.event(f"stopping the {process.kind} gateway (pid {process.pid})")
            process.stop()
        self.adopted, self._restart_at = False, None
        return process

    # ---- process ------------------------------------------------------------------------------------------------
    def owned_elsewhere(self) -> int | None:
        """The pid of the ``python -m ibkr.gateway start`` in another process that owns this gateway, if any.

        The dashboard next to the gateway service must not start a gateway of its own when the service's is
        briefly away (``systemctl restart``, an upgrade, the service restarting its simulator): a sim started here
        would take the port, the service would then only use it, and stopping the dashboard would take the
        gateway down with it (the simulator ends with the process that started it)."""
        return keeper_elsewhere(self.settings) if self.managed else None

    def launch(self) -> None:
        """Start our gateway process; the sim is listening when this returns, IBKR's gateway is STARTING."""
        if self.mode is GatewayMode.SIM:
            process: GatewayProcess = SimGateway(self.settings, self.log_path)
        else:
            process = LocalGateway(check_local(self.settings), self.log_path)
        self.record.set_state(AuthState.STARTING, f"starting the {process.kind} gateway")
        self.process, self.adopted = process, False
        self._had_session, self._reinit_tried, self._primed_for, self._unanswered = False, False, None, 0
        self._started_at = time.monotonic()
        try:
            process.start()
        except BaseException:
            self.process = None
            raise
        self._last_tickle_at = float("-inf")  # tickle it at once
        self.record.event(f"started the {process.kind} gateway on port {self.settings.gateway_port} "
                          f"(pid {process.pid}, log {self.log_path})")
        if self.stopping():
            self.shutdown()

    def restart(self) -> AuthState:
        """A person's restart: reset the budget, restart our process (or start one), tickle."""
        self.policy.reset()
        self.gave_up, self._restart_at = False, None
        if not self.managed or (self.adopted and self.process is None):
            self.record.event("restart requested, but this gateway is not run by the manager: re-checking it")
        else:
            if self.process is not None:
                self.record.event(f"restart requested: stopping pid {self.process.pid}")
                self.process.stop()
                self.process = None
            try:
                self.launch()
            except IbkrError as exc:
                self.record.set_state(AuthState.NOT_RUNNING, "the gateway did not start")
                self.record.error(f"restarting the gateway failed: {exc}")
                raise
        return self.probe_now()

    def supervise(self) -> None:
        process = self.process
        if process is not None and not process.alive():
            code = process.returncode
            process.stop()
            self.process = None
            self.record.error(f"the {process.kind} gateway (pid {process.pid}) exited with code {code}")
            self._schedule_restart(f"process exited with code {code}")
        if self._restart_at is not None and time.monotonic() >= self._restart_at and not self.stopping():
            self._restart_at = None
            if self.process is None and self.owned_elsewhere():
                return  # the gateway service brings it back; the next tickle finds it
            self.policy.record(time.monotonic())
            self.restarts += 1
            try:
                self.launch()
            except IbkrError as exc:
                self.record.error(f"restarting the gateway failed: {exc}")
                self._schedule_restart("restart failed")

    def _schedule_restart(self, why: str) -> None:
        self.record.set_state(AuthState.NOT_RUNNING, why)
        now = time.monotonic()
        if not self.policy.allowed(now):
            self.gave_up = True
            self.record.error(f"the gateway stopped {self.policy.max_restarts} times in "
                              f"{self.policy.window / 60:.0f} minutes; automatic restarts are paused")
            self.record.emit(gateway_down_prompt(self.record.state, self.settings.gateway_url, managed=True,
                                                 detail=why, log_path=str(self.log_path)))
            return
        self._restart_at = now + self.policy.delay(now)
        self.record.emit(gateway_down_prompt(self.record.state, self.settings.gateway_url, managed=True,
                                             detail=why, restarting=True))

    # ---- session ------------------------------------------------------------------------------------------------
    def tick(self) -> None:
        self.supervise()
        if self.stopping():
            return
        ready = self.record.state is AuthState.AUTHENTICATED and self._primed_for is not None
        interval = self.settings.tickle_seconds if ready else min(self.settings.tickle_seconds, FAST_PROBE_SECONDS)
        if ready and self._doubted:  # a request found no session: look now (at most every DOUBT_SECONDS)
            interval = min(interval, DOUBT_SECONDS)
        if self.pending_probe is not None or time.monotonic() - self._last_tickle_at >= interval:
            if ready and self._doubted:
                self.record.event("a request found no session: checking it now")
            self.probe_now()

    def probe_now(self) -> AuthState:
        probe, self.pending_probe, self._doubted = self.pending_probe, None, False
        if probe is None:
            probe = self.http.tickle()
        self._last_tickle_at = time.monotonic()
        self.settle(probe)
        return self.record.state

    def settle(self, probe: Probe) -> None:
        """Act on what the gateway said."""
        record, url = self.record, self.settings.effective_login_url
        record.observe(probe)
        state = probe.state
        if state is None:
            record.error(f"inconclusive answer: {probe.detail}")
            return
        if state is AuthState.NOT_RUNNING:
            self._settle_not_running(probe)
            return
        self._unanswered = 0
        if state is AuthState.AUTHENTICATED:
            record.set_state(state, probe.detail)
            self._had_session, self._reinit_tried = True, False
            record.clear_prompt()
            fingerprint = probe.session_fingerprint or "unknown"
            if self._primed_for != fingerprint and self.http.prime_accounts():
                new_brokerage_session(self.settings.gateway_url)  # a new brokerage session: warm-ups start over
                self._primed_for = fingerprint
                record.event("primed /iserver/accounts")
                self.validate_sso()
            return
        self._primed_for = None
        if state is AuthState.NOT_CONNECTED and not _held_elsewhere(probe):
            status = self.http.auth_status()  # the tickle leaves out IBKR's "fail": is it held elsewhere?
            if _held_elsewhere(status):
                probe = status
        if state is AuthState.NOT_CONNECTED and _held_elsewhere(probe):
            state = AuthState.COMPETING  # IBKR refused to open it without compete: another platform holds it
        if state is not AuthState.NOT_CONNECTED:
            self._not_connected_since = None
        if state is AuthState.NOT_CONNECTED and not self._reinit_tried:
            self._had_session = True
            record.set_state(state, probe.detail)
            # The gateway opens the brokerage session by itself after a login (IBKR: "will automatically
            # initialize the brokerage session"): give it INIT_GRACE_SECONDS, then ask once, never with compete
            # (that would disconnect a TWS or Mobile session: only a person's "take over" sends it).
            now = time.monotonic()
            if self._not_connected_since is None:
                self._not_connected_since = now
            if now - self._not_connected_since >= INIT_GRACE_SECONDS:
                self.init_brokerage(compete=False, why="the brokerage session is not open while the login is valid")
        elif state is AuthState.NOT_CONNECTED:
            record.set_state(state, probe.detail)
            record.emit(two_factor_prompt(state, url, probe.fail))
        elif state is AuthState.COMPETING:
            self._had_session = True
            record.set_state(state, probe.detail if probe.state is AuthState.COMPETING else
                             f"another platform holds the brokerage session ({probe.fail})")
            record.emit(competing_prompt(state, url))
        elif state is AuthState.NO_SESSION:
            expired, self._reinit_tried = self._had_session, False  # "expired" until the next login
            record.set_state(state, probe.detail)
            record.emit(login_prompt(state, url, expired=expired, why="idle timeout, nightly reset or a logout"))

    def _settle_not_running(self, probe: Probe) -> None:
        process = self.process
        if process is not None and process.alive():
            self._unanswered += 1
            starting = not process.ready_on_start and time.monotonic() - self._started_at < self.startup_timeout
            if starting:
                self.record.set_state(AuthState.STARTING, f"waiting for the gateway to answer ({probe.detail})")
                return
            if self._unanswered < UNANSWERED_LIMIT:
                return  # one missed tickle is not an outage
            self.record.error(f"the gateway process (pid {process.pid}) runs but does not answer: {probe.detail}")
            process.stop()
            self.process = None
            self._schedule_restart("not answering")
            return
        owner = self.owned_elsewhere() if process is None else None
        if owner:
            self.record.set_state(AuthState.NOT_RUNNING, probe.detail)
            self.record.emit(gateway_down_prompt(
                AuthState.NOT_RUNNING, self.settings.gateway_url, managed=True, restarting=True,
                detail=f"{probe.detail}; `python -m ibkr.gateway start` (pid {owner}) runs it"))
            return
        if self.managed and process is None and port_open(self.settings.gateway_host, self.settings.gateway_port):
            # A gateway this process found running (adopted) still holds the port: one slow tickle is not an
            # outage, and a gateway launched on a held port fails and spends the restart budget.
            self._unanswered += 1
            if self._unanswered < UNANSWERED_LIMIT:
                return
            self.record.set_state(AuthState.NOT_RUNNING, probe.detail)
            self.record.emit(gateway_down_prompt(AuthState.NOT_RUNNING, self.settings.gateway_url, managed=True,
                                                 detail=probe.detail, adopted=True))
            return
        if self.managed and process is None and self._restart_at is None and not self.gave_up:
            self._schedule_restart(f"no gateway answers ({probe.detail})")  # ours or the one we were using
            return
        self.record.set_state(AuthState.NOT_RUNNING, probe.detail)
        self.record.emit(gateway_down_prompt(AuthState.NOT_RUNNING, self.settings.gateway_url, managed=self.managed,
                                             detail=probe.detail, restarting=self._restart_at is not None,
                                             log_path=str(self.log_path) if self.managed else None))

    def init_brokerage(self, compete: bool, why: str) -> AuthState:
        """``ssodh/init`` once (publish, with or without compete), then act on its answer."""
        self.record.event(f"{why}: ssodh/init (compete={str(compete).lower()})")
        self._reinit_tried, self._primed_for = True, None
        result = self.http.init_brokerage(compete)
        if result.state is None:
            self.record.error(f"ssodh/init: {result.detail}")
        elif result.state is AuthState.NOT_CONNECTED:
            # The gateway may need a moment to open it: the next tickle decides (and prompts if it is still shut).
            self.record.observe(result)
            self.record.set_state(result.state, result.detail)
            self._last_tickle_at = time.monotonic()
        else:
            self.settle(result)
        return self.record.state

    def logout(self) -> AuthState:
        self.record.event("logout requested")
        self.http.logout()
        self._had_session = False
        return self.probe_now()

    def check(self) -> AuthState:
        """Tickle and record what it says, without acting on it. An inconclusive answer (say a 429 because
        another client tickled a moment ago) is asked again once, after the 1.1 s tickle spacing."""
        probe = self.http.tickle()
        if not probe.conclusive:
            probe = self.http.tickle()
        self.record.observe(probe)
        if probe.state is not None:
            self.record.set_state(probe.state, probe.detail)
        return self.record.state

    def validate_sso(self) -> None:
        if not self.record.state.has_session:
            return
        info = self.http.validate_sso()
        if info is None:
            return
        with self.record.lock:
            self.record.sso = info
        if not info.get("valid"):
            self.record.event("SSO validation says the login is no longer valid")
            self._last_tickle_at = float("-inf")
