"""What the manager knows and tells: the current state and its transitions, recent events, the pending prompt and
its callbacks, and the :class:`GatewayStatus` snapshot. Thread-safe; nothing here talks to the gateway."""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from enum import Enum
from typing import Any

from ibkr.gateway._prompts import Prompt
from ibkr.gateway._state import AuthState, Probe

log = logging.getLogger(__name__)

PromptCallback = Callable[[Prompt], Any]


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass(frozen=True)
class GatewayStatus:
    """A snapshot for the status page and ``python -m ibkr.gateway status``."""

    state: AuthState
    mode: str
    url: str
    login_url: str
    running: bool  # the manager is started (its keep-alive thread runs)
    pid: int | None  # the gateway process the manager started, if any
    managed: bool  # the manager runs the gateway process (False: external, or a gateway it found running)
    authenticated: bool | None
    competing: bool | None
    connected: bool | None
    server_name: str | None
    server_version: str | None
    sso_expires_at: dt.datetime | None
    sso_user: str | None
    paper: bool | None
    last_tickle_at: dt.datetime | None
    last_tickle_result: str | None
    last_error: str | None
    restarts: int
    restarts_exhausted: bool
    log_path: str | None
    prompt: Prompt | None
    events: tuple[tuple[dt.datetime, str], ...]
    keeper_pid: int | None = None  # the gateway service this manager follows (None: this manager keeps the session)

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly: enums as values, datetimes as ISO strings."""
        return _jsonable(asdict(self))


def _jsonable(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, dt.datetime):
        return value.isoformat(timespec="seconds")
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


class StateRecord:
    """The manager's state with a logged transition history, and the prompt dispatcher."""

    def __init__(self, max_events: int = 50) -> None:
        self.lock = threading.RLock()
        self._changed = threading.Condition(self.lock)
        self.state = AuthState.NOT_RUNNING
        self.events: deque[tuple[dt.datetime, str]] = deque(maxlen=max_events)
        self.prompt: Prompt | None = None
        self.callbacks: list[PromptCallback] = []
        self.last_probe: Probe | None = None
        self.last_error: str | None = None
        self.server: tuple[str | None, str | None] = (None, None)
        self.sso_expires_at: dt.datetime | None = None
        self.sso: dict[str, Any] = {}
        self.session_token: str | None = None  # what the last tickle answered as ``session`` (the websocket's cookie)

    # ---- state --------------------------------------------------------------------------------------------------
    def set_state(self, new: AuthState, why: str) -> bool:
        """Move to ``new``; a change is logged and recorded. Returns True when the state changed."""
        with self.lock:
            old = self.state
            if new is old:
                return False
            self.state = new
            self._changed.notify_all()
        log.info("gateway state %s -> %s (%s)", old.name, new.name, why)
        self.event(f"{old.name} -> {new.name}: {why}", quiet=True)
        return True

    def wait_for(self, states: Iterable[AuthState], timeout: float) -> bool:
        wanted = set(states)
        deadline = time.monotonic() + timeout
        with self._changed:
            while self.state not in wanted:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._changed.wait(left)
            return True

    def event(self, text: str, *, quiet: bool = False) -> None:
        with self.lock:
            self.events.append((_now(), text))
        if not quiet:
            log.info("gateway: %s", text)

    def error(self, text: str) -> None:
        with self.lock:
            self.last_error = text
        self.event(f"error: {text}", quiet=True)
        log.warning("gateway: %s", text)

    def observe(self, probe: Probe) -> None:
        """Remember what a tickle (or ssodh/init) said about the session: server, SSO expiry."""
        with self.lock:
            if probe.status_code is not None or probe.state is AuthState.NOT_RUNNING:
                self.last_probe = probe
            if probe.server_name or probe.server_version:
                self.server = (probe.server_name, probe.server_version)
            if probe.sso_expires_ms is not None:
                self.sso_expires_at = probe.at + dt.timedelta(milliseconds=probe.sso_expires_ms)
            if probe.session_token:
                self.session_token = probe.session_token
            if probe.state is AuthState.NO_SESSION or probe.state is AuthState.NOT_RUNNING:
                self.sso_expires_at = None
                self.sso = {}
                self.session_token = None

    # ---- prompts ------------------------------------------------------------------------------------------------
    def add_callback(self, callback: PromptCallback) -> Callable[[], None]:
        with self.lock:
            self.callbacks.append(callback)

        def remove() -> None:
            with self.lock:
                if callback in self.callbacks:
                    self.callbacks.remove(callback)

        return remove

    def emit(self, prompt: Prompt) -> None:
        """Send ``prompt`` to every callback, unless the same prompt (kind and actions) is already pending."""
        with self.lock:
            pending = self.prompt
            if pending is not None and (pending.kind, pending.actions) == (prompt.kind, prompt.actions):
                return
            self.prompt = prompt
            callbacks = list(self.callbacks)
        log.warning("gateway needs a person (%s): %s", prompt.kind.name, prompt.message)
        self.event(f"prompt {prompt.kind.name}", quiet=True)
        for callback in callbacks:
            self.deliver(callback, prompt)

    @staticmethod
    def deliver(callback: PromptCallback, prompt: Prompt) -> None:
        try:
            callback(prompt)
        except Exception:  # noqa: BLE001 - one broken callback must not stop the manager
            log.exception("a gateway prompt callback (%r) failed; the manager carries on", callback)

    def clear_prompt(self) -> None:
        with self.lock:
            if self.prompt is not None:
                self.event(f"prompt {self.prompt.kind.name} resolved", quiet=True)
            self.prompt = None
