"""GatewayManager: starts (or finds) the gateway, keeps its session alive, restarts it, and asks a person for help.

One manager per process. ``start()`` checks the settings and the port, uses a gateway that already answers there
or starts one (sim/local), then runs the keep-alive thread: a private ``schedule.Scheduler`` that runs the
:class:`~ibkr.gateway._keeper.SessionKeeper` every second and validates SSO every 5 minutes. The actions a person
can take (``take_over()`` ...) run on that thread too, and so do the prompt callbacks.

A manager that *follows* the gateway service (``follow=True``, or by ``IBKR_GATEWAY_KEEPER``: see
:mod:`ibkr.gateway._service`) does none of that: it reads the service's record every second and never tickles,
validates or starts a gateway, because one gateway must have one keeper.
"""

from __future__ import annotations

import atexit
import logging
from collections.abc import Callable
from pathlib import Path

from ibkr.config import GatewayMode, Settings
from ibkr.errors import NotAuthenticated
from ibkr.gateway._keepalive import KeepAliveThread
from ibkr.gateway._keeper import SessionKeeper
from ibkr.gateway._process import (
    RestartPolicy,
    check_local_host,
    check_sim,
    default_log_dir,
    default_state_dir,
    inspect_listener,
)
from ibkr.gateway._prompts import Prompt
from ibkr.gateway._record import GatewayStatus, StateRecord
from ibkr.gateway._service import ServiceFollower, follows_service
from ibkr.gateway._state import AuthState
from ibkr.pacing import PacingLimiter, default_limiter

log = logging.getLogger(__name__)

TICK_SECONDS = 1
SSO_VALIDATE_SECONDS = 300
JOIN_SECONDS = 2.0


class GatewayManager:
    """Runs and watches the gateway for one process. ``start()`` and ``stop()`` (alias ``close()``) are idempotent.

    ``log_dir`` is where the gateway's output goes (default :func:`~ibkr.gateway.default_log_dir`);
    ``restart_policy`` caps automatic restarts; ``startup_timeout`` is how long IBKR's gateway (local mode) may
    take to answer after it was started; ``limiter`` replaces the process-wide pacing limiter (tests).

    The limiter keeps IBKR's long pacing windows and a penalty in force in ``<state_dir>/pacing.json``
    (default :func:`~ibkr.gateway.default_state_dir`), so a restarted dashboard does not walk into a limit the
    one before it used (``/sso/validate`` once a minute) or into IBKR's penalty box.

    ``follow``: follow the gateway service instead of keeping the session (None: as ``IBKR_GATEWAY_KEEPER``
    says, decided here; ``python -m ibkr.gateway start``, the service itself, passes False).
    """

    def __init__(self, settings: Settings | None = None, *, log_dir: Path | None = None,
                 restart_policy: RestartPolicy | None = None, startup_timeout: float = 60.0,
                 limiter: PacingLimiter | None = None, state_dir: Path | None = None,
                 follow: bool | None = None) -> None:
        self.settings = settings or Settings()
        (limiter or default_limiter()).persist((state_dir or default_state_dir()) / "pacing.json",
                                               key=self.settings.gateway_url)
        self.mode = self.settings.gateway_mode
        self.log_path = (log_dir or default_log_dir()) / f"gateway-{self.mode.value}-{self.settings.gateway_port}.log"
        self.record = StateRecord()
        self._keeper = SessionKeeper(self.settings, self.record, self.log_path, restart_policy or RestartPolicy(),
                                     startup_timeout, limiter)
        self._thread: KeepAliveThread | None = None
        follow = follows_service(self.settings) if follow is None else follow
        self.follower = ServiceFollower(self.settings, self.record, self._keeper.http) if follow else None

    # ---- lifecycle ----------------------------------------------------------------------------------------------
    def start(self) -> GatewayManager:
        """Use the gateway already answering on the port, or start one (sim/local) unless the gateway service
        (``python -m ibkr.gateway start`` in another process) runs it; then start the keep-alive.

        Raises ConfigurationError when the settings cannot work (the port is held by something that is not a
        gateway, no gateway folder, no Java, ...) and GatewayUnavailable when the simulator does not start.
        """
        if self._thread is not None:
            return self
        if self.follower is not None:
            return self._start_following(self.follower)
        keeper = self._keeper
        if self.mode is GatewayMode.SIM:
            check_sim(self.settings)
        elif self.mode is GatewayMode.LOCAL:
            check_local_host(self.settings)
        found = inspect_listener(self.settings, keeper.http)
        owner = keeper.owned_elsewhere() if found is None else None
        if found is not None:
            keeper.adopted = keeper.managed
            keeper.pending_probe = found
            self.record.event(f"a gateway already answers at {self.settings.gateway_url}; using it")
        elif owner:
            # The gateway service is starting it (or restarting it): use that one once it answers, never a second.
            keeper.adopted = True
            self.record.event(f"`python -m ibkr.gateway start` (pid {owner}) runs the gateway at "
                              f"{self.settings.gateway_url}; waiting for it")
        elif keeper.managed:
            try:
                keeper.launch()
            except BaseException:
                self.record.set_state(AuthState.NOT_RUNNING, "the gateway did not start")
                raise
        thread = KeepAliveThread(name=f"ibkr-gateway-manager-{self.settings.gateway_port}")
        self._keep(thread, at_start=True)
        self._thread = thread
        thread.start()
        atexit.register(self.stop)
        return self

    def _keep(self, thread: KeepAliveThread, *, at_start: bool) -> None:
        keeper = self._keeper
        thread.every(TICK_SECONDS, keeper.tick, "keep-alive tick", at_start=at_start)
        thread.every(SSO_VALIDATE_SECONDS, keeper.validate_sso, "SSO validation")
        keeper.stopping = lambda: thread.stopping
        keeper.http.sleep = thread.wait  # a tickle waiting for its 1.1 s ends early on stop()
        keeper.watch_requests()

    def _start_following(self, follower: ServiceFollower) -> GatewayManager:
        thread = KeepAliveThread(name=f"ibkr-gateway-follower-{self.settings.gateway_port}")
        thread.every(TICK_SECONDS, lambda: self._follow(thread), "follow the gateway service", at_start=True)
        self._thread = thread
        thread.start()
        atexit.register(self.stop)
        return self

    def _follow(self, thread: KeepAliveThread) -> None:
        """One look at the service's record; with IBKR_GATEWAY_KEEPER=auto and no service left, keep the session
        from now on (the keeper's recovery starts a gateway in sim/local mode, as a dashboard alone does)."""
        follower = self.follower
        if follower is None:
            return
        follower.refresh()
        if follower.abandoned():
            self.follower = None
            self.record.event("no gateway service runs any more: this process keeps the session itself")
            self._keeper.adopted = True  # whatever answers on the port was not started here
            self._keep(thread, at_start=False)

    def stop(self) -> None:
        """Stop the keep-alive thread (joined within 2 s) and the gateway process this manager started (never one
        it found running). Idempotent."""
        thread, self._thread = self._thread, None
        if thread is not None and not thread.stop(timeout=JOIN_SECONDS):
            log.warning("the gateway keep-alive thread is still finishing a request; it ends by itself")
        process = self._keeper.shutdown()
        if thread is not None or process is not None:
            self.record.set_state(AuthState.NOT_RUNNING, "manager stopped")
        atexit.unregister(self.stop)

    close = stop

    def __enter__(self) -> GatewayManager:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ---- what callers read --------------------------------------------------------------------------------------
    @property
    def state(self) -> AuthState:
        return self.record.state

    @property
    def pid(self) -> int | None:
        """The gateway process this manager started (None in external mode or when it uses a running gateway)."""
        process = self._keeper.process
        return process.pid if process is not None else None

    @property
    def prompt(self) -> Prompt | None:
        """The prompt waiting for a person, if any (cleared once authenticated)."""
        return self.record.prompt

    def wait_for(self, *states: AuthState, timeout: float = 30.0) -> bool:
        """Block until the state is one of ``states``; False after ``timeout`` seconds."""
        return self.record.wait_for(states, timeout)

    def on_prompt(self, callback: Callable[[Prompt], object], *, replay: bool = True) -> Callable[[], None]:
        """Call ``callback(prompt)`` on the manager's thread whenever a person must act; returns an unsubscribe.

        With ``replay`` the prompt already pending (if any) is delivered too. Exceptions are logged and contained.
        """
        remove = self.record.add_callback(callback)
        pending = self.record.prompt
        if replay and pending is not None:
            deliver = lambda: self.record.deliver(callback, pending)  # noqa: E731
            self._thread.post(deliver) if self._thread else deliver()
        return remove

    def session_token(self) -> str:
        """The session token the gateway's websocket opens with (``Cookie: api=...``, see :mod:`ibkr.stream`):
        what the last tickle answered, this manager's own or the gateway service's (published in its 0600
        record). No tickle of its own: a stream tickling beside the keeper (IBKR: one a second from a machine)
        got the keeper a 429. NotAuthenticated while no tickle has found a session."""
        token = self.record.session_token
        if not token:
            raise NotAuthenticated("the gateway has no session yet; log in at the gateway page" if self.follower is None
                                   else "the gateway service has not published a session yet", endpoint="/tickle")
        return token

    def status(self) -> GatewayStatus:
        if self.follower is not None:
            return self.follower.status(running=self._thread is not None)
        r, keeper = self.record, self._keeper
        with r.lock:
            probe = r.last_probe
            return GatewayStatus(
                state=r.state, mode=self.mode.value, url=self.settings.gateway_url,
                login_url=self.settings.effective_login_url, running=self._thread is not None, pid=self.pid,
                managed=keeper.process is not None or (keeper.managed and not keeper.adopted),
                authenticated=probe.authenticated if probe else None, competing=probe.competing if probe else None,
                connected=probe.connected if probe else None, server_name=r.server[0], server_version=r.server[1],
                sso_expires_at=r.sso_expires_at, sso_user=r.sso.get("user"), paper=r.sso.get("paper"),
                last_tickle_at=probe.at if probe else None, last_tickle_result=probe.detail if probe else None,
                last_error=r.last_error, restarts=keeper.restarts, restarts_exhausted=keeper.gave_up,
                log_path=str(self.log_path) if keeper.managed else None, prompt=r.prompt, events=tuple(r.events),
            )

    def check(self) -> AuthState:
        """Tickle once and record what it says, without acting on it (``python -m ibkr.gateway status``); a
        follower reads the service's record instead (no tickle on the keeper's heels)."""
        return self._act(self.follower.refresh if self.follower is not None else self._keeper.check)

    # ---- actions a person can take (each returns the state after it) -------------------------------------------
    def take_over(self) -> AuthState:
        """Take the brokerage session over from another platform (``ssodh/init`` with ``compete``)."""
        return self._act(lambda: self._session.init_brokerage(compete=True, why="take over requested"))

    def reauthenticate(self) -> AuthState:
        """Re-open the brokerage session within the current login (``ssodh/init`` without ``compete``)."""
        return self._act(lambda: self._session.init_brokerage(compete=False, why="reauthentication requested"))

    def logout(self) -> AuthState:
        """End the gateway's session (``POST /logout``); a person must log in again afterwards."""
        return self._act(self._session.logout)

    def restart(self) -> AuthState:
        """Restart the gateway process this manager runs (or start one), resetting the restart budget.

        A gateway the manager did not start is only re-checked, never restarted. A follower asks the service to
        restart the gateway it runs (SIGHUP).
        """
        return self._act(self._session.restart)

    @property
    def _session(self) -> SessionKeeper | ServiceFollower:
        """Who carries out a person's action: the follower (to the service) or this manager's keeper."""
        return self.follower if self.follower is not None else self._keeper

    def _act(self, fn: Callable[[], AuthState]) -> AuthState:
        thread = self._thread
        return thread.submit(fn) if thread is not None else fn()
