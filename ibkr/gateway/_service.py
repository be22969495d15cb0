"""The gateway service: ``python -m ibkr.gateway start`` running on its own (a systemd unit, a container), and the
dashboard that follows it instead of keeping the session itself.

A hosted desk comes up at boot with nobody opening a page, so the keeper is its own process. A dashboard that also
kept the session would be a second keeper of one gateway: IBKR allows one ``/tickle`` a second and one
``/sso/validate`` a minute from a machine and answers a breach with a 10-15 minute penalty box (the pacing
limiter counts one process only), and in sim or local mode both would restart "their" gateway on the same port
the moment it went away. So the keeper publishes what it knows and a following dashboard only reads it:

- :func:`~ibkr.gateway._process.keeper_pid_file`: the keeper's pid file, ``<state dir>/gateway-<port>.pid``.
- :func:`status_file` / :class:`Publisher`: the keeper's :class:`GatewayStatus` as JSON next to it
  (``gateway-<port>.status.json``, 0600), written on every change and every ``HEARTBEAT_SECONDS``; with it the
  last tickle's session token, which a follower's websocket opens with (``GatewayManager.session_token``).
- :class:`ServiceFollower`: the follower's side, run by a :class:`~ibkr.gateway.GatewayManager` built with
  ``follow=True``: the record into its own :class:`StateRecord` every second, no tickle, no SSO validation, never
  a gateway process. A record older than ``STALE_SECONDS`` or a keeper that is gone reads as NOT_RUNNING with a
  prompt naming the service. A person's actions still work: take over, re-authenticate and log out are the one
  request each that they are (the keeper sees their outcome on its next tickle); restart is SIGHUP to the keeper,
  which restarts the gateway it runs (``systemctl reload ibkr-desk-gateway`` does the same).
- :func:`follows_service`: whether a dashboard follows (``IBKR_GATEWAY_KEEPER``: ``service`` always, ``auto``
  when a keeper runs for the port as the dashboard's manager starts and until none has run for ``GONE_SECONDS``,
  longer than a ``systemctl restart`` of the service takes; a hosted dashboard says ``service``).
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import time
from pathlib import Path
from typing import Any

from ibkr.config import GatewayKeeper, Settings
from ibkr.errors import GatewayUnavailable
from ibkr.gateway._http import GatewayHttp
from ibkr.gateway._process import keeper_elsewhere, keeper_pid_file, pid_in
from ibkr.gateway._prompts import Prompt, PromptAction, PromptKind
from ibkr.gateway._record import GatewayStatus, StateRecord
from ibkr.gateway._state import AuthState
from ibkr.sessions import brokerage_session, new_brokerage_session
from ibkr.state import read_json, write_json

HEARTBEAT_SECONDS = 5.0  # the keeper rewrites its record at least this often
STALE_SECONDS = 20.0  # a record older than this is a keeper that hangs or is gone
GONE_SECONDS = 15.0  # with IBKR_GATEWAY_KEEPER=auto, no keeper this long: the follower keeps the session itself
ACTION_SECONDS = 15.0  # how long a person's action waits for the keeper to see its outcome
RESTART_SECONDS = 90.0  # how long a restart may take to come back (IBKR's gateway starts a JVM)
SERVICE = "ibkr-desk-gateway"  # the systemd unit in deploy/systemd


def status_file(settings: Settings) -> Path:
    """Where the keeper publishes its status: next to its pid file."""
    return keeper_pid_file(settings).with_suffix(".status.json")


def follows_service(settings: Settings) -> bool:
    """Whether a manager made in this process should follow the gateway service rather than keep the session."""
    if settings.gateway_keeper is GatewayKeeper.SERVICE:
        return True
    return keeper_elsewhere(settings) is not None


# ---- the keeper's side ----------------------------------------------------------------------------------------
class Publisher:
    """Writes the keeper's status for followers: :meth:`maybe` on every loop turn, :meth:`withdraw` at exit."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.path = status_file(settings)
        self._last: tuple[Any, ...] | None = None
        self._written = float("-inf")

    def maybe(self, status: GatewayStatus, *, reloads: int = 0, session_token: str | None = None) -> None:
        """Write ``status`` when what a follower shows changed, or when the heartbeat is due. ``reloads``: how
        many restarts (SIGHUP) the keeper has carried out, so a follower's Restart knows when it is done;
        ``session_token``: the last tickle's ``session``, which a follower's websocket opens with (the file is
        the user's only, as the gateway's own cookies are)."""
        sessions = brokerage_session(self.settings.gateway_url)
        key = (status.state, status.prompt, status.pid, status.sso_expires_at, status.sso_user, status.last_error,
               status.events[-1] if status.events else None, sessions, reloads, session_token)
        if key == self._last and time.monotonic() - self._written < HEARTBEAT_SECONDS:
            return
        record = status.as_dict()
        record.update(keeper_pid=os.getpid(), written_at=time.time(), brokerage_sessions=sessions, reloads=reloads,
                      session_token=session_token)
        try:
            write_json(self.path, record)
        except OSError:
            return  # the keeper keeps the session whether or not a follower can read about it
        self._last, self._written = key, time.monotonic()

    def withdraw(self) -> None:
        self.path.unlink(missing_ok=True)


# ---- the follower's side --------------------------------------------------------------------------------------
def _when(value: object) -> dt.datetime | None:
    try:
        return dt.datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


def _prompt(data: object) -> Prompt | None:
    if not isinstance(data, dict):
        return None
    try:
        return Prompt(PromptKind(data["kind"]), str(data["message"]),
                      tuple(PromptAction(a) for a in data.get("actions", ())), AuthState(data["state"]),
                      data.get("login_url"), _when(data.get("at")) or dt.datetime.now(dt.UTC))
    except (KeyError, ValueError):
        return None


class ServiceFollower:
    """A dashboard's view of the gateway service, kept in the manager's :class:`StateRecord` (see module doc)."""

    def __init__(self, settings: Settings, record: StateRecord, http: GatewayHttp) -> None:
        self.settings = settings
        self.record = record
        self.http = http
        self.path = status_file(settings)
        self.published: dict[str, Any] = {}
        self._sessions: int | None = None
        self._announced: int | None = None
        self._gone_since: float | None = None  # monotonic time no keeper was found since

    def abandoned(self) -> bool:
        """With ``IBKR_GATEWAY_KEEPER=auto``: no keeper has run for ``GONE_SECONDS`` (so this process keeps the
        session itself from now on). Never with ``service``: the operator says the service keeps it."""
        return (self.settings.gateway_keeper is GatewayKeeper.AUTO and self._gone_since is not None
                and time.monotonic() - self._gone_since >= GONE_SECONDS)

    @property
    def keeper_pid(self) -> int | None:
        return pid_in(keeper_pid_file(self.settings))

    def refresh(self) -> AuthState:
        """Read the keeper's record into ours; returns the state."""
        data = read_json(self.path)
        pid = self.keeper_pid
        age = time.time() - data.get("written_at", 0) if isinstance(data.get("written_at"), int | float) else None
        record = self.record
        if pid is None:
            self._gone_since = self._gone_since or time.monotonic()
        else:
            self._gone_since = None
        if pid is None or data.get("keeper_pid") != pid or age is None or age > STALE_SECONDS:
            self.published = {}
            record.session_token = None
            if pid is None:
                why = "the gateway service (python -m ibkr.gateway start) is not running"
                then = f"An operator starts it: systemctl start {SERVICE} (journalctl -u {SERVICE} says why it stopped)."
            elif data.get("keeper_pid") != pid:
                why = f"the gateway service (pid {pid}) is starting"
                then = f"It reports in a moment; if not, journalctl -u {SERVICE} says why."
            else:
                why = f"the gateway service (pid {pid}) stopped reporting (nothing for {STALE_SECONDS:.0f} s)"
                then = f"It may hang: journalctl -u {SERVICE}; systemctl restart {SERVICE}."
            record.set_state(AuthState.NOT_RUNNING, why)
            message = f"The gateway is kept by its own service, and {why}. {then}"
            if record.prompt is not None and record.prompt.message != message:
                record.clear_prompt()  # the same kind of prompt, another reason: say the new one
            record.emit(Prompt(PromptKind.GATEWAY_DOWN, message, (), AuthState.NOT_RUNNING))
            self._announced = None
            return record.state
        if self._announced != pid:
            self._announced = pid
            record.event(f"following the gateway service (pid {pid}): it keeps the session alive")
        self.published = data
        try:
            state = AuthState(str(data.get("state")))
        except ValueError:
            state = AuthState.NOT_RUNNING
        with record.lock:
            record.server = (data.get("server_name"), data.get("server_version"))
            record.sso_expires_at = _when(data.get("sso_expires_at"))
            record.sso = {"user": data.get("sso_user"), "paper": data.get("paper")} if state.has_session else {}
            record.last_error = data.get("last_error")
            token = data.get("session_token")
            record.session_token = token if state.has_session and isinstance(token, str) and token else None
        record.set_state(state, f"the gateway service says {data.get('last_tickle_result') or state.value}")
        prompt = _prompt(data.get("prompt"))
        if prompt is None or (record.prompt is not None and record.prompt.message != prompt.message):
            record.clear_prompt()
        if prompt is not None:
            record.emit(prompt)
        sessions = data.get("brokerage_sessions")
        if isinstance(sessions, int):
            if self._sessions is not None and sessions != self._sessions:
                new_brokerage_session(self.settings.gateway_url)  # the keeper opened a new one: warm-ups start over
            self._sessions = sessions
        return state

    def status(self, running: bool) -> GatewayStatus:
        """The keeper's status as this follower shows it (events: the keeper's, then the follower's own)."""
        r, p = self.record, self.published
        events = [(t, str(e)) for t, e in (_event(x) for x in p.get("events", ())) if t is not None]
        with r.lock:
            return GatewayStatus(
                state=r.state, mode=self.settings.gateway_mode.value, url=self.settings.gateway_url,
                login_url=self.settings.effective_login_url, running=running, pid=p.get("pid"), managed=False,
                authenticated=p.get("authenticated"), competing=p.get("competing"), connected=p.get("connected"),
                server_name=r.server[0], server_version=r.server[1], sso_expires_at=r.sso_expires_at,
                sso_user=r.sso.get("user"), paper=r.sso.get("paper"), last_tickle_at=_when(p.get("last_tickle_at")),
                last_tickle_result=p.get("last_tickle_result"), last_error=r.last_error,
                restarts=int(p.get("restarts") or 0), restarts_exhausted=bool(p.get("restarts_exhausted")),
                log_path=p.get("log_path"), prompt=r.prompt, events=tuple(sorted([*events, *r.events])),
                keeper_pid=p.get("keeper_pid"))

    # ---- a person's actions ---------------------------------------------------------------------------------
    def init_brokerage(self, compete: bool, why: str) -> AuthState:
        """``ssodh/init`` once, then wait for the keeper to report the outcome (it primes and validates)."""
        self.record.event(f"{why}: ssodh/init (compete={str(compete).lower()})")
        self.http.init_brokerage(compete)
        return self._settle(lambda s: s is AuthState.AUTHENTICATED, ACTION_SECONDS)

    def logout(self) -> AuthState:
        self.record.event("logout requested")
        self.http.logout()
        return self._settle(lambda s: not s.has_session, ACTION_SECONDS)

    def restart(self) -> AuthState:
        """SIGHUP to the keeper: it restarts the gateway it runs (or only re-checks one it does not run)."""
        pid = self.keeper_pid
        if pid is None:
            raise GatewayUnavailable(f"the gateway service is not running: start it (systemctl start {SERVICE})")
        before = self.published.get("reloads", 0)
        self.record.event(f"restart requested: SIGHUP to the gateway service (pid {pid})")
        os.kill(pid, signal.SIGHUP)
        return self._settle(lambda s: self.published.get("reloads", 0) != before
                            and s not in (AuthState.STARTING, AuthState.NOT_RUNNING), RESTART_SECONDS)

    def _settle(self, done, timeout: float) -> AuthState:
        deadline = time.monotonic() + timeout
        while True:
            state = self.refresh()
            if done(state) or time.monotonic() > deadline:
                return state
            time.sleep(0.5)


def _event(item: object) -> tuple[dt.datetime | None, object]:
    if isinstance(item, list | tuple) and len(item) == 2:
        return _when(item[0]), item[1]
    return None, None
