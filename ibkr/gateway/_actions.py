"""A person's gateway action (take over, re-authenticate, restart, log out) and what came of it, in words.

An action that fails silently is worse than none: the trader clicks again, or walks away thinking the session is
back. :func:`perform` runs the action on the manager, waits for a restart to settle, and returns an
:class:`ActionOutcome` that says what happened or why nothing could be done. The dashboard shows it as is; the
command line prints it.
"""

from __future__ import annotations

import logging
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ibkr.audit import Actor, AuditLog, Permission, local_actor, require
from ibkr.errors import AuditUnavailable, IbkrError, PermissionDenied, RateLimited
from ibkr.gateway._prompts import PromptAction
from ibkr.gateway._state import AuthState

if TYPE_CHECKING:
    from ibkr.gateway._manager import GatewayManager

log = logging.getLogger(__name__)

SETTLE_SECONDS = 90.0
"""How long a restart may take to come back (IBKR's gateway needs ~20-40 s to start its JVM)."""

CONFIRM = {
    PromptAction.LOGOUT: "Log out ends the gateway's session: nothing can be read or traded until someone logs in "
                         "again (with 2FA). Working orders stay at IBKR.",
    PromptAction.RESTART: "Restart stops the gateway process and starts a new one: its session ends and needs a "
                          "new login. Working orders stay at IBKR.",
}
"""The destructive actions, each with what it does: they ask before they run."""


_IS = {
    AuthState.NOT_RUNNING: "not running", AuthState.STARTING: "still starting",
    AuthState.NO_SESSION: "waiting for a login", AuthState.COMPETING: "competing with another session",
    AuthState.NOT_CONNECTED: "logged in, but its brokerage session is not open",
    AuthState.AUTHENTICATED: "authenticated",
}
"""What the gateway is, as the end of a sentence ("the gateway is ...")."""


@dataclass(frozen=True)
class ActionOutcome:
    action: PromptAction
    ok: bool
    state: AuthState
    message: str


def available(action: PromptAction, state: AuthState) -> str | None:
    """Why ``action`` makes no sense in ``state`` (None: it may run)."""
    if action is PromptAction.TAKE_OVER and state is not AuthState.COMPETING:
        return "Nothing competes for the brokerage session: there is nothing to take over."
    if action is PromptAction.REAUTHENTICATE and not state.has_session:
        return "No one is logged in to the gateway: log in first (re-authenticate re-opens a logged-in session)."
    if action is PromptAction.LOGOUT and not state.has_session:
        return "No one is logged in to the gateway."
    return None


def perform(manager: GatewayManager, action: PromptAction, *, settle: float = SETTLE_SECONDS,
            actor: Actor | None = None, audit: AuditLog | None = None) -> ActionOutcome:
    """Run ``action`` (not LOG_IN, which is the login page) and say what came of it. Never raises.

    ``actor`` (default: the local user) must be an admin; the action and what came of it go to ``audit``: the
    action before it runs (an audit log that cannot be written runs nothing), its outcome after."""
    actor = actor or local_actor()
    try:
        require(actor, Permission.GATEWAY, audit, action.label)
        if audit is not None:
            audit.record(actor, "gateway", order=action.label, state=manager.state.value)
    except (PermissionDenied, AuditUnavailable) as exc:
        return ActionOutcome(action, False, manager.state, f"{exc.message}.")
    outcome = _perform(manager, action, settle)
    if audit is not None:
        try:
            audit.record(actor, "gateway outcome", order=action.label, outcome=outcome.message, ok=outcome.ok,
                         state=outcome.state.value)
        except AuditUnavailable as exc:
            return ActionOutcome(action, outcome.ok, outcome.state, f"{outcome.message} ({exc.message}.)")
    return outcome


def _perform(manager: GatewayManager, action: PromptAction, settle: float) -> ActionOutcome:
    label = action.label
    refused = available(action, manager.state)
    if refused is not None:
        return ActionOutcome(action, False, manager.state, refused)
    try:
        state = getattr(manager, action.value)()
        if action is PromptAction.RESTART:
            manager.wait_for(*[s for s in AuthState if s not in (AuthState.STARTING, AuthState.NOT_RUNNING)],
                             timeout=settle)
            state = manager.state
    except RateLimited as exc:
        wait = f" Try again in {exc.retry_after:.0f} s." if exc.retry_after else " Try again in a few minutes."
        return ActionOutcome(action, False, manager.state,
                             f"{label} was not sent: IBKR is pacing this machine after too many requests.{wait}")
    except FutureTimeout:
        return ActionOutcome(action, False, manager.state,
                             f"{label} is still running after a minute; the gateway page shows its events.")
    except IbkrError as exc:
        return ActionOutcome(action, False, manager.state, f"{label} failed: {exc.message}")
    except Exception as exc:  # an action must never end in a traceback on the page
        log.exception("gateway action %s failed", action.value)
        return ActionOutcome(action, False, manager.state, f"{label} failed unexpectedly ({type(exc).__name__}: {exc}).")
    return _said(manager, action, state)


def _said(manager: GatewayManager, action: PromptAction, state: AuthState) -> ActionOutcome:
    status = manager.status()
    why = f" ({status.last_error})" if status.last_error else ""
    login = f" Log in at {status.login_url}." if status.login_url else " Log in again."
    if action is PromptAction.TAKE_OVER:
        if state is AuthState.AUTHENTICATED:
            return ActionOutcome(action, True, state, "Took the brokerage session over: this gateway trades now; "
                                 "the other platform (TWS, the mobile app) was disconnected.")
        return ActionOutcome(action, False, state, f"Take over did not open the session: the gateway is "
                             f"{_IS[state]}{why}.")
    if action is PromptAction.REAUTHENTICATE:
        if state is AuthState.AUTHENTICATED:
            return ActionOutcome(action, True, state, "The brokerage session is open again.")
        if state is AuthState.NOT_CONNECTED:
            return ActionOutcome(action, True, state, "IBKR is re-opening the brokerage session; the gateway chip "
                                 "turns Connected within a few seconds.")
        return ActionOutcome(action, False, state, f"Re-authenticate did not open the session: the gateway is "
                             f"{_IS[state]}{why}.")
    if action is PromptAction.LOGOUT:
        if not state.has_session:
            return ActionOutcome(action, True, state, f"Logged out.{login}")
        return ActionOutcome(action, False, state, f"The gateway still reports a session after the logout "
                             f"({_IS[state]}){why}.")
    # RESTART
    pid = f" (pid {status.pid})" if status.pid else ""
    if state is AuthState.AUTHENTICATED:
        return ActionOutcome(action, True, state, f"The gateway restarted{pid} and is logged in.")
    if state in (AuthState.STARTING, AuthState.NOT_RUNNING):
        return ActionOutcome(action, False, state, f"The gateway did not come back within {SETTLE_SECONDS:.0f} s: "
                             f"it is {_IS[state]}{why}.")
    return ActionOutcome(action, True, state, f"The gateway restarted{pid}; it is {_IS[state]}.{login}")
