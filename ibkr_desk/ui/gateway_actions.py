"""The gateway's actions as buttons (the Gateway page, the prompt on every page): offered only when they make
sense, destructive ones confirmed first, and each followed by what it did or why it could not."""

from __future__ import annotations

import time

import streamlit as st

from ibkr.audit import Permission
from ibkr.gateway import CONFIRM, PromptAction, available, perform
from ibkr_desk import auth
from ibkr_desk.ui import loaders, services

PENDING, OUTCOME = "gateway_action_pending", "gateway_action_outcome"
SHOWN_SECONDS = 120.0


def buttons(actions: list[PromptAction], where: str, *, primary: PromptAction | None = None) -> None:
    """One button per action (LOG_IN excluded: it is the login page's link), the confirmation of a destructive
    one, and the last outcome. ``where`` keeps the widget keys of two places apart."""
    manager = services.gateway()
    actions = [a for a in actions if a is not PromptAction.LOG_IN]
    pending = st.session_state.get(PENDING)
    if pending is not None and pending[1] == where:
        _confirm(pending[0], where)
    elif actions:
        not_yours = auth.why_not(Permission.GATEWAY)
        for col, action in zip(st.columns(len(actions)), actions, strict=True):
            why = not_yours or available(action, manager.state)
            if col.button(action.label, key=f"{where}-{action.value}", width="stretch", disabled=why is not None,
                          help=why or CONFIRM.get(action), type="primary" if action is primary else "secondary"):
                if action in CONFIRM:
                    st.session_state[PENDING] = (action, where)
                    st.rerun()
                _run(action, where)
    last_outcome(where)


def last_outcome(where: str) -> None:
    """What the last action started here did, for two minutes (also once its prompt is gone: a take over that
    worked removes the prompt it was started from)."""
    outcome = st.session_state.get(OUTCOME)
    if outcome is None or outcome[1] != where or time.monotonic() - outcome[2] > SHOWN_SECONDS:
        return
    result = outcome[0]
    (st.success if result.ok else st.error)(result.message, icon=":material/check_circle:" if result.ok
                                            else ":material/error:")


def _confirm(action: PromptAction, where: str) -> None:
    with st.container(border=True):
        st.warning(f"**{action.label}?** {CONFIRM[action]}", icon=":material/warning:")
        yes, no = st.columns(2)
        if yes.button(f"Yes, {action.label.lower()}", key=f"{where}-confirm-{action.value}", width="stretch"):
            st.session_state.pop(PENDING, None)
            _run(action, where)
        if no.button("Cancel", key=f"{where}-cancel-{action.value}", width="stretch"):
            st.session_state.pop(PENDING, None)
            st.rerun()


def _run(action: PromptAction, where: str) -> None:
    with st.spinner(f"{action.label}..."):
        result = perform(services.gateway(), action, actor=auth.actor(), audit=services.audit())
    st.session_state[OUTCOME] = (result, where, time.monotonic())
    loaders.refresh()
    st.rerun()
