"""A person's gateway action says what it did or why it could not; it never fails silently or in a traceback."""

from __future__ import annotations

from dataclasses import dataclass, field

from ibkr.errors import GatewayUnavailable, RateLimited
from ibkr.gateway import CONFIRM, AuthState, PromptAction, available, perform


@dataclass
class Status:
    last_error: str | None = None
    login_url: str = "https://localhost:5000"
    pid: int | None = 4242


@dataclass
class FakeManager:
    state: AuthState
    after: AuthState | None = None
    fail: Exception | None = None
    calls: list[str] = field(default_factory=list)
    error: str | None = None

    def _act(self, name: str) -> AuthState:
        self.calls.append(name)
        if self.fail is not None:
            raise self.fail
        if self.after is not None:
            self.state = self.after
        return self.state

    def take_over(self): return self._act("take_over")
    def reauthenticate(self): return self._act("reauthenticate")
    def restart(self): return self._act("restart")
    def logout(self): return self._act("logout")
    def wait_for(self, *states, timeout): return self.state in states
    def status(self): return Status(last_error=self.error)


def test_take_over_is_offered_only_while_something_competes():
    assert available(PromptAction.TAKE_OVER, AuthState.AUTHENTICATED) is not None
    assert available(PromptAction.TAKE_OVER, AuthState.COMPETING) is None
    manager = FakeManager(AuthState.AUTHENTICATED)
    outcome = perform(manager, PromptAction.TAKE_OVER)
    assert not outcome.ok and "Nothing competes" in outcome.message and manager.calls == []

    manager = FakeManager(AuthState.COMPETING, after=AuthState.AUTHENTICATED)
    outcome = perform(manager, PromptAction.TAKE_OVER)
    assert outcome.ok and "Took the brokerage session over" in outcome.message


def test_an_action_during_ibkrs_penalty_says_so_and_when_to_try_again():
    manager = FakeManager(AuthState.NOT_CONNECTED, fail=RateLimited("paced", retry_after=540))
    outcome = perform(manager, PromptAction.REAUTHENTICATE)
    assert not outcome.ok and "pacing this machine" in outcome.message and "540 s" in outcome.message


def test_a_failing_or_broken_action_is_a_sentence_not_a_traceback():
    outcome = perform(FakeManager(AuthState.AUTHENTICATED, fail=GatewayUnavailable("connection refused")),
                      PromptAction.RESTART)
    assert not outcome.ok and outcome.message == "Restart gateway failed: connection refused"
    outcome = perform(FakeManager(AuthState.AUTHENTICATED, fail=KeyError("x")), PromptAction.LOGOUT)
    assert not outcome.ok and "failed unexpectedly (KeyError" in outcome.message


def test_restart_reports_the_state_it_settled_in():
    outcome = perform(FakeManager(AuthState.AUTHENTICATED, after=AuthState.NO_SESSION), PromptAction.RESTART)
    assert outcome.ok and "restarted (pid 4242)" in outcome.message and "Log in at https://localhost:5000" in outcome.message
    manager = FakeManager(AuthState.AUTHENTICATED, after=AuthState.STARTING, error="java exited")
    outcome = perform(manager, PromptAction.RESTART, settle=0.1)
    assert not outcome.ok and "did not come back" in outcome.message and "java exited" in outcome.message


def test_logout_and_restart_are_the_actions_that_ask_first():
    assert set(CONFIRM) == {PromptAction.LOGOUT, PromptAction.RESTART}
    outcome = perform(FakeManager(AuthState.AUTHENTICATED, after=AuthState.NO_SESSION), PromptAction.LOGOUT)
    assert outcome.ok and outcome.message.startswith("Logged out.")
