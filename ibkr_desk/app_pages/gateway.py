"""Gateway: state, the prompt with its actions, keep-alive and recent events."""

import datetime as dt

import streamlit as st

from ibkr.gateway import PromptAction
from ibkr_desk.ui import fmt, gateway_actions, services

st.title("Gateway")
status = services.gateway().status()
c = st.columns(4)
c[0].metric("State", status.state.value.replace("_", " "))
c[1].metric("Mode", status.mode)
c[2].metric("Last tickle", fmt.stamp(status.last_tickle_at))
c[3].metric("SSO expires", fmt.stamp(status.sso_expires_at))
keeper = (f"kept alive by the gateway service (python -m ibkr.gateway start, pid {status.keeper_pid})"
          if status.keeper_pid else "kept alive by this dashboard")
st.markdown(f"Gateway **{status.url}** · login page **{status.login_url}** · process "
            f"{status.pid or 'not managed here'} · {keeper} · restarts {status.restarts}"
            + (f" · server {status.server_name} ({status.server_version})" if status.server_name else ""))
if status.last_tickle_result:
    st.caption(f"Last tickle: {status.last_tickle_result}")
if status.last_error:
    st.caption(f"Last error: {status.last_error}")
gateway_actions.buttons([PromptAction.TAKE_OVER, PromptAction.REAUTHENTICATE, PromptAction.RESTART,
                         PromptAction.LOGOUT], "gateway-page")
st.subheader("Stream")
feed, marks = services.live(), services.position_marks().status()
health = feed.health()
c = st.columns(4)
c[0].metric("Stream", health.state.value, help="The gateway's websocket (P&L, live orders, trades, the largest "
                                               "positions' prices): live, connecting or down")
c[1].metric("Last message", fmt.stamp(dt.datetime.fromtimestamp(health.last_message_at, dt.UTC))
            if health.last_message_at else "never", help="Heartbeats included (IBKR sends one every 10 s)")
c[2].metric("Connects", health.connects, help="How often it went live; after each, orders are read again over REST")
c[3].metric("Daily P&L read", f"{marks.read:,} / {marks.conids:,}",
            help=f"Positions' conids with a daily P&L: {marks.streamed} streaming, the rest read by snapshot "
                 f"({sum(marks.calls.values()):,} requests so far)")
st.caption(f"Stream: {fmt.escape(health.reason)}" + (f" · daily P&L reader: {fmt.escape(marks.error)}"
                                                       if marks.error else ""))
st.subheader("Recent events")
events = [{"time": fmt.stamp(t, date=True), "event": e} for t, e in reversed(status.events)]
st.dataframe(events, hide_index=True, width="stretch", column_config={"time": "Time", "event": "Event"})
prompts = services.prompt_inbox().recent()
if prompts:
    st.subheader("Prompts")
    st.dataframe([{"time": fmt.stamp(p.at, date=True), "kind": p.kind.value, "message": p.message}
                  for p in reversed(prompts)], hide_index=True, width="stretch",
                 column_config={"time": "Time", "kind": "Kind", "message": "Message"})
