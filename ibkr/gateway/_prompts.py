"""Auth prompts: what the manager asks a person to do, and the actions it offers.

The manager sends a :class:`Prompt` to every callback registered with ``GatewayManager.on_prompt`` when a
person must act. Which prompt goes with which state::

    NOT_RUNNING    -> GATEWAY_DOWN        (actions: restart, when the manager runs the gateway)
    NO_SESSION     -> LOGIN_REQUIRED      (log_in: open login_url), or SESSION_EXPIRED after a session was lost
    NOT_CONNECTED  -> TWO_FACTOR_PENDING  (reauthenticate, logout) once the automatic ssodh/init did not help
    COMPETING      -> COMPETING_SESSION   (take_over, logout)
    AUTHENTICATED  -> no prompt; the pending one is cleared
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from enum import StrEnum

from ibkr.gateway._state import AuthState


class PromptKind(StrEnum):
    LOGIN_REQUIRED = "login_required"
    TWO_FACTOR_PENDING = "two_factor_pending"
    COMPETING_SESSION = "competing_session"
    SESSION_EXPIRED = "session_expired"
    GATEWAY_DOWN = "gateway_down"


class PromptAction(StrEnum):
    """What a person can do about a prompt. Every action but ``LOG_IN`` is a GatewayManager method of that name;
    ``LOG_IN`` means "open :attr:`Prompt.login_url` in a browser"."""

    LOG_IN = "log_in"
    TAKE_OVER = "take_over"
    REAUTHENTICATE = "reauthenticate"
    LOGOUT = "logout"
    RESTART = "restart"

    @property
    def label(self) -> str:
        return {"log_in": "Log in", "take_over": "Take over", "reauthenticate": "Reauthenticate",
                "logout": "Log out", "restart": "Restart gateway"}[self.value]


@dataclass(frozen=True)
class Prompt:
    """A request for a person to act. ``message`` says what to do; ``actions`` are the buttons to offer."""

    kind: PromptKind
    message: str
    actions: tuple[PromptAction, ...]
    state: AuthState
    login_url: str | None = None
    at: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))


def login_prompt(state: AuthState, login_url: str, *, expired: bool, why: str = "") -> Prompt:
    if expired:
        reason = f" ({why})" if why else ""
        message = (f"The IBKR session ended{reason}. Log in again at {login_url} (username, password, then the "
                   "two-factor step); the dashboard picks the new session up by itself.")
        return Prompt(PromptKind.SESSION_EXPIRED, message, (PromptAction.LOG_IN,), state, login_url)
    message = (f"Log in to IBKR at {login_url} (username, password, then the two-factor step). The dashboard "
               "picks the session up by itself once the page says \"Client login succeeds\".")
    return Prompt(PromptKind.LOGIN_REQUIRED, message, (PromptAction.LOG_IN,), state, login_url)


def two_factor_prompt(state: AuthState, login_url: str, fail: str | None = None) -> Prompt:
    said = f" IBKR said: {fail}." if fail else ""
    message = ("You are logged in, but IBKR has not opened the brokerage session (trading, market data, "
               f"P&L).{said} If IBKR Mobile shows a login request, approve it, then press Reauthenticate. "
               f"If that does not help, log out and log in again at {login_url}.")
    return Prompt(PromptKind.TWO_FACTOR_PENDING, message, (PromptAction.REAUTHENTICATE, PromptAction.LOGOUT),
                  state, login_url)


def competing_prompt(state: AuthState, login_url: str) -> Prompt:
    message = ("Another IBKR platform (TWS, IBKR Mobile or Client Portal) is using this username's brokerage "
               "session. Press Take over to move it here (this disconnects the other platform), or log out of "
               "the other platform.")
    return Prompt(PromptKind.COMPETING_SESSION, message, (PromptAction.TAKE_OVER, PromptAction.LOGOUT), state,
                  login_url)


def gateway_down_prompt(state: AuthState, url: str, *, managed: bool, detail: str = "", restarting: bool = False,
                        log_path: str | None = None, adopted: bool = False) -> Prompt:
    cause = f" ({detail})" if detail else ""
    if adopted:  # it listens, it does not answer, and this process did not start it
        return Prompt(PromptKind.GATEWAY_DOWN, f"The gateway at {url} was running before this dashboard started and "
                      f"has stopped answering{cause}. This dashboard did not start it, so it does not start another on "
                      "its port: restart that gateway where it runs (or stop it, and this dashboard starts its own).",
                      (), state)
    if managed and restarting:
        message = f"The gateway at {url} stopped{cause}. It is being restarted; this takes a few seconds."
    elif managed:
        where = f" See its log at {log_path}." if log_path else ""
        message = (f"The gateway at {url} is down{cause} and was not restarted automatically.{where} Fix the "
                   "cause, then press Restart gateway.")
    else:
        message = (f"No IBKR gateway answers at {url}{cause}. Start the Client Portal Gateway there "
                   "(bin/run.sh root/conf.yaml) or correct IBKR_GATEWAY_URL.")
    actions = (PromptAction.RESTART,) if managed and not restarting else ()
    return Prompt(PromptKind.GATEWAY_DOWN, message, actions, state)
